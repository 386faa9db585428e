"""`python -m bench --scale-out` on a small log, end to end: its own PostgreSQL and Tansu,
1, 2 and 3 `billing serve` workers; every run recorded exactly what the generator put in,
every worker reported its lock share (0..1), and every server is gone afterwards. No
timing is asserted."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300


def run_scale_out(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "scale-out.json"
    argv = ["--scale-out", "--events", "2000", "--customers", "40", "--workdir", str(tmp_path), "--out", str(out)]
    finished = subprocess.run(
        [sys.executable, "-m", "bench", *argv, *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    return finished, out


def _closed(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return False
    except OSError:
        return True


def _is_share(value) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0


@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.timeout(TIMEOUT_SECONDS + 30)
def test_the_scale_out_bench_runs_one_to_three_workers_that_record_everything_and_report_their_lock_shares(tmp_path):
    finished, out = run_scale_out(tmp_path)

    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads(out.read_text())
    log = results["log"]
    assert results["published"] == log["lines"] == 2000 and results["partitions"] == 6
    assert [run["workers"] for run in results["runs"]] == [1, 2, 3]
    for run in results["runs"]:
        assert run["recorded_messages"] == log["lines"]
        assert (run["stored_events"], run["rejections"]) == (log["expected_accepted"], log["bad_lines"])
        assert len(run["per_worker"]) == run["workers"]
        assert sum(worker["lines"] for worker in run["per_worker"]) >= log["lines"]
        for worker in run["per_worker"]:
            assert worker["exit_status"] == 0 and _is_share(worker["lock_held_share"])
        assert _is_share(run["lock_held_share_mean"]) and _is_share(run["lock_held_share_pooled"])
        assert run["events_per_s"] > 0 and 0 < run["recorded_after_s"] < TIMEOUT_SECONDS
        assert run["lock_wait_seconds_sampled"] >= 0 and "lock_held_share_excluding_wait" in run
        assert run["workers_cpu_seconds"] > 0 and run["postgres_cpu_seconds"] > 0
    three = results["runs"][2]
    assert results["lock_held_share"] == three["lock_held_share_mean"]
    assert results["headline"]["lock_held_share_workers"] == 3
    assert results["runs"][0]["speed_up"] == 1.0 and results["runs"][2]["speed_up"] > 0
    assert results["raw_consume"]["messages"] == log["lines"]
    raw = results["raw_insert"]
    assert raw["rows"] == log["expected_accepted"] and raw["rows_per_s"] > 0 and raw["executemany_rows_per_s"] > 0
    assert not [note for note in results["notes"] if note.startswith("ODD")]
    assert "lock_held_share" in finished.stdout and "yardstick: raw consume" in finished.stdout
    # the servers started for the run were stopped with it
    assert _closed(results["broker"]["bootstrap"]) and _closed(results["postgres"]["address"])


@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.timeout(TIMEOUT_SECONDS + 30)
def test_a_run_that_outlasts_its_timeout_fails_saying_so_and_stops_every_server(tmp_path):
    finished, out = run_scale_out(tmp_path, "--workers", "1", "--timeout", "0.5")

    assert finished.returncode == 1, finished.stderr[-3000:]
    assert "messages within the run's timeout (0.5 s, --timeout)" in finished.stderr
    assert "Traceback" not in finished.stderr and not out.exists()
    servers = re.search(r"Tansu at (\S+), PostgreSQL at (\S+)", finished.stderr)
    assert _closed(servers[1]) and _closed(servers[2])
    (worker,) = re.findall(r"worker 1 \(pid (\d+)\)", finished.stderr)
    with pytest.raises(ProcessLookupError):
        os.kill(int(worker), 0)
