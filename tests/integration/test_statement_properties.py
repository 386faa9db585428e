"""The money rules of §7 under any interleaving of ingests and closes (Hypothesis).

Ingests land in any month, closed or not (late usage, orders, refunds with negative
amounts, a customer moving between partners, a customer of no partner); closes take
consecutive months. Whatever the order:
- every partner-attributed charge of a closed month is carried by exactly one statement;
- a statement for Q plus the adjustments for Q in later statements is the partner's
  performance for Q as known at the last close;
- a statement for Q is `replay --period Q --as-of ISSUED_AT`'s performance of its partner.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commands.bootstrap import open_engine
from commands.queries import view_settings
from commands.settings import Settings
from commands.statements import close_period, get_statement, list_statements
from engine.mapper import decode_event
from engine.money import parse_amount
from engine.statements.rules import following_period
from projections.charge_rows import add_stored_rows
from projections.fold import P_CHARGES, ViewDelta
from projections.replay import replay_period
from schemas.statement_events import StatementIssued
from tests.builders import associated, disassociated, order_paid, order_refunded, usage
from tests.conftest import record

PERIODS = ("2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
CUSTOMERS = ("c-0", "c-1", "c-2", "c-3")  # c-2 has no partner; c-3 moves from p-0 to p-1
NOW = "2027-06-01T00:00:00+08:00"

SETUP = [
    associated("c-0", "p-0", time="2026-01-01T00:00:00+08:00", id="a-0"),
    associated("c-1", "p-1", time="2026-01-01T00:00:00+08:00", id="a-1"),
    associated("c-3", "p-0", time="2026-01-01T00:00:00+08:00", id="a-3"),
    disassociated("c-3", "p-0", time="2026-10-15T00:00:00+08:00", id="d-3"),
    associated("c-3", "p-1", time="2026-10-15T00:00:00+08:00", id="a-3b"),
]

when = st.tuples(st.integers(0, len(PERIODS) - 1), st.integers(1, 28))
usages = st.tuples(
    st.just("usage"),
    st.integers(0, 3),
    when,
    st.integers(0, 500),
    st.sampled_from(["0.12345678", "0.00064000", "1.99999999", "0"]),
)
orders = st.tuples(st.just("order"), st.integers(0, 3), when, st.integers(0, 100_000))
refunds = st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 100), st.integers(0, len(PERIODS) - 1))
closes = st.just(("close",))
operations = st.lists(st.one_of(usages, orders, refunds, refunds, closes, closes), min_size=4, max_size=40)


def _time(period_index: int, day: int) -> str:
    return f"{PERIODS[period_index]}-{day:02d}T12:00:00+08:00"


class Run:
    """One interleaving, applied to a fresh store."""

    def __init__(self, engine):
        self.engine = engine
        self.orders: list[dict] = []  # customer, order_id, period index, cents left
        self.ids = 0
        self.last_closed: str | None = None
        self.closes: list = []

    def apply(self, op: tuple) -> None:
        kind = op[0]
        if kind == "close":
            self.close()
            return
        self.ids += 1
        event = self.event(op)
        if event is not None:
            counts = record(self.engine, [event])
            assert counts.accepted == 1, (op, counts)

    def event(self, op: tuple) -> dict | None:
        if op[0] == "usage":
            _, customer, (period, day), hundredths, price = op
            return usage(
                CUSTOMERS[customer],
                id=f"u-{self.ids}",
                time=_time(period, day),
                quantity=f"{hundredths / 100:.2f}",
                unit_price=price,
                resource_id=f"r-{self.ids % 3}",
            )
        if op[0] == "order":
            _, customer, (period, day), cents = op
            order = {"customer": CUSTOMERS[customer], "order_id": f"o-{self.ids}", "period": period, "left": cents}
            self.orders.append(order)
            return order_paid(
                order["customer"],
                order_id=order["order_id"],
                amount=f"{cents / 100:.2f}",
                time=_time(period, 1),
                id=order["order_id"],
            )
        _, which, percent, period = op
        if not self.orders:
            return None
        order = self.orders[which % len(self.orders)]
        cents = order["left"] * percent // 100
        if cents <= 0:
            return None
        order["left"] -= cents
        period = max(period, order["period"])  # a refund comes after its order
        return order_refunded(
            order["customer"],
            order_id=order["order_id"],
            amount=f"{cents / 100:.2f}",
            time=_time(period, 2),
            id=f"r-{self.ids}",
        )

    def close(self) -> None:
        with self.engine.ledger.recorder.read_transaction() as cursor:
            earliest, _latest = self.engine.projection.view.charge_period_range_in(cursor)
        period = following_period(self.last_closed) if self.last_closed else (earliest or PERIODS[0])
        if period > PERIODS[-1]:
            return
        self.closes.append(close_period(self.engine, period))
        self.last_closed = period


def _charge_counts(engine, as_of: str) -> Counter:
    """(partner, period, customer) -> charges recorded by `as_of`, from the log alone."""
    delta = ViewDelta()
    with engine.ledger.recorder.read_transaction() as cursor:
        add_stored_rows(delta, engine.ledger.recorder.select_notifications_in(cursor, 0, 1_000_000), as_of)
    counts: Counter = Counter()
    for (partner, period, customer, _manager, _reseller), sums in delta.partner_charges.items():
        counts[(partner, period, customer)] += sums[P_CHARGES]
    return counts


def _carried_counts(engine) -> Counter:
    counts: Counter = Counter()
    with engine.ledger.recorder.read_transaction() as cursor:
        for _id, topic, state in engine.ledger.recorder.select_notifications_in(cursor, 0, 1_000_000):
            if topic.endswith(":StatementIssued"):
                event = decode_event(topic, state)
                assert isinstance(event, StatementIssued)
                for carried in event.carried_charges:
                    counts[(event.partner_id, carried.period, carried.customer_id)] += carried.charges
    return counts


def _check(run: Run) -> None:
    engine = run.engine
    statements = [get_statement(engine, s.partner_id, s.period) for s in list_statements(engine).statements]
    # Each statement is replay's performance of its partner as of its issue.
    for statement in statements:
        views, _ = replay_period(engine.ledger, view_settings(engine, statement.period), statement.issued_at)
        replayed = {p.partner_id: p for p in views.performance}.get(statement.partner_id)
        details = [(d.customer_id, d.payable_amount, d.settled_amount) for d in replayed.details] if replayed else []
        assert [(d.customer_id, d.payable_amount, d.settled_amount) for d in statement.details] == details
        assert statement.customers == len(details)
        if replayed is not None:
            assert (statement.payable_amount, statement.settled_amount) == (
                replayed.payable_amount,
                replayed.settled_amount,
            )
    event(f"closes: {min(len(run.closes), 3)}+")
    event("has an adjustment" if any(s.adjustments for s in statements) else "no adjustment")
    event(
        "has a negative amount"
        if any(a.payable_amount.startswith("-") for s in statements for a in [*s.details, *s.adjustments])
        else "no negative amount"
    )
    if not run.closes:
        assert statements == []
        return
    last = run.closes[-1]
    known = _charge_counts(engine, last.issued_at)
    closed_known = Counter({key: n for key, n in known.items() if key[1] <= last.period})
    # Every attributed charge of a closed month is carried exactly once (and nothing else is).
    assert _carried_counts(engine) == closed_known
    # Statement(Q) + later adjustments for Q = performance(Q) as known at the last close.
    for period in {key[1] for key in closed_known}:
        views, _ = replay_period(engine.ledger, view_settings(engine, period), last.issued_at)
        for performance in views.performance:
            payable = settled = 0
            for statement in statements:
                if statement.partner_id != performance.partner_id:
                    continue
                if statement.period == period:
                    payable += parse_amount("p", statement.payable_amount)
                    settled += parse_amount("s", statement.settled_amount)
                for adjustment in statement.adjustments:
                    if adjustment.period == period:
                        payable += parse_amount("p", adjustment.payable_amount)
                        settled += parse_amount("s", adjustment.settled_amount)
            assert (payable, settled) == (
                parse_amount("p", performance.payable_amount),
                parse_amount("s", performance.settled_amount),
            ), (period, performance)
    assert all(d.customer_id != "c-2" for s in statements for d in s.details)


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_every_closed_charge_is_carried_once_and_statements_add_up_to_performance(ops):
    with open_engine(Settings(store_url="memory://", now=NOW), create=True) as engine:
        record(engine, SETUP)
        run = Run(engine)
        for op in ops:
            run.apply(op)
        _check(run)
