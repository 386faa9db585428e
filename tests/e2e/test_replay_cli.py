"""`billing replay` as an auditor runs it: a subprocess on a store in a temporary folder."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.builders import associated, jsonl, order_paid, usage
from testsupport.cli_runner import billing


def _billing(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return billing(cwd, *args, text=True)


def _write(path: Path, events: list[dict]) -> str:
    return str(jsonl(path, events))


def test_as_of_a_moment_between_two_ingests_reproduces_the_first_state_digest_included(tmp_path):
    first = _write(
        tmp_path / "first.jsonl",
        [
            associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00"),
            usage("c-1", quantity="3", unit_price="0.33333333", time="2026-10-05T00:00:00+08:00"),
        ],
    )
    second = _write(
        tmp_path / "second.jsonl",
        [
            order_paid("c-1", order_id="o-9", amount="12.34567891", time="2026-10-06T00:00:00+08:00"),
            usage("c-2", quantity="1", unit_price="5", time="2026-10-07T00:00:00+08:00"),
        ],
    )
    assert _billing(tmp_path, "ingest", first).returncode == 0
    first_state = json.loads(_billing(tmp_path, "replay", "--period", "2026-10", "--json").stdout)
    time.sleep(0.01)  # a gap in recorded time between the two ingests
    between = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    assert _billing(tmp_path, "ingest", second).returncode == 0

    at_between = json.loads(_billing(tmp_path, "replay", "--period", "2026-10", "--as-of", between, "--json").stdout)
    now = json.loads(_billing(tmp_path, "replay", "--period", "2026-10", "--json").stdout)
    for key in ("bills", "customers", "performance", "digest"):
        assert at_between[key] == first_state[key]
    assert now["digest"] != first_state["digest"]
    assert [b["customer_id"] for b in now["bills"]] == ["c-1", "c-2"]
    assert set(now) == {"period", "as_of", "bills", "customers", "performance", "digest"}
    assert now["digest"] == _digest_as_the_readme_says(now)


def _digest_as_the_readme_says(output: dict) -> str:
    import hashlib

    content = {key: output[key] for key in ("period", "bills", "customers", "performance")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_check_passes_on_a_consistent_store_and_fails_naming_the_record_after_tampering(tmp_path):
    events = _write(
        tmp_path / "e.jsonl",
        [
            associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00"),
            usage("c-1", quantity="2", unit_price="0.12345678", time="2026-10-05T00:00:00+08:00"),
        ],
    )
    _billing(tmp_path, "ingest", events)
    ok = _billing(tmp_path, "replay", "--period", "2026-10", "--check")
    assert ok.returncode == 0, ok.stderr
    assert "digest: sha256:" in ok.stdout

    import sqlite3

    with sqlite3.connect(tmp_path / "billing.db") as connection:
        connection.execute("UPDATE view_partner_charges SET sums='0,0,1,0'")
    bad = _billing(tmp_path, "replay", "--period", "2026-10", "--check")
    assert bad.returncode == 1
    assert "customer counts of p-1 (2026-10) differs" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_replay_of_a_store_that_does_not_exist_exits_2_without_creating_it(tmp_path):
    result = _billing(tmp_path, "replay", "--period", "2026-10")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "billing.db").exists()


def test_a_bad_as_of_is_a_usage_error(tmp_path):
    _write(tmp_path / "e.jsonl", [usage("c-1")])
    _billing(tmp_path, "ingest", str(tmp_path / "e.jsonl"))
    result = _billing(tmp_path, "replay", "--period", "2026-10", "--as-of", "yesterday")
    assert result.returncode == 2
    assert "--as-of" in result.stderr
