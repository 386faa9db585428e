"""The ledger's pure rules (engine/accounts): routes, idempotency by id, funds, payment
steps, the warning's edge, the fold, and the checks of what callers send."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given

from engine.accounts import inputs, rules
from engine.accounts.rules import Balances, LedgerState, TransferRecord
from engine.errors import FieldError, Refused
from schemas.account_events import PaymentPaid, PaymentRejected, PaymentSubmitted, TransferRecorded

UNIT = 10**8
AT = "2026-11-30T10:00:00.000000Z"


def _fmt(units: int) -> str:
    return f"{units / UNIT:.2f}"  # messages only


def transfer_event(kind: str, partner: str, amount: str, id: str, version: int = 1) -> TransferRecorded:
    debit, credit = rules.route(kind, partner)
    return TransferRecorded(
        originator_id="transfers",
        originator_version=version,
        id=id,
        recorded_at=AT,
        kind=kind,
        partner_id=partner,
        debit=debit,
        credit=credit,
        amount=amount,
    )


@pytest.mark.parametrize(
    ("kind", "debit", "credit"),
    [
        ("topup", "cloud:bank", "prepaid:p"),
        ("withdrawal", "prepaid:p", "cloud:bank"),
        ("statement", "prepaid:p", "cloud:revenue"),
        ("incentive", "cloud:incentives", "incentive:p"),
        ("payment", "incentive:p", "cloud:bank"),
    ],
)
def test_each_kind_moves_money_between_the_contracts_accounts(kind, debit, credit):
    assert rules.route(kind, "p") == (debit, credit)


def test_a_new_id_is_judged_new_and_the_same_request_again_a_repeat():
    existing = TransferRecord("t", "topup", "p", "cloud:bank", "prepaid:p", 100 * UNIT, "posted", AT, "note")
    assert rules.judge_id(None, "topup", "p", UNIT) is False
    assert rules.judge_id(existing, "topup", "p", 100 * UNIT) is True


@pytest.mark.parametrize(
    ("kind", "partner", "amount"), [("withdrawal", "p", 100), ("topup", "q", 100), ("topup", "p", 101)]
)
def test_the_same_id_for_anything_else_is_an_id_conflict(kind, partner, amount):
    existing = TransferRecord("t", "topup", "p", "cloud:bank", "prepaid:p", 100 * UNIT, "posted", AT)
    with pytest.raises(Refused) as refused:
        rules.judge_id(existing, kind, partner, amount * UNIT)
    assert refused.value.code == "id_conflict"


def test_withdrawals_and_payments_may_take_exactly_the_available_amount():
    account = Balances(debits_posted=0, credits_posted=100 * UNIT, debits_pending=30 * UNIT)
    assert account.available == 70 * UNIT
    rules.check_funds("withdrawal", "prepaid:p", account, 70 * UNIT, _fmt)
    for kind in ("withdrawal", "payment"):
        with pytest.raises(Refused, match="insufficient_funds"):
            rules.check_funds(kind, "x", account, 70 * UNIT + 1, _fmt)
    rules.check_funds("topup", "cloud:bank", Balances(), 10**20, _fmt)  # sources are never short


@pytest.mark.parametrize(
    ("below", "warned", "available", "expected"),
    [
        (None, False, -5, (False, False)),
        (50, False, 50, (False, False)),
        (50, False, 49, (True, True)),
        (50, True, 10, (False, True)),
        (50, True, 50, (False, False)),
        (0, False, -1, (True, True)),
    ],
)
def test_the_balance_warning_fires_on_the_edge_only(below, warned, available, expected):
    assert rules.warning_edge(below, warned, available) == expected


def test_a_step_needs_a_known_application_in_the_status_it_starts_from():
    payment = rules.PaymentRecord("pay", "p", UNIT, "approved", [])
    with pytest.raises(Refused, match="unknown_payment"):
        rules.check_step(None, "nope", "approve")
    with pytest.raises(Refused, match="invalid_state"):
        rules.check_step(payment, "pay", "approve")
    rules.check_step(payment, "pay", "pay")


def test_the_fold_reserves_on_submission_and_posts_or_voids_once():
    state = LedgerState()
    rules.evolve(state, transfer_event("incentive", "p", "100.00", "i"))
    for id in ("a", "b"):
        rules.evolve(
            state,
            PaymentSubmitted(
                originator_id="payments",
                originator_version=1,
                id=id,
                recorded_at=AT,
                partner_id="p",
                debit="incentive:p",
                credit="cloud:bank",
                amount="30.00",
            ),
        )
    assert (state.accounts["incentive:p"].pending, state.accounts["cloud:bank"].pending) == (60 * UNIT, 0)
    rules.evolve(
        state,
        PaymentPaid(
            originator_id="payments", originator_version=2, id="a", recorded_at=AT, partner_id="p", amount="30.00"
        ),
    )
    rules.evolve(
        state,
        PaymentRejected(
            originator_id="payments",
            originator_version=3,
            id="b",
            recorded_at=AT,
            partner_id="p",
            amount="30.00",
            reason="no",
        ),
    )
    assert state.accounts["incentive:p"].balance == 70 * UNIT and state.accounts["incentive:p"].pending == 0
    assert {t.id: t.status for t in state.transfers.values()} == {"i": "posted", "a": "posted", "b": "voided"}
    with pytest.raises(AssertionError):
        rules.evolve(
            state,
            PaymentPaid(
                originator_id="payments", originator_version=4, id="a", recorded_at=AT, partner_id="p", amount="30.00"
            ),
        )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["topup", "withdrawal", "statement", "incentive"]),
            st.sampled_from(["p", "q"]),
            st.integers(min_value=1, max_value=10**14),
        ),
        max_size=40,
    )
)
def test_every_fold_keeps_the_balances_summing_to_zero(moves):
    state = LedgerState()
    for n, (kind, partner, cents) in enumerate(moves):
        rules.evolve(state, transfer_event(kind, partner, f"{cents // 100}.{cents % 100:02d}", f"t-{n}", n + 1))
    assert sum(account.balance for account in state.accounts.values()) == 0
    assert sum(a.debits_posted for a in state.accounts.values()) == sum(
        a.credits_posted for a in state.accounts.values()
    )


@pytest.mark.parametrize(
    ("text", "digits", "units"),
    [
        ("100", 2, 100 * UNIT),
        ("0.01", 2, UNIT // 100),
        ("007.5", 2, 750 * UNIT // 100),
        ("999999999999", 2, 999_999_999_999 * UNIT),
        ("1500", 0, 1500 * UNIT),
        ("0.125", 3, 125 * UNIT // 1000),
    ],
)
def test_amounts_read_as_units(text, digits, units):
    assert inputs.amount_units("amount", text, digits, "XXX") == units


@pytest.mark.parametrize(
    "text",
    ["", "0", "0.00", "-1", "1e3", "1.001", "1.", ".5", " 1", "+1", "NaN", "１", "1000000000000", "999999999999.01"],
)
def test_malformed_amounts_name_their_field(text):
    with pytest.raises(FieldError) as error:
        inputs.amount_units("amount", text, 2, "CNY")
    assert error.value.field == "amount"


def test_a_threshold_may_be_zero_but_not_negative():
    assert inputs.amount_units("below", "0", 2, "CNY", zero_ok=True) == 0
    with pytest.raises(FieldError):
        inputs.amount_units("below", "-0.01", 2, "CNY", zero_ok=True)


@given(st.integers(min_value=1, max_value=999_999_999_999_00))
def test_every_amount_in_range_reads_back_as_written(cents):
    text = f"{cents // 100}.{cents % 100:02d}"
    assert inputs.amount_units("amount", text, 2, "CNY") == cents * UNIT // 100


@pytest.mark.parametrize(
    ("text", "ok"), [("a", True), ("x" * 64, True), ("支付-1", True), ("", False), ("x" * 65, False), ("a\x00", False)]
)
def test_ids_are_1_to_64_characters_without_control_characters(text, ok):
    if ok:
        assert inputs.identifier("id", text) == text
    else:
        with pytest.raises(FieldError):
            inputs.identifier("id", text)
