"""`python -m bench` on a small log: every figure is there and positive, and the ingest
counted exactly what the generator put in. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300
NAIVE_FIGURES = {"naive_events_per_s", "ingest_vs_naive"}
FIGURES = {
    "raw_rows_per_s", "raw_line_rows_per_s", "raw_batched_rows_per_s", "ingest_vs_raw_batched", "ingest_events_per_s", "ingest_seconds", "ingest_vs_raw",
    "ingest_vs_raw_lines", "ingest_peak_rss_mib", "replay_events_per_s", "replay_seconds",
    "replay_seconds_per_million", "replay_peak_rss_mib", "cli_startup_seconds",
} | NAIVE_FIGURES


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_SECONDS + 30)
def test_the_benchmark_measures_every_figure_and_ingests_exactly_what_was_generated(tmp_path):
    out = tmp_path / "r.json"

    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--events", "3000", "--customers", "50", "--skip-naive",
         "--workdir", str(tmp_path), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )

    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads(out.read_text())
    figures = results["figures"]
    assert set(figures) == FIGURES
    for name, measured in figures.items():
        if name in NAIVE_FIGURES:
            assert measured["value"] is None and measured["met"] is None
        else:
            assert measured["value"] > 0, name
    assert results["naive"] == {"skipped": True}
    # Not a speed check: a duration longer than the whole run can only be a wrong clock.
    engine_rows = results["raw"]["engine_rows"]
    for seconds in [*engine_rows["runs_seconds"], engine_rows["batched_seconds"], *results["raw"]["line_rows"]["runs_seconds"]]:
        assert 0 < seconds < TIMEOUT_SECONDS

    log, ingest = results["log"], results["ingest"]
    assert log["lines"] == 3000 and log["duplicates"] >= 1 and log["bad_lines"] >= 1
    assert ingest["accepted"] == log["lines"] - log["duplicates"] - log["bad_lines"]
    assert (ingest["duplicates"], ingest["rejected"]) == (log["duplicates"], log["bad_lines"])
    assert ingest["stored_events"] == ingest["accepted"]
    assert results["replay"]["digest"].startswith("sha256:") and results["replay"]["bills"] > 0
    assert results["kafka"] == "not measured (no broker given)"
    for key in ("cores", "python", "sqlite"):
        assert results["machine"][key]
    assert "billing ingest" in finished.stdout and "ingest / raw" in finished.stdout


def test_a_log_is_generated_once_and_reused(tmp_path):
    from bench.log import event_log

    first = event_log(tmp_path, 500, 10, 3, "2026-11")
    written = Path(first.path).stat().st_mtime_ns

    again = event_log(tmp_path, 500, 10, 3, "2026-11")

    assert again == first and Path(again.path).stat().st_mtime_ns == written
    assert first.lines == sum(1 for _ in open(first.path, "rb"))
