"""Our pipeline under measurement: `legacy_mnist.train.train` and `legacy_mnist.infer.load_model`, as shipped.

Run by the driver:  python -m legacy_mnist.benchmarks.workers.ours train|t99|infer|model|best|uci SPEC_JSON
Every figure comes from the public entry points (events and predict calls), so what is timed is what users
run: feeding, fetching the cost and accuracy every step, the event handler, evaluation and checkpoints.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from legacy_mnist.benchmarks.workers.common import main_guard, test_inputs, time_inference


def _config(spec: dict, **changes):
    from legacy_mnist.config import TrainConfig

    work = Path(spec["workdir"])
    base = dict(model="cnn", batch_size=spec["batch_size"], optimizer="adam", seed=spec["seed"],
                num_threads=spec["threads"], checkpoint_dir=str(work / "checkpoints"),
                save_dir=str(work / "export"), plot=False, log_every=10**9)
    return TrainConfig(**dict(base, **changes))


def train_throughput(spec: dict) -> dict:
    """img/s between the end of step `warmup` and the end of step `warmup + steps` of a real run."""
    from legacy_mnist.events import EndIteration
    from legacy_mnist.train import train

    warmup, steps = spec["warmup"], spec["steps"]
    stamps: dict[int, float] = {}

    def handler(event):
        if isinstance(event, EndIteration) and event.global_step in (warmup, warmup + steps):
            stamps[event.global_step] = time.perf_counter()

    # Evaluation at the end of the (cut) pass is not timed: keep it short. One pass, as the peer's schedule.
    cfg = _config(spec, epochs=1, max_steps=warmup + steps, test_limit=1000)
    result = train(cfg, handler, log=lambda message: None)
    seconds = stamps[warmup + steps] - stamps[warmup]
    return {"img_per_s": steps * spec["batch_size"] / seconds, "export": str(result.save_dir)}


class _Reached(Exception):
    pass


def time_to_accuracy(spec: dict) -> dict:
    """Seconds from calling `train` (data loading included) to the end of the first pass whose test accuracy
    reaches `target`; the run stops there. The default recipe over `max_epochs` passes (its LR schedule spans
    them all); evaluation (validation + test) runs after every pass, as shipped."""
    from legacy_mnist.events import EndPass
    from legacy_mnist.train import train

    passes: list[dict] = []
    start = time.perf_counter()

    def handler(event):
        if isinstance(event, EndPass):
            passes.append(dict(event.metrics, wall=time.perf_counter() - start))
            if event.metrics["test_acc"] >= spec["target"]:
                raise _Reached

    cfg = _config(spec, epochs=spec["max_epochs"], train_limit=spec.get("train_limit"))
    try:
        train(cfg, handler, log=lambda message: None)
    except _Reached:
        pass
    reached = bool(passes) and passes[-1]["test_acc"] >= spec["target"]
    return {
        "seconds": passes[-1]["wall"] if reached else None,
        "reached": reached,
        "passes": len(passes),
        "passes_to_target": len(passes) if reached else None,
        "test_acc": [p["test_acc"] for p in passes],
        "pass_img_per_s": [p["train_images_per_sec"] for p in passes],
    }


def model_accuracy(spec: dict) -> dict:
    """One run of `spec["model"]` with every training option at its default (5 passes, all data): the test
    accuracy of the exported best pass, the wall time from calling `train`, the median img/s of the passes."""
    from legacy_mnist.events import EndPass
    from legacy_mnist.train import train

    speeds: list[float] = []

    def handler(event):
        if isinstance(event, EndPass):
            speeds.append(event.metrics["train_images_per_sec"])

    start = time.perf_counter()
    quick = {key: spec[key] for key in ("epochs", "train_limit") if spec.get(key)}  # --quick only
    result = train(_config(spec, model=spec["model"], **quick), handler, log=lambda message: None)
    return {"model": spec["model"], "test_acc": result.test_acc, "best_epoch": result.best_epoch,
            "passes": len(result.history), "seconds": time.perf_counter() - start,
            "img_per_s": sorted(speeds)[len(speeds) // 2]}


def best_model(spec: dict) -> dict:
    """One run of `spec["model"]` with its own recipe (`TrainConfig.recipe`) and `spec["seed"]`: the exported
    pass's test accuracy, each pass's validation and test accuracy, the wall time from calling `train`."""
    from legacy_mnist.config import TrainConfig
    from legacy_mnist.train import train

    work = Path(spec["workdir"])
    limits = {key: spec[key] for key in ("epochs", "train_limit", "test_limit") if spec.get(key)}  # --quick only
    cfg = TrainConfig.recipe(spec["model"], seed=spec["seed"], num_threads=spec["threads"],
                             checkpoint_dir=str(work / "checkpoints"), save_dir=str(work / "export"), plot=False,
                             log_every=10**9, **limits)
    start = time.perf_counter()
    result = train(cfg, log=lambda message: None)
    seconds = time.perf_counter() - start
    return {"model": spec["model"], "seed": spec["seed"], "test_acc": result.test_acc, "val_acc": result.best_val_acc,
            "best_epoch": result.best_epoch, "passes": len(result.history), "seconds": seconds,
            "val_accs": [r["val_acc"] for r in result.history], "test_accs": [r["test_acc"] for r in result.history],
            "img_per_s": sorted(r["train_images_per_sec"] for r in result.history)[len(result.history) // 2],
            "export": str(result.save_dir)}


def uci_accuracy(spec: dict) -> dict:
    """Accuracy and per-class accuracy of an export on UCI's 8x8 digits, through `--preprocess` as users get it."""
    from legacy_mnist.evaluate import predict_arrays, summarize, uci_inputs
    from legacy_mnist.infer import load_model

    images, labels, readable = uci_inputs(spec.get("preprocess", "auto"))
    result = summarize(labels, predict_arrays(load_model(spec["model_dir"]), images), readable)
    return {"accuracy": result.accuracy, "per_class": result.per_class_accuracy.tolist(),
            "unreadable": result.unreadable, "count": result.count}


def inference(spec: dict) -> dict:
    """Latency and throughput of `load_model(model_dir, backend)` (backend None: the default path; with
    `per_request`, the default for one image answers the single calls and the default for batches the batches,
    as `infer` loads them)."""
    from legacy_mnist.infer import load_model
    from legacy_mnist.inference.backends import WINOGRAD_ENV

    backend = spec.get("backend")
    # Threads go through the public `threads` argument only: what a backend does with it is the pipeline's.
    kwargs = {"threads": spec["threads"]} if backend is None else {"backend": backend, "threads": spec["threads"]}
    if spec.get("precision"):
        kwargs["precision"] = spec["precision"]
    if spec.get("winograd") is False:  # the comparison row: OpenVINO's own direct convolutions
        os.environ[WINOGRAD_ENV] = "0"
    model = load_model(spec["model_dir"], **kwargs)
    one = load_model(spec["model_dir"], images=1, **kwargs) if spec.get("per_request") else model
    result = time_inference(one.predict, test_inputs(spec["batch"]), spec, batch_predict=model.predict)
    return dict(result, backends=[one.backend, model.backend])


WORKERS = {"train": train_throughput, "t99": time_to_accuracy, "infer": inference, "model": model_accuracy,
           "best": best_model, "uci": uci_accuracy}

if __name__ == "__main__":
    main_guard(lambda kind, spec: WORKERS[kind](spec))
