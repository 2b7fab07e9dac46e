"""Training configuration: one frozen dataclass, filled by argparse.

See every option:  python -m legacy_mnist.train --help
Why this is long: one frozen dataclass field and one argparse option per flag, with its default and help side
by side, so a flag is added in one place.
"""
from __future__ import annotations

import argparse
import math
import numbers
import os
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Sequence

from .errors import ArgumentParser, UserError
from .common.input_checks import check_seed, check_threads, is_int

MODELS = ("softmax", "mlp", "cnn", "lenet5", "vgg")
OPTIMIZERS = ("adam", "adamw", "momentum", "sgd")
LR_SCHEDULES = ("none", "cosine", "step", "onecycle")
AUGMENTS = ("none", "affine", "full")  # legacy_mnist.training.augment says what each draws
READERS = ("array", "legacy")
# fan-in: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), what PyTorch's layers start from.
# fluid: Paddle's own defaults, what the book trained from (conv N(0, 2/fan_in), fc Xavier, biases 0).
INITS = ("fan-in", "fluid")
# Measured over seeds 1-3, 5 passes (docs/benchmarks.md): cnn 99.23-99.29% test from fan-in vs 98.98% from
# fluid; mlp 97.70-98.10% from fluid vs 97.41-97.54% from fan-in; softmax the same either way.
DEFAULT_INIT = {"softmax": "fan-in", "mlp": "fluid", "cnn": "fan-in", "lenet5": "fan-in", "vgg": "fan-in"}

# The v2 tutorial's Momentum numbers, taken literally on our batch-mean cost. (Rescaling them as if v2 had
# summed the cost over the batch gives lr 0.05 at batch 64, which diverges with momentum 0.9 here.)
V2_MOMENTUM_LR = 0.1 / 128
V2_MOMENTUM_L2 = 5e-4 * 128
DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "sgd": 0.01, "momentum": V2_MOMENTUM_LR}
ADAMW_DECAY = 0.01  # decoupled weight decay, PyTorch's and Paddle's AdamW default
# Softmax regression is a convex linear model that 5 passes at Adam 1e-3 leave short of its optimum
# (92.05% test); 1e-2 reaches the book's 92.3% (92.32-92.40% over seeds 1-3, measured in docs/benchmarks.md).
ADAM_LR_BY_MODEL = {"softmax": 1e-2}
DEFAULT_AUGMENT = {"softmax": "none", "mlp": "none", "cnn": "none", "lenet5": "none", "vgg": "full"}
# A network's own training recipe where the generic defaults (the book's) do not fit it. The command line
# applies it to every flag not given; in Python, `TrainConfig.recipe("vgg", seed=2)`. Measured in
# docs/benchmarks.md ("Best model"): vgg with this recipe reaches 99.6% in under 15 minutes on 2 cores.
MODEL_RECIPES = {
    "vgg": dict(epochs=10, batch_size=128, optimizer="adamw", learning_rate=3e-3, lr_schedule="onecycle"),
}


