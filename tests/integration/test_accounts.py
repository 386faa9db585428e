"""Partner accounts and payment applications (CONTRACT.md §8) through the handlers the
command line and the API share, on a real SQLite store. Every figure is worked out by
hand from the contract."""

from __future__ import annotations

import pytest

from commands import accounts
from engine.errors import FieldError
from tests.accounts_support import (
    as_json,
    balances,
    engine_log,
    notices,
    refusal,
    submit,
    topup,
    transfer,
)

ZERO = ("0.00", "0.00")
NOW = "2026-11-30T10:00:00.000000Z"


@pytest.fixture
def store(open_store):
    """A fresh SQLite store whose clock stands still (BILLING_NOW)."""
    return open_store(now=NOW)


def test_a_topup_credits_prepaid_from_the_bank_and_the_ledger_sums_to_zero(store):
    outcome = topup(store, "p-1", "100", "t-1", note="first")
    assert as_json(outcome.value) == {
        "id": "t-1",
        "kind": "topup",
        "debit": "cloud:bank",
        "credit": "prepaid:p-1",
        "amount": "100.00",
        "status": "posted",
        "at": NOW,
        "note": "first",
    }
    assert not outcome.repeated
    listing = as_json(accounts.ledger(store))
    assert listing == {
        "accounts": [
            {"account": "cloud:bank", "balance": "-100.00", "pending": "0.00"},
            {"account": "cloud:incentives", "balance": "0.00", "pending": "0.00"},
            {"account": "cloud:revenue", "balance": "0.00", "pending": "0.00"},
            {"account": "incentive:p-1", "balance": "0.00", "pending": "0.00"},
            {"account": "prepaid:p-1", "balance": "100.00", "pending": "0.00"},
        ],
        "total": "0.00",
    }
    assert list(as_json(accounts.account(store, "p-1"))) == [
        "partner_id",
        "currency",
        "prepaid",
        "incentive",
        "warn_below",
    ]


def test_an_empty_ledger_lists_the_three_cloud_accounts_and_an_unknown_partner_reads_as_zeros(store):
    assert balances(store) == {"cloud:bank": ZERO, "cloud:incentives": ZERO, "cloud:revenue": ZERO}
    assert as_json(accounts.account(store, "nobody")) == {
        "partner_id": "nobody",
        "currency": "CNY",
        "prepaid": {"balance": "0.00", "pending": "0.00", "available": "0.00"},
        "incentive": {"balance": "0.00", "pending": "0.00", "available": "0.00"},
        "warn_below": None,
    }


def test_a_threshold_alone_makes_the_partners_accounts_appear(store):
    account = accounts.warn(store, "p-2", 5_000_000_000)
    assert account.warn_below == "50.00"
    assert set(balances(store)) == {"cloud:bank", "cloud:incentives", "cloud:revenue", "incentive:p-2", "prepaid:p-2"}


def test_clearing_a_threshold_that_was_never_set_records_nothing(store):
    account = accounts.warn(store, "p-new", None)
    assert as_json(account) == as_json(accounts.account(store, "nobody")) | {"partner_id": "p-new"}
    assert set(balances(store)) == {"cloud:bank", "cloud:incentives", "cloud:revenue"}
    assert warning_rows(store) == [] and notices(store) == [] and engine_log(store) == []


def test_clearing_a_set_threshold_clears_it_and_the_partners_accounts_stay(store):
    accounts.warn(store, "p-2", 5_000_000_000)
    assert accounts.warn(store, "p-2", None).warn_below is None
    assert {"incentive:p-2", "prepaid:p-2"} <= set(balances(store))
    assert warning_rows(store) == [("p-2", None)]


def warning_rows(engine) -> list[tuple]:
    """The balance_warnings table's (partner, threshold) rows: what `warn` keeps (not logged)."""
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as cursor:
        return [tuple(row) for row in recorder.rows(cursor, "SELECT partner_id, below FROM {t}balance_warnings")]


def test_a_refused_request_makes_no_account_appear_and_records_nothing(store):
    assert refusal(lambda: transfer(store, "withdrawal", "p-3", "1", "w-1")) == "insufficient_funds"
    assert set(balances(store)) == {"cloud:bank", "cloud:incentives", "cloud:revenue"}
    assert engine_log(store) == [] and accounts.transfers(store).transfers == []


def test_the_same_id_with_the_same_kind_partner_and_amount_changes_nothing(store):
    first = topup(store, "p-1", "100", "t-1", note="one")
    again = topup(store, "p-1", "100.00", "t-1", note="another note")
    assert again.repeated and again.value == first.value
    assert balances(store)["prepaid:p-1"] == ("100.00", "0.00")
    assert len(engine_log(store)) == 1


