"""Measured commands: each in a fresh child process, timed by wall clock, with the
child's own peak resident memory from `os.wait4` (the rusage of that one child, which
`getrusage(RUSAGE_CHILDREN)` would otherwise merge with every earlier child's)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.progress import ticking

REPO = Path(__file__).resolve().parents[1]
# ru_maxrss is in KiB on Linux, in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass(frozen=True, slots=True)
class ChildRun:
    argv: list[str]
    seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: bytes
    stderr: bytes

    def check(self, allowed: tuple[int, ...] = (0,)) -> ChildRun:
        if self.returncode not in allowed:
            tail = self.stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(self.argv)} exited with {self.returncode}:\n{tail}")
        return self


def billing(*args: str) -> list[str]:
    """The real CLI, as `billing` would run it, on this interpreter."""
    return [sys.executable, "-m", "commands.cli", *args]


def run_measured(argv: list[str], label: str) -> ChildRun:
    """Runs a command in the repository folder with stdin closed, stdout and stderr
    kept (so no progress bar of the child costs time), and measures it."""
    env = {k: v for k, v in os.environ.items() if k not in ("BILLING_PROGRESS", "BILLING_STORE")}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, ticking(label):
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(argv, seconds, usage.ru_maxrss * _MAXRSS_UNIT, process.returncode, out.read(), err.read())
