"""`billing account|transfer|transfers|ledger|warn|payment|payments|notifications`
(CONTRACT.md §8) as a user runs them: real subprocesses in a fresh folder, figures
worked out by hand."""

from __future__ import annotations

import json

import pytest

from tests.contract_fields import PAYMENT_KEYS, TRANSFER_KEYS
from testsupport.cli_runner import assert_refused, assert_usage_failure, clocked, loads, out

NOW = "2026-11-30T10:00:00Z"
AT = "2026-11-30T10:00:00.000000Z"
run = clocked(NOW)


def test_a_partner_tops_up_withdraws_is_credited_and_paid_as_the_contract_prints_it(tmp_path):
    topped = run(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "100", "--id", "t-1", "--json")
    assert topped.returncode == 0, topped.stderr
    assert loads(topped) == {
        "id": "t-1",
        "kind": "topup",
        "debit": "cloud:bank",
        "credit": "prepaid:p-1",
        "amount": "100.00",
        "status": "posted",
        "at": AT,
        "note": None,
    }
    assert list(loads(topped)) == TRANSFER_KEYS
    again = run(
        tmp_path,
        "transfer",
        "topup",
        "--partner",
        "p-1",
        "--amount",
        "100.00",
        "--id",
        "t-1",
        "--json",
        "--note",
        "a note is not compared",
    )
    assert again.returncode == 0 and again.stdout == topped.stdout
    assert "already recorded" in again.stderr.decode()
    assert_refused(
        run(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "99", "--id", "t-1"), "id_conflict"
    )
    assert_refused(
        run(tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "100.01", "--id", "w-1"),
        "insufficient_funds",
    )
    assert run(tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "40", "--id", "w-1").returncode == 0
    assert (
        run(
            tmp_path,
            "transfer",
            "incentive",
            "--partner",
            "p-1",
            "--amount",
            "80.5",
            "--id",
            "i-1",
            "--note",
            "Q3 rebate",
        ).returncode
        == 0
    )

    submitted = run(tmp_path, "payment", "submit", "--partner", "p-1", "--amount", "50", "--id", "pay-1", "--json")
    assert loads(submitted) == {
        "id": "pay-1",
        "partner_id": "p-1",
        "amount": "50.00",
        "status": "under_review",
        "history": [{"status": "under_review", "at": AT, "reason": None}],
    }
    assert list(loads(submitted)) == PAYMENT_KEYS
    assert_refused(
        run(tmp_path, "payment", "submit", "--partner", "p-1", "--amount", "30.51", "--id", "pay-2"),
        "insufficient_funds",
    )
    assert_refused(run(tmp_path, "payment", "pay", "--id", "pay-1"), "invalid_state")
    assert_refused(run(tmp_path, "payment", "approve", "--id", "pay-9"), "unknown_payment")
    assert run(tmp_path, "payment", "approve", "--id", "pay-1").returncode == 0
    assert_refused(run(tmp_path, "payment", "approve", "--id", "pay-1"), "invalid_state")
    paid = run(tmp_path, "payment", "pay", "--id", "pay-1", "--json")
    assert [step["status"] for step in loads(paid)["history"]] == ["under_review", "approved", "paid"]
    repeat = run(tmp_path, "payment", "submit", "--partner", "p-1", "--amount", "50", "--id", "pay-1", "--json")
    assert repeat.returncode == 0 and repeat.stdout == submitted.stdout

    account = loads(run(tmp_path, "account", "--partner", "p-1", "--json"))
    assert account == {
        "partner_id": "p-1",
        "currency": "CNY",
        "prepaid": {"balance": "60.00", "pending": "0.00", "available": "60.00"},
        "incentive": {"balance": "30.50", "pending": "0.00", "available": "30.50"},
        "warn_below": None,
    }
    ledger = loads(run(tmp_path, "ledger", "--json"))
    assert ledger == {
        "accounts": [
            {"account": "cloud:bank", "balance": "-10.00", "pending": "0.00"},
            {"account": "cloud:incentives", "balance": "-80.50", "pending": "0.00"},
            {"account": "cloud:revenue", "balance": "0.00", "pending": "0.00"},
            {"account": "incentive:p-1", "balance": "30.50", "pending": "0.00"},
            {"account": "prepaid:p-1", "balance": "60.00", "pending": "0.00"},
        ],
        "total": "0.00",
    }
    listing = loads(run(tmp_path, "transfers", "--partner", "p-1", "--json"))["transfers"]
    assert [(t["id"], t["kind"], t["status"], t["note"]) for t in listing] == [
        ("t-1", "topup", "posted", None),
        ("w-1", "withdrawal", "posted", None),
        ("i-1", "incentive", "posted", "Q3 rebate"),
        ("pay-1", "payment", "posted", None),
    ]
    assert loads(run(tmp_path, "transfers", "--partner", "p-2", "--json")) == {"transfers": []}