@dataclass(frozen=True)
class TrainConfig:
    model: str = "cnn"  # the book's default network
    activation: str | None = None  # None: the model's own default (relu; softmax has none)
    epochs: int = 5  # the book's PASS_NUM
    batch_size: int = 64  # the book's BATCH_SIZE
    optimizer: str = "adam"
    learning_rate: float | None = None  # None: adam 1e-3 (softmax 1e-2), sgd 0.01, momentum per the v2 tutorial
    lr_schedule: str = "cosine"  # measured: cnn 98.93% vs 98.51% test with a constant rate over 5 passes
    weight_decay: float | None = None  # L2 (adamw: decoupled); None: 0, momentum the v2 tutorial's, adamw 0.01
    label_smoothing: float = 0.0  # share of the target spread over all 10 classes in the training cost
    augment: str | None = None  # None: the model's DEFAULT_AUGMENT (full for vgg, none for the book's nets)
    init: str | None = None  # None: the model's DEFAULT_INIT
    seed: int = 1  # same seed, same machine -> identical metrics
    val_size: int = 5000  # held out from the 60k training images to pick the best pass
    device: str = "cpu"
    ir: str = "legacy"  # legacy: .pdmodel exports Paddle 2.x loads; pir: Paddle 3 .json exports
    reader: str = "array"  # array: numpy batches; legacy: DataFeeder + paddle.batch(paddle.reader.shuffle)
    data_dir: str | None = None
    checkpoint_dir: str | None = None  # None: models/<model>/
    save_dir: str | None = None  # None: inference_model/<model>/
    resume: bool = False
    train_limit: int | None = None  # train on the first N training images (tests, quick checks)
    test_limit: int | None = None  # evaluate on the first N test images
    max_steps: int | None = None  # stop each run after this many optimizer steps in total
    log_every: int = 100
    log_format: str = "text"
    eval_batch_size: int = 1000  # evaluation needs no gradients: larger batches are faster
    num_threads: int | None = None  # CPU math threads; None: every core this process may use
    plot: bool = True  # write curves.png beside the export
    visualdl: str | None = None  # also write the JSON log's scalars for VisualDL into this directory
    verbose: bool = False

    @property
    def resolved_checkpoint_dir(self) -> Path:
        return Path(self.checkpoint_dir) if self.checkpoint_dir else Path("models") / self.model

    @property
    def resolved_save_dir(self) -> Path:
        return Path(self.save_dir) if self.save_dir else Path("inference_model") / self.model

    @property
    def resolved_init(self) -> str:
        return self.init or DEFAULT_INIT[self.model]

    @property
    def resolved_augment(self) -> str:
        return self.augment or DEFAULT_AUGMENT[self.model]

    @classmethod
    def recipe(cls, model: str, **changes) -> "TrainConfig":
        """`model` with its own training recipe (MODEL_RECIPES; the generic defaults otherwise), then `changes`."""
        return cls(**dict(dict(MODEL_RECIPES.get(model, {}), model=model), **changes))

    def optimizer_defaults(self) -> tuple[float, float]:
        """(learning rate, L2 coefficient) after filling in the optimizer's tutorial defaults."""
        lr = self.learning_rate
        if lr is None:
            lr = DEFAULT_LR[self.optimizer]
            if self.optimizer == "adam":
                lr = ADAM_LR_BY_MODEL.get(self.model, lr)
        if self.weight_decay is not None:
            return lr, self.weight_decay
        return lr, {"momentum": V2_MOMENTUM_L2, "adamw": ADAMW_DECAY}.get(self.optimizer, 0.0)

    def with_changes(self, **changes) -> "TrainConfig":
        return replace(self, **changes)


# Options whose command-line name is not the field name with dashes.
_FLAGS = {"learning_rate": "lr"}


def _flag(name: str) -> str:
    return "--" + _FLAGS.get(name, name).replace("_", "-")


def _check_types(cfg: TrainConfig) -> None:
    """Each field holds the type its annotation says (a Python caller's cfg, not argparse's, can hold anything)."""
    for item in fields(TrainConfig):
        value, annotation = getattr(cfg, item.name), str(item.type)
        if value is None and "None" in annotation:
            continue
        kind = annotation.split("|")[0].strip()
        if kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "int":
            ok = is_int(value)
        elif kind == "float":
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        else:  # str; the directories may also be path objects
            ok = isinstance(value, str) or (item.name.endswith("_dir") and isinstance(value, os.PathLike))
            ok = ok and "\0" not in str(value)
        if not ok:
            expected = {"float": "a finite number", "int": "an integer", "bool": "True or False"}.get(kind, "a string")
            raise UserError(f"{_flag(item.name)}: expected {expected}, got {value!r}")


def validate(cfg: TrainConfig) -> TrainConfig:
    """Reject impossible settings with a one-line message naming the option (the CLI's messages, for
    `train(cfg)` callers too)."""
    if not isinstance(cfg, TrainConfig):
        raise UserError(f"train() takes a legacy_mnist.config.TrainConfig, got {type(cfg).__name__}")
    _check_types(cfg)
    choices = {"model": MODELS, "optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES, "reader": READERS,
               "device": ("cpu", "gpu"), "ir": ("legacy", "pir"), "log_format": ("text", "json")}
    if cfg.augment is not None:
        choices["augment"] = AUGMENTS
    for name, allowed in choices.items():
        if getattr(cfg, name) not in allowed:
            raise UserError(f"--{name.replace('_', '-')}: {getattr(cfg, name)!r} is not one of {', '.join(allowed)}")
    if cfg.init is not None and cfg.init not in INITS:
        raise UserError(f"--init: {cfg.init!r} is not one of {', '.join(INITS)}")
    if cfg.activation is not None and cfg.activation not in ("relu", "tanh", "sigmoid"):
        raise UserError(f"--activation: {cfg.activation!r} is not one of relu, tanh, sigmoid")
    for name in ("epochs", "batch_size", "log_every", "eval_batch_size"):
        if getattr(cfg, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(cfg, name)}")
    for name in ("train_limit", "test_limit", "max_steps", "num_threads"):
        value = getattr(cfg, name)
        if value is not None and value <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    if cfg.val_size < 0:
        raise UserError(f"--val-size must be >= 0, got {cfg.val_size}")
    if cfg.learning_rate is not None and not cfg.learning_rate > 0:
        raise UserError(f"--lr must be positive, got {cfg.learning_rate}")
    if cfg.weight_decay is not None and cfg.weight_decay < 0:
        raise UserError(f"--weight-decay must be >= 0, got {cfg.weight_decay}")
    check_seed(cfg.seed, "seed")
    check_threads(cfg.num_threads, "num-threads")
    if not 0 <= cfg.label_smoothing < 1:
        raise UserError(f"--label-smoothing must be in [0, 1), got {cfg.label_smoothing}")
    return cfg


