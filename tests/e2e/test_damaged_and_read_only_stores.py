"""A store that is read-only or damaged ends every command in one line, exit 2, never a
traceback, and never an answer read past the damage (CONTRACT.md §5)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from commands.demo_data import generate_month
from testsupport.cli_runner import BILLING, assert_usage_failure, billing, clean_env, out

READS = [["bills", "--period", "2026-10"], ["rejected"], ["performance", "--partner", "p-001", "--period", "2026-10"]]
WRITES = [["ingest", "more.jsonl"], ["rejected", "--retry"]]
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.fixture(scope="module")
def month_store(tmp_path_factory) -> Path:
    """A folder with billing.db holding a month of sample events (a few MiB), and a
    file of more events to ingest."""
    folder = tmp_path_factory.mktemp("month-store")
    (folder / "month.jsonl").write_bytes(b"\n".join(generate_month(customers=60, seed=3, events=6000)) + b"\n")
    (folder / "more.jsonl").write_bytes(b"\n".join(generate_month(customers=5, seed=4, events=50)) + b"\n")
    assert billing(folder, "ingest", "month.jsonl").returncode in (0, 1)
    return folder


@pytest.fixture
def copy_of(month_store, tmp_path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(month_store, folder)
    return folder


@pytest.fixture
def open_copy(month_store) -> Iterator[Path]:
    """A copy of the store where an unprivileged user can reach it (pytest's own
    temporary folders are private to root)."""
    parent = Path(tempfile.mkdtemp(prefix="billing-ro-"))
    try:
        parent.chmod(0o755)
        folder = parent / "store"
        shutil.copytree(month_store, folder)
        yield folder
    finally:
        for path in (parent, *parent.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(parent)


def as_nobody(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`billing ARGS` as an unprivileged user (root writes any file whatever its mode)."""
    return subprocess.run(
        [*NOBODY, str(BILLING), *args], cwd=folder, env=clean_env(), input=b"", capture_output=True, timeout=60
    )


needs_unprivileged_user = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="runs billing as 'nobody' with setpriv, which needs root",
)


@needs_unprivileged_user
@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_a_read_only_store_answers_reads_and_refuses_writes_in_one_line(open_copy, read_only):
    copy_of = open_copy
    expected = {tuple(command): out(billing(copy_of, *command)) for command in READS}
    os.chmod(copy_of, 0o777)
    os.chmod(copy_of / "more.jsonl", 0o644)
    os.chmod(copy_of / "billing.db", 0o444 if read_only == "file" else 0o644)
    if read_only == "folder":
        os.chmod(copy_of, 0o555)
    for command in READS:
        result = as_nobody(copy_of, *command)
        assert (result.returncode, result.stderr) == (0, b""), result.stderr
        assert out(result) == expected[tuple(command)]
    before = (copy_of / "billing.db").read_bytes()
    for command in WRITES:
        assert_usage_failure(as_nobody(copy_of, *command), "read-only")
    assert (copy_of / "billing.db").read_bytes() == before


def _damage(store: Path) -> None:
    """Overwrites pages in the middle of the file, as a failing disk would (whole pages
    of the store's size: new stores have 16 KiB pages)."""
    size = store.stat().st_size
    with closing(sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)) as connection:
        (page,) = connection.execute("PRAGMA page_size").fetchone()
    with store.open("r+b") as file:
        file.seek(size // 2 // page * page)
        file.write(bytes(range(256)) * 16 * 16 * (page // 4096))


@pytest.mark.parametrize(
    "finder",
    # Both read the log's facts, so they meet damage in its middle.
    [["replay", "--period", "2026-10"], ["ingest", "month.jsonl"]],
    ids=lambda command: command[0],
)
def test_a_damaged_store_ends_every_command_in_one_line_and_none_answers_after_one_found_it(copy_of, finder):
    good = (copy_of / "billing.db").read_bytes()
    _damage(copy_of / "billing.db")
    assert_usage_failure(billing(copy_of, *finder), "damaged", "malformed")
    # Found damaged: no command answers from it, however little of it it reads.
    for command in [*READS, *WRITES]:
        assert_usage_failure(billing(copy_of, *command), "damaged", "malformed")
    # Restored from a backup, it answers again.
    (copy_of / "billing.db").write_bytes(good)
    assert billing(copy_of, "bills", "--period", "2026-10", "--json").returncode == 0


def test_a_store_whose_pairs_name_an_event_its_log_lacks_is_damaged_in_one_line(copy_of):
    # A damaged page SQLite reads without failing can lose rows silently: found when a
    # duplicate's earlier event is looked for, it is damage, not a traceback.
    with closing(sqlite3.connect(copy_of / "billing.db")) as connection, connection:
        (lost,) = connection.execute("SELECT MAX(notification_id) FROM event_ids").fetchone()
        connection.execute("DELETE FROM stored_events WHERE rowid=?", (lost,))
    error = assert_usage_failure(billing(copy_of, "ingest", "month.jsonl"), "damaged", "malformed")
    assert f"notification {lost}" in error


def test_a_file_that_is_not_a_store_is_one_line_and_left_unmarked(tmp_path):
    (tmp_path / "billing.db").write_bytes(b"this is not SQLite at all" * 200)
    assert_usage_failure(billing(tmp_path, "bills", "--period", "2026-10"), "billing.db")
    assert_usage_failure(billing(tmp_path, "ingest", "-"), "billing.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["billing.db"]
