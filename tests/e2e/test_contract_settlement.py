"""Acceptance of CONTRACT.md §7 (period close and statements), §8 (partner accounts and
payment applications), §9 (subsidies and open-period incentives) and §5's store binding
for those commands, written from the contract's text alone: the `billing` executable in a
fresh folder, the store's clock fixed with BILLING_NOW, every figure worked out by hand.

Each test name quotes (or closely paraphrases) the rule it checks. Not covered here:
`incentives settle` and the final values of closed periods (not built yet), Kafka topics.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests import builders as b
from tests.contract_fields import (
    ACCOUNT_KEYS,
    PAYMENT_KEYS,
    STATEMENT_KEYS,
    SUBSIDY_KEYS,
    SUMMARY_KEYS,
    TRANSFER_KEYS,
)
from testsupport.cli_runner import (
    BILLING,
    assert_refused,
    assert_usage_failure,
    clean_env,
    clocked,
    succeeded,
)

# Each test runs the `billing` executable several times: minutes in all, so not in the fast subset.
pytestmark = pytest.mark.slow

OCT_20 = "2026-10-20T00:00:00+08:00"
NOV_2 = "2026-11-02T00:00:00+08:00"  # 2026-11-01T16:00:00Z: after October's end in Asia/Shanghai
NOV_10 = "2026-11-10T00:00:00+08:00"
DEC_2 = "2026-12-02T00:00:00+08:00"
NOW = "2026-12-15T00:00:00+08:00"
AT = "2026-12-14T16:00:00.000000Z"  # NOW as a recorded time
ZERO_HASH = "0" * 64


# --- running the command --------------------------------------------------------------

billing = clocked(NOW)


def ok(cwd: Path, *args: str, **kwargs: str):
    """The JSON (one line) of a command that must exit 0."""
    return succeeded(billing(cwd, *args, "--json", **kwargs))


def refused(cwd: Path, code: str, *args: str, **kwargs: str) -> str:
    """A refusal: exit 1, nothing on stdout, one line on stderr beginning with its code."""
    return assert_refused(billing(cwd, *args, **kwargs), code)


def usage_error(cwd: Path, *args: str, **kwargs: str) -> str:
    """A usage error: exit 2, nothing on stdout, one line on stderr, no traceback."""
    return assert_usage_failure(billing(cwd, *args, **kwargs))


def ingest(cwd: Path, events: list[dict], now: str) -> None:
    result = billing(cwd, "ingest", "-", "--json", stdin=b.jsonl_text(events).encode(), now=now)
    assert json.loads(result.stdout) == {"accepted": len(events), "duplicates": 0, "rejected": 0}, result.stderr


def new_store(cwd: Path, **settings: str) -> Path:
    """An empty store (ingesting nothing creates it)."""
    assert billing(cwd, "ingest", "-", stdin=b"", **settings).returncode == 0
    return cwd


def copy_of(folder: Path, tmp_path: Path) -> Path:
    """A private copy of a shared store's folder (the database and its journal files)."""
    target = tmp_path / "store"
    shutil.copytree(folder, target)
    return target


def canonical_digest(value: dict) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# --- the shared scenario: two closes ------------------------------------------------------
#
# Associations (2026-09-01): c-1 → p-1 (am-1), c-3 → p-1 (from 08-01), c-2 → p-2, c-4 → p-3, 客"户 → 渠道/1;
# c-9 has no partner.
# October, recorded before its close (NOV_2):
#   c-1 usage 2 × 1.23456789 = 2.46913578 (settled 2.46)          p-1
#   c-3 order o-1 100.00                                            p-1
#   c-2 usage 1 × 0.005 = 0.00500000 (settled 0.00)                 p-2
#   c-4 a gift (zero charge)                                        p-3
#   客"户 usage 1 × 7                                                渠道/1
#   c-9 usage 1 × 5                                                 no partner: in no statement
# Recorded after October's close (NOV_10):
#   c-3 refund of o-1 40.00 at 10-30 (October)                      p-1 adjustment (2026-10, c-3)
#   c-1 usage 1 × 1.111 at 10-15 (October)                          p-1 adjustment (2026-10, c-1)
#   c-3 usage 1 × 0.5 at 08-20 (a month before the first close)     p-1 adjustment (2026-08, c-3)
#   c-1 usage 1 × 3 at 11-02                                        p-1 November detail
#   c-2 usage 1 × 1 at 10-31 23:00 +08:00 (October)                 p-2 adjustment (2026-10, c-2)
#   c-2 usage 1 × 2 at 2026-10-31T17:00:00Z (November in Shanghai)  p-2 November detail
#   a void of c-2's October usage (−0.005, settled −0.00)            p-2 adjustment (2026-10, c-2)

OCTOBER = [
    b.associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00", id="a-1", data={"account_manager_id": "am-1"}),
    b.associated("c-2", "p-2", time="2026-09-01T00:00:00+08:00", id="a-2"),
    b.associated("c-3", "p-1", time="2026-08-01T00:00:00+08:00", id="a-3"),
    b.associated("c-4", "p-3", time="2026-09-01T00:00:00+08:00", id="a-4"),
    b.associated('客"户', "渠道/1", time="2026-09-01T00:00:00+08:00", id="a-5"),
    b.usage("c-1", id="u-1", time="2026-10-03T08:00:00+08:00", quantity="2", unit_price="1.23456789"),
    b.order_paid("c-3", order_id="o-1", amount="100.00", time="2026-10-04T08:00:00+08:00", id="o-1"),
    b.usage("c-2", id="u-2", time="2026-10-03T08:00:00+08:00", quantity="1", unit_price="0.005"),
    b.gift("c-4", id="g-1", time="2026-10-05T08:00:00+08:00"),
    b.usage('客"户', id="u-5", time="2026-10-06T08:00:00+08:00", quantity="1", unit_price="7"),
    b.usage("c-9", id="u-9", time="2026-10-06T08:00:00+08:00", quantity="1", unit_price="5"),
]
LATE = [
    b.order_refunded("c-3", order_id="o-1", amount="40.00", time="2026-10-30T08:00:00+08:00", id="r-1"),
    b.usage("c-1", id="u-late", time="2026-10-15T08:00:00+08:00", quantity="1", unit_price="1.111"),
    b.usage("c-3", id="u-aug", time="2026-08-20T08:00:00+08:00", quantity="1", unit_price="0.5"),
    b.usage("c-1", id="u-nov", time="2026-11-02T08:00:00+08:00", quantity="1", unit_price="3"),
    b.usage("c-2", id="u-oct-end", time="2026-10-31T23:00:00+08:00", quantity="1", unit_price="1"),
    b.usage("c-2", id="u-nov-start", time="2026-10-31T17:00:00Z", quantity="1", unit_price="2"),
    b.voided(("test/source", "u-2"), "c-2", id="v-1", time="2026-11-05T08:00:00+08:00"),
]
OCT_ISSUED = "2026-11-01T16:00:00.000000Z"
NOV_ISSUED = "2026-12-01T16:00:00.000000Z"


@pytest.fixture(scope="module")
def settled(tmp_path_factory) -> Path:
    """The scenario above with October closed at NOV_2 and November at DEC_2 (read only:
    tests that change it work on a `copy_of` it)."""
    folder = tmp_path_factory.mktemp("settled")
    ingest(folder, OCTOBER, now=OCT_20)
    october = ok(folder, "close", "--period", "2026-10", now=NOV_2)
    ingest(folder, LATE, now=NOV_10)
    november = ok(folder, "close", "--period", "2026-11", now=DEC_2)
    (folder / "closes.json").write_text(json.dumps([october, november], ensure_ascii=False))
    return folder


def closes(folder: Path) -> list[dict]:
    return json.loads((folder / "closes.json").read_text())


# --- §7 closing ----------------------------------------------------------------------------


def test_close_issues_one_statement_to_every_partner_with_something_to_carry_by_partner_id(settled):
    october, november = closes(settled)
    assert october == {
        "period": "2026-10",
        "issued_at": OCT_ISSUED,
        "statements": [
            {"partner_id": "p-1", "total_payable_amount": "102.46913578", "total_settled_amount": "102.46"},
            {"partner_id": "p-2", "total_payable_amount": "0.00500000", "total_settled_amount": "0.00"},
            {"partner_id": "p-3", "total_payable_amount": "0.00000000", "total_settled_amount": "0.00"},
            {"partner_id": "渠道/1", "total_payable_amount": "7.00000000", "total_settled_amount": "7.00"},
        ],
    }
    # p-1: 3.00 + (0.50 + 1.111 − 40.00) = −35.389 (settled 3.00 + 0.50 + 1.11 − 40.00 = −35.39)
    assert november == {
        "period": "2026-11",
        "issued_at": NOV_ISSUED,
        "statements": [
            {"partner_id": "p-1", "total_payable_amount": "-35.38900000", "total_settled_amount": "-35.39"},
            {
                "partner_id": "p-2",
                "total_payable_amount": "2.99500000",
                "total_settled_amount": "3.00",
            },  # 2 + 1 − 0.005
        ],
    }


