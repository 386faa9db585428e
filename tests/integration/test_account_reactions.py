"""What the ledger does beside requests (CONTRACT.md §8): balance warnings (edge-
triggered), the statement events of §7 (a notification when issued, the `statement`
transfer when confirmed), the transfers other features record (`record_transfer`),
batches, and the `billing.notifications` messages the publisher sends."""

from __future__ import annotations

import asyncio
import json

import pytest

from commands import accounts
from commands.publisher import ViewPublisher
from engine.accounts.recording import record_transfer
from engine.errors import Refused
from schemas import topics
from tests.accounts_support import (
    balances,
    change_statement,
    engine_log,
    issue_statement,
    notices,
    refusal,
    submit,
    topup,
    transfer,
)

NOW = "2026-11-30T10:00:00.000000Z"
UNIT = 10**8


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, open_store, open_url):
    """A fresh store whose clock stands still, on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        return open_url(request.getfixturevalue("postgres_fresh_dsn"), now=NOW)
    return open_store(now=NOW)


def low(available: str, below: str, partner: str = "p-1") -> tuple:
    return ("balance.low", partner, {"account": f"prepaid:{partner}", "available": available, "warn_below": below})


def test_balance_low_is_recorded_when_the_available_falls_below_and_not_again_until_it_recovers(store):
    topup(store, "p-1", "100", "t-1")
    accounts.warn(store, "p-1", 50 * UNIT)
    assert notices(store) == []
    transfer(store, "withdrawal", "p-1", "50", "w-1")  # 50.00 is not below 50.00
    assert notices(store) == []
    transfer(store, "withdrawal", "p-1", "0.01", "w-2")
    transfer(store, "withdrawal", "p-1", "10", "w-3")  # still below: no second warning
    assert notices(store) == [low("49.99", "50.00")]
    topup(store, "p-1", "10.01", "t-2")  # back at 50.00: the warning re-arms
    transfer(store, "withdrawal", "p-1", "1", "w-4")
    assert notices(store) == [low("49.99", "50.00"), low("49.00", "50.00")]


def test_setting_a_threshold_above_the_available_warns_at_once_and_once(store):
    topup(store, "p-1", "30", "t-1")
    accounts.warn(store, "p-1", 50 * UNIT)
    accounts.warn(store, "p-1", 40 * UNIT)  # still below, already warned
    assert notices(store) == [low("30.00", "50.00")]
    accounts.warn(store, "p-1", None)  # cleared: no threshold, nothing is below it
    assert accounts.account(store, "p-1").warn_below is None
    accounts.warn(store, "p-1", 40 * UNIT)  # from no threshold to below it
    assert notices(store)[-1] == low("30.00", "40.00")
    assert len(notices(store)) == 2


def test_a_zero_threshold_warns_of_arrears(store):
    accounts.warn(store, "p-1", 0)
    assert notices(store) == []
    issue_statement(store, "p-1", "2026-10", "12.34")
    change_statement(store, "p-1", "2026-10", "confirmed", "12.34")
    assert notices(store) == [
        ("statement.issued", "p-1", {"period": "2026-10", "total_settled_amount": "12.34"}),
        low("-12.34", "0.00"),
    ]


def test_an_issued_statement_notifies_its_partner(store):
    issue_statement(store, "p-1", "2026-10", "100.00")
    issue_statement(store, "p-2", "2026-10", "-3.00")
    issued = {"period": "2026-10", "total_settled_amount": "-3.00"}
    assert notices(store, "p-2") == [("statement.issued", "p-2", issued)]
    assert [n[1] for n in notices(store)] == ["p-1", "p-2"]


def test_a_confirmed_statement_posts_its_total_from_prepaid_to_revenue_even_into_arrears(store):
    topup(store, "p-1", "100", "t-1")
    change_statement(store, "p-1", "2026-10", "confirmed", "123.45")
    [posted] = [t for t in accounts.transfers(store, "p-1").transfers if t.kind == "statement"]
    assert (posted.id, posted.debit, posted.credit, posted.amount, posted.status) == (
        "statement:p-1:2026-10",
        "prepaid:p-1",
        "cloud:revenue",
        "123.45",
        "posted",
    )
    assert balances(store)["prepaid:p-1"] == ("-23.45", "0.00")
    assert balances(store)["cloud:revenue"] == ("123.45", "0.00")
    assert accounts.ledger(store).total == "0.00"
    assert refusal(lambda: transfer(store, "withdrawal", "p-1", "0.01", "w-1")) == "insufficient_funds"
    assert type(engine_log(store)[-1]).LOG_TYPE == "transfer.recorded"


def test_a_negative_statement_is_credited_back_and_a_zero_one_posts_nothing(store):
    change_statement(store, "p-1", "2026-10", "confirmed", "-7.50")
    change_statement(store, "p-1", "2026-11", "confirmed", "0.00")
    [posted] = accounts.transfers(store, "p-1").transfers
    assert (posted.id, posted.debit, posted.credit, posted.amount) == (
        "statement:p-1:2026-10",
        "cloud:revenue",
        "prepaid:p-1",
        "7.50",
    )


def test_a_disputed_statement_posts_nothing_until_confirmed(store):
    change_statement(store, "p-1", "2026-10", "disputed", "10.00", reason="wrong")
    assert accounts.transfers(store).transfers == []
    change_statement(store, "p-1", "2026-10", "confirmed", "10.00")
    assert balances(store)["prepaid:p-1"] == ("-10.00", "0.00")


def test_a_statement_id_is_taken_by_its_transfer(store):
    change_statement(store, "p-1", "2026-10", "confirmed", "10.00")
    assert refusal(lambda: topup(store, "p-1", "10", "statement:p-1:2026-10")) == "id_conflict"


def test_record_transfer_credits_an_incentive_once(store):
    def settle(decision):
        return record_transfer(decision, "incentive", "p-1", 250 * UNIT, "incentive:pol:2026-10:p-1")

    first = store.ledger.record_decision(settle)
    again = store.ledger.record_decision(settle)
    assert not first.repeated and again.repeated and again.value == first.value
    assert balances(store)["incentive:p-1"] == ("250.00", "0.00")
    assert balances(store)["cloud:incentives"] == ("-250.00", "0.00")
    with pytest.raises(Refused, match="id_conflict"):
        store.ledger.record_decision(
            lambda d: record_transfer(d, "incentive", "p-1", 251 * UNIT, "incentive:pol:2026-10:p-1")
        )


def test_transfers_recorded_together_see_each_other(store):
    def several(decision):
        return [
            record_transfer(decision, "topup", "p-1", 10 * UNIT, "t-1"),
            record_transfer(decision, "withdrawal", "p-1", 10 * UNIT, "w-1"),
            record_transfer(decision, "topup", "p-1", 10 * UNIT, "t-1"),
        ]

    _first, withdrawn, repeated = store.ledger.record_decision(several)
    assert repeated.repeated and not withdrawn.repeated
    assert balances(store)["prepaid:p-1"] == ("0.00", "0.00")


def test_a_batch_records_each_transfer_or_its_refusal(store):
    requests = [
        accounts.transfer_request(store.rules, kind, "p-1", amount, id)
        for kind, amount, id in [
            ("topup", "10", "t-1"),
            ("withdrawal", "11", "w-1"),
            ("withdrawal", "10", "w-2"),
            ("topup", "10", "t-1"),
            ("topup", "11", "t-1"),
        ]
    ]
    results = accounts.transfer_batch(store, requests)
    assert [getattr(r, "code", None) or ("repeat" if r.repeated else "new") for r in results] == [
        "new",
        "insufficient_funds",
        "new",
        "repeat",
        "id_conflict",
    ]
    assert [t.id for t in accounts.transfers(store).transfers] == ["t-1", "w-2"]


def test_the_publisher_sends_each_notification_once_keyed_by_partner(store):
    transfer(store, "incentive", "p-1", "100", "i-1")
    submit(store, "p-1", "30", "pay-1")
    accounts.step_payment(store, "pay-1", "approve")
    issue_statement(store, "p-2", "2026-10", "1.00")
    sent = []

    async def send(messages):
        sent.extend(messages)

    publisher = ViewPublisher(store)
    assert publisher.outside_work_waiting()
    asyncio.run(publisher.publish_pending(send))
    mine = [m for m in sent if m.topic == topics.NOTIFICATIONS]
    assert [(m.key, json.loads(m.value)["type"]) for m in mine] == [
        (b"p-1", "payment.approved"),
        (b"p-2", "statement.issued"),
    ]
    assert list(json.loads(mine[0].value)) == ["type", "partner_id", "at", "data"]
    assert not publisher.outside_work_waiting()
    accounts.step_payment(store, "pay-1", "pay")
    sent.clear()
    asyncio.run(publisher.publish_pending(send))
    assert [json.loads(m.value)["type"] for m in sent if m.topic == topics.NOTIFICATIONS] == ["payment.paid"]
