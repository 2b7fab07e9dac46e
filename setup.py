"""Install legacy_mnist: `pip install .` (or `pip install -e ".[test]"` for development)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


setup(
    name="legacy_mnist",
    version="0.1.0",
    description="MNIST digit recognition as a static-graph PaddlePaddle pipeline, fluid-era compatible",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["legacy_mnist", "legacy_mnist.*"]),
    # The shipped models (legacy_mnist/shipped_models/<name>/) are package data: they install beside the code,
    # and `train` never writes there (it exports to ./inference_model/<model>/).
    package_data={"legacy_mnist": ["shipped_models/*/*"]},
    install_requires=[
        "paddlepaddle>=3.3,<4",
        "numpy>=1.23",
        "pillow>=9.1",
        # Training curves, confusion matrix and galleries are PNGs: matplotlib is the tool for that.
        "matplotlib>=3.5",
    ],
    extras_require={
        "onnx": ["onnxruntime>=1.16", "paddle2onnx==2.1.0"],
        "test": ["pytest>=7", "onnxruntime>=1.16", "paddle2onnx==2.1.0"],
        "bench": ["torch==2.13.0", "onnxruntime>=1.16"],
    },
    entry_points={
        "console_scripts": [
            "legacy-mnist-train=legacy_mnist.train:cli",
            "legacy-mnist-infer=legacy_mnist.infer:cli",
            "legacy-mnist-evaluate=legacy_mnist.evaluate:cli",
            "legacy-mnist-export=legacy_mnist.export:cli",
        ]
    },
)
