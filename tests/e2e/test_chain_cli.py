"""`billing log` and `billing verify` as an auditor runs them (CONTRACT.md §11): a real
subprocess on a store in a temporary folder, and a check of the chain written in a
few lines of plain Python from `billing log` alone."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import associated, jsonl, month_of_events, order_paid, usage
from testsupport.cli_runner import billing

# What an auditor writes: nothing of the engine's, only `billing log` output.
AUDITOR = r"""
import hashlib, json, sys

prev, position = "0" * 64, 0
for line in sys.stdin:
    entry = json.loads(line)
    body = {key: value for key, value in entry.items() if key != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    position += 1
    if (entry["position"], entry["prev_hash"]) != (position, prev) or \
            hashlib.sha256(canonical.encode("utf-8")).hexdigest() != entry["hash"]:
        sys.exit(f"broken at position {position}")
    prev = entry["hash"]
print(f"{position}:{prev}")
"""


def _billing(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    return billing(cwd, *args, text=True, timeout=120, **settings)


def _audit(log_output: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", AUDITOR], input=log_output, capture_output=True, text=True, timeout=60)


def _ingest(cwd: Path, events: list[dict]) -> None:
    result = _billing(cwd, "ingest", str(jsonl(cwd / "events.jsonl", events)))
    assert result.returncode == 0, result.stderr


@pytest.fixture
def logged(tmp_path) -> Path:
    _ingest(
        tmp_path,
        [
            associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00", data={"account_manager_id": "am-1"}),
            usage("c-1", id="u-1", quantity="3", unit_price="0.33333333"),
            order_paid("c-1", order_id="o-1", amount="12.5"),
            usage("c-2", id="u-2", quantity="1", unit_price="2"),
        ],
    )
    return tmp_path


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_log_prints_every_entry_as_json_lines_with_the_contract_fields(logged):
    result = _billing(logged, "log")
    assert result.returncode == 0, result.stderr
    entries = [json.loads(text) for text in result.stdout.splitlines()]
    assert [list(entry) for entry in entries] == [
        [
            "position",
            "recorded_at",
            "type",
            "source",
            "id",
            "customer_id",
            "time",
            "fact",
            "decision",
            "prev_hash",
            "hash",
        ]
    ] * 4
    assert [entry["position"] for entry in entries] == [1, 2, 3, 4]
    usage_entry = entries[1]
    assert usage_entry["type"] == "usage.recorded" and usage_entry["customer_id"] == "c-1"
    assert json.loads(usage_entry["fact"])["id"] == "u-1"
    assert usage_entry["decision"] == {
        "period": "2026-10",
        "partner_id": "p-1",
        "account_manager_id": "am-1",
        "indirect_partner_id": None,
        "rate": "1.00000000",
        "list_amount": "0.99999999",
        "discount_amount": "0.00000000",
        "payable_amount": "0.99999999",
        "settled_amount": "0.99",
        "rounding_off_amount": "0.00999999",
    }
    assert entries[0]["decision"] is None and entries[0]["prev_hash"] == "0" * 64


def test_an_auditor_checks_the_chain_from_the_log_alone_and_gets_the_head(logged):
    audit = _audit(_billing(logged, "log").stdout)
    assert audit.returncode == 0, audit.stderr
    head = json.loads(_billing(logged, "log", "--head").stdout)
    assert list(head) == ["position", "hash"]
    assert audit.stdout.strip() == f"{head['position']}:{head['hash']}"


def test_an_edited_event_is_caught_by_the_auditor_and_by_verify(logged):
    with sqlite3.connect(logged / "billing.db") as db:
        (state,) = db.execute("SELECT state FROM stored_events WHERE rowid=3").fetchone()
        db.execute("UPDATE stored_events SET state=? WHERE rowid=3", (state.replace(b'"o-1"', b'"o-2"', 1),))
    assert _audit(_billing(logged, "log").stdout).stderr.strip() == "broken at position 3"
    result = _billing(logged, "verify")
    assert result.returncode == 1
    assert _one_line_error(result) == ("billing: the chain is broken at position 3: the entry does not match its hash")


def test_log_ranges_are_inclusive_and_head_stands_alone(logged):
    whole = _billing(logged, "log").stdout.splitlines()
    assert _billing(logged, "log", "--from", "2", "--to", "3").stdout.splitlines() == whole[1:3]
    assert _billing(logged, "log", "--from", "4").stdout.splitlines() == whole[3:]
    assert _billing(logged, "log", "--to", "1").stdout.splitlines() == whole[:1]
    assert _billing(logged, "log", "--from", "9").stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["log", "--head", "--from", "1"],
        ["log", "--head", "--to", "2"],
        ["log", "--from", "0"],
        ["log", "--from", "x"],
        ["log", "--from", "3", "--to", "2"],
        ["verify", "--head", "3"],
        ["verify", "--head", "3:ABC"],
    ],
)
def test_malformed_options_are_usage_errors(logged, args):
    result = _billing(logged, *args)
    assert result.returncode == 2
    assert _one_line_error(result).startswith("billing: usage:")


def test_verify_says_the_store_is_whole_and_checks_a_held_head(logged):
    result = _billing(logged, "verify")
    assert result.returncode == 0, result.stderr
    head = json.loads(_billing(logged, "log", "--head").stdout)
    assert f"head {head['position']}:{head['hash']}" in result.stdout
    report = json.loads(_billing(logged, "verify", "--json", "--head", f"{head['position']}:{head['hash']}").stdout)
    assert report["verified"] is True and report["head"] == head
    unknown = _billing(logged, "verify", "--head", f"2:{head['hash']}")
    assert unknown.returncode == 1
    assert "the head 2:" in _one_line_error(unknown) and "is not in the chain" in unknown.stderr


def test_read_commands_on_a_store_that_does_not_exist_exit_2(tmp_path):
    for args in (["log"], ["log", "--head"], ["verify"]):
        result = _billing(tmp_path, *args)
        assert result.returncode == 2
        assert "no store" in _one_line_error(result)
    assert not (tmp_path / "billing.db").exists()


def test_a_store_with_pages_overwritten_mid_file_is_exit_2_in_one_line(tmp_path):
    _ingest(tmp_path, month_of_events(customers=40, usage_per_customer=20))
    store = tmp_path / "billing.db"
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
    size = store.stat().st_size
    assert size > 20 * page_size
    with open(store, "r+b") as file:
        for page in range(size // page_size // 3, size // page_size // 3 + 4):
            file.seek(page * page_size)
            file.write(bytes([0xA5]) * page_size)
    result = _billing(tmp_path, "verify")
    assert result.returncode == 2, (result.stdout[-300:], result.stderr)
    assert _one_line_error(result).startswith("billing: the store is damaged: ")
    log = _billing(tmp_path, "log")  # reads what it needs: damage it meets is exit 2 too
    assert log.returncode in (0, 2) and "Traceback" not in log.stderr
    if log.returncode == 2:
        assert _one_line_error(log).startswith("billing: the store is damaged: ")
