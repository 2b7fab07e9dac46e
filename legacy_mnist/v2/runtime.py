"""`paddle.init(use_gpu=..., trainer_count=...)`: the process-wide settings of a v2 script.

Not run directly; `import legacy_mnist.v2 as paddle; paddle.init(use_gpu=False, trainer_count=1)`.
v2 passed every keyword to the C++ trainer as a `--flag`; here `use_gpu` picks the Executor's place,
`trainer_count` the CPU math threads (v2 split each batch over that many threads and summed the
gradients: the same update as one thread), and `seed` the random initial parameters. The logging flags
v2 scripts pass are accepted and change nothing; a cluster flag is refused (no parameter servers here).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._names import uncovered
from ..errors import UserError
from ..fluid._compat import legacy_paddle

# Flags that only tuned v2's logs or its C++ thread/device handling: nothing to do on Paddle 3.3.1.
QUIET_FLAGS = frozenset({
    "log_period", "log_error_clipping", "log_clipping", "show_parameter_stats_period", "dot_period",
    "saving_period", "use_mkldnn", "use_mkl_packed", "parallel_nn", "cudnn_dir", "cuda_dir", "enable_parallel_vector",
})
CLUSTER_FLAGS = frozenset({"pservers", "port", "ports_num", "ports_num_for_sparse", "num_gradient_servers",
                           "trainer_id", "local", "nics", "rdma_tcp", "start_pserver"})


@dataclass
class Runtime:
    use_gpu: bool = False
    gpu_id: int = 0
    trainer_count: int = 1
    seed: int = 1  # the legacy trainer's --seed default: every v2 run started from the same parameters
    rng: np.random.Generator | None = None

    def generator(self) -> np.random.Generator:
        if self.rng is None:
            self.rng = np.random.default_rng(self.seed)
        return self.rng

    def place(self):
        paddle = legacy_paddle()
        if not self.use_gpu:
            return paddle.CPUPlace()
        if not paddle.device.is_compiled_with_cuda() or paddle.device.cuda.device_count() < 1:
            raise UserError("paddle.init(use_gpu=True): this Paddle build has no CUDA support or no GPU is visible; "
                            "install paddlepaddle-gpu or pass use_gpu=False")
        return paddle.CUDAPlace(self.gpu_id)


RUNTIME = Runtime()


def init(**kwargs) -> None:
    """paddle.v2.init: use_gpu, trainer_count, gpu_id, seed; v2's logging flags are accepted and ignored."""
    for name, value in kwargs.items():
        if name in ("use_gpu", "trainer_count", "gpu_id", "seed") or name in QUIET_FLAGS:
            continue
        if name in CLUSTER_FLAGS:
            raise uncovered(f"paddle.init({name}=...)", "paddle.distributed for cluster training (docs/porting.md)")
        raise UserError(f"paddle.init: unknown flag {name}={value!r} (v2 stopped with 'unknown command line flag')")
    count = int(kwargs.get("trainer_count", 1))
    if count < 1:
        raise UserError(f"paddle.init: trainer_count must be >= 1, got {count}")
    RUNTIME.use_gpu = bool(kwargs.get("use_gpu", False))
    RUNTIME.gpu_id = int(kwargs.get("gpu_id", 0))
    RUNTIME.trainer_count = count
    RUNTIME.seed = int(kwargs.get("seed", RUNTIME.seed))
    RUNTIME.rng = None
