"""The binding to currency and time zone is checked inside the write transaction, so a
writer that opened a store before another bound it can't record past the binding."""

from __future__ import annotations

import sqlite3

import pytest

from engine.ledger import InboundLine
from engine.store.binding import BindingMismatch
from tests.builders import line, usage


def test_a_writer_opened_before_the_store_was_bound_elsewhere_records_nothing(tmp_path, open_url):
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    open_url(url)  # creates and binds (CNY)
    with sqlite3.connect(tmp_path / "billing.db") as connection:
        connection.execute("DROP TABLE store_settings")  # as a store made before the binding
    usd_writer = open_url(url, create=False, currency="USD")  # a read-open: binds nothing
    open_url(url)  # a CNY writer binds it first
    with pytest.raises(BindingMismatch, match="CNY"):
        usd_writer.ledger.record_batch([InboundLine(line(usage("c-1", id="u-1", currency="USD")))])
    assert usd_writer.ledger.recorder.count_events() == 0
    assert usd_writer.ledger.recorder.select_rejections() == []


def test_an_engine_decision_checks_the_binding_too(tmp_path, open_url):
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    open_url(url)
    with sqlite3.connect(tmp_path / "billing.db") as connection:
        connection.execute("DELETE FROM store_settings")
    utc = open_url(url, create=False, timezone="UTC")
    open_url(url)  # binds again, to the defaults
    with pytest.raises(BindingMismatch, match="UTC"):
        utc.ledger.record_decision(lambda decision: None)


def test_a_memory_store_is_bound_when_created(open_url):
    engine = open_url("memory://", currency="JPY")
    with engine.ledger.recorder.read_transaction() as c:
        rows = dict(engine.ledger.recorder.rows(c, "SELECT name, value FROM store_settings"))
    assert rows == {"currency": "JPY", "timezone": "Asia/Shanghai"}


@pytest.mark.postgres
def test_a_postgres_store_is_bound_too_and_refuses_other_settings_before_writing(postgres_fresh_dsn, open_url):
    engine = open_url(postgres_fresh_dsn)
    engine.ledger.record_batch([InboundLine(line(usage("c-1", id="u-1")))])
    for settings in ({"currency": "USD"}, {"timezone": "UTC"}):
        for create in (True, False):
            with pytest.raises(BindingMismatch, match="Asia/Shanghai"):
                open_url(postgres_fresh_dsn, create=create, **settings)
    assert engine.ledger.recorder.count_events() == 1