def test_charges_attributed_to_no_partner_are_in_no_statement(settled):
    listed = ok(settled, "statements")["statements"]
    assert {s["partner_id"] for s in listed} == {"p-1", "p-2", "p-3", "渠道/1"}
    for s in listed:
        whole = ok(settled, "statement", "--partner", s["partner_id"], "--period", s["period"])
        assert "c-9" not in {d["customer_id"] for d in whole["details"] + whole["adjustments"]}


def test_a_statement_prints_every_field_in_the_contract_order_with_8_decimals_and_minor_digits(settled):
    statement = ok(settled, "statement", "--partner", "p-1", "--period", "2026-11")
    assert list(statement) == STATEMENT_KEYS
    assert {k: v for k, v in statement.items() if k not in ("log_head", "digest")} == {
        "partner_id": "p-1",
        "period": "2026-11",
        "status": "pending_confirmation",
        "issued_at": NOV_ISSUED,
        "currency": "CNY",
        "payable_amount": "3.00000000",
        "settled_amount": "3.00",
        "customers": 1,
        "details": [{"customer_id": "c-1", "payable_amount": "3.00000000", "settled_amount": "3.00"}],
        "adjustments": [
            {"period": "2026-08", "customer_id": "c-3", "payable_amount": "0.50000000", "settled_amount": "0.50"},
            {"period": "2026-10", "customer_id": "c-1", "payable_amount": "1.11100000", "settled_amount": "1.11"},
            {"period": "2026-10", "customer_id": "c-3", "payable_amount": "-40.00000000", "settled_amount": "-40.00"},
        ],
        "adjustments_payable_amount": "-38.38900000",
        "adjustments_settled_amount": "-38.39",
        "total_payable_amount": "-35.38900000",
        "total_settled_amount": "-35.39",
        "history": [{"status": "pending_confirmation", "at": NOV_ISSUED, "reason": None}],
    }
    assert list(statement["log_head"]) == ["position", "hash"]


def test_the_digest_is_the_sha256_of_the_canonical_json_without_status_history_and_digest(settled):
    for partner, period in (("渠道/1", "2026-10"), ("p-1", "2026-11"), ("p-3", "2026-10")):
        statement = ok(settled, "statement", "--partner", partner, "--period", period)
        frozen = {k: v for k, v in statement.items() if k not in ("status", "history", "digest")}
        assert statement["digest"] == canonical_digest(frozen)


def test_a_partner_gets_a_statement_even_if_the_amounts_are_zero(settled):
    gift_only = ok(settled, "statement", "--partner", "p-3", "--period", "2026-10")
    assert (gift_only["customers"], gift_only["details"]) == (
        1,
        [{"customer_id": "c-4", "payable_amount": "0.00000000", "settled_amount": "0.00"}],
    )
    assert gift_only["total_settled_amount"] == "0.00" and gift_only["adjustments_settled_amount"] == "0.00"


def test_a_statement_whose_charges_net_to_zero_is_issued_and_never_prints_minus_zero(tmp_path):
    ingest(
        tmp_path,
        [
            b.associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00"),
            b.order_paid("c-1", order_id="o-1", amount="0.005", time="2026-10-05T08:00:00+08:00"),
        ],
        now=OCT_20,
    )
    ok(tmp_path, "close", "--period", "2026-10", now=NOV_2)
    ingest(
        tmp_path,
        [
            b.order_refunded("c-1", order_id="o-1", amount="0.005", time="2026-10-25T08:00:00+08:00"),
            b.usage("c-1", quantity="1", unit_price="0.001", time="2026-11-03T08:00:00+08:00"),
            b.usage("c-1", quantity="-0", unit_price="1", time="2026-11-04T08:00:00+08:00"),
        ],
        now=NOV_10,
    )
    assert ok(tmp_path, "close", "--period", "2026-11", now=DEC_2)["statements"] == [
        {"partner_id": "p-1", "total_payable_amount": "-0.00400000", "total_settled_amount": "0.00"}
    ]
    statement = ok(tmp_path, "statement", "--partner", "p-1", "--period", "2026-11", now=DEC_2)
    assert statement["adjustments"] == [
        {"period": "2026-10", "customer_id": "c-1", "payable_amount": "-0.00500000", "settled_amount": "0.00"}
    ]
    assert statement["adjustments_settled_amount"] == "0.00" and '-0.00"' not in json.dumps(statement)


def test_details_list_every_customer_with_a_carried_charge_of_p_sorted_by_customer_id(tmp_path):
    customers = ["c-b", "C-a", "渠道", "c-10", "c-9", "c_1"]
    events = [b.associated(c, "p-1", time="2026-09-01T00:00:00+08:00") for c in customers]
    events += [b.usage(c, quantity="1", unit_price="1", time="2026-10-05T08:00:00+08:00") for c in customers]
    ingest(tmp_path, events, now=OCT_20)
    ok(tmp_path, "close", "--period", "2026-10", now=NOV_2)
    statement = ok(tmp_path, "statement", "--partner", "p-1", "--period", "2026-10", now=NOV_2)
    assert [d["customer_id"] for d in statement["details"]] == sorted(customers)
    assert statement["customers"] == 6
    performance = ok(tmp_path, "performance", "--partner", "p-1", "--period", "2026-10", now=NOV_2)
    assert performance["details"] == statement["details"]


def test_the_statement_for_q_equals_replay_as_of_its_issued_at_details_included(settled):
    for period in ("2026-10", "2026-11"):
        replay = ok(settled, "replay", "--period", period, "--as-of", OCT_ISSUED if period == "2026-10" else NOV_ISSUED)
        for performance in replay["performance"]:
            if performance["details"] == []:
                continue
            statement = ok(settled, "statement", "--partner", performance["partner_id"], "--period", period)
            for name in ("payable_amount", "settled_amount", "customers", "details"):
                assert statement[name] == performance[name], (period, performance["partner_id"], name)


def test_the_statement_for_q_plus_later_adjustments_for_q_add_up_to_the_performance_for_q(settled):
    october = ok(settled, "statement", "--partner", "p-1", "--period", "2026-10")
    november = ok(settled, "statement", "--partner", "p-1", "--period", "2026-11")
    later = [a for a in november["adjustments"] if a["period"] == "2026-10"]
    performance = ok(settled, "performance", "--partner", "p-1", "--period", "2026-10")
    # 102.46913578 + 1.111 − 40 = 63.58013578; settled 102.46 + 1.11 − 40.00 = 63.57
    assert (performance["payable_amount"], performance["settled_amount"]) == ("63.58013578", "63.57")

    def added(name: str) -> Decimal:
        return Decimal(october[name]) + sum(Decimal(a[name]) for a in later)

    assert (added("payable_amount"), added("settled_amount")) == (Decimal("63.58013578"), Decimal("63.57"))
    august = ok(settled, "performance", "--partner", "p-1", "--period", "2026-08")
    assert (august["payable_amount"], august["settled_amount"]) == ("0.50000000", "0.50")


def test_nothing_ever_changes_an_issued_statement_but_its_status(tmp_path, settled):
    store = copy_of(settled, tmp_path)
    before = ok(store, "statement", "--partner", "p-2", "--period", "2026-11")
    ingest(
        store, [b.usage("c-2", id="u-later", quantity="1", unit_price="9", time="2026-11-20T08:00:00+08:00")], now=NOW
    )
    disputed = ok(store, "dispute", "--partner", "p-2", "--period", "2026-11", "--reason", "对不上")
    assert {k: v for k, v in disputed.items() if k not in ("status", "history")} == {
        k: v for k, v in before.items() if k not in ("status", "history")
    }
    assert ok(store, "statement", "--partner", "p-2", "--period", "2026-11") == disputed


def test_a_late_charge_of_a_month_before_the_first_close_is_carried_by_the_next_close(settled):
    # u-aug (2026-08) was recorded after the first close (October): the November statement carries it.
    statement = ok(settled, "statement", "--partner", "p-1", "--period", "2026-11")
    assert statement["adjustments"][0] == {
        "period": "2026-08",
        "customer_id": "c-3",
        "payable_amount": "0.50000000",
        "settled_amount": "0.50",
    }
    assert "2026-08" not in {s["period"] for s in ok(settled, "statements")["statements"]}


