"""IDX parsing: every corrupt, truncated or mismatched file is a one-line DataError naming the file.

Run: python -m pytest -q tests/test_dataset_idx.py
"""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from legacy_mnist.dataset import load_split
from legacy_mnist.dataset.idx import (encode_images, encode_labels, floats_to_pixels, gzip_bytes, parse_images,
                                      parse_labels)
from legacy_mnist.errors import DataError


def tiny(n=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64)


def write_split(directory, images_bytes, labels_bytes, split="test", gz=True):
    names = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}[split]
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in zip(names, (images_bytes, labels_bytes)):
        path = directory / (f"{name}.gz" if gz else name)
        path.write_bytes(gzip.compress(data) if gz else data)
        paths.append(path)
    return paths


def expect_data_error(data_dir, fragment, split="test"):
    with pytest.raises(DataError) as info:
        load_split(split, data_dir, log=lambda line: None)
    message = str(info.value)
    assert "\n" not in message
    assert fragment in message, message
    return message


@pytest.mark.parametrize("gz", [True, False])
def test_round_trip_gz_and_raw(tmp_path, gz):
    images, labels = tiny()
    write_split(tmp_path, encode_images(images), encode_labels(labels), gz=gz)
    lines = []
    split = load_split("test", tmp_path, log=lines.append)
    assert split.images.dtype == np.uint8 and split.images.shape == (7, 28, 28)
    assert split.labels.dtype == np.int64 and split.labels.shape == (7,)
    np.testing.assert_array_equal(split.images, images)
    np.testing.assert_array_equal(split.labels, labels)
    # Not the canonical MNIST: accepted, but the one source line says so.
    assert lines == [split.source]
    assert "NOT the canonical MNIST" in split.source and str(tmp_path) in split.source


def test_wrong_magic_is_rejected(tmp_path):
    images, labels = tiny()
    bad = struct.pack(">I", 0x00000801) + encode_images(images)[4:]
    image_path, _ = write_split(tmp_path, bad, encode_labels(labels))
    message = expect_data_error(tmp_path, "wrong magic number 0x00000801")
    assert str(image_path) in message


def test_swapped_files_are_rejected(tmp_path):
    images, labels = tiny()
    write_split(tmp_path, encode_labels(labels), encode_images(images))
    expect_data_error(tmp_path, "t10k-images-idx3-ubyte.gz: wrong magic")


def test_wrong_dimensions_are_rejected(tmp_path):
    data = struct.pack(">IIII", 0x803, 2, 14, 14) + bytes(2 * 14 * 14)
    write_split(tmp_path, data, encode_labels(np.array([1, 2])))
    expect_data_error(tmp_path, "images are 14x14")


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_raw_payload_is_rejected(tmp_path, gz):
    images, labels = tiny()
    write_split(tmp_path, encode_images(images)[:-5], encode_labels(labels), gz=gz)
    expect_data_error(tmp_path, "truncated")


def test_trailing_bytes_are_rejected(tmp_path):
    images, labels = tiny()
    write_split(tmp_path, encode_images(images), encode_labels(labels) + b"\0")
    expect_data_error(tmp_path, "t10k-labels-idx1-ubyte.gz: has trailing bytes")


def test_truncated_gzip_is_rejected(tmp_path):
    images, labels = tiny()
    image_path, _ = write_split(tmp_path, encode_images(images), encode_labels(labels))
    image_path.write_bytes(image_path.read_bytes()[:200])
    expect_data_error(tmp_path, f"{image_path}: truncated gzip")


def test_bytes_that_are_not_gzip_are_rejected(tmp_path):
    images, labels = tiny()
    _, label_path = write_split(tmp_path, encode_images(images), encode_labels(labels))
    label_path.write_bytes(encode_labels(labels))  # raw bytes under a .gz name
    expect_data_error(tmp_path, f"{label_path}: not a gzip file")


def test_count_mismatch_between_images_and_labels(tmp_path):
    images, labels = tiny()
    write_split(tmp_path, encode_images(images), encode_labels(labels[:5]))
    expect_data_error(tmp_path, "7 images but")


def test_label_out_of_range(tmp_path):
    images, _ = tiny()
    labels = struct.pack(">II", 0x801, 7) + bytes([1, 2, 3, 4, 5, 6, 12])
    write_split(tmp_path, encode_images(images), labels)
    expect_data_error(tmp_path, "label 12 is not a digit")


def test_short_header(tmp_path):
    write_split(tmp_path, b"\0\0\x08", encode_labels(np.array([1])))
    expect_data_error(tmp_path, "too short for an IDX header")


def test_missing_and_unreadable_dirs(tmp_path):
    expect_data_error(tmp_path / "nope", "does not exist")
    expect_data_error(tmp_path, "no MNIST test files")
    images, labels = tiny()
    write_split(tmp_path / "half", encode_images(images), encode_labels(labels))
    (tmp_path / "half" / "t10k-labels-idx1-ubyte.gz").unlink()
    expect_data_error(tmp_path / "half", "has no t10k-labels-idx1-ubyte[.gz]")
    # A directory where the file should be: unreadable as a file.
    (tmp_path / "dirs" / "t10k-images-idx3-ubyte.gz").mkdir(parents=True)
    (tmp_path / "dirs" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(encode_labels(labels)))
    expect_data_error(tmp_path / "dirs", "is a directory")


def test_parsed_arrays_are_views_and_encoders_validate():
    images, labels = tiny(3)
    parsed = parse_images(encode_images(images), "x")
    assert not parsed.flags.writeable  # zero-copy view of the file bytes
    np.testing.assert_array_equal(parse_labels(encode_labels(labels), "y"), labels)
    with pytest.raises(ValueError):
        encode_labels(np.array([10]))
    assert gzip_bytes(b"abc") == gzip_bytes(b"abc")  # deterministic (mtime 0)


@pytest.mark.parametrize("scale", [255, 256])
def test_floats_to_pixels_detects_the_scale(scale):
    pixels = np.arange(256, dtype=np.uint8)[: scale].reshape(1, -1)
    floats = (pixels.astype(np.float64) / scale).astype(np.float32)  # float32 rounding, as stored
    back, found = floats_to_pixels(floats, "f")
    assert found == scale
    np.testing.assert_array_equal(back, pixels)


def test_floats_to_pixels_rejects_out_of_range_and_rounds_inexact():
    with pytest.raises(DataError, match=r"span \[-0.5, 1\]"):
        floats_to_pixels(np.array([[-0.5, 1.0]]), "f")
    with pytest.raises(DataError, match="not all finite"):
        floats_to_pixels(np.array([[np.nan, 0.5]]), "f")
    back, found = floats_to_pixels(np.array([[0.123, 0.5]]), "f")
    assert found is None and back.tolist() == [[31, 128]]
