"""`paddle.distributed.launch`, unchanged, that also leaves every rank's exit status in a file.

Run:  LEGACY_MNIST_LAUNCH_RECORD=<file> python -m legacy_mnist.training.launch_watch [launch's own options] SCRIPT ...
(`python -m legacy_mnist.train --nproc N` runs it in place of `python -m paddle.distributed.launch`;
legacy_mnist/training/launcher.py reads the file.)

Why: launch logs the status of the first failed rank in rank order only (`Container failed !!!`), at its
next look (every 1-2 s). When rank 1 is killed, rank 0 fails within milliseconds (gloo: "Connection reset
by peer"), so by then both have failed and launch's log names rank 0 and its exit code 1; rank 1's SIGKILL
appears nowhere. Launch's controller holds every rank's status; this keeps it for the launcher.
"""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

RECORD_ENV = "LEGACY_MNIST_LAUNCH_RECORD"
RECORD_NAME = "launch.exit.json"  # beside launch.log: {"<rank>": exit status as Popen gives it (-9: SIGKILL)}


def record_exit_codes(controllers: list, path: Path) -> None:
    """Write each rank's exit status (the last controller's pod: launch builds one per run)."""
    if not controllers:
        return
    try:
        codes = {str(int(c.env["PADDLE_TRAINER_ID"])): c.exit_code for c in controllers[-1].pod.containers}
    except Exception:  # noqa: BLE001 - another Paddle's launch internals: the launcher falls back to launch.log
        return
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(json.dumps(codes) + "\n", "utf-8")
        os.replace(partial, path)
    except OSError:
        pass  # the launcher then has launch.log's one code, as without this module


def main() -> None:
    from paddle.distributed.launch import controllers
    from paddle.distributed.launch.main import launch

    record = os.environ.pop(RECORD_ENV, None)  # the ranks need not see it
    made: list = []
    init = controllers.init

    def keep(ctx):  # launch() looks controllers.init up when it runs: it gets this one
        controller = init(ctx)
        made.append(controller)
        return controller

    controllers.init = keep
    try:
        launch()  # ends in sys.exit(the first failed rank's code), also on SIGTERM
    finally:
        if record:
            # launch's own SIGTERM handler has stopped the ranks by now; a second signal must not cut this.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            record_exit_codes(made, Path(record))


if __name__ == "__main__":
    main()