def test_a_warning_prints_the_account_and_notifies_once_below(tmp_path):
    run(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "100", "--id", "t-1")
    warned = run(tmp_path, "warn", "--partner", "p-1", "--below", "80", "--json")
    assert loads(warned)["warn_below"] == "80.00"
    run(tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "30", "--id", "w-1")
    run(tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "30", "--id", "w-2")
    shown = loads(run(tmp_path, "notifications", "--partner", "p-1", "--json"))
    assert shown == {
        "notifications": [
            {
                "type": "balance.low",
                "partner_id": "p-1",
                "at": AT,
                "data": {"account": "prepaid:p-1", "available": "70.00", "warn_below": "80.00"},
            }
        ]
    }
    cleared = run(tmp_path, "warn", "--partner", "p-1", "--off", "--json")
    assert loads(cleared)["warn_below"] is None
    assert "warn below: not set" in out(run(tmp_path, "account", "--partner", "p-1"))


def test_reads_need_an_existing_store_and_an_empty_one_lists_the_cloud_accounts(tmp_path):
    for read in (["account", "--partner", "p-1"], ["transfers"], ["ledger"], ["payments"], ["notifications"]):
        assert_usage_failure(run(tmp_path, *read, "--json"), "no store")
    assert not (tmp_path / "billing.db").exists()
    assert_refused(run(tmp_path, "payment", "approve", "--id", "x"), "unknown_payment")
    listed = loads(run(tmp_path, "ledger", "--json"))
    assert [a["account"] for a in listed["accounts"]] == ["cloud:bank", "cloud:incentives", "cloud:revenue"]
    assert loads(run(tmp_path, "payments", "--json")) == {"payments": []}


def test_turning_off_a_warning_never_set_prints_zeros_and_makes_no_account_appear(tmp_path):
    cleared = loads(run(tmp_path, "warn", "--partner", "p-new", "--off", "--json"))
    assert (cleared["partner_id"], cleared["prepaid"]["balance"], cleared["warn_below"]) == ("p-new", "0.00", None)
    listed = loads(run(tmp_path, "ledger", "--json"))
    assert [a["account"] for a in listed["accounts"]] == ["cloud:bank", "cloud:incentives", "cloud:revenue"]


def test_payment_steps_take_the_global_options_after_the_command(tmp_path):
    store = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    done = run(tmp_path, "payment", "approve", "--id", "x", "--store", store)
    assert_refused(done, "unknown_payment")
    assert (tmp_path / "elsewhere.db").exists() and not (tmp_path / "billing.db").exists()


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["transfer", "topup", "--partner", "p-1", "--amount", "1.001", "--id", "x"], "--amount"),
        (["payment", "submit", "--partner", "p-1", "--amount", "-1", "--id", "x"], "--amount"),
        (["transfer", "withdrawal", "--partner", "p-1", "--amount", "1", "--id", "x" * 65], "--id"),
        (["payment", "reject", "--id", "x", "--reason", ""], "--reason"),
    ],
)
def test_a_malformed_request_is_one_line_exit_2_naming_the_option_and_creates_nothing(tmp_path, args, option):
    """(Every malformed amount and id is tried in-process: tests/integration/test_accounts_input.py.)"""
    assert_usage_failure(run(tmp_path, *args), option)
    assert not (tmp_path / "billing.db").exists()


def test_a_malformed_request_on_an_existing_store_records_nothing(tmp_path):
    run(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "10", "--id", "t-1")
    before = (out(run(tmp_path, "transfers", "--json")), out(run(tmp_path, "ledger", "--json")))
    for amount in ("10.001", "0", "-5"):
        assert_usage_failure(run(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", amount, "--id", "t-2"))
    assert (out(run(tmp_path, "transfers", "--json")), out(run(tmp_path, "ledger", "--json"))) == before


def test_yen_amounts_have_no_decimals(tmp_path):
    done = run(
        tmp_path,
        "transfer",
        "topup",
        "--partner",
        "p-1",
        "--amount",
        "1500",
        "--id",
        "t-1",
        "--json",
        BILLING_CURRENCY="JPY",
    )
    assert json.loads(done.stdout)["amount"] == "1500"
    assert_usage_failure(
        run(
            tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "1.5", "--id", "t-2", BILLING_CURRENCY="JPY"
        ),
        "--amount",
        "no decimals",
    )