class _Parser(ArgumentParser):
    """argparse that raises UserError (one line, exit 2 via run_cli) instead of printing usage."""

    def error(self, message):
        raise UserError(message)


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = _Parser(prog="python -m legacy_mnist.train", description="Train an MNIST network as a static Paddle program.")
    recipes = "; ".join(f"{model}: " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in recipe.items())
                        for model, recipe in MODEL_RECIPES.items())
    p.add_argument("--model", choices=MODELS, default=d.model,
                   help=f"network to train; a model's own recipe replaces the defaults of flags not given "
                        f"({recipes}) (default: {d.model})")
    p.add_argument("--activation", choices=("relu", "tanh", "sigmoid"), default=None,
                   help="hidden activation for mlp/cnn/lenet5; the book's mlp used tanh (default: relu)")
    p.add_argument("--epochs", "--num-epochs", type=int, default=d.epochs, help=f"passes over the training set (default: {d.epochs})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"images per step (default: {d.batch_size})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help=f"optimizer (default: {d.optimizer})")
    p.add_argument("--lr", "--learning-rate", dest="learning_rate", type=float, default=None,
                   help="learning rate (default: adam 1e-3, for softmax 1e-2; sgd 0.01; momentum 0.1/128 as in the v2 tutorial)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d.lr_schedule,
                   help=f"learning-rate schedule over all steps: cosine decay, x0.1 at 2/3 of the run, or one-cycle "
                        f"(up from lr/25 for 30%% of the steps, then cosine down to lr/25e4) (default: {d.lr_schedule})")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="L2 regularisation coefficient; for adamw the decoupled weight decay (default: 0; momentum: "
                        "the v2 tutorial's 5e-4*128; adamw: 0.01)")
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing,
                   help=f"spread this share of each training target over all classes (default: {d.label_smoothing})")
    p.add_argument("--augment", choices=AUGMENTS, default=None,
                   help="redraw each training batch: affine (rotate, scale, shear, shift), full (also elastic, "
                        "stroke width, low resolution, blur) (default: full for vgg, none for the others)")
    p.add_argument("--init", choices=INITS, default=None,
                   help="initial weights: fan-in is U(+-1/sqrt(fan_in)) as in PyTorch, fluid is Paddle's defaults "
                        "the book trained from (default: fluid for mlp, fan-in for the others)")
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed for initialisation and shuffling (default: {d.seed})")
    p.add_argument("--val-size", type=int, default=d.val_size,
                   help=f"training images held out to choose the best pass; 0 keeps the last pass (default: {d.val_size})")
    p.add_argument("--device", choices=("cpu", "gpu"), default=d.device, help=f"where to run (default: {d.device})")
    p.add_argument("--use_gpu", "--use-gpu", dest="use_gpu", default=None, metavar="BOOL",
                   help="legacy alias of --device: true/1 -> gpu, false/0 -> cpu (default: unset)")
    p.add_argument("--ir", choices=("legacy", "pir"), default=d.ir,
                   help="Paddle IR; legacy exports .pdmodel that Paddle 2.x loads, pir exports .json and trains "
                        f"2.3-2.9x slower on CPU (measured, docs/usage.md) (default: {d.ir})")
    p.add_argument("--reader", choices=READERS, default=d.reader,
                   help=f"array: numpy batches; legacy: DataFeeder over paddle.batch(paddle.reader.shuffle(...)) (default: {d.reader})")
    p.add_argument("--data-dir", default=None, help="directory with the four MNIST IDX files, or mnist.json.gz (default: cache, then fetch)")
    p.add_argument("--checkpoint-dir", default=None, help="where per-pass checkpoints go (default: models/<model>/)")
    p.add_argument("--save-dir", default=None, help="where the best pass is exported (default: inference_model/<model>/)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --checkpoint-dir (default: off)")
    p.add_argument("--train-limit", type=int, default=None, help="train on the first N training images (default: all)")
    p.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test images (default: all)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps (default: no limit)")
    p.add_argument("--dry-run", action="store_true",
                   help="5 steps on a small subset, to check the whole path in seconds; writes into a new directory under the temp dir "
                        "unless --checkpoint-dir/--save-dir are given (default: off)")
    p.add_argument("--log-every", type=int, default=d.log_every, help=f"log the training cost every N steps (default: {d.log_every})")
    p.add_argument("--log-format", choices=("text", "json"), default=d.log_format,
                   help=f"text in the book's form, or one JSON object per line (default: {d.log_format})")
    p.add_argument("--eval-batch-size", type=int, default=d.eval_batch_size, help=f"batch size for evaluation (default: {d.eval_batch_size})")
    p.add_argument("--num-threads", type=int, default=None,
                   help="CPU math threads (default: every available core, split between --nproc ranks)")
    p.add_argument("--nproc", type=int, default=1,
                   help="data-parallel processes on this machine, started through paddle.distributed.launch; "
                        "--batch-size stays the global batch (default: 1)")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="do not write curves.png (default: write it)")
    p.add_argument("--visualdl", metavar="LOGDIR", default=None,
                   help="also write the JSON log's scalars for VisualDL (`visualdl --logdir LOGDIR`); needs the "
                        "visualdl extra (default: off)")
    p.add_argument("--summary", action="store_true", help="print the model summary and exit (default: off)")
    p.add_argument("-v", "--verbose", action="store_true", help="show Paddle's own log output (default: off)")
    return p


