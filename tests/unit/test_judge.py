"""Judging one line on its own (CONTRACT.md §1 shapes, §3 codes 1–3 and 5), no I/O."""

from __future__ import annotations

import pytest

from engine.errors import Reason
from engine.instants import parse_instant
from engine.judge import MAX_NESTING, Candidate, Rejection, judge_line
from tests.builders import (
    associated,
    disassociated,
    discount_granted,
    discount_revoked,
    event,
    gift,
    line,
    order_paid,
    order_refunded,
    usage,
)


def rejection_of(raw: bytes) -> Rejection:
    verdict = judge_line(raw)
    assert isinstance(verdict, Rejection), f"expected a rejection, got {verdict!r}"
    return verdict


def data_problem_of(raw: bytes) -> str:
    """The message an `invalid_data` rejection of this line would carry."""
    verdict = judge_line(raw)
    assert isinstance(verdict, Candidate), f"expected a candidate, got {verdict!r}"
    assert verdict.problem is not None, "expected a data problem"
    return str(verdict.problem)


def sound(raw: bytes) -> Candidate:
    verdict = judge_line(raw)
    assert isinstance(verdict, Candidate), f"expected a candidate, got {verdict!r}"
    assert verdict.problem is None, f"unexpected data problem: {verdict.problem}"
    return verdict


def without(body: dict, key: str) -> dict:
    body = dict(body)
    del body[key]
    return body


def with_data(body: dict, **fields) -> dict:
    return {**body, "data": {**body["data"], **fields}}


def without_data_field(body: dict, key: str) -> dict:
    data = dict(body["data"])
    del data[key]
    return {**body, "data": data}


# Sound events ------------------------------------------------------------------------

EVERY_TYPE = [
    associated(),
    disassociated(),
    usage(),
    order_paid(),
    gift(),
    order_refunded(),
    discount_granted(),
    discount_revoked(),
]


@pytest.mark.parametrize("body", EVERY_TYPE, ids=lambda body: body["type"])
def test_a_sound_event_of_every_type_is_a_candidate(body):
    candidate = sound(line(body))
    assert candidate.pair == (body["source"], body["id"])
    assert candidate.type == body["type"]
    assert candidate.customer_id == "c-1"
    assert candidate.at == parse_instant(body["time"])
    assert candidate.fact == line(body)


def test_the_contract_example_is_a_sound_event():
    raw = (
        b'{"specversion": "1.0", "id": "u-000001", "source": "metering/ecs",\n'
        b' "type": "usage.recorded", "time": "2026-10-03T08:00:00+08:00",\n'
        b' "data": {"customer_id": "c-1", "service_type": "ECS", "resource_id": "i-9",\n'
        b'          "quantity": "2", "unit": "hour", "unit_price": "0.12345678", "currency": "CNY"}}'
    ).replace(b"\n", b"")
    assert sound(raw).pair == ("metering/ecs", "u-000001")


def test_unknown_envelope_attributes_and_data_fields_are_ignored():
    body = usage(datacontenttype="application/json", subject="x", extension={"a": [1, 2]})
    body["data"]["future_field"] = {"nested": [1, "two", None]}
    sound(line(body))


@pytest.mark.parametrize(
    "body",
    [
        usage(data={"product_id": None, "region": None}),
        associated(data={"indirect_partner_id": None, "account_manager_id": None}),
        disassociated(data={"reason": None}),
        discount_granted(data={"valid_to": None, "partner_id": None}),
    ],
    ids=lambda body: body["type"],
)
def test_an_optional_field_that_is_null_counts_as_absent(body):
    sound(line(body))


@pytest.mark.parametrize(
    "body",
    [
        usage(quantity="0", unit_price="0"),
        usage(quantity="999999999999999.99999999"),
        usage(data={"customer_id": "c" * 64, "resource_id": "r" * 128, "unit": "u" * 32}),
        order_paid(order_id="o" * 64, amount="0.00"),
        gift(data={"amount": "0.00"}),
        order_refunded(amount="0.00000001"),
        discount_granted(rate="1"),
        discount_granted(rate="0.00000001"),
        discount_granted(valid_from="2026-01-01T00:00:00Z", valid_to="2026-01-01T00:00:00.000001Z"),
        disassociated(data={"reason": "r" * 256}),
        associated(customer_type="individual", channel="qr_code"),
        associated(channel="invitation_link", data={"indirect_partner_id": "r-1", "account_manager_id": "m-1"}),
        discount_granted(kind="exclusive", service_type="ECS", data={"partner_id": "p-1"}),
        event("usage.recorded", usage()["data"], id="i" * 128, source="s" * 256),
        usage(id="😀" * 128, customer="é" * 64),  # lengths count characters, not bytes
    ],
    ids=lambda body: body["type"],
)
def test_values_at_the_edges_of_what_the_contract_allows_are_sound(body):
    sound(line(body))


