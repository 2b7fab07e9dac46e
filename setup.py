"""Install legacy_mnist: `pip install .` (or `pip install -e ".[test]"` for development)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
ONNX = ["onnxruntime>=1.16", "paddle2onnx==2.1.0"]  # export --onnx, infer --backend onnx
BENCH = ["torch==2.13.0", "onnxruntime>=1.16", "paddle2onnx==2.1.0"]  # python -m legacy_mnist.bench's peers
# train --visualdl. Measured beside paddlepaddle 3.3.1: it changes no installed version (protobuf, numpy, pillow
# stay), adding pandas, psutil, Flask-Babel, bce-python-sdk and a few smaller packages.
VISUALDL = ["visualdl==2.5.3"]
OPENVINO = ["openvino==2026.4.0"]  # infer --backend openvino (reads our .pdmodel through its Paddle frontend)


setup(
    name="legacy_mnist",
    version=re.search(r'__version__ = "([^"]+)"', (HERE / "legacy_mnist" / "__init__.py").read_text()).group(1),
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
        # The training progress bar: the field's standard one (width-aware, rate and ETA, silent off a terminal).
        "tqdm>=4.60",
    ],
    # Optional packages: a command that needs one fails with one line naming its extra (legacy_mnist.common.extras).
    extras_require={
        "onnx": ONNX,
        "bench": BENCH,
        "visualdl": VISUALDL,
        "openvino": OPENVINO,
        # Everything the test suite runs against, so that no test ever installs a package at run time.
        "test": ["pytest>=7", *ONNX, *BENCH, *VISUALDL, *OPENVINO],
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