DRY_RUN = dict(epochs=1, train_limit=512, test_limit=256, val_size=128, max_steps=5, log_every=1)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise UserError(f"--use_gpu: expected true or false, got {text!r}")


def parse_args(argv: Sequence[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    """argv -> (validated TrainConfig, the raw namespace for command-only flags like --summary)."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.model in MODEL_RECIPES:  # the model's recipe as the defaults, then the flags given win again
        parser.set_defaults(**MODEL_RECIPES[ns.model])
        ns = parser.parse_args(argv)
    if ns.nproc < 1:
        raise UserError(f"--nproc must be a positive integer, got {ns.nproc}")
    values = {f.name: getattr(ns, f.name) for f in fields(TrainConfig) if hasattr(ns, f.name)}
    if ns.use_gpu is not None:
        values["device"] = "gpu" if _parse_bool(ns.use_gpu) else "cpu"
    cfg = validate(TrainConfig(**values))
    if ns.dry_run:
        # A dry run must never replace real checkpoints or the shipped export with its 5-step model.
        # Its own directory each time, so that two dry runs at once never share (or lock) a checkpoint dir.
        scratch = None if cfg.checkpoint_dir and cfg.save_dir else Path(tempfile.mkdtemp(prefix="legacy_mnist-dry-run-"))
        cfg = cfg.with_changes(**DRY_RUN, checkpoint_dir=cfg.checkpoint_dir or str(scratch / "models" / cfg.model),
                               save_dir=cfg.save_dir or str(scratch / "inference_model" / cfg.model))
    return cfg, ns


def to_argv(cfg: TrainConfig) -> list[str]:
    """The options that make `parse_args` rebuild `cfg` (settings at their defaults left out)."""
    names = {f.name for f in fields(TrainConfig)}
    argv: list[str] = []
    for action in build_parser()._actions:
        if action.dest not in names or not action.option_strings:
            continue
        flag = next(o for o in action.option_strings if o.startswith("--"))
        value = getattr(cfg, action.dest)
        if isinstance(action, argparse._StoreTrueAction):
            argv += [flag] if value else []
        elif isinstance(action, argparse._StoreFalseAction):
            argv += [] if value else [flag]
        elif value is not None and value != action.default:
            argv += [flag, str(value)]
    return argv


def resume_argv(cfg: TrainConfig) -> list[str]:
    """The command that continues this training from its last checkpoint."""
    return ["python", "-m", "legacy_mnist.train", *to_argv(cfg.with_changes(resume=True))]
