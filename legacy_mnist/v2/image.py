"""`paddle.image`: v2's image helpers, with Pillow where v2 used OpenCV.

Not run directly; `im = paddle.image.load_image("digit.png", is_color=False)`, then `resize_short`,
`center_crop`, `to_chw`, `simple_transform`, `load_and_transform`. The layouts are v2's (cv2's): HWC uint8
with channels in BGR order for colour, HW for grey. Resizing is Pillow's bicubic (v2: cv2.INTER_CUBIC),
so resized pixels can differ from v2's by a few levels. The crop and flip helpers are Paddle's own
(paddle.dataset.image), which need no OpenCV.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ._names import v2_getattr
from ..fluid._compat import legacy_paddle

_image = legacy_paddle().dataset.image
to_chw = _image.to_chw
center_crop = _image.center_crop
random_crop = _image.random_crop
left_right_flip = _image.left_right_flip


def _array(picture: Image.Image, is_color: bool) -> np.ndarray:
    if not is_color:
        return np.asarray(picture.convert("L"))
    return np.ascontiguousarray(np.asarray(picture.convert("RGB"))[:, :, ::-1])  # cv2.imread gives BGR


def load_image_bytes(bytes, is_color=True) -> np.ndarray:
    """An encoded image (PNG, JPEG, ...) from memory: HWC BGR uint8, or HW grey."""
    with Image.open(io.BytesIO(bytes)) as picture:
        return _array(picture, is_color)


def load_image(file, is_color=True) -> np.ndarray:
    """An image file: HWC BGR uint8 (is_color=True), or HW grey."""
    with Image.open(file) as picture:
        return _array(picture, is_color)


def resize_short(im, size) -> np.ndarray:
    """Resize so that the shorter edge is `size` pixels (bicubic), keeping the aspect ratio."""
    h, w = im.shape[:2]
    h_new, w_new = (size * h // w, size) if h > w else (size, size * w // h)
    return np.asarray(Image.fromarray(np.asarray(im)).resize((w_new, h_new), Image.BICUBIC))


def simple_transform(im, resize_size, crop_size, is_train, is_color=True, mean=None) -> np.ndarray:
    """v2's augmentation: resize_short, then a random crop and flip (training) or a centre crop; CHW float32."""
    im = resize_short(im, resize_size)
    if is_train:
        im = random_crop(im, crop_size, is_color=is_color)
        if np.random.randint(2) == 0:
            im = left_right_flip(im, is_color)
    else:
        im = center_crop(im, crop_size, is_color=is_color)
    if len(im.shape) == 3:
        im = to_chw(im)
    im = im.astype("float32")
    if mean is not None:
        mean = np.array(mean, dtype=np.float32)
        if mean.ndim == 1 and is_color:
            mean = mean[:, np.newaxis, np.newaxis]
        im -= mean
    return im


def load_and_transform(filename, resize_size, crop_size, is_train, is_color=True, mean=None) -> np.ndarray:
    """load_image then simple_transform."""
    return simple_transform(load_image(filename, is_color), resize_size, crop_size, is_train, is_color, mean)


__getattr__ = v2_getattr("image", {
    "batch_images_from_tar": "paddle.io.Dataset over the tar's images (its batch files were pickles, which run "
                             "code when loaded)",
})