# malformed_json ----------------------------------------------------------------------

GOOD = line(usage())


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"hello",
        b"{'specversion': '1.0'}",
        b'{"a": 1,}',
        b'{"a": NaN}',
        GOOD + b" {}",
        GOOD[:-1],
        b"\xff\xfe{}",
        GOOD.replace(b'"i-9"', b'"i-\xff9"'),  # not UTF-8 inside a string
        GOOD.replace(b'"hour"', b'"h\xc3"'),  # a truncated UTF-8 sequence
        GOOD.replace(b'"hour"', b'"\xc0\xaf"'),  # an overlong encoding
        GOOD.replace(b'"hour"', b'"\xed\xa0\x80"'),  # an encoded surrogate
        b"[" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        GOOD.replace(b'"unit": "hour"', b'"unit": "hour", "x": ' + b"[" * 100_000 + b"]" * 100_000),
    ],
    ids=lambda raw: repr(raw[:24]),
)
def test_a_line_that_is_not_utf_8_json_is_malformed_json(raw):
    rejection = rejection_of(raw)
    assert rejection.reason is Reason.MALFORMED_JSON
    assert rejection.message
    assert (rejection.source, rejection.id, rejection.type) == (None, None, None)


def test_deep_nesting_is_a_clean_rejection_that_says_so():
    rejection = rejection_of(b"[" * 100_000)
    assert "nested" in rejection.message


def nested_in_data(depth: int) -> bytes:
    """A sound usage event with an unknown data field nested `depth` arrays deep."""
    nested = b"[" * depth + b"]" * depth
    return GOOD.replace(b'"unit": "hour"', b'"unit": "hour", "x": ' + nested)


def judged_from_a_deep_stack(raw: bytes, frames: int = 600):
    def dive(remaining: int):
        return judge_line(raw) if remaining == 0 else dive(remaining - 1)

    return dive(frames)


@pytest.mark.parametrize("depth", [10, 100, 300, 500, 900, 990, 5000])
def test_how_deep_is_beyond_reason_does_not_depend_on_the_callers_stack(depth):
    # the same line must get the same verdict from the CLI, the Kafka consumer, a retry
    # or a duplicate check, whatever the stack depth at which it is judged
    shallow = judge_line(nested_in_data(depth))
    deep = judged_from_a_deep_stack(nested_in_data(depth))
    assert type(deep) is type(shallow)
    assert getattr(deep, "reason", None) is getattr(shallow, "reason", None)


def test_reasonable_nesting_in_an_unknown_field_is_sound_and_unreasonable_is_malformed():
    assert sound(nested_in_data(10)).problem is None
    assert rejection_of(nested_in_data(5000)).reason is Reason.MALFORMED_JSON


def test_nesting_up_to_the_documented_bound_is_sound_and_one_more_level_is_not():
    # the event object is one level and `data` a second, so the field adds depth - 2
    assert sound(nested_in_data(MAX_NESTING - 2)).problem is None
    rejection = rejection_of(nested_in_data(MAX_NESTING - 1))
    assert rejection.reason is Reason.MALFORMED_JSON
    assert "nested" in rejection.message


def test_brackets_inside_strings_are_not_nesting():
    body = usage()
    body["data"]["note"] = "[" * 5000 + "{" * 5000
    sound(line(body))


def test_bytes_that_are_not_utf_8_are_reported_as_such():
    rejection = rejection_of(GOOD.replace(b'"i-9"', b'"i-\xff9"'))
    assert "UTF-8" in rejection.message


# invalid_envelope --------------------------------------------------------------------

BASE = usage()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (without(BASE, "specversion"), "specversion"),
        ({**BASE, "specversion": "0.3"}, "specversion"),
        ({**BASE, "specversion": 1.0}, "specversion"),
        ({**BASE, "specversion": "1.0 "}, "specversion"),
        ({**BASE, "specversion": None}, "specversion"),
        (without(BASE, "id"), "id"),
        ({**BASE, "id": ""}, "id"),
        ({**BASE, "id": "i" * 129}, "id"),
        ({**BASE, "id": "😀" * 129}, "id"),
        ({**BASE, "id": 7}, "id"),
        ({**BASE, "id": None}, "id"),
        (without(BASE, "source"), "source"),
        ({**BASE, "source": ""}, "source"),
        ({**BASE, "source": "s" * 257}, "source"),
        ({**BASE, "source": ["metering"]}, "source"),
        (without(BASE, "time"), "time"),
        ({**BASE, "time": None}, "time"),
        ({**BASE, "time": 1791000000}, "time"),
        ({**BASE, "time": "2026-10-03T08:00:00"}, "time"),
        ({**BASE, "time": "2026-10-03 08:00:00+08:00"}, "time"),
        ({**BASE, "time": "2016-12-31T23:59:60Z"}, "time"),
        ({**BASE, "time": "2026-02-29T08:00:00+08:00"}, "time"),
        ({**BASE, "time": "2026-10-03T08:00:00+25:00"}, "time"),
        ({**BASE, "time": "2026-10-03T08:00:00+08:00\n"}, "time"),
        (without(BASE, "type"), "type"),
        ({**BASE, "type": None}, "type"),
        ({**BASE, "type": 3}, "type"),
        ({**BASE, "type": ["usage.recorded"]}, "type"),
    ],
)
def test_a_bad_envelope_attribute_is_an_invalid_envelope_naming_it(body, field):
    rejection = rejection_of(line(body))
    assert rejection.reason is Reason.INVALID_ENVELOPE
    assert rejection.message.startswith(f"{field}: ")


