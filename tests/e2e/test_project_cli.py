"""`billing project` folds the views in a process of its own, resuming from its position."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from commands.demo_data import generate_month
from testsupport.cli_runner import billing


def _billing(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return billing(cwd, *args, text=True, timeout=120, **env)


def _positions(db: Path) -> tuple[int, int]:
    with closing(sqlite3.connect(db)) as connection:
        (last,) = connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM stored_events").fetchone()
        row = connection.execute(
            "SELECT notification_id FROM tracking WHERE application_name='BillingLedger'"
        ).fetchone()
    return last, row[0] if row else 0


def test_separate_projection_catches_up_resumes_and_equals_inline_views(tmp_path):
    lines = list(generate_month(customers=30, seed=5, events=3000))
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"\n".join(lines[:1500]) + b"\n")
    second.write_bytes(b"\n".join(lines[1500:]) + b"\n")

    separate = {"BILLING_PROJECTIONS": "separate", "BILLING_STORE": "sqlite:///separate.db"}
    _billing(tmp_path, "ingest", str(first), **separate)
    last, folded = _positions(tmp_path / "separate.db")
    assert last > 0 and folded == 0, "ingest left the views to the projection process"

    assert _billing(tmp_path, "project", "--once", **separate).returncode == 0
    assert _positions(tmp_path / "separate.db") == (last, last)
    _billing(tmp_path, "ingest", str(second), **separate)
    assert _billing(tmp_path, "project", "--once", **separate).returncode == 0  # resumes from its position
    last, folded = _positions(tmp_path / "separate.db")
    assert folded == last

    inline = {"BILLING_STORE": "sqlite:///inline.db"}
    _billing(tmp_path, "ingest", str(first), str(second), **inline)
    for period in ("2026-10", "2026-11"):
        views = [
            _billing(tmp_path, "replay", "--period", period, "--json", **store).stdout for store in (separate, inline)
        ]
        digests = [view[view.index('"digest"') :] for view in views]
        assert digests[0] == digests[1]
        check = _billing(tmp_path, "replay", "--period", period, "--check", **separate)
        assert check.returncode == 0, check.stderr


def test_an_unknown_projections_setting_is_a_one_line_error(tmp_path):
    result = _billing(tmp_path, "ingest", "x.jsonl", BILLING_PROJECTIONS="sideways")
    assert result.returncode == 2
    assert "BILLING_PROJECTIONS" in result.stderr and "Traceback" not in result.stderr