@pytest.mark.parametrize(
    ("kind", "partner", "amount"),
    [
        ("withdrawal", "p-1", "100"),
        ("topup", "p-2", "100"),
        ("topup", "p-1", "100.01"),
        ("incentive", "p-1", "100"),
    ],
)
def test_an_id_used_again_for_anything_else_is_an_id_conflict(store, kind, partner, amount):
    topup(store, "p-1", "500", "t-0")
    topup(store, "p-1", "100", "t-1")
    assert refusal(lambda: transfer(store, kind, partner, amount, "t-1")) == "id_conflict"
    assert len(engine_log(store)) == 2


def test_transfers_and_applications_share_one_id_namespace(store):
    transfer(store, "incentive", "p-1", "100", "x-1")
    submit(store, "p-1", "10", "pay-1")
    assert refusal(lambda: submit(store, "p-1", "100", "x-1")) == "id_conflict"
    assert refusal(lambda: topup(store, "p-1", "10", "pay-1")) == "id_conflict"


@pytest.mark.parametrize("id", ["statement:p-1:2026-10", "incentive:policy:2026-Q4:p-1"])
def test_the_engines_own_ids_are_refused_to_callers(store, id):
    assert refusal(lambda: topup(store, "p-1", "1", id)) == "id_conflict"
    assert refusal(lambda: submit(store, "p-1", "1", id)) == "id_conflict"


def test_withdrawing_exactly_the_available_amount_is_allowed_and_a_cent_more_is_not(store):
    topup(store, "p-1", "100.50", "t-1")
    assert refusal(lambda: transfer(store, "withdrawal", "p-1", "100.51", "w-1")) == "insufficient_funds"
    transfer(store, "withdrawal", "p-1", "100.50", "w-1")
    assert balances(store)["prepaid:p-1"] == ZERO


def test_the_id_is_judged_before_funds(store):
    topup(store, "p-1", "100", "t-1")
    transfer(store, "withdrawal", "p-1", "100", "w-1")
    again = transfer(store, "withdrawal", "p-1", "100", "w-1")  # no funds left, but a repeat
    assert again.repeated and again.value.amount == "100.00"


def test_a_payment_application_reserves_on_the_incentive_account_only(store):
    transfer(store, "incentive", "p-1", "100", "i-1")
    application = submit(store, "p-1", "30", "pay-1")
    assert as_json(application.value) == {
        "id": "pay-1",
        "partner_id": "p-1",
        "amount": "30.00",
        "status": "under_review",
        "history": [{"status": "under_review", "at": NOW, "reason": None}],
    }
    assert balances(store)["incentive:p-1"] == ("100.00", "30.00")
    assert balances(store)["cloud:bank"] == ZERO
    assert as_json(accounts.account(store, "p-1"))["incentive"] == {
        "balance": "100.00",
        "pending": "30.00",
        "available": "70.00",
    }
    [pending] = [t for t in accounts.transfers(store, "p-1").transfers if t.kind == "payment"]
    assert (pending.debit, pending.credit, pending.status) == ("incentive:p-1", "cloud:bank", "pending")


def test_applications_above_the_incentive_available_are_refused(store):
    transfer(store, "incentive", "p-1", "100", "i-1")
    submit(store, "p-1", "60", "pay-1")
    assert refusal(lambda: submit(store, "p-1", "40.01", "pay-2")) == "insufficient_funds"
    submit(store, "p-1", "40", "pay-2")


def test_paying_posts_the_reservation_and_rejecting_voids_it(store):
    transfer(store, "incentive", "p-1", "100", "i-1")
    submit(store, "p-1", "30", "pay-1")
    submit(store, "p-1", "20", "pay-2")
    accounts.step_payment(store, "pay-1", "approve")
    paid = accounts.step_payment(store, "pay-1", "pay")
    rejected = accounts.step_payment(store, "pay-2", "reject", "wrong bank account")
    assert [h.status for h in paid.value.history] == ["under_review", "approved", "paid"]
    assert as_json(rejected.value.history[-1]) == {"status": "rejected", "at": NOW, "reason": "wrong bank account"}
    assert balances(store)["incentive:p-1"] == ("70.00", "0.00")
    assert balances(store)["cloud:bank"] == ("30.00", "0.00")
    statuses = {t.id: t.status for t in accounts.transfers(store).transfers}
    assert statuses == {"i-1": "posted", "pay-1": "posted", "pay-2": "voided"}


