"""Hostile inputs: images, output paths, signals, checkpoints, data files and the Python API, as an attacker
(or an unlucky batch script) would try them. Each case is one of issue 17's; docs/reliability.md lists them.

Run:  python -m pytest -q tests/test_hostile_inputs.py
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import pickle
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture
from PIL import Image
from test_reliability import ENV, REPO, command, each_case, measured, one_error, peak_rss_mib, run_all

from legacy_mnist.inference import image_files
from legacy_mnist.config import TrainConfig, validate
from legacy_mnist.dataset import load_split
from legacy_mnist.dataset.idx import encode_labels
from legacy_mnist.errors import DataError, ModelError, UserError
from legacy_mnist.infer import load_model, predict_files
from legacy_mnist.preprocess import preprocess_file


def csv_rows(stdout: str) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(stdout)))
    assert rows[0][:2] == ["path", "digit"], rows[:1]
    return {row[0]: row for row in rows[1:]}


@pytest.fixture(scope="module")
def good_pngs(tiny_exports, tmp_path_factory):  # noqa: F811
    directory = tmp_path_factory.mktemp("good")
    for index in range(3):
        Image.fromarray(np.asarray(tiny_exports.images[index])).save(directory / f"good{index}.png")
    return directory


# ----------------------------------------------------------------------------------------------- images
def _tiff_with_a_bad_second_page(pixels: np.ndarray) -> bytes:
    """A good TIFF whose 'next page' pointer leads into its pixel data (Pillow: TypeError on the page count)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, np.uint8)).convert("RGB").save(buffer, "TIFF", compression="tiff_deflate")
    data = bytearray(buffer.getvalue())
    (offset,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, offset)
    struct.pack_into("<I", data, offset + 2 + 12 * count, 8)
    return bytes(data)


def _blp_and_dds() -> tuple[bytes, bytes]:
    """A BLP with an unknown compression and a DDS with unknown pixel-format flags (Pillow raises
    NotImplementedError for both, which no except clause caught)."""
    blp, dds = io.BytesIO(), io.BytesIO()
    Image.new("P", (16, 16)).save(blp, "BLP")
    Image.new("RGB", (16, 16)).save(dds, "DDS")
    blp, dds = bytearray(blp.getvalue()), bytearray(dds.getvalue())
    struct.pack_into("<I", blp, 4, 7)
    struct.pack_into("<I", dds, 80, 0x12)
    return bytes(blp), bytes(dds)


# A stand-in for Ghostscript (not installed here, and a real one must never be needed to see the hole): first
# on PATH, it logs each run and does what the issue's three PostScript files made the real one do.
FAKE_GS = """#!{python}
import os, re, sys, time
if "--version" in sys.argv:
    print("10.02.1")
    sys.exit(0)
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv) + "\\n")
source = open(sys.argv[sys.argv.index("-f") + 1], "rb").read()
made = re.search(rb"[(](/[^)]+)[)] [(]w[)] file", source)
if made:  # `(PATH) (w) file closefile` creates PATH
    open(made.group(1), "w").close()
if b"{{ }} loop" in source:  # runs until its caller dies
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.2)
if source.count(b"{{") != source.count(b"}}"):  # Ghostscript prints its error dump on stdout
    print("Error: /syntaxerror in --nostringval--\\nOperand stack:\\n\\n%%[ Error handled; flushing file ]%%")
    sys.exit(1)
"""


