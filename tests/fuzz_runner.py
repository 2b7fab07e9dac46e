"""Feed mutated images or model files to the real readers in this process; report what happened, one line.

Run:  python tests/fuzz_runner.py images COUNT SEED
      python tests/fuzz_runner.py models EXPORT_DIR COUNT SEED
tests/test_fuzz.py runs both in a subprocess, so a native crash or a hang shows as that process's death or
timeout, not the test runner's. Every mutant must end in a one-line DataError/ModelError or a normal
result; anything else (a Python exception of another type) is printed and the exit status is 1. The last
line of stdout is a JSON summary; nothing else may reach stdout or stderr (native decoders' chatter included).
"""
from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A few random edits: overwritten, flipped, deleted, inserted or copied bytes, and extreme values."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8, 16))):
        if not out:
            break
        at, roll = rng.randrange(len(out)), rng.random()
        if roll < 0.45:
            out[at] = rng.randrange(256)
        elif roll < 0.6:
            out[at] ^= 1 << rng.randrange(8)
        elif roll < 0.72:
            del out[at : at + rng.randrange(1, 32)]
        elif roll < 0.84:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif roll < 0.92:
            source = rng.randrange(len(out))
            out[at : at + 8] = out[source : source + 8]
        else:
            out[at : at + 4] = rng.choice((b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x80\0\0\0"))
    return bytes(out)


def image_seeds() -> dict[str, bytes]:
    from PIL import Image

    rng = np.random.default_rng(0)
    photo = Image.fromarray((200 - rng.random((48, 40)) * 40).astype(np.uint8))
    photo.paste(0, (12, 8, 28, 40))  # an ink stroke
    seeds = {}
    for name, image, fmt, options in (
        ("png", photo, "PNG", {}), ("png_rgba", photo.convert("RGBA"), "PNG", {}),
        ("png_palette", photo.convert("P"), "PNG", {}), ("jpeg", photo.convert("RGB"), "JPEG", {"quality": 85}),
        ("jpeg_progressive", photo, "JPEG", {"progressive": True}),
        ("tiff_deflate", photo.convert("RGB"), "TIFF", {"compression": "tiff_deflate"}),
        ("tiff_lzw", photo, "TIFF", {"compression": "tiff_lzw"}),
        ("tiff_packbits", photo, "TIFF", {"compression": "packbits"}), ("tiff_raw", photo, "TIFF", {}),
        ("tiff_jpeg", photo.convert("RGB"), "TIFF", {"compression": "jpeg"}),
        ("tiff_group4", photo.convert("1"), "TIFF", {"compression": "group4"}),
    ):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        seeds[name] = buffer.getvalue()
    return seeds


def fuzz_images(count: int, seed: int) -> dict:
    from legacy_mnist.errors import DataError
    from legacy_mnist.preprocess import preprocess_file

    rng, seeds = random.Random(seed), image_seeds()
    families = {"png": [k for k in seeds if k.startswith("png")], "jpeg": [k for k in seeds if k.startswith("jpeg")],
                "tiff": [k for k in seeds if k.startswith("tiff")]}
    summary = {"decoded": 0, "refused": 0, "unexpected": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(count):
            family = ("png", "jpeg", "tiff")[index % 3]
            name = rng.choice(families[family])
            path = Path(tmp) / f"{index}.png"  # every one named .png, as an attacker would
            path.write_bytes(mutate(seeds[name], rng))
            try:
                pixels = preprocess_file(path, ("auto", "book")[index % 2])
                assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
                summary["decoded"] += 1
            except DataError as exc:
                assert "\n" not in str(exc) and str(exc).startswith(str(path))
                summary["refused"] += 1
            except Exception:  # noqa: BLE001 - the finding this runner exists to report
                summary["unexpected"] += 1
                print(f"mutant {index} of {name}:", traceback.format_exc(limit=3), file=sys.stderr)
    return summary


def fuzz_models(export: Path, count: int, seed: int) -> dict:
    from legacy_mnist.errors import ModelError
    from legacy_mnist.infer import load_model

    rng = random.Random(seed)
    summary = {"loaded": 0, "refused": 0, "unexpected": 0}
    originals = {name: (export / name).read_bytes() for name in ("model.pdmodel", "model.pdiparams")}
    batch = np.zeros((3, 1, 28, 28), np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(count):
            target = "model.pdmodel" if index % 3 else "model.pdiparams"
            directory = Path(tmp) / str(index)
            directory.mkdir()
            for name, data in originals.items():
                (directory / name).write_bytes(mutate(data, rng) if name == target else data)
            if index % 4 == 0:  # an attacker rewrites SHA256SUMS to match; otherwise there is none
                (directory / "SHA256SUMS").write_text("".join(
                    f"{hashlib.sha256((directory / n).read_bytes()).hexdigest()}  {n}\n" for n in sorted(originals)))
            try:
                model = load_model(directory, ("predictor", "executor")[index % 2])
                probs = model.predict(batch)
                assert probs.shape == (3, 10)
                summary["loaded"] += 1
            except ModelError as exc:
                assert "\n" not in str(exc)
                summary["refused"] += 1
            except Exception:  # noqa: BLE001 - the finding this runner exists to report
                summary["unexpected"] += 1
                print(f"mutant {index} of {target}:", traceback.format_exc(limit=3), file=sys.stderr)
            shutil.rmtree(directory, ignore_errors=True)
    return summary


def main(argv: list[str]) -> int:
    if argv[0] == "images":
        summary = fuzz_images(int(argv[1]), int(argv[2]))
    else:
        summary = fuzz_models(Path(argv[1]), int(argv[2]), int(argv[3]))
    sys.stdout.flush()
    print(json.dumps(summary))
    return 1 if summary["unexpected"] else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
