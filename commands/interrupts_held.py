"""Ctrl-C held back over a batch's commit and its counting: an interrupt then never
lands between a transaction that committed and the count a command reports of it
(`interrupted; committed before it: …` must be what the store holds)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Runs the block whole; a SIGINT that came meanwhile is raised when it ends, as the
    KeyboardInterrupt it would have been. Only where Python turns SIGINT into that
    interrupt (the main thread, the default handler): a process that ignores SIGINT
    (started in a shell's background) or handles it itself (`serve`) is left alone."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    came: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: came.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if came:
        raise KeyboardInterrupt
