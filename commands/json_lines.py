"""JSON Lines inputs as `billing ingest` and `billing publish` read them: files, stdin
or named pipes, gzip-compressed or not, checked before anything is recorded and split
into their non-blank lines."""

from __future__ import annotations

import gzip
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

_BOM = b"\xef\xbb\xbf"
_READ_SIZE = 1 << 22


def read_json_lines(stream: BinaryIO, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The non-blank lines of a JSON Lines stream, without end-of-line, `\r` or BOM."""
    # Read in large pieces and split in C rather than line by line (the hot path of a
    # file ingest). `read1` returns what a pipe has, so stdin is not held back.
    read = getattr(stream, "read1", stream.read)
    unfinished: list[bytes] = []  # pieces of a line whose end has not been read yet
    while chunk := read(_READ_SIZE):
        if progress is not None:
            progress(len(chunk))
        lines = chunk.split(b"\n")
        if unfinished:
            lines[0] = b"".join([*unfinished, lines[0]])
            unfinished = []
        unfinished.append(lines.pop())  # the last line may go on in the next piece
        yield from _cleaned(lines)
    yield from _cleaned([b"".join(unfinished)])


def _cleaned(lines: list[bytes]) -> Iterator[bytes]:
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.startswith(_BOM):
            line = line[len(_BOM) :]
        if line.strip():
            yield line


def check_readable(paths: list[str]) -> None:
    """Fails before anything is recorded if one of the inputs can't be read."""
    for path in paths:
        if path == "-":
            continue
        file = Path(path)
        if not file.exists():
            raise FileNotFoundError(f"{path}: no such file")
        if file.is_dir():
            raise IsADirectoryError(f"{path}: is a folder, not a file")
        if not file.is_file():
            # A named pipe (or a device) is not opened here: opening and closing a pipe
            # would end its writer's stream before the real read began.
            if not os.access(file, os.R_OK):
                raise PermissionError(f"{path}: not readable")
            continue
        with file.open("rb"):
            pass


def open_inputs(paths: list[str]) -> Iterator[BinaryIO]:
    """Each input as a binary stream, gzip-compressed ones decompressed on the fly."""
    for path in paths:
        if path == "-":
            yield _decompressed(sys.stdin.buffer, "stdin")
        else:
            with open(path, "rb") as stream:
                yield _decompressed(stream, path)


GZIP_MAGIC = b"\x1f\x8b"


def _decompressed(stream: BinaryIO, name: str) -> BinaryIO:
    """The stream itself, or its decompression if it starts as gzip does."""
    if stream.peek(2)[:2] != GZIP_MAGIC:  # type: ignore[attr-defined]
        return stream
    return _GzipInput(gzip.GzipFile(fileobj=stream, mode="rb"), name)


class InputError(OSError):
    """An input that can't be read to its end (the batches before stay recorded)."""


class _GzipInput:
    """A gzip stream whose damage is reported as an unreadable input, naming it."""

    def __init__(self, stream: gzip.GzipFile, name: str):
        self._stream = stream
        self._name = name

    def read1(self, size: int = -1) -> bytes:
        try:
            return self._stream.read1(size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise InputError(f"{self._name}: not a readable gzip file ({error})") from None

    read = read1
