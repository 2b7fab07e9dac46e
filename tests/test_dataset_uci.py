"""UCI 8x8 digits from the scikit-learn wheel, numpy only: python -m pytest -q tests/test_dataset_uci.py"""
from __future__ import annotations

import gzip
import hashlib
import zipfile

import numpy as np
import pytest

from legacy_mnist.dataset import uci
from legacy_mnist.errors import DataError


def csv_gz(rows: list[list[int]]) -> bytes:
    return gzip.compress("\n".join(",".join(f"{v}.0" for v in row) for row in rows).encode())


def test_parse_reads_pixels_and_labels():
    rows = [[i % 17] * 64 + [i % 10] for i in range(12)]
    images, labels = uci.parse_digits_csv(csv_gz(rows), "x")
    assert images.shape == (12, 8, 8) and images.dtype == np.uint8 and images[5, 3, 3] == 5
    assert labels.tolist() == [i % 10 for i in range(12)]


@pytest.mark.parametrize("data,needle", [
    (b"not gzip", "not the UCI digits"),
    (csv_gz([[1] * 10]), "rows of 64"),
    (csv_gz([[17] * 64 + [3]]), "out of range"),
    (csv_gz([[1] * 64 + [10]]), "out of range"),
])
def test_parse_refuses_what_is_not_the_table(data, needle):
    with pytest.raises(DataError, match=needle):
        uci.parse_digits_csv(data, "digits.csv.gz")


def test_wheel_member_must_match_the_pinned_sha256(tmp_path):
    wheel = tmp_path / "scikit_learn-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(uci.MEMBER, csv_gz([[0] * 64 + [1]]))
    with pytest.raises(DataError, match="sha256"):
        uci.read_sklearn_wheel(wheel)
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("sklearn/__init__.py", "")
    with pytest.raises(DataError, match="has no member"):
        uci.read_sklearn_wheel(empty)
    (tmp_path / "bad.whl").write_bytes(b"PK garbage")
    with pytest.raises(DataError, match="not a readable wheel"):
        uci.read_sklearn_wheel(tmp_path / "bad.whl")


def test_a_damaged_cache_is_fetched_again(tmp_path, monkeypatch):
    real = uci.fetch_uci_digits()  # the real file (fetched once per machine with pip download)
    monkeypatch.setenv("LEGACY_MNIST_DATA_HOME", str(tmp_path))
    (tmp_path / uci.CACHE_NAME).write_bytes(b"damaged")
    fetched = []
    monkeypatch.setattr(uci, "pip_download_wheel", lambda dest, requirement: fetched.append(requirement) or _wheel(
        dest, real.read_bytes()))
    messages = []
    path = uci.fetch_uci_digits(log=messages.append)
    assert fetched == [uci.SKLEARN_REQUIREMENT] and path == tmp_path / uci.CACHE_NAME
    assert hashlib.sha256(path.read_bytes()).hexdigest() == uci.MEMBER_SHA256
    assert "does not match" in messages[0]


def _wheel(dest, member: bytes):
    wheel = dest / "scikit_learn-1.5.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(uci.MEMBER, member)
    return wheel


def test_the_real_digits_and_their_paper_images():
    images, labels = uci.load_uci_digits()
    assert images.shape == (1797, 8, 8) and images.max() == 16
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    paper = uci.as_paper_images(images[:3])
    assert paper.shape == (3, 32, 32) and paper.dtype == np.uint8
    assert paper[:, 0, 0].min() > 240 and paper.min() < 40  # white paper, dark ink
