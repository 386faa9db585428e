"""Rules of corrections that must hold for any history (CONTRACT.md §11), with Hypothesis.

Histories are valid sequences of usage, orders, gifts and refunds for a few customers,
with voids and amendments of them (of amended charges, of refunds before their order)
drawn among the charges that still stand, at times around a month boundary. The model
in the strategy knows only which charges stand; the figures come from the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.queries import bills, customer_counts, performance, period_views, view_settings
from engine.mapper import decode_event
from projections.replay import replay_period
from schemas.recorded import ChargeRecorded, ChargeVoided, UsageAmended
from tests.builders import (
    amended,
    associated,
    discount_granted,
    gift,
    order_paid,
    order_refunded,
    usage,
    voided,
)
from tests.conftest import record
from tests.integration.test_properties import decimal_text

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PERIODS = ("2026-10", "2026-11")
TIMES = (
    "2026-10-05T10:00:00+08:00",
    "2026-10-31T23:59:59.5+08:00",
    "2026-11-01T00:00:00+08:00",
    "2026-11-20T08:00:00Z",
)
FIGURES = ("list_units", "discount_units", "payable_units", "settled_units", "rounding_off_units")


@dataclass
class Model:
    """What the strategy knows of one customer: the charges that stand, by (source, id)."""

    customer: str
    events: list[dict] = field(default_factory=list)
    standing: dict[tuple[str, str], str] = field(default_factory=dict)  # pair -> its type
    order_left: dict[str, int] = field(default_factory=dict)  # order id -> list units left to refund
    order_pair: dict[str, tuple[str, str]] = field(default_factory=dict)
    refunds_of: dict[str, set] = field(default_factory=dict)  # order id -> standing refund pairs
    refund_order: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)

    def add(self, body: dict) -> tuple[str, str]:
        self.events.append(body)
        return (body["source"], body["id"])

    def void(self, pair: tuple[str, str], body: dict) -> None:
        self.add(body)
        kind = self.standing.pop(pair)
        if kind == "order.refunded":
            order_id, amount = self.refund_order[pair]
            self.refunds_of[order_id].discard(pair)
            if order_id in self.order_left:
                self.order_left[order_id] += amount
        elif kind == "order.paid":
            self.order_left = {o: left for o, left in self.order_left.items() if self.order_pair[o] != pair}

    def voidable(self) -> list[tuple[str, str]]:
        blocked = {self.order_pair[o] for o, refunds in self.refunds_of.items() if refunds}
        return sorted(pair for pair in self.standing if pair not in blocked)


def _step(draw, model: Model, number: int) -> None:
    customer, envelope = model.customer, {"id": f"{model.customer}-{number}", "source": "up/stream"}
    time = draw(st.sampled_from(TIMES))
    usages = sorted(pair for pair, kind in model.standing.items() if kind == "usage.recorded")
    kinds = ["usage", "usage", "order", "gift"]
    kinds += ["refund"] * 3 * any(model.order_left.values()) + ["void"] * 2 * bool(model.voidable())
    kinds += ["amend"] * 2 * bool(usages)
    kind = draw(st.sampled_from(kinds))
    if kind == "usage":
        quantity, price = draw(st.integers(0, 10**9)), draw(st.integers(0, 10**9))
        body = usage(
            customer,
            quantity=decimal_text(quantity),
            unit_price=decimal_text(price),
            resource_id=draw(st.sampled_from(("i-1", "i-2"))),
            time=time,
            **envelope,
        )
        model.standing[model.add(body)] = "usage.recorded"
    elif kind in ("order", "gift"):
        order_id = f"o-{number}"
        amount = draw(st.integers(0, 10**11)) if kind == "order" else 0
        body = (
            order_paid(customer, order_id=order_id, amount=decimal_text(amount), time=time, **envelope)
            if kind == "order"
            else gift(customer, product_id="gift-1", time=time, **envelope)
        )
        pair = model.add(body)
        model.standing[pair] = "order.paid"
        if kind == "order":
            model.order_left[order_id], model.order_pair[order_id] = amount, pair
            model.refunds_of[order_id] = set()
    elif kind == "refund":
        order_id = draw(st.sampled_from(sorted(o for o, left in model.order_left.items() if left)))
        amount = draw(st.integers(1, model.order_left[order_id]))
        body = order_refunded(customer, order_id=order_id, amount=decimal_text(amount), time=time, **envelope)
        pair = model.add(body)
        model.order_left[order_id] -= amount
        model.standing[pair], model.refund_order[pair] = "order.refunded", (order_id, amount)
        model.refunds_of[order_id].add(pair)
    elif kind == "void":
        pair = draw(st.sampled_from(model.voidable()))
        model.void(pair, voided(pair, customer, time=time, **envelope))
    else:
        pair = draw(st.sampled_from(usages))
        quantity, price = draw(st.integers(0, 10**9)), draw(st.integers(0, 10**9))
        model.add(
            amended(
                pair, customer, quantity=decimal_text(quantity), unit_price=decimal_text(price), time=time, **envelope
            )
        )


@st.composite
def histories(draw) -> list[Model]:
    models = []
    for n in range(1, draw(st.integers(1, 3)) + 1):
        model = Model(f"c-{n}")
        model.add(associated(model.customer, draw(st.sampled_from(("p-1", "p-2"))), time="2026-09-01T00:00:00Z"))
        if draw(st.booleans()):
            rate = decimal_text(draw(st.integers(1, 10**8)))
            model.add(discount_granted(model.customer, rate=rate, valid_from="2026-09-01T00:00:00Z"))
        for number in range(draw(st.integers(1, 14))):
            _step(draw, model, number)
        models.append(model)
    return models


def interleaved(models: list[Model]) -> list[dict]:
    # Round robin: each customer's own events stay in their order.
    queues = [list(model.events) for model in models]
    events = []
    while any(queues):
        for queue in queues:
            if queue:
                events.append(queue.pop(0))
    return events


def void_everything_left(models: list[Model]) -> list[dict]:
    """Voids of every charge that stands: refunds first, so their orders can be voided."""
    events = []
    for model in models:
        order = {"order.refunded": 0, "usage.recorded": 1, "order.paid": 1}
        for number, pair in enumerate(sorted(model.standing, key=lambda p: order[model.standing[p]])):
            events.append(voided(pair, model.customer, id=f"{model.customer}-last-{number}", source="billing/fix"))
    return events


def ingest_all(engine, events: list[dict], batch_size: int) -> None:
    counts = record(engine, events, batch_size)
    kept = [(row.reason, row.message) for row in engine.ledger.recorder.select_rejections()]
    assert (counts.accepted, counts.rejected) == (len(events), 0), kept


def standing_by_line(engine) -> tuple[dict, dict]:
    """Per bill line, the sums of the standing charges' figures as the log records them
    (the latest of a charge and its amendments, nothing once voided), and the number
    of charges recorded; and checks every reversal against the charge it reverses."""
    notifications = engine.ledger.recorder.select_notifications(start=1, limit=1_000_000)
    standing: dict[tuple[str, str], ChargeRecorded | None] = {}
    charges: dict[tuple, int] = {}
    for notification in notifications:
        event = decode_event(notification.topic, notification.state)
        if not isinstance(event, ChargeRecorded):
            continue
        key = (event.customer_id, event.period, event.service_type, event.item_id)
        charges[key] = charges.get(key, 0) + (2 if isinstance(event, UsageAmended) else 1)
        if type(event) is ChargeRecorded:
            standing[(event.source, event.id)] = event
            continue
        earlier = standing[(event.event_source, event.event_id)]
        reversal = event.reversal if isinstance(event, UsageAmended) else event
        assert [getattr(reversal, f) for f in FIGURES] == [-getattr(earlier, f) for f in FIGURES]
        assert reversal.rate_units == earlier.rate_units
        assert (event.period, event.item_id, event.partner_id) == (earlier.period, earlier.item_id, earlier.partner_id)
        standing[(event.event_source, event.event_id)] = None if isinstance(event, ChargeVoided) else event
    sums: dict[tuple, list[int]] = {key: [0] * 5 for key in charges}
    for charge in filter(None, standing.values()):
        key = (charge.customer_id, charge.period, charge.service_type, charge.item_id)
        sums[key] = [total + getattr(charge, f) for total, f in zip(sums[key], FIGURES, strict=True)]
    return sums, charges


def units(text: str) -> int:
    whole, _, fraction = text.lstrip("-").partition(".")
    value = int(whole) * 10**8 + int(fraction.ljust(8, "0"))
    return -value if text.startswith("-") else value


def bill_lines(engine) -> dict[tuple, tuple[list[int], int]]:
    amounts = ("list_amount", "discount_amount", "payable_amount", "settled_amount", "rounding_off_amount")
    return {
        (bill.customer_id, period, line.service_type, line.item_id): (
            [units(getattr(line, amount)) for amount in amounts],
            line.charges,
        )
        for period in PERIODS
        for bill in bills(engine, period)
        for line in bill.lines
    }


@PROPERTY_SETTINGS
@given(models=histories(), batch_size=st.sampled_from((1, 3, 5000)))
def test_every_bill_line_is_the_sum_of_the_charges_that_stand(open_store, models, batch_size):
    engine = open_store(memory=True)
    ingest_all(engine, interleaved(models), batch_size)
    sums, charges = standing_by_line(engine)
    assert bill_lines(engine) == {key: (sums[key], charges[key]) for key in charges}


@PROPERTY_SETTINGS
@given(models=histories())
def test_voiding_every_charge_that_stands_leaves_zero_everywhere(open_store, models):
    engine = open_store(memory=True)
    ingest_all(engine, interleaved(models) + void_everything_left(models), 7)
    lines = bill_lines(engine)
    assert lines and all(amounts == [0] * 5 for amounts, _charges in lines.values())
    for period in PERIODS:
        for partner in ("p-1", "p-2"):
            tally = performance(engine, partner, period)
            assert (tally.payable_amount, tally.settled_amount) == ("0.00000000", "0.00")
            # Per-charge rules stay literal: a customer with a charge above zero consumed,
            # however its charges net out.
            consuming = {d.customer_id for d in tally.details} & consumed(engine, period)
            assert customer_counts(engine, partner, period).consuming_customers == len(consuming)


def consumed(engine, period: str) -> set[str]:
    """Customers with a charge of the period whose payable amount is above zero."""
    notifications = engine.ledger.recorder.select_notifications(start=1, limit=1_000_000)
    charges = [decode_event(n.topic, n.state) for n in notifications]
    return {
        charge.customer_id
        for charge in charges
        if isinstance(charge, ChargeRecorded) and charge.period == period and charge.payable_units > 0
    }


@PROPERTY_SETTINGS
@given(models=histories(), batch_size=st.sampled_from((1, 4, 5000)))
def test_replay_equals_the_live_views_with_corrections(open_store, models, batch_size):
    engine = open_store(memory=True)
    ingest_all(engine, interleaved(models), batch_size)
    for period in PERIODS:
        replayed, _read = replay_period(engine.ledger, view_settings(engine, period), engine.ledger.now())
        assert replayed == period_views(engine, period)
