"""Build the static Programs: feeds -> network -> cost/accuracy -> test clone -> optimizer.

Not run directly; `legacy_mnist.train` calls `build_programs`. This is the book's flow: the test program is
taken from the main program *before* `minimize`, so it holds no backward or optimizer ops. Under the legacy
IR that is `main.clone(for_test=True)`; under PIR (where that clone raises) the forward is built a second
time in its own program with the same parameter names, in inference mode.

Speed (measured in docs/benchmarks.md; run `python -m legacy_mnist.bench`): under the legacy IR the training
program's max pools keep their argmax (`max_pool2d_with_index`, whose gradient is a scatter instead of a
search), the conv biases are added in the fluid-era `axis=1` form (Paddle's fast row-wise kernels), and conv2d
and its gradient run on oneDNN (2-3x faster than Paddle's im2col kernels on CPU). The per-pass evaluation runs
a copy of the test program with the same conv and bias kernels; the export is pruned from the untouched one.
`configure_runtime` runs the executor's ops in the calling thread and gives the math library every core.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..config import TrainConfig
from .nets import NETWORKS, LayerInfo, Layers, resolve_activation
from ..paddle_env import available_cores, import_paddle, ir_guard

FEED_IMAGE = "img"
FEED_LABEL = "label"


@dataclass
class Programs:
    main: Any
    startup: Any
    test: Any  # the book's test program: what the export is pruned from
    evaluation: Any  # `test` with the training program's fast kernels, for the per-pass evaluation
    image: Any  # feed variable in `test` (what the export is pruned to)
    label: Any
    prediction: Any  # softmax probabilities in `test`
    train_fetches: list  # [avg_cost, accuracy] in `main`
    test_fetches: list  # [avg_cost, accuracy] in `test`
    evaluation_fetches: list  # the same in `evaluation`
    train_feeds: list  # [img, label] in `main` (DataFeeder's feed_list)
    lr_scheduler: Any  # paddle LRScheduler or None
    summary: list[LayerInfo]


def _head(paddle, img, label, cfg: TrainConfig, training: bool):
    """Network, probabilities, mean cross-entropy and accuracy for one program."""
    layers = Layers(cfg.ir, training, cfg.resolved_init)
    logits = NETWORKS[cfg.model](img, layers, resolve_activation(cfg.model, cfg.activation))
    prediction = paddle.nn.functional.softmax(logits)
    # Cross-entropy on logits is the numerically stable form of the book's cross_entropy(softmax(x)).
    smoothing = {"label_smoothing": cfg.label_smoothing} if cfg.label_smoothing else {}
    avg_cost = paddle.mean(paddle.nn.functional.cross_entropy(logits, label, **smoothing))
    accuracy = paddle.static.accuracy(input=prediction, label=label)
    return prediction, avg_cost, accuracy, layers.summary


def _optimizer(paddle, cfg: TrainConfig, total_steps: int):
    lr, decay = cfg.optimizer_defaults()
    scheduler = None
    if cfg.lr_schedule == "cosine":
        scheduler = paddle.optimizer.lr.CosineAnnealingDecay(lr, T_max=max(1, total_steps))
    elif cfg.lr_schedule == "step":
        scheduler = paddle.optimizer.lr.StepDecay(lr, step_size=max(1, (2 * total_steps) // 3), gamma=0.1)
    elif cfg.lr_schedule == "onecycle":
        # PyTorch's OneCycleLR defaults: from lr/25 up to lr over 30% of the steps, cosine down to lr/25e4.
        scheduler = paddle.optimizer.lr.OneCycleLR(lr, max(2, total_steps), divide_factor=25.0,
                                                   end_learning_rate=lr / 25e4, phase_pct=0.3)
    rate = scheduler if scheduler is not None else lr
    if cfg.optimizer == "adamw":  # decoupled decay, not an L2 term in the gradient
        return paddle.optimizer.AdamW(learning_rate=rate, weight_decay=decay), scheduler
    regularizer = paddle.regularizer.L2Decay(decay) if decay else None
    if cfg.optimizer == "adam":
        opt = paddle.optimizer.Adam(learning_rate=rate, weight_decay=regularizer)
    elif cfg.optimizer == "momentum":
        opt = paddle.optimizer.Momentum(learning_rate=rate, momentum=0.9, weight_decay=regularizer)
    else:
        opt = paddle.optimizer.SGD(learning_rate=rate, weight_decay=regularizer)
    return opt, scheduler


# Ops in the calling thread; and no freeing of each step's intermediate tensors as soon as their last reader
# has run: the executor then reuses them from one step to the next (1.25x a training step, measured in
# docs/benchmarks.md). Either is left alone when the environment sets it.
RUNTIME_FLAGS = {"FLAGS_new_executor_serial_run": True, "FLAGS_eager_delete_tensor_gb": -1.0}


def configure_runtime(paddle, num_threads: int | None = None) -> int:
    """Process-wide CPU settings the programs are tuned for; returns the math-library thread count.

    Paddle's default is one math thread; None gives every available core, as PyTorch does. Its standalone
    executor hands ops to a worker pool by default, where each op's oneDNN/OpenMP team fights the executor
    threads for the cores: running the ops in the calling thread measured 1.6x faster on 2 cores. See
    RUNTIME_FLAGS for the flags set here.
    """
    threads = num_threads or available_cores()
    paddle.base.core.set_num_threads(threads)
    for flag, value in RUNTIME_FLAGS.items():
        if flag not in os.environ:
            paddle.set_flags({flag: value})
    return threads


def _index_max_pools(program) -> None:
    """Swap the forward max pools for `max_pool2d_with_index` (same output, plus the argmax mask).

    The plain pool2d gradient searches each window again for its maximum; the indexed one scatters through
    the saved mask (2x faster here). Called on the main program after the test clone, so the test program
    and the export keep the book's pool2d.
    """
    block = program.global_block()
    for index, op in enumerate(list(block.ops)):
        if (op.type != "pool2d" or op.attr("pooling_type") != "max" or op.attr("global_pooling")
                or op.attr("adaptive") or op.attr("data_format") != "NCHW"
                or op.attr("padding_algorithm") != "EXPLICIT"):
            continue
        x, out = op.input("X")[0], op.output("Out")[0]
        mask = block.create_var(name=f"{out}.argmax", shape=block.var(out).shape, dtype="int32",
                                stop_gradient=True)
        attrs = {name: op.attr(name) for name in ("ksize", "strides", "paddings", "ceil_mode")}
        block._remove_op(index, sync=False)
        block._insert_op_without_sync(index, type="max_pool2d_with_index", inputs={"X": [x]},
                                      outputs={"Out": [out], "Mask": [mask]},
                                      attrs=dict(attrs, global_pooling=False, adaptive=False))
    block._sync_with_cpp()


def _add_channel_biases_in_place(program) -> None:
    """Turn `x + reshape(bias, [1, C, 1, 1])` into the fluid-era `elementwise_add(x, bias, axis=1)`.

    The same sum, but Paddle's CPU kernels take their row-wise fast path for the axis form, forward and
    backward, instead of the generic broadcast (measured: docs/benchmarks.md). Only in the training and
    evaluation programs: the test program and the export keep the reshape form, whose broadcast survives
    Paddle Inference's PIR translation.
    """
    block = program.global_block()
    producers = {op.output("Out")[0]: op for op in block.ops if op.type == "reshape2"}
    dead = []
    for op in block.ops:
        if op.type != "elementwise_add" or op.input("Y")[0] not in producers:
            continue
        reshape = producers[op.input("Y")[0]]
        bias = block.var(reshape.input("X")[0])
        if len(bias.shape) != 1 or list(reshape.attr("shape")) != [1, -1, 1, 1]:
            continue
        op._rename_input(op.input("Y")[0], bias.name)
        op._set_attr("axis", 1)
        dead.append(reshape)
    for reshape in dead:
        block._remove_op(list(block.ops).index(reshape), sync=False)
    block._sync_with_cpp()


def _remove_test_dropouts(program) -> None:
    """Drop the test program's dropouts: inverted dropout at test time is the identity, so the export and
    every runtime that loads it (Paddle Inference, ONNX, OpenVINO) need no dropout op."""
    block = program.global_block()
    for op in list(block.ops):
        if op.type != "dropout":
            continue
        if not op.attr("is_test") or op.attr("dropout_implementation") != "upscale_in_train":
            raise AssertionError(f"a test-program dropout that is not the identity: {op}")
        source, target = op.input("X")[0], op.output("Out")[0]
        for reader in block.ops:
            if target in reader.input_arg_names:
                reader._rename_input(target, source)
        block._remove_op(list(block.ops).index(op), sync=False)
    block._sync_with_cpp()


def _use_onednn_convs(paddle, program) -> None:
    """Run conv2d (and its gradient) on oneDNN, where the wheel has it.

    In training mode (`is_test` false, set here also on an evaluation program's convs): oneDNN's inference
    conv caches its reordered weights across runs, and the optimizer updates the weights in place, so an
    evaluation after more training silently used the weights of the first evaluation. In training mode the
    weights are read on every run (the same accuracies as Paddle's own kernels, 1.8x faster).

    Only the convs: the global FLAGS_use_mkldnn also moves pool2d_grad and friends to oneDNN, which fails
    in training ("could not reshape a memory descriptor"), and oneDNN elementwise/activation ops cost more
    in layout conversions than they save on these small tensors.
    """
    if not paddle.base.core.is_compiled_with_mkldnn():
        return
    for op in program.global_block().ops:
        if op.type in ("conv2d", "conv2d_grad"):
            op._set_attr("use_mkldnn", True)
            if op.has_attr("is_test"):
                op._set_attr("is_test", False)


def build_programs(cfg: TrainConfig, total_steps: int = 1, wrap_optimizer=None) -> Programs:
    """Create main/startup/test Programs for `cfg.model` under `cfg.ir`; `total_steps` sizes LR schedules.

    `wrap_optimizer(optimizer)` may return a distributed optimizer (Fleet's) whose `minimize` is used instead.
    """
    paddle = import_paddle()
    configure_runtime(paddle, cfg.num_threads)
    with ir_guard(cfg.ir):
        main, startup = paddle.static.Program(), paddle.static.Program()
    main.random_seed = startup.random_seed = cfg.seed
    with ir_guard(cfg.ir), paddle.static.program_guard(main, startup), paddle.utils.unique_name.guard():
        img = paddle.static.data(FEED_IMAGE, [None, 1, 28, 28], "float32")
        label = paddle.static.data(FEED_LABEL, [None, 1], "int64")
        prediction, avg_cost, accuracy, summary = _head(paddle, img, label, cfg, training=True)
        if cfg.ir == "legacy":
            test = main.clone(for_test=True)
            _remove_test_dropouts(test)
            test_img, test_label = test.global_block().var(FEED_IMAGE), test.global_block().var(FEED_LABEL)
            test_block = test.global_block()
            test_prediction = test_block.var(prediction.name)
            test_fetches = [test_block.var(avg_cost.name), test_block.var(accuracy.name)]
            _index_max_pools(main)
            _add_channel_biases_in_place(main)
        optimizer, scheduler = _optimizer(paddle, cfg, total_steps)
        if wrap_optimizer is not None:
            optimizer = wrap_optimizer(optimizer)
        optimizer.minimize(avg_cost)
        if cfg.ir == "legacy":
            _use_onednn_convs(paddle, main)
            evaluation = test.clone()  # the export keeps the book's program; evaluation gets the speed
            _add_channel_biases_in_place(evaluation)
            _use_onednn_convs(paddle, evaluation)
            evaluation_fetches = [evaluation.global_block().var(var.name) for var in test_fetches]
    if cfg.ir == "pir":
        with ir_guard("pir"):
            test, test_startup = paddle.static.Program(), paddle.static.Program()
        with ir_guard("pir"), paddle.static.program_guard(test, test_startup), paddle.utils.unique_name.guard():
            test_img = paddle.static.data(FEED_IMAGE, [None, 1, 28, 28], "float32")
            test_label = paddle.static.data(FEED_LABEL, [None, 1], "int64")
            test_prediction, test_cost, test_acc, _ = _head(paddle, test_img, test_label, cfg, training=False)
            test_fetches = [test_cost, test_acc]
        evaluation, evaluation_fetches = test, test_fetches
    return Programs(
        main=main, startup=startup, test=test, evaluation=evaluation, image=test_img, label=test_label,
        prediction=test_prediction, train_fetches=[avg_cost, accuracy], test_fetches=test_fetches,
        evaluation_fetches=evaluation_fetches, train_feeds=[img, label], lr_scheduler=scheduler, summary=summary,
    )
