"""The corrections' decider (CONTRACT.md §11): voids and amendments, every refusal and
every interaction, driven without a store."""

from __future__ import annotations

import pytest

from engine.corrections import target_pair
from engine.customer import CustomerState, evolve
from engine.decide import Rules, check_currency, decide
from engine.errors import Reason, Rejected
from engine.instants import BillingCalendar
from engine.judge import Candidate, judge_line
from engine.money import format_units
from schemas.inbound import CORRECTION_TYPES
from schemas.recorded import ChargeFigures, ChargeRecorded, ChargeVoided, RecordedEvent, UsageAmended
from tests.builders import (
    amended,
    associated,
    disassociated,
    discount_granted,
    gift,
    line,
    order_paid,
    order_refunded,
    usage,
    voided,
)

CNY = Rules(currency="CNY", minor_digits=2, calendar=BillingCalendar("Asia/Shanghai"))
RECORDED_AT = "2026-12-01T00:00:00.000000Z"
FIGURES = ("rate_units", "list_units", "discount_units", "payable_units", "settled_units", "rounding_off_units")
LINE = (
    "period",
    "service_type",
    "item_id",
    "order_id",
    "currency",
    "partner_id",
    "account_manager_id",
    "indirect_partner_id",
)


class Log:
    """Customers' streams decided as the ledger decides them: a correction is handed
    the event recorded with the `(source, id)` it names, whichever customer's it is."""

    def __init__(self, rules: Rules = CNY):
        self.rules = rules
        self.states: dict[str, CustomerState] = {}
        self.recorded: dict[tuple[str, str], RecordedEvent] = {}

    def record(self, body: dict) -> RecordedEvent:
        candidate = judge_line(line(body))
        assert isinstance(candidate, Candidate) and candidate.problem is None, candidate
        check_currency(candidate, self.rules)
        state = self.states.setdefault(candidate.customer_id, CustomerState(customer_id=candidate.customer_id))
        target = self.recorded.get(target_pair(candidate)) if candidate.type in CORRECTION_TYPES else None
        event = decide(state, candidate, self.rules, RECORDED_AT, target)
        evolve(state, event)
        self.recorded[candidate.pair] = event
        return event

    def rejects(self, body: dict, reason: Reason) -> Rejected:
        customer = body["data"]["customer_id"]
        before = self.states.get(customer, CustomerState(customer_id=customer))
        snapshot = (before.version, repr(before))
        with pytest.raises(Rejected) as caught:
            self.record(body)
        assert caught.value.reason is reason, caught.value
        assert caught.value.message.startswith("data.event_id: "), caught.value.message
        after = self.states.get(customer, CustomerState(customer_id=customer))
        assert (after.version, repr(after)) == snapshot
        return caught.value


def texts(event: ChargeRecorded | ChargeFigures) -> tuple[str, ...]:
    """The rate and five amounts as the contract writes them."""
    return tuple(format_units(getattr(event, name)) for name in FIGURES)


def negated(event: ChargeRecorded | ChargeFigures) -> tuple[int, ...]:
    return (event.rate_units, *(-getattr(event, name) for name in FIGURES[1:]))


def figures(event: ChargeRecorded | ChargeFigures) -> tuple[int, ...]:
    return tuple(getattr(event, name) for name in FIGURES)


def placed(event: ChargeRecorded) -> tuple:
    return tuple(getattr(event, name) for name in LINE)


@pytest.fixture
def log() -> Log:
    """A customer of p-1 (account manager m-1, reseller r-1) with 15% off everything."""
    log = Log()
    ids = {"account_manager_id": "m-1", "indirect_partner_id": "r-1"}
    log.record(associated(time="2026-10-01T00:00:00+08:00", data=ids))
    log.record(discount_granted(rate="0.85", valid_from="2026-10-01T00:00:00+08:00"))
    return log


USAGE_TIME = "2026-10-05T10:00:00+08:00"


# Voids -------------------------------------------------------------------------------


def test_a_void_records_the_reversal_of_a_usage_in_its_period_line_and_attribution(log):
    metered = usage(quantity="2", unit_price="0.12345678", time=USAGE_TIME)
    charge = log.record(metered)
    log.record(disassociated(time="2026-10-20T00:00:00+08:00"))
    log.record(associated(partner="p-2", time="2026-11-01T00:00:00+08:00"))
    void = log.record(voided(metered, reason="metered twice", time="2026-11-10T09:00:00+08:00"))

    assert isinstance(void, ChargeVoided) and void.type == "charge.voided"
    assert texts(charge) == ("0.85000000", "0.24691356", "0.03703703", "0.20987653", "0.20000000", "0.00987653")
    assert figures(void) == negated(charge)
    assert placed(void) == placed(charge) == ("2026-10", "ECS", "i-9", None, "CNY", "p-1", "m-1", "r-1")
    assert (void.event_source, void.event_id, void.reason) == (metered["source"], metered["id"], "metered twice")
    assert void.event_type == "usage.recorded"
    assert void.time == "2026-11-10T09:00:00+08:00"  # its own business time, as a fact
    assert (void.customer_id, void.originator_version) == ("c-1", 6)


