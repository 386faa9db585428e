"""`billing log` and the chain walk of `billing verify` (CONTRACT.md §11).

Entries are rendered from what the store holds (`engine.log_entries`) and carry the
hashes the store holds: `billing log` never recomputes a hash, so an edited event
shows up to anyone who recomputes its entry's hash from the output alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import msgspec

from commands.bootstrap import Engine
from engine.log_entries import ZERO_HASH, LogEntry, LogHead, entry_hash, render_stored
from engine.store.log_chain import ChainDamaged

_SEGMENTS_A_READ = 20
_EVENTS_A_READ = 10_000


class ChainBroken(Exception):
    """The chain does not hold at a position (the first one found)."""

    def __init__(self, position: int, message: str):
        super().__init__(f"position {position}: {message}")
        self.position = position
        self.message = message


@dataclass(slots=True)
class Walked:
    """One entry met on the walk, with the stored event it was rendered from."""

    notification_id: int
    topic: str
    state: bytes
    entry: LogEntry  # its `hash` the stored one (checked equal to the recomputed one)


_NO_CHAIN = "the store has no hash chain yet: it was written before the chain existed (its next write chains it)"


def _bounds(engine: Engine) -> tuple[int, int, int]:
    """The chain's last position, the events' count and last notification id."""
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        if not recorder.has_log_chain_in(c):
            if recorder.max_notification_id_in(c):
                raise ChainBroken(1, _NO_CHAIN)
            return 0, 0, 0
        return recorder.chain_bounds_in(c)


def log_head(engine: Engine) -> LogHead:
    """`billing log --head`: the last entry's position and hash."""
    _bounds(engine)
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        position, hash_ = recorder.log_head_in(c)
    return LogHead(position=position, hash=hash_)


def log_entries(engine: Engine, first: int = 1, last: int | None = None) -> Iterator[LogEntry]:
    """The entries from position `first` to `last` (inclusive; default the head), in
    order, with their stored hashes. `ChainBroken` where one can't be rendered."""
    recorder = engine.ledger.recorder
    head, _count, _last_id = _bounds(engine)
    last = head if last is None else min(last, head)
    if first > last:
        return
    prev_hash = ZERO_HASH
    links = _links(engine, first - 2 if first > 1 else 0, last)
    if first > 1:
        prev_hash = next(links)[2]  # the entry before `first`: only its hash is needed
    while True:
        chunk = list(itertools.islice(links, _EVENTS_A_READ))
        if not chunk:
            return
        with recorder.read_transaction() as c:
            states = recorder.select_states_in(c, min(link[1] for link in chunk), max(link[1] for link in chunk))
        for position, notification_id, stored_hash in chunk:
            stored = states.get(notification_id)
            if stored is None:
                raise ChainBroken(position, f"its event (notification {notification_id}) is missing")
            entry = _render(position, stored[0], stored[1], prev_hash)
            entry.hash = prev_hash = stored_hash
            yield entry


def walk_chain(
    engine: Engine,
    visit: Callable[[Walked], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> LogHead:
    """Recomputes every entry's hash against the stored chain, event by event in
    notification order; `visit` sees each entry (with its stored event) once it has
    checked out. Returns the head; `ChainBroken` at the first position that does not
    hold (an entry that does not match its hash, a missing or extra event, a gap, a
    recorded time that goes back)."""
    head, _count, last_id = _bounds(engine)
    events = _events(engine, last_id)
    prev_hash, recorded_at = ZERO_HASH, ""
    for position, notification_id, stored_hash in _links(engine, 0, head):
        event = next(events, None)
        if event is None or event[0] > notification_id:
            raise ChainBroken(position, f"its event (notification {notification_id}) is missing")
        if event[0] < notification_id:
            raise ChainBroken(position, f"the event at notification {event[0]} is not in the chain")
        entry = _render(position, event[1], event[2], prev_hash)
        if entry_hash(entry) != stored_hash:
            raise ChainBroken(position, "the entry does not match its hash")
        if entry.recorded_at < recorded_at:
            raise ChainBroken(position, f"recorded at {entry.recorded_at}, before the entry before it")
        entry.hash = prev_hash = stored_hash
        recorded_at = entry.recorded_at
        if visit is not None:
            visit(Walked(notification_id, event[1], event[2], entry))
        if progress is not None and position % 1000 == 0:
            progress(1000)
    extra = next(events, None)
    if extra is not None:
        raise ChainBroken(head + 1, f"the event at notification {extra[0]} is not in the chain")
    return LogHead(position=head, hash=prev_hash)


def _render(position: int, topic: str, state: bytes, prev_hash: str) -> LogEntry:
    try:
        return render_stored(position, topic, state, prev_hash)
    except (ValueError, TypeError, KeyError, msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ChainBroken(position, f"its stored event can't be read ({error})") from None


def _links(engine: Engine, after: int, through: int) -> Iterator[tuple[int, int, str]]:
    """(position, notification id, stored hash) of the positions after `after`, up
    to `through`, from the chain's rows; `ChainBroken` at a gap or a damaged row."""
    recorder = engine.ledger.recorder
    expected = after + 1
    with recorder.read_transaction() as c:
        first = recorder.segment_at_in(c, expected)
    segments = [first] if first is not None else []
    last_first = first.first_position if first is not None else after
    while expected <= through:
        if not segments:
            with recorder.read_transaction() as c:
                segments = recorder.select_segments_in(c, last_first, _SEGMENTS_A_READ)
            if not segments:
                raise ChainBroken(expected, "the position is missing from the chain")
        segment = segments.pop(0)
        if segment.first_position > expected:
            raise ChainBroken(expected, "the position is missing from the chain")
        if segment.first_position < expected and segment.first_position != last_first:
            raise ChainBroken(segment.first_position, "the chain's rows overlap")
        last_first = segment.first_position
        try:
            links = segment.links()
        except ChainDamaged as damaged:
            raise ChainBroken(max(damaged.position, expected), damaged.message) from None
        for link in links[expected - segment.first_position :]:
            if link[0] > through:
                return
            yield link
            expected += 1


def _events(engine: Engine, last_id: int) -> Iterator[tuple[int, str, bytes]]:
    """The stored events in notification order, up to `last_id`."""
    recorder = engine.ledger.recorder
    after = 0
    while True:
        with recorder.read_transaction() as c:
            rows = recorder.select_notifications_in(c, after, _EVENTS_A_READ, last_id + 1)
        if not rows:
            return
        yield from rows
        after = rows[-1][0]
