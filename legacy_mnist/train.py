"""Train an MNIST network as a static Paddle program, checkpoint every pass, export the best one.

Run:  python -m legacy_mnist.train [--model cnn|mlp|softmax|lenet5] [--epochs 5] [--resume] ...
      python -m legacy_mnist.train --dry-run        # the whole path in seconds
      python -m legacy_mnist.train --nproc 2 ...    # data-parallel ranks (docs/scaling.md)
Exit codes: 0 success, 2 bad arguments or input, 1 other failure (divergence included), 130/143 on
SIGINT/SIGTERM after a checkpoint was written.
"""
from __future__ import annotations

import sys
from typing import Sequence

from .config import parse_args
from .training.distributed import Cluster
from .training.rank_exit import redirect_rank0_stdout, report_exit
from .errors import run_cli
from .logs import BookTextLog, JsonLog
from .training.nets import format_summary
from .paddle_env import configure_logging
from .training.program import build_programs
from .training.loop import check_output_dirs, train
from .training.loop import TrainResult  # noqa: F401  the documented API (docs/usage.md)
from .training.stops import TrainingDiverged, TrainingInterrupted  # noqa: F401  (docs/usage.md)


def main(argv: Sequence[str] | None = None) -> int:
    cfg, ns = parse_args(argv)
    configure_logging(cfg.verbose)  # before anything imports paddle
    if ns.summary:
        print(format_summary(cfg.model, build_programs(cfg).summary))
        return 0
    cluster = Cluster.from_env()
    if ns.nproc > 1 and not cluster.launched:
        from .training.distributed import check_supported
        from .training.launcher import run_local_job

        check_supported(cfg.device, cfg.ir)
        checkpoint_dir, save_dir = cfg.resolved_checkpoint_dir, cfg.resolved_save_dir
        check_output_dirs(checkpoint_dir, save_dir)
        # The ranks get the directories as resolved here (a dry run's fresh temp dir would differ per rank).
        args = list(sys.argv[1:] if argv is None else argv)
        return run_local_job(ns.nproc, cfg.device, checkpoint_dir,
                             args + [f"--checkpoint-dir={checkpoint_dir}", f"--save-dir={save_dir}"])
    redirect_rank0_stdout(cluster)
    logger = JsonLog(cfg.log_every) if cfg.log_format == "json" else BookTextLog(cfg.log_every)
    try:
        result = train(cfg, event_handler=logger if cluster.rank == 0 else None)
    finally:
        logger.close()  # the progress bars go before any error line is printed
    report_exit(0, result.weights_sha256, cluster)
    return 0


def cli() -> None:
    code = run_cli(main)
    if code:
        report_exit(code)  # main() reports a success itself, with the final weights' digest
    sys.exit(code)


if __name__ == "__main__":
    cli()