def _inbox(good_pngs: Path, tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for good in good_pngs.iterdir():
        (inbox / good.name).write_bytes(good.read_bytes())
    return inbox


def _infer_csv(tiny_exports, inbox: Path, env=None, timeout: float = 90):  # noqa: F811
    return subprocess.run(command("infer", "--model-dir", tiny_exports.legacy, "--format", "csv", inbox),
                          capture_output=True, text=True, env=env or ENV, timeout=timeout, cwd=REPO)


def test_postscript_named_png_never_starts_ghostscript(tiny_exports, good_pngs, tmp_path):  # noqa: F811
    made, ran = tmp_path / "made_by_postscript", tmp_path / "ghostscript_ran.log"
    fake = tmp_path / "bin" / "gs"
    fake.parent.mkdir()
    fake.write_text(FAKE_GS.format(python=sys.executable, log=str(ran)))
    fake.chmod(0o755)
    inbox = _inbox(good_pngs, tmp_path)
    eps = "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n"
    # named so that a directory listing meets them in this order, the hang last
    (inbox / "ps1_writes.png").write_text(f"{eps}({made}) (w) file closefile\n0 0 moveto 28 28 lineto stroke\n")
    (inbox / "ps2_malformed.png").write_text(f"{eps}/box {{ 0 0 moveto 28 28 lineto\nshowpage\n")
    (inbox / "ps3_hangs.png").write_text(f"{eps}{{ }} loop\n")  # the issue's 58 bytes
    started = time.perf_counter()
    try:
        done = _infer_csv(tiny_exports, inbox, env=dict(ENV, PATH=f"{fake.parent}{os.pathsep}{ENV.get('PATH', '')}"))
    except subprocess.TimeoutExpired as exc:
        done = exc
    assert not made.exists(), "the PostScript ran (in Ghostscript) and created a file"
    assert not ran.exists(), "Ghostscript was started: " + ran.read_text()[:300]
    assert not isinstance(done, subprocess.TimeoutExpired), "the run hung"
    assert time.perf_counter() - started < 60 and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    assert "%%" not in done.stdout and "Error:" not in done.stdout, done.stdout
    rows = {Path(k).name: v for k, v in csv_rows(done.stdout).items()}
    assert len(rows) == 6, sorted(rows)
    for name in ("good0.png", "good1.png", "good2.png"):
        assert rows[name][1] != "" and rows[name][-1] == "", rows[name]
    for name in ("ps1_writes.png", "ps2_malformed.png", "ps3_hangs.png"):
        assert "PostScript (reading it runs Ghostscript)" in rows[name][-1], rows[name]


def test_corrupt_blp_tiff_dds_among_good_files_are_their_own_rows(tiny_exports, good_pngs, tmp_path):  # noqa: F811
    """Before: the whole run aborted (TypeError, BLPFormatError, NotImplementedError), no rows for the good ones."""
    inbox = _inbox(good_pngs, tmp_path)
    (inbox / "page2.png").write_bytes(_tiff_with_a_bad_second_page(tiny_exports.images[0]))
    blp, dds = _blp_and_dds()
    (inbox / "texture.png").write_bytes(blp)
    (inbox / "surface.png").write_bytes(dds)
    done = _infer_csv(tiny_exports, inbox)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    rows = {Path(k).name: v for k, v in csv_rows(done.stdout).items()}
    assert len(rows) == 6, (sorted(rows), done.stderr[-500:])
    for name in ("good0.png", "good1.png", "good2.png", "page2.png"):  # the TIFF's first page is a fine image
        assert rows[name][1] != "" and rows[name][-1] == "", rows[name]
    assert "a BLP file, not a PNG" in rows["texture.png"][-1] and "a DDS file" in rows["surface.png"][-1]


def test_every_decoder_error_is_a_data_error(tmp_path):
    """Whatever a plugin raises on damaged data (TypeError, NotImplementedError, struct.error ...)."""
    cases = {"page2.tif": _tiff_with_a_bad_second_page(np.full((48, 64), 200, np.uint8)), "fifo.png": None,
             "dir.png": None}
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "fifo.png")  # opened without blocking, refused
    (tmp_path / "dir.png").mkdir()
    assert preprocess_file(tmp_path / "page2.tif", "book").shape == (28, 28)
    with pytest.raises(DataError, match="fifo.png: is a FIFO"):
        preprocess_file(tmp_path / "fifo.png")
    with pytest.raises(DataError, match="dir.png: is a directory"):
        preprocess_file(tmp_path / "dir.png")


