"""Stored bytes are forever: each recorded event type's bytes as a store holds them
today decode with today's Structs to the same values and encode back to the same
bytes. A change that would make existing stores unreadable (a field renamed, moved or
dropped, a new field without a default) fails here (msgspec's schema-evolution rules:
new fields go at the end of a type, with defaults)."""

from __future__ import annotations

import msgspec
import pytest

from engine.mapper import TOPICS, decode_event, stored_row
from schemas.recorded import (
    RECORDED_EVENT_TYPES,
    AccountManagerAssigned,
    ChargeRecorded,
    ChargeVoided,
    CustomerAssociated,
    CustomerDisassociated,
    DiscountGranted,
    DiscountRevoked,
    UsageAmended,
)

_HEAD = b'"c-1",%d,"c-1","test/source","e-%d","2026-10-03T08:00:00+08:00","063926582400","2026-11-30T07:50:54.695500Z"'


def _row(version: int, fact: bytes, tail: bytes) -> bytes:
    return b"[" + _HEAD % (version, version) + b"," + fact + b"," + tail + b"]"


_USAGE_FACT = (
    b'{"specversion": "1.0", "id": "e-3", "source": "test/source", "type": "usage.recorded", '
    b'"time": "2026-10-03T08:00:00+08:00", "data": {"customer_id": "c-1", "service_type": "ECS", '
    b'"resource_id": "i-9", "quantity": "2", "unit": "hour", "unit_price": "0.12345678", "currency": "CNY"}}'
)
_USAGE_CHARGE = b'"usage.recorded","2026-10","ECS","i-9",null,"CNY",85000000,24691356,3703703,20987653,20000000,987653,"p-1",null,null'
_VOID_CHARGE = b'"charge.voided","2026-10","ECS","i-9",null,"CNY",85000000,-24691356,-3703703,-20987653,-20000000,-987653,"p-1",null,null'
_AMEND_CHARGE = b'"usage.amended","2026-10","ECS","i-9",null,"CNY",85000000,12345678,1851852,10493826,10000000,493826,"p-1",null,null'

# (type, stored state, a few decoded values that must come out)
SAMPLES: list[tuple[type, bytes, dict]] = [
    (
        CustomerAssociated,
        _row(1, b'{"type": "customer.associated"}', b'"p-1","enterprise","registration",null,null'),
        {"partner_id": "p-1", "customer_type": "enterprise", "account_manager_id": None},
    ),
    (
        DiscountGranted,
        _row(2, b'{"type": "discount.granted"}', b'"d-1","business","*",85000000,"063902793600",null,null'),
        {"discount_id": "d-1", "rate_units": 85000000, "valid_to": None},
    ),
    (
        ChargeRecorded,
        _row(3, _USAGE_FACT, _USAGE_CHARGE),
        {"type": "usage.recorded", "payable_units": 20987653, "settled_units": 20000000, "partner_id": "p-1"},
    ),
    (DiscountRevoked, _row(6, b'{"type": "discount.revoked"}', b'"d-1"'), {"discount_id": "d-1"}),
    (CustomerDisassociated, _row(7, b'{"type": "customer.disassociated"}', b'"p-1"'), {"partner_id": "p-1"}),
    (
        ChargeVoided,
        _row(8, b'{"type": "charge.voided"}', _VOID_CHARGE + b',"test/source","e-3","wrong meter","usage.recorded"'),
        {"payable_units": -20987653, "event_id": "e-3", "reason": "wrong meter", "event_type": "usage.recorded"},
    ),
    (
        UsageAmended,
        _row(
            9,
            b'{"type": "usage.amended"}',
            _AMEND_CHARGE
            + b',"test/source","e-3","re-metered",[85000000,-24691356,-3703703,-20987653,-20000000,-987653]',
        ),
        {"payable_units": 10493826, "event_id": "e-3"},
    ),
    (
        AccountManagerAssigned,
        b'["account_managers:p-1",1,"","crm","am-1","2026-10-03T08:00:00+08:00","063926582400",'
        b'"2026-11-30T07:50:54.695500Z",{"type": "account_manager.assigned"},"p-1","am-1","sup-1"]',
        {"customer_id": "", "account_manager_id": "am-1", "supervisor_id": "sup-1"},
    ),
]


def test_every_recorded_type_has_pinned_bytes():
    assert {cls for cls, _, _ in SAMPLES} == set(RECORDED_EVENT_TYPES)


@pytest.mark.parametrize(("cls", "state", "expected"), SAMPLES, ids=[cls.__name__ for cls, _, _ in SAMPLES])
def test_stored_bytes_decode_with_todays_types_and_encode_back_unchanged(cls, state, expected):
    event = decode_event(TOPICS[cls], state)
    assert type(event) is cls
    assert {name: getattr(event, name) for name in expected} == expected
    assert stored_row(event).state == state


def test_an_amendments_reversal_figures_are_read_in_their_stored_order():
    state = next(state for cls, state, _ in SAMPLES if cls is UsageAmended)
    event = decode_event(TOPICS[UsageAmended], state)
    assert msgspec.structs.astuple(event.reversal) == (85000000, -24691356, -3703703, -20987653, -20000000, -987653)