@pytest.mark.parametrize("raw", [b"[]", b"[1, 2]", b'"usage.recorded"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_an_invalid_envelope(raw):
    assert rejection_of(raw).reason is Reason.INVALID_ENVELOPE


def test_a_bad_envelope_keeps_the_attributes_it_could_read():
    rejection = rejection_of(line({**BASE, "time": "yesterday"}))
    assert (rejection.source, rejection.id, rejection.type) == (BASE["source"], BASE["id"], "usage.recorded")


# unknown_type ------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["usage.deleted", "USAGE.RECORDED", "", "customer.associated "])
def test_a_type_the_contract_does_not_list_is_unknown(type_):
    rejection = rejection_of(line({**BASE, "type": type_}))
    assert rejection.reason is Reason.UNKNOWN_TYPE
    assert rejection.message.startswith("type: ")
    assert (rejection.source, rejection.id, rejection.type) == (BASE["source"], BASE["id"], type_)


# The order of the checks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # a bad envelope is reported before an unknown type
        ({**BASE, "specversion": "2.0", "type": "nope"}, Reason.INVALID_ENVELOPE),
        ({**BASE, "id": "", "type": "nope"}, Reason.INVALID_ENVELOPE),
        ({**BASE, "source": "", "type": "nope"}, Reason.INVALID_ENVELOPE),
        ({**BASE, "time": "soon", "type": "nope"}, Reason.INVALID_ENVELOPE),
        # an unknown type is reported before bad data
        ({**BASE, "type": "nope", "data": "not an object"}, Reason.UNKNOWN_TYPE),
        (without({**BASE, "type": "nope"}, "data"), Reason.UNKNOWN_TYPE),
        # a bad envelope is reported before bad data
        ({**BASE, "time": "soon", "data": None}, Reason.INVALID_ENVELOPE),
        ({**with_data(BASE, unit_price="NaN"), "specversion": "1"}, Reason.INVALID_ENVELOPE),
    ],
)
def test_the_first_check_that_applies_gives_the_reason(body, reason):
    assert rejection_of(line(body)).reason is reason


def test_malformed_json_comes_before_everything_else():
    raw = line({**BASE, "specversion": "2.0", "type": "nope"}) + b","
    assert rejection_of(raw).reason is Reason.MALFORMED_JSON


def test_bad_data_is_left_for_after_the_duplicate_check():
    # invalid_data ranks after conflicting_duplicate, which only the store can decide:
    # the judge hands the line on with its problem instead of rejecting it.
    verdict = judge_line(line(with_data(BASE, unit_price="NaN")))
    assert isinstance(verdict, Candidate)
    assert verdict.pair == (BASE["source"], BASE["id"])
    assert str(verdict.problem).startswith("data.unit_price: ")