def test_a_charge_is_in_the_period_of_its_time_in_the_billing_time_zone_and_a_late_void_is_an_adjustment(settled):
    # u-nov-start at 2026-10-31T17:00:00Z is 2026-11-01 01:00 in Asia/Shanghai.
    p2 = ok(settled, "statement", "--partner", "p-2", "--period", "2026-11")
    assert p2["details"] == [{"customer_id": "c-2", "payable_amount": "2.00000000", "settled_amount": "2.00"}]
    assert p2["adjustments"] == [
        {"period": "2026-10", "customer_id": "c-2", "payable_amount": "0.99500000", "settled_amount": "1.00"}
    ]


def test_p_can_be_closed_only_once_its_end_has_passed_by_the_store_clock(tmp_path):
    shanghai, utc = tmp_path / "shanghai", tmp_path / "utc"
    shanghai.mkdir(), utc.mkdir()
    new_store(shanghai), new_store(utc, BILLING_TIMEZONE="UTC")
    refused(shanghai, "period_not_ended", "close", "--period", "2026-10", now="2026-10-31T15:59:59.999999Z")
    refused(utc, "period_not_ended", "close", "--period", "2026-10", now="2026-10-31T16:00:00Z", BILLING_TIMEZONE="UTC")
    assert ok(shanghai, "close", "--period", "2026-10", now="2026-10-31T16:00:00.000001Z")["statements"] == []
    closed = ok(utc, "close", "--period", "2026-10", now="2026-11-01T00:00:01Z", BILLING_TIMEZONE="UTC")
    assert closed["statements"] == []
    refused(shanghai, "period_not_ended", "close", "--period", "2026-11", now="2026-11-15T00:00:00Z")


def test_a_closed_period_is_refused_and_the_refusal_records_nothing(settled):
    before = ok(settled, "periods")
    refused(settled, "period_already_closed", "close", "--period", "2026-11", now=NOW)
    refused(settled, "period_already_closed", "close", "--period", "2026-10", now=NOW)
    assert ok(settled, "periods") == before
    assert len(ok(settled, "statements")["statements"]) == 6


def test_p_must_be_the_month_right_after_the_last_closed_period(tmp_path):
    new_store(tmp_path)
    ok(tmp_path, "close", "--period", "2026-08")
    error = refused(tmp_path, "period_out_of_order", "close", "--period", "2026-10")
    assert "2026-09" in error
    assert ok(tmp_path, "close", "--period", "2026-09")["statements"] == []
    assert ok(tmp_path, "close", "--period", "2026-10")["statements"] == []


def test_the_first_close_is_refused_while_a_charge_of_an_earlier_month_is_recorded_even_one_of_no_partner(tmp_path):
    ingest(
        tmp_path,
        [
            b.associated("c-1", "p-1", time="2026-01-01T00:00:00Z"),
            b.usage("c-9", quantity="1", unit_price="1", time="2026-08-05T08:00:00+08:00"),
            b.usage("c-1", quantity="1", unit_price="1", time="2026-10-05T08:00:00+08:00"),
        ],
        now=OCT_20,
    )
    error = refused(tmp_path, "earlier_charges_open", "close", "--period", "2026-10")
    assert "2026-08" in error
    assert ok(tmp_path, "periods") == {
        "periods": [
            {"period": "2026-08", "status": "open", "closed_at": None},
            {"period": "2026-10", "status": "open", "closed_at": None},
        ]
    }
    assert ok(tmp_path, "close", "--period", "2026-08")["statements"] == []


def test_a_month_with_no_charge_can_be_closed_so_a_gap_never_blocks_closing(tmp_path):
    ingest(
        tmp_path,
        [
            b.associated("c-1", "p-1", time="2026-01-01T00:00:00Z"),
            b.usage("c-1", quantity="1", unit_price="1", time="2026-08-05T08:00:00+08:00"),
            b.usage("c-1", quantity="1", unit_price="2", time="2026-10-05T08:00:00+08:00"),
        ],
        now=OCT_20,
    )
    assert len(ok(tmp_path, "close", "--period", "2026-08")["statements"]) == 1
    september = ok(tmp_path, "close", "--period", "2026-09")
    assert september["period"] == "2026-09" and september["statements"] == []
    assert ok(tmp_path, "close", "--period", "2026-10")["statements"] == [
        {"partner_id": "p-1", "total_payable_amount": "2.00000000", "total_settled_amount": "2.00"}
    ]


def test_periods_lists_every_period_with_a_charge_open_or_closed_in_period_order(settled):
    periods = ok(settled, "periods")["periods"]
    assert [list(p) for p in periods] == [["period", "status", "closed_at"]] * 3
    assert [(p["period"], p["status"]) for p in periods] == [
        ("2026-08", "closed"),
        ("2026-10", "closed"),
        ("2026-11", "closed"),
    ]
    assert periods[1]["closed_at"] == OCT_ISSUED and periods[2]["closed_at"] == NOV_ISSUED


def test_periods_shows_closed_at_null_while_open(tmp_path):
    ingest(tmp_path, [b.usage("c-1", quantity="1", unit_price="1", time="2026-10-05T08:00:00+08:00")], now=OCT_20)
    assert ok(tmp_path, "periods") == {"periods": [{"period": "2026-10", "status": "open", "closed_at": None}]}


# --- §7 listing, confirming, disputing -----------------------------------------------------


def test_statements_lists_summaries_by_period_then_partner_id(settled):
    listed = ok(settled, "statements")["statements"]
    assert all(list(s) == SUMMARY_KEYS for s in listed)
    assert [(s["period"], s["partner_id"]) for s in listed] == [
        ("2026-10", "p-1"),
        ("2026-10", "p-2"),
        ("2026-10", "p-3"),
        ("2026-10", "渠道/1"),
        ("2026-11", "p-1"),
        ("2026-11", "p-2"),
    ]
    assert listed[4] == {
        "partner_id": "p-1",
        "period": "2026-11",
        "status": "pending_confirmation",
        "issued_at": NOV_ISSUED,
        "total_payable_amount": "-35.38900000",
        "total_settled_amount": "-35.39",
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["--partner", "p-2"], [("2026-10", "p-2"), ("2026-11", "p-2")]),
        (["--period", "2026-11"], [("2026-11", "p-1"), ("2026-11", "p-2")]),
        (["--status", "confirmed"], []),
        (["--issued-from", NOV_ISSUED], [("2026-11", "p-1"), ("2026-11", "p-2")]),  # inclusive
        (["--issued-to", NOV_ISSUED], [("2026-10", p) for p in ("p-1", "p-2", "p-3", "渠道/1")]),  # exclusive
        (
            ["--issued-from", "2026-11-02T00:00:00+08:00", "--issued-to", "2026-12-02T00:00:00.000001+08:00"],
            [("2026-10", p) for p in ("p-1", "p-2", "p-3", "渠道/1")] + [("2026-11", "p-1"), ("2026-11", "p-2")],
        ),
        (["--partner", "p-1", "--period", "2026-10", "--status", "pending_confirmation"], [("2026-10", "p-1")]),
    ],
)
def test_statements_filter_by_partner_period_status_and_issue_time(settled, filters, expected):
    listed = ok(settled, "statements", *filters)["statements"]
    assert [(s["period"], s["partner_id"]) for s in listed] == expected


@pytest.mark.parametrize(
    "args",
    [
        ["statements", "--status", "open"],
        ["statements", "--status", "pending"],
        ["statements", "--issued-from", "2026-11-05"],
        ["statements", "--issued-to", "2026-11-05T00:00:00"],
        ["statements", "--issued-to", "yesterday"],
        ["statements", "--period", "2026-13"],
        ["close", "--period", "2026-1"],
        ["dispute", "--partner", "p-1", "--period", "2026-10", "--reason", ""],
        ["dispute", "--partner", "p-1", "--period", "2026-10", "--reason", "x" * 513],
        ["dispute", "--partner", "p-1", "--period", "2026-10"],
        ["confirm", "--period", "2026-10"],
    ],
)
def test_anything_but_the_three_statuses_rfc3339_times_with_an_offset_and_a_1_to_512_reason_is_a_usage_error(
    settled, args
):
    usage_error(settled, *args)


def test_a_statement_is_pending_then_disputed_with_a_reason_then_confirmed_and_a_confirmed_one_is_final(
    tmp_path, settled
):
    store = copy_of(settled, tmp_path)
    reason = "x" * 512
    disputed = ok(store, "dispute", "--partner", "p-1", "--period", "2026-10", "--reason", reason)
    assert list(disputed) == STATEMENT_KEYS and disputed["status"] == "disputed"
    assert disputed["history"] == [
        {"status": "pending_confirmation", "at": OCT_ISSUED, "reason": None},
        {"status": "disputed", "at": AT, "reason": reason},
    ]
    refused(store, "invalid_state", "dispute", "--partner", "p-1", "--period", "2026-10", "--reason", "again")
    confirmed = ok(store, "confirm", "--partner", "p-1", "--period", "2026-10")
    assert [h["status"] for h in confirmed["history"]] == ["pending_confirmation", "disputed", "confirmed"]
    assert [h["reason"] for h in confirmed["history"]] == [None, reason, None]
    refused(store, "invalid_state", "confirm", "--partner", "p-1", "--period", "2026-10")
    refused(store, "invalid_state", "dispute", "--partner", "p-1", "--period", "2026-10", "--reason", "late")
    assert ok(store, "statement", "--partner", "p-1", "--period", "2026-10") == confirmed
    assert confirmed["digest"] == ok(settled, "statement", "--partner", "p-1", "--period", "2026-10")["digest"]
    assert [(s["partner_id"], s["period"]) for s in ok(store, "statements", "--status", "confirmed")["statements"]] == [
        ("p-1", "2026-10")
    ]


