"""CPU time from /proc (Linux; None elsewhere): the whole machine's busy share over a
stretch of time, and a process tree's CPU seconds (PostgreSQL's server and backends).

The machine's share counts every process, other users' work too: on a shared machine it
says whether the cores were free for the run, not what the run itself used.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of the whole machine since boot."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The machine's busy share between two `machine_ticks()`."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": the state is field 3


def tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds of `root` and its children: its own, its reaped children's (cutime,
    cstime) and every living child's (PostgreSQL's backends are the postmaster's children)."""
    fields = _stat(root)
    if fields is None:
        return None
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (child := _stat(int(entry.name))) is not None and int(child[1]) == root:
            ticks += int(child[11]) + int(child[12])
    return ticks / _TICKS
