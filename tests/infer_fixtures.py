"""Small trained exports for the infer/export/evaluate tests (built once per test session).

Not run directly; test modules do `from infer_fixtures import tiny_exports` and use the `tiny_exports`
fixture. The book's CNN (conv 20 5x5 relu -> max pool -> batch norm -> conv 50 5x5 relu -> max pool ->
fc 10 softmax, input `img` float32 [N, 1, 28, 28] in [-1, 1]) is built here directly under the legacy IR,
trained for a few seconds, and exported with `legacy_mnist.export.export_inference_model`. The same
weights are copied into the same network built under PIR and exported as `.json`, so both formats must
give identical predictions. A one-layer softmax model is exported too, to be the "file from another
model" in error tests. Nothing here is imported by the package.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

TRAIN_STEPS = 150  # ~8 s on 2 cores; reaches ~92-95% on MNIST test
BATCH = 64
TRAIN_IMAGES = 6000
EVAL_IMAGES = 500


@dataclass(frozen=True)
class TinyExports:
    legacy: Path  # model.pdmodel + model.pdiparams
    pir: Path  # model.json + model.pdiparams, same weights
    other: Path  # a softmax-regression export (different parameters)
    wide: Path  # the book CNN with 32 first-layer filters, untrained (same tensor count, other shapes)
    images: np.ndarray  # uint8 [EVAL_IMAGES, 28, 28]: MNIST test digits
    labels: np.ndarray  # int64 [EVAL_IMAGES]
    reference: np.ndarray  # probabilities of `images` from the training-time test program
    accuracy: float  # of `reference` against `labels`


def _book_cnn_legacy(paddle):
    img = paddle.static.data("img", [None, 1, 28, 28], "float32")
    x = paddle.static.nn.conv2d(img, 20, 5, act="relu")
    x = paddle.nn.functional.max_pool2d(x, 2, 2)
    x = paddle.static.nn.batch_norm(x)
    x = paddle.static.nn.conv2d(x, 50, 5, act="relu")
    x = paddle.nn.functional.max_pool2d(x, 2, 2)
    logits = paddle.static.nn.fc(x, 10)
    return img, logits


def _book_cnn_pir(paddle):
    img = paddle.static.data("img", [None, 1, 28, 28], "float32")
    conv1, norm, conv2, fc = (paddle.nn.Conv2D(1, 20, 5), paddle.nn.BatchNorm2D(20), paddle.nn.Conv2D(20, 50, 5),
                              paddle.nn.Linear(800, 10))
    norm.eval()
    x = paddle.nn.functional.max_pool2d(paddle.nn.functional.relu(conv1(img)), 2, 2)
    x = norm(x)
    x = paddle.nn.functional.max_pool2d(paddle.nn.functional.relu(conv2(x)), 2, 2)
    return img, paddle.nn.functional.softmax(fc(paddle.flatten(x, 1)))


# Legacy parameter names -> the same tensors in the PIR network (nn.Linear / nn.BatchNorm2D names).
_PIR_NAMES = {"fc_0": "linear_0", "batch_norm_0": "batch_norm2d_0"}


def _train_legacy(paddle, ir_guard, export_inference_model, build, out_dir, train_x, train_y, eval_x, steps, seed):
    """Train `build`'s network a few steps with Adam; export it; return (eval probabilities, weights)."""
    with ir_guard("legacy"):
        main, startup = paddle.static.Program(), paddle.static.Program()
        main.random_seed = startup.random_seed = seed
        with paddle.static.program_guard(main, startup), paddle.utils.unique_name.guard():
            img, logits = build(paddle)
            label = paddle.static.data("label", [None, 1], "int64")
            prediction = paddle.nn.functional.softmax(logits)
            loss = paddle.mean(paddle.nn.functional.cross_entropy(logits, label))
            test = main.clone(for_test=True)  # before minimize: no backward ops, batch norm in test mode
            paddle.optimizer.Adam(0.002).minimize(loss)
        exe = paddle.static.Executor(paddle.CPUPlace())
        scope = paddle.static.Scope()
        with paddle.static.scope_guard(scope):
            exe.run(startup)
            rng = np.random.default_rng(seed)
            for _ in range(steps):
                idx = rng.integers(0, len(train_x), BATCH)
                exe.run(main, feed={"img": train_x[idx], "label": train_y[idx, None]}, fetch_list=[loss])
            block = test.global_block()
            test_pred = block.var(prediction.name)
            (probs,) = exe.run(test, feed={"img": eval_x, "label": np.zeros((len(eval_x), 1), np.int64)},
                               fetch_list=[test_pred])
            export_inference_model(out_dir, [block.var("img")], [test_pred], exe, test)
            weights = {
                v.name: np.array(scope.find_var(v.name).get_tensor())
                for v in test.list_vars()
                if v.persistable and v.name not in ("feed", "fetch") and scope.find_var(v.name) is not None
            }
    return probs, weights


