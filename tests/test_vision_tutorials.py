"""The two Paddle 2.x LeNet tutorials (porting corpus hapi/) run offline through legacy_mnist.vision.

Run:  python -m pytest -q tests/test_vision_tutorials.py      (about 30 s)
The porter's edit: `paddle.vision.datasets.MNIST` -> `legacy_mnist.vision.datasets.MNIST`, plus the
`import legacy_mnist.vision` that name needs. The test cuts the data with paddle.io.Subset right after
the datasets are made (2,000 training and 500 test images); `python -m legacy_mnist.bench --sections
tutorials` runs them on the full data against the accuracy their pages print.

The seeded tests hold legacy_mnist.vision to Paddle's own class: the same seeded lenet.py gives the same
losses and accuracies, step for step, through ours and through paddle.vision.datasets.MNIST pointed at the
verified files (Paddle 3.3.1, and Paddle 2.6.2 via LEGACY_MNIST_PADDLE2_PYTHON: skipped without it, FAILS
under CI). So the full-data gap to the page's 0.9872 is not ours (docs/benchmarks.md).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from legacy_mnist.benchmarks.corpus import (hapi_eval_accuracy, hapi_on_paddles_class, port_hapi, run_script,
                                            seed_hapi, without_plots, zlib_before_paddle)
from porting_corpus import corpus_dir

TRAIN_IMAGES, TEST_IMAGES = 2000, 500


@pytest.mark.parametrize("script, test_name, floor", [
    ("lenet.py", "test_dataset", 0.8),  # 2 epochs of Adam 1e-3 on 2,000 images
    ("lenet_sigmoid.py", "val_dataset", 0.3),  # sigmoids learn slowly: 5 epochs on 2,000 images reach ~0.59
])
def test_hapi_tutorial_runs_offline_with_the_one_name_changed(mnist_cache, tmp_path, script, test_name, floor):
    source = (corpus_dir() / "hapi" / script).read_text(encoding="utf-8")
    path = tmp_path / script
    # Seeded: unseeded, 2 epochs on 2,000 images ended at 0.778 once in the full suite (below the 0.8 floor).
    path.write_text(port_hapi(seed_hapi(source, 1), test_name, TRAIN_IMAGES, TEST_IMAGES), encoding="utf-8")
    proc = run_script(path, timeout=600)
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    out = proc.stdout
    assert "Downloading" not in proc.stderr + out, proc.stderr[-2000:]  # paddle.dataset.common never ran
    assert re.search(r"label is: \[\d\]|的标签为: \[\d\]", out), out[:2000]  # train_dataset[0][1], an int64 [1]
    accuracy = hapi_eval_accuracy(out)
    assert floor < accuracy <= 1.0, out[-3000:]
    if script == "lenet.py":  # its own DataLoader loops ran too
        assert re.search(r"^epoch: 1, batch_id: 0, loss is: ", out, re.M) and "batch_id: 0, loss is:" in out
    else:
        assert "Total params: 44,426" in out  # model.summary((1, 1, 28, 28))


PADDLE2 = "LEGACY_MNIST_PADDLE2_PYTHON"
# What training printed: model.fit's and model.evaluate's "loss: .. - acc: ..", the DataLoader loops' "loss is: ..".
TRAJECTORY = re.compile(r"loss: ([0-9.e+-]+) - acc: ([0-9.]+)|loss is: (\S+), acc is: (\S+)")


def _seeded_lenet(tmp_path: Path, name: str, source: str, python: str | None = None) -> list:
    path = tmp_path / name / "lenet.py"
    path.parent.mkdir()
    path.write_text(without_plots(seed_hapi(source, 1)), encoding="utf-8")
    proc = run_script(path, timeout=600, python=python)
    assert proc.returncode == 0, f"{name}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    steps = TRAJECTORY.findall(proc.stdout)
    assert len(steps) >= 10 and "Eval samples: 500" in proc.stdout, proc.stdout[-3000:]
    return steps


@pytest.fixture(scope="module")
def lenet_source():
    return (corpus_dir() / "hapi" / "lenet.py").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def ours_seeded(mnist_cache, lenet_source, tmp_path_factory):
    return _seeded_lenet(tmp_path_factory.mktemp("ours"), "ours",
                         port_hapi(lenet_source, "test_dataset", TRAIN_IMAGES, TEST_IMAGES))


def test_seeded_lenet_trains_as_on_paddles_own_class(mnist_cache, lenet_source, ours_seeded, tmp_path):
    reference = hapi_on_paddles_class(lenet_source, "test_dataset", mnist_cache, TRAIN_IMAGES, TEST_IMAGES)
    assert _seeded_lenet(tmp_path, "paddle", reference) == ours_seeded


def test_seeded_lenet_trains_as_on_paddle_262_with_its_own_class(mnist_cache, lenet_source, ours_seeded, tmp_path):
    python = os.environ.get(PADDLE2, "")
    if not python:
        message = f"{PADDLE2} is not set: point it at a python with paddlepaddle==2.6.2 (tests/test_export_paddle2.py)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    reference = hapi_on_paddles_class(lenet_source, "test_dataset", mnist_cache, TRAIN_IMAGES, TEST_IMAGES)
    assert _seeded_lenet(tmp_path, "paddle262", zlib_before_paddle(reference), python) == ours_seeded
