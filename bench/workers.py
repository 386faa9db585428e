"""`billing serve` workers (and a `billing project`) as the scale-out step's children:
started in the repository folder with their output in a log file each, stopped with
SIGTERM (SIGKILL after a grace period), reaped with their CPU time.

On Linux each child is also told to get SIGTERM if the bench itself dies without its
clean-up (PR_SET_PDEATHSIG), as the test servers are: not even `kill -9` of the bench
leaves a worker consuming.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.child import REPO, child_env

STOP_GRACE_SECONDS = 30.0
_PR_SET_PDEATHSIG = 1


@dataclass(slots=True)
class Child:
    """A started child; `exit_status` and `cpu_seconds` are set once it is reaped."""

    name: str
    process: subprocess.Popen
    log_path: Path
    exit_status: int | None = None
    cpu_seconds: float | None = None  # user + system, from its rusage
    killed: bool = False  # did not stop within the grace period after SIGTERM

    def exited(self) -> bool:
        """True once it has ended, reaped with its rusage (never through `Popen.poll`)."""
        if self.exit_status is None:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                self._reaped(status, usage)
        return self.exit_status is not None

    def _reaped(self, status: int, usage) -> None:
        self.exit_status = os.waitstatus_to_exitcode(status)
        self.process.returncode = self.exit_status
        self.cpu_seconds = usage.ru_utime + usage.ru_stime

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError as error:
            return f"<log unreadable: {error}>"


def _die_with_parent() -> Callable[[], None] | None:
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(name: str, argv: list[str], log_path: Path, env: Mapping[str, str]) -> Child:
    """Starts `argv` with stdin closed and stdout and stderr written to `log_path` (made anew)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(env),
            preexec_fn=_die_with_parent(),
        )
    return Child(name, process, log_path)


def stop_all(children: Sequence[Child], grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to every child still running at once (so they stop side by side, as a
    deployment's would), then waits; SIGKILL to any still running after the grace."""
    for child in children:
        if not child.exited():
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while not all(child.exited() for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in children:
        if not child.exited():
            child.killed = True
            child.process.kill()
            _pid, status, usage = os.wait4(child.process.pid, 0)
            child._reaped(status, usage)
