"""Rules that must hold for any valid history (CONTRACT.md §2, §4), checked with Hypothesis.

Histories are sequences of valid events for a few customers: associations and
disassociations with two partners, discounts granted and revoked, usage with random
8-decimal prices and quantities, orders, gifts and partial refunds, at times spread
around month (and quarter) boundaries, written in several offsets. Each example runs
on fresh in-memory stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.queries import bills, customer_counts, performance
from engine.instants import BillingCalendar
from engine.mapper import decode_event
from projections.queries import Scope
from schemas.recorded import ChargeRecorded
from tests.builders import (
    associated,
    disassociated,
    discount_granted,
    discount_revoked,
    gift,
    order_paid,
    order_refunded,
    usage,
)
from tests.conftest import record

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PERIODS = ("2026-09", "2026-10", "2026-11", "2026-12", "2027-01")
PARTNERS = ("p-1", "p-2")
SCOPES = (Scope(), Scope(account_manager_id="m-1"), Scope(indirect_partner_id="r-1"))
# First instants of Oct, Nov (Shanghai) and of the next quarter (Jan).
BOUNDARIES = (
    datetime(2026, 9, 30, 16, tzinfo=UTC),
    datetime(2026, 10, 31, 16, tzinfo=UTC),
    datetime(2026, 12, 31, 16, tzinfo=UTC),
)
OFFSETS_MINUTES = (0, 480, -300, 345, -720, 840)
STEPS_SECONDS = (0, 1, 3600, 6 * 3600, 86400, 3 * 86400)
MINOR = Decimal("0.01")
EIGHT = Decimal("0.00000001")


def decimal_text(units: int) -> str:
    """An 8-decimal amount string written independently of the engine's money module."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**8)
    return f"{sign}{whole}.{fraction:08d}"


# Strategies --------------------------------------------------------------------------


@st.composite
def rfc3339(draw, moment: datetime) -> str:
    offset = draw(st.sampled_from(OFFSETS_MINUTES))
    text = moment.astimezone(timezone(timedelta(minutes=offset))).isoformat()
    if offset == 0 and draw(st.booleans()):
        text = text[: -len("+00:00")] + "Z"
    return text


@st.composite
def customer_history(draw, customer: str) -> list[dict]:
    """A valid sequence of one customer's events, in the order they are sent."""
    moment = draw(st.sampled_from(BOUNDARIES)) - timedelta(seconds=draw(st.integers(0, 3 * 86400)))
    open_partner: str | None = None
    refundable: dict[str, int] = {}
    discounts: list[str] = []
    events: list[dict] = []
    for number in range(draw(st.integers(1, 12))):
        moment += timedelta(seconds=draw(st.sampled_from(STEPS_SECONDS)), microseconds=draw(st.integers(0, 999)))
        kinds = ["usage", "usage", "order", "gift", "discount"]
        kinds += ["disassociate"] if open_partner else ["associate", "associate"]
        if any(refundable.values()):
            kinds += ["refund", "refund"]
        if discounts:
            kinds.append("revoke")
        kind = draw(st.sampled_from(kinds))
        jitter = timedelta(seconds=draw(st.integers(-2 * 86400, 2 * 86400)))
        envelope = {
            "id": f"{customer}-{number}",
            "source": draw(st.sampled_from(("metering/ecs", "orders/shop"))),
        }
        if kind == "associate":
            open_partner = draw(st.sampled_from(PARTNERS))
            ids = {
                "account_manager_id": draw(st.sampled_from((None, "m-1", "m-2"))),
                "indirect_partner_id": draw(st.sampled_from((None, "r-1"))),
            }
            body = associated(
                customer,
                open_partner,
                customer_type=draw(st.sampled_from(("enterprise", "individual"))),
                data={key: value for key, value in ids.items() if value is not None},
                time=draw(rfc3339(moment)),
                **envelope,
            )
        elif kind == "disassociate":
            body = disassociated(customer, open_partner, time=draw(rfc3339(moment)), **envelope)
            open_partner = None
        elif kind == "usage":
            body = usage(
                customer,
                quantity=decimal_text(draw(st.integers(0, 10**10))),
                unit_price=decimal_text(draw(st.integers(0, 10**10))),
                service_type=draw(st.sampled_from(("ECS", "RDS"))),
                resource_id=draw(st.sampled_from(("i-1", "i-2"))),
                time=draw(rfc3339(moment + jitter)),
                **envelope,
            )
        elif kind == "order":
            order_id = f"o-{number}"
            amount = draw(st.integers(0, 10**12))
            refundable[order_id] = amount
            body = order_paid(
                customer,
                order_id=order_id,
                amount=decimal_text(amount),
                product_id=draw(st.sampled_from(("pkg-1", "pkg-2"))),
                service_type=draw(st.sampled_from(("OBS", "ECS"))),
                time=draw(rfc3339(moment + jitter)),
                **envelope,
            )
        elif kind == "gift":
            body = gift(customer, product_id="gift-1", time=draw(rfc3339(moment + jitter)), **envelope)
        elif kind == "refund":
            order_id = draw(st.sampled_from(sorted(o for o, left in refundable.items() if left > 0)))
            amount = draw(st.integers(1, refundable[order_id]))
            refundable[order_id] -= amount
            body = order_refunded(
                customer,
                order_id=order_id,
                amount=decimal_text(amount),
                time=draw(rfc3339(moment + jitter)),
                **envelope,
            )
        elif kind == "discount":
            discount_id = f"d-{number}"
            discounts.append(discount_id)
            valid_from = moment + jitter
            valid_to = valid_from + timedelta(seconds=draw(st.integers(1, 5 * 86400))) if draw(st.booleans()) else None
            body = discount_granted(
                customer,
                discount_id=discount_id,
                rate=decimal_text(draw(st.integers(1, 10**8))),
                service_type=draw(st.sampled_from(("ECS", "RDS", "OBS", "*"))),
                valid_from=draw(rfc3339(valid_from)),
                valid_to=draw(rfc3339(valid_to)) if valid_to else None,
                time=draw(rfc3339(moment)),
                **envelope,
            )
        else:  # revoke (again, possibly)
            body = discount_revoked(
                customer, discount_id=draw(st.sampled_from(discounts)), time=draw(rfc3339(moment + jitter)), **envelope
            )
        events.append(body)
    return events


