"""`billing ingest` with its batches decided by a second process (commands/ingest_ahead.py,
commands/ahead.py): the same store as the in-process ingest, byte for byte; another
writer meanwhile; the views the decider folds; and failures of either process.

The protocol tests run the decider's loop in a thread over real pipes (so a test can
step in between two batches); the command tests run `billing ingest` itself."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands import ahead
from commands.ahead import AheadDecider, RenderShare
from commands.bootstrap import Engine, open_engine
from commands.decider_process import _decide_inputs
from commands.ingest import ingest_streams, write_views
from commands.ingest_ahead import DeciderFrames, _write_batches, decides_ahead, ingest_ahead
from commands.settings import Settings, SettingsError
from engine.mapper import decode_event
from schemas.recorded import ChargeRecorded
from schemas.views import IngestCounts
from tests.builders import amended, associated, disassociated, discount_granted, line, month_of_events, usage, voided
from tests.conftest import record
from tests.integration.test_backends import PERIODS, all_views
from testsupport.cli_runner import BILLING, billing, clean_env

pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-05T08:00:00Z"


def mixed_log() -> list[bytes]:
    """A month of events with what a decider ahead of its writer must get right: exact
    and conflicting duplicates of events a batch or more back, corrections of events
    in the same and in earlier batches, bad lines and blank ones."""
    events = month_of_events(customers=6, usage_per_customer=4)
    usages = [e for e in events if e["type"] == "usage.recorded"]
    lines = [line(e) for e in events]
    conflicting = {**usages[1], "data": {**usages[1]["data"], "quantity": "999"}}
    for at, extra in [
        (12, line(usages[0])),
        (20, line(voided(usages[2]))),
        (21, line(voided(usages[2]))),
        (26, line(amended(usages[5]))),
        (30, line(conflicting)),
        (33, b"not json"),
        (34, line(usage("c-0001", id="bad-1", quantity="-1"))),
        (35, b"   "),
    ]:
        lines.insert(at, extra)
    return [*lines, line(amended(usages[-1])), line(usages[-2])]  # a correction of the batch before


def store_tables(path: Path) -> dict[str, list[tuple]]:
    """Every table of a SQLite store, rows in order."""
    with sqlite3.connect(path) as db:
        names = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {name: db.execute(f'SELECT * FROM "{name}" ORDER BY 1, 2').fetchall() for name in names}


def ingest(tmp_path: Path, name: str, log: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    return billing(tmp_path, "ingest", *args, str(log), BILLING_STORE=f"sqlite:///{name}", BILLING_NOW=NOW, **settings)


@pytest.mark.parametrize("batch_size", [1, 4, 9, 500])
def test_the_store_is_the_in_process_ingests_byte_for_byte(tmp_path, batch_size):
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(mixed_log()) + b"\n")
    size = ("--batch-size", str(batch_size))
    alone = ingest(tmp_path, "alone.db", log, *size, BILLING_DECIDE_AHEAD="off")
    ahead_run = ingest(tmp_path, "ahead.db", log, *size, BILLING_DECIDE_AHEAD="on")
    assert (ahead_run.returncode, ahead_run.stdout, ahead_run.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert alone.returncode == 1 and b"rejected: 4" in alone.stdout, alone.stdout
    assert store_tables(tmp_path / "ahead.db") == store_tables(tmp_path / "alone.db")
    verified = billing(tmp_path, "verify", BILLING_STORE="sqlite:///ahead.db")
    assert verified.returncode == 0, verified.stderr


@pytest.mark.parametrize("projections", ["inline", "separate"])
def test_several_inputs_one_of_them_gzipped_and_either_projection_setting(tmp_path, projections):
    raws = mixed_log()
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(raws[:30]) + b"\n")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b"\n".join(raws[30:])))
    settings = {"BILLING_NOW": NOW, "BILLING_PROJECTIONS": projections}
    alone, ahead_run = (
        billing(
            tmp_path, "ingest", "--batch-size", "6", "a.jsonl", "b.jsonl.gz",
            BILLING_STORE=f"sqlite:///{mode}.db", BILLING_DECIDE_AHEAD=mode, **settings,
        )
        for mode in ("off", "on")
    )  # fmt: skip
    assert (ahead_run.returncode, ahead_run.stdout, ahead_run.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert store_tables(tmp_path / "on.db") == store_tables(tmp_path / "off.db")


def test_stdin_is_read_by_the_decider_as_in_process(tmp_path):
    raws = b"\n".join(mixed_log()) + b"\n"
    alone, ahead_run = (
        billing(
            tmp_path, "ingest", "--batch-size", "5", "-", stdin=raws,
            BILLING_STORE=f"sqlite:///{mode}.db", BILLING_NOW=NOW, BILLING_DECIDE_AHEAD=mode,
        )
        for mode in ("off", "on")
    )  # fmt: skip
    assert (ahead_run.returncode, ahead_run.stdout, ahead_run.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert store_tables(tmp_path / "on.db") == store_tables(tmp_path / "off.db")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"not json\n"])
def test_an_input_without_a_good_line_ends_as_in_process(tmp_path, content):
    log = tmp_path / "log.jsonl"
    log.write_bytes(content)
    alone = ingest(tmp_path, "alone.db", log, BILLING_DECIDE_AHEAD="off")
    ahead_run = ingest(tmp_path, "ahead.db", log, BILLING_DECIDE_AHEAD="on")
    assert (ahead_run.returncode, ahead_run.stdout, ahead_run.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert store_tables(tmp_path / "ahead.db") == store_tables(tmp_path / "alone.db")


# --- the protocol, the decider in a thread -------------------------------------------------


def ingest_in_threads(writer: Engine, decider_engine: Engine, log: Path, batch_size: int, after_decide=None):
    """`ingest_ahead` with the decider's loop in a thread (its own engine on the same
    store); `after_decide(decider, seq)` runs in the decider after it decided a batch."""
    results_read, results_write = os.pipe()
    orders_read, orders_write = os.pipe()
    decider = AheadDecider(decider_engine.ledger)
    if after_decide is not None:
        decide = decider.decide

        def decide_then(seq, lines, bytes_read):
            decided = decide(seq, lines, bytes_read)
            after_decide(decider, seq)
            return decided

        decider.decide = decide_then

    def run_decider() -> None:
        try:
            _decide_inputs(decider, [str(log)], batch_size, results_write, orders_read)
        finally:
            os.close(results_write)
            os.close(orders_read)

    thread = threading.Thread(target=run_decider, daemon=True)
    thread.start()
    frames = DeciderFrames(results_read)
    total = IngestCounts()
    try:
        write_views(writer)
        _write_batches(writer, frames, orders_write, total, None)
    finally:
        frames.stop()
        os.close(orders_write)
        thread.join(timeout=30)
        frames.join()
        os.close(results_read)
    return total, decider


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def test_views_folded_by_the_decider_are_the_views_every_few_batches(tmp_path, sqlite_url, open_url, monkeypatch):
    monkeypatch.setattr(ahead, "WRITE_EVERY_EVENTS", 10)
    log = tmp_path / "log.jsonl"
    raws = mixed_log()
    log.write_bytes(b"\n".join(raws))
    writer, decider_engine = open_url(sqlite_url), open_url(sqlite_url, create=False)
    applied: list[int] = []
    apply_in = writer.projection.view.apply_in
    monkeypatch.setattr(
        writer.projection.view,
        "apply_in",
        lambda c, delta, tracking: applied.append(tracking.notification_id) or apply_in(c, delta, tracking),
    )
    counts, _ = ingest_in_threads(writer, decider_engine, log, batch_size=4)

    assert len(applied) >= 5, "handed over every 10 events, and at the end"
    assert not writer.projection.is_behind(writer.ledger), "the handed views cover the whole log"
    expected = open_url("memory://")
    assert record(expected, [raw for raw in raws if raw.strip()], batch_size=4) == counts  # blank lines skipped
    assert all_views(writer) == all_views(expected)


def test_a_batch_another_writer_changed_meanwhile_is_decided_again(tmp_path, sqlite_url, open_url):
    setup = open_url(sqlite_url)
    record(setup, [associated(c, "p-1", time="2026-09-15T00:00:00+08:00") for c in ("c-a", "c-b", "c-z")])
    usages = [
        usage(c, id=f"u-{c}-{n}", time=f"2026-10-{1 + n:02d}T10:00:00+08:00") for n in range(9) for c in ("c-a", "c-b")
    ]
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(line(u) for u in usages))
    other = open_url(sqlite_url)

    def meanwhile(decider: AheadDecider, seq: int) -> None:
        if (decider.epoch, seq) == (0, 1):  # batch 1 was decided without this discount
            record(
                other, [discount_granted("c-a", discount_id="d-1", rate="0.5", valid_from="2026-10-01T00:00:00+08:00")]
            )
        if (decider.epoch, seq) == (1, 3):  # a customer no batch reads: batches commit, the cache is dropped
            record(other, [usage("c-z", id="u-z")])

    writer = open_url(sqlite_url)
    counts, decider = ingest_in_threads(writer, open_url(sqlite_url, create=False), log, 4, meanwhile)
    write_views(writer)

    assert (counts.accepted, counts.duplicates, counts.rejected) == (len(usages), 0, 0)
    assert decider.epoch >= 2, "told to decide again after each of the other writer's commits"
    logged = [decode_event(n.topic, n.state) for n in writer.ledger.recorder.select_notifications(1, 1000)]
    [granted_at] = [at for at, event in enumerate(logged) if event.LOG_TYPE == "discount.granted"]
    for at, event in enumerate(logged):
        if type(event) is ChargeRecorded and event.customer_id == "c-a":
            assert (event.discount_units > 0) == (at > granted_at), "decided from the state as logged before it"
    # The views are those of the facts ingested one by one in the log's order.
    sequential = open_url("memory://")
    for event in logged:
        record(sequential, [bytes(event.fact)])
    assert all_views(writer) == all_views(sequential)
    assert all_views(open_url(sqlite_url, create=False)) == all_views(sequential), "as a new reader reads them"


# --- the command -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_log(tmp_path_factory) -> Path:
    """The benchmark's generator: 30,000 lines, long enough to stop an ingest midway."""
    from bench.log import event_log

    return event_log(tmp_path_factory.mktemp("log"), events=30_000, customers=300, seed=3, period="2026-10").path


