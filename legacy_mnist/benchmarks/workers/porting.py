"""The book's fluid train.py under measurement, as a user runs it: through legacy_mnist.fluid or on Paddle 1.8.5.

Run by the driver:  python -m legacy_mnist.benchmarks.workers.porting book SPEC_JSON
The corpus's fluid/book_train.py (the cnn), with the README's import edits for the shim or as published for
1.8.5, its MNIST readers cut with `paddle.reader.firstn` to spec["train_images"] / ["test_images"], run as
`python book_train.py --num_epochs 1` from its own directory: its per-sample reader, paddle.reader.shuffle,
paddle.batch(64), DataFeeder.feed and exe.run, fetching the cost and accuracy every step, all unchanged.
The script prints "Pass N, ..." every 100 steps; the clock is the arrival of those lines on its (unbuffered)
stdout, so img/s = (to_step - from_step) * 64 / the seconds between the two lines: nothing is added to the
script. On 1.8.5, fluid18_runner.py's readers give the script the same images (its downloader cannot run here).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from legacy_mnist.benchmarks.workers.common import main_guard

BATCH = 64  # the script's BATCH_SIZE
PASS_LINE = re.compile(r"^Pass (\d+), Epoch")
ACCURACY_LINE = re.compile(r"The classification accuracy is ([0-9.]+)%")
RUNNER = Path(__file__).with_name("fluid18_runner.py")


def _script(spec: dict, work: Path, corpus: Path) -> Path:
    from legacy_mnist.benchmarks.corpus import cut_fluid_readers, port_fluid

    source = (corpus / "fluid" / "book_train.py").read_text(encoding="utf-8")
    if spec["side"] == "shim":
        source = port_fluid(source)
    script = work / "book_train.py"
    script.write_text(cut_fluid_readers(source, spec["train_images"], spec["test_images"]), encoding="utf-8")
    if not (work / "image").exists():
        shutil.copytree(corpus / "fluid" / "image", work / "image")
    return script


def _data_file(spec: dict, work: Path) -> Path:
    """The first train/test images as 1.8.5's runner reads them (the shim's firstn cut sees the same ones)."""
    from legacy_mnist.benchmarks.workers.fluid18_runner import write_data
    from legacy_mnist.dataset import load_split

    path = work / f"mnist_{spec['train_images']}_{spec['test_images']}"
    if not path.exists():
        train, test = load_split("train", log=lambda m: None), load_split("test", log=lambda m: None)
        write_data(path, train.images[:spec["train_images"]], train.labels[:spec["train_images"]],
                   test.images[:spec["test_images"]], test.labels[:spec["test_images"]])
    return path


def _command(spec: dict, work: Path, script: Path) -> tuple[list[str], dict]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg", GLOG_minloglevel="3")
    for name in ("LEGACY_MNIST_VERBOSE", "LEGACY_MNIST_FLUID_AS_WRITTEN", "FLAGS_paddle_num_threads"):
        env.pop(name, None)
    if spec.get("num_threads"):
        env["FLAGS_paddle_num_threads"] = str(spec["num_threads"])
    args = [script.name, "--num_epochs", "1"]
    if spec["side"] == "shim":
        from legacy_mnist.benchmarks.corpus import REPO

        env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        if spec.get("as_written"):
            env["LEGACY_MNIST_FLUID_AS_WRITTEN"] = "1"
        return [sys.executable, *args], env
    for name in ("PYTHONPATH", "FLAGS_enable_pir_api"):
        env.pop(name, None)
    return [spec["python"], str(RUNNER), str(_data_file(spec, work)), *args], env


def book(spec: dict) -> dict:
    from legacy_mnist.benchmarks.corpus import find_corpus

    corpus = find_corpus()
    if corpus is None:
        raise SystemExit("the porting corpus (../shared/porting-corpus or $LEGACY_MNIST_PORTING_CORPUS) is missing")
    work = Path(spec["workdir"])
    work.mkdir(parents=True, exist_ok=True)
    script = _script(spec, work, corpus)
    command, env = _command(spec, work, script)
    stamps: dict[int, float] = {}
    lines = []
    with open(work / "stderr.txt", "w") as stderr:
        proc = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        for line in proc.stdout:
            now = time.perf_counter()
            lines.append(line)
            found = PASS_LINE.match(line)
            if found:
                stamps[int(found.group(1))] = now
        code = proc.wait()
    if code != 0:
        tail = (work / "stderr.txt").read_text(errors="replace").strip().splitlines()
        raise SystemExit(f"book_train.py exited {code}: {tail[-1] if tail else 'no output'}")
    first, last = spec["from_step"], spec["to_step"]
    if first not in stamps or last not in stamps:
        raise SystemExit(f"book_train.py printed no 'Pass {first}' / 'Pass {last}' line (steps seen: {sorted(stamps)})")
    accuracy = [float(m.group(1)) / 100 for m in map(ACCURACY_LINE.search, lines) if m]
    return {"img_per_s": (last - first) * BATCH / (stamps[last] - stamps[first]),
            "script_accuracy": accuracy[-1] if accuracy else None}


if __name__ == "__main__":
    main_guard(lambda kind, spec: {"book": book}[kind](spec))
