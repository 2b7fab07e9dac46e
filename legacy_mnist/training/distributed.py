"""Data-parallel static training on Paddle's own collectives: which rank this is, each rank's share of a
batch, the communication ops, and the checks that keep every rank's weights identical.

Not run directly: `python -m legacy_mnist.train --nproc 2 ...` starts the ranks through
`paddle.distributed.launch` (legacy_mnist/training/launcher.py), and each rank's `train()` asks `for_this_process`
what to do; docs/scaling.md has the recipes and the numbers.

On CPU (the CPU wheel has neither Fleet's parameter server nor its static collective mode, see docs/scaling.md)
`GlooDataParallel` builds the data-parallel step itself from Paddle's ops, in the legacy IR:
- every rank reads the same seeded global batch and trains on its own contiguous share of it;
- after `append_backward`, each gradient is scaled by the rank's share of the batch (n_rank / n_batch,
  fed each step) and summed over the ranks by an `all_reduce` op: the sum is the gradient of the mean cost
  over the whole batch, what one process computes, also for the short last batch;
- batch norm's running mean and variance are averaged the same way (sync_batch_norm is not registered on
  the CPU wheel), so every saved variable stays identical across ranks;
- the step's cost, accuracy and stop request are summed in the same step, so every rank logs the global
  figures and all ranks stop after the same step on SIGINT/SIGTERM;
- all of it travels in one buffer through one all_reduce a step (`insert_fused_sum`);
- rank 0's variables are broadcast to the others after the startup program and after a resume.
After every pass the ranks compare a SHA-256 of all their variables: a job whose ranks train alone (the
trap of Fleet's static mode on CPU, which exits 0 with no communication ops) fails there instead.

On GPU (`--device gpu`) `FleetCollective` uses Paddle's documented recipe instead: fleet.init(is_collective=True)
and fleet.distributed_optimizer, which insert the broadcast, scaling and all_reduce themselves. That path is
written from Paddle's documentation and has not been run on a GPU yet.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from ..errors import PipelineFailure, UserError
from .collective_ops import MAX, RING, SHARE_FEED, STOP_FEED, SUM, _persistable_tensors, add_data_parallel_ops, collective_program

PEER_LOST = "lost the connection to another rank"  # start of the one-line error the launcher recognises


@dataclass(frozen=True)
class Cluster:
    """This process's place in a job, from the variables `paddle.distributed.launch` sets."""

    rank: int = 0
    world: int = 1
    local_size: int = 1  # ranks on this machine
    local_rank: int = 0
    log_dir: str | None = None  # launch's --log_dir

    @classmethod
    def from_env(cls, environ=None) -> "Cluster":
        env = os.environ if environ is None else environ
        if "PADDLE_TRAINERS_NUM" not in env:
            return cls()
        try:
            world = int(env["PADDLE_TRAINERS_NUM"])
            rank = int(env.get("PADDLE_TRAINER_ID", "0"))
            local_size = int(env.get("PADDLE_LOCAL_SIZE", str(world)))
            local_rank = int(env.get("PADDLE_LOCAL_RANK", str(rank % max(local_size, 1))))
        except ValueError as exc:
            raise UserError(f"PADDLE_TRAINERS_NUM/PADDLE_TRAINER_ID: not integers ({exc})") from None
        if not 0 <= rank < world:
            raise UserError(f"PADDLE_TRAINER_ID {rank} is not a rank of a {world}-process job")
        return cls(rank, world, max(local_size, 1), local_rank, env.get("PADDLE_LOG_DIR"))

    @property
    def launched(self) -> bool:
        """Started by paddle.distributed.launch (a job of one process counts too)."""
        return self.log_dir is not None or self.world > 1

    def threads_per_rank(self, cores: int) -> int:
        """The CPU math threads each rank gets by default: this machine's cores split between its ranks."""
        return max(1, cores // self.local_size)


def batch_share(size: int, rank: int, world: int) -> tuple[slice, float]:
    """This rank's contiguous part of a batch of `size`, and its weight n_rank / size in the mean gradient.

    Parts differ by at most one sample, the first ranks taking the extra ones. A rank left without a sample
    (a last batch smaller than the world) trains on the batch's first sample with weight 0, so that every
    rank still runs the same step and its collectives.
    """
    base, extra = divmod(size, world)
    start = rank * base + min(rank, extra)
    count = base + (1 if rank < extra else 0)
    if count == 0:
        return slice(0, 1), 0.0
    return slice(start, start + count), count / size


def split_share(count: int, rank: int, world: int) -> slice:
    """This rank's contiguous part of an evaluation set of `count` images (possibly empty)."""
    base, extra = divmod(count, world)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (1 if rank < extra else 0))


