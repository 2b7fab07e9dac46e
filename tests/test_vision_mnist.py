"""legacy_mnist.vision.datasets.MNIST gives Paddle 3.3.1's own samples, offline, as a paddle.io.Dataset.

Run:  python -m pytest -q tests/test_vision_mnist.py      (about 10 s)
The reference is paddle.vision.datasets.MNIST itself, pointed at the verified cache's files through
image_path/label_path (the one way it runs offline). Runs in a subprocess: these are dynamic-mode (2.x)
checks, and other test modules put this process in static mode.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from porting_corpus import REPO

CHECK = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import paddle
    from paddle.vision.transforms import Compose, Normalize, ToTensor
    import legacy_mnist.vision
    from legacy_mnist.dataset import resolve_cache_dir

    cache = resolve_cache_dir()
    def paths(mode):
        prefix = "train" if mode == "train" else "t10k"
        return str(cache / f"{prefix}-images-idx3-ubyte.gz"), str(cache / f"{prefix}-labels-idx1-ubyte.gz")

    report = {"dynamic_after_import": paddle.in_dynamic_mode()}
    normalize = Compose([Normalize(mean=[127.5], std=[127.5], data_format="CHW")])
    built = {}  # Paddle's class parses its files in Python (seconds): one instance per mode, reconfigured
    for mode, backend, transform, indices in [
            ("test", "pil", None, range(10000)), ("test", "cv2", None, range(0, 10000, 7)),
            ("test", "pil", normalize, range(0, 10000, 97)), ("test", "cv2", ToTensor(), range(0, 10000, 997)),
            ("train", None, normalize, list(range(300)) + list(range(59700, 60000)))]:
        ours = legacy_mnist.vision.datasets.MNIST(mode=mode, transform=transform, backend=backend)
        if mode not in built:
            built[mode] = paddle.vision.datasets.MNIST(*paths(mode), mode=mode)
        ref = built[mode]
        ref.transform, ref.backend = transform, backend or paddle.vision.get_image_backend()
        assert len(ours) == len(ref), (len(ours), len(ref))
        for i in indices:
            a, la = ours[i]
            b, lb = ref[i]
            assert type(a) is type(b) and type(la) is type(lb), (i, type(a), type(b))
            assert la.dtype == lb.dtype == np.int64 and la.shape == lb.shape == (1,) and la[0] == lb[0], i
            if isinstance(a, paddle.Tensor):
                a, b = a.numpy(), b.numpy()
            if hasattr(a, "mode"):
                assert (a.mode, a.size) == (b.mode, b.size), i
                a, b = np.asarray(a), np.asarray(b)
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), (i, a.shape, b.shape)
        assert np.array_equal(ours.images[indices[-1]], ref.images[indices[-1]])
        assert np.array_equal(ours.labels[indices[-1]], ref.labels[indices[-1]])
        report[f"{mode}/{backend}/{type(transform).__name__}"] = [len(indices), type(a).__name__, list(a.shape)]

    # The paddle.io machinery takes it: Subset, DataLoader batches, and an explicit-path instance.
    test = legacy_mnist.vision.datasets.MNIST(mode="test", transform=normalize, download=False)
    subset = paddle.io.Subset(test, range(100))
    images, labels = next(iter(paddle.io.DataLoader(subset, batch_size=32)))
    report["loader"] = [list(images.shape), str(images.dtype), list(labels.shape), str(labels.dtype)]
    explicit = legacy_mnist.vision.datasets.MNIST(*paths("test"), mode="test", backend="cv2")
    report["explicit_first_label"] = int(explicit[0][1][0])
    print("REPORT " + json.dumps(report))
""")


@pytest.fixture(scope="module")
def report(mnist_cache):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("REPORT "))
    return json.loads(line[len("REPORT "):])


def test_samples_equal_paddles_own_class_for_every_backend_and_transform(report):
    assert report["test/pil/NoneType"] == [10000, "ndarray", [28, 28]]  # every test image, PIL 'L' 28x28
    assert report["test/cv2/NoneType"][1:] == ["ndarray", [28, 28]]  # Paddle's cv2 sample is HW float32
    assert report["test/pil/Compose"][1:] == ["ndarray", [1, 28, 28]]  # the tutorials' Normalize(CHW)
    assert report["test/cv2/ToTensor"][1:] == ["ndarray", [1, 28, 28]]
    assert report["train/None/Compose"][0] == 600


def test_it_is_a_paddle_io_dataset_and_leaves_dynamic_mode_alone(report):
    assert report["dynamic_after_import"] is True
    assert report["loader"] == [[32, 1, 28, 28], "paddle.float32", [32, 1], "paddle.int64"]
    assert report["explicit_first_label"] == 7


def test_bad_arguments_fail_in_one_line(tmp_path):
    from legacy_mnist.errors import DataError
    from legacy_mnist.compat.not_covered import NotCoveredError
    from legacy_mnist.vision.datasets import MNIST

    with pytest.raises(ValueError, match="mode should be 'train' or 'test', but got 'val'"):
        MNIST(mode="val")
    with pytest.raises(ValueError, match="backend are one of"):
        MNIST(mode="test", backend="opencv")
    broken = tmp_path / "images.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="images.gz: corrupt gzip data"):
        MNIST(image_path=str(broken), label_path=str(broken))
    with pytest.raises(DataError, match="cannot read"):
        MNIST(image_path=str(tmp_path / "missing"), label_path=str(tmp_path / "missing"))
    with pytest.raises(NotCoveredError, match="paddle.vision.datasets.Cifar10 is not covered by legacy_mnist.vision"):
        import legacy_mnist.vision.datasets as datasets

        datasets.Cifar10
