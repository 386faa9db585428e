"""A close killed with SIGKILL at any moment leaves all of its statements or none: run
again, it ends exactly as a close that was never interrupted.

The store is ingested with BILLING_PROJECTIONS=separate, so the close also folds the
whole log into the views inside its transaction (the longest thing it does): kills land
before, during and after that fold, and after the commit.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from commands.bootstrap import open_engine
from commands.settings import Settings
from commands.statements import get_statement, list_periods, list_statements
from tests.builders import line, month_of_events
from testsupport.cli_runner import BILLING, billing, clean_env
from testsupport.serve_harness import query_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

NOW = "2026-11-05T00:00:00+08:00"
TRIALS = 12


def _env(store: Path) -> dict[str, str]:
    return clean_env(BILLING_STORE=f"sqlite:///{store}", BILLING_NOW=NOW)


def _billing(store: Path, *args: str) -> subprocess.CompletedProcess:
    return billing(None, *args, env=_env(store), text=True, timeout=120)


def _outcome(store: Path) -> dict:
    """Everything a user can read of the close: the listing, each statement, the periods,
    and how many events of each type the log holds."""
    with open_engine(Settings(store_url=f"sqlite:///{store}", now=NOW), create=False) as engine:
        listing = list_statements(engine)
        whole = [get_statement(engine, s.partner_id, s.period) for s in listing.statements]
        periods = list_periods(engine)
    topics = query_store(store, "SELECT topic, COUNT(*) FROM stored_events GROUP BY topic ORDER BY topic")
    return {"listing": listing, "statements": whole, "periods": periods, "topics": topics}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("close-crash")
    events = folder / "events.jsonl"
    events.write_bytes(b"\n".join(line(e) for e in month_of_events(customers=300, usage_per_customer=60)) + b"\n")
    store = folder / "base.db"
    env = _env(store) | {"BILLING_PROJECTIONS": "separate"}
    result = billing(None, "ingest", str(events), env=env, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return store


def _copy(store: Path, to: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{store}{suffix}").exists():
            shutil.copyfile(f"{store}{suffix}", f"{to}{suffix}")
    return to


def test_a_close_killed_at_random_moments_then_run_again_equals_one_never_interrupted(ingested, tmp_path):
    reference = _copy(ingested, tmp_path / "reference.db")
    started = time.monotonic()
    assert _billing(reference, "close", "--period", "2026-10").returncode == 0
    uninterrupted_seconds = time.monotonic() - started
    expected = _outcome(reference)
    assert len(expected["listing"].statements) == 3

    rng = random.Random(20261105)
    committed_before_kill = 0
    for trial in range(TRIALS):
        store = _copy(ingested, tmp_path / f"trial-{trial}.db")
        process = subprocess.Popen(
            [BILLING, "close", "--period", "2026-10"],
            env=_env(store),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, uninterrupted_seconds * 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        again = _billing(store, "close", "--period", "2026-10")
        if again.returncode == 1:  # the killed close had committed: all of it is there
            assert again.stderr.startswith("period_already_closed:"), again.stderr
            committed_before_kill += 1
        else:
            assert again.returncode == 0, again.stderr
        assert _outcome(store) == expected, f"trial {trial}"
    # Not a requirement, but the trials should have killed closes both before and after their commit.
    print(
        f"{committed_before_kill} of {TRIALS} kills came after the commit "
        f"(uninterrupted close {uninterrupted_seconds:.2f} s)"
    )