def test_a_small_file_of_a_huge_image_decodes_in_bounded_memory(tiny_exports, tmp_path):  # noqa: F811
    """The issue's 8 KB PNG of 7999x7999 (just under --max-pixels): 1.16 GB peak for one file before."""
    page = Image.new("1", (7999, 7999), 1)
    page.paste(Image.new("1", (2000, 3000), 0), (3000, 2500))  # a thick black bar: an ink stroke
    page.save(tmp_path / "huge.png", optimize=True)
    assert (tmp_path / "huge.png").stat().st_size < 64 << 10
    small = Image.new("1", (400, 400), 1)
    small.paste(Image.new("1", (100, 150), 0), (150, 125))
    small.save(tmp_path / "small.png")
    results = {name: subprocess.run(measured(command("infer", "--model-dir", tiny_exports.legacy, tmp_path / name)),
                                    capture_output=True, text=True, env=ENV, timeout=120, cwd=REPO)
               for name in ("small.png", "huge.png")}
    for done in results.values():
        assert done.returncode == 0 and "Inference result of" in done.stdout, done.stderr
    growth = peak_rss_mib(results["huge.png"].stderr) - peak_rss_mib(results["small.png"].stderr)
    assert growth < 250, growth  # the 64 MB decoded image (+ one reduced copy), not a gigabyte of float copies


def test_decoding_is_bounded_in_time(tmp_path, monkeypatch):
    Image.new("L", (4000, 4000), 128).save(tmp_path / "slow.png", compress_level=0)
    monkeypatch.setattr(image_files, "DECODE_SECONDS", 0.001)
    with pytest.raises(DataError, match="decoding took more than"):
        image_files.open_image(tmp_path / "slow.png")
    monkeypatch.undo()
    image_files.open_image(tmp_path / "slow.png").close()  # the same file is fine with the real limit


def test_native_decoder_messages_become_the_error_not_output(tmp_path, capfd):
    """libtiff prints its complaints on stderr (between the rows of a text-mode run): they become the error."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(buffer, "TIFF",
                                                                                       compression="tiff_lzw")
    data = bytearray(buffer.getvalue())
    data[8:208] = bytes((i * 37) & 0xFF for i in range(8, 208))  # garbage in the LZW strip, the IFD intact
    (tmp_path / "garbled.tif").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"garbled.tif: corrupt or truncated image \(.*code not yet in table"):
        preprocess_file(tmp_path / "garbled.tif")
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)


# ---------------------------------------------------------------------------------------------- outputs
def _null_device(tmp_path: Path) -> Path:
    """A node of the null device in tmp_path when this process may make one (root): a failing run then replaces
    that node, not the machine's /dev/null (which the issue saw done). Otherwise /dev/null itself, which a
    process that cannot make device nodes cannot replace either."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.stat(os.devnull).st_rdev)
    except OSError:
        return Path(os.devnull)
    return node


def test_outputs_that_are_devices_fifos_or_stdout_links_are_written_in_place(tiny_exports, tmp_path):  # noqa: F811
    null = _null_device(tmp_path)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)  # never holds up exit
    reader.start()
    stdout_link = tmp_path / "to_stdout.json"
    os.symlink("/dev/stdout", stdout_link)
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "report.sock"))  # no one writes a report into a socket: refused, kept
    results = run_all({
        "report to a socket": command("evaluate", "--model-dir", tiny_exports.legacy, "--limit", "20", "--output",
                                      tmp_path / "report.sock"),
        "onnx to the null device": command("export", "--model-dir", tiny_exports.legacy, "--onnx", null,
                                     "--check-images", "20"),
        "report to a FIFO": command("evaluate", "--model-dir", tiny_exports.legacy, "--limit", "20", "--format",
                                    "json", "--output", fifo),
        "report to a /dev/stdout link": command("evaluate", "--model-dir", tiny_exports.legacy, "--limit", "20",
                                                "--format", "json", "--output", stdout_link),
    }, env=ENV)
    reader.join(timeout=60)

    def check(name, done):
        if name == "report to a socket":
            one_error(done, 2, f"--output {tmp_path / 'report.sock'}: is a socket")
            assert (tmp_path / "report.sock").is_socket(), "replaced"
            return
        assert done.returncode == 0 and "Traceback" not in done.stderr, (done.returncode, done.stderr[-300:])
        if name == "onnx to the null device":
            assert null.is_char_device(), "replaced by a regular file"  # as root, /dev/null was
        elif name == "report to a FIFO":
            assert fifo.is_fifo(), "replaced by a regular file"
            assert got and json.loads(got[0])["count"] == 20, "the reader got nothing"
        else:
            assert stdout_link.is_symlink(), "replaced by a regular file"
            assert json.loads(done.stdout)["count"] == 20, "nothing reached stdout"

    each_case(results, check)
    sock.close()