def weights_digest(scope, program) -> str:
    """SHA-256 over every persistable tensor of `program` in `scope`, by name: weights, optimizer moments,
    batch-norm statistics. Equal digests mean bit-identical training states."""
    digest = hashlib.sha256()
    for var in sorted(_persistable_tensors(program), key=lambda v: v.name):
        found = scope.find_var(var.name)
        if found is None or not found.get_tensor()._is_initialized():
            continue
        array = np.ascontiguousarray(np.asarray(found.get_tensor()))
        digest.update(var.name.encode() + b"\0" + str(array.dtype).encode() + str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class SingleProcess:
    """One process: every hook is the identity, so the single-process path is exactly the old one."""

    rank, world_size, is_writer, reads_checkpoint, device_index = 0, 1, True, True, 0
    last_digest: str | None = None

    def wrap_optimizer(self, optimizer):
        return optimizer

    def prepare(self, programs) -> None:
        pass

    def share(self, size: int) -> slice:
        return slice(None)

    def eval_share(self, count: int) -> slice:
        return slice(None)

    def run_step(self, exe, programs, feed: dict, size: int, stop_requested: bool) -> tuple[float, float, bool]:
        cost, acc = exe.run(programs.main, feed=feed, fetch_list=programs.train_fetches)
        return float(cost), float(acc), stop_requested

    def sum(self, values: list[float]) -> list[float]:
        return values

    def start(self, exe, programs, state: dict) -> dict:
        return state

    def check_identical(self, scope, program, where: str) -> None:
        pass


SINGLE_PROCESS = SingleProcess()


class GlooDataParallel(SingleProcess):
    """CPU data parallelism over a gloo communication context (see the module docstring)."""

    is_writer = property(lambda self: self.rank == 0)
    reads_checkpoint = is_writer  # rank 0 reads --resume's checkpoint and broadcasts it

    def __init__(self, paddle, cluster: Cluster):
        self.paddle = paddle
        self.rank, self.world_size = cluster.rank, cluster.world
        self._exe = paddle.static.Executor(paddle.CPUPlace())
        self._helpers: dict = {}
        self._sync = None
        self.stats = None
        # Collectives must run in the same order on every rank: the executor's op scheduling pool could
        # reorder independent all_reduce ops differently per rank.
        paddle.set_flags({"FLAGS_new_executor_serial_run": True})
        core = paddle.base.core
        try:
            store = core.create_or_get_global_tcp_store()
            core.CommContextManager.create_gloo_comm_context(store, str(RING), self.rank, self.world_size)
        except Exception as exc:  # noqa: BLE001 - the store/gloo raise RuntimeError with C++ context
            raise PipelineFailure(f"{PEER_LOST} while connecting rank {self.rank} of {self.world_size} "
                                  f"({_first_line(exc)})") from None

    def share(self, size: int) -> slice:
        return batch_share(size, self.rank, self.world_size)[0]

    def eval_share(self, count: int) -> slice:
        return split_share(count, self.rank, self.world_size)

    def prepare(self, programs) -> None:
        """Add the data-parallel ops to `programs.main` (the test program and the export stay untouched)."""
        self.stats, self._sync = add_data_parallel_ops(self.paddle, programs)

    # ------------------------------------------------------------------------------------- per step
    def run_step(self, exe, programs, feed: dict, size: int, stop_requested: bool) -> tuple[float, float, bool]:
        weight = batch_share(size, self.rank, self.world_size)[1]
        feed = dict(feed, **{SHARE_FEED: np.array([weight], "float32"),
                             STOP_FEED: np.array([1.0 if stop_requested else 0.0], "float32")})
        stats, = self._guarded(exe.run, programs.main, feed=feed, fetch_list=[self.stats])
        return float(stats[0]), float(stats[1]), bool(stats[2] > 0)

    # -------------------------------------------------------------------------------- between steps
    def start(self, exe, programs, state: dict) -> dict:
        """Give every rank rank 0's variables and position (after the startup program or a resume)."""
        self._guarded(exe.run, self._sync)
        position = np.array([state["epoch"], state["batch"], state["global_step"]], "float64")
        epoch, batch, step = (int(v) for v in self._collective("broadcast", position))
        return state if self.is_writer else dict(state, epoch=epoch, batch=batch, global_step=step)

    def sum(self, values: list[float]) -> list[float]:
        return [float(v) for v in self._collective(SUM, np.array(values, "float64"))]

    def check_identical(self, scope, program, where: str) -> None:
        """Fail unless every rank holds bit-identical variables (compared as SHA-256 digests)."""
        self.last_digest = weights_digest(scope, program)
        words = np.frombuffer(bytes.fromhex(self.last_digest)[:16], ">u4").astype("float64")  # exact in float64
        highest = self._collective(MAX, np.concatenate([words, -words]))
        if not np.array_equal(highest[:4], -highest[4:]):  # max != min somewhere: the ranks differ
            raise PipelineFailure(f"the ranks' weights differ after {where}: the ranks are training alone, "
                                  "not averaging their gradients (rank "
                                  f"{self.rank} holds sha256 {self.last_digest[:16]}...)")

    def _collective(self, kind, values: np.ndarray) -> np.ndarray:
        """all_reduce (SUM/MAX) or broadcast from rank 0 of a small float64 vector, in a cached program."""
        key = (kind, values.shape)
        if key not in self._helpers:
            self._helpers[key] = collective_program(self.paddle, kind, values.shape)
        program, fetch = self._helpers[key]
        out, = self._guarded(self._exe.run, program, feed={"values": values}, fetch_list=[fetch])
        return np.asarray(out)

    def _guarded(self, run, *args, **kwargs):
        try:
            return run(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - gloo errors arrive as RuntimeError/OSError from C++
            if _is_communication_error(exc):
                raise PipelineFailure(f"{PEER_LOST} (rank {self.rank} of {self.world_size}: "
                                      f"{_first_line(exc)})") from None
            raise


class FleetCollective(SingleProcess):
    """GPU data parallelism by Paddle's documented Fleet collective recipe (not yet run on a GPU)."""

    is_writer = property(lambda self: self.rank == 0)
    reads_checkpoint = True  # fleet broadcasts in startup, before a resume's load: every rank loads

    def __init__(self, paddle, cluster: Cluster):
        from paddle.distributed import fleet

        self.rank, self.world_size = cluster.rank, cluster.world
        self.device_index = int(os.environ.get("FLAGS_selected_gpus", "0").split(",")[0])
        self._fleet = fleet
        fleet.init(is_collective=True)

    def wrap_optimizer(self, optimizer):
        # Inserts the broadcast of the parameters in startup and the scale + all_reduce of each gradient.
        return self._fleet.distributed_optimizer(optimizer, strategy=self._fleet.DistributedStrategy())

    def share(self, size: int) -> slice:
        return batch_share(size, self.rank, self.world_size)[0]

    def eval_share(self, count: int) -> slice:
        return slice(None) if self.is_writer else slice(0, 0)  # rank 0 evaluates the whole set alone


def check_supported(device: str, ir: str) -> None:
    """Data parallelism here edits legacy-IR programs (and Fleet's static path raises under PIR)."""
    if ir != "legacy":
        raise UserError(f"--ir {ir}: data-parallel training needs the legacy IR (Fleet's static path fails "
                        "under PIR in Paddle 3.3); drop --ir or use --ir legacy")


def for_this_process(paddle, device: str, ir: str = "legacy", cluster: Cluster | None = None):
    """The data-parallel hooks for this process: SINGLE_PROCESS unless launched with more than one rank."""
    cluster = cluster or Cluster.from_env()
    if cluster.world <= 1:
        return SINGLE_PROCESS
    check_supported(device, ir)
    if device == "gpu":
        return FleetCollective(paddle, cluster)
    return GlooDataParallel(paddle, cluster)


def _is_communication_error(exc: BaseException) -> bool:
    """A failed collective: gloo's own message, or (when the executor rethrows gloo::IoException from a
    training step, measured on 3.3.1) a bare "std::exception" that only the hidden glog warning explains."""
    text = str(exc)
    return any(mark in text for mark in ("gloo", "Connection reset", "Connection closed", "tcp_store",
                                         "Broken pipe", "Socket closed", "std::exception"))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