def _export_pir_copy(paddle, ir_guard, export_inference_model, weights, out_dir):
    """The book CNN built under PIR with the legacy run's weights, exported as model.json."""
    with ir_guard("pir"):
        main, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(main, startup):
            img, prediction = _book_cnn_pir(paddle)
        exe = paddle.static.Executor(paddle.CPUPlace())
        scope = paddle.static.Scope()
        with paddle.static.scope_guard(scope):
            exe.run(startup)
            for name, value in weights.items():
                prefix, rest = name.split(".", 1)
                target = scope.find_var(f"{_PIR_NAMES.get(prefix, prefix)}.{rest}")
                assert target is not None, f"no PIR parameter for {name}"
                target.get_tensor().set(value, paddle.CPUPlace())
            export_inference_model(out_dir, [img], [prediction], exe, main, ir="pir")


def _wide_cnn(paddle):
    img = paddle.static.data("img", [None, 1, 28, 28], "float32")
    x = paddle.nn.functional.max_pool2d(paddle.static.nn.conv2d(img, 32, 5, act="relu"), 2, 2)
    x = paddle.static.nn.batch_norm(x)
    x = paddle.nn.functional.max_pool2d(paddle.static.nn.conv2d(x, 50, 5, act="relu"), 2, 2)
    return img, paddle.static.nn.fc(x, 10)


def _softmax_regression(paddle):
    img = paddle.static.data("img", [None, 1, 28, 28], "float32")
    return img, paddle.static.nn.fc(img, 10)


def build_tiny_exports(root: Path, steps: int = TRAIN_STEPS, seed: int = 1) -> TinyExports:
    from legacy_mnist.dataset import load_split
    from legacy_mnist.export import export_inference_model
    from legacy_mnist.normalize import to_model_input
    from legacy_mnist.paddle_env import import_paddle, ir_guard

    paddle = import_paddle()
    train = load_split("train", log=lambda line: None)
    test = load_split("test", log=lambda line: None)
    train_x = to_model_input(train.images[:TRAIN_IMAGES])
    train_y = np.asarray(train.labels[:TRAIN_IMAGES], dtype=np.int64)
    images = np.array(test.images[:EVAL_IMAGES])
    labels = np.array(test.labels[:EVAL_IMAGES], dtype=np.int64)
    eval_x = to_model_input(images)
    tools = (paddle, ir_guard, export_inference_model)
    reference, weights = _train_legacy(*tools, _book_cnn_legacy, root / "cnn", train_x, train_y, eval_x, steps, seed)
    _export_pir_copy(*tools, weights, root / "cnn_pir")
    _train_legacy(*tools, _softmax_regression, root / "softmax", train_x, train_y, eval_x[:4], 1, seed)
    _train_legacy(*tools, _wide_cnn, root / "wide", train_x, train_y, eval_x[:4], 1, seed)
    accuracy = float(np.mean(reference.argmax(axis=1) == labels))
    return TinyExports(root / "cnn", root / "cnn_pir", root / "softmax", root / "wide", images, labels, reference,
                       accuracy)


_BUILT: dict[str, TinyExports] = {}


@pytest.fixture(scope="session")
def tiny_exports(tmp_path_factory, mnist_cache) -> TinyExports:
    """Built once per session even when several test modules import this fixture."""
    if "exports" not in _BUILT:
        _BUILT["exports"] = build_tiny_exports(tmp_path_factory.mktemp("tiny_exports"))
    return _BUILT["exports"]
