"""Ctrl-C landing just after a batch committed: the count `billing ingest` reports is
still what the store holds (commands/interrupts_held.py). A clean-clone CI run once saw
"accepted 2000" beside 4,000 stored events: the interrupt had come between the commit
and the count. Here the interrupt is sent at exactly that moment, every time."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading

import pytest

from commands.bootstrap import open_engine
from commands.ingest import ingest_streams
from commands.ingest_ahead import ingest_ahead
from commands.interrupts_held import interrupts_held
from commands.settings import Settings
from engine.ledger import Ledger
from tests.builders import line, month_of_events

pytestmark = pytest.mark.timeout(120)


def _interrupt_after_commit(monkeypatch, method: str, at_batch: int) -> None:
    """The ledger's commit sends this process SIGINT once its `at_batch`th transaction committed."""
    real = getattr(Ledger, method)
    committed = []

    def committing_then_interrupted(self, *args, **kwargs):
        outcome = real(self, *args, **kwargs)
        committed.append(outcome)
        if len(committed) == at_batch:
            os.kill(os.getpid(), signal.SIGINT)
        return outcome

    monkeypatch.setattr(Ledger, method, committing_then_interrupted)


def _stored_events(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM stored_events").fetchone()[0]


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "month.jsonl"
    path.write_bytes(b"\n".join(line(e) for e in month_of_events(customers=20, usage_per_customer=30)) + b"\n")
    return path


@pytest.mark.parametrize("decide_ahead", ["off", "on"])
def test_an_interrupt_right_after_a_commit_reports_that_batch_as_committed(
    tmp_path, monkeypatch, log_file, decide_ahead
):
    method = "_commit" if decide_ahead == "off" else "commit_decided"
    _interrupt_after_commit(monkeypatch, method, at_batch=2)
    store = tmp_path / "store.db"
    with open_engine(Settings(store_url=f"sqlite:///{store}", decide_ahead=decide_ahead), create=True) as engine:
        with pytest.raises(KeyboardInterrupt) as interrupted:
            if decide_ahead == "off":
                with open(log_file, "rb") as stream:
                    ingest_streams(engine, [stream], batch_size=100)
            else:
                ingest_ahead(engine, [str(log_file)], batch_size=100)
    said = interrupted.value.committed
    assert said.startswith("200 lines (accepted ")
    accepted = int(said.split("accepted ")[1].split(",")[0])
    assert accepted == _stored_events(store) > 0


def test_held_interrupts_are_raised_when_the_block_ends_not_inside_it():
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("the block ran to its end")
    assert finished == ["the block ran to its end"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_process_deaf_to_sigint_stays_deaf():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_off_the_main_thread_nothing_is_installed():
    seen = []

    def run():
        with interrupts_held():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]
