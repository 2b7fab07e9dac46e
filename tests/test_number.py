"""Reading written numbers (legacy_mnist.inference.segment): 2-6 digits on one line, spacing from touching to wide.

Run:  python -m pytest -q tests/test_number.py
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from legacy_mnist.normalize import to_model_input
from legacy_mnist.preprocess import NoDigitError
from legacy_mnist.inference.segment import read_number
from legacy_mnist.synthetic import make_number_set, render_page


@pytest.fixture(scope="module")
def vgg():
    from legacy_mnist.infer import load_model

    return load_model(name="vgg")


def test_generated_numbers_are_read(vgg, mnist_cache):
    from legacy_mnist.dataset import load_split

    split = load_split("test", log=lambda line: None)
    pages = make_number_set(split.images, split.labels, count=50, seed=3)
    right = 0
    for page in pages:
        with Image.open(io.BytesIO(page.data)) as image:
            digits, probs = read_number(image, lambda x: vgg.predict(to_model_input(x)))
        assert probs.shape == (len(digits), 10)
        right += "".join(map(str, digits)) == page.label
    # The bar: 90% of generated numbers (2-6 digits, touching to wide). Measured 49/50 on this set;
    # 95/100 (seed 1), 194/200 (seed 2), 98/100 (seed 4, never tuned on; cnn 97/100).
    assert right >= 45, f"{right} of {len(pages)} numbers read right"


def test_a_blank_page_is_no_number():
    page = render_page(None, "blank-ruled", np.random.default_rng(1), side=300, line_height=30)
    with pytest.raises(NoDigitError, match="no digit found"):
        read_number(page, lambda x: np.full((len(x), 10), 0.1))


# ------------------------------------------------------------------------------------- the Python API
@pytest.fixture(scope="module")
def number_files(tmp_path_factory, mnist_cache):
    """Eight generated numbers (2-6 digits), one digit on ruled paper, and a blank page, as files."""
    from legacy_mnist.dataset import load_split
    from legacy_mnist.synthetic import make_paper_set, write_photo_set

    split = load_split("test", log=lambda line: None)
    directory = tmp_path_factory.mktemp("numbers")
    pages = make_number_set(split.images, split.labels, count=8, seed=7)
    pages += make_paper_set(split.images[:1], split.labels[:1], count=1, seed=7, kinds=("ruled",))
    write_photo_set(directory, pages)
    Image.new("RGB", (300, 200), (236, 233, 228)).save(directory / "zz-blank.png")
    return directory, {page.name: page.label for page in pages}


@pytest.fixture(scope="module")
def cnn():
    from legacy_mnist.infer import load_model

    return load_model(name="cnn")


def test_predict_numbers_reads_files_and_reports_a_blank_page(cnn, number_files):
    from legacy_mnist.infer import predict_numbers

    directory, labels = number_files
    results = predict_numbers([directory, directory / "missing.png"], cnn)
    assert [Path(r.path).name for r in results] == sorted(labels) + ["zz-blank.png", "missing.png"]
    read = {Path(r.path).name: r for r in results if r.ok}
    assert set(read) == set(labels)
    right = sum(read[name].number == label for name, label in labels.items())
    assert right >= 7, {name: (r.number, labels[name]) for name, r in read.items()}  # cnn: 8/9 (7858 -> 78515)
    assert len(read[next(n for n in labels if "-d" in n)].number) == 1  # one digit is a one-digit number
    for r in read.values():
        rows = np.asarray(r.rows)
        assert r.number == "".join(map(str, r.digits)) and rows.shape == (len(r.digits), 10)
        assert np.allclose(rows.sum(axis=1), 1.0, atol=1e-4)
        assert r.digits == list(rows.argmax(axis=1))
        assert r.probabilities == [rows[i, d] for i, d in enumerate(r.digits)]
        assert r.confidence == min(r.probabilities)
    blank, missing = results[-2:]
    assert not blank.ok and blank.number is None and blank.confidence is None
    assert blank.error == f"{directory / 'zz-blank.png'}: no number found (no ink: contrast 0.000 < 0.07)"
    assert missing.error == f"{directory / 'missing.png'}: no such file"


def test_predict_number_takes_paths_images_and_arrays_and_raises_on_a_blank_page(cnn, number_files):
    from legacy_mnist.errors import UserError
    from legacy_mnist.infer import NoNumberError, predict_number

    directory, labels = number_files
    name = sorted(labels)[2]  # a 3-digit number
    by_path = predict_number(cnn, directory / name)
    with Image.open(directory / name) as image:
        by_image = predict_number(cnn, image)
        by_array = predict_number(cnn, np.asarray(image.convert("RGB")))
    assert by_path.number == by_image.number == by_array.number == labels[name]
    assert by_path.path == str(directory / name) and by_image.path == "<image>"
    with pytest.raises(NoNumberError, match=r"zz-blank\.png: no number found \(no ink"):
        predict_number(cnn, directory / "zz-blank.png")
    with pytest.raises(UserError, match="image array must be uint8"):
        predict_number(cnn, np.zeros((20, 20), dtype=np.float32))
    with pytest.raises(UserError, match="model must be a loaded Model"):
        predict_number(object(), directory / name)
