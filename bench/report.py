"""Figures, their targets, the machine they were measured on, and the printed table."""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata

from bench.child import REPO

MIB = 1024 * 1024
MEMORY_LIMIT_MIB = 1024.0  # 1 GiB, stated for 1M events


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure; `target` is None for figures measured for reference."""

    key: str
    label: str
    value: float | None  # None: not measured in this run
    unit: str
    target: str | None = None
    met: bool | None = None


def figure(
    key: str,
    label: str,
    value: float | None,
    unit: str,
    at_least: float | None = None,
    at_most: float | None = None,
    target: str | None = None,
) -> Figure:
    met = None
    if value is not None and at_least is not None:
        met = value >= at_least
    elif value is not None and at_most is not None:
        met = value <= at_most
    return Figure(key, label, value, unit, target, met)


def as_json(figures: list[Figure]) -> dict[str, dict]:
    return {f.key: {k: v for k, v in asdict(f).items() if k != "key"} for f in figures}


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    if unit in ("events/s", "rows/s", "msgs/s"):
        return f"{value:,.0f}"
    if unit == "×":
        return f"{value:,.2f}"
    return f"{value:,.1f}" if unit == "MiB" else f"{value:,.2f}"


def table(figures: list[Figure]) -> str:
    headers = ("figure", "value", "unit", "target", "met?")
    rows = [
        (
            f.label,
            _shown(f.value, f.unit),
            f.unit,
            f.target or "—",
            "—" if f.met is None else ("yes" if f.met else "NO"),
        )
        for f in figures
    ]
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    lines = []
    for index, row in enumerate((headers, *rows)):
        cells = [c.ljust(w) if i != 1 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict:
    """Facts about the machine and software the figures belong to."""
    facts = {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": _cpu_model(),
        "memory_mib": _memory_mib(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "eventsourcing": _version("eventsourcing"),
        "msgspec": _version("msgspec"),
        "commit": _commit(),
    }
    return facts


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_mib() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MIB
    except (ValueError, OSError, AttributeError):
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    """The repository's commit, `+changes` when tracked files differ from it."""
    state = tree_state()
    return None if state is None else state[0]


def tree_state() -> tuple[str, str] | None:
    """(commit, fingerprint of the tracked changes): compared at the start and the end
    of a run, it tells whether the code changed under the measurements."""
    try:
        head = _git("rev-parse", "--short", "HEAD").strip()
        changes = _git("diff", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    fingerprint = hashlib.sha256(changes.encode()).hexdigest()[:12]
    return head + ("+changes" if changes else ""), fingerprint


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30, check=True).stdout


def machine_line(facts: dict) -> str:
    return (
        f"machine: {facts['cpu']}, {facts['cores']} cores ({facts['cores_usable']} usable), "
        f"{facts['memory_mib'] or 0:,} MiB; {facts['python']}; SQLite {facts['sqlite']}; "
        f"eventsourcing {facts['eventsourcing']}, msgspec {facts['msgspec']}; commit {facts['commit']}; "
        f"{sys.platform}"
    )
