"""The exported model's files, written by `legacy_mnist.export` and read by inference: formats, SHA256SUMS, vetting, reading."""
