"""A SQLite store as a file: whether this process may write it, how to read it when it
may not, and the mark a command leaves beside a store it found damaged.

The store runs in WAL mode, where even a reader writes: it creates the `-shm` index
beside the database. In a folder this process can't write, and with no writer active
(no `-wal` file), the database is opened `immutable`: nothing can change it under the
reader, since no writer could create its log there either.

A store found damaged (SQLite's "database disk image is malformed") is marked with a
file beside it, `<store>.damaged`, so that no later command answers from it, not only
those that happen to read a damaged page (CONTRACT.md §5). The mark names the file's
identity (inode, size, modification time): a store restored from a backup, which
changes them, is no longer held by it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path


def write_problem(path: Path) -> str | None:
    """Why this process can't write the store at `path` (None: it can)."""
    if path.exists() and not os.access(path, os.W_OK):
        return "its file is not writable"
    if not os.access(path.parent, os.W_OK):
        return f"its folder {path.parent} is not writable"
    return None


def read_only_uri(path: Path) -> str:
    """A URI that opens the store for reading only, without creating anything."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"  # no -shm can be made here, and no writer is active
    return uri


def _mark_path(path: Path) -> Path:
    return Path(f"{path}.damaged")


def _identity(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_ino, status.st_size, status.st_mtime_ns]


def mark_damaged(path: Path, problem: str) -> None:
    """Remembers that the store was found damaged (best effort: a read-only folder
    can't hold the mark, and then only commands that meet the damage refuse)."""
    try:
        _mark_path(path).write_text(
            json.dumps(
                {"found": datetime.now(UTC).isoformat(timespec="seconds"), "problem": problem, "file": _identity(path)}
            )
            + "\n",
            encoding="utf-8",
        )
    except OSError:
        pass


def damage_found(path: Path) -> str | None:
    """The damage an earlier command found in this very file, if any."""
    mark = _mark_path(path)
    try:
        found = json.loads(mark.read_text(encoding="utf-8"))
        if found["file"] != _identity(path):
            return None  # replaced or restored since: the mark is about another file
        return f"{found['problem']}, found {found['found']}"
    except (OSError, ValueError, KeyError, TypeError):
        return None
