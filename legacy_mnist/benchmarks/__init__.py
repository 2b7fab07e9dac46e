"""The benchmark behind `python -m legacy_mnist.bench`: one module per section; `workers/` holds what each measured process runs."""
