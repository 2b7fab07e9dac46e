"""The photo sets' worker: write the sets as image files once, then read them with one checkout's code.

Run by `python -m legacy_mnist.bench --sections photos` (legacy_mnist/benchmarks/photos.py), two kinds:
      python -m legacy_mnist.benchmarks.workers.photos make '{"data": DIR, "seed": 14, "photos": 500, ...}'
      PYTHONPATH=CHECKOUT python .../workers/photos.py read '{"data": DIR, "checkout": CHECKOUT, "threads": 2}'
`make` renders every set with this checkout's generator (legacy_mnist.synthetic, legacy_mnist.dataset.uci)
into DIR with a manifest. `read` is started by file path under the checkout being measured (this one, or an
older one for the "before" column): it uses only names every checkout since the photo sets has
(`infer.load_model`, `normalize.to_model_input`, `preprocess.preprocess_image`/`NoDigitError`) and reads
numbers with `inference.segment.read_number` where the checkout has it, else as one digit, as that code's
`infer` did. So both columns read the same files, and this module must not import the benchmark package.
"""
from __future__ import annotations

import json
import sys

RESULT_PREFIX = "BENCH_RESULT "  # the harness's (legacy_mnist.benchmarks.harness); not imported, see above
BATCH = 500


def _drop_editable_finders() -> None:
    # An editable install's finder would hand an older checkout's missing modules (inference.segment) over
    # from the installed tree; the checkout under measurement must be the only legacy_mnist imported.
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not getattr(f, "__module__", "").startswith("__editable___legacy_mnist")]


def make(spec: dict) -> dict:
    """Write the sets into spec["data"]: photos/, paper/, numbers/, uci/ and manifest.json."""
    from pathlib import Path

    from PIL import Image

    from legacy_mnist.dataset import load_split
    from legacy_mnist.dataset.uci import as_paper_images, load_uci_digits
    from legacy_mnist.synthetic import make_number_set, make_paper_set, make_photo_set, write_photo_set

    data = Path(spec["data"])
    seed = int(spec["seed"])
    test = load_split("test", log=lambda line: None)
    manifest = []
    sets = {
        "photos": make_photo_set(test.images, test.labels, spec["photos"], seed),
        "paper": make_paper_set(test.images, test.labels, spec["paper"], seed, blanks=spec["blanks"]),
        "numbers": make_number_set(test.images, test.labels, spec["numbers"], seed),
    }
    for name, made in sets.items():
        for item, path in zip(made, write_photo_set(data / name, made)):
            manifest.append({"set": name, "file": f"{name}/{path.name}", "label": str(item.label),
                             "kind": item.kind})
    digits, labels = load_uci_digits(log=lambda line: None)
    limit = spec.get("uci") or len(digits)
    (data / "uci").mkdir(parents=True, exist_ok=True)
    for index, (paper, label) in enumerate(zip(as_paper_images(digits[:limit]), labels[:limit])):
        name = f"uci/{index:05d}-d{int(label)}.png"
        Image.fromarray(paper, "L").save(data / name)
        manifest.append({"set": "uci", "file": name, "label": str(int(label)), "kind": "uci"})
    (data / "manifest.json").write_text(json.dumps(manifest))
    return {"images": len(manifest), "seed": seed}


def read(spec: dict) -> dict:
    """Each shipped model of the checkout reads every file: {"predictions": {model: [string per file]}}.

    A single digit is its digit ("" when the preprocessing found none); a number is the digit string read.
    """
    import io
    from pathlib import Path

    import numpy as np
    from PIL import Image

    import legacy_mnist
    from legacy_mnist.infer import load_model
    from legacy_mnist.normalize import to_model_input
    from legacy_mnist.preprocess import NoDigitError, preprocess_image

    checkout = Path(spec["checkout"]).resolve()
    package = Path(legacy_mnist.__file__).resolve().parent
    if package.parent != checkout:
        raise SystemExit(f"legacy_mnist was imported from {package}, not from the checkout {checkout}")
    try:
        from legacy_mnist.inference.segment import read_number
    except ImportError:
        read_number = None
    data = Path(spec["data"])
    manifest = json.loads((data / "manifest.json").read_text())

    # The preprocessing does not depend on the model: single digits once, then every model on the arrays.
    pixels = np.zeros((len(manifest), 28, 28), dtype=np.uint8)
    found = np.zeros(len(manifest), dtype=bool)
    singles = [i for i, entry in enumerate(manifest) if entry["set"] != "numbers" or read_number is None]
    for index in singles:
        entry = manifest[index]
        with Image.open(io.BytesIO((data / entry["file"]).read_bytes())) as image:  # as evaluate --photos does
            try:
                pixels[index] = preprocess_image(image, "auto")
                found[index] = True
            except NoDigitError:
                pass
    shipped = package / "shipped_models"
    names = spec.get("models") or sorted(p.name for p in shipped.iterdir() if (p / "SHA256SUMS").exists())
    predictions = {}
    for name in names:
        model = load_model(str(shipped / name), threads=spec.get("threads") or None)
        out = [""] * len(manifest)
        chosen = [i for i in singles if found[i]]
        for start in range(0, len(chosen), BATCH):
            rows = chosen[start : start + BATCH]
            for index, digit in zip(rows, model.predict(to_model_input(pixels[rows])).argmax(axis=1)):
                out[index] = str(int(digit))
        if read_number is not None:
            predict = lambda x: model.predict(to_model_input(x))  # noqa: E731
            for index, entry in enumerate(manifest):
                if entry["set"] != "numbers":
                    continue
                with Image.open(io.BytesIO((data / entry["file"]).read_bytes())) as image:
                    try:
                        out[index] = "".join(str(int(d)) for d in read_number(image, predict)[0])
                    except NoDigitError:
                        out[index] = ""
        predictions[name] = out
    return {"predictions": predictions, "files": [entry["file"] for entry in manifest],
            "numbers": "read_number" if read_number is not None else "one digit (no number reading)",
            "package": str(package)}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("make", "read"):
        raise SystemExit("usage: photos.py make|read SPEC_JSON")
    kind, spec = argv[0], json.loads(argv[1])
    if kind == "read":
        _drop_editable_finders()
    result = make(spec) if kind == "make" else read(spec)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
