"""Corrections (CONTRACT.md §11) through `billing ingest` as a user runs it; the figures
are worked out by hand from the contract."""

from __future__ import annotations

import json
from pathlib import Path

from tests import builders as b
from testsupport.cli_runner import billing, loads

AM = {"account_manager_id": "m-1"}
U1 = b.usage(
    "c-1",
    id="u-1",
    source="metering/ecs",
    quantity="2",
    unit_price="0.12345678",
    resource_id="i-1",
    time="2026-10-05T10:00:00+08:00",
)
U2 = b.usage(
    "c-1",
    id="u-2",
    source="metering/ecs",
    quantity="10",
    unit_price="1.5",
    resource_id="i-2",
    time="2026-10-06T10:00:00+08:00",
)
ORDER = b.order_paid(
    "c-1",
    id="op-1",
    source="billing/orders",
    order_id="o-1",
    amount="100.00",
    product_id="pkg-1",
    time="2026-10-07T10:00:00+08:00",
)
REFUND = b.order_refunded(
    "c-1", id="or-1", source="billing/orders", order_id="o-1", amount="40.00", time="2026-10-08T10:00:00+08:00"
)
HISTORY = [
    b.associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00", data=AM),
    b.discount_granted("c-1", rate="0.85", valid_from="2026-10-01T00:00:00+08:00"),
    U1,
    U2,
    ORDER,
    REFUND,
]
CORRECTIONS = [
    b.amended(U1, id="fix-1", quantity="3", unit_price="0.12345678", time="2026-11-02T09:00:00+08:00"),
    b.voided(U2, id="fix-2", time="2026-11-02T09:00:00+08:00"),
    b.voided(REFUND, id="fix-3"),
    b.voided(ORDER, id="fix-4"),
    b.voided(("metering/ecs", "u-404"), "c-1", id="bad-1"),  # unknown_event: never recorded
    b.voided(U2, id="bad-2"),  # already_voided
    b.amended(ORDER, id="bad-3"),  # unknown_event: not a usage
]


def write(path: Path, events: list[dict]) -> str:
    return str(b.jsonl(path, events))


def test_corrections_through_billing_ingest_change_bills_performance_and_keep_their_rejections(tmp_path):
    history, corrections = write(tmp_path / "history.jsonl", HISTORY), write(tmp_path / "fix.jsonl", CORRECTIONS)
    assert billing(tmp_path, "ingest", history).returncode == 0

    result = billing(tmp_path, "ingest", "--json", corrections)
    assert result.returncode == 1  # some inputs rejected
    assert loads(result) == {"accepted": 4, "duplicates": 0, "rejected": 3}

    [bill] = loads(billing(tmp_path, "bills", "--period", "2026-10", "--json"))["bills"]
    # i-1: 2 × 0.12345678 reversed, 3 × 0.12345678 = 0.37037034 at 0.85 → 0.314814789 → 0.31481479
    shown = ("item_id", "list_amount", "payable_amount", "settled_amount", "charges")
    assert [tuple(line[key] for key in shown) for line in bill["lines"]] == [
        ("i-1", "0.37037034", "0.31481479", "0.31", 3),
        ("i-2", "0.00000000", "0.00000000", "0.00", 2),
        ("pkg-1", "0.00000000", "0.00000000", "0.00", 4),
    ]
    assert (bill["list_amount"], bill["discount_amount"]) == ("0.37037034", "0.05555555")
    assert bill["payable_amount"] == "0.31481479"
    assert (bill["settled_amount"], bill["rounding_off_amount"], bill["charges"]) == ("0.31", "0.00481479", 9)
    assert loads(billing(tmp_path, "bills", "--period", "2026-11", "--json"))["bills"] == []  # the usages' period

    tally = loads(billing(tmp_path, "performance", "--partner", "p-1", "--period", "2026-10", "--json"))
    assert (tally["payable_amount"], tally["settled_amount"], tally["customers"]) == ("0.31481479", "0.31", 1)
    assert tally["by_account_manager"] == [
        {"account_manager_id": "m-1", "payable_amount": "0.31481479", "settled_amount": "0.31", "customers": 1}
    ]
    counts = loads(billing(tmp_path, "customers", "--partner", "p-1", "--period", "2026-10", "--json"))
    assert counts["consuming_customers"] == 1

    kept = loads(billing(tmp_path, "rejected", "--json"))["rejected"]
    assert [(r["id"], r["type"], r["reason"]) for r in kept] == [
        ("bad-1", "charge.voided", "unknown_event"),
        ("bad-2", "charge.voided", "already_voided"),
        ("bad-3", "usage.amended", "unknown_event"),
    ]
    assert all(r["message"].startswith("data.event_id: ") for r in kept)
    only = loads(billing(tmp_path, "rejected", "--reason", "already_voided", "--json"))["rejected"]
    assert [r["id"] for r in only] == ["bad-2"]

    check = billing(tmp_path, "replay", "--period", "2026-10", "--check")
    assert check.returncode == 0, check.stderr


def test_corrections_sent_again_are_duplicates_and_a_refused_one_is_accepted_on_retry(tmp_path):
    assert billing(tmp_path, "ingest", write(tmp_path / "early.jsonl", [b.voided(U1, id="v-1")])).returncode == 1
    assert billing(tmp_path, "ingest", write(tmp_path / "history.jsonl", HISTORY)).returncode == 0

    retried = billing(tmp_path, "rejected", "--retry", "--json")
    assert (retried.returncode, loads(retried)) == (0, {"accepted": 1, "duplicates": 0, "rejected": 0})
    again = billing(tmp_path, "ingest", "--json", "-", stdin=b.line(b.voided(U1, id="v-1")) + b"\n")
    assert loads(again) == {"accepted": 0, "duplicates": 1, "rejected": 0}

    [bill] = loads(billing(tmp_path, "bills", "--period", "2026-10", "--customer", "c-1", "--json"))["bills"]
    [i1] = [line for line in bill["lines"] if line["item_id"] == "i-1"]
    assert (i1["list_amount"], i1["charges"]) == ("0.00000000", 2)
    [kept] = loads(billing(tmp_path, "rejected", "--json"))["rejected"]
    assert kept["reason"] == "unknown_event" and kept["accepted"] is not None
    assert json.loads(kept["raw"])["data"]["event_id"] == "u-1"
