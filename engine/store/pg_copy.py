"""Rows for PostgreSQL's binary COPY, encoded before the write lock is taken.

A batch's events are appended by COPY with notification ids that are only known once
the events table's lock is held. Everything else in a row is known earlier, so each
row's other fields are encoded while the batch is decided
(`LedgerPostgresRecorder.encode_append`), and under the lock only the ids are packed
and the pieces joined (`copy_data`; the id is the last column the COPY names):
psycopg's `write_row` would format every field there instead (measured ~7 µs a row
on a loaded 2-core machine). The batch's `(source, id)` pairs need no id (they name
their event by stream and version): they are encoded whole, and copied before the lock.

The format (PostgreSQL's "COPY" documentation, binary format): a signature, then per
row a 16-bit field count and per field a 32-bit length and the bytes, then a trailer.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = struct.pack("!h", -1)
_BIGINT = struct.Struct("!iq")  # a field's length (8) and a bigint
_LENGTH = struct.Struct("!i")


@dataclass(slots=True)
class EncodedAppend:
    """A batch's rows encoded but for their notification ids."""

    events: list[bytes]  # field count, originator_id, originator_version, topic, state
    pairs: list[bytes]  # whole rows: field count, source, id, originator_id, originator_version
    # The events' log entries hashed as far as their place in the chain (log_entries.entry_parts).
    chain_parts: list[tuple[Any, bytes]] | None = None


def bigint_field(value: int) -> bytes:
    return _BIGINT.pack(8, value)


def text_field(value: str) -> bytes:
    encoded = value.encode()
    return _LENGTH.pack(len(encoded)) + encoded


def bytes_field(value: bytes) -> bytes:
    return _LENGTH.pack(len(value)) + value


def copy_data(encoded: Sequence[bytes], ids: Sequence[int] | None = None) -> bytes:
    """The whole COPY data of rows encoded ahead (`row_start` and their fields): each
    followed by its id (a bigint, the last column) when `ids` are given."""
    if ids is None:
        return b"".join((SIGNATURE, *encoded, TRAILER))
    ids_fields = map(_BIGINT.pack, repeat(8), ids)
    return b"".join((SIGNATURE, *chain.from_iterable(zip(encoded, ids_fields, strict=True)), TRAILER))


def row_start(field_count: int) -> bytes:
    """What begins a row of this many fields."""
    return struct.pack("!h", field_count)
