"""The AI Studio course's mnist.json.gz as a data source (small generated files).

Run: python -m pytest -q tests/test_dataset_aistudio.py
"""
from __future__ import annotations

import gzip
import hashlib
import json

import numpy as np
import pytest

from legacy_mnist.dataset import load_split, sources, train_val_split
from legacy_mnist.dataset.idx import encode_images, encode_labels
from legacy_mnist.errors import DataError

SIZES = (6, 3, 4)  # train, val, eval images


def make_parts(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)) for n in SIZES]


def write_json(path, parts, scale=255, compress=True, float32=True):
    def image_floats(image):
        values = image.reshape(784).astype(np.float64) / scale
        return (values.astype(np.float32) if float32 else values).tolist()  # float32 then printed, as numpy data is

    data = [[[image_floats(img) for img in images], [int(y) for y in labels]] for images, labels in parts]
    text = json.dumps(data).encode()
    path.write_bytes(gzip.compress(text) if compress else text)
    return path


def load_error(path):
    with pytest.raises(DataError) as info:
        load_split("train", path, log=lambda line: None)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("scale", [255, 256])
def test_train_is_train_plus_val_and_test_is_eval(tmp_path, scale):
    parts = make_parts()
    path = write_json(tmp_path / "mnist.json.gz", parts, scale=scale)
    lines = []
    train = load_split("train", path, log=lines.append)
    test = load_split("test", path, log=lines.append)
    np.testing.assert_array_equal(train.images, np.concatenate([parts[0][0], parts[1][0]]))
    np.testing.assert_array_equal(train.labels, np.concatenate([parts[0][1], parts[1][1]]))
    np.testing.assert_array_equal(test.images, parts[2][0])
    np.testing.assert_array_equal(test.labels, parts[2][1])
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert train.source == (f"MNIST train: 9 images from AI Studio file {path} (train+val, pixels x/{scale}); "
                            "NOT the canonical MNIST (md5 of train-images-idx3-ubyte, train-labels-idx1-ubyte "
                            "differs), used as given")
    assert lines == [train.source, test.source]
    # the last len(val) training images are the file's val part
    (_, _), (val_images, val_labels) = train_val_split(train.images, train.labels, SIZES[1])
    np.testing.assert_array_equal(val_images, parts[1][0])


def test_directory_holding_the_file_and_canonical_verdict(tmp_path, monkeypatch):
    parts = make_parts(1)
    write_json(tmp_path / "mnist.json.gz", parts, float32=False)
    test_raw = (encode_images(parts[2][0]), encode_labels(parts[2][1]))
    for name, raw in zip(sources.SPLIT_FILES["test"], test_raw):
        monkeypatch.setitem(sources.CANONICAL_MD5, name, hashlib.md5(raw).hexdigest())
    split = load_split("test", tmp_path, log=lambda line: None)
    assert split.source.endswith("(eval, pixels x/255); canonical MNIST, md5 verified")
    assert len(split.images) == SIZES[2]


def test_plain_json_and_inexact_floats(tmp_path):
    parts = make_parts(2)
    path = write_json(tmp_path / "mnist.json", parts, compress=False)
    np.testing.assert_array_equal(load_split("test", path, log=lambda line: None).images, parts[2][0])
    data = json.loads(path.read_bytes())
    data[0][0][0][0] = 0.123  # 31.4/255: neither scale fits exactly -> rounded, and the line says so
    (tmp_path / "rounded.json").write_text(json.dumps(data))
    split = load_split("train", tmp_path / "rounded.json", log=lambda line: None)
    assert split.images[0, 0, 0] == 31
    assert "pixels rounded x*255, not an exact x/255 or x/256" in split.source


@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d[0][0][1].append(0.5), "every image must be a list of 784 numbers"),
    (lambda d: d[0][0].__setitem__(0, [0.5] * 783), "every image must be a list of 784 numbers"),
    (lambda d: d[1][0][0].__setitem__(5, 1.5), "pixel values span [0, 1.5]"),
    (lambda d: d[2][0][0].__setitem__(5, -0.25), "pixel values span [-0.25"),
    (lambda d: d[2][0][0].__setitem__(5, "x"), "every image must be a list of 784 numbers"),
    (lambda d: d[0][1].__setitem__(0, 10), "label 10 is not a digit"),
    (lambda d: d[0][1].__setitem__(0, 2.5), "labels must be whole numbers"),
    (lambda d: d[1][1].pop(), "(val part): 3 images but 2 labels"),
    (lambda d: d.pop(), "expected [[train_imgs, train_labels]"),
])
def test_invalid_content_is_a_data_error_naming_the_file(tmp_path, edit, fragment):
    path = write_json(tmp_path / "mnist.json.gz", make_parts())
    data = json.loads(gzip.decompress(path.read_bytes()))
    edit(data)
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    assert fragment in load_error(path)


def test_broken_files_are_data_errors(tmp_path):
    path = write_json(tmp_path / "mnist.json.gz", make_parts())
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    assert "truncated gzip" in load_error(path)
    path.write_bytes(gzip.decompress(good))
    assert "not a gzip file" in load_error(path)
    path.write_bytes(gzip.compress(b"[[1, 2], [3"))
    assert "not valid JSON" in load_error(path)
    path.write_bytes(gzip.compress(b"__import__('os').system('true')"))  # parsed as JSON, never evaluated
    assert "not valid JSON" in load_error(path)
