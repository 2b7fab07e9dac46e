"""Reliability: what a batch script meets - bad data, images, models, arguments, signals - run as a user runs it.

Run:  python -m pytest -q tests/test_reliability.py
Every command runs as `python -m legacy_mnist.<command>` in a subprocess; the checks are the exit code and a
single `error: ...` line on stderr (never a traceback). docs/reliability.md lists each case, its outcome and
the test that checks it (here or elsewhere). Independent failing commands run a few at a time, so the file
stays well under 90 s on two busy cores.
"""
from __future__ import annotations

import ast
import csv
import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import time
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture
from PIL import Image

from legacy_mnist.dataset.idx import encode_images, encode_labels

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "legacy_mnist"
ENV = {k: v for k, v in os.environ.items() if k not in ("LEGACY_MNIST_VERBOSE", "LEGACY_MNIST_DEBUG")}
ENV["PYTHONPATH"] = str(REPO) + os.pathsep + ENV.get("PYTHONPATH", "")


def command(module: str, *args) -> list[str]:
    return [sys.executable, "-m", f"legacy_mnist.{module}", *[str(a) for a in args]]


def run(cmd: list[str], timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("env", ENV)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, **kwargs)


def run_all(cases: dict[str, list[str]], *, hang_is_a_result: bool = False, **kwargs
            ) -> dict[str, subprocess.CompletedProcess]:
    """Run independent commands three at a time (most fail within a second, before Paddle is imported).
    With `hang_is_a_result`, a command that runs past its timeout gives its subprocess.TimeoutExpired as its
    result, so the other cases are still checked."""
    def one(cmd):
        try:
            return run(cmd, **kwargs)
        except subprocess.TimeoutExpired as exc:
            if not hang_is_a_result:
                raise
            return exc

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(one, cmd) for name, cmd in cases.items()}
        return {name: future.result() for name, future in futures.items()}


def one_error(done: subprocess.CompletedProcess, code: int, *fragments: str, case: str = "") -> str:
    """The run exited with `code` and said why in exactly one `error:` line holding every fragment."""
    where = f"{case}: exit {done.returncode}, stderr:\n{done.stderr[-2000:]}"
    assert done.returncode == code, where
    assert "Traceback" not in done.stderr, where
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, where
    for fragment in fragments:
        assert fragment in errors[0], f"{case}: {fragment!r} not in {errors[0]!r}"
    return errors[0]


def each_case(cases: dict, check) -> None:
    """Run `check(name, case)` for every case and fail once, listing every case that failed (not just the first:
    docs/reliability.md's before/after table is read off these lists)."""
    failed = []
    for name, case in cases.items():
        try:
            check(name, case)
        except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001 - an assertion, pytest.raises' "DID NOT
            # RAISE", or whatever the old code raised
            first = (str(exc).strip().splitlines() or [""])[0]
            failed.append(f"{name}: {type(exc).__name__}: {first}")
    assert not failed, f"{len(failed)} of {len(cases)} cases failed:\n" + "\n".join(failed)


