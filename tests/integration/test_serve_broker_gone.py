"""`billing serve` whose broker goes away while it runs: it waits for it, backing off,
with a quiet log (it logged about ten ERROR lines a second)."""

from __future__ import annotations

import logging
import time

import pytest

from commands.serve_logging import RepeatLimit
from testsupport.serve_harness import billing_env, run_billing, start_serve, stop, wait_until
from testsupport.tansu import running_tansu

QUIET_SECONDS = 12


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_serve_with_its_broker_gone_logs_a_few_lines_not_ten_a_second(tmp_path):
    log = tmp_path / "serve.log"
    with running_tansu(tmp_path / "broker") as broker:
        env = billing_env(tmp_path / "served.db", broker.bootstrap)
        assert run_billing(env, "topics", "create", "--partitions", "2").returncode == 0
        serve = start_serve(env, log)
        wait_until(lambda: "continuing at" in log.read_text(), 60, "the group joined", log)
        before = len(log.read_text().splitlines())
    try:
        time.sleep(QUIET_SECONDS)
        while_gone = log.read_text().splitlines()[before:]
        assert serve.poll() is None, "serve keeps waiting for its broker"
    finally:
        stop(serve, timeout=60)
    assert len(while_gone) <= 15, "\n".join(while_gone)
    assert "\x1b[" not in log.read_text()  # plain lines, no colour codes


def _record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("aiokafka", level, __file__, 1, message, (), None)


def test_a_repeated_error_is_let_through_once_a_minute_with_how_many_were_held_back():
    now = [0.0]
    limit = RepeatLimit(seconds=60, clock=lambda: now[0])
    assert limit.filter(_record("Unable connect to %s"))
    for second in range(1, 60):
        now[0] = second
        assert not limit.filter(_record("Unable connect to %s"))
    assert limit.filter(_record("another error"))
    assert limit.filter(_record("progress", logging.INFO)) and limit.filter(_record("progress", logging.INFO))
    now[0] = 61
    again = _record("Unable connect to %s")
    assert limit.filter(again)
    assert again.msg.endswith("(59 more like it in the last 60 s)")
