"""Length-prefixed frames between a process and its helper child over pipes: a
4-byte little-endian length, then the payload (msgpack, by convention)."""

from __future__ import annotations

import fcntl
import os
import struct

LENGTH = struct.Struct("<I")
_IOV_MAX = 1024  # buffers a writev takes (POSIX's minimum, Linux's value)
_PIPE_BYTES = 1 << 20


def widen_pipe(fd: int) -> None:
    """Linux: a 1 MiB pipe instead of 64 KiB, so a large frame is written with fewer
    switches to the reader (ignored where the size can't be set)."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (AttributeError, OSError):
        pass


def write_frame(fd: int, payload: bytes) -> None:
    write_all(fd, [LENGTH.pack(len(payload)), payload])


def write_all(fd: int, buffers: list) -> None:
    """Writes buffers in order with scatter-gather writes (no joined copy)."""
    start = 0
    while start < len(buffers):
        batch = buffers[start : start + _IOV_MAX]
        written = os.writev(fd, batch)
        for buffer in batch:
            size = len(buffer)
            if written < size:  # a partial write: the rest of this buffer goes next
                buffers[start] = memoryview(buffer)[written:]
                break
            written -= size
            start += 1


def read_exactly(fd: int, size: int) -> bytes:
    parts, left = [], size
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            raise EOFError("the other end closed the pipe")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_frame(fd: int) -> bytes:
    (length,) = LENGTH.unpack(read_exactly(fd, LENGTH.size))
    return read_exactly(fd, length)
