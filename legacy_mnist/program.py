"""Build the static Programs: feeds -> network -> cost/accuracy -> test clone -> optimizer.

Not run directly; `legacy_mnist.train` calls `build_programs`. This is the book's flow: the test program is
taken from the main program *before* `minimize`, so it holds no backward or optimizer ops. Under the legacy
IR that is `main.clone(for_test=True)`; under PIR (where that clone raises) the forward is built a second
time in its own program with the same parameter names, in inference mode.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import TrainConfig
from .nets import NETWORKS, LayerInfo, Layers, resolve_activation
from .paddle_env import import_paddle, ir_guard

FEED_IMAGE = "img"
FEED_LABEL = "label"


@dataclass
class Programs:
    main: Any
    startup: Any
    test: Any
    image: Any  # feed variable in `test` (what the export is pruned to)
    label: Any
    prediction: Any  # softmax probabilities in `test`
    train_fetches: list  # [avg_cost, accuracy] in `main`
    test_fetches: list  # [avg_cost, accuracy] in `test`
    train_feeds: list  # [img, label] in `main` (DataFeeder's feed_list)
    lr_scheduler: Any  # paddle LRScheduler or None
    summary: list[LayerInfo]


def _head(paddle, img, label, cfg: TrainConfig, training: bool):
    """Network, probabilities, mean cross-entropy and accuracy for one program."""
    layers = Layers(cfg.ir, training)
    logits = NETWORKS[cfg.model](img, layers, resolve_activation(cfg.model, cfg.activation))
    prediction = paddle.nn.functional.softmax(logits)
    # Cross-entropy on logits is the numerically stable form of the book's cross_entropy(softmax(x)).
    avg_cost = paddle.mean(paddle.nn.functional.cross_entropy(logits, label))
    accuracy = paddle.static.accuracy(input=prediction, label=label)
    return prediction, avg_cost, accuracy, layers.summary


def _optimizer(paddle, cfg: TrainConfig, total_steps: int):
    lr, decay = cfg.optimizer_defaults()
    scheduler = None
    if cfg.lr_schedule == "cosine":
        scheduler = paddle.optimizer.lr.CosineAnnealingDecay(lr, T_max=max(1, total_steps))
    elif cfg.lr_schedule == "step":
        scheduler = paddle.optimizer.lr.StepDecay(lr, step_size=max(1, (2 * total_steps) // 3), gamma=0.1)
    rate = scheduler if scheduler is not None else lr
    regularizer = paddle.regularizer.L2Decay(decay) if decay else None
    if cfg.optimizer == "adam":
        opt = paddle.optimizer.Adam(learning_rate=rate, weight_decay=regularizer)
    elif cfg.optimizer == "momentum":
        opt = paddle.optimizer.Momentum(learning_rate=rate, momentum=0.9, weight_decay=regularizer)
    else:
        opt = paddle.optimizer.SGD(learning_rate=rate, weight_decay=regularizer)
    return opt, scheduler


def build_programs(cfg: TrainConfig, total_steps: int = 1) -> Programs:
    """Create main/startup/test Programs for `cfg.model` under `cfg.ir`; `total_steps` sizes LR schedules."""
    paddle = import_paddle()
    with ir_guard(cfg.ir):
        main, startup = paddle.static.Program(), paddle.static.Program()
    main.random_seed = startup.random_seed = cfg.seed
    with ir_guard(cfg.ir), paddle.static.program_guard(main, startup), paddle.utils.unique_name.guard():
        img = paddle.static.data(FEED_IMAGE, [None, 1, 28, 28], "float32")
        label = paddle.static.data(FEED_LABEL, [None, 1], "int64")
        prediction, avg_cost, accuracy, summary = _head(paddle, img, label, cfg, training=True)
        if cfg.ir == "legacy":
            test = main.clone(for_test=True)
            test_img, test_label = test.global_block().var(FEED_IMAGE), test.global_block().var(FEED_LABEL)
            test_block = test.global_block()
            test_prediction = test_block.var(prediction.name)
            test_fetches = [test_block.var(avg_cost.name), test_block.var(accuracy.name)]
        optimizer, scheduler = _optimizer(paddle, cfg, total_steps)
        optimizer.minimize(avg_cost)
    if cfg.ir == "pir":
        with ir_guard("pir"):
            test, test_startup = paddle.static.Program(), paddle.static.Program()
        with ir_guard("pir"), paddle.static.program_guard(test, test_startup), paddle.utils.unique_name.guard():
            test_img = paddle.static.data(FEED_IMAGE, [None, 1, 28, 28], "float32")
            test_label = paddle.static.data(FEED_LABEL, [None, 1], "int64")
            test_prediction, test_cost, test_acc, _ = _head(paddle, test_img, test_label, cfg, training=False)
            test_fetches = [test_cost, test_acc]
    return Programs(
        main=main, startup=startup, test=test, image=test_img, label=test_label, prediction=test_prediction,
        train_fetches=[avg_cost, accuracy], test_fetches=test_fetches, train_feeds=[img, label],
        lr_scheduler=scheduler, summary=summary,
    )
