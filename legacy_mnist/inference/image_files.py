"""Open an image file from a stranger: only the formats a digit photo comes in, decoded in bounded memory and time.

Try it:  python -m legacy_mnist.infer photo.jpg        (preprocess.preprocess_file opens every image here)
Pillow picks a plugin by the file's content, not its name, and some plugins hand the file to another
program (EPS and PostScript go to Ghostscript, which runs them); others are rarely used and poorly tested.
So only ACCEPTED_FORMATS are tried. The size comes from the header and is checked before a pixel is decoded;
decoding stops after DECODE_SECONDS; a large image is reduced right after decoding, so what follows works on
about twice the analysis size, not on 64 million pixels; what native decoders print (libtiff's warnings)
is captured and becomes part of the error instead of text between the rows on stdout/stderr. Every failure
is a DataError naming the file: one bad file is that file's row, never the end of the run.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import warnings
from pathlib import Path
from typing import Iterator

from PIL import Image

from ..errors import DataError
from ..common.native_output import native_output_captured
from ..common.untrusted import open_regular

# Pillow's names: JPEG includes MPO (phones' multi-picture JPEGs), PPM reads PBM/PGM/PPM/PNM.
ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
ACCEPTED_TEXT = "PNG, JPEG, BMP, GIF, TIFF, WebP or PNM"
# A 50-megapixel phone photo is 8160x6120; anything larger is a decompression bomb, not a digit.
DEFAULT_MAX_PIXELS = 64_000_000
MAX_FILE_BYTES = 512 << 20  # an uncompressed 64-megapixel RGBA TIFF is 256 MB
DECODE_SECONDS = 30.0  # a 64-megapixel PNG decodes in about a second on one core
# Formats refused because of what reading them needs, named so the user learns why.
_REFUSED_MAGIC = {b"%!PS": "PostScript (reading it runs Ghostscript)", b"\xc5\xd0\xd3\xc6": "EPS (reading it runs "
                  "Ghostscript)", b"%PDF": "PDF", b"BLP": "BLP", b"DDS ": "DDS", b"8BPS": "Photoshop (PSD)",
                  b"\x00\x00\x00\x0cjP  ": "JPEG 2000", b"\xffO\xffQ": "JPEG 2000"}


class _DecodeTimeout(BaseException):
    """Raised from SIGALRM inside a decoder; a BaseException so no `except Exception` in Pillow swallows it."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread only: signals are delivered there)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum, frame):
        raise _DecodeTimeout

    previous = signal.signal(signal.SIGALRM, expired)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_delay:  # someone else's timer: give it back
            signal.setitimer(signal.ITIMER_REAL, old_delay, old_interval)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _refused_format(handle) -> str | None:
    handle.seek(0)
    head = handle.read(16)
    return next((name for magic, name in _REFUSED_MAGIC.items() if head.startswith(magic)), None)


def _reduce(image: Image.Image, work_side: int) -> Image.Image:
    """Shrink a decoded image by an integer factor so its longest side is about 2 x `work_side` (box filter)."""
    factor = max(image.size) // (2 * work_side)
    if factor < 2:
        return image
    mode = image.mode
    if mode == "1":
        image = image.convert("L")
    elif mode == "P":
        image = image.convert("LA" if "transparency" in image.info else "L")
    elif mode.startswith("I;16"):
        image = image.convert("I")
    reduced = image.reduce(factor)
    reduced.info = dict(image.info)
    if mode.startswith("I;16"):
        reduced = reduced.convert("I;16")
    return reduced


def open_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, *, work_side: int | None = None):
    """Open and decode an image file safely; return a loaded PIL image (first frame) or raise DataError.

    `work_side`: the caller analyses the image at about this size, so JPEG decodes at a reduced scale (DCT
    scaling) and any other format is reduced right after decoding when it is much larger than that.
    """
    path = Path(path)
    with open_regular(path, DataError) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise DataError(f"{path}: empty file")
        if size > MAX_FILE_BYTES:
            raise DataError(f"{path}: {size / (1 << 20):.0f} MiB is too large for an image of a digit")
        refused = _refused_format(handle)
        if refused:
            raise DataError(f"{path}: a {refused} file, not a {ACCEPTED_TEXT} image; not read")
        handle.seek(0)
        return _decode(path, handle, max_pixels, work_side)


def _decode(path: Path, handle, max_pixels: int, work_side: int | None):
    printed: list[str] = []
    try:
        with warnings.catch_warnings(), native_output_captured() as printed, _deadline(DECODE_SECONDS):
            warnings.simplefilter("ignore")  # Pillow's notes on odd tags would land between the rows
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle, formats=ACCEPTED_FORMATS)
            try:
                width, height = image.size
                if width * height > max_pixels:
                    raise DataError(f"{path}: image too large ({width}x{height} = {width * height:,} pixels; "
                                    f"limit {max_pixels:,}), refusing to decode")
                if width < 1 or height < 1:
                    raise DataError(f"{path}: image has no pixels ({width}x{height})")
                if work_side and image.format in ("JPEG", "MPO") and max(width, height) > 2 * work_side:
                    image.draft(image.mode, (2 * work_side, 2 * work_side))
                image.load()  # the first frame (animated GIF/WebP, multi-page TIFF): Image.open is there
                loaded = _reduce(image, work_side) if work_side else image
            except BaseException:
                image.close()
                raise
        if loaded is not image:
            image.close()
        return loaded
    except DataError:
        raise
    except _DecodeTimeout:
        raise DataError(f"{path}: decoding took more than {DECODE_SECONDS:.0f} s, gave up") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path}: image too large, refusing to decode ({first_line(exc)})") from None
    except Image.UnidentifiedImageError:
        raise DataError(f"{path}: not an image, or not one in a format read here ({ACCEPTED_TEXT})") from None
    except MemoryError:
        raise DataError(f"{path}: not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - corrupt data makes Pillow's plugins raise any type at all
        detail = printed[-1] if printed else first_line(exc)
        raise DataError(f"{path}: corrupt or truncated image ({detail})") from None
