"""Export a trained program as an inference model (the book's contract: `img` -> softmax probabilities).

Run:  python -m legacy_mnist.export --model-dir inference_model/cnn --onnx cnn.onnx
(`train` calls `export_inference_model` itself; the command line converts an export to ONNX.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from .atomic import staged_dir
from .paddle_env import import_paddle, ir_guard

MODEL_PREFIX = "model"  # files: model.pdmodel + model.pdiparams (legacy IR) or model.json (PIR)
INPUT_NAME = "img"


def export_inference_model(
    save_dir: str | Path,
    feed_vars,
    fetch_vars,
    executor,
    program,
    *,
    ir: str = "legacy",
    extra_files: Mapping[str, bytes | str] | None = None,
) -> Path:
    """Save `program` pruned to `feed_vars -> fetch_vars` into `save_dir`, replacing it atomically.

    `extra_files` (name -> content), e.g. metrics.json and the training curves, are written into the same
    directory before it is swapped in, so an export and its metadata always belong together.
    """
    paddle = import_paddle()
    with staged_dir(save_dir) as staged:
        with ir_guard(ir):
            paddle.static.save_inference_model(
                str(staged / MODEL_PREFIX), list(feed_vars), list(fetch_vars), executor, program=program
            )
        for name, content in (extra_files or {}).items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (staged / name).write_bytes(data)
    return Path(save_dir)


def write_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"
