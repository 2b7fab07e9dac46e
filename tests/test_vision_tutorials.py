"""The two Paddle 2.x LeNet tutorials (porting corpus hapi/) run offline through legacy_mnist.vision.

Run:  python -m pytest -q tests/test_vision_tutorials.py      (about 30 s)
The porter's edit: `paddle.vision.datasets.MNIST` -> `legacy_mnist.vision.datasets.MNIST`, plus the
`import legacy_mnist.vision` that name needs. The test cuts the data with paddle.io.Subset right after
the datasets are made (2,000 training and 500 test images); `python -m legacy_mnist.bench --sections
tutorials` runs them on the full data against the accuracy their pages print.
"""
from __future__ import annotations

import re

import pytest

from legacy_mnist.benchmarks.corpus import hapi_eval_accuracy, port_hapi, run_script
from porting_corpus import corpus_dir

TRAIN_IMAGES, TEST_IMAGES = 2000, 500


@pytest.mark.parametrize("script, test_name, floor", [
    ("lenet.py", "test_dataset", 0.8),  # 2 epochs of Adam 1e-3 on 2,000 images
    ("lenet_sigmoid.py", "val_dataset", 0.3),  # sigmoids learn slowly: 5 epochs on 2,000 images reach ~0.59
])
def test_hapi_tutorial_runs_offline_with_the_one_name_changed(mnist_cache, tmp_path, script, test_name, floor):
    source = (corpus_dir() / "hapi" / script).read_text(encoding="utf-8")
    path = tmp_path / script
    path.write_text(port_hapi(source, test_name, TRAIN_IMAGES, TEST_IMAGES), encoding="utf-8")
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