def test_confirm_and_dispute_print_the_statement_and_every_read_has_a_readable_table(tmp_path, settled):
    store = copy_of(settled, tmp_path)
    for args in (
        ["confirm", "--partner", "p-2", "--period", "2026-10"],
        ["dispute", "--partner", "p-2", "--period", "2026-11", "--reason", "why"],
        ["statement", "--partner", "p-1", "--period", "2026-11"],
        ["statements"],
        ["periods"],
    ):
        result = billing(store, *args)
        assert result.returncode == 0 and result.stderr == b"", result.stderr
        text = result.stdout.decode()
        assert not text.lstrip().startswith("{") and text.strip()
    assert "confirmed" in billing(store, "statement", "--partner", "p-2", "--period", "2026-10").stdout.decode()


def test_a_statement_that_does_not_exist_exits_1(settled):
    refused(settled, "unknown_statement", "statement", "--partner", "p-3", "--period", "2026-11")
    refused(settled, "unknown_statement", "confirm", "--partner", "p-9", "--period", "2026-10")
    refused(settled, "unknown_statement", "dispute", "--partner", "p-1", "--period", "2026-09", "--reason", "x")


@pytest.mark.parametrize(
    "args",
    [
        ["close", "--period", "2026-10"],
        ["periods"],
        ["statements"],
        ["statement", "--partner", "p-1", "--period", "2026-10"],
        ["confirm", "--partner", "p-1", "--period", "2026-10"],
        ["dispute", "--partner", "p-1", "--period", "2026-10", "--reason", "x"],
        ["account", "--partner", "p-1"],
        ["transfers"],
        ["ledger"],
        ["payments"],
        ["notifications"],
        ["subsidies"],
        ["calendar"],
        ["incentives", "--partner", "p-1", "--period", "2026-10"],
    ],
)
def test_every_command_of_sections_7_to_9_that_reads_or_closes_needs_an_existing_store(tmp_path, args):
    usage_error(tmp_path, *args)
    assert list(tmp_path.iterdir()) == []


def test_a_close_after_that_is_not_an_iso_8601_duration_is_a_usage_error_whatever_the_broker(tmp_path):
    error = usage_error(tmp_path, "serve", BILLING_CLOSE_AFTER="three days", BILLING_KAFKA="127.0.0.1:1")
    assert "BILLING_CLOSE_AFTER" in error


# --- §8 transfers --------------------------------------------------------------------------


def test_transfers_are_recorded_once_and_listed_in_recorded_order_with_minor_digits(tmp_path):
    topup = ok(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "100", "--id", "t-1")
    assert list(topup) == TRANSFER_KEYS
    assert topup == {
        "id": "t-1",
        "kind": "topup",
        "debit": "cloud:bank",
        "credit": "prepaid:p-1",
        "amount": "100.00",
        "status": "posted",
        "at": AT,
        "note": None,
    }
    withdrawal = ok(
        tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "40.5", "--id", "w-1", "--note", ""
    )
    assert (withdrawal["debit"], withdrawal["credit"], withdrawal["amount"], withdrawal["note"]) == (
        "prepaid:p-1",
        "cloud:bank",
        "40.50",
        "",
    )
    incentive = ok(
        tmp_path, "transfer", "incentive", "--partner", "p-2", "--amount", "7.05", "--id", "i-1", "--note", "Q3 bonus"
    )
    assert (incentive["debit"], incentive["credit"], incentive["note"]) == (
        "cloud:incentives",
        "incentive:p-2",
        "Q3 bonus",
    )
    assert ok(tmp_path, "transfers") == {"transfers": [topup, withdrawal, incentive]}
    assert ok(tmp_path, "transfers", "--partner", "p-2") == {"transfers": [incentive]}
    assert ok(tmp_path, "account", "--partner", "p-1") == {
        "partner_id": "p-1",
        "currency": "CNY",
        "prepaid": {"balance": "59.50", "pending": "0.00", "available": "59.50"},
        "incentive": {"balance": "0.00", "pending": "0.00", "available": "0.00"},
        "warn_below": None,
    }


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "0.00",
        "-1",
        "1.001",
        "1e3",
        "1.",
        ".5",
        "",
        "1000000000000",
        "999999999999.01",
    ],
)
def test_an_amount_must_be_a_plain_decimal_above_zero_with_at_most_the_minor_digits_and_at_most_999999999999(
    tmp_path, value
):
    error = usage_error(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", value, "--id", "t-1")
    assert "--amount" in error
    assert list(tmp_path.iterdir()) == []  # a usage error creates no store


def test_the_largest_amount_is_999999999999(tmp_path):
    assert ok(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "999999999999", "--id", "t")["amount"] == (
        "999999999999.00"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["transfer", "topup", "--partner", "p-1", "--amount", "1", "--id", "i" * 65],
        ["transfer", "topup", "--partner", "p-1", "--amount", "1", "--id", ""],
        ["transfer", "topup", "--partner", "p-1", "--amount", "1", "--id", "t", "--note", "n" * 513],
        ["transfer", "statement", "--partner", "p-1", "--amount", "1", "--id", "t"],
        ["transfer", "payment", "--partner", "p-1", "--amount", "1", "--id", "t"],
        ["payment", "submit", "--partner", "p-1", "--amount", "1", "--id", "i" * 65],
        ["payment", "reject", "--id", "x", "--reason", ""],
        ["payment", "reject", "--id", "x", "--reason", "r" * 513],
        ["payment", "reject", "--id", "x"],
        ["payments", "--status", "pending"],
        ["warn", "--partner", "p-1"],
        ["warn", "--partner", "p-1", "--below", "-1"],
        ["warn", "--partner", "p-1", "--below", "1.001"],
        ["warn", "--partner", "p-1", "--below", "1", "--off"],
    ],
)
def test_malformed_requests_are_usage_errors(tmp_path, args):
    usage_error(tmp_path, *args)


def test_ids_of_64_characters_and_notes_of_512_are_accepted(tmp_path):
    made = ok(
        tmp_path, "transfer", "incentive", "--partner", "p-1", "--amount", "1", "--id", "i" * 64, "--note", "n" * 512
    )
    assert (made["id"], made["note"]) == ("i" * 64, "n" * 512)


def test_the_same_id_with_the_same_kind_partner_and_amount_changes_nothing_and_prints_what_the_first_call_printed(
    tmp_path,
):
    first = ok(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "100", "--id", "t-1", "--note", "a")
    for repeat in (["--amount", "100.00"], ["--amount", "100.0", "--note", "another note"]):
        result = billing(
            tmp_path,
            "transfer",
            "topup",
            "--partner",
            "p-1",
            *repeat,
            "--id",
            "t-1",
            "--json",
            now="2026-12-20T00:00:00+08:00",
        )
        assert result.returncode == 0 and json.loads(result.stdout) == first
        assert result.stderr.decode().count("\n") == 1  # saying so
    assert ok(tmp_path, "transfers") == {"transfers": [first]}
    assert ok(tmp_path, "account", "--partner", "p-1")["prepaid"]["balance"] == "100.00"


@pytest.mark.parametrize(
    "other",
    [
        ["transfer", "topup", "--partner", "p-1", "--amount", "100.01", "--id", "t-1"],
        ["transfer", "topup", "--partner", "p-2", "--amount", "100", "--id", "t-1"],
        ["transfer", "incentive", "--partner", "p-1", "--amount", "100", "--id", "t-1"],
        ["payment", "submit", "--partner", "p-1", "--amount", "100", "--id", "t-1"],
        ["transfer", "topup", "--partner", "p-1", "--amount", "5", "--id", "statement:p-1:2026-10"],
        ["transfer", "incentive", "--partner", "p-1", "--amount", "5", "--id", "incentive:2026Q4:2026-10:p-1"],
    ],
)
def test_the_same_id_with_anything_different_is_id_conflict_in_one_namespace(tmp_path, other):
    ok(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "100", "--id", "t-1")
    refused(tmp_path, "id_conflict", *other)
    assert len(ok(tmp_path, "transfers")["transfers"]) == 1