@st.composite
def histories(draw) -> dict[str, list[dict]]:
    customers = [f"c-{n}" for n in range(1, draw(st.integers(1, 3)) + 1)]
    return {customer: draw(customer_history(customer)) for customer in customers}


def interleave(history: dict[str, list[dict]], order: list[str]) -> list[dict]:
    """The customers' events merged in `order` (a sequence of customer ids), each
    customer's own events kept in their order."""
    cursors = {customer: iter(events) for customer, events in history.items()}
    return [next(cursors[customer]) for customer in order]


def labels(history: dict[str, list[dict]]) -> list[str]:
    return [customer for customer, events in history.items() for _ in events]


# Helpers -----------------------------------------------------------------------------


@contextmanager
def fresh_store(open_store) -> Iterator:
    engine = open_store(memory=True)
    try:
        yield engine
    finally:
        engine.close()


def ingest_all(engine, events: list[dict], batch_size: int = 5000) -> None:
    counts = record(engine, events, batch_size)
    kept = [(row.reason, row.message) for row in engine.ledger.recorder.select_rejections()]
    assert counts.rejected == 0, kept
    assert counts.accepted == len(events)


def views(engine) -> dict[str, bytes]:
    """Every view of every period touched, as msgspec-encoded JSON."""
    encode = msgspec.json.encode
    snapshot = {}
    for period in PERIODS:
        snapshot[f"bills {period}"] = encode(bills(engine, period))
        for partner in PARTNERS:
            snapshot[f"performance {partner} {period}"] = encode(performance(engine, partner, period))
            for scope in SCOPES:
                counts = customer_counts(engine, partner, period, scope)
                snapshot[f"customers {partner} {period} {scope}"] = encode(counts)
    return snapshot


def recorded_charges(engine) -> list[ChargeRecorded]:
    notifications = engine.ledger.recorder.select_notifications(start=1, limit=1_000_000)
    events = [decode_event(n.topic, n.state) for n in notifications]
    return [event for event in events if isinstance(event, ChargeRecorded)]