def test_voiding_an_order_reverses_it_and_leaves_nothing_to_refund(log):
    paid = order_paid(order_id="o-1", amount="100.00", time=USAGE_TIME)
    order = log.record(paid)
    void = log.record(voided(paid))
    assert figures(void) == negated(order)
    assert placed(void) == placed(order) and void.order_id == "o-1"
    assert void.event_type == "order.paid"
    rejected = log_rejects_refund(log, "0.01", Reason.REFUND_EXCEEDS_ORDER)
    assert "0.00000000" in rejected.message


def log_rejects_refund(log: Log, amount: str, reason: Reason) -> Rejected:
    with pytest.raises(Rejected) as caught:
        log.record(order_refunded(order_id="o-1", amount=amount))
    assert caught.value.reason is reason
    return caught.value


def test_a_voided_order_is_still_paid(log):
    paid = order_paid(order_id="o-1", amount="100.00")
    log.record(paid)
    log.record(voided(paid))
    with pytest.raises(Rejected) as caught:
        log.record(order_paid(order_id="o-1", amount="100.00"))
    assert caught.value.reason is Reason.ORDER_ALREADY_PAID


def test_voiding_a_refund_reverses_it_on_the_orders_line_with_the_orders_rate_and_attribution(log):
    log.record(order_paid(order_id="o-1", amount="100.00", product_id="pkg-1", service_type="OBS", time=USAGE_TIME))
    log.record(disassociated(time="2026-10-20T00:00:00+08:00"))
    refund_body = order_refunded(order_id="o-1", amount="40.00", time="2026-11-03T00:00:00+08:00")
    refund = log.record(refund_body)
    void = log.record(voided(refund_body))
    assert figures(void) == negated(refund)
    assert texts(void)[:2] == ("0.85000000", "40.00000000")
    assert placed(void) == placed(refund) == ("2026-11", "OBS", "pkg-1", "o-1", "CNY", "p-1", "m-1", "r-1")
    assert void.event_type == "order.refunded"


def test_voiding_a_refund_gives_its_amount_back_to_the_order_to_refund_again(log):
    log.record(order_paid(order_id="o-1", amount="100.00"))
    first = order_refunded(order_id="o-1", amount="40.00")
    log.record(first)
    log.record(order_refunded(order_id="o-1", amount="60.00"))
    log_rejects_refund(log, "0.00000001", Reason.REFUND_EXCEEDS_ORDER)
    log.record(voided(first))
    log_rejects_refund(log, "40.00000001", Reason.REFUND_EXCEEDS_ORDER)
    again = log.record(order_refunded(order_id="o-1", amount="40.00"))
    assert again.list_units == -40 * 10**8
    assert log.states["c-1"].orders["o-1"].refundable_units == 0


def test_voiding_an_order_with_refunds_not_voided_is_refused_until_they_are(log):
    paid = order_paid(order_id="o-1", amount="100.00")
    log.record(paid)
    refunds = [order_refunded(order_id="o-1", amount=amount) for amount in ("10.00", "0.00000001")]
    for refund in refunds:
        log.record(refund)
    rejected = log.rejects(voided(paid), Reason.ORDER_HAS_REFUNDS)
    assert "o-1" in rejected.message
    log.record(voided(refunds[0]))
    log.rejects(voided(paid), Reason.ORDER_HAS_REFUNDS)
    log.record(voided(refunds[1]))
    void = log.record(voided(paid))
    assert void.list_units == -100 * 10**8


def test_a_gift_can_be_voided_and_its_zero_charge_reversed(log):
    given = gift(product_id="gift-1")
    charge = log.record(given)
    void = log.record(voided(given))
    assert figures(void) == negated(charge) == (85_000_000, 0, 0, 0, 0, 0)
    assert void.event_type == "order.paid" and void.order_id is None and void.item_id == "gift-1"


def test_voiding_twice_is_already_voided(log):
    metered = usage()
    log.record(metered)
    log.record(voided(metered))
    log.rejects(voided(metered), Reason.ALREADY_VOIDED)


def test_amending_a_voided_usage_is_already_voided(log):
    metered = usage()
    log.record(metered)
    log.record(amended(metered, quantity="3"))
    log.record(voided(metered))
    log.rejects(amended(metered, quantity="4"), Reason.ALREADY_VOIDED)


def test_a_voided_order_voided_again_is_already_voided(log):
    paid = order_paid(order_id="o-1")
    log.record(paid)
    log.record(voided(paid))
    log.rejects(voided(paid), Reason.ALREADY_VOIDED)


# Amendments --------------------------------------------------------------------------


