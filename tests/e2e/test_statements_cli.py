"""`billing close | periods | statements | statement | confirm | dispute` as a user runs
them: a real subprocess in a fresh folder, the store's clock fixed with BILLING_NOW.

Figures are worked out by hand from CONTRACT.md: p-1 has c-1 (2 × 1.23456789) and c-3
(an order of 100.00 refunded 40.00 in a later month); p-2 has c-2 (1 × 0.005).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests import builders as b
from tests.contract_fields import STATEMENT_KEYS, SUMMARY_KEYS
from testsupport.cli_runner import clocked, succeeded

NOV_5 = "2026-11-05T08:00:00+08:00"  # 2026-11-05T00:00:00Z
DEC_2 = "2026-12-02T08:00:00+08:00"
billing = clocked(NOV_5)


def ingest(cwd: Path, events: list[dict], now: str = NOV_5) -> None:
    assert billing(cwd, "ingest", str(b.jsonl(cwd / "events.jsonl", events)), now=now).returncode == 0


OCTOBER = [
    b.associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00", id="a-1"),
    b.associated("c-2", "p-2", time="2026-09-01T00:00:00+08:00", id="a-2"),
    b.associated("c-3", "p-1", time="2026-09-01T00:00:00+08:00", id="a-3"),
    b.usage("c-1", id="u-1", time="2026-10-03T08:00:00+08:00", quantity="2", unit_price="1.23456789"),
    b.usage("c-2", id="u-2", time="2026-10-03T08:00:00+08:00", quantity="1", unit_price="0.005"),
    b.order_paid("c-3", order_id="o-1", amount="100.00", time="2026-10-04T08:00:00+08:00", id="o-1"),
]


@pytest.fixture
def closed(tmp_path) -> Path:
    """A store whose October is closed at 2026-11-05T00:00:00Z."""
    ingest(tmp_path, OCTOBER)
    result = billing(tmp_path, "close", "--period", "2026-10", "--json")
    assert succeeded(result) == {
        "period": "2026-10",
        "issued_at": "2026-11-05T00:00:00.000000Z",
        "statements": [
            {"partner_id": "p-1", "total_payable_amount": "102.46913578", "total_settled_amount": "102.46"},
            {"partner_id": "p-2", "total_payable_amount": "0.00500000", "total_settled_amount": "0.00"},
        ],
    }
    return tmp_path


def test_a_statement_prints_every_field_in_order_with_a_digest_anyone_can_recompute(closed):
    statement = succeeded(billing(closed, "statement", "--partner", "p-1", "--period", "2026-10", "--json"))
    assert list(statement) == STATEMENT_KEYS
    assert statement["details"] == [
        {"customer_id": "c-1", "payable_amount": "2.46913578", "settled_amount": "2.46"},
        {"customer_id": "c-3", "payable_amount": "100.00000000", "settled_amount": "100.00"},
    ]
    assert (statement["payable_amount"], statement["settled_amount"], statement["customers"]) == (
        "102.46913578",
        "102.46",
        2,
    )
    assert statement["adjustments"] == [] and statement["adjustments_settled_amount"] == "0.00"
    assert statement["status"] == "pending_confirmation" and statement["currency"] == "CNY"
    assert statement["history"] == [
        {"status": "pending_confirmation", "at": "2026-11-05T00:00:00.000000Z", "reason": None}
    ]
    assert set(statement["log_head"]) == {"position", "hash"}
    frozen = {k: v for k, v in statement.items() if k not in ("status", "history", "digest")}
    canonical = json.dumps(frozen, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert statement["digest"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_the_statement_equals_replay_as_of_its_issue(closed):
    statement = succeeded(billing(closed, "statement", "--partner", "p-1", "--period", "2026-10", "--json"))
    replay = succeeded(billing(closed, "replay", "--period", "2026-10", "--as-of", statement["issued_at"], "--json"))
    performance = next(p for p in replay["performance"] if p["partner_id"] == "p-1")
    for name in ("payable_amount", "settled_amount", "customers", "details"):
        assert statement[name] == performance[name]


def test_late_charges_are_adjustments_of_the_next_statement_and_the_old_one_never_changes(closed):
    before = succeeded(billing(closed, "statement", "--partner", "p-1", "--period", "2026-10", "--json"))
    ingest(
        closed,
        [
            b.order_refunded("c-3", order_id="o-1", amount="40.00", time="2026-10-30T08:00:00+08:00", id="r-1"),
            b.usage("c-1", id="u-nov", time="2026-11-02T08:00:00+08:00", quantity="1", unit_price="3"),
        ],
        now="2026-11-20T00:00:00+08:00",
    )
    november = succeeded(billing(closed, "close", "--period", "2026-11", "--json", now=DEC_2))
    assert november["statements"] == [
        {"partner_id": "p-1", "total_payable_amount": "-37.00000000", "total_settled_amount": "-37.00"}
    ]
    statement = succeeded(billing(closed, "statement", "--partner", "p-1", "--period", "2026-11", "--json"))
    assert statement["adjustments"] == [
        {"period": "2026-10", "customer_id": "c-3", "payable_amount": "-40.00000000", "settled_amount": "-40.00"}
    ]
    assert (statement["adjustments_payable_amount"], statement["total_settled_amount"]) == ("-40.00000000", "-37.00")
    assert succeeded(billing(closed, "statement", "--partner", "p-1", "--period", "2026-10", "--json")) == before
    periods = succeeded(billing(closed, "periods", "--json", now=DEC_2))
    assert periods == {
        "periods": [
            {"period": "2026-10", "status": "closed", "closed_at": "2026-11-05T00:00:00.000000Z"},
            {"period": "2026-11", "status": "closed", "closed_at": "2026-12-02T00:00:00.000000Z"},
        ]
    }


def test_confirm_and_dispute_print_the_statement_after_the_change(closed):
    disputed = succeeded(
        billing(
            closed,
            "dispute",
            "--partner",
            "p-2",
            "--period",
            "2026-10",
            "--reason",
            "对不上",
            "--json",
            now="2026-11-06T08:00:00+08:00",
        )
    )
    assert disputed["status"] == "disputed" and list(disputed) == STATEMENT_KEYS
    assert disputed["history"][-1] == {"status": "disputed", "at": "2026-11-06T00:00:00.000000Z", "reason": "对不上"}
    confirmed = succeeded(billing(closed, "confirm", "--partner", "p-2", "--period", "2026-10", "--json"))
    assert [h["status"] for h in confirmed["history"]] == ["pending_confirmation", "disputed", "confirmed"]
    again = billing(closed, "confirm", "--partner", "p-2", "--period", "2026-10")
    assert again.returncode == 1 and again.stderr.decode().startswith("invalid_state: ")
    assert len(again.stderr.decode().splitlines()) == 1
    listed = succeeded(billing(closed, "statements", "--status", "confirmed", "--json"))
    assert [list(s) for s in listed["statements"]] == [SUMMARY_KEYS]
    assert listed["statements"][0]["partner_id"] == "p-2"
    readable = billing(closed, "statement", "--partner", "p-2", "--period", "2026-10")
    assert readable.returncode == 0 and b"confirmed" in readable.stdout and b"c-2" in readable.stdout


def test_statements_are_listed_by_period_then_partner_and_filtered(closed):
    listed = succeeded(billing(closed, "statements", "--json"))
    assert [(s["period"], s["partner_id"]) for s in listed["statements"]] == [("2026-10", "p-1"), ("2026-10", "p-2")]
    assert (
        succeeded(billing(closed, "statements", "--partner", "p-2", "--json"))["statements"][0]["partner_id"] == "p-2"
    )
    assert succeeded(billing(closed, "statements", "--issued-from", "2026-11-05T08:00:00+08:00", "--json"))[
        "statements"
    ]
    assert succeeded(billing(closed, "statements", "--issued-to", "2026-11-05T00:00:00Z", "--json")) == {
        "statements": []
    }
    assert succeeded(billing(closed, "statements", "--period", "2026-11", "--json")) == {"statements": []}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["close", "--period", "2026-10"], "period_already_closed"),
        (["close", "--period", "2026-12"], "period_not_ended"),
        (["statement", "--partner", "p-9", "--period", "2026-10"], "unknown_statement"),
        (["confirm", "--partner", "p-1", "--period", "2026-09"], "unknown_statement"),
    ],
)
def test_refusals_exit_1_with_one_line_naming_their_code(closed, args, code):
    result = billing(closed, *args)
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"{code}: ") and len(result.stderr.decode().splitlines()) == 1


def test_closing_out_of_order_or_with_earlier_charges_open_is_refused(tmp_path):
    ingest(tmp_path, [*OCTOBER, b.usage("c-1", id="u-sep", time="2026-09-20T08:00:00+08:00")])
    result = billing(tmp_path, "close", "--period", "2026-10", now=DEC_2)
    assert result.returncode == 1 and result.stderr.startswith(b"earlier_charges_open: ")
    assert billing(tmp_path, "close", "--period", "2026-09", now=DEC_2).returncode == 0
    result = billing(tmp_path, "close", "--period", "2026-11", now=DEC_2)
    assert result.returncode == 1 and result.stderr.startswith(b"period_out_of_order: ")


@pytest.mark.parametrize(
    "args",
    [
        ["statements", "--status", "open"],
        ["statements", "--issued-from", "2026-11-05"],
        ["statements", "--issued-to", "2026-11-05T00:00:00"],
        ["statements", "--period", "2026-13"],
        ["close"],
        ["close", "--period", "October"],
        ["statement", "--partner", "p-1"],
        ["dispute", "--partner", "p-1", "--period", "2026-10"],
        ["dispute", "--partner", "p-1", "--period", "2026-10", "--reason", ""],
        ["dispute", "--partner", "p-1", "--period", "2026-10", "--reason", "x" * 513],
    ],
)
def test_usage_errors_exit_2_with_one_line(closed, args):
    result = billing(closed, *args)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.decode().splitlines()) == 1 and b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["close", "--period", "2026-10"],
        ["periods"],
        ["statements"],
        ["statement", "--partner", "p-1", "--period", "2026-10"],
        ["confirm", "--partner", "p-1", "--period", "2026-10"],
        ["dispute", "--partner", "p-1", "--period", "2026-10", "--reason", "x"],
    ],
)
def test_every_command_needs_an_existing_store(tmp_path, args):
    result = billing(tmp_path, *args)
    assert result.returncode == 2 and b"no store" in result.stderr
    assert not (tmp_path / "billing.db").exists()


def test_every_command_and_option_has_a_help_text(tmp_path):
    for command in ("close", "periods", "statements", "statement", "confirm", "dispute"):
        result = billing(tmp_path, command, "--help")
        assert result.returncode == 0
        text = result.stdout.decode()
        assert "--json" in text and "default" in text
    assert b"(default: any)" in billing(tmp_path, "statements", "--help").stdout


def test_a_month_without_charges_closes_with_no_statement(tmp_path):
    ingest(tmp_path, OCTOBER)
    assert billing(tmp_path, "close", "--period", "2026-10", now=DEC_2).returncode == 0
    result = succeeded(billing(tmp_path, "close", "--period", "2026-11", "--json", now=DEC_2))
    assert result == {"period": "2026-11", "issued_at": "2026-12-02T00:00:00.000001Z", "statements": []}
    readable = billing(tmp_path, "close", "--period", "2026-12", now="2027-01-02T00:00:00+08:00")
    assert readable.returncode == 0 and b"0 statement(s)" in readable.stdout
