"""Write the AI Studio course's ./work/mnist.json.gz (and its example_0.jpg) from our verified MNIST.

Run:  python -m legacy_mnist.dataset.write_aistudio --write work/mnist.json.gz --example-image work/example_0.jpg
The course (fluid 1.8 dygraph) then runs from the directory holding work/. `--train/--val/--eval N` write the
first N images of each part (a smaller file for a quick run). The format: legacy_mnist/dataset/aistudio.py.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from .aistudio import DEFAULT_COUNTS, PART_NAMES, write_aistudio, write_example_image
from .arrays import load_split


def aistudio_parts(counts: dict | None = None, data_dir: str | Path | None = None):
    """The course's three parts from our MNIST: train = training images 0..49,999, val = 50,000..59,999
    (the order `load_aistudio` maps back), eval = the test set; `counts` takes the first N of each."""
    counts = dict(DEFAULT_COUNTS, **(counts or {}))
    for name, count in counts.items():
        if not 0 < count <= DEFAULT_COUNTS[name]:
            raise DataError(f"--{name} {count}: must be between 1 and {DEFAULT_COUNTS[name]}")
    quiet = lambda message: None  # noqa: E731
    train, test = load_split("train", data_dir, log=quiet), load_split("test", data_dir, log=quiet)
    split = DEFAULT_COUNTS["train"]
    return {
        "train": (train.images[:counts["train"]], train.labels[:counts["train"]]),
        "val": (train.images[split:split + counts["val"]], train.labels[split:split + counts["val"]]),
        "eval": (test.images[:counts["eval"]], test.labels[:counts["eval"]]),
    }


def main(argv=None) -> int:
    from ..errors import ArgumentParser

    parser = ArgumentParser(prog="python -m legacy_mnist.dataset.write_aistudio",
                            description="Write the AI Studio course's mnist.json.gz from the verified MNIST.")
    parser.add_argument("--write", required=True, metavar="PATH",
                        help="the file to write, e.g. work/mnist.json.gz (default: none, required)")
    parser.add_argument("--example-image", metavar="PATH",
                        help="also write the course's sample digit (test image 0) there (default: none)")
    parser.add_argument("--data-dir", help="MNIST IDX files to read (default: the verified cache)")
    for name, count in DEFAULT_COUNTS.items():
        parser.add_argument(f"--{name}", type=int, default=count,
                            help=f"images in the {name} part (default: {count})")
    args = parser.parse_args(argv)
    parts = aistudio_parts({name: getattr(args, name) for name in DEFAULT_COUNTS}, args.data_dir)
    Path(args.write).parent.mkdir(parents=True, exist_ok=True)
    written = write_aistudio(args.write, parts)
    sizes = "/".join(str(len(parts[name][1])) for name in PART_NAMES)
    print(f"wrote {written} ({sizes} train/val/eval images)")
    if args.example_image:
        Path(args.example_image).parent.mkdir(parents=True, exist_ok=True)
        print(f"wrote {write_example_image(args.example_image, parts['eval'][0][0])}")
    return 0


if __name__ == "__main__":
    import sys

    from ..errors import run_cli

    sys.exit(run_cli(main))
