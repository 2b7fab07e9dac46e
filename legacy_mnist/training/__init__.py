"""The training stage's machinery behind `python -m legacy_mnist.train` and `legacy_mnist.train.train`: networks, programs, augmentation, checkpoints, plots, data parallelism."""
