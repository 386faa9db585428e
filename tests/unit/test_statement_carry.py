"""What a close carries and the statement it builds: pure functions of tallies."""

from __future__ import annotations

import json

import msgspec
import pytest

from engine.statements.carry import (
    CarriedEntry,
    TallyBroken,
    build_statement,
    canonical_json,
    issued_step,
    statement_digest,
    statement_view,
    to_carry,
)
from schemas.statements import LogHead, StatementStep
from tests.contract_fields import STATEMENT_KEYS

HEAD = LogHead(position=7, hash="ab" * 32)
UNIT = 10**8


def test_everything_recorded_is_carried_by_the_first_close():
    live = {("p-1", "2026-10", "c-1"): [150 * UNIT, 150 * UNIT, 3], ("p-2", "2026-10", "c-2"): [UNIT, UNIT, 1]}
    assert to_carry(live, {}) == {
        "p-1": [CarriedEntry("2026-10", "c-1", 150 * UNIT, 150 * UNIT, 3)],
        "p-2": [CarriedEntry("2026-10", "c-2", UNIT, UNIT, 1)],
    }


def test_only_what_was_recorded_since_the_last_carry_is_carried_again():
    carried = {("p-1", "2026-10", "c-1"): [150 * UNIT, 150 * UNIT, 3], ("p-1", "2026-10", "c-2"): [UNIT, UNIT, 1]}
    live = {
        ("p-1", "2026-10", "c-1"): [160 * UNIT, 159 * UNIT, 4],
        ("p-1", "2026-10", "c-2"): [UNIT, UNIT, 1],
        ("p-1", "2026-11", "c-2"): [5 * UNIT, 5 * UNIT, 2],
    }
    assert to_carry(live, carried) == {
        "p-1": [
            CarriedEntry("2026-10", "c-1", 10 * UNIT, 9 * UNIT, 1),
            CarriedEntry("2026-11", "c-2", 5 * UNIT, 5 * UNIT, 2),
        ]
    }


def test_a_charge_count_that_grew_is_carried_even_when_the_amounts_net_to_zero():
    carried = {("p-1", "2026-10", "c-1"): [100 * UNIT, 100 * UNIT, 1]}
    live = {("p-1", "2026-10", "c-1"): [100 * UNIT, 100 * UNIT, 3]}  # a refund and its void, say
    assert to_carry(live, carried) == {"p-1": [CarriedEntry("2026-10", "c-1", 0, 0, 2)]}


def test_a_refund_carried_later_is_a_negative_adjustment():
    carried = {("p-1", "2026-10", "c-1"): [100 * UNIT, 100 * UNIT, 1]}
    live = {("p-1", "2026-10", "c-1"): [60 * UNIT, 60 * UNIT, 2]}
    assert to_carry(live, carried)["p-1"] == [CarriedEntry("2026-10", "c-1", -40 * UNIT, -40 * UNIT, 1)]


def test_nothing_new_carries_nothing():
    tally = {("p-1", "2026-10", "c-1"): [100 * UNIT, 100 * UNIT, 1]}
    assert to_carry(tally, {key: list(sums) for key, sums in tally.items()}) == {}


@pytest.mark.parametrize(
    "live",
    [
        {("p-1", "2026-10", "c-1"): [100 * UNIT, 100 * UNIT, 1]},  # fewer charges than carried
        {("p-1", "2026-10", "c-1"): [80 * UNIT, 80 * UNIT, 2]},  # same count, other amounts
        {},  # a carried key vanished
    ],
)
def test_a_live_tally_behind_the_carried_one_is_a_bug_never_a_statement(live):
    with pytest.raises(TallyBroken):
        to_carry(live, {("p-1", "2026-10", "c-1"): [90 * UNIT, 90 * UNIT, 2]})


