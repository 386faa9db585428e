"""`python -m bench` on a small log: every figure is there and positive, and the ingest
(and, with `--kafka tansu`, `billing serve`) counted exactly what the generator put in.
No timing is asserted."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300
NAIVE_FIGURES = {"naive_events_per_s", "ingest_vs_naive"}
KAFKA_FIGURES = {
    "kafka_publish_msgs_per_s",
    "kafka_raw_consume_msgs_per_s",
    "serve_events_per_s",
    "serve_events_per_s_after_join",
    "serve_vs_raw_consume",
    "serve_vs_raw_consume_after_join",
    "serve_after_join_vs_ingest",
    "serve_one_process_events_per_s_after_join",
    "serve_vs_serve_one_process",
    "serve_peak_rss_mib",
    "serve_peaks_summed_mib",
}
FIGURES = (
    {
        "raw_rows_per_s",
        "raw_line_rows_per_s",
        "raw_batched_rows_per_s",
        "ingest_vs_raw_batched",
        "ingest_events_per_s",
        "ingest_seconds",
        "ingest_vs_raw",
        "ingest_vs_raw_lines",
        "ingest_peak_rss_mib",
        "ingest_peak_rss_both_mib",
        "ingest_one_process_events_per_s",
        "ingest_one_process_seconds",
        "ingest_vs_one_process",
        "replay_events_per_s",
        "replay_seconds",
        "replay_seconds_per_million",
        "replay_peak_rss_mib",
        "cli_startup_seconds",
        "close_seconds",
        "close_peak_rss_mib",
    }
    | NAIVE_FIGURES
    | KAFKA_FIGURES
)


def run_bench(tmp_path: Path, events: int, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "r.json"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--events",
            str(events),
            "--customers",
            "50",
            "--skip-naive",
            "--workdir",
            str(tmp_path),
            "--out",
            str(out),
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished, json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_SECONDS + 30)
def test_the_benchmark_measures_every_figure_and_ingests_exactly_what_was_generated(tmp_path):
    finished, results = run_bench(tmp_path, 3000)

    figures = results["figures"]
    assert set(figures) == FIGURES
    for name, measured in figures.items():
        if name in NAIVE_FIGURES | KAFKA_FIGURES:
            assert measured["value"] is None and measured["met"] is None
        else:
            assert measured["value"] > 0, name
    assert results["naive"] == {"skipped": True}
    # Not a speed check: a duration longer than the whole run can only be a wrong clock.
    engine_rows = results["raw"]["engine_rows"]
    for seconds in [
        *engine_rows["runs_seconds"],
        engine_rows["batched_seconds"],
        *results["raw"]["line_rows"]["runs_seconds"],
    ]:
        assert 0 < seconds < TIMEOUT_SECONDS

    log, ingest = results["log"], results["ingest"]
    assert log["lines"] == 3000 and log["duplicates"] >= 1 and log["bad_lines"] >= 1
    assert ingest["accepted"] == log["lines"] - log["duplicates"] - log["bad_lines"]
    assert (ingest["duplicates"], ingest["rejected"]) == (log["duplicates"], log["bad_lines"])
    assert ingest["stored_events"] == ingest["accepted"]
    assert results["replay"]["digest"].startswith("sha256:") and results["replay"]["bills"] > 0
    assert results["close"]["statements"] >= 1
    assert results["close"]["total_payable_amount"] == results["replay"]["performance_payable_amount"]
    assert not [note for note in results["notes"] if note.startswith("ODD")]
    assert results["kafka"] == {"skipped": True}
    for key in ("cores", "python", "sqlite"):
        assert results["machine"][key]
    assert "billing ingest" in finished.stdout and "ingest / raw" in finished.stdout


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_SECONDS + 30)
def test_with_tansu_the_benchmark_measures_the_kafka_figures_and_serve_records_exactly_the_log(tmp_path):
    finished, results = run_bench(tmp_path, 2000, "--kafka", "tansu")

    figures = results["figures"]
    assert set(figures) == FIGURES
    for name in KAFKA_FIGURES:
        assert figures[name]["value"] > 0, name
    assert figures["serve_vs_raw_consume"]["met"] is not None
    log, kafka = results["log"], results["kafka"]
    assert (kafka["topic"], kafka["partitions"], kafka["published"]) == ("billing.events", 6, log["lines"])
    assert kafka["raw_consume"]["messages"] == log["lines"] == sum(kafka["raw_consume"]["highwater"].values())
    serve = kafka["serve"]
    assert serve["exit_status"] == 0 and serve["counts_match_generator"]
    assert serve["logged"]["accepted"] == serve["stored_events"] == log["expected_accepted"]
    assert (serve["logged"]["duplicates"], serve["rejections"]) == (log["duplicates"], log["bad_lines"])
    assert serve["recorded_messages"] == log["lines"]
    assert 0 < serve["assigned_after_s"] < serve["recorded_after_s"] < TIMEOUT_SECONDS
    one_process = kafka["serve_one_process"]
    assert one_process["exit_status"] == 0 and one_process["counts_match_generator"]
    assert one_process["recorded_messages"] == log["lines"]
    assert serve["peak_rss_bytes_with_children"] > serve["peak_rss_bytes"], "serve's decider counted"
    assert serve["tree_peak_rss_bytes_sampled"] > serve["peak_rss_bytes"] / 2
    assert not [note for note in results["notes"] if note.startswith("ODD")]
    assert "billing serve" in finished.stdout and "raw consume" in finished.stdout
    assert not (tmp_path / "bench-serve.db").exists()
    # the broker started for the run was stopped with it
    with pytest.raises(OSError), socket.create_connection(_address(kafka["broker"]["bootstrap"]), timeout=2):
        pass


def _address(bootstrap: str) -> tuple[str, int]:
    host, port = bootstrap.rsplit(":", 1)
    return host, int(port)


def test_a_log_is_generated_once_and_reused(tmp_path):
    from bench.log import event_log

    first = event_log(tmp_path, 500, 10, 3, "2026-11")
    written = Path(first.path).stat().st_mtime_ns

    again = event_log(tmp_path, 500, 10, 3, "2026-11")

    assert again == first and Path(again.path).stat().st_mtime_ns == written
    assert first.lines == sum(1 for _ in open(first.path, "rb"))