def png_header_only(width: int, height: int) -> bytes:
    """A 100-byte PNG whose header claims width x height: a decompression bomb as far as the header goes."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def on_paper(pixels: np.ndarray, size: int = 112) -> Image.Image:
    """An MNIST digit (ink 255 on 0) as dark ink on light paper, RGB, like a phone photo of a note."""
    ink = np.asarray(Image.fromarray(np.asarray(pixels, np.uint8)).resize((size, size), Image.BILINEAR), float)
    return Image.fromarray((235 - ink * 200 / 255).astype(np.uint8)).convert("RGB")


# Peak RSS of a command, from a small wrapper process: Linux carries ru_maxrss over fork+exec, so a child
# forked straight from pytest (hundreds of MB with Paddle loaded) would report pytest's size, not its own.
PEAK_RSS = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
            "print(f'peak_rss_kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
            "sys.exit(code)")


def measured(cmd: list[str]) -> list[str]:
    return [sys.executable, "-c", PEAK_RSS, *cmd]


def peak_rss_mib(stderr: str | bytes) -> float:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    return int(text.strip().splitlines()[-1].removeprefix("peak_rss_kib=")) / 1024


def read_csv_rows(stdout: bytes) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(stdout.decode("utf-8", "surrogateescape"))))
    assert rows and rows[0] == ["path", "digit", "probability", "error"], rows[:1]
    return {row[0]: row for row in rows[1:]}


# ------------------------------------------------------------------------------------------ data files
def idx_pair(directory: Path, images: bytes, labels: bytes, *, gz: bool = True) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        path = directory / (f"{name}.gz" if gz else name)
        path.write_bytes(gzip.compress(data) if gz else data)
        paths.append(path)
    return paths[0], paths[1]


def test_bad_data_files_exit_2_naming_the_file(tmp_path, mnist_cache):
    rng = np.random.default_rng(0)
    images = encode_images(rng.integers(0, 256, (20, 28, 28), dtype=np.uint8))
    labels = encode_labels(rng.integers(0, 10, 20))
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    d = {name: tmp_path / name for name in ("magic", "dims", "raw_cut", "gz_cut", "count", "not_gz", "dir_as_file",
                                             "empty")}
    expect = {}
    img, _ = idx_pair(d["magic"], struct.pack(">I", 0x801) + images[4:], labels)
    expect["magic"] = (f"{img}: wrong magic number 0x00000801",)
    img, _ = idx_pair(d["dims"], struct.pack(">IIII", 0x803, 2, 14, 14) + bytes(2 * 14 * 14), encode_labels([1, 2]))
    expect["dims"] = (f"{img}: images are 14x14",)
    img, _ = idx_pair(d["raw_cut"], images[:-5], labels, gz=False)
    expect["raw_cut"] = (f"{img}: truncated: 15691 bytes",)
    img, _ = idx_pair(d["gz_cut"], images, labels)
    img.write_bytes(img.read_bytes()[:200])
    expect["gz_cut"] = (f"{img}: truncated gzip data",)
    img, lab = idx_pair(d["count"], images, encode_labels(rng.integers(0, 10, 15)))
    expect["count"] = (f"{img}: 20 images but {lab} has 15 labels",)
    _, lab = idx_pair(d["not_gz"], images, labels)
    lab.write_bytes(labels)
    expect["not_gz"] = (f"{lab}: not a gzip file",)
    (d["dir_as_file"] / "train-images-idx3-ubyte.gz").mkdir(parents=True)
    (d["dir_as_file"] / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    expect["dir_as_file"] = (f"{d['dir_as_file'] / 'train-images-idx3-ubyte.gz'}: is a directory",)
    d["empty"].mkdir()
    expect["empty"] = (f"data dir {d['empty']}: no MNIST train files",)
    d["missing"] = tmp_path / "missing"
    expect["missing"] = (f"data dir {d['missing']}: does not exist",)
    d["under_a_file"] = blocker / "mnist"  # what root gets instead of an unreadable directory
    expect["under_a_file"] = (f"data dir {d['under_a_file']}: does not exist",)
    cases = {name: command("train", "--dry-run", "--model", "softmax", "--data-dir", d[name],
                           "--checkpoint-dir", tmp_path / "ck" / name, "--save-dir", tmp_path / "out" / name)
             for name in expect}
    started = time.perf_counter()
    results = run_all(cases)
    for name, done in results.items():
        one_error(done, 2, *expect[name], case=name)
    assert not list((tmp_path / "out").iterdir())  # nothing trained, nothing exported
    # Data is read before Paddle is imported: ~1 s per bad run, not Paddle's import first.
    assert time.perf_counter() - started < 60


def test_cache_file_modified_after_verification_is_discarded_and_named(tmp_path, mnist_cache):
    cache = tmp_path / "cache"
    cache.mkdir()
    os.symlink(Path(mnist_cache) / "train-images-idx3-ubyte.gz", cache / "train-images-idx3-ubyte.gz")
    labels = bytearray(gzip.decompress((Path(mnist_cache) / "train-labels-idx1-ubyte.gz").read_bytes()))
    labels[8] = (labels[8] + 1) % 10  # still a valid IDX file: only the md5 can tell
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels)))
    env = dict(ENV, LEGACY_MNIST_DATA_HOME=str(cache), LEGACY_MNIST_MIRRORS="none", PIP_NO_INDEX="1")
    done = run(command("train", "--dry-run", "--model", "softmax", "--checkpoint-dir", tmp_path / "ck",
                       "--save-dir", tmp_path / "out"), env=env)
    one_error(done, 2, "cannot get MNIST train: train-labels-idx1-ubyte.gz not in cache", str(cache))
    assert f"MNIST cache file {cache / 'train-labels-idx1-ubyte.gz'} failed verification (md5" in done.stderr
    assert not (cache / "train-labels-idx1-ubyte.gz").exists()  # discarded, never used
    assert (Path(mnist_cache) / "train-images-idx3-ubyte.gz").is_file()  # the link's target is untouched


# ---------------------------------------------------------------------------------------------- images
@pytest.fixture(scope="module")
def model(tiny_exports):  # noqa: F811
    from legacy_mnist.infer import load_model

    return load_model(tiny_exports.legacy)


def _predict(model, image: Image.Image) -> int:
    from legacy_mnist.normalize import to_model_input
    from legacy_mnist.preprocess import preprocess_image

    return int(model.predict(to_model_input(preprocess_image(image, "auto")[None])).argmax())


@pytest.fixture(scope="module")
def digit(tiny_exports, model):  # noqa: F811
    """A test digit the model reads right as a photo, and wrongly when turned on its side: then an
    ignored EXIF rotation cannot pass unnoticed."""
    for index in np.argsort(-tiny_exports.reference.max(axis=1)):
        label = int(tiny_exports.labels[index])
        photo = on_paper(tiny_exports.images[index])
        if _predict(model, photo) == label and _predict(model, photo.transpose(Image.Transpose.ROTATE_90)) != label:
            return photo, label
    pytest.fail("no test digit is misread when rotated")


def test_odd_images_are_reported_one_per_line_and_the_rest_predicted(tiny_exports, digit, tmp_path):  # noqa: F811
    photo, label = digit
    d = tmp_path / "inbox"
    d.mkdir()
    photo.save(d / "plain.png")
    gray = np.asarray(photo.convert("L"), dtype=np.uint16)
    Image.fromarray(gray * 257).save(d / "gray16.png")  # mode I;16 -> a 16-bit PNG
    assert Image.open(d / "gray16.png").mode.startswith("I")
    cutout = np.zeros((*gray.shape, 4), np.uint8)
    cutout[..., 3] = 235 - gray.astype(np.uint8)  # black ink whose shape is only in the alpha channel
    Image.fromarray(cutout, "RGBA").save(d / "alpha.png")
    photo.quantize(16).save(d / "palette.png")
    photo.convert("CMYK").save(d / "cmyk.jpg", quality=95)
    other = photo.transpose(Image.Transpose.ROTATE_90)
    other.save(d / "second_frame.png")
    photo.save(d / "animated.gif", save_all=True, append_images=[other], duration=100, loop=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": stored turned, shown upright
    photo.transpose(Image.Transpose.ROTATE_90).save(d / "exif_rotated.jpg", quality=95, exif=exif.tobytes())
    photo.transpose(Image.Transpose.ROTATE_90).save(d / "rotated_no_exif.jpg", quality=95)
    odd_name = os.fsencode(d) + b"/a name with spaces and latin-1 \xe9.png"  # not valid UTF-8
    photo.save(odd_name.decode("utf-8", "surrogateescape"))
    Image.new("RGB", (300, 200), (236, 233, 228)).save(d / "blank.jpg", quality=80)
    png, jpeg = (d / "plain.png").read_bytes(), io.BytesIO()
    photo.save(jpeg, "JPEG")
    bad = {
        "zero.png": (b"", "empty file"),
        "random.jpg": (np.random.default_rng(3).bytes(5000), "not an image"),
        "truncated.png": (png[: len(png) // 2], "corrupt or truncated"),
        "truncated.jpg": (jpeg.getvalue()[: len(jpeg.getvalue()) // 3], "corrupt or truncated"),
        "bomb.png": (png_header_only(30000, 30000), "too large"),  # 900 megapixels in 100 bytes
    }
    for name, (data, _) in bad.items():
        (d / name).write_bytes(data)
    os.symlink("loop_b.png", d / "loop_a.png")
    os.symlink("loop_a.png", d / "loop_b.png")
    tree = tmp_path / "tree"  # for a `**` glob: two links back up the tree (glob.glob would walk 2**40 paths)
    (tree / "sub").mkdir(parents=True)
    photo.save(tree / "sub" / "in_tree.png")
    for name in ("up1", "up2"):
        os.symlink("..", tree / "sub" / name)
    env = dict(ENV, PYTHONIOENCODING="utf-8")  # a strict UTF-8 stdout, as under a desktop locale
    done = subprocess.run(measured(command("infer", "-q", "--model-dir", tiny_exports.legacy, d, f"{tree}/**/*.png",
                                           "--format", "csv")),
                          capture_output=True, cwd=REPO, env=env, timeout=120)
    out, err = done.stdout, done.stderr
    assert done.returncode == 1 and b"Traceback" not in err, err.decode(errors="replace")
    assert err.decode().startswith("peak_rss_kib="), err  # per-file errors are CSV rows, not stderr lines
    by_path = read_csv_rows(out)
    rows = {Path(path).name: row for path, row in by_path.items()}
    readable = ["plain.png", "gray16.png", "alpha.png", "palette.png", "cmyk.jpg", "animated.gif",
                "exif_rotated.jpg", "a name with spaces and latin-1 \udce9.png", "in_tree.png"]
    for name in readable:
        assert rows[name][1] == str(label) and rows[name][3] == "", (name, rows[name])
    assert rows["second_frame.png"][1] != str(label)  # so the GIF's answer really is its first frame
    assert rows["rotated_no_exif.jpg"][1] != str(label)  # so the EXIF tag really was applied
    assert b"latin-1 \xe9.png," in out  # the original bytes of the name, as `ls` would give them
    assert str(tree / "sub" / "in_tree.png") in by_path  # and only there, not again through up1/, up2/...
    assert rows["blank.jpg"][1] == "" and rows["blank.jpg"][3].startswith(f"{d / 'blank.jpg'}: no digit found")
    for name, (_, reason) in bad.items():
        assert rows[name][1] == "" and rows[name][3].startswith(f"{d / name}: ") and reason in rows[name][3]
    for name in ("loop_a.png", "loop_b.png"):
        assert rows[name][3] == f"{d / name}: cannot read (Too many levels of symbolic links)"
    assert len(by_path) == len(readable) + 3 + len(bad) + 2  # + second frame, unrotated, blank; + 2 loops
    assert peak_rss_mib(err) < 600  # measured ~300 MiB; the bomb alone would need 900 MB decoded


N_MANY = 3000


@pytest.fixture(scope="module")
def many_pngs(tiny_exports, tmp_path_factory):  # noqa: F811
    """3,000 small RGB PNGs (48x48 photos of 10 test digits, written as bytes: ~1 s)."""
    directory = tmp_path_factory.mktemp("many")
    blobs = []
    for pixels in tiny_exports.images[:10]:
        buffer = io.BytesIO()
        on_paper(pixels, 48).save(buffer, "PNG")
        blobs.append(buffer.getvalue())
    for index in range(N_MANY):
        (directory / f"{index:05d}.png").write_bytes(blobs[index % 10])
    return directory


def _vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_thousands_of_files_stream_in_bounded_memory(tiny_exports, many_pngs):  # noqa: F811
    # `--preprocess book` keeps this at ~1 ms a file; the default `auto` (~4 ms a file, 13 s for the 3,000)
    # streams through the same loop, one image at a time (docs/reliability.md has its numbers).
    started = time.perf_counter()
    proc = subprocess.Popen(measured(command("infer", "-q", "--model-dir", tiny_exports.legacy, many_pngs, "--format",
                                             "csv", "--preprocess", "book")),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=ENV)
    rows, early_kib = 0, None
    for line in proc.stdout:
        rows += 1
        if rows == 301:  # header + 300 files: the model is loaded and the pipeline is warm
            (infer_pid,) = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            early_kib = _vm_hwm_kib(int(infer_pid))
        assert rows == 1 or line.rstrip("\n").endswith(","), line  # an empty error column: predicted
    _, err = proc.communicate(timeout=60)
    seconds = time.perf_counter() - started
    assert proc.returncode == 0 and err.startswith("peak_rss_kib="), err[-2000:]
    assert rows == N_MANY + 1
    growth_mib = peak_rss_mib(err) - early_kib / 1024  # peak after 3,000 files vs after 300
    # Holding every decoded image (48*48*3 B), its float copy and its model input would add about this:
    all_held_mib = N_MANY * (48 * 48 * 3 + 48 * 48 * 4 + 784 * 4) / 2**20
    assert growth_mib < all_held_mib / 4, (growth_mib, all_held_mib)  # measured: < 1 MiB of ~55
    assert seconds < 60, seconds  # measured 4-6 s on 2 busy cores


def test_ctrl_c_during_infer_is_exit_130_and_one_line(tiny_exports, many_pngs):  # noqa: F811
    proc = subprocess.Popen(command("infer", "-q", "--model-dir", tiny_exports.legacy, many_pngs, "--batch-size", "8"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=ENV)
    for _ in range(3):
        assert proc.stdout.readline().startswith("Inference result of ")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "error: interrupted\n", (proc.returncode, err)
    assert len(out.splitlines()) < N_MANY - 3  # it stopped, it did not finish the directory


def test_stdout_closed_early_is_quiet(tiny_exports, many_pngs):  # noqa: F811
    env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}  # block-buffered, as for most users
    model = ["-q", "--model-dir", tiny_exports.legacy, "--format", "csv"]
    # `| head -1` on a long run: the pipe breaks mid-stream.
    head = subprocess.Popen(command("infer", *model, many_pngs), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO, env=env)
    assert head.stdout.readline() == "path,digit,probability,error\n"
    head.stdout.close()
    # `| true`: the reader is gone before the first flush; the whole (short) output is still buffered.
    gone = subprocess.Popen(command("infer", *model, f"{many_pngs}/0000?.png"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    gone.stdout.close()
    for proc in (head, gone):
        proc.wait(timeout=60)
        err = proc.stderr.read()
        # Before the fix, `gone`: exit 120 and "Exception ignored ... BrokenPipeError" from the final flush.
        assert proc.returncode == 1 and err == "", (proc.args[-1], proc.returncode, err)


# ---------------------------------------------------------------------------------------------- models
def test_broken_models_are_named_in_one_line(tiny_exports, digit, tmp_path):  # noqa: F811
    photo, _ = digit
    image = tmp_path / "digit.png"
    photo.save(image)
    legacy = tiny_exports.legacy
    no_params = tmp_path / "no_params"
    no_params.mkdir()
    shutil.copy(legacy / "model.pdmodel", no_params)
    mixed = shutil.copytree(legacy, tmp_path / "mixed")
    shutil.copy(tiny_exports.other / "model.pdiparams", mixed / "model.pdiparams")  # softmax weights, CNN program
    truncated = shutil.copytree(legacy, tmp_path / "truncated")
    params = (legacy / "model.pdiparams").read_bytes()
    (truncated / "model.pdiparams").write_bytes(params[: len(params) // 2])
    flipped = shutil.copytree(legacy, tmp_path / "flipped")
    damaged = bytearray(params)
    damaged[len(damaged) // 2: len(damaged) // 2 + 64] = bytes(64)  # inside a tensor: still parses and loads
    (flipped / "model.pdiparams").write_bytes(bytes(damaged))
    expect = {
        "missing": (tmp_path / "missing", f"{tmp_path / 'missing'}: no such model directory"),
        "no params": (no_params, f"{no_params / 'model.pdmodel'}: incomplete export, model.pdiparams is missing"),
        "another model's params": (mixed, f"{mixed / 'model.pdiparams'}: holds 2 tensors but model.pdmodel needs 10"),
        "truncated params": (truncated, f"{truncated / 'model.pdiparams'}: damaged parameter file"),
        "zeroed bytes in a tensor": (flipped, f"{flipped / 'model.pdiparams'}: does not match the SHA-256"),
    }
    cases = {name: command("infer", "--model-dir", path, image) for name, (path, _) in expect.items()}
    # A PIR (.json) export under Paddle 2.x: simulated by the version string the loader checks.
    pir = tmp_path / "pir"  # the version check comes before the files are read: placeholders will do
    pir.mkdir()
    (pir / "model.json").write_text("{}")
    (pir / "model.pdiparams").write_bytes(b"\0")
    cases["json under Paddle 2.x"] = [sys.executable, "-c", (
        "import sys; from legacy_mnist.paddle_env import import_paddle; import_paddle().__version__ = '2.6.2'; "
        "from legacy_mnist.infer import cli; sys.exit(cli())"),
        "--model-dir", str(pir), str(image)]
    results = run_all(cases)
    for name, (_, fragment) in expect.items():
        one_error(results[name], 2, fragment, case=name)
    one_error(results["json under Paddle 2.x"], 2, "a PIR (.json) export needs Paddle 3.x, this is Paddle 2.6.2")


# --------------------------------------------------------------------------------------------- arguments
def test_bad_arguments_and_unwritable_outputs_exit_2_before_any_work(tiny_exports, tmp_path):  # noqa: F811
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    not_an_export = tmp_path / "papers"
    not_an_export.mkdir()
    (not_an_export / "thesis.tex").write_text("keep me too")
    model = tiny_exports.legacy
    image = tmp_path / "x.png"
    Image.new("L", (28, 28)).save(image)
    dry = ["--dry-run", "--model", "softmax"]
    ck, out = ["--checkpoint-dir", tmp_path / "ck"], ["--save-dir", tmp_path / "out"]
    cases = {
        "train --epochs 0": (command("train", *dry, *ck, *out, "--epochs", "0"), "--epochs must be a positive"),
        "train --epochs -3": (command("train", *dry, *ck, *out, "--epochs", "-3"), "--epochs must be a positive"),
        "train --batch-size 0": (command("train", *dry, *ck, *out, "--batch-size", "0"), "--batch-size must be"),
        "train --batch-size -64": (command("train", *dry, *ck, *out, "--batch-size", "-64"), "--batch-size must be"),
        "train --model resnet": (command("train", *dry, *ck, *out, "--model", "resnet"), "--model"),
        "train --save-dir FILE": (command("train", *dry, *ck, "--save-dir", a_file),
                                  f"--save-dir {a_file}: exists and is not a directory"),
        "train --save-dir FILE/sub": (command("train", *dry, *ck, "--save-dir", a_file / "sub"),
                                      f"--save-dir {a_file / 'sub'}: {a_file} is a file, not a directory"),
        "train --save-dir NON-EXPORT": (command("train", *dry, *ck, "--save-dir", not_an_export),
                                        f"--save-dir {not_an_export}: holds files that are not an export"),
        "train --save-dir holds ck": (command("train", *dry, "--checkpoint-dir", tmp_path / "both" / "ck",
                                              "--save-dir", tmp_path / "both"), "keep them apart"),
        "train --checkpoint-dir FILE": (command("train", *dry, *out, "--checkpoint-dir", a_file),
                                        f"--checkpoint-dir {a_file}: exists and is not a directory"),
        "train --checkpoint-dir FILE/sub": (command("train", *dry, *out, "--checkpoint-dir", a_file / "ck"),
                                            f"--checkpoint-dir {a_file / 'ck'}: {a_file} is a file"),
        "infer no inputs": (command("infer", "--model-dir", model), "give image files"),
        "infer --batch-size 0": (command("infer", "--model-dir", model, "--batch-size", "0", image), "--batch-size"),
        "infer --top-k 0": (command("infer", "--model-dir", model, "--top-k", "0", image), "--top-k"),
        "infer --model-dir missing": (command("infer", "--model-dir", tmp_path / "none", image),
                                      "no such model directory"),
        "evaluate --limit 0": (command("evaluate", "--model-dir", model, "--limit", "0"), "--limit"),
        "evaluate --batch-size 0": (command("evaluate", "--model-dir", model, "--batch-size", "0"), "--batch-size"),
        "evaluate --output FILE/sub": (command("evaluate", "--model-dir", model, "--output", a_file / "r.json"),
                                       f"--output {a_file / 'r.json'}: {a_file} is a file"),
        "evaluate --plot DIR": (command("evaluate", "--model-dir", model, "--plot", tmp_path),
                                f"--plot {tmp_path}: is a directory"),
        "evaluate --model-dir missing": (command("evaluate", "--model-dir", tmp_path / "none"),
                                         "no such model directory"),
        "export --check-images 0": (command("export", "--model-dir", model, "--onnx", tmp_path / "m.onnx",
                                            "--check-images", "0"), "--check-images"),
        "export --onnx FILE/sub": (command("export", "--model-dir", model, "--onnx", a_file / "m.onnx"),
                                   f"--onnx {a_file / 'm.onnx'}: {a_file} is a file"),
        "export --onnx DIR": (command("export", "--model-dir", model, "--onnx", tmp_path),
                              f"--onnx {tmp_path}: is a directory"),
        "export --model-dir missing": (command("export", "--model-dir", tmp_path / "none", "--onnx",
                                               tmp_path / "m.onnx"), "no such model directory"),
    }
    started = time.perf_counter()
    results = run_all({name: cmd for name, (cmd, _) in cases.items()})
    for name, (_, fragment) in cases.items():
        one_error(results[name], 2, fragment, case=name)
        assert "usage:" not in results[name].stderr, name  # one line, not argparse's usage dump
    assert a_file.read_text() == "keep me" and (not_an_export / "thesis.tex").read_text() == "keep me too"
    assert not (tmp_path / "out").exists() and not (tmp_path / "ck").exists() and not (tmp_path / "m.onnx").exists()
    assert time.perf_counter() - started < 60  # all refused before Paddle is imported or anything trained


# --------------------------------------------------------------------------- interruption and divergence
TRAIN = ["--model", "lenet5", "--train-limit", "50000", "--val-size", "500", "--test-limit", "500", "--epochs", "1",
         "--no-plot", "--log-format", "json", "--log-every", "1"]


@pytest.fixture(scope="module")
def interrupted(mnist_cache, tmp_path_factory):
    """A training that a second training tried to share, then stopped with SIGTERM mid-pass (its pass of
    780 steps takes 5-20 s, the second training's refusal about a second)."""
    root = tmp_path_factory.mktemp("interrupted")
    ck = root / "ck"
    first = subprocess.Popen(command("train", *TRAIN, "--checkpoint-dir", ck, "--save-dir", root / "export"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=ENV)
    for line in first.stdout:
        if '"global_step": 3,' in line:
            break
    second = run(command("train", "--dry-run", "--model", "lenet5", "--checkpoint-dir", ck,
                         "--save-dir", root / "export2"))
    first_still_running = first.poll() is None
    first.send_signal(signal.SIGTERM)
    _, first_err = first.communicate(timeout=120)
    return root, ck, first.returncode, first_err, second, first_still_running


def test_second_training_on_the_same_checkpoint_dir_is_refused(interrupted):
    root, ck, _, _, second, first_still_running = interrupted
    assert first_still_running, "the first training ended before the second one started: test inconclusive"
    one_error(second, 2, f"--checkpoint-dir {ck} is in use by another training (locked)")
    assert not (root / "export2").exists()


def test_sigterm_writes_a_consistent_checkpoint_and_exits_143(interrupted):
    _, ck, code, err, _, _ = interrupted
    done = subprocess.CompletedProcess([], code, "", err)
    one_error(done, 128 + signal.SIGTERM, "interrupted by SIGTERM", "run again with --resume")
    meta = json.loads((ck / "last" / "meta.json").read_text())
    assert meta["epoch"] == 0 and meta["batch"] >= 3 and meta["config"]["model"] == "lenet5"
    assert {"model.pdparams", "model.pdopt", "model.pdmodel"} <= {p.name for p in (ck / "last").iterdir()}
    assert not [p for p in ck.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def _snapshot(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_divergence_crafted_checkpoint_and_checkpoint_as_model(interrupted, tmp_path):
    root, ck, _, _, _, _ = interrupted
    before = _snapshot(ck / "last")
    evil = shutil.copytree(ck, tmp_path / "evil_ck")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    (evil / "last" / "model.pdparams").write_bytes(pickle.dumps({"conv2d_0.w_0": Exploit()}))
    image = tmp_path / "x.png"
    Image.new("L", (28, 28)).save(image)
    results = run_all({
        "diverge": command("train", *TRAIN, "--optimizer", "sgd", "--lr", "1e38", "--checkpoint-dir", ck,
                           "--save-dir", tmp_path / "diverged"),
        "crafted resume": command("train", *TRAIN, "--resume", "--checkpoint-dir", evil, "--save-dir",
                                  tmp_path / "evil_export"),
        "checkpoint as model": command("infer", "--model-dir", ck / "last", image),
        "checkpoint root as model": command("infer", "--model-dir", ck, image),
    })
    one_error(results["diverge"], 1, "training diverged at pass 0", f"last good checkpoint kept in {ck / 'last'}")
    assert _snapshot(ck / "last") == before and not (tmp_path / "diverged").exists()
    one_error(results["crafted resume"], 2, f"checkpoint {evil / 'last' / 'model.pdparams'}: refused global "
              f"{os.system.__module__}.system")
    assert not marker.exists()
    one_error(results["checkpoint as model"], 2, f"{ck / 'last'}: a training checkpoint (--checkpoint-dir), not an export")
    one_error(results["checkpoint root as model"], 2, f"{ck}: a training checkpoint")


def test_two_writers_of_one_export_take_turns(tmp_path):
    """A second writer must not take the first one's live staging directory for a crash leftover."""
    from legacy_mnist.common.atomic import staged_dir

    final = tmp_path / "export"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from legacy_mnist.common.atomic import staged_dir\n"
        "with staged_dir(sys.argv[1]) as s:\n"
        "    (s / 'model').write_text('first'); print('writing', flush=True); time.sleep(1.5)\n"
        "    (s / 'done').write_text('yes')\n"), str(final)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=REPO, env=ENV)
    assert holder.stdout.readline() == "writing\n"
    with staged_dir(final) as staged:  # waits for the first writer instead of deleting its files
        (staged / "model").write_text("second")
    _, err = holder.communicate(timeout=30)
    assert holder.returncode == 0, err
    assert (final / "model").read_text() == "second" and not (final / "done").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.lock", "export"]


# ------------------------------------------------------------------------------------ untrusted input
DYNAMIC_CODE = {"eval", "exec", "compile", "__import__", "importlib.import_module"}
RISKY_CALLS = {"pickle.load", "pickle.loads", "pickle.Unpickler",
               "np.load", "numpy.load", "paddle.load", "paddle.static.load", "yaml.load", "marshal.loads",
               "shelve.open", "tarfile.open"}
# Paddle's loaders unpickle without restriction: allowed only on io.BytesIO(bytes) that verified_bytes read and
# checked earlier in the same function - never on a path, which could be swapped between the check and the use.
GUARDED = {"paddle.load", "paddle.static.load", "paddle.static.load_program_state"}


def _reads_checked_bytes(call: ast.Call) -> bool:
    return bool(call.args) and isinstance(call.args[0], ast.Call) and _dotted(call.args[0].func).endswith("BytesIO")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def test_no_code_can_run_from_untrusted_files():
    found, guarded_seen = [], 0
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        where = lambda node: f"{path.relative_to(REPO)}:{node.lineno}"  # noqa: E731
        guarded_at = {}  # line of a guarded call -> whether check_pickles ran before it in its function
        for func in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            calls = [n for n in ast.walk(func) if isinstance(n, ast.Call)]
            checks = [c.lineno for c in calls if _dotted(c.func).endswith("verified_bytes")]
            for call in calls:
                if _dotted(call.func) in GUARDED:
                    guarded_at[call.lineno] = _reads_checked_bytes(call) and any(line <= call.lineno for line in checks)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name in GUARDED:
                    guarded_seen += 1
                    if not guarded_at.get(node.lineno, False):
                        found.append(f"{where(node)}: {name}() not on io.BytesIO of verified_bytes read before it")
                elif name in DYNAMIC_CODE:
                    if not (node.args and isinstance(node.args[0], ast.Constant)):  # code built from data
                        found.append(f"{where(node)}: {name}() on a computed argument")
                elif name in RISKY_CALLS - GUARDED or name.rsplit(".", 1)[-1] in ("extractall", "extract"):
                    found.append(f"{where(node)}: {name}()")
                if any(k.arg == "allow_pickle" for k in node.keywords):
                    found.append(f"{where(node)}: {name}(allow_pickle=...)")
            if isinstance(node, ast.ClassDef) and any(_dotted(b) == "pickle.Unpickler" for b in node.bases):
                methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
                if "find_class" not in methods:
                    found.append(f"{where(node)}: an Unpickler without find_class resolves any global")
    assert found == [], found
    assert guarded_seen >= 2  # the fluid shim's load_dygraph (twice); checkpoint.load_checkpoint needs none


def test_crafted_dygraph_checkpoint_is_refused(tmp_path):
    """The fluid shim's load_dygraph (paddle.load underneath) refuses a pickle that would run code."""
    from legacy_mnist.errors import ModelError
    from legacy_mnist.fluid.dygraph.checkpoint import load_dygraph

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    (tmp_path / "model.pdparams").write_bytes(pickle.dumps({"fc.weight": Exploit()}))
    with warnings.catch_warnings(), pytest.raises(ModelError, match=f"refused global {os.system.__module__}.system"):
        warnings.simplefilter("ignore")  # the shim's deprecation notice
        load_dygraph(str(tmp_path / "model"))
    assert not marker.exists()
