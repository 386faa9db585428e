"""Progress on stderr for the benchmark's long steps (stdout is kept for the table)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def note(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def ticking(label: str) -> Iterator[None]:
    """Shows the elapsed seconds of a step: in place on a terminal, else a line every 15 s."""
    on_terminal = sys.stderr.isatty()
    every = 1.0 if on_terminal else 15.0
    done = threading.Event()
    start = time.perf_counter()

    def tick() -> None:
        while not done.wait(every):
            elapsed = time.perf_counter() - start
            if on_terminal:
                print(f"\r[bench] {label}: {elapsed:,.0f} s", end="", file=sys.stderr, flush=True)
            else:
                note(f"{label}: {elapsed:,.0f} s")

    thread = threading.Thread(target=tick, daemon=True)
    note(f"{label} …")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if on_terminal:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        note(f"{label}: done in {time.perf_counter() - start:,.2f} s")
