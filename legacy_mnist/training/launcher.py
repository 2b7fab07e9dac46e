"""Start N training ranks on this machine through `paddle.distributed.launch` and report the job as one
command: rank 0's output streamed live, one exit code, and a one-line error naming the rank that failed.

Run:  python -m legacy_mnist.train --nproc 2 [train options]      # this module does the launching
It runs  python -m legacy_mnist.training.launch_watch --nproc_per_node N (GPU: --gpus 0,..,N-1)
             --log_dir <checkpoint-dir>/launch-logs  legacy_mnist/dist_train.py [train options]
(launch_watch is paddle.distributed.launch that also records every rank's exit status.)
Each rank writes its own log (workerlog.N) and an exit report (rank_exit.EXIT_REPORT) there.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Sequence

from .distributed import PEER_LOST
from .rank_exit import EXIT_REPORT, RANK0_STDOUT_ENV
from ..errors import EXIT_FAILURE, ReportedError, UserError
from .launch_watch import RECORD_ENV, RECORD_NAME

LOG_DIR_NAME = "launch-logs"
WORKER_SCRIPT = Path(__file__).resolve().parents[1] / "dist_train.py"
POLL_SECONDS = 0.1
INTERRUPTED = (130, 143)  # 128 + SIGINT / SIGTERM: the ranks stopped on a signal


class JobFailed(ReportedError):
    """A rank failed; the message names it, the exit code is that rank's."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class RankOutcome:
    rank: int
    exit_code: int | None  # None: the rank left no exit report (killed, or crashed natively)
    error: str | None  # its last one-line `error: ...`, without the prefix
    weights_sha256: str | None
    launch_code: int | None  # the exit status launch saw (-9: SIGKILL), when it was recorded or logged


def launch_command(nproc: int, device: str, log_dir: Path, train_args: Sequence[str]) -> list[str]:
    devices = ["--gpus", ",".join(str(i) for i in range(nproc))] if device == "gpu" else ["--nproc_per_node", str(nproc)]
    return [sys.executable, "-m", "legacy_mnist.training.launch_watch", *devices, "--log_dir", str(log_dir),
            str(WORKER_SCRIPT), *train_args]


class _Tail:
    """Copies the lines a file gains to a stream, holding back the `error: ` lines (the launcher reports
    the job's error itself, once)."""

    def __init__(self, path: Path, stream: BinaryIO, hold_errors: bool):
        self.path, self.stream, self.hold_errors = path, stream, hold_errors
        self.offset, self.partial = 0, b""

    def pump(self, final: bool = False) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()  # an unfinished last line waits for its end
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        shown = [line for line in lines if not (self.hold_errors and line.startswith(b"error: "))]
        if shown:
            self.stream.write(b"\n".join(shown) + b"\n")
            self.stream.flush()


