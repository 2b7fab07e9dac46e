"""Write an export: the pruned program, its parameters, SHA256SUMS and metadata, swapped in atomically.

Not run directly; `legacy_mnist.export.export_inference_model` (docs/usage.md) is its public name, and `train` writes every export through it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping


from ..common.atomic import staged_dir
from .checksums import CHECKSUM_FILE, checksum_lines
from ..paddle_env import import_paddle, ir_guard
from .op_forms import fc_as_matmul


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
    directory before it is swapped in, so an export and its metadata always belong together. The model
    files' SHA-256 go into SHA256SUMS, which the loader checks (a damaged tensor would still load).
    """
    paddle = import_paddle()
    with staged_dir(save_dir) as staged:
        with ir_guard(ir):
            paddle.static.save_inference_model(
                str(staged / MODEL_PREFIX), list(feed_vars), list(fetch_vars), executor, program=program
            )
        if ir == "legacy":
            program_file = staged / f"{MODEL_PREFIX}.pdmodel"
            _drop_creation_stacks(program_file)
            program_file.write_bytes(fc_as_matmul(program_file.read_bytes()))
        model_names = sorted(p.name for p in staged.iterdir() if p.name.startswith(f"{MODEL_PREFIX}."))
        (staged / CHECKSUM_FILE).write_text(checksum_lines(staged, model_names), "utf-8")
        for name, content in (extra_files or {}).items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (staged / name).write_bytes(data)
    return Path(save_dir)


def _drop_creation_stacks(model_file: Path) -> None:
    """Empty the `op_callstack` of every op in a saved .pdmodel.

    `save_inference_model` records the Python stack, with this machine's absolute paths, on the feed and
    fetch ops it adds: the export would name the build directory, and the same training run elsewhere would
    give other bytes. The attribute stays (empty), so every loader sees the program it expects.
    """
    from paddle.base.proto import framework_pb2

    desc = framework_pb2.ProgramDesc()
    desc.ParseFromString(model_file.read_bytes())
    for block in desc.blocks:
        for op in block.ops:
            for attr in op.attrs:
                if attr.name == "op_callstack":
                    del attr.strings[:]
    model_file.write_bytes(desc.SerializeToString())


def write_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"