# invalid_data ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (without(BASE, "data"), "data"),
        ({**BASE, "data": None}, "data"),
        ({**BASE, "data": [1]}, "data"),
        ({**BASE, "data": "c-1"}, "data"),
        # usage.recorded
        (without_data_field(BASE, "customer_id"), "data.customer_id"),
        (with_data(BASE, customer_id=None), "data.customer_id"),
        (with_data(BASE, customer_id=""), "data.customer_id"),
        (with_data(BASE, customer_id="c" * 65), "data.customer_id"),
        (with_data(BASE, customer_id=1), "data.customer_id"),
        (without_data_field(BASE, "service_type"), "data.service_type"),
        (with_data(BASE, service_type="s" * 65), "data.service_type"),
        (with_data(BASE, resource_id=""), "data.resource_id"),
        (with_data(BASE, resource_id="r" * 129), "data.resource_id"),
        (with_data(BASE, product_id=""), "data.product_id"),
        (with_data(BASE, region=""), "data.region"),
        (without_data_field(BASE, "unit"), "data.unit"),
        (with_data(BASE, unit="u" * 33), "data.unit"),
        (without_data_field(BASE, "quantity"), "data.quantity"),
        (with_data(BASE, quantity=2), "data.quantity"),
        (with_data(BASE, quantity="-1"), "data.quantity"),
        (with_data(BASE, quantity="1e3"), "data.quantity"),
        (with_data(BASE, unit_price="0.123456789"), "data.unit_price"),
        (with_data(BASE, unit_price="-0.01"), "data.unit_price"),
        (with_data(BASE, unit_price="NaN"), "data.unit_price"),
        (with_data(BASE, unit_price=" 1"), "data.unit_price"),
        (with_data(BASE, unit_price=0.5), "data.unit_price"),
        (with_data(BASE, quantity="2\n"), "data.quantity"),  # no trailing newline, as `$` would allow
        (with_data(BASE, customer_id="😀" * 65), "data.customer_id"),
        (without_data_field(BASE, "currency"), "data.currency"),
        (with_data(BASE, currency="cny"), "data.currency"),
        (with_data(BASE, currency="XYZ"), "data.currency"),
        (with_data(BASE, currency="CNYY"), "data.currency"),
        (with_data(BASE, currency="CNY\n"), "data.currency"),
        # order.paid
        (order_paid(amount="-100"), "data.amount"),
        (order_paid(amount="1.5e2"), "data.amount"),
        (order_paid(order_id=""), "data.order_id"),
        (order_paid(order_id="o" * 65), "data.order_id"),
        (order_paid(source_type=0), "data.source_type"),
        (order_paid(source_type="2"), "data.source_type"),
        (order_paid(product_id=""), "data.product_id"),
        (without_data_field(order_paid(), "service_type"), "data.service_type"),
        (order_paid(order_id="o-9", source_type="1", amount="0"), "data.order_id"),
        (order_paid(order_id="", source_type="1", amount="0.01"), "data.amount"),
        # order.refunded
        (order_refunded(amount="0"), "data.amount"),
        (order_refunded(amount="0.00"), "data.amount"),
        (order_refunded(amount="-5"), "data.amount"),
        (order_refunded(order_id=""), "data.order_id"),
        (without_data_field(order_refunded(), "currency"), "data.currency"),
        # customer.associated / disassociated
        (associated(customer_type="vip"), "data.customer_type"),
        (associated(channel="email"), "data.channel"),
        (without_data_field(associated(), "partner_id"), "data.partner_id"),
        (associated(data={"account_manager_id": ""}), "data.account_manager_id"),
        (associated(data={"indirect_partner_id": "r" * 65}), "data.indirect_partner_id"),
        (disassociated(partner="p" * 65), "data.partner_id"),
        (disassociated(data={"reason": "r" * 257}), "data.reason"),
        # discount.granted / revoked
        (discount_granted(kind="seasonal"), "data.kind"),
        (discount_granted(rate="0"), "data.rate"),
        (discount_granted(rate="0.00000000"), "data.rate"),
        (discount_granted(rate="1.00000001"), "data.rate"),
        (discount_granted(rate="-0.5"), "data.rate"),
        (discount_granted(rate="85%"), "data.rate"),
        (without_data_field(discount_granted(), "valid_from"), "data.valid_from"),
        (discount_granted(valid_from="2026-01-01"), "data.valid_from"),
        (discount_granted(valid_from="2026-01-01T00:00:00"), "data.valid_from"),
        (discount_granted(valid_from="2026-01-01T00:00:00+08:00\n"), "data.valid_from"),
        (discount_granted(valid_from="2026-02-30T00:00:00+08:00"), "data.valid_from"),
        (discount_granted(valid_to="2026-12-31T23:59:60Z"), "data.valid_to"),
        (discount_granted(valid_to="2026-01-01T00:00:00+08:00"), "data.valid_to"),  # == valid_from
        (discount_granted(valid_to="2025-12-31T16:00:00Z"), "data.valid_to"),  # the same instant
        (discount_granted(valid_to="2025-12-31T00:00:00+08:00"), "data.valid_to"),  # before
        (discount_granted(service_type=""), "data.service_type"),
        (discount_granted(discount_id=""), "data.discount_id"),
        (without_data_field(discount_revoked(), "discount_id"), "data.discount_id"),
    ],
)
def test_a_missing_or_malformed_known_field_is_a_data_problem_naming_it(body, field):
    assert data_problem_of(line(body)).startswith(f"{field}: ")


def test_an_amount_message_says_what_is_wrong_with_it():
    assert data_problem_of(line(with_data(BASE, unit_price="0.123456789"))) == ("data.unit_price: at most 8 decimals")
