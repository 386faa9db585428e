"""`billing` among other processes, each as a real subprocess: named pipes, gzip input,
a reader that goes away, Ctrl-C, and a broker that is not there."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from commands.demo_data import generate_month
from tests import builders as b
from tests.builders import jsonl
from tests.e2e.test_cli import counts_json
from testsupport.cli_runner import BILLING, assert_usage_failure, billing, clean_env, out


def _month(path: Path, customers: int, events: int) -> Path:
    path.write_bytes(b"\n".join(generate_month(customers=customers, seed=5, events=events)) + b"\n")
    return path


def test_a_named_pipe_is_read_to_its_end_every_time(tmp_path):
    source = jsonl(tmp_path / "in.jsonl", [b.usage("c-1", id=f"u-{n}") for n in range(50)])
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    for attempt in range(5):
        writer = subprocess.Popen(f"cat {source} > {fifo}", shell=True)
        try:
            result = billing(tmp_path, "ingest", str(fifo), "--json")
        finally:
            writer.wait(timeout=10)
        expected = counts_json(50, 0, 0) if attempt == 0 else counts_json(0, 50, 0)
        assert (result.returncode, out(result)) == (0, expected), (attempt, result.stderr)


def test_gzip_input_is_read_as_its_lines_and_a_broken_one_is_one_line(tmp_path):
    lines = b"".join(b.line(b.usage("c-1", id=f"u-{n}")) + b"\n" for n in range(30))
    (tmp_path / "in.jsonl.gz").write_bytes(gzip.compress(lines))
    assert out(billing(tmp_path, "ingest", "in.jsonl.gz", "--json")) == counts_json(30, 0, 0)
    assert out(billing(tmp_path, "ingest", "-", "--json", stdin=gzip.compress(lines))) == counts_json(0, 30, 0)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(lines)[:40])
    assert_usage_failure(billing(tmp_path, "ingest", "cut.gz"), "cut.gz", "gzip")


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    _month(tmp_path / "month.jsonl", customers=200, events=4000)
    assert billing(tmp_path, "ingest", "month.jsonl").returncode in (0, 1)
    # The bills' table is far larger than a pipe holds: the write meets a closed pipe.
    shown = subprocess.run(
        f"set -o pipefail; {BILLING} bills --period 2026-10 | head -1",
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        timeout=60,
    )
    assert shown.stdout.count(b"\n") == 1
    assert shown.stderr == b""
    assert shown.returncode == 141  # 128 + SIGPIPE, as `yes | head -1` ends


def test_ctrl_c_during_an_ingest_exits_130_saying_what_was_committed(tmp_path):
    _month(tmp_path / "month.jsonl", customers=300, events=200_000)
    ingest = subprocess.Popen(
        [str(BILLING), "ingest", "month.jsonl", "--batch-size", "2000"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _stored(tmp_path / "billing.db") == 0:
        time.sleep(0.05)
    ingest.send_signal(signal.SIGINT)
    stdout, stderr = ingest.communicate(timeout=60)
    assert ingest.returncode == 130, stderr
    assert stdout == b""
    line = stderr.decode()
    assert line.count("\n") == 1 and "Traceback" not in line, line
    assert "interrupted; committed before it:" in line
    # What it says was committed is what the store holds: whole batches, nothing of the one cut.
    accepted = int(re.search(r"accepted ([\d,]+)", line).group(1).replace(",", ""))
    assert accepted == _stored(tmp_path / "billing.db") > 0


def _stored(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.parametrize(
    "command", [["serve"], ["topics", "create"], ["publish", "in.jsonl"], ["lag"]], ids=lambda c: c[0]
)
def test_without_a_broker_kafka_commands_exit_2_in_one_line_within_seconds(tmp_path, command):
    jsonl(tmp_path / "in.jsonl", [b.usage("c-1", id="u-1")])
    started = time.monotonic()
    result = billing(tmp_path, *command, BILLING_KAFKA="127.0.0.1:1")
    assert time.monotonic() - started < 10
    assert_usage_failure(result, "cannot reach Kafka at 127.0.0.1:1")
    assert "\x1b[" not in result.stderr.decode()  # no colour codes where no terminal reads


def test_a_read_during_a_long_ingest_answers_before_the_ingest_ends(tmp_path):
    _month(tmp_path / "month.jsonl", customers=300, events=300_000)
    ingest = subprocess.Popen(
        [str(BILLING), "ingest", "month.jsonl", "--batch-size", "5000"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _stored(tmp_path / "billing.db") == 0:
            time.sleep(0.05)
        started = time.monotonic()
        read = billing(tmp_path, "bills", "--period", "2026-10", "--json")
        elapsed = time.monotonic() - started
        assert read.returncode == 0, read.stderr
        assert ingest.poll() is None, "the ingest went on while the read answered"
        assert json.loads(read.stdout)["bills"], "committed batches are answered from"
        assert elapsed < 10, f"the read took {elapsed:.1f} s"
    finally:
        ingest.send_signal(signal.SIGINT)
        ingest.communicate(timeout=60)