def test_formula_like_file_names_are_inert_in_csv_and_json(tiny_exports, tmp_path):  # noqa: F811
    """`infer *.png` in a directory holding `=HYPERLINK(...).png`: the cell must not be a live formula."""
    link = '=HYPERLINK("https:example.invalid","open").png'
    Image.fromarray(np.asarray(tiny_exports.images[0])).save(tmp_path / link)
    for name in ("+cmd.png", "-2+3.png", "@SUM(A1).png", "a;=1+1.png"):
        (tmp_path / name).write_bytes(b"")  # error rows: the error cell starts with the name too
    names = sorted(p.name for p in tmp_path.iterdir())
    done = {fmt: subprocess.run(command("infer", "--model-dir", tiny_exports.legacy, "--format", fmt,
                                        "--preprocess", "book", "--", *names),
                                capture_output=True, text=True, env=ENV, timeout=120, cwd=tmp_path)
            for fmt in ("csv", "json")}
    rows = list(csv.reader(io.StringIO(done["csv"].stdout)))[1:]
    cells = [cell for row in rows for cell in row]
    live = [c for c in cells if c and c[0] in "=+-@\t\r"]
    assert len(rows) == len(names) and not live, live
    assert not [c for c in cells if ";=" in c], cells  # a spreadsheet splitting at ';' would see a formula
    assert rows[names.index(link)][:2] == ["'" + link, str(int(rows[names.index(link)][1]))]
    records = json.loads(done["json"].stdout)
    assert [r["path"] for r in records] == [f"'{n}" if n[0] in "=+-@" else n.replace(";=", ";'=") for n in names]
    assert not [r for r in records if (r["error"] or "x")[0] in "=+-@"], records


