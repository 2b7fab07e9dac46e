"""The inference stage's machinery behind `python -m legacy_mnist.infer` and `legacy_mnist.infer.load_model`: images, backends, output rows."""
