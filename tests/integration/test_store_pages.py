"""New SQLite stores get 16 KiB pages (issue 17: ~20% less CPU inserting the log's
rows, measured); a store keeps the page size it was made with."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing

from commands.bootstrap import open_engine
from commands.ingest import ingest_streams
from commands.settings import Settings
from engine.store.sqlite import NEW_STORE_PAGE_SIZE
from tests.builders import line, usage

NOW = "2026-11-30T10:00:00Z"


def _page_size(path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute("PRAGMA page_size").fetchone()[0]


def test_a_new_store_gets_16_kib_pages_and_an_older_store_keeps_its_own(tmp_path):
    older = tmp_path / "older.db"
    with closing(sqlite3.connect(older, isolation_level=None)) as connection:
        connection.execute("PRAGMA page_size=4096")
        connection.execute("PRAGMA journal_mode=WAL")
    for path in (tmp_path / "new.db", older):
        with open_engine(Settings(store_url=f"sqlite:///{path}", now=NOW), create=True) as engine:
            ingest_streams(engine, [io.BytesIO(line(usage(id="u-1")))])
    assert _page_size(tmp_path / "new.db") == NEW_STORE_PAGE_SIZE == 16384
    assert _page_size(older) == 4096
