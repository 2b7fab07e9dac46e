"""Reading written numbers (legacy_mnist.inference.segment): 2-6 digits on one line, spacing from touching to wide.

Run:  python -m pytest -q tests/test_number.py
"""
from __future__ import annotations

import io

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
