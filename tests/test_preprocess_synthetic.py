"""Tests for `legacy_mnist.synthetic`: the user-style photo generator the accuracy measurements rely on.

Run:  python -m pytest -q tests/test_preprocess_synthetic.py
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from legacy_mnist.synthetic import KINDS, main, make_photo_set

EXPECTED_MODE = {
    "png-rgb": "RGB", "jpeg-rgb": "RGB", "png-gray": "L", "png-gray16": "I;16", "png-rgba": "RGBA",
    "png-palette": "P", "jpeg-exif": "RGB", "jpeg-cmyk": "CMYK", "gif-animated": "P",
}


def fake_digits(count: int) -> tuple[np.ndarray, np.ndarray]:
    images = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        images[index, 4 + index % 3 : 24, 10 + index % 5 : 15 + index % 5] = 255  # a '1' of varying place
    return images, np.arange(count) % 10


def test_photo_set_is_reproducible_and_covers_every_kind():
    images, labels = fake_digits(2 * len(KINDS))
    photos = make_photo_set(images, labels, count=len(images), seed=4)
    again = make_photo_set(images, labels, count=len(images), seed=4)
    assert [p.data for p in photos] == [p.data for p in again]
    assert [p.data for p in make_photo_set(images, labels, count=3, seed=5)] != [p.data for p in photos[:3]]
    assert [p.kind for p in photos] == list(KINDS) * 2
    assert [p.label for p in photos] == list(labels)
    for photo in photos:
        with Image.open(io.BytesIO(photo.data)) as image:
            assert image.mode == EXPECTED_MODE[photo.kind], photo.name
            upright = ImageOps.exif_transpose(image)
            assert upright.size == photo.size and all(50 <= side <= 600 for side in photo.size), photo.name
            if photo.kind == "jpeg-exif":
                assert image.getexif()[0x0112] in (3, 6, 8)
            if photo.kind == "gif-animated":
                assert image.n_frames == 2
            if photo.kind == "png-rgba":
                alpha = np.asarray(image)[..., 3]
                assert alpha.min() == 0 and alpha.max() > 200  # transparent paper, opaque ink


def test_photos_look_like_ink_on_paper():
    images, labels = fake_digits(len(KINDS))
    for photo in make_photo_set(images, labels, count=len(KINDS), seed=2, kinds=("png-gray",) * len(KINDS)):
        gray = np.asarray(Image.open(io.BytesIO(photo.data)), dtype=np.float64)
        paper, ink = np.percentile(gray, 50), np.percentile(gray, 0.5)
        assert paper > 120 and paper - ink > 60, photo.name  # light page, darker strokes
        ys, xs = np.nonzero(gray < (paper + ink) / 2)
        assert 0.15 <= (ys.max() - ys.min() + 1) / gray.shape[0] <= 0.9  # the digit is 30-80% of the page


def test_cli_writes_files(tmp_path, mnist_cache, capsys):
    assert main([str(tmp_path), "--count", "4", "--seed", "1"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 4 and names[0].startswith("00000-d7-png-rgb")  # MNIST test digit 0 is a 7
    assert "wrote 4 photos" in capsys.readouterr().out
