"""The PyTorch peer: the book's CNN in idiomatic PyTorch eager, on exactly our data, batches and schedule.

Run by the driver:  python -m legacy_mnist.benchmarks.workers.torch_peer train|t99|infer SPEC_JSON
Same network (conv20 5x5 + relu + max pool, batch norm, conv50 5x5 + relu + max pool, fc 10: 33,620
parameters), same batch size, the same recipe as our `TrainConfig` defaults (Adam at its learning rate, the
same per-step LR schedule over the same number of passes), the same shuffled batches (`iterate_batches` with
the pipeline's per-pass seed), the cost and accuracy read back every step like our fetches, and the same
evaluation after every pass (validation 5,000 + test 10,000 images, batch 1,000). The initial weights
come from the same distributions as ours: the cnn's default `--init fan-in` is PyTorch's own layer default
(U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases); with `"init": "fluid"` in the spec the peer
starts from Paddle's defaults instead (conv N(0, 2/fan_in), fc Xavier-uniform, zero biases).
"""
from __future__ import annotations

import time

import numpy as np

from legacy_mnist.benchmarks.workers.common import main_guard, test_inputs, time_inference, train_val_test


def _torch(threads: int):
    import torch

    torch.set_num_threads(threads)
    return torch


def book_cnn(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.BatchNorm2d(20),
        nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 10),
    )


def fluid_init(torch, model) -> None:
    """The initial distributions `paddle.static.nn.conv2d/fc` use, so both frameworks start alike."""
    nn = torch.nn
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Conv2d):
                fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
                layer.weight.normal_(0.0, (2.0 / fan_in) ** 0.5)
                layer.bias.zero_()
            elif isinstance(layer, nn.Linear):
                limit = (6.0 / (layer.in_features + layer.out_features)) ** 0.5
                layer.weight.uniform_(-limit, limit)
                layer.bias.zero_()


def _batches(x, y, batch_size: int, seed: int, epoch: int):
    from legacy_mnist.dataset import iterate_batches

    return iterate_batches(x, y, batch_size, shuffle=True, seed=seed * 1000003 + epoch)  # the pipeline's seeds


def _schedule(torch, optimizer, total_steps: int):
    """Our `--lr-schedule` default, stepped once per batch like the pipeline's (None: constant rate)."""
    from legacy_mnist.config import TrainConfig

    kind = TrainConfig().lr_schedule
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, (2 * total_steps) // 3), gamma=0.1)
    return None


class _Trainer:
    def __init__(self, spec: dict, total_steps: int):
        from legacy_mnist.config import TrainConfig

        self.torch = torch = _torch(spec["threads"])
        torch.manual_seed(spec["seed"])
        self.model = book_cnn(torch)
        if spec.get("init", TrainConfig().resolved_init) == "fluid":
            fluid_init(torch, self.model)
        defaults = TrainConfig(batch_size=spec["batch_size"])
        assert defaults.optimizer == "adam", "the peer mirrors the default Adam recipe"
        lr, decay = defaults.optimizer_defaults()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr, weight_decay=decay)
        self.scheduler = _schedule(torch, self.optimizer, total_steps)
        self.loss = torch.nn.CrossEntropyLoss()

    def step(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        x, y = self.torch.from_numpy(images), self.torch.from_numpy(labels.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(x)
        loss = self.loss(logits, y)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return loss.item(), (logits.argmax(1) == y).float().mean().item()

    def evaluate(self, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000) -> float:
        from legacy_mnist.dataset import iterate_batches

        self.model.eval()
        correct = 0
        with self.torch.inference_mode():
            for x, y in iterate_batches(images, labels, batch_size, shuffle=False):
                correct += int((self.model(self.torch.from_numpy(x)).argmax(1).numpy() == y.reshape(-1)).sum())
        self.model.train()
        return correct / len(labels)


def _steps(images: int, batch_size: int, epochs: int) -> int:
    return epochs * -(-images // batch_size)


def train_throughput(spec: dict) -> dict:
    (tx, ty), _, _ = train_val_test(spec["val_size"])
    trainer = _Trainer(spec, _steps(len(ty), spec["batch_size"], spec.get("epochs", 1)))
    warmup, steps = spec["warmup"], spec["steps"]
    start = None
    for step, (x, y) in enumerate(_batches(tx, ty, spec["batch_size"], spec["seed"], 0), start=1):
        trainer.step(x, y)
        if step == warmup:
            start = time.perf_counter()
        if step == warmup + steps:
            return {"img_per_s": steps * spec["batch_size"] / (time.perf_counter() - start)}
    raise SystemExit(f"only {step} batches in a pass; ask for fewer --steps")


def time_to_accuracy(spec: dict) -> dict:
    start = time.perf_counter()
    (tx, ty), (vx, vy), (test_x, test_y) = train_val_test(spec["val_size"])
    if spec.get("train_limit"):
        tx, ty = tx[: spec["train_limit"]], ty[: spec["train_limit"]]
    trainer = _Trainer(spec, _steps(len(ty), spec["batch_size"], spec["max_epochs"]))
    accs, speeds = [], []
    for epoch in range(spec["max_epochs"]):
        tick, seen = time.perf_counter(), 0
        for x, y in _batches(tx, ty, spec["batch_size"], spec["seed"], epoch):
            trainer.step(x, y)
            seen += len(y)
        speeds.append(seen / (time.perf_counter() - tick))
        trainer.evaluate(vx, vy)  # the pipeline evaluates the validation split too, to pick the best pass
        accs.append(trainer.evaluate(test_x, test_y))
        if accs[-1] >= spec["target"]:
            return {"seconds": time.perf_counter() - start, "reached": True, "passes": epoch + 1,
                    "passes_to_target": epoch + 1,
                    "test_acc": accs, "pass_img_per_s": speeds}
    return {"seconds": None, "reached": False, "passes": len(accs), "passes_to_target": None, "test_acc": accs,
            "pass_img_per_s": speeds}


def inference(spec: dict) -> dict:
    torch = _torch(spec["threads"])
    torch.manual_seed(spec["seed"])
    model = book_cnn(torch).eval()

    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(model(torch.from_numpy(batch)), dim=1).numpy()

    return time_inference(predict, test_inputs(spec["batch"]), spec)


WORKERS = {"train": train_throughput, "t99": time_to_accuracy, "infer": inference}

if __name__ == "__main__":
    main_guard(lambda kind, spec: WORKERS[kind](spec))