def test_an_amendment_reverses_the_usage_and_rates_the_new_figures_at_the_usages_time(log):
    metered = usage(quantity="2", unit_price="0.12345678", time=USAGE_TIME)
    charge = log.record(metered)
    # Known only now: a better rate in force at the usage's time, and one that starts after it.
    log.record(discount_granted(discount_id="d-2", rate="0.5", valid_from="2026-10-05T00:00:00+08:00"))
    log.record(discount_granted(discount_id="d-3", rate="0.1", valid_from="2026-10-06T00:00:00+08:00"))
    amendment = log.record(amended(metered, quantity="3", unit_price="0.33333333", reason="meter fixed"))

    assert isinstance(amendment, UsageAmended) and amendment.type == "usage.amended"
    assert figures(amendment.reversal) == negated(charge)
    assert texts(amendment) == ("0.50000000", "0.99999999", "0.49999999", "0.50000000", "0.50000000", "0.00000000")
    assert placed(amendment) == placed(charge)
    links = (amendment.event_source, amendment.event_id, amendment.reason)
    assert links == (metered["source"], metered["id"], "meter fixed")


def test_an_amendment_keeps_the_usages_period_line_and_attribution_whatever_its_own_time(log):
    metered = usage(time="2026-10-31T23:59:59+08:00", resource_id="i-7", service_type="RDS")
    charge = log.record(metered)
    log.record(disassociated(time="2026-11-01T00:00:00+08:00"))
    log.record(associated(partner="p-2", time="2026-11-02T00:00:00+08:00"))
    amendment = log.record(amended(metered, quantity="5", time="2026-12-15T00:00:00+08:00"))
    assert placed(amendment) == placed(charge) == ("2026-10", "RDS", "i-7", None, "CNY", "p-1", "m-1", "r-1")
    assert amendment.time == "2026-12-15T00:00:00+08:00"


def test_amending_twice_reverses_the_first_amendment_not_the_usage(log):
    metered = usage(quantity="2", time=USAGE_TIME)
    log.record(metered)
    first = log.record(amended(metered, quantity="3", unit_price="1"))
    second = log.record(amended(metered, quantity="4", unit_price="1"))
    assert figures(second.reversal) == negated(first)
    assert texts(second)[1] == "4.00000000"


def test_a_void_after_an_amendment_reverses_the_amended_charge(log):
    metered = usage(quantity="2", time=USAGE_TIME)
    log.record(metered)
    amendment = log.record(amended(metered, quantity="7", unit_price="0.5"))
    void = log.record(voided(metered))
    assert figures(void) == negated(amendment)
    assert void.event_type == "usage.recorded"


def test_an_amendment_to_zero_is_a_charge_of_zero_not_a_void(log):
    metered = usage(time=USAGE_TIME)
    log.record(metered)
    amendment = log.record(amended(metered, quantity="0"))
    assert texts(amendment)[1:] == ("0.00000000",) * 5
    again = log.record(amended(metered, quantity="1", unit_price="1"))
    assert figures(again.reversal) == negated(amendment)


# Unknown events and the order of refusals --------------------------------------------


def test_a_correction_of_nothing_recorded_is_unknown_event(log):
    log.rejects(voided(("metering/ecs", "u-404")), Reason.UNKNOWN_EVENT)
    log.rejects(amended(("metering/ecs", "u-404")), Reason.UNKNOWN_EVENT)


def test_a_correction_of_another_customers_event_is_unknown_event(log):
    theirs = usage("c-2")
    log.record(theirs)
    log.rejects(voided(theirs, customer="c-1"), Reason.UNKNOWN_EVENT)
    log.rejects(amended(theirs, customer="c-1"), Reason.UNKNOWN_EVENT)
    assert isinstance(log.record(voided(theirs)), ChargeVoided)  # its own customer may


def test_a_correction_of_an_event_without_a_charge_is_unknown_event(log):
    for body in (associated("c-3"), discount_granted("c-3", discount_id="d-9")):
        log.record(body)
        log.rejects(voided(body), Reason.UNKNOWN_EVENT)


@pytest.mark.parametrize("correct", [voided, amended], ids=["void", "amendment"])
def test_a_correction_of_a_correction_is_unknown_event(log, correct):
    metered = usage()
    log.record(metered)
    correction = correct(metered)
    log.record(correction)
    log.rejects(voided(correction), Reason.UNKNOWN_EVENT)
    log.rejects(amended(correction), Reason.UNKNOWN_EVENT)


@pytest.mark.parametrize(
    "body",
    [order_paid(order_id="o-2"), gift(), order_refunded(order_id="o-1", amount="1")],
    ids=["order", "gift", "refund"],
)
def test_amending_anything_but_a_usage_is_unknown_event(log, body):
    log.record(order_paid(order_id="o-1", amount="100"))
    log.record(body)
    rejected = log.rejects(amended(body), Reason.UNKNOWN_EVENT)
    assert "usage" in rejected.message


def test_unknown_event_comes_before_already_voided(log):
    paid = order_paid(order_id="o-1")
    log.record(paid)
    log.record(voided(paid))
    log.rejects(amended(paid), Reason.UNKNOWN_EVENT)  # not a usage, though voided
