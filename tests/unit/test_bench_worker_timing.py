"""The bench reads each worker's batch timing from the one line `billing serve` logs at
a clean stop (bench/worker_timing.py against commands/serve_service.py)."""

from __future__ import annotations

import logging

import pytest

from bench.worker_timing import TimingLineError, WorkerTiming, pooled, worker_timing
from commands.serve_logging import FORMAT
from commands.serve_service import timing_json
from engine.batch_timing import BatchTiming


def _logged(timing: BatchTiming) -> bytes:
    """The stop line exactly as serve's handler formats it."""
    record = logging.LogRecord(
        "billing.serve",
        logging.INFO,
        __file__,
        1,
        "recorded %s; as JSON %s",
        (timing.summary(), timing_json(timing)),
        None,
    )
    return (logging.Formatter(FORMAT).format(record) + "\n").encode()


def test_the_line_serve_logs_at_its_stop_reads_back_as_the_workers_own_figures():
    timing = BatchTiming(
        batches=41, lines=200_000, batch_seconds=47.25, lock_held_seconds=14.5, lock_wait_seconds=20.0, conflicts=2
    )
    log = b"2026-11-30 10:00:00,000 billing.serve INFO batch of 5000: accepted 4990\n" + _logged(timing)

    read = worker_timing(log)

    assert read == WorkerTiming(41, 200_000, 47.25, 14.5, 2, timing.lock_held_share, 20.0)
    assert read.lock_held_share == pytest.approx(14.5 / 47.25)


def test_a_worker_that_recorded_nothing_reads_as_zero_batches_and_share_zero():
    read = worker_timing(_logged(BatchTiming()))

    assert (read.batches, read.lines, read.lock_held_share) == (0, 0, 0.0)


def test_the_last_stop_line_counts_when_a_log_holds_two_runs():
    log = _logged(BatchTiming(batches=1, lines=10, batch_seconds=1.0, lock_held_seconds=1.0)) + _logged(
        BatchTiming(batches=2, lines=20, batch_seconds=2.0, lock_held_seconds=0.5)
    )

    assert worker_timing(log).lines == 20


def test_a_workers_own_lock_waiting_is_read_when_it_reports_it_and_unknown_fields_are_ignored():
    line = (
        b"x billing.serve INFO recorded 1 batches; as JSON "
        b'{"batches":1,"lines":5,"batch_seconds":1.0,"lock_held_seconds":0.1,"conflicts":0,'
        b'"lock_held_share":0.1,"lock_wait_seconds":0.3,"something_new":[1,2]}\n'
    )

    read = worker_timing(line)

    assert (read.lock_held_seconds, read.lock_wait_seconds) == (0.1, 0.3)


def test_a_worker_of_a_version_that_did_not_count_its_lock_waiting_reads_as_unknown_waiting():
    line = (
        b"x billing.serve INFO recorded 1 batches; as JSON "
        b'{"batches":1,"lines":5,"batch_seconds":1.0,"lock_held_seconds":0.1,"conflicts":0,"lock_held_share":0.1}\n'
    )

    assert worker_timing(line).lock_wait_seconds is None


@pytest.mark.parametrize(
    ("log", "says"),
    [
        (b"2026-11-30 billing.serve INFO recorded 3 batches of 9 lines (share 0.5)\n", "no 'billing.serve"),
        (b"x billing.serve INFO recorded y; as JSON {not json}\n", "unusable"),
        (b'x billing.serve INFO recorded y; as JSON {"batches":1}\n', "unusable"),
        (
            b'x billing.serve INFO recorded y; as JSON {"batches":1,"lines":1,"batch_seconds":1.0,'
            b'"lock_held_seconds":2.0,"conflicts":0,"lock_held_share":2.0}\n',
            "outside 0..1",
        ),
        (b"", "no 'billing.serve"),
    ],
)
def test_a_log_without_a_usable_timing_line_is_refused_saying_why(log, says):
    with pytest.raises(TimingLineError, match=says):
        worker_timing(log)


def test_a_runs_mean_share_leaves_out_idle_workers_and_the_pooled_share_weighs_batch_time():
    busy_long = WorkerTiming(10, 1000, 30.0, 27.0, 1, 0.9)
    busy_short = WorkerTiming(5, 500, 10.0, 5.0, 0, 0.5)
    idle = WorkerTiming(0, 0, 0.0, 0.0, 0, 0.0)

    figures = pooled([busy_long, busy_short, idle])

    assert figures["lock_held_share_mean"] == pytest.approx(0.7)
    assert figures["lock_held_share_pooled"] == pytest.approx(32.0 / 40.0)
    assert (figures["lines"], figures["conflicts"], figures["idle_workers"]) == (1500, 1, 1)


def test_a_run_whose_workers_all_idled_has_no_share():
    figures = pooled([WorkerTiming(0, 0, 0.0, 0.0, 0, 0.0)])

    assert figures["lock_held_share_mean"] is None and figures["lock_held_share_pooled"] is None