def run_local_job(nproc: int, device: str, checkpoint_dir: Path, train_args: Sequence[str]) -> int:
    """Run the job; 0 when every rank finished with the same weights, else raise JobFailed (one line)."""
    log_dir = Path(checkpoint_dir) / LOG_DIR_NAME
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        for old in log_dir.iterdir():  # launch appends to its logs; start this job's from empty
            if old.is_file():
                old.unlink()
    except OSError as exc:
        raise UserError(f"--checkpoint-dir {checkpoint_dir}: cannot write the rank logs to {log_dir} "
                        f"({exc.strerror})") from None
    env = dict(os.environ, **{RANK0_STDOUT_ENV: str(log_dir / "rank0.stdout"),
                              RECORD_ENV: str(log_dir / RECORD_NAME)})
    package_root = str(WORKER_SCRIPT.parents[1])  # the ranks import this same checkout's package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    command = launch_command(nproc, device, log_dir, train_args)
    with open(log_dir / "launch.log", "wb") as launch_log:
        # Its own session: a Ctrl-C reaches only us, and we pass one SIGTERM on (launch then stops the ranks,
        # which finish their step and let rank 0 write a checkpoint).
        proc = subprocess.Popen(command, stdout=launch_log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        received = _forward_signals(proc)
        tails = [_Tail(log_dir / "rank0.stdout", sys.stdout.buffer, hold_errors=False),
                 _Tail(log_dir / "workerlog.0", sys.stderr.buffer, hold_errors=True)]
        try:
            while proc.poll() is None:
                for tail in tails:
                    tail.pump()
                time.sleep(POLL_SECONDS)
        finally:
            if proc.poll() is None:  # we are being torn down ourselves: do not leave the job running
                proc.kill()
                proc.wait()
        for tail in tails:
            tail.pump(final=True)
    outcomes = read_outcomes(log_dir, nproc)
    return judge(outcomes, proc.returncode, log_dir, signal_code=received.get("code"))


def _forward_signals(proc: subprocess.Popen) -> dict:
    received: dict = {}

    def forward(signum, frame):
        received.setdefault("code", 128 + signum)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return received


_LAUNCH_FAILED = re.compile(r"Container rank (\d+) status failed .* code (-?\d+)")


def read_outcomes(log_dir: Path, world: int) -> list[RankOutcome]:
    """Every rank's exit report, last error line and the exit status launch saw for it: launch_watch's
    record of every rank, else the one failed rank launch.log names (launch logs only the first in rank
    order, usually a rank that lost its peer, not the rank that died)."""
    launch_codes: dict[int, int] = {}
    launch_log = log_dir / "launch.log"
    if launch_log.is_file():
        for match in _LAUNCH_FAILED.finditer(launch_log.read_text("utf-8", "replace")):
            launch_codes.setdefault(int(match.group(1)), int(match.group(2)))
    try:
        record = json.loads((log_dir / RECORD_NAME).read_text("utf-8"))
        launch_codes.update({int(rank): int(code) for rank, code in record.items() if code is not None})
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    outcomes = []
    for rank in range(world):
        report_path = log_dir / EXIT_REPORT.format(rank=rank)
        report = {}
        if report_path.is_file():
            try:
                report = json.loads(report_path.read_text("utf-8"))
            except ValueError:
                report = {}
        error = None
        worker_log = log_dir / f"workerlog.{rank}"
        if worker_log.is_file():
            errors = [line for line in worker_log.read_text("utf-8", "replace").splitlines()
                      if line.startswith("error: ")]
            error = errors[-1][len("error: "):] if errors else None
        outcomes.append(RankOutcome(rank, report.get("exit_code"), error, report.get("weights_sha256"),
                                    launch_codes.get(rank)))
    return outcomes


def judge(outcomes: list[RankOutcome], launch_code: int | None, log_dir: Path, signal_code: int | None = None) -> int:
    """0 if the job succeeded; otherwise raise JobFailed naming the rank that caused the failure.

    A rank's own error comes first (bad data, divergence...); then a rank that died without reporting
    (killed, native crash); the others' "lost the connection" and "interrupted" are consequences.
    """
    world = len(outcomes)
    if all(o.exit_code == 0 for o in outcomes):
        digests = {o.weights_sha256 for o in outcomes}
        if len(digests) > 1:
            raise JobFailed(f"the {world} ranks finished with different weights: they trained alone instead of "
                            f"averaging gradients (logs: {log_dir})")
        return 0

    def tier(o: RankOutcome) -> int:
        if o.exit_code is None:
            return 1  # died
        if o.exit_code in INTERRUPTED:
            return 2
        if o.error and o.error.startswith(PEER_LOST):
            return 3
        return 0 if o.exit_code != 0 else 4

    culprit = min(outcomes, key=lambda o: (tier(o), o.rank))
    where = f"rank {culprit.rank} of {world}"
    log = log_dir / f"workerlog.{culprit.rank}"
    if tier(culprit) == 4:  # every rank reported success but launch failed, or no report at all
        raise JobFailed(f"paddle.distributed.launch exited {launch_code} (logs: {log_dir})")
    if culprit.exit_code is None:
        how = _death(culprit.launch_code)
        others = [o.rank for o in outcomes if o is not culprit and o.exit_code is not None]
        after = f"; rank {', '.join(map(str, others))} then stopped" if others else ""
        raise JobFailed(f"{where} died {how} without reporting an error{after} (its log: {log})")
    message = culprit.error or f"exit code {culprit.exit_code}"
    if tier(culprit) == 2:  # stopped on a signal: rank 0's message says where its checkpoint is
        raise JobFailed(f"{where}: {message}", signal_code or culprit.exit_code)
    raise JobFailed(f"{where}: {message} (its log: {log})", culprit.exit_code)


def _death(code: int | None) -> str:
    if code is None:
        return "(no exit code logged)"
    if code < 0:
        try:
            return f"(killed by {signal.Signals(-code).name})"
        except ValueError:
            return f"(signal {-code})"
    return f"(exit code {code})"
