"""Measured commands: each in a fresh child process, timed by wall clock, with the
child's own peak resident memory from `os.wait4` (the rusage of that one child, which
`getrusage(RUSAGE_CHILDREN)` would otherwise merge with every earlier child's).

`run_measured` runs a command to its end; `running_measured` starts a service (`billing
serve`) that the caller watches and then stops with SIGTERM.

A caveat of `ru_maxrss` on Linux: `exec` keeps the larger of the new program's peak and
the peak of the memory it replaced, which after subprocess's vfork is *this* process's
peak so far. So `run_measured` starts commands through `bench.peak`, a small launcher
whose own few MiB are the floor; the running service's peak is read from
`/proc/PID/status` (VmHWM, the program's own) before it is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.peak import children_of
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
    # The command's and its children's resident memory together, sampled (0: not known).
    tree_peak_rss_bytes: int = 0

    def check(self, allowed: tuple[int, ...] = (0,)) -> ChildRun:
        if self.returncode not in allowed:
            tail = self.stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(self.argv)} exited with {self.returncode}:\n{tail}")
        return self


def billing(*args: str) -> list[str]:
    """The real CLI, as `billing` would run it, on this interpreter."""
    return [sys.executable, "-m", "commands.cli", *args]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BILLING_PROGRESS", "BILLING_STORE")}
    return env | dict(extra or {})


def run_measured(argv: list[str], label: str, env: Mapping[str, str] | None = None) -> ChildRun:
    """Runs a command in the repository folder with stdin closed, stdout and stderr
    kept (so no progress bar of the child costs time), and measures it; `env` adds
    variables to the child's environment."""
    env = child_env(env)
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".json") as report,
        ticking(label),
    ):
        # Through bench.peak, so the peak RSS is the command's own, not floored at the
        # bench's (see the module docstring); its start-up is inside the wall clock.
        launcher = [sys.executable, "-m", "bench.peak", report.name, *argv]
        start = time.perf_counter()
        process = subprocess.Popen(launcher, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        try:
            process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - start
        peaks = json.loads(report.read() or '{"ru_maxrss": 0}')
        out.seek(0)
        err.seek(0)
        return ChildRun(
            argv,
            seconds,
            peaks["ru_maxrss"] * _MAXRSS_UNIT,
            process.returncode,
            out.read(),
            err.read(),
            peaks.get("tree_peak_kib", 0) * 1024,
        )


@dataclass(slots=True)
class LiveChild:
    """A measured command still running: the caller watches it, the context stops it."""

    argv: list[str]
    process: subprocess.Popen
    start: float  # perf_counter() just before the launch
    out: object
    err: object
    result: ChildRun | None = None
    own_peak_rss_bytes: int | None = None  # VmHWM just before the stop (Linux), else None
    children_peak_rss_bytes: int = 0  # its children's VmHWM summed, just before the stop (Linux)
    _status: tuple[int, int] | None = field(default=None)  # (wait status, peak RSS in bytes)

    def exited(self) -> bool:
        """True once the child has ended (reaped with its rusage: never through
        `Popen.poll`, which would reap it without)."""
        if self._status is None:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                self._status = (status, usage.ru_maxrss * _MAXRSS_UNIT)
        return self._status is not None

    def stderr_since(self, offset: int) -> bytes:
        """What the child wrote to stderr after `offset`, read without moving the
        file's position (the child writes through the same open file)."""
        return os.pread(self.err.fileno(), 1 << 20, offset)

    def stderr_tail(self) -> str:
        size = os.fstat(self.err.fileno()).st_size
        return self.stderr_since(max(0, size - 3000)).decode(errors="replace")

    def _own_peak_rss(self) -> int | None:
        return _peak_rss_of(self.process.pid)

    def _children_peak_rss(self) -> int:
        """The peaks of its children (a serve deciding ahead runs a decider), summed."""
        return sum(_peak_rss_of(pid) or 0 for pid in children_of(self.process.pid))

    def _stop(self, grace_seconds: float) -> None:
        if not self.exited():
            self.own_peak_rss_bytes = self._own_peak_rss()
            self.children_peak_rss_bytes = self._children_peak_rss()
            self.process.send_signal(signal.SIGTERM)
            deadline = time.perf_counter() + grace_seconds
            while not self.exited() and time.perf_counter() < deadline:
                time.sleep(0.02)
        if not self.exited():
            self.process.kill()
            _pid, status, usage = os.wait4(self.process.pid, 0)
            self._status = (status, usage.ru_maxrss * _MAXRSS_UNIT)
        seconds = time.perf_counter() - self.start
        status, peak = self._status
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self.out.seek(0)
        self.err.seek(0)
        self.result = ChildRun(self.argv, seconds, peak, self.process.returncode, self.out.read(), self.err.read())


@contextmanager
def running_measured(
    argv: list[str], label: str, env: Mapping[str, str] | None = None, grace_seconds: float = 30.0
) -> Iterator[LiveChild]:
    """Starts a long-running command as `run_measured` would; on leaving the block it
    is sent SIGTERM (SIGKILL after `grace_seconds`) and `.result` holds its exit
    status, wall clock up to its exit, peak RSS and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, ticking(label):
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=child_env(env))
        child = LiveChild(argv, process, start, out, err)
        try:
            yield child
        finally:
            child._stop(grace_seconds)


def _peak_rss_of(pid: int) -> int | None:
    """A process's VmHWM in bytes (Linux), else None."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # in kB
    except (OSError, ValueError):
        pass
    return None
