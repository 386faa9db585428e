"""glibc malloc's threshold for blocks handed straight back to the system.

A batch handed between the two processes of `ingest` and `serve` deciding ahead is one
~30 MB frame (commands/ahead.py), read on one thread and freed on another. glibc's
threshold for mapping a block on its own starts at 128 KiB but rises to the size of
any mapped block freed (up to 32 MiB): after the first frame, every later one is carved
from a heap arena, and the arenas of the frame-reading thread, the committing thread
and the event loop each keep the holes. A fixed threshold keeps every block from 1 MiB
on mapped and unmapped whole.

Set by `billing serve` and its decider only: serve with its decider peaked at 813-993
MiB with it against 1,120-1,131 without (1M events, a kept broker, two runs each),
while `billing ingest`, far under 1 GiB either way (366 against 396 MiB), ran 6%
slower with it (farm-bench, 3 pairs in turn: 1.4 s more system time mapping and
faulting in its large blocks at 1M).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MAPPED_FROM_BYTES = 1 << 20
_USERS_SETTING = "MALLOC_MMAP_THRESHOLD_"  # glibc's own variable: whoever set it decides


def map_large_blocks_apart() -> bool:
    """Fixes the threshold, where the C library is glibc and nobody chose one; True if set."""
    if _USERS_SETTING in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): their allocators differ
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MAPPED_FROM_BYTES))
