"""The tests' PostgreSQL fixtures, over the throwaway server of testsupport/postgres.py.

`postgres_dsn` (session scope) yields `postgresql://USER:PASS@127.0.0.1:PORT/DB`:

* if BILLING_TEST_POSTGRES is set, that URL as it is (an external server; nothing is
  started, and only the databases made by `fresh_database` are dropped at the end);
* otherwise a throwaway server (`start_postgres_server`), stopped and its folder
  removed when the session ends.

`postgres_fresh_dsn` is a new, empty database of its own for one test.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from testsupport.postgres import (  # noqa: F401 (eventsourcing_env: for the tests that import it from here)
    ENV_VAR,
    PostgresServer,
    drop_fresh_databases,
    eventsourcing_env,
    forget_fresh_databases,
    fresh_database,
    start_postgres_server,
)

_session_server: PostgresServer | None = None


def running_server() -> PostgresServer | None:
    """The throwaway server `postgres_dsn` started, or None (BILLING_TEST_POSTGRES, or none yet)."""
    return _session_server


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL URL for the session: BILLING_TEST_POSTGRES, or a throwaway server."""
    external = os.environ.get(ENV_VAR)
    if external:
        try:
            yield external
        finally:
            drop_fresh_databases()
        return
    global _session_server
    server = _session_server = start_postgres_server()
    print(
        f"\n[postgres] 127.0.0.1:{server.port} started in {server.startup_seconds:.2f}s "
        f"as {server.run_as.name or 'the current user'}",
        file=sys.stderr,
    )
    try:
        yield server.dsn
    finally:
        forget_fresh_databases()  # they go with the server's folder
        _session_server = None
        server.stop()


@pytest.fixture
def postgres_fresh_dsn(postgres_dsn: str) -> str:
    """The DSN of a new, empty database of its own for one test."""
    return fresh_database(postgres_dsn)
