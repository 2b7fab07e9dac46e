"""The old tutorials under measurement, on the full data: paddle.v2 through legacy_mnist.v2, and the 2.x
LeNet pages through legacy_mnist.vision.

Run by the driver:  python -m legacy_mnist.benchmarks.workers.tutorials v2_book|v2_corpus|hapi SPEC_JSON
  v2_book    the v2 book chapter's train.py (PaddlePaddle/book 02.recognize_digits, 2017) with each of its
             three networks and its own settings: Momentum(0.1/128, 0.9, L2 0.0005*128) on the summed cost,
             batch 128, shuffle buffer 8192, 5 passes, the best pass by test cost. With "as_2017": what
             the v2 of 2017 actually applied (plain SGD at the same rate; see the comment in v2_book).
  v2_corpus  the corpus's v2 tutorial (train.py + cnn.py) itself, one pass (its 100 cut to 1), as published
             (with "as_2017": its momentum and L2 taken out, as that v2 ran it).
  hapi       a corpus 2.x tutorial itself, with the one name changed.
"""
from __future__ import annotations

import random
import re
import tempfile
import time
from pathlib import Path

from legacy_mnist.benchmarks.workers.common import main_guard

TEST_LINE = re.compile(r"Test with Pass 0, Cost (\d+\.\d+), \{'classification_error_evaluator': ([0-9.e-]+)\}")


def _book_network(paddle, name: str, images):
    """The three networks of the v2 book chapter's train.py."""
    if name == "softmax":
        return paddle.layer.fc(input=images, size=10, act=paddle.activation.Softmax())
    if name == "mlp":
        hidden1 = paddle.layer.fc(input=images, size=128, act=paddle.activation.Relu())
        hidden2 = paddle.layer.fc(input=hidden1, size=64, act=paddle.activation.Relu())
        return paddle.layer.fc(input=hidden2, size=10, act=paddle.activation.Softmax())
    conv_pool_1 = paddle.networks.simple_img_conv_pool(input=images, filter_size=5, num_filters=20, num_channel=1,
                                                       pool_size=2, pool_stride=2, act=paddle.activation.Relu())
    conv_pool_2 = paddle.networks.simple_img_conv_pool(input=conv_pool_1, filter_size=5, num_filters=50,
                                                       num_channel=20, pool_size=2, pool_stride=2,
                                                       act=paddle.activation.Relu())
    return paddle.layer.fc(input=conv_pool_2, size=10, act=paddle.activation.Softmax())


def v2_book(spec: dict) -> dict:
    import legacy_mnist.v2 as paddle

    paddle.init(use_gpu=False, trainer_count=1)  # the chapter's own call
    random.seed(spec["seed"])  # paddle.reader.shuffle draws from `random`; v2 left it unseeded
    started = time.perf_counter()
    images = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    cost = paddle.layer.classification_cost(input=_book_network(paddle, spec["model"], images), label=label)
    parameters = paddle.parameters.create(cost)
    if spec.get("as_2017"):
        # What the 2017 v2 (before Topology.update_from_default, paddle/v2/trainer.py) ran: the momentum and
        # L2 of an optimizer made after the layers never reached their ParameterConfigs. Plain SGD, same rate.
        optimizer = paddle.optimizer.Momentum(learning_rate=0.1 / 128.0, momentum=0.0)
    else:
        optimizer = paddle.optimizer.Momentum(learning_rate=0.1 / 128.0, momentum=0.9,
                                              regularization=paddle.optimizer.L2Regularization(rate=0.0005 * 128))
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)
    train, test = paddle.dataset.mnist.train(), paddle.dataset.mnist.test()
    if spec.get("train_limit"):  # --quick only
        train, test = paddle.reader.firstn(train, spec["train_limit"]), paddle.reader.firstn(test, 500)
    lists, log = [], []

    def event_handler(event):
        if isinstance(event, paddle.event.EndIteration) and event.pass_id == 0 and event.batch_id % 100 == 0:
            log.append({"batch": event.batch_id, "cost": event.cost,
                        "error": event.metrics["classification_error_evaluator"]})
        if isinstance(event, paddle.event.EndPass):
            result = trainer.test(reader=paddle.batch(test, batch_size=128))
            lists.append((event.pass_id, result.cost, result.metrics["classification_error_evaluator"]))

    trainer.train(reader=paddle.batch(paddle.reader.shuffle(train, buf_size=8192), batch_size=128),
                  event_handler=event_handler, num_passes=spec["passes"])
    best = sorted(lists, key=lambda item: float(item[1]))[0]  # the chapter's "best pass": lowest test cost
    return {"model": spec["model"], "best_pass": best[0], "test_cost": best[1], "accuracy": 1 - best[2],
            "passes": [{"pass": p, "cost": c, "error": e} for p, c, e in lists], "pass0_log": log,
            "train_seconds": time.perf_counter() - started}


def v2_corpus(spec: dict) -> dict:
    from legacy_mnist.benchmarks.corpus import find_corpus, port_v2, replace_once, run_script, shrink_v2_train

    corpus = find_corpus()
    if corpus is None:
        raise SystemExit("the porting corpus is not here (set LEGACY_MNIST_PORTING_CORPUS)")
    with tempfile.TemporaryDirectory(prefix="v2-tutorial-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("cnn.py", "train.py"):
            text = port_v2((corpus / "v2" / name).read_text(encoding="utf-8"))
            if name == "train.py":
                text = shrink_v2_train(text, spec.get("train_limit"), spec.get("train_limit") and 500, passes=1)
                if spec.get("as_2017"):  # see v2_book: the optimizer's momentum and L2 did not apply in 2017
                    text = replace_once(text, "momentum=0.9", "momentum=0.0")
                    text = replace_once(text, "regularization=paddle.optimizer.L2Regularization(rate=0.0005 * 128)",
                                        "regularization=None")
            (src / name).write_text(text, encoding="utf-8")
        started = time.perf_counter()
        proc = run_script(src / "train.py")
    found = TEST_LINE.search(proc.stdout)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"train.py failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    return {"test_cost": float(found.group(1)), "accuracy": 1 - float(found.group(2)),
            "train_seconds": time.perf_counter() - started}


def hapi(spec: dict) -> dict:
    from legacy_mnist.benchmarks.corpus import find_corpus, hapi_eval_accuracy, port_hapi, run_script

    corpus = find_corpus()
    if corpus is None:
        raise SystemExit("the porting corpus is not here (set LEGACY_MNIST_PORTING_CORPUS)")
    source = (corpus / "hapi" / spec["script"]).read_text(encoding="utf-8")
    limit = spec.get("train_limit")
    with tempfile.TemporaryDirectory(prefix="hapi-tutorial-") as tmp:
        script = Path(tmp) / spec["script"]
        script.write_text(port_hapi(source, spec["test_name"], limit, limit and 500), encoding="utf-8")
        started = time.perf_counter()
        proc = run_script(script)
    if proc.returncode != 0:
        raise SystemExit(f"{spec['script']} failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    return {"accuracy": hapi_eval_accuracy(proc.stdout), "train_seconds": time.perf_counter() - started}


WORKERS = {"v2_book": v2_book, "v2_corpus": v2_corpus, "hapi": hapi}

if __name__ == "__main__":
    main_guard(lambda kind, spec: WORKERS[kind](spec))
