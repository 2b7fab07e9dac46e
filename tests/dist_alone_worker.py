"""A rank whose gradients are never all-reduced (tests only): what a data-parallel mode that silently trains
each rank alone looks like. Run by tests/test_distributed_launch.py through paddle.distributed.launch.
"""
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # run from a checkout without installing
from legacy_mnist.training import collective_ops
from legacy_mnist import train

collective_ops.gradient_names = lambda program: []  # nothing but batch norm statistics and the logged figures
train.cli()
