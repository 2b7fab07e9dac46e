"""legacy_mnist: MNIST digit recognition as a static-graph PaddlePaddle pipeline, fluid-era compatible.

Train:    python -m legacy_mnist.train
Predict:  python -m legacy_mnist.infer IMAGE [IMAGE ...]
"""
__version__ = "0.1.0"
