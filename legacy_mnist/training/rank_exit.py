"""A rank's own end under the launcher: rank 0's stdout to the user, each rank's exit report file.

Not run directly; `python -m legacy_mnist.train --nproc N` (train.main, under training.launcher) calls it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .distributed import Cluster


RANK0_STDOUT_ENV = "LEGACY_MNIST_RANK0_STDOUT"  # set by the launcher: where rank 0's stdout goes
EXIT_REPORT = "rank.{rank}.exit.json"  # in the launch log dir: each rank's exit code and weights digest


def redirect_rank0_stdout(cluster: Cluster) -> None:
    """Under `--nproc`, rank 0's stdout goes to the file the launcher streams to the user's stdout
    (launch itself mixes a rank's stdout and stderr in one log file)."""
    path = os.environ.get(RANK0_STDOUT_ENV)
    if path and cluster.rank == 0 and cluster.world > 1:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.close(fd)


def report_exit(code: int, weights_sha256: str | None = None, cluster: Cluster | None = None) -> None:
    """Leave this rank's exit code (and final weights' digest) in the launch log dir for the launcher."""
    cluster = cluster or Cluster.from_env()
    if cluster.world <= 1 or not cluster.log_dir:
        return
    path = Path(cluster.log_dir) / EXIT_REPORT.format(rank=cluster.rank)
    try:
        path.write_text(json.dumps({"rank": cluster.rank, "world": cluster.world, "exit_code": code,
                                    "weights_sha256": weights_sha256}) + "\n", "utf-8")
    except OSError:
        pass  # the launcher then reports this rank as died without a report; nothing better to do here