@pytest.mark.parametrize(
    ("steps", "code"),
    [
        (["pay"], "invalid_state"),
        (["approve", "approve"], "invalid_state"),
        (["approve", "reject"], "invalid_state"),
        (["reject", "approve"], "invalid_state"),
        (["approve", "pay", "pay"], "invalid_state"),
        (["reject", "reject"], "invalid_state"),
    ],
)
def test_a_step_the_status_does_not_allow_is_invalid_state(store, steps, code):
    transfer(store, "incentive", "p-1", "100", "i-1")
    submit(store, "p-1", "30", "pay-1")
    *allowed, last = steps
    for step in allowed:
        accounts.step_payment(store, "pay-1", step, "no")
    before = len(engine_log(store))
    assert refusal(lambda: accounts.step_payment(store, "pay-1", last, "no")) == code
    assert len(engine_log(store)) == before


def test_a_step_on_an_unknown_application_or_a_plain_transfer_is_unknown_payment(store):
    topup(store, "p-1", "10", "t-1")
    assert refusal(lambda: accounts.step_payment(store, "nope", "approve")) == "unknown_payment"
    assert refusal(lambda: accounts.step_payment(store, "t-1", "pay")) == "unknown_payment"


def test_repeating_a_submission_after_it_moved_on_prints_what_the_submission_printed(store):
    transfer(store, "incentive", "p-1", "100", "i-1")
    first = submit(store, "p-1", "100", "pay-1")
    accounts.step_payment(store, "pay-1", "approve")
    again = submit(store, "p-1", "100", "pay-1")
    assert again.repeated and again.value == first.value


def test_a_rejected_application_can_be_submitted_again_under_a_new_id(store):
    transfer(store, "incentive", "p-1", "100", "i-1")
    submit(store, "p-1", "100", "pay-1")
    accounts.step_payment(store, "pay-1", "reject", "missing invoice")
    assert submit(store, "p-1", "100", "pay-1").repeated  # the same id is the same application
    submit(store, "p-1", "100", "pay-2")
    listing = accounts.payments(store, "p-1")
    assert [(p.id, p.status) for p in listing.payments] == [("pay-1", "rejected"), ("pay-2", "under_review")]
    assert [p.id for p in accounts.payments(store, status="rejected").payments] == ["pay-1"]


def test_each_payment_step_notifies_its_partner_once(store):
    transfer(store, "incentive", "p-1", "100", "i-1")
    submit(store, "p-1", "30", "pay-1")
    submit(store, "p-1", "20", "pay-2")
    accounts.step_payment(store, "pay-1", "approve")
    accounts.step_payment(store, "pay-1", "pay")
    accounts.step_payment(store, "pay-2", "reject", "duplicate")
    submit(store, "p-1", "30", "pay-1")  # a repeat notifies nothing
    assert notices(store) == [
        ("payment.approved", "p-1", {"payment_id": "pay-1", "amount": "30.00"}),
        ("payment.paid", "p-1", {"payment_id": "pay-1", "amount": "30.00"}),
        ("payment.rejected", "p-1", {"payment_id": "pay-2", "amount": "20.00", "reason": "duplicate"}),
    ]


def test_pending_reservations_never_count_on_the_credited_account(store):
    transfer(store, "incentive", "p-1", "100", "i-1")
    submit(store, "p-1", "100", "pay-1")
    topup(store, "p-1", "5", "t-1")
    transfer(store, "withdrawal", "p-1", "5", "w-1")  # the bank's pending credit is no obstacle
    assert balances(store)["cloud:bank"] == ZERO


def test_amounts_print_with_the_currency_minor_digits(open_store):
    engine = open_store("yen.db", currency="JPY")
    assert topup(engine, "p-1", "1500", "t-1").value.amount == "1500"
    with pytest.raises(FieldError):
        topup(engine, "p-1", "1.5", "t-2")
    dinar = open_store("bhd.db", currency="BHD")
    assert topup(dinar, "p-1", "0.125", "t-1").value.amount == "0.125"
    assert accounts.ledger(dinar).total == "0.000"


def test_transfers_and_payment_steps_are_the_logs_engine_events(store):
    topup(store, "p-1", "100", "t-1")
    accounts.warn(store, "p-1", 20_000_000_000)
    transfer(store, "incentive", "p-1", "50", "i-1")
    submit(store, "p-1", "50", "pay-1")
    accounts.step_payment(store, "pay-1", "approve")
    accounts.step_payment(store, "pay-1", "pay")
    log = engine_log(store)
    assert [(type(e).LOG_TYPE, e.id) for e in log] == [
        ("transfer.recorded", "t-1"),
        ("transfer.recorded", "i-1"),
        ("payment.submitted", "pay-1"),
        ("payment.approved", "pay-1"),
        ("payment.paid", "pay-1"),
    ]
    assert [e.originator_version for e in log] == [1, 2, 1, 2, 3]
    assert log[0].amount == "100.00" and log[0].debit == "cloud:bank" and log[0].credit == "prepaid:p-1"
    assert notices(store)[0][0] == "balance.low"  # notified, but not logged