def stored_events(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM stored_events").fetchone()[0]
    except sqlite3.OperationalError:  # not made yet
        return 0


def start_ingest(tmp_path: Path, log: Path, *args: str) -> subprocess.Popen:
    env = clean_env(BILLING_STORE="sqlite:///store.db", BILLING_DECIDE_AHEAD="on")
    return subprocess.Popen(
        [str(BILLING), "ingest", "--batch-size", "500", *args, str(log)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def ingest_under_way(tmp_path: Path, log: Path) -> tuple[subprocess.Popen, int]:
    """An ingest deciding ahead that has committed some batches, and its decider's pid."""
    process = start_ingest(tmp_path, log)
    deadline = time.monotonic() + 60
    while stored_events(tmp_path / "store.db") == 0:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "nothing recorded within a minute"
        time.sleep(0.01)
    [decider] = children_of(process.pid)
    return process, decider


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True  # a zombie: dead, waiting for its parent's init to reap it
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.02)
    return False


def assert_resumed_equals_one_ingest(tmp_path: Path, log: Path) -> None:
    again = billing(tmp_path, "ingest", str(log), BILLING_STORE="sqlite:///store.db", BILLING_DECIDE_AHEAD="on")
    assert again.returncode in (0, 1), again.stderr
    once = billing(tmp_path, "ingest", str(log), BILLING_STORE="sqlite:///once.db", BILLING_DECIDE_AHEAD="off")
    assert stored_events(tmp_path / "store.db") == stored_events(tmp_path / "once.db")
    for period in PERIODS:
        resumed = billing(tmp_path, "bills", "--period", period, "--json", BILLING_STORE="sqlite:///store.db")
        single = billing(tmp_path, "bills", "--period", period, "--json", BILLING_STORE="sqlite:///once.db")
        assert resumed.stdout == single.stdout
    verified = billing(tmp_path, "verify", BILLING_STORE="sqlite:///store.db")
    assert verified.returncode == 0, verified.stderr
    assert once.returncode == again.returncode or again.returncode == 0


@pytest.mark.slow
def test_a_writer_killed_midway_loses_nothing_its_decider_dies_with_it_and_a_rerun_counts_nothing_twice(
    tmp_path, large_log
):
    process, decider = ingest_under_way(tmp_path, large_log)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert gone_within(decider, 5), "the decider outlived its writer"
    assert 0 < stored_events(tmp_path / "store.db") < 30_000
    assert_resumed_equals_one_ingest(tmp_path, large_log)


@pytest.mark.slow
def test_a_decider_killed_midway_ends_the_ingest_in_one_line_and_a_rerun_goes_on(tmp_path, large_log):
    process, decider = ingest_under_way(tmp_path, large_log)
    os.kill(decider, signal.SIGKILL)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, (out, err)
    [message] = err.decode().splitlines()
    assert message.startswith("billing: the process deciding the batches (pid ") and "signal 9" in message, message
    assert_resumed_equals_one_ingest(tmp_path, large_log)


@pytest.mark.slow
def test_ctrl_c_stops_both_processes_and_says_what_was_committed(tmp_path, large_log):
    process, decider = ingest_under_way(tmp_path, large_log)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "interrupted; committed before it: " in err.decode()
    assert gone_within(decider, 5)
    assert_resumed_equals_one_ingest(tmp_path, large_log)


def test_a_damaged_gzip_input_fails_in_the_same_line_as_in_process_with_earlier_batches_kept(tmp_path):
    raws = [line(e) for e in month_of_events(customers=30, usage_per_customer=20)]
    packed = gzip.compress(b"\n".join(raws))
    (tmp_path / "log.jsonl.gz").write_bytes(packed[: len(packed) * 3 // 4])  # cut short: a truncated download
    results = {}
    for mode in ("off", "on"):
        run = billing(
            tmp_path, "ingest", "--batch-size", "50", "log.jsonl.gz",
            BILLING_STORE=f"sqlite:///{mode}.db", BILLING_DECIDE_AHEAD=mode,
        )  # fmt: skip
        results[mode] = (run.returncode, run.stderr, stored_events(tmp_path / f"{mode}.db"))
    assert results["on"] == results["off"]
    code, err, kept = results["on"]
    assert code == 2 and b"log.jsonl.gz: not a readable gzip file" in err, err
    assert kept > 0, "the batches read before the damage stay recorded"


# --- when -----------------------------------------------------------------------------------


def test_which_ingests_decide_ahead():
    def settings(mode: str = "auto", store: str = "sqlite:///s.db") -> Settings:
        return Settings(store_url=store, decide_ahead=mode)

    big, small = 64 << 20, 63 << 20
    assert decides_ahead(settings(), big) == (len(os.sched_getaffinity(0)) > 1)
    assert not decides_ahead(settings(), small)
    assert not decides_ahead(settings(store="postgresql://u:p@localhost:5432/db"), big), "auto: SQLite only"
    assert decides_ahead(settings("on"), 0)
    assert decides_ahead(settings("on", "postgresql://u:p@localhost:5432/db"), 0)
    assert not decides_ahead(settings("on", "memory://"), big), "another process can't see a memory store"
    assert not decides_ahead(settings("off"), big)


def test_a_wrong_decide_ahead_setting_is_named():
    with pytest.raises(SettingsError, match="BILLING_DECIDE_AHEAD: 'sometimes' is none of auto, on, off"):
        Settings.from_environment({"BILLING_DECIDE_AHEAD": "sometimes"})


# --- the property ---------------------------------------------------------------------------

CUSTOMERS = ("c-1", "c-2", "c-3")


def _op_event(op: tuple) -> dict:
    kind, customer, number, quantity = op
    time = f"2026-10-{1 + number:02d}T10:00:00+08:00"
    if kind == "usage":
        return usage(customer, id=f"u-{number}", quantity=quantity, time=time)
    if kind == "void":
        return voided(("test/source", f"u-{number}"), customer, id=f"v-{number}-{quantity}")
    if kind == "amend":
        return amended(("test/source", f"u-{number}"), customer, quantity=quantity, id=f"a-{number}-{quantity}")
    if kind == "discount":
        return discount_granted(customer, discount_id=f"d-{number}", rate="0.8", valid_from=time)
    return associated(customer, f"p-{number % 2}", time="2026-09-15T00:00:00+08:00", id=f"as-{customer}-{number}")


operations = st.lists(
    st.tuples(
        st.sampled_from(["usage", "usage", "usage", "void", "amend", "discount", "associate"]),
        st.sampled_from(CUSTOMERS),
        st.integers(0, 12),  # few ids: duplicates, conflicting ones, corrections of earlier and later lines
        st.sampled_from(["1", "2", "3"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, batch_size=st.integers(1, 9))
def test_deciding_ahead_stores_what_deciding_in_process_stores(tmp_path_factory, ops, batch_size):
    folder = tmp_path_factory.mktemp("ahead")
    log = folder / "log.jsonl"
    raws = [line(_op_event(op)) for op in ops]
    log.write_bytes(b"\n".join(raws))
    with ExitStack() as stack:

        def opened(name: str, create: bool = True) -> Engine:
            engine = open_engine(Settings(store_url=f"sqlite:///{folder / name}", now=NOW), create=create)
            return stack.enter_context(engine)

        alone = opened("alone.db")
        expected = record(alone, raws, batch_size=batch_size)
        ahead_writer = opened("ahead.db")
        counts, _ = ingest_in_threads(ahead_writer, opened("ahead.db", create=False), log, batch_size)
        write_views(ahead_writer)
        assert counts == expected
        assert all_views(ahead_writer) == all_views(alone)
    assert store_tables(folder / "ahead.db") == store_tables(folder / "alone.db")


def test_on_postgres_two_ingests_deciding_ahead_at_once_record_each_event_once(tmp_path, postgres_fresh_dsn):
    raws = [line(e) for e in month_of_events(customers=30, usage_per_customer=30)]
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(raws) + b"\n")
    processes = [
        subprocess.Popen(
            [str(BILLING), "--store", postgres_fresh_dsn, "ingest", "--batch-size", "7", "--json", "in.jsonl"],
            cwd=tmp_path,
            env=clean_env(BILLING_DECIDE_AHEAD=mode),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for mode in ("on", "on")
    ]
    results = [(*process.communicate(timeout=90), process.returncode) for process in processes]
    assert [code for _, _, code in results] == [0, 0], [err for _, err, _ in results]
    counts = [json.loads(out) for out, _, _ in results]
    assert sum(c["accepted"] for c in counts) == len(raws)
    assert all(c["accepted"] + c["duplicates"] == len(raws) for c in counts)
    with open_engine(Settings(store_url=postgres_fresh_dsn), create=False) as stored:
        expected = open_engine(Settings(store_url="memory://"), create=True)
        record(expected, raws)
        assert all_views(stored) == all_views(expected)
        assert stored.ledger.recorder.count_events() == len(raws)
    verified = billing(tmp_path, "--store", postgres_fresh_dsn, "verify")
    assert verified.returncode == 0, verified.stderr


def test_the_render_share_follows_whichever_process_waits():
    share = RenderShare(0.5)
    assert [share.writer_waited(False) for _ in range(7)][-1] == 1.0, "never above all of it"
    assert [round(share.writer_waited(True), 1) for _ in range(3)] == [0.9, 0.8, 0.7]
    assert [share.writer_waited(True) for _ in range(12)][-1] == 0.0, "never below none of it"


def test_a_disassociation_decided_ahead_ends_the_partners_authorizations_as_in_process(tmp_path):
    """The batch hook reads the committed batch's events from the rows the decider
    handed over (engine/recorded_events.py): it must still see the disassociation."""
    from commands.authorizations import answer_authorization, list_authorizations, request_authorization

    facts = [line(e) for e in month_of_events(customers=4, usage_per_customer=3)]
    left = line(disassociated("c-0001", "p-1", time="2026-10-30T00:00:00+08:00"))
    (tmp_path / "later.jsonl").write_bytes(b"\n".join([*facts[len(facts) // 2 :], left]) + b"\n")
    steps = {}
    for mode in ("off", "on"):
        settings = Settings(store_url=f"sqlite:///{tmp_path / mode}.db", now=NOW, decide_ahead=mode)
        with open_engine(settings, create=True) as engine:
            record(engine, [associated("c-0001", "p-1", time="2026-10-01T00:00:00+08:00"), *facts[: len(facts) // 2]])
            request_authorization(engine, authorization_id="A-1", partner_id="p-1", customer_id="c-0001")
            answer_authorization(engine, "A-1", "approve")
            request_authorization(engine, authorization_id="A-2", partner_id="p-1", customer_id="c-0001")
            if mode == "on":
                ingest_ahead(engine, [str(tmp_path / "later.jsonl")], batch_size=7)
            else:
                with open(tmp_path / "later.jsonl", "rb") as stream:
                    ingest_streams(engine, [stream], batch_size=7)
            steps[mode] = {a.id: [s.status for s in a.history] for a in list_authorizations(engine).authorizations}
    assert steps["on"] == steps["off"] == {"A-1": ["pending", "approved", "revoked"], "A-2": ["pending", "rejected"]}
