"""Progress on long work, on stderr, only where a person is watching (a terminal), or
everywhere when asked to (`force`: the BILLING_PROGRESS setting)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


def _watching(force: bool) -> bool:
    return force or sys.stderr.isatty()


@contextmanager
def byte_progress(
    paths: list[str], description: str = "ingest", *, force: bool = False
) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the bytes of the input files (unknown total for stdin)."""
    if not _watching(force):
        yield None
        return
    sizes = [_plain_size(path) for path in paths]
    total = None if None in sizes else sum(sizes)
    with tqdm(total=total, unit="B", unit_scale=True, desc=description, file=sys.stderr, leave=False) as bar:
        yield bar.update


def _plain_size(path: str) -> int | None:
    """The bytes a file will give, if known: not for stdin, pipes or gzip files."""
    if path == "-" or not os.path.isfile(path):
        return None
    with open(path, "rb") as file:
        if file.read(2) == b"\x1f\x8b":
            return None
    return os.path.getsize(path)


@contextmanager
def count_progress(
    total: int | None, description: str, unit: str = "event", *, force: bool = False
) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over a count of items."""
    if not _watching(force):
        yield None
        return
    with tqdm(total=total, unit=unit, unit_scale=True, desc=description, file=sys.stderr, leave=False) as bar:
        yield bar.update