def test_entries_are_sorted_by_period_then_customer():
    live = {
        ("p-1", "2026-10", "c-2"): [UNIT, UNIT, 1],
        ("p-1", "2026-09", "c-3"): [UNIT, UNIT, 1],
        ("p-1", "2026-10", "c-1"): [UNIT, UNIT, 1],
    }
    assert [(e.period, e.customer_id) for e in to_carry(live, {})["p-1"]] == [
        ("2026-09", "c-3"),
        ("2026-10", "c-1"),
        ("2026-10", "c-2"),
    ]


def _statement(entries, minor_digits=2):
    return build_statement("p-1", "2026-11", "2026-12-02T00:00:00.000000Z", "CNY", minor_digits, entries, HEAD)


def test_the_periods_charges_are_details_and_earlier_ones_adjustments_with_their_totals():
    body = _statement(
        [
            CarriedEntry("2026-11", "c-2", 1_234_567_890, 1_234_000_000, 2),
            CarriedEntry("2026-09", "c-1", -500_000_000, -500_000_000, 1),
            CarriedEntry("2026-11", "c-1", 100_000_001, 100_000_000, 1),
            CarriedEntry("2026-10", "c-1", 0, 0, 2),
        ]
    )
    assert [d.customer_id for d in body.details] == ["c-1", "c-2"]
    assert (body.payable_amount, body.settled_amount, body.customers) == ("13.34567891", "13.34", 2)
    assert [(a.period, a.customer_id, a.payable_amount, a.settled_amount) for a in body.adjustments] == [
        ("2026-09", "c-1", "-5.00000000", "-5.00"),
        ("2026-10", "c-1", "0.00000000", "0.00"),
    ]
    assert (body.adjustments_payable_amount, body.adjustments_settled_amount) == ("-5.00000000", "-5.00")
    assert (body.total_payable_amount, body.total_settled_amount) == ("8.34567891", "8.34")
    assert body.log_head == HEAD


def test_a_statement_of_adjustments_only_has_zero_period_figures_without_a_sign():
    body = _statement([CarriedEntry("2026-10", "c-1", -3 * UNIT, -3 * UNIT, 1)], minor_digits=0)
    assert (body.payable_amount, body.settled_amount, body.customers, body.details) == ("0.00000000", "0", 0, [])
    assert body.total_settled_amount == "-3"


def test_a_statement_never_carries_a_later_period():
    with pytest.raises(ValueError):
        _statement([CarriedEntry("2026-12", "c-1", UNIT, UNIT, 1)])


def test_the_printed_statement_has_the_contract_field_order():
    body = _statement([CarriedEntry("2026-11", "c-1", UNIT, UNIT, 1)])
    shown = json.loads(msgspec.json.encode(statement_view(body, [issued_step(body)], statement_digest(body))))
    assert list(shown) == STATEMENT_KEYS
    assert shown["status"] == "pending_confirmation"
    assert shown["history"] == [{"status": "pending_confirmation", "at": body.issued_at, "reason": None}]
    assert list(shown["details"][0]) == ["customer_id", "payable_amount", "settled_amount"]
    assert shown["log_head"] == {"position": 7, "hash": "ab" * 32}


def test_the_digest_is_of_the_printed_statement_without_status_history_and_digest():
    import hashlib

    body = _statement([CarriedEntry("2026-11", "c-1", UNIT, UNIT, 1)])
    digest = statement_digest(body)
    later = statement_view(
        body, [issued_step(body), StatementStep("disputed", "2026-12-03T00:00:00.000000Z", "no")], digest
    )
    shown = json.loads(msgspec.json.encode(later))
    for name in ("status", "history", "digest"):
        del shown[name]
    canonical = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert canonical == canonical_json(body)


def test_the_log_head_is_inside_the_digest():
    entries = [CarriedEntry("2026-11", "c-1", UNIT, UNIT, 1)]
    other = build_statement(
        "p-1", "2026-11", "2026-12-02T00:00:00.000000Z", "CNY", 2, entries, LogHead(position=8, hash="cd" * 32)
    )
    assert statement_digest(_statement(entries)) != statement_digest(other)
