"""The training script `paddle.distributed.launch` runs on every rank: `python -m legacy_mnist.train` as a file.

Run:  python -m paddle.distributed.launch --nproc_per_node 2 legacy_mnist/dist_train.py --model cnn ...
      python -m paddle.distributed.launch --ips 10.0.0.1,10.0.0.2 --nproc_per_node 2 legacy_mnist/dist_train.py ...
(`python -m legacy_mnist.train --nproc 2 ...` runs the first line for you; docs/scaling.md has the rest.)
"""
import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a file, Python puts this file's folder (the package's inside) first on sys.path, where our
    # module names (config, dataset, ...) would shadow top-level ones; put the checkout that holds this file
    # there instead, so that the ranks run this very copy of the package.
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    from legacy_mnist.train import cli

    cli()
