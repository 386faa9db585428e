"""`billing verify` (CONTRACT.md §11): the hash chain, then the store itself.

In order: the database's own integrity check (SQLite's `PRAGMA integrity_check`);
the chain, entry by entry, in one pass over the log that also collects what the
store checks need; the head the caller holds, if given; then the store's own
consistency: every accepted event's `(source, id)` taken (`event_ids`) and nothing
else, the live views equal to a replay of every period, and the features' checks
(`Ledger.store_checks`, e.g. the accounts' zero sum).

A broken chain (or a head not in it) is a `VerifyReport` with `verified` false (exit
1); a store that fails a check of its own raises `StoreDamaged` (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from commands.bootstrap import Engine
from commands.log_chain import ChainBroken, Walked, walk_chain
from commands.queries import period_views, view_settings
from engine.log_entries import ZERO_HASH, LogHead
from engine.mapper import is_engine_topic
from projections.charge_rows import add_stored_rows
from projections.fold import ViewDelta
from projections.replay import first_difference, views_from_delta

_CHUNK = 10_000


class StoreDamaged(Exception):
    """The store fails a check of its own (exit 2); the message is one line."""


class VerifyReport(msgspec.Struct):
    """What `billing verify --json` prints."""

    verified: bool
    head: LogHead | None
    position: int | None = None  # the first position that does not hold
    problem: str | None = None  # one line: what does not hold, and where
    periods: list[str] = []  # the periods whose live views were compared with a replay


def verify(
    engine: Engine, expected_head: tuple[int, str] | None = None, progress: Callable[[int], None] | None = None
) -> VerifyReport:
    """Checks the chain and the store (see the module's docstring)."""
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        problems = recorder.integrity_problems_in(c)
    if problems:
        raise StoreDamaged(f"the store fails its integrity check: {problems[0]}")
    checks = _StoreChecks(engine)
    try:
        head = walk_chain(engine, checks.visit, progress)
    except ChainBroken as broken:
        problem = f"the chain is broken at position {broken.position}: {broken.message}"
        return VerifyReport(verified=False, head=None, position=broken.position, problem=problem)
    if expected_head is not None:
        problem = _head_problem(engine, head, expected_head)
        if problem is not None:
            return VerifyReport(verified=False, head=head, position=expected_head[0], problem=problem)
    periods = checks.finish()
    return VerifyReport(verified=True, head=head, periods=periods)


def _head_problem(engine: Engine, head: LogHead, expected: tuple[int, str]) -> str | None:
    position, hash_ = expected
    if position > head.position:
        return f"the head {position}:{hash_} is not in the chain (its last position is {head.position})"
    if position == 0:
        held = ZERO_HASH
    else:
        recorder = engine.ledger.recorder
        with recorder.read_transaction() as c:
            segment = recorder.segment_at_in(c, position)
        held = segment.links()[position - segment.first_position][2]  # the walk checked every row
    if held != hash_:
        return f"the head {position}:{hash_} is not in the chain (position {position} holds {held})"
    return None


class _StoreChecks:
    """What the walk collects for the store's own checks, and the checks."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.recorder = engine.ledger.recorder
        self.delta = ViewDelta()  # every period's view rows, folded from the log
        self.rows: list[tuple[int, str, bytes]] = []
        self.pairs: dict[tuple[str, str], tuple[int, int]] = {}  # (source, id) -> (notification, position)
        self.accepted = 0
        self.problem: str | None = None  # the first the walk found

    def visit(self, walked: Walked) -> None:
        self.rows.append((walked.notification_id, walked.topic, walked.state))
        if not is_engine_topic(walked.topic):
            entry = walked.entry
            pair = (entry.source, entry.id)
            if pair in self.pairs and self.problem is None:
                self.problem = (
                    f"event_ids: ({entry.source!r}, {entry.id!r}) was accepted twice "
                    f"(positions {self.pairs[pair][1]} and {entry.position})"
                )
            self.pairs[pair] = (walked.notification_id, entry.position)
            self.accepted += 1
        if len(self.rows) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        add_stored_rows(self.delta, self.rows)
        self.rows = []
        with self.recorder.read_transaction() as c:
            taken = self.recorder.select_taken_ids(c, self.pairs)
        for pair, (notification_id, position) in self.pairs.items():
            if taken.get(pair) != notification_id and self.problem is None:
                self.problem = (
                    f"event_ids: the event at position {position} ({pair[0]!r}, {pair[1]!r}) is not "
                    "recorded as taken: it could be accepted again"
                )
        self.pairs = {}

    def finish(self) -> list[str]:
        """Runs the checks left once the walk is done; `StoreDamaged` at the first
        that fails (the walk's own findings first)."""
        self._flush()
        if self.problem is not None:
            raise StoreDamaged(self.problem)
        with self.recorder.read_transaction() as c:
            (taken,) = self.recorder.rows(c, "SELECT COUNT(*) FROM {t}event_ids")[0]
        if taken != self.accepted:
            raise StoreDamaged(f"event_ids: {taken} pairs taken for {self.accepted} accepted events")
        periods = self._compare_views()
        for check in self.engine.ledger.store_checks:
            problem = check(self.engine.ledger)
            if problem is not None:
                raise StoreDamaged(problem)
        return periods

    def _compare_views(self) -> list[str]:
        """Every period with a charge, in the log or in the live views: the live views
        equal the replay's."""
        by_period: dict[str, ViewDelta] = {}
        for key, sums in self.delta.bill_lines.items():
            part = by_period.setdefault(key[1], ViewDelta(period=key[1]))
            part.bill_lines[key] = sums
            part.bill_currencies[(key[0], key[1])] = self.delta.bill_currencies[(key[0], key[1])]
        for key, sums in self.delta.partner_charges.items():
            by_period.setdefault(key[1], ViewDelta(period=key[1])).partner_charges[key] = sums
        view = self.engine.projection.view
        with view.read_transaction() as c:
            live = view.rows(
                c,
                "SELECT period FROM {t}view_bill_lines UNION SELECT period FROM {t}view_partner_charges",
            )
        periods = sorted(by_period.keys() | {row[0] for row in live})
        for period in periods:
            part = by_period.get(period) or ViewDelta(period=period)
            part.new_associations = self.delta.new_associations
            replayed = views_from_delta(part, view_settings(self.engine, period))
            try:
                live = period_views(self.engine, period)
            # Rows no view could come from (a bill's own identities asserted while it is
            # summed fail on them too: here they mean damage, not a bug).
            except (ValueError, IndexError, AssertionError) as error:
                raise StoreDamaged(f"the live views can't be read for {period}: {error}") from None
            difference = first_difference(replayed, live)
            if difference is not None:
                raise StoreDamaged(f"the live views differ from a replay of the log: {difference}")
        return periods