# Properties --------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(history=histories(), order=st.data())
def test_every_bill_and_line_balances(open_store, history, order):
    events = interleave(history, order.draw(st.permutations(labels(history))))
    with fresh_store(open_store) as engine:
        ingest_all(engine, events)
        for period in PERIODS:
            for bill in bills(engine, period):
                assert bill.period == period
                for view in [bill, *bill.lines]:
                    assert Decimal(view.payable_amount) == Decimal(view.settled_amount) + Decimal(
                        view.rounding_off_amount
                    )
                    assert Decimal(view.list_amount) == Decimal(view.discount_amount) + Decimal(view.payable_amount)
                    assert len(view.settled_amount.partition(".")[2]) == 2
                    assert view.settled_amount != "-0.00"
                    for eight in (
                        view.list_amount,
                        view.discount_amount,
                        view.payable_amount,
                        view.rounding_off_amount,
                    ):
                        assert len(eight.partition(".")[2]) == 8 and eight != "-0.00000000"
                for field in ("list_amount", "payable_amount", "settled_amount", "rounding_off_amount"):
                    assert Decimal(getattr(bill, field)) == sum(Decimal(getattr(line, field)) for line in bill.lines)
                assert bill.charges == sum(line.charges for line in bill.lines) > 0


@PROPERTY_SETTINGS
@given(history=histories())
def test_every_charge_is_rated_once_by_the_contracts_arithmetic(open_store, history):
    events = interleave(history, labels(history))
    calendar = BillingCalendar("Asia/Shanghai")
    with fresh_store(open_store) as engine:
        ingest_all(engine, events)
        charges = recorded_charges(engine)
        assert len(charges) == sum(e["type"] in ("usage.recorded", "order.paid", "order.refunded") for e in events)
        for charge in charges:
            fact = json.loads(bytes(charge.fact))
            list_amount, rate = Decimal(charge.list_units) * EIGHT, Decimal(charge.rate_units) * EIGHT
            payable, settled = Decimal(charge.payable_units) * EIGHT, Decimal(charge.settled_units) * EIGHT
            rounding_off = Decimal(charge.rounding_off_units) * EIGHT
            if charge.type == "usage.recorded":
                product = Decimal(fact["data"]["quantity"]) * Decimal(fact["data"]["unit_price"])
                assert list_amount == product.quantize(EIGHT, rounding=ROUND_HALF_UP)
            elif charge.type == "order.paid":
                assert list_amount == Decimal(fact["data"]["amount"])
            else:
                assert list_amount == -Decimal(fact["data"]["amount"])
            assert 0 < rate <= 1
            assert payable == (list_amount * rate).quantize(EIGHT, rounding=ROUND_HALF_UP)
            assert settled == payable.quantize(MINOR, rounding=ROUND_DOWN)
            assert payable == settled + rounding_off
            assert list_amount == Decimal(charge.discount_units) * EIGHT + payable
            if payable > 0:
                assert 0 <= rounding_off < MINOR
            elif payable < 0:
                assert -MINOR < rounding_off <= 0
            else:
                assert rounding_off == 0
            assert charge.period == calendar.period_of(charge.at)


@PROPERTY_SETTINGS
@given(history=histories())
def test_ingesting_the_same_events_twice_changes_no_view(open_store, history):
    events = interleave(history, labels(history))
    with fresh_store(open_store) as engine:
        ingest_all(engine, events)
        before = views(engine)
        counts = record(engine, events)
        assert (counts.accepted, counts.duplicates, counts.rejected) == (0, len(events), 0)
        assert views(engine) == before


@PROPERTY_SETTINGS
@given(history=histories(), batch_size=st.sampled_from((1, 2, 3)))
def test_ingesting_line_by_line_or_in_one_batch_gives_identical_views(open_store, history, batch_size):
    events = interleave(history, labels(history))
    with fresh_store(open_store) as one_batch, fresh_store(open_store) as small_batches:
        ingest_all(one_batch, events)
        ingest_all(small_batches, events, batch_size=batch_size)
        assert views(small_batches) == views(one_batch)


@PROPERTY_SETTINGS
@given(history=histories(), orders=st.data())
def test_interleaving_customers_differently_gives_identical_views(open_store, history, orders):
    first = interleave(history, orders.draw(st.permutations(labels(history))))
    second = interleave(history, orders.draw(st.permutations(labels(history))))
    with fresh_store(open_store) as one, fresh_store(open_store) as other:
        ingest_all(one, first)
        ingest_all(other, second)
        assert views(other) == views(one)


def test_the_encoded_views_differ_when_the_history_does(open_store):
    # guards the properties above against comparing views that could never differ
    with fresh_store(open_store) as one, fresh_store(open_store) as other:
        ingest_all(one, [associated(), usage(quantity="1")])
        ingest_all(other, [associated(), usage(quantity="2")])
        one_views, other_views = views(one), views(other)
        differing = {key for key in one_views if one_views[key] != other_views[key]}
        assert differing == {"bills 2026-10", "performance p-1 2026-10"}
