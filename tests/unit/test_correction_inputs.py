"""Corrections judged as lines (CONTRACT.md §1, §11) and the customer state that keeps
what they did (stored as msgpack in `customer_states`, so it only grows)."""

from __future__ import annotations

import msgspec
import pytest

from engine.customer import CorrectedCharge, CustomerState, PaidOrder, evolve
from engine.decide import Rules, check_currency
from engine.errors import Reason, Rejected
from engine.instants import BillingCalendar
from engine.judge import Candidate, judge_line
from schemas.recorded import ChargeFigures
from tests.builders import amended, line, order_paid, order_refunded, usage, voided
from tests.unit.test_corrections import Log

USD = Rules(currency="USD", minor_digits=2, calendar=BillingCalendar("Asia/Shanghai"))
TARGET = ("metering/ecs", "u-1")


def judged(body: dict) -> Candidate:
    candidate = judge_line(line(body))
    assert isinstance(candidate, Candidate), candidate
    return candidate


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (voided(("s" * 257, "u-1")), "data.event_source", "length <= 256"),
        (voided(("", "u-1")), "data.event_source", "length >= 1"),
        (voided((TARGET[0], "i" * 129)), "data.event_id", "length <= 128"),
        (voided(TARGET, reason=""), "data.reason", "length >= 1"),
        (voided(TARGET, reason="r" * 257), "data.reason", "length <= 256"),
        (voided(TARGET, customer="c" * 65), "data.customer_id", "length <= 64"),
        (voided(TARGET, data={"event_id": 7}), "data.event_id", "expected `str`"),
        (amended(TARGET, quantity="-1"), "data.quantity", "must not be negative"),
        (amended(TARGET, unit_price="1e3"), "data.unit_price", "no exponent"),
        (amended(TARGET, unit_price="0.123456789"), "data.unit_price", "at most 8 decimals"),
    ],
)
def test_a_correction_field_out_of_the_contracts_limits_is_invalid_data_naming_it(body, field, problem):
    candidate = judged(body)
    assert candidate.problem is not None and candidate.problem.field == field, candidate.problem
    assert problem in str(candidate.problem)


@pytest.mark.parametrize("missing", ["customer_id", "event_source", "event_id", "reason"])
def test_a_correction_missing_a_field_is_invalid_data_naming_it(missing):
    for body in (voided(TARGET), amended(TARGET)):
        del body["data"][missing]
        assert str(judged(body).problem) == f"data.{missing}: missing"
    body = amended(TARGET)
    del body["data"]["quantity"]
    assert str(judged(body).problem) == "data.quantity: missing"


def test_the_longest_event_source_event_id_and_reason_are_accepted():
    body = voided(("s" * 256, "i" * 128), reason="r" * 256)
    assert judged(body).problem is None


def test_corrections_carry_no_currency_so_a_currency_field_is_ignored():
    for body in (voided(TARGET, data={"currency": "JPY"}), amended(TARGET, data={"currency": "XXX-not"})):
        candidate = judged(body)
        assert candidate.problem is None and "currency" not in candidate.figures
        check_currency(candidate, USD)  # accepted whatever the deployment bills


def test_an_amendments_quantity_and_unit_price_are_read_as_a_usages():
    candidate = judged(amended(TARGET, quantity="2.5", unit_price="0.00000001"))
    assert candidate.figures == {"quantity": 250_000_000, "unit_price": 1}


# State -------------------------------------------------------------------------------


# A customer state as the version before corrections (commit 69eb20e) stored it: an
# association and order o-1 (100 paid, 40 refunded); no `corrected`, and the order's
# array without the `voided` flag at its end.
YESTERDAYS_STATE = bytes.fromhex(
    "85ab637573746f6d65725f6964a3632d31a776657273696f6e04ac6173736f63696174696f6e739196a3702d31bb3230"
    "32362d30392d33305431363a30303a30302e3030303030305ac0aa656e7465727072697365c0c0a9646973636f756e74"
    "7380a66f726465727381a36f2d3198a34f4253a5706b672d31ac3130302e3030303030303030ab34302e303030303030"
    "3030ce05f5e100a3702d31c0c0"
)


def test_a_state_stored_before_corrections_existed_still_decodes():
    state = msgspec.msgpack.decode(YESTERDAYS_STATE, type=CustomerState)
    assert (state.customer_id, state.version, state.corrected) == ("c-1", 4, {})
    assert state.associations[0].partner_id == "p-1"
    order = state.orders["o-1"]
    assert (order.voided, order.refundable_units, order.has_refunds) == (False, 60 * 10**8, True)


def test_the_state_after_corrections_survives_its_msgpack_round_trip_and_a_refold():
    log = Log()
    metered, paid = usage(), order_paid(order_id="o-1", amount="10")
    refund = order_refunded(order_id="o-1", amount="4")
    events = [log.record(body) for body in (metered, paid, refund, amended(metered, quantity="3"), voided(refund))]
    state = log.states["c-1"]
    stored = msgspec.msgpack.decode(msgspec.msgpack.encode(state), type=CustomerState)
    assert stored == state
    three_tenths = 3 * 10**7  # 3 × 0.1 at rate 1
    standing = ChargeFigures(10**8, three_tenths, 0, three_tenths, three_tenths, 0)
    assert state.correction_of(metered["source"], metered["id"]) == CorrectedCharge(False, standing)
    assert state.correction_of(refund["source"], refund["id"]).voided
    assert state.orders["o-1"] == PaidOrder("OBS", "pkg-1", "10.00000000", "0.00000000", 10**8, None, None, None)
    refolded = CustomerState(customer_id="c-1")
    for event in events:
        evolve(refolded, event)
    assert refolded == state


def test_a_refused_correction_is_a_rejection_with_its_code():
    with pytest.raises(Rejected) as caught:
        Log().record(voided(TARGET))
    assert caught.value.reason is Reason.UNKNOWN_EVENT
    assert str(caught.value).startswith("unknown_event: data.event_id: ")
