"""Tests for `legacy_mnist.preprocess`: image files -> MNIST-like uint8 28x28 (auto) or the book's resize.

Run:  python -m pytest -q tests/test_preprocess.py
"""
from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from legacy_mnist.errors import DataError
from legacy_mnist.normalize import normalize
from legacy_mnist.preprocess import (
    NoDigitError,
    _stroke_width,
    book_preprocess,
    open_image,
    preprocess_file,
    preprocess_image,
)


def digit_on_paper(size=(300, 240), box=(90, 40, 190, 200), width=14, ink=30, paper=235, mode="L") -> Image.Image:
    """A hand-drawn-looking '7': dark strokes on light paper."""
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    draw.line([(left, top), (right, top), (left + (right - left) // 3, bottom)], fill=ink, width=width, joint="curve")
    return image.convert(mode) if mode != "L" else image


def ink_stats(digit: np.ndarray):
    ys, xs = np.nonzero(digit > 0)
    total = digit.astype(np.float64).sum()
    yy, xx = np.mgrid[0:28, 0:28]
    com = ((digit * yy).sum() / total, (digit * xx).sum() / total)
    return (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1), com


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def test_book_mode_is_the_tutorials_load_image(tmp_path):
    path = tmp_path / "seven.png"
    digit_on_paper(mode="RGB").save(path)
    ours = normalize(preprocess_file(path, "book")).reshape(1, 1, 28, 28)
    # The book's load_image, verbatim apart from ANTIALIAS's new name.
    im = Image.open(path).convert("L")
    im = im.resize((28, 28), Image.LANCZOS)
    im = np.array(im).reshape(1, 1, 28, 28).astype(np.float32)
    im = im / 255.0 * 2.0 - 1.0
    assert np.abs(ours - im).max() < 1e-6
    assert book_preprocess(Image.open(path)).mean() > 200  # white paper stays white: not MNIST-like


def test_auto_makes_an_mnist_like_digit():
    digit = preprocess_image(digit_on_paper(), "auto")
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    (height, width), (com_y, com_x) = ink_stats(digit)
    assert max(height, width) == 20  # MNIST's 20-px box
    assert abs(com_y - 14) <= 1 and abs(com_x - 14) <= 1  # placed by centre of mass
    assert digit.max() == 255 and digit[0].max() == 0 and digit[:, 0].max() == 0  # white ink on black
    assert 0 < np.mean((digit > 0) & (digit < 255)) < 0.2  # anti-aliased rim, mostly solid


def test_position_size_and_polarity_do_not_matter():
    reference = preprocess_image(digit_on_paper(), "auto")
    variants = {
        "shifted": digit_on_paper(size=(500, 400), box=(20, 200, 120, 360)),
        "small": digit_on_paper(size=(60, 50), box=(18, 8, 38, 40), width=3),
        "big": digit_on_paper(size=(1200, 1000), box=(300, 100, 700, 740), width=56),
        "light on dark": ImageOps.invert(digit_on_paper()),
        "low contrast": digit_on_paper(ink=150, paper=190),
    }
    for name, image in variants.items():
        # A 32-px digit drawn without anti-aliasing keeps its jagged strokes: a looser match.
        assert similarity(preprocess_image(image, "auto"), reference) > (0.6 if name == "small" else 0.8), name


def test_uneven_lighting_leaves_no_background():
    image = np.asarray(digit_on_paper(size=(400, 300)), dtype=np.float64)
    ramp = np.linspace(1.0, 0.45, image.shape[1])[None, :]  # a shadow across the page
    shaded = Image.fromarray(np.clip(image * ramp, 0, 255).astype(np.uint8))
    digit = preprocess_image(shaded, "auto")
    assert similarity(digit, preprocess_image(digit_on_paper(size=(400, 300)), "auto")) > 0.85
    assert np.mean(digit > 0) < 0.3


def test_modes_exif_alpha_and_bit_depth():
    upright = digit_on_paper(mode="RGB")
    reference = preprocess_image(upright, "auto")
    gray = np.asarray(upright.convert("L"), dtype=np.uint16)
    variants = {
        "RGBA opaque": upright.convert("RGBA"),
        "LA": upright.convert("LA"),
        "P": upright.quantize(16),
        "CMYK": upright.convert("CMYK"),
        "1-bit": upright.convert("L").point(lambda v: 255 if v > 128 else 0).convert("1"),
        "I;16": Image.fromarray(gray * 257),
        "I": Image.fromarray((gray * 257).astype(np.int32), "I"),
        "F": Image.fromarray(gray.astype(np.float32) / 255.0, "F"),
    }
    for name, image in variants.items():
        assert similarity(preprocess_image(image, "auto"), reference) > 0.9, name

    # Transparent paper over black RGB: only the alpha channel says where the ink is.
    alpha = 255 - np.asarray(upright.convert("L"))
    cutout = np.zeros((*alpha.shape, 4), np.uint8)
    cutout[..., 3] = alpha
    cutout_image = Image.fromarray(cutout, "RGBA")
    assert similarity(preprocess_image(cutout_image, "auto"), reference) > 0.9
    with pytest.raises(NoDigitError):  # ...which the book's convert('L') throws away
        preprocess_image(cutout_image.convert("L"), "auto")

    for orientation, stored in ((6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270), (3, Image.Transpose.ROTATE_180)):
        exif = Image.Exif()
        exif[0x0112] = orientation
        buffer = io.BytesIO()
        upright.transpose(stored).save(buffer, "PNG", exif=exif.tobytes())
        rotated = Image.open(io.BytesIO(buffer.getvalue()))
        assert similarity(preprocess_image(rotated, "auto"), reference) > 0.95, orientation
        assert similarity(preprocess_image(rotated.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "auto"), reference) < 0.9


def test_animated_gif_uses_the_first_frame(tmp_path):
    first, second = digit_on_paper(mode="RGB"), digit_on_paper(mode="RGB").transpose(Image.Transpose.ROTATE_180)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(path).n_frames == 2
    assert similarity(preprocess_file(path), preprocess_image(first, "auto")) > 0.95


def test_thin_pen_strokes_are_thickened():
    thin = digit_on_paper(size=(900, 800), box=(300, 100, 600, 700), width=4)
    digit = preprocess_image(thin, "auto").astype(np.float32) / 255.0
    assert _stroke_width(digit) >= 1.3  # a 4-px line on a 600-px digit would be 0.13 px at MNIST scale
    assert similarity(preprocess_image(thin, "auto"), preprocess_image(digit_on_paper(size=(900, 800), box=(300, 100, 600, 700), width=45), "auto")) > 0.75


def test_dust_is_ignored_but_nearby_strokes_kept():
    clean = digit_on_paper(size=(400, 400), box=(150, 100, 250, 300))
    dusty = clean.copy()
    draw = ImageDraw.Draw(dusty)
    for x, y in ((10, 10), (380, 50), (30, 370), (370, 380)):
        draw.ellipse((x, y, x + 4, y + 4), fill=20)
    assert np.array_equal(preprocess_image(dusty, "auto"), preprocess_image(clean, "auto"))
    # A digit in two strokes (a 7 with a crossbar drawn apart) keeps both.
    crossed = clean.copy()
    ImageDraw.Draw(crossed).line([(175, 200), (235, 200)], fill=30, width=14)
    assert not np.array_equal(preprocess_image(crossed, "auto"), preprocess_image(clean, "auto"))


@pytest.mark.parametrize("name", ["white", "gray noise", "shadow", "jpeg", "dust speck", "vignette"])
def test_blank_pages_are_errors(name):
    rng = np.random.default_rng(0)
    if name == "white":
        image = Image.new("L", (200, 200), 255)
    elif name == "gray noise":
        image = Image.fromarray(np.clip(rng.normal(200, 3, (300, 400)), 0, 255).astype(np.uint8))
    elif name == "shadow":
        image = Image.fromarray((np.linspace(240, 120, 500)[None, :] * np.ones((400, 1))).astype(np.uint8))
    elif name == "jpeg":
        buffer = io.BytesIO()
        Image.fromarray(np.clip(rng.normal(230, 2, (480, 640, 3)), 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=40)
        image = Image.open(io.BytesIO(buffer.getvalue()))
    elif name == "dust speck":
        image = Image.new("L", (600, 600), 240)
        ImageDraw.Draw(image).ellipse((300, 300, 306, 306), fill=30)
    else:
        yy, xx = np.mgrid[0:300, 0:400]
        image = Image.fromarray((230 - 90 * (((xx - 200) / 200) ** 2 + ((yy - 150) / 150) ** 2)).astype(np.uint8))
    with pytest.raises(NoDigitError, match="no digit found"):
        preprocess_image(image, "auto")


def png_header_only(width: int, height: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_bad_files_are_data_errors_naming_the_file(tmp_path):
    good = io.BytesIO()
    digit_on_paper(mode="RGB").save(good, "PNG")
    jpeg = io.BytesIO()
    digit_on_paper(mode="RGB").save(jpeg, "JPEG")
    cases = {
        "zero.png": (b"", "empty file"),
        "random.png": (np.random.default_rng(1).bytes(3000), "not an image"),
        "truncated.png": (good.getvalue()[:400], "corrupt or truncated"),
        "truncated.jpg": (jpeg.getvalue()[:800], "corrupt or truncated"),
        "bomb.png": (png_header_only(40000, 40000), "too large"),
        "big.png": (png_header_only(9000, 8000), "too large"),
    }
    for name, (data, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        started = time.perf_counter()
        with pytest.raises(DataError) as excinfo:
            preprocess_file(path)
        message = str(excinfo.value)
        assert message.startswith(f"{path}: ") and reason in message and "\n" not in message, message
        assert time.perf_counter() - started < 2.0  # bombs are refused from the header, not decoded
    with pytest.raises(DataError, match="no such file"):
        preprocess_file(tmp_path / "missing.png")
    with pytest.raises(DataError, match="is a directory"):
        preprocess_file(tmp_path)


def test_pixel_limit_is_configurable(tmp_path):
    path = tmp_path / "seven.png"
    digit_on_paper().save(path)  # 300 x 240 = 72,000 pixels
    with pytest.raises(DataError, match="72,000 pixels; limit 50,000"):
        preprocess_file(path, max_pixels=50_000)
    assert preprocess_file(path, max_pixels=72_000).shape == (28, 28)
    with open_image(path) as image:
        assert image.size == (300, 240)


def test_mnist_digits_pass_through_almost_unchanged(mnist_cache):
    from legacy_mnist.dataset import load_split

    test = load_split("test", log=lambda line: None)
    scores = np.array([similarity(preprocess_image(Image.fromarray(x), "auto"), x) for x in test.images[:50]])
    # Already MNIST: only the soft rim is sharpened and a few digits move by a pixel.
    assert np.median(scores) > 0.95 and np.mean(scores > 0.75) >= 0.9 and scores.min() > 0.5