# ---------------------------------------------------------------------------------------------- signals
def test_sigterm_during_infer_stops_between_rows_with_one_line(tiny_exports, tmp_path):  # noqa: F811
    for index in range(600):
        Image.fromarray(np.asarray(tiny_exports.images[index % 50])).save(tmp_path / f"{index:04d}.png")
    env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}
    for signum, code, line in ((signal.SIGTERM, 143, "error: terminated by SIGTERM"),
                               (signal.SIGINT, 130, "error: interrupted")):
        proc = subprocess.Popen(command("infer", "--model-dir", tiny_exports.legacy, "--format", "csv",
                                        "--batch-size", "8", tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=REPO)
        first = [proc.stdout.readline() for _ in range(4)]
        sent = time.perf_counter()
        proc.send_signal(signum)
        rest, err = proc.communicate(timeout=60)
        assert time.perf_counter() - sent < 5, "did not stop within seconds"
        failed_rows = [row for row in rest.splitlines() if row and not row.endswith(",")][:5]  # error column set
        assert proc.returncode == code and err.strip().splitlines()[-1] == line, (proc.returncode, err, failed_rows)
        assert "C++ Traceback" not in rest + err and "FatalError" not in rest + err
        out = "".join(first) + rest
        assert out.endswith("\n") and len(out.splitlines()) < 601, len(out.splitlines())
        for row in list(csv.reader(io.StringIO(out)))[1:]:  # nothing after the last complete row
            assert len(row) == 4 and row[0].endswith(".png") and row[1].isdigit(), row


# ---------------------------------------------------------------------------------------------- the API
def test_predict_scales_uint8_as_training_did(tiny_exports):  # noqa: F811
    """Before: uint8 0-255 arrays were fed as they were and silently mispredicted."""
    model = load_model(tiny_exports.legacy, "executor")
    pixels = np.asarray(tiny_exports.images[:8])
    assert pixels.dtype == np.uint8 and pixels.max() == 255
    # The reference is the training-time test program's answer (infer_fixtures), not this API's own float path:
    # uint8 0-255 must be scaled exactly as training normalised it.
    reference = tiny_exports.reference[:8]
    for given in (pixels, pixels[:, None]):
        probs = model.predict(given)
        np.testing.assert_allclose(probs, reference, atol=1e-6)
        assert (probs.argmax(axis=1) == reference.argmax(axis=1)).all()


def test_predict_refuses_nan_inf_and_other_ranges(tiny_exports):  # noqa: F811
    """Before: NaN/inf gave digit 1 at p 0.998."""
    model = load_model(tiny_exports.legacy, "executor")
    pixels = np.asarray(tiny_exports.images[:8])
    cases = {"NaN": (np.full((2, 1, 28, 28), np.nan, np.float32), "NaN"),
             "inf": (np.full((2, 1, 28, 28), np.inf, np.float32), "NaN or infinite"),
             "float 0-255": (pixels.astype(np.float32), r"values span \[0, 255\]"),
             "int64": (pixels.astype(np.int64), "int64"), "bool": (np.zeros((2, 1, 28, 28), bool), "bool"),
             "strings": (np.array(["x"] * 784).reshape(1, 28, 28), "<U1"),
             "3 channels": (np.zeros((2, 3, 28, 28)), r"\[2, 3, 28, 28\]")}

    def refused(name, case):
        with pytest.raises(ValueError, match=case[1]):
            model.predict(case[0])

    each_case(cases, refused)


def test_predict_files_takes_one_path_as_one_path(tiny_exports, good_pngs):  # noqa: F811
    model = load_model(tiny_exports.legacy, "executor")
    one = good_pngs / "good0.png"
    for given in (str(one), one, os.fsencode(one)):
        results = predict_files(given, model, preprocess="book")
        assert [r.path for r in results] == [str(one)] and results[0].ok, results
    with pytest.raises(UserError, match="top_k must be an integer from 1 to 10"):
        predict_files(one, model, top_k=0)
    with pytest.raises(UserError, match="model must be a loaded Model"):
        list(__import__("legacy_mnist.infer", fromlist=["iter_predictions"]).iter_predictions([one], "not a model"))


NONSENSE = {  # field: (value, the CLI's message)
    "epochs": ("5", "--epochs: expected an integer, got '5'"),
    "batch_size": (2.5, "--batch-size: expected an integer"),
    "learning_rate": (float("nan"), "--lr: expected a finite number"),
    "weight_decay": (float("inf"), "--weight-decay: expected a finite number"),
    "model": (None, "--model: expected a string"),
    "seed": (-1, "--seed must be an integer from 0 to 4294967295"),
    "data_dir": (123, "--data-dir: expected a string"),
    "resume": ("yes", "--resume: expected True or False"),
    "num_threads": (100000, "--num-threads must be between 1 and"),
    "val_size": (-3, "--val-size must be >= 0"),
    "log_format": ("xml", "--log-format: 'xml' is not one of text, json"),
    "eval_batch_size": (0, "--eval-batch-size must be a positive integer"),
    "max_steps": (True, "--max-steps: expected an integer"),
}


@pytest.mark.parametrize("field", sorted(NONSENSE))
def test_train_cfg_is_validated_with_the_cli_messages(field, tmp_path):
    """`train(cfg)` itself, as a script calls it: the CLI's one-line message before any work, nothing written."""
    from legacy_mnist.train import train

    value, message = NONSENSE[field]
    small = dict(model="softmax", epochs=1, train_limit=64, val_size=16, test_limit=16, max_steps=1, plot=False,
                 checkpoint_dir=str(tmp_path / "ck"), save_dir=str(tmp_path / "export"))
    with pytest.raises(UserError) as excinfo:
        train(TrainConfig(**dict(small, **{field: value})), log=lambda line: None)
    assert message in str(excinfo.value) and "\n" not in str(excinfo.value), str(excinfo.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match=message.split(":")[0]):  # the same check, without training
        validate(TrainConfig(**{field: value}))


# ------------------------------------------------------------------------------------------ checkpoints
@pytest.fixture(scope="module")
def checkpoint(mnist_cache, tmp_path_factory):
    """A real checkpoint of a few softmax steps (about 2 s)."""
    from legacy_mnist.train import train

    root = tmp_path_factory.mktemp("ckpt")
    cfg = TrainConfig(model="softmax", epochs=1, train_limit=256, val_size=64, test_limit=64, max_steps=2,
                      checkpoint_dir=str(root / "ck"), save_dir=str(root / "export"), plot=False, log_every=1)
    train(cfg, log=lambda line: None)
    return cfg, root / "ck"


def _resume(cfg: TrainConfig, ck: Path, root: Path):
    from legacy_mnist.train import train

    return train(cfg.with_changes(resume=True, epochs=2, checkpoint_dir=str(ck), save_dir=str(root / "export")),
                 log=lambda line: None)


def _copy(ck: Path, to: Path) -> Path:
    import shutil

    return Path(shutil.copytree(ck, to))


def test_checkpoint_bytes_are_read_once_so_a_swap_cannot_run_code(checkpoint, tmp_path, monkeypatch):
    """The race, won by the attacker every time: right after `model.pdparams` is first opened (the opener keeps
    the good file), a crafted pickle is renamed over it. Whoever opens the path again gets the crafted one."""
    cfg, ck = checkpoint
    work = _copy(ck, tmp_path / "ck")
    params, marker = work / "last" / "model.pdparams", tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    crafted = tmp_path / "crafted.pdparams"
    crafted.write_bytes(pickle.dumps({"fc_0.w_0": Exploit()}))
    opens = []

    def swap_after_the_first_open(real_open):
        def opener(file, *args, **kwargs):
            handle = real_open(file, *args, **kwargs)
            if isinstance(file, (str, bytes, os.PathLike)) and os.path.abspath(os.fsdecode(file)) == str(params):
                opens.append(file)
                if len(opens) == 1:
                    os.replace(crafted, params)
            return handle
        return opener

    import builtins

    for module, name in ((os, "open"), (builtins, "open"), (io, "open")):
        monkeypatch.setattr(module, name, swap_after_the_first_open(getattr(module, name)))
    try:
        outcome = _resume(cfg, work, tmp_path)
    except Exception as exc:  # noqa: BLE001 - reported below, after the check that matters
        outcome = exc
    monkeypatch.undo()
    assert not marker.exists(), f"the crafted pickle ran: the file was opened again after its check ({outcome!r})"
    assert len(opens) == 1 and getattr(outcome, "history", None), (opens, outcome)


def test_damaged_checkpoints_are_refused_in_one_line(checkpoint, tmp_path):
    from legacy_mnist.common.pickles import NumpyOnlyUnpickler

    cfg, ck = checkpoint
    params = NumpyOnlyUnpickler(io.BytesIO((ck / "last" / "model.pdparams").read_bytes()), encoding="latin1").load()

    def with_params(name: str, change) -> Path:
        copy = _copy(ck, tmp_path / name)
        state = dict(params)
        change(state)
        (copy / "last" / "model.pdparams").write_bytes(pickle.dumps(state, protocol=4))  # as paddle.save does
        return copy

    cases = {
        "nan": (with_params("nan", lambda s: s.__setitem__("fc_0.w_0", np.full_like(s["fc_0.w_0"], np.nan))),
                "fc_0.w_0 holds NaN or infinite values"),
        "shape": (with_params("shape", lambda s: s.__setitem__("fc_0.w_0", s["fc_0.w_0"][:100])),
                  "fc_0.w_0 is [100, 10] but this model needs [784, 10]"),
        "float64": (with_params("float64", lambda s: s.__setitem__("fc_0.b_0", s["fc_0.b_0"].astype(np.float64))),
                    "fc_0.b_0 holds float64 values, this model needs float32"),
        "missing": (with_params("missing", lambda s: s.pop("fc_0.b_0")), "has no fc_0.b_0"),
        "not an array": (with_params("list", lambda s: s.__setitem__("fc_0.b_0", [0.0] * 10)),
                         "fc_0.b_0 holds a list, not an array"),
    }
    meta = json.loads((ck / "last" / "meta.json").read_text())
    for name, edit, message in (("meta list", [meta], "has format None"),
                                ("meta no epoch", {k: v for k, v in meta.items() if k != "epoch"}, "epoch is None"),
                                ("meta config", dict(meta, config=[1]), "config is not an object"),
                                ("meta history", dict(meta, history="x"), "history is not a list"),
                                ("meta partial", dict(meta, partial=[1, 2]), "partial is not the 4 numbers")):
        copy = _copy(ck, tmp_path / name.replace(" ", "_"))
        (copy / "last" / "meta.json").write_text(json.dumps(edit))
        cases[name] = (copy, message)
    def refused(name, case):
        copy, message = case
        with pytest.raises(ModelError) as excinfo:
            _resume(cfg, copy, tmp_path / f"export_{name}")
        assert message in str(excinfo.value) and "\n" not in str(excinfo.value), str(excinfo.value)

    each_case(cases, refused)
    done = subprocess.run(command("train", "--model", "softmax", "--train-limit", "256", "--val-size", "64",
                                  "--test-limit", "64", "--epochs", "2", "--resume", "--checkpoint-dir",
                                  cases["meta config"][0], "--save-dir", tmp_path / "cli_export", "--no-plot"),
                          capture_output=True, text=True, env=ENV, timeout=180, cwd=REPO)
    one_error(done, 2, "config is not an object", case="CLI resume, meta of the wrong structure")


# ------------------------------------------------------------------------------------------- data files
def _zero_gzip(header: bytes, total: int) -> bytes:
    """gzip of `header` followed by zeros up to `total` bytes, compressed chunk by chunk."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts, left, zeros = [packer.compress(header)], total - len(header), bytes(1 << 20)
    while left > 0:
        parts.append(packer.compress(zeros[: min(left, len(zeros))]))
        left -= len(zeros)
    return b"".join(parts) + packer.flush()


def test_gzip_bombs_fifos_and_devices_as_data_files(tmp_path):
    """The issue's bombs (1 GiB of zeros: 2 GB peak before "wrong magic"; 6 GiB behind a valid header; a 1.6 GB
    mnist.json.gz), a FIFO (a silent hang) and a link to /dev/zero (MemoryError or the OOM killer), each read by
    a child capped at 3 GiB of address space so that a regression fails here instead of exhausting the machine."""
    labels = gzip.compress(encode_labels(np.zeros(60000, np.int64)))
    cases = {}

    def data_dir(name: str, images: str, data: bytes | None, message: str) -> Path:
        directory = tmp_path / name
        directory.mkdir()
        if data is not None:
            (directory / images).write_bytes(data)
        (directory / "train-labels-idx1-ubyte.gz").write_bytes(labels)
        cases[name] = (directory, message)
        return directory

    # a header MNIST could have, then far more bytes than it promises
    data_dir("bomb", "train-images-idx3-ubyte.gz",
             _zero_gzip(struct.pack(">IIII", 0x803, 60000, 28, 28), 384 << 20),
             "train-images-idx3-ubyte.gz: has trailing bytes")
    data_dir("zeros", "train-images-idx3-ubyte.gz", _zero_gzip(b"", 384 << 20),  # the issue's 1 GiB of zeros, scaled
             "train-images-idx3-ubyte.gz: wrong magic number 0x00000000")
    data_dir("huge", "train-images-idx3-ubyte.gz",  # a header that promises more than MNIST
             _zero_gzip(struct.pack(">IIII", 0x803, 8_000_000, 28, 28), 1 << 20),
             "the header says 8,000,000 images; MNIST has 70,000")
    os.mkfifo(data_dir("fifo", "train-images-idx3-ubyte", None, "train-images-idx3-ubyte: is a FIFO")
              / "train-images-idx3-ubyte")
    os.symlink("/dev/zero", data_dir("dev_zero", "train-images-idx3-ubyte", None,
                                     "train-images-idx3-ubyte: is a character device") / "train-images-idx3-ubyte")
    json_bomb = tmp_path / "json_bomb"  # one "image" of 64 million numbers: 128 MiB of JSON in 130 KB of gzip
    json_bomb.mkdir()
    (json_bomb / "mnist.json.gz").write_bytes(_repeated_gzip(b"[[[[", b"0," * (1 << 19), 128 << 20))
    cases["json bomb"] = (json_bomb, "every image must be a list of 784 numbers")
    probe = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
             "from legacy_mnist.dataset import load_split\n"
             "try: load_split('train', sys.argv[1], log=lambda line: None)\n"
             "except BaseException as exc: print(type(exc).__name__, exc)\n")
    results = run_all({name: measured([sys.executable, "-c", probe, str(path)]) for name, (path, _) in cases.items()},
                      env=ENV, timeout=60, hang_is_a_result=True)

    def check(name, done):
        assert not isinstance(done, subprocess.TimeoutExpired), "hung (no answer in 60 s)"
        peak = peak_rss_mib(done.stderr)
        assert peak < 250, f"peak {peak:.0f} MiB"  # MNIST's 47 MB at most, never the bomb's 384
        lines = done.stdout.strip().splitlines() or ["(nothing)"]
        assert done.returncode == 0 and lines[0].startswith("DataError") and cases[name][1] in lines[0], lines[0][:200]

    each_case(results, check)


def _repeated_gzip(head: bytes, piece: bytes, total: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(head)] + [packer.compress(piece) for _ in range(total // len(piece))]
    return b"".join(parts) + packer.flush()


def test_aistudio_json_is_bounded_by_its_layout(tmp_path, monkeypatch):
    def write(name: str, text: bytes) -> Path:
        (tmp_path / name).write_bytes(gzip.compress(text, 1))
        return tmp_path / name

    image = "[" + ",".join(["0.0"] * 784) + "]"
    endless = write("endless.json.gz", b"[[[[" + b"0," * (4 << 20))  # one 'image' of 4 million numbers
    with pytest.raises(DataError, match="every image must be a list of 784 numbers"):
        load_split("train", endless, log=lambda line: None)
    from legacy_mnist.dataset import aistudio_stream

    monkeypatch.setattr(aistudio_stream, "MAX_IMAGES", 50)  # MNIST's 70,000, scaled down for the test's sake
    too_many = write("many.json.gz", ("[[[" + ",".join([image] * 51) + "],[" + ",".join(["1"] * 51)
                                      + "]],[[],[]],[[],[]]]").encode())
    with pytest.raises(DataError, match="holds more than 50 images; MNIST has 50"):
        load_split("train", too_many, log=lambda line: None)
    monkeypatch.undo()
    deep = write("deep.json.gz", b"[" * 100000)
    with pytest.raises(DataError, match="every image must be a list of 784 numbers"):
        load_split("train", deep, log=lambda line: None)
    fine = write("fine.json.gz", f"[[[{image}],[3]],[[{image}],[4]],[[{image}],[5]]]".encode())
    assert list(load_split("test", fine, log=lambda line: None).labels) == [5]