def test_a_withdrawal_above_the_prepaid_available_is_insufficient_funds_and_exactly_the_available_is_allowed(tmp_path):
    ok(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "10", "--id", "t-1")
    refused(
        tmp_path, "insufficient_funds", "transfer", "withdrawal", "--partner", "p-1", "--amount", "10.01", "--id", "w-1"
    )
    refused(
        tmp_path, "insufficient_funds", "transfer", "withdrawal", "--partner", "p-2", "--amount", "0.01", "--id", "w-1"
    )
    everything = ok(tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "10", "--id", "w-1")
    assert everything["amount"] == "10.00"
    # The id is judged before funds: repeating it exits 0 although nothing is left.
    assert ok(tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "10", "--id", "w-1")["id"] == "w-1"
    assert ok(tmp_path, "account", "--partner", "p-1")["prepaid"] == {
        "balance": "0.00",
        "pending": "0.00",
        "available": "0.00",
    }


def test_two_processes_acting_at_once_never_take_available_below_zero(tmp_path):
    ok(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "100", "--id", "t-1")
    env = clean_env(BILLING_NOW=NOW)
    runs = [
        subprocess.Popen(
            [str(BILLING), "transfer", "withdrawal", "--partner", "p-1", "--amount", "30", "--id", f"w-{n}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n in range(5)
    ]
    codes = [run.wait(timeout=60) for run in runs]
    errors = [run.stderr.read().decode() for run in runs]
    assert sorted(codes) == [0, 0, 0, 1, 1], errors
    assert all(e.startswith("insufficient_funds: ") for e, c in zip(errors, codes, strict=True) if c == 1)
    assert ok(tmp_path, "account", "--partner", "p-1")["prepaid"]["available"] == "10.00"


def test_a_partner_without_accounts_reads_as_zeros_and_the_ledger_always_lists_the_three_cloud_accounts(tmp_path):
    new_store(tmp_path)
    assert ok(tmp_path, "account", "--partner", "p-9") == {
        "partner_id": "p-9",
        "currency": "CNY",
        "prepaid": {"balance": "0.00", "pending": "0.00", "available": "0.00"},
        "incentive": {"balance": "0.00", "pending": "0.00", "available": "0.00"},
        "warn_below": None,
    }
    assert ok(tmp_path, "ledger") == {
        "accounts": [
            {"account": "cloud:bank", "balance": "0.00", "pending": "0.00"},
            {"account": "cloud:incentives", "balance": "0.00", "pending": "0.00"},
            {"account": "cloud:revenue", "balance": "0.00", "pending": "0.00"},
        ],
        "total": "0.00",
    }
    assert ok(tmp_path, "transfers") == {"transfers": []} and ok(tmp_path, "payments") == {"payments": []}
    assert ok(tmp_path, "notifications") == {"notifications": []}


# --- §8 payment applications ----------------------------------------------------------------


def test_a_payment_is_pending_from_submission_posted_when_paid_and_voided_when_rejected(tmp_path):
    ok(tmp_path, "transfer", "incentive", "--partner", "p-1", "--amount", "100", "--id", "i-1")
    refused(
        tmp_path, "insufficient_funds", "payment", "submit", "--partner", "p-1", "--amount", "100.01", "--id", "pay-1"
    )
    submitted = ok(tmp_path, "payment", "submit", "--partner", "p-1", "--amount", "60", "--id", "pay-1")
    assert list(submitted) == PAYMENT_KEYS
    assert submitted == {
        "id": "pay-1",
        "partner_id": "p-1",
        "amount": "60.00",
        "status": "under_review",
        "history": [{"status": "under_review", "at": AT, "reason": None}],
    }
    assert ok(tmp_path, "account", "--partner", "p-1")["incentive"] == {
        "balance": "100.00",
        "pending": "60.00",
        "available": "40.00",
    }
    refused(
        tmp_path, "insufficient_funds", "payment", "submit", "--partner", "p-1", "--amount", "40.01", "--id", "pay-2"
    )
    ledger = {a["account"]: a for a in ok(tmp_path, "ledger")["accounts"]}
    # `pending` counts on the debited account only.
    assert (ledger["incentive:p-1"]["pending"], ledger["cloud:bank"]["pending"]) == ("60.00", "0.00")
    ok(tmp_path, "payment", "submit", "--partner", "p-1", "--amount", "40", "--id", "pay-2")
    ok(tmp_path, "payment", "approve", "--id", "pay-1")
    paid = ok(tmp_path, "payment", "pay", "--id", "pay-1")
    assert [h["status"] for h in paid["history"]] == ["under_review", "approved", "paid"]
    rejected = ok(tmp_path, "payment", "reject", "--id", "pay-2", "--reason", "bank details wrong")
    assert rejected["history"][-1] == {"status": "rejected", "at": AT, "reason": "bank details wrong"}
    transfers = {t["id"]: t for t in ok(tmp_path, "transfers")["transfers"]}
    assert (
        transfers["pay-1"]["kind"],
        transfers["pay-1"]["debit"],
        transfers["pay-1"]["credit"],
        transfers["pay-1"]["status"],
    ) == ("payment", "incentive:p-1", "cloud:bank", "posted")
    assert transfers["pay-2"]["status"] == "voided"
    assert ok(tmp_path, "account", "--partner", "p-1")["incentive"] == {
        "balance": "40.00",
        "pending": "0.00",
        "available": "40.00",
    }
    # A rejected application can be submitted again under a new id.
    assert ok(tmp_path, "payment", "submit", "--partner", "p-1", "--amount", "40", "--id", "pay-3")["status"] == (
        "under_review"
    )
    assert [p["id"] for p in ok(tmp_path, "payments")["payments"]] == ["pay-1", "pay-2", "pay-3"]
    assert [p["id"] for p in ok(tmp_path, "payments", "--status", "rejected")["payments"]] == ["pay-2"]
    assert ok(tmp_path, "payments", "--partner", "p-2") == {"payments": []}
    assert ok(tmp_path, "ledger")["total"] == "0.00"


def test_payment_steps_are_not_idempotent_and_any_other_step_is_invalid_state(tmp_path):
    ok(tmp_path, "transfer", "incentive", "--partner", "p-1", "--amount", "100", "--id", "i-1")
    first = ok(tmp_path, "payment", "submit", "--partner", "p-1", "--amount", "10", "--id", "pay-1")
    refused(tmp_path, "invalid_state", "payment", "pay", "--id", "pay-1")
    ok(tmp_path, "payment", "approve", "--id", "pay-1")
    refused(tmp_path, "invalid_state", "payment", "approve", "--id", "pay-1")
    refused(tmp_path, "invalid_state", "payment", "reject", "--id", "pay-1", "--reason", "no")
    ok(tmp_path, "payment", "pay", "--id", "pay-1")
    refused(tmp_path, "invalid_state", "payment", "pay", "--id", "pay-1")
    # The id is judged before state: submitting it again exits 0 and prints the first answer.
    again = billing(tmp_path, "payment", "submit", "--partner", "p-1", "--amount", "10.00", "--id", "pay-1", "--json")
    assert again.returncode == 0 and json.loads(again.stdout) == first
    refused(tmp_path, "id_conflict", "payment", "submit", "--partner", "p-1", "--amount", "11", "--id", "pay-1")
    refused(tmp_path, "unknown_payment", "payment", "approve", "--id", "nope")


def test_confirming_a_statement_posts_its_total_settled_amount_either_way_and_nothing_if_zero(tmp_path, settled):
    store = copy_of(settled, tmp_path)
    ok(store, "transfer", "topup", "--partner", "p-1", "--amount", "50", "--id", "t-1")
    ok(store, "confirm", "--partner", "p-1", "--period", "2026-10")  # 102.46: arrears allowed
    ok(store, "confirm", "--partner", "p-1", "--period", "2026-11")  # −35.39: the other way
    ok(store, "dispute", "--partner", "p-3", "--period", "2026-10", "--reason", "zero?")
    ok(store, "confirm", "--partner", "p-3", "--period", "2026-10")  # 0.00: nothing
    transfers = ok(store, "transfers")["transfers"]
    assert [(t["id"], t["kind"], t["debit"], t["credit"], t["amount"], t["status"]) for t in transfers[1:]] == [
        ("statement:p-1:2026-10", "statement", "prepaid:p-1", "cloud:revenue", "102.46", "posted"),
        ("statement:p-1:2026-11", "statement", "cloud:revenue", "prepaid:p-1", "35.39", "posted"),
    ]
    assert ok(store, "account", "--partner", "p-1")["prepaid"] == {
        "balance": "-17.07",
        "pending": "0.00",
        "available": "-17.07",
    }  # 50 − 102.46 + 35.39
    ledger = ok(store, "ledger")
    assert ledger["total"] == "0.00"
    assert [a["account"] for a in ledger["accounts"]] == [
        "cloud:bank",
        "cloud:incentives",
        "cloud:revenue",
        "incentive:p-1",
        "prepaid:p-1",
    ]
    refused(
        store, "id_conflict", "payment", "submit", "--partner", "p-1", "--amount", "1", "--id", "statement:p-1:2026-10"
    )


def test_balance_low_is_notified_when_available_goes_below_the_threshold_by_a_transfer_or_a_setting_once(tmp_path):
    ok(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "40", "--id", "t-1")
    warned = ok(tmp_path, "warn", "--partner", "p-1", "--below", "50")  # setting: 40 < 50
    assert list(warned) == ACCOUNT_KEYS and warned["warn_below"] == "50.00"
    ok(tmp_path, "warn", "--partner", "p-1", "--below", "60")  # still below: no other
    ok(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "20", "--id", "t-2")  # back at 60
    ok(tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "0.01", "--id", "w-1")  # 59.99 < 60
    ok(tmp_path, "transfer", "withdrawal", "--partner", "p-1", "--amount", "1", "--id", "w-2")  # still below
    ok(tmp_path, "warn", "--partner", "p-1", "--below", "10")
    ok(tmp_path, "warn", "--partner", "p-1", "--below", "0")  # takes 0 (arrears)
    cleared = ok(tmp_path, "warn", "--partner", "p-1", "--off")
    assert cleared["warn_below"] is None
    ok(tmp_path, "warn", "--partner", "p-1", "--below", "100")  # from no threshold to below
    notes = ok(tmp_path, "notifications")["notifications"]
    assert [list(n) for n in notes] == [["type", "partner_id", "at", "data"]] * 3
    assert [(n["type"], n["partner_id"]) for n in notes] == [("balance.low", "p-1")] * 3
    assert ok(tmp_path, "notifications", "--partner", "p-2") == {"notifications": []}


def test_notifications_are_recorded_for_statements_issued_and_payment_steps_each_once_in_recorded_order(
    tmp_path, settled
):
    store = copy_of(settled, tmp_path)
    issued = [(n["type"], n["partner_id"]) for n in ok(store, "notifications")["notifications"]]
    assert issued == [("statement.issued", p) for p in ("p-1", "p-2", "p-3", "渠道/1", "p-1", "p-2")]
    ok(store, "transfer", "incentive", "--partner", "p-2", "--amount", "10", "--id", "i-1")
    for step in (
        ["submit", "--partner", "p-2", "--amount", "3", "--id", "a"],
        ["approve", "--id", "a"],
        ["pay", "--id", "a"],
        ["submit", "--partner", "p-2", "--amount", "3", "--id", "b"],
        ["reject", "--id", "b", "--reason", "no"],
    ):
        ok(store, "payment", *step)
    ok(store, "payment", "submit", "--partner", "p-2", "--amount", "3", "--id", "a")  # a repeat: nothing new
    notes = ok(store, "notifications", "--partner", "p-2")["notifications"]
    assert [n["type"] for n in notes] == [
        "statement.issued",
        "statement.issued",
        "payment.approved",
        "payment.paid",
        "payment.rejected",
    ]


def test_yen_amounts_have_no_decimals_in_statements_and_accounts(tmp_path):
    yen = {"BILLING_CURRENCY": "JPY"}
    ingest_yen = [
        b.associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00"),
        b.usage("c-1", quantity="1", unit_price="10.5", currency="JPY", time="2026-10-05T08:00:00+08:00"),
    ]
    lines = b.jsonl_text(ingest_yen).encode()
    assert billing(tmp_path, "ingest", "-", stdin=lines, now=OCT_20, **yen).returncode == 0
    assert ok(tmp_path, "close", "--period", "2026-10", now=NOV_2, **yen)["statements"] == [
        {"partner_id": "p-1", "total_payable_amount": "10.50000000", "total_settled_amount": "10"}
    ]
    statement = ok(tmp_path, "confirm", "--partner", "p-1", "--period", "2026-10", **yen)
    assert (statement["currency"], statement["settled_amount"], statement["adjustments_settled_amount"]) == (
        "JPY",
        "10",
        "0",
    )
    assert ok(tmp_path, "account", "--partner", "p-1", **yen)["prepaid"] == {
        "balance": "-10",
        "pending": "0",
        "available": "-10",
    }
    assert ok(tmp_path, "ledger", **yen)["total"] == "0"
    usage_error(tmp_path, "transfer", "topup", "--partner", "p-1", "--amount", "1.5", "--id", "t", **yen)


# --- §5 the store binding, for the commands of §7–9 ------------------------------------------


BOUND_COMMANDS = [
    ["close", "--period", "2026-12"],
    ["statements"],
    ["confirm", "--partner", "p-1", "--period", "2026-10"],
    ["transfer", "topup", "--partner", "p-1", "--amount", "1", "--id", "t-9"],
    ["warn", "--partner", "p-1", "--below", "5"],
    ["payment", "submit", "--partner", "p-1", "--amount", "1", "--id", "pay-9"],
    [
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d",
        "--milestone",
        "m",
        "--planned",
        "2026-01-05",
        "--amount",
        "1",
    ],
    ["incentives", "--partner", "p-1", "--period", "2026-10"],
]


@pytest.mark.parametrize("setting", [{"BILLING_CURRENCY": "USD"}, {"BILLING_TIMEZONE": "UTC"}])
def test_a_command_with_another_currency_or_time_zone_exits_2_naming_both_and_changes_nothing(
    tmp_path, settled, setting
):
    store = copy_of(settled, tmp_path)
    for args in BOUND_COMMANDS:
        error = usage_error(store, *args, now="2027-01-15T00:00:00+08:00", **setting)
        for word in ("CNY", "Asia/Shanghai", *setting.values()):
            assert word in error, (args, error)
    assert ok(store, "periods") == ok(settled, "periods")
    assert ok(store, "ledger")["accounts"] == [  # no transfer, threshold or application: no partner account
        {"account": name, "balance": "0.00", "pending": "0.00"}
        for name in ("cloud:bank", "cloud:incentives", "cloud:revenue")
    ]
    assert ok(store, "statement", "--partner", "p-1", "--period", "2026-10")["status"] == "pending_confirmation"


def test_the_global_store_option_is_accepted_after_every_command_of_sections_7_to_9(tmp_path):
    store = ["--store", "sqlite:///elsewhere.db"]
    (tmp_path / "policy.json").write_text(json.dumps(POLICY))
    (tmp_path / "2031.json").write_text(json.dumps({"year": 2031, "holidays": [], "working_days": [], "source": "x"}))
    for args in (
        ["transfer", "topup", "--partner", "p-1", "--amount", "5", "--id", "t-1"],
        ["warn", "--partner", "p-1", "--below", "1"],
        ["transfer", "incentive", "--partner", "p-1", "--amount", "5", "--id", "i-1"],
        ["payment", "submit", "--partner", "p-1", "--amount", "5", "--id", "pay-1"],
        ["payment", "approve", "--id", "pay-1"],
        [
            "subsidy",
            "plan",
            "--partner",
            "p-1",
            "--deal",
            "d-1",
            "--milestone",
            "m-1",
            "--planned",
            "2026-09-30",
            "--amount",
            "10",
        ],
        ["subsidy", "deliver", "--deal", "d-1", "--milestone", "m-1", "--delivered", "2026-10-08"],
        ["calendar", "load", "2031.json"],
        ["incentives", "load", "policy.json"],
        ["incentives", "--partner", "p-1", "--period", "2026-10"],
        ["close", "--period", "2026-10"],
        ["periods"],
        ["statements"],
        ["ledger"],
    ):
        result = billing(tmp_path, *args, *store, "--json")
        assert result.returncode == 0, (args, result.stderr.decode())
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["elsewhere.db"]


# --- §9 subsidies ----------------------------------------------------------------------------
#
# Working days after 2026-03-02 (Mon) on the mainland calendar: the 5th is 03-09, the 6th
# 03-10, the 14th 03-20, the 15th 03-23, the 19th 03-27, the 20th 03-30, the 40th 04-28 and
# the 41st 04-29 (Qingming, Mon 04-06, is a holiday).

BOUNDARIES = [
    # delivered, days late, rate, payable of 999.99, status
    ("2026-03-02", 0, "0.00", "999.99", "on_time"),
    ("2026-03-09", 5, "0.00", "999.99", "on_time"),
    ("2026-03-10", 6, "0.00", "999.99", "late"),
    ("2026-03-20", 14, "0.00", "999.99", "late"),
    ("2026-03-23", 15, "0.05", "949.99", "reduced"),  # 949.9905 truncated
    ("2026-03-30", 20, "0.10", "899.99", "reduced"),  # 899.991
    ("2026-04-28", 40, "0.30", "699.99", "reduced"),  # 699.993
    ("2026-04-29", 41, "1.00", "0.00", "cancelled"),
]


def test_working_days_late_decide_the_deduction_at_every_boundary(tmp_path):
    for index, (delivered, *_rest) in enumerate(BOUNDARIES):
        ok(
            tmp_path,
            "subsidy",
            "plan",
            "--partner",
            "p-1",
            "--deal",
            "d-1",
            "--milestone",
            f"m-{index:02d}",
            "--planned",
            "2026-03-02",
            "--amount",
            "999.99",
        )
        ok(tmp_path, "subsidy", "deliver", "--deal", "d-1", "--milestone", f"m-{index:02d}", "--delivered", delivered)
    listed = ok(tmp_path, "subsidies")["subsidies"]
    assert all(list(s) == SUBSIDY_KEYS for s in listed)
    assert [
        (s["delivered"], s["working_days_late"], s["deduction_rate"], s["payable_amount"], s["status"]) for s in listed
    ] == BOUNDARIES
    assert all(s["amount"] == "999.99" and s["calendar"] for s in listed)


def test_adjusted_working_weekends_count_and_holidays_do_not(tmp_path):
    # 2026-09-30 → 10-22: Oct 1–7 are holidays; Oct 8, 9, Sat Oct 10 (worked), 12–16, 19–22: 12 days.
    ok(
        tmp_path,
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d-1",
        "--milestone",
        "m-1",
        "--planned",
        "2026-09-30",
        "--amount",
        "100",
    )
    late = ok(tmp_path, "subsidy", "deliver", "--deal", "d-1", "--milestone", "m-1", "--delivered", "2026-10-22")
    assert (late["working_days_late"], late["deduction_rate"], late["payable_amount"], late["status"]) == (
        12,
        "0.00",
        "100.00",
        "late",
    )
    ok(
        tmp_path,
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d-1",
        "--milestone",
        "m-2",
        "--planned",
        "2026-09-30",
        "--amount",
        "100",
    )
    holiday = ok(tmp_path, "subsidy", "deliver", "--deal", "d-1", "--milestone", "m-2", "--delivered", "2026-10-07")
    assert (holiday["working_days_late"], holiday["status"]) == (0, "on_time")


def test_a_milestone_is_planned_once_and_a_deal_belongs_to_one_partner(tmp_path):
    plan = ["subsidy", "plan", "--partner", "p-1", "--deal", "d-1", "--milestone", "m-1", "--planned", "2026-09-30"]
    first = ok(tmp_path, *plan, "--amount", "1000")
    assert first == {
        "partner_id": "p-1",
        "deal_id": "d-1",
        "milestone": "m-1",
        "planned": "2026-09-30",
        "delivered": None,
        "amount": "1000.00",
        "working_days_late": None,
        "deduction_rate": None,
        "payable_amount": None,
        "status": "pending",
        "calendar": None,
    }
    assert ok(tmp_path, *plan, "--amount", "1000.00") == first  # the same again: no change
    refused(tmp_path, "id_conflict", *plan, "--amount", "1001")
    refused(
        tmp_path,
        "id_conflict",
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d-1",
        "--milestone",
        "m-1",
        "--planned",
        "2026-10-01",
        "--amount",
        "1000",
    )
    refused(
        tmp_path,
        "id_conflict",
        "subsidy",
        "plan",
        "--partner",
        "p-2",
        "--deal",
        "d-1",
        "--milestone",
        "m-2",
        "--planned",
        "2026-09-30",
        "--amount",
        "5",
    )
    assert ok(tmp_path, "subsidies") == {"subsidies": [first]}


def test_delivering_twice_is_invalid_state_even_with_the_same_date(tmp_path):
    ok(
        tmp_path,
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d-1",
        "--milestone",
        "m-1",
        "--planned",
        "2026-09-30",
        "--amount",
        "10",
    )
    ok(tmp_path, "subsidy", "deliver", "--deal", "d-1", "--milestone", "m-1", "--delivered", "2026-10-08")
    refused(
        tmp_path,
        "invalid_state",
        "subsidy",
        "deliver",
        "--deal",
        "d-1",
        "--milestone",
        "m-1",
        "--delivered",
        "2026-10-08",
    )


def test_a_date_outside_the_calendar_is_refused_naming_the_year_and_plan_takes_any_valid_date(tmp_path):
    # The year named is the first one not covered.
    for milestone, planned, delivered, year in (
        ("m-1", "2031-01-05", "2031-01-06", "2031"),
        ("m-2", "2026-12-30", "2031-01-05", "2027"),
        ("m-3", "2003-12-30", "2026-01-05", "2003"),
    ):
        ok(
            tmp_path,
            "subsidy",
            "plan",
            "--partner",
            "p-1",
            "--deal",
            "d-1",
            "--milestone",
            milestone,
            "--planned",
            planned,
            "--amount",
            "10",
        )
        error = refused(
            tmp_path,
            "calendar_not_covered",
            "subsidy",
            "deliver",
            "--deal",
            "d-1",
            "--milestone",
            milestone,
            "--delivered",
            delivered,
        )
        assert year in error
    assert {s["status"] for s in ok(tmp_path, "subsidies")["subsidies"]} == {"pending"}


def test_a_loaded_schedule_covers_its_year_and_a_decided_subsidy_keeps_its_calendar(tmp_path):
    (tmp_path / "2031.json").write_text(
        json.dumps(
            {"year": 2031, "holidays": ["2031-01-01", "2031-01-02"], "working_days": ["2031-01-04"], "source": "notice"}
        )
    )
    ok(tmp_path, "calendar", "load", "2031.json")
    ok(
        tmp_path,
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d-1",
        "--milestone",
        "m-1",
        "--planned",
        "2030-12-31",
        "--amount",
        "10",
    )
    refused(
        tmp_path,
        "calendar_not_covered",
        "subsidy",
        "deliver",
        "--deal",
        "d-1",
        "--milestone",
        "m-1",
        "--delivered",
        "2031-01-06",
    )  # 2030 is covered by nothing
    ok(
        tmp_path,
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d-1",
        "--milestone",
        "m-2",
        "--planned",
        "2031-01-01",
        "--amount",
        "10",
    )
    # Jan 2 holiday, Fri Jan 3, Sat Jan 4 (worked), Mon Jan 6: 3 days late.
    decided = ok(tmp_path, "subsidy", "deliver", "--deal", "d-1", "--milestone", "m-2", "--delivered", "2031-01-06")
    assert decided["working_days_late"] == 3 and decided["calendar"]
    (tmp_path / "2031b.json").write_text(
        json.dumps(
            {
                "year": 2031,
                "holidays": ["2031-01-01", "2031-01-02", "2031-01-03", "2031-01-06"],
                "working_days": [],
                "source": "corrected",
            }
        )
    )
    ok(tmp_path, "calendar", "load", "2031b.json")
    assert ok(tmp_path, "subsidies", "--deal", "d-1")["subsidies"][1] == decided
    assert 2031 in [year["year"] for year in ok(tmp_path, "calendar")["years"]]


@pytest.mark.parametrize(
    "content",
    [
        "{",
        "[]",
        '{"year": 2031}',
        '{"year": 2031, "holidays": ["2030-01-01"], "working_days": [], "source": "x"}',
        '{"year": 2031, "holidays": ["2031-02-30"], "working_days": [], "source": "x"}',
    ],
)
def test_a_malformed_calendar_file_is_a_usage_error(tmp_path, content):
    (tmp_path / "cal.json").write_text(content)
    usage_error(tmp_path, "calendar", "load", "cal.json")


def test_subsidies_are_listed_by_deal_then_milestone_and_filtered(tmp_path):
    for partner, deal, milestone in (("p-2", "d-2", "m-1"), ("p-1", "d-1", "m-2"), ("p-1", "d-1", "m-1")):
        ok(
            tmp_path,
            "subsidy",
            "plan",
            "--partner",
            partner,
            "--deal",
            deal,
            "--milestone",
            milestone,
            "--planned",
            "2026-09-30",
            "--amount",
            "10",
        )
    keys = [(s["deal_id"], s["milestone"]) for s in ok(tmp_path, "subsidies")["subsidies"]]
    assert keys == [("d-1", "m-1"), ("d-1", "m-2"), ("d-2", "m-1")]
    assert [s["deal_id"] for s in ok(tmp_path, "subsidies", "--partner", "p-2")["subsidies"]] == ["d-2"]
    assert [s["milestone"] for s in ok(tmp_path, "subsidies", "--deal", "d-1")["subsidies"]] == ["m-1", "m-2"]


# --- §9 incentives (open periods: estimated) -------------------------------------------------

POLICY = b.incentive_policy(
    {
        "consumption": "settled_amount",
        "pay": "payable_amount",
        "consumers": "consuming_customers",
        "new_enterprise": "new_enterprise_customers",
    },
    [
        b.reward("consumption", "stepped", ("0", "0.02"), ("10", "0.03")),
        b.reward("pay", "whole", ("5", "0.011"), ("100", "0.5")),
        b.reward("new_enterprise", "whole", ("1", "10")),
    ],
)


@pytest.fixture(scope="module")
def incentive_store(tmp_path_factory) -> Path:
    """p-1 in October 2026 (open): c-1 (enterprise since January, am-1) 12.34567891;
    c-2 (enterprise from 10-02, am-2) 0.999; c-3 (individual, no manager) 0.
    am-1 → s-1 (09-01); am-2 → s-1 (09-01), → s-2 at the period's end (not before it);
    for p-2, am-1 → s-9."""
    folder = tmp_path_factory.mktemp("incentives")
    ingest(
        folder,
        [
            b.associated("c-1", "p-1", time="2026-01-01T00:00:00+08:00", data={"account_manager_id": "am-1"}),
            b.associated("c-2", "p-1", time="2026-10-02T00:00:00+08:00", data={"account_manager_id": "am-2"}),
            b.associated("c-3", "p-1", customer_type="individual", time="2026-10-02T00:00:00+08:00"),
            b.assigned("am-1", "s-1", time="2026-09-01T00:00:00+08:00"),
            b.assigned("am-2", "s-1", time="2026-09-01T00:00:00+08:00"),
            b.assigned("am-2", "s-2", time="2026-11-01T00:00:00+08:00"),
            b.assigned("am-1", "s-9", "p-2", time="2026-09-01T00:00:00+08:00"),
            b.usage("c-1", quantity="1", unit_price="12.34567891", time="2026-10-05T08:00:00+08:00"),
            b.usage("c-2", quantity="1", unit_price="0.999", time="2026-10-05T08:00:00+08:00"),
            b.usage("c-3", quantity="1", unit_price="0", time="2026-10-05T08:00:00+08:00"),
        ],
        now=OCT_20,
    )
    refused(folder, "no_policy", "incentives", "--partner", "p-1", "--period", "2026-10", now=OCT_20)
    (folder / "policy.json").write_text(json.dumps(POLICY))
    assert ok(folder, "incentives", "load", "policy.json", now=OCT_20) == {
        "policy_id": "2026Q4",
        "periods": ["2026-10", "2026-11", "2026-12"],
    }
    return folder


def incentive(folder: Path, *scope: str, partner: str = "p-1", period: str = "2026-10") -> dict:
    return ok(folder, "incentives", "--partner", partner, "--period", period, *scope, now=OCT_20)


def test_an_open_periods_incentive_is_estimated_with_values_of_their_views_types_and_rewards_truncated_each(
    incentive_store,
):
    report = incentive(incentive_store)
    assert report == {
        "partner_id": "p-1",
        "period": "2026-10",
        "policy_id": "2026Q4",
        "status": "estimated",
        "indicators": [
            {"name": "consumption", "statistic": "settled_amount", "value": "13.33"},  # 12.34 + 0.99
            {"name": "pay", "statistic": "payable_amount", "value": "13.34467891"},
            {"name": "consumers", "statistic": "consuming_customers", "value": 2},
            {"name": "new_enterprise", "statistic": "new_enterprise_customers", "value": 1},
        ],
        # stepped: 10 × 0.02 + 3.33 × 0.03 = 0.2999 → 0.29; whole: 13.34467891 × 0.011 = 0.1467… → 0.14;
        # one new enterprise customer × 10 = 10.00
        "rewards": [
            {"indicator": "consumption", "amount": "0.29"},
            {"indicator": "pay", "amount": "0.14"},
            {"indicator": "new_enterprise", "amount": "10.00"},
        ],
        "total": "10.43",
    }


def test_a_partner_without_charges_in_a_policy_period_shows_zeros(incentive_store):
    report = incentive(incentive_store, partner="p-9", period="2026-12")
    assert [i["value"] for i in report["indicators"]] == ["0.00", "0.00000000", 0, 0]
    assert report["total"] == "0.00" and report["status"] == "estimated"


def test_an_account_manager_scope_keeps_only_the_charges_and_associations_carrying_it(incentive_store):
    report = incentive(incentive_store, "--account-manager", "am-1")
    assert [i["value"] for i in report["indicators"]] == ["12.34", "12.34567891", 1, 0]
    # 10 × 0.02 + 2.34 × 0.03 = 0.2702 → 0.27; 12.34567891 × 0.011 = 0.1358… → 0.13
    assert [r["amount"] for r in report["rewards"]] == ["0.27", "0.13", "0.00"] and report["total"] == "0.40"


def test_a_supervisors_account_managers_are_those_whose_latest_assignment_before_the_periods_end_names_it(
    incentive_store,
):
    s1 = incentive(incentive_store, "--supervisor", "s-1")
    assert [i["value"] for i in s1["indicators"]] == ["13.33", "13.34467891", 2, 1]
    s2 = incentive(incentive_store, "--supervisor", "s-2")  # am-2 moves to s-2 only at the end
    assert [i["value"] for i in s2["indicators"]] == ["0.00", "0.00000000", 0, 0]
    s9 = incentive(incentive_store, "--supervisor", "s-9")  # an assignment under another partner
    assert s9["total"] == "0.00"
    usage_error(
        incentive_store,
        "incentives",
        "--partner",
        "p-1",
        "--period",
        "2026-10",
        "--supervisor",
        "s-1",
        "--account-manager",
        "am-1",
        now=OCT_20,
    )


def test_no_policy_for_the_period_exits_1(incentive_store):
    refused(incentive_store, "no_policy", "incentives", "--partner", "p-1", "--period", "2027-01", now=OCT_20)


def test_a_policy_loaded_again_with_equal_json_changes_nothing_and_other_content_is_id_conflict_before_overlap(
    tmp_path, incentive_store
):
    store = copy_of(incentive_store, tmp_path)
    reordered = dict(reversed(list(POLICY.items())))
    (store / "same.json").write_text(json.dumps(reordered, indent=4))
    assert ok(store, "incentives", "load", "same.json") == {
        "policy_id": "2026Q4",
        "periods": ["2026-10", "2026-11", "2026-12"],
    }
    changed = json.loads(json.dumps(POLICY))
    changed["rewards"][0]["tiers"][0]["rate"] = "0.020"  # equal as a number, not as a JSON value
    (store / "changed.json").write_text(json.dumps(changed))
    refused(store, "id_conflict", "incentives", "load", "changed.json")
    elsewhere = {**changed, "periods": ["2027-01"]}
    (store / "elsewhere.json").write_text(json.dumps(elsewhere))
    refused(store, "id_conflict", "incentives", "load", "elsewhere.json")
    overlapping = {**POLICY, "policy_id": "other", "periods": ["2026-12", "2027-01"]}
    (store / "overlap.json").write_text(json.dumps(overlapping))
    refused(store, "policy_overlap", "incentives", "load", "overlap.json")
    duplicate = {
        **POLICY,
        "policy_id": "2027",
        "periods": ["2027-02"],
        "rewards": [
            {
                "indicator": "consumption",
                "mode": "whole",
                "tiers": [{"from": "10", "rate": "0.1"}, {"from": "10.0", "rate": "0.2"}],
            }
        ],
    }
    (store / "duplicate.json").write_text(json.dumps(duplicate))
    result = billing(store, "incentives", "load", "duplicate.json")
    assert result.returncode == 1 and result.stderr.count(b"\n") == 1  # two tiers with the same `from` are refused
    refused(store, "no_policy", "incentives", "--partner", "p-1", "--period", "2027-02")


def _policy_with(**changes) -> dict:
    policy = json.loads(json.dumps(POLICY))
    policy["policy_id"], policy["periods"] = "bad", ["2027-03"]
    for path, value in changes.items():
        where, key = policy, path.split(".")
        for part in key[:-1]:
            where = where[int(part)] if part.isdigit() else where[part]
        where[int(key[-1]) if key[-1].isdigit() else key[-1]] = value
    return policy


@pytest.mark.parametrize(
    "policy",
    [
        _policy_with(**{"rewards.0.tiers.1.from": 10}),  # not a decimal string
        _policy_with(**{"rewards.0.tiers.1.rate": "3%"}),
        _policy_with(**{"indicators.0.statistic": "revenue"}),
        _policy_with(**{"rewards.0.mode": "linear"}),
        _policy_with(periods=["2027-3"]),
        _policy_with(**{"rewards.0.indicator": "nothing"}),
        "{",
        "[]",
    ],
)
def test_a_malformed_policy_file_is_a_usage_error(tmp_path, policy):
    (tmp_path / "policy.json").write_text(policy if isinstance(policy, str) else json.dumps(policy))
    usage_error(tmp_path, "incentives", "load", "policy.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.json"]
