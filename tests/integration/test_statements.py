"""Period close and statements (CONTRACT.md §7) on a real store: one contract, run on a
SQLite file and on a fresh PostgreSQL database. Every engine is opened with a fixed
clock (BILLING_NOW); a new engine is another process's view of the same store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import msgspec
import pytest

from commands.bootstrap import Engine
from commands.publisher import ViewPublisher
from commands.queries import performance, view_settings
from commands.statements import (
    close_due_periods,
    close_period,
    confirm_statement,
    dispute_statement,
    get_statement,
    list_periods,
    list_statements,
    period_closed_at,
)
from engine.errors import Refused
from engine.ledger import InboundLine
from engine.mapper import decode_event, is_engine_topic
from engine.statements.schedule import Grace
from projections.replay import replay_period
from schemas import topics
from schemas.statement_events import PeriodClosed, StatementIssued, StatementStatusChanged
from schemas.statements import StatementDetail
from tests.builders import associated, line, order_paid, order_refunded, usage
from tests.conftest import record

pytestmark = pytest.mark.timeout(120)

NOV_5 = "2026-11-05T00:00:00+08:00"
NOV_20 = "2026-11-20T00:00:00+08:00"
DEC_2 = "2026-12-02T00:00:00+08:00"
JAN_2 = "2027-01-02T00:00:00+08:00"
OCT = "2026-10-10T12:00:00+08:00"


def october() -> list[dict]:
    return [
        associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00", id="a-1"),
        associated("c-2", "p-2", time="2026-09-01T00:00:00+08:00", id="a-2"),
        associated("c-3", "p-1", time="2026-09-01T00:00:00+08:00", id="a-3"),
        usage("c-1", id="u-1", time=OCT, quantity="3", unit_price="1.23456789"),
        usage("c-2", id="u-2", time=OCT, quantity="1", unit_price="0.00500000"),
        order_paid("c-3", order_id="o-1", amount="100.00", time=OCT, id="o-1"),
        usage("c-4", id="u-4", time=OCT),  # a customer of no partner: in no statement
    ]


def log_rows(engine: Engine) -> list[tuple[int, str, bytes]]:
    with engine.ledger.recorder.read_transaction() as cursor:
        return engine.ledger.recorder.select_notifications_in(cursor, 0, 100_000)


def engine_events(engine: Engine) -> list:
    return [decode_event(topic, state) for _id, topic, state in log_rows(engine) if is_engine_topic(topic)]


def replayed_performance(engine: Engine, period: str, as_of: str) -> dict:
    views, _read = replay_period(engine.ledger, view_settings(engine, period), as_of)
    return {p.partner_id: p for p in views.performance}


def refused(action: Callable[[], object]) -> str:
    with pytest.raises(Refused) as refusal:
        action()
    return refusal.value.code


class StatementContract:
    """Backend-neutral tests; a subclass gives `store_url` (one empty store per test)."""

    __test__ = False

    @pytest.fixture
    def at(self, store_url, open_url) -> Callable[[str], Engine]:
        """An engine on this test's store whose clock reads `now`."""
        return lambda now, **settings: open_url(store_url, now=now, **settings)

    def test_a_close_issues_each_partner_one_statement_equal_to_replay_as_of_its_issue(self, at):
        engine = at(NOV_5)
        record(engine, october())
        result = close_period(engine, "2026-10")
        assert [s.partner_id for s in result.statements] == ["p-1", "p-2"]
        replayed = replayed_performance(engine, "2026-10", result.issued_at)
        for summary in result.statements:
            statement = get_statement(engine, summary.partner_id, "2026-10")
            expected = replayed[summary.partner_id]
            assert (statement.payable_amount, statement.settled_amount, statement.customers) == (
                expected.payable_amount,
                expected.settled_amount,
                expected.customers,
            )
            assert statement.details == [
                StatementDetail(d.customer_id, d.payable_amount, d.settled_amount) for d in expected.details
            ]
            assert statement.issued_at == result.issued_at and statement.adjustments == []
            assert (statement.total_payable_amount, statement.total_settled_amount) == (
                summary.total_payable_amount,
                summary.total_settled_amount,
            )
        p1 = get_statement(engine, "p-1", "2026-10")
        assert [d.customer_id for d in p1.details] == ["c-1", "c-3"]
        assert (p1.payable_amount, p1.settled_amount) == ("103.70370367", "103.70")

    def test_the_close_is_one_period_closed_then_one_statement_issued_per_partner(self, at):
        engine = at(NOV_5)
        record(engine, october())
        result = close_period(engine, "2026-10")
        events = engine_events(engine)
        assert [type(e) for e in events] == [PeriodClosed, StatementIssued, StatementIssued]
        assert {e.recorded_at for e in events} == {result.issued_at}
        assert events[0].partners == ["p-1", "p-2"] and events[0].period == "2026-10"
        issued = events[1]
        assert issued.statement.total_settled_amount == issued.total_settled_amount == "103.70"
        assert {(c.period, c.customer_id, c.charges) for c in issued.carried_charges} == {
            ("2026-10", "c-1", 1),
            ("2026-10", "c-3", 1),
        }

    def test_a_charge_recorded_after_its_close_is_an_adjustment_of_the_next_statement(self, at):
        engine = at(NOV_5)
        record(engine, october())
        close_period(engine, "2026-10")
        october_statement = get_statement(engine, "p-1", "2026-10")
        late = at(NOV_20)
        record(
            late,
            [
                usage("c-1", id="u-late", time="2026-10-31T23:00:00+08:00", quantity="1", unit_price="2.00000000"),
                order_refunded("c-3", order_id="o-1", amount="40.00", time="2026-10-20T00:00:00+08:00", id="r-1"),
                usage("c-3", id="u-nov", time="2026-11-03T00:00:00+08:00", quantity="1", unit_price="5.00000000"),
            ],
        )
        close_period(at(DEC_2), "2026-11")
        november = get_statement(late, "p-1", "2026-11")
        assert [(a.period, a.customer_id, a.payable_amount, a.settled_amount) for a in november.adjustments] == [
            ("2026-10", "c-1", "2.00000000", "2.00"),
            ("2026-10", "c-3", "-40.00000000", "-40.00"),
        ]
        assert (november.payable_amount, november.customers) == ("5.00000000", 1)
        assert (november.adjustments_payable_amount, november.total_payable_amount) == ("-38.00000000", "-33.00000000")
        assert "p-2" not in {s.partner_id for s in list_statements(late, period="2026-11").statements}
        # The October statement never changes; it plus November's adjustments is October's performance.
        assert get_statement(late, "p-1", "2026-10") == october_statement
        live = performance(late, "p-1", "2026-10")
        carried = units(october_statement.payable_amount) + sum(
            units(a.payable_amount) for a in november.adjustments if a.period == "2026-10"
        )
        assert carried == units(live.payable_amount)

    def test_every_refusal_exits_with_its_code_and_records_nothing(self, at):
        engine = at(NOV_5)
        record(engine, [*october(), usage("c-1", id="u-sep", time="2026-09-20T00:00:00+08:00")])
        before = log_rows(engine)
        assert refused(lambda: close_period(at("2026-10-31T23:59:59+08:00"), "2026-10")) == "period_not_ended"
        assert refused(lambda: close_period(engine, "2026-10")) == "earlier_charges_open"
        close_period(engine, "2026-09")
        after_close = log_rows(engine)
        assert refused(lambda: close_period(engine, "2026-09")) == "period_already_closed"
        assert refused(lambda: close_period(engine, "2026-08")) == "period_already_closed"
        assert refused(lambda: close_period(at(DEC_2), "2026-11")) == "period_out_of_order"
        assert refused(lambda: get_statement(engine, "p-9", "2026-09")) == "unknown_statement"
        assert refused(lambda: confirm_statement(engine, "p-9", "2026-09")) == "unknown_statement"
        assert len(before) == 8 and log_rows(engine) == after_close
        assert len(after_close) == len(before) + 2  # the September close and p-1's statement

    def test_an_empty_month_closes_without_statements_and_keeps_the_order(self, at):
        engine = at(JAN_2)
        record(engine, october())
        close_period(engine, "2026-10")
        empty = close_period(engine, "2026-11")
        assert empty.statements == [] and empty.period == "2026-11"
        record(engine, [usage("c-1", id="u-dec", time="2026-12-05T00:00:00+08:00")])
        assert [s.partner_id for s in close_period(engine, "2026-12").statements] == ["p-1"]
        periods = list_periods(engine).periods
        # Only months with a charge are listed; November closed without one.
        assert [(p.period, p.status) for p in periods] == [("2026-10", "closed"), ("2026-12", "closed")]

    def test_late_charges_of_a_month_before_the_first_close_are_carried_by_the_next(self, at):
        engine = at(NOV_5)
        record(engine, october())
        first = close_period(engine, "2026-10")
        record(
            engine, [usage("c-2", id="u-sep", time="2026-09-20T00:00:00+08:00", quantity="1", unit_price="7.00000000")]
        )
        periods = {p.period: p for p in list_periods(engine).periods}
        assert (periods["2026-09"].status, periods["2026-09"].closed_at) == ("closed", first.issued_at)
        assert periods["2026-10"].closed_at == first.issued_at
        assert period_closed_at(engine, "2026-08") == first.issued_at  # no charge, before the first close
        assert period_closed_at(engine, "2026-11") is None
        assert refused(lambda: close_period(engine, "2026-09")) == "period_already_closed"
        november = close_period(at(DEC_2), "2026-11")
        assert [s.partner_id for s in november.statements] == ["p-2"]
        statement = get_statement(engine, "p-2", "2026-11")
        assert [(a.period, a.customer_id, a.payable_amount) for a in statement.adjustments] == [
            ("2026-09", "c-2", "7.00000000")
        ]
        assert (statement.customers, statement.details) == (0, [])

    def test_a_statement_is_confirmed_or_disputed_then_confirmed_and_a_confirmed_one_is_final(self, at):
        engine = at(NOV_5)
        record(engine, october())
        close_period(engine, "2026-10")
        issued = get_statement(engine, "p-1", "2026-10")
        disputed = dispute_statement(at(NOV_20), "p-1", "2026-10", "c-3's order was cancelled")
        assert disputed.status == "disputed"
        assert [(h.status, h.reason) for h in disputed.history] == [
            ("pending_confirmation", None),
            ("disputed", "c-3's order was cancelled"),
        ]
        assert refused(lambda: dispute_statement(engine, "p-1", "2026-10", "again")) == "invalid_state"
        confirmed = confirm_statement(engine, "p-1", "2026-10")
        assert [h.status for h in confirmed.history] == ["pending_confirmation", "disputed", "confirmed"]
        assert confirmed.digest == disputed.digest == issued.digest  # status and history stay out of it
        assert get_statement(at(NOV_20), "p-1", "2026-10") == confirmed
        assert refused(lambda: confirm_statement(engine, "p-1", "2026-10")) == "invalid_state"
        assert refused(lambda: dispute_statement(engine, "p-1", "2026-10", "late")) == "invalid_state"
        assert confirm_statement(engine, "p-2", "2026-10").history[-1].status == "confirmed"
        changes = [e for e in engine_events(engine) if isinstance(e, StatementStatusChanged)]
        assert [(e.partner_id, e.status, e.total_settled_amount) for e in changes] == [
            ("p-1", "disputed", "103.70"),
            ("p-1", "confirmed", "103.70"),
            ("p-2", "confirmed", "0.00"),
        ]
        listed = list_statements(engine, status="confirmed").statements
        assert [(s.period, s.partner_id) for s in listed] == [("2026-10", "p-1"), ("2026-10", "p-2")]

    def test_statements_filter_by_partner_period_status_and_issue_time(self, at):
        # Recorded before the closes: recorded times never go back along the log (§11).
        engine = at(NOV_5)
        record(engine, [*october(), usage("c-1", id="u-nov", time="2026-11-03T00:00:00+08:00")])
        october_close = close_period(at(NOV_5), "2026-10")
        november_close = close_period(at(DEC_2), "2026-11")
        assert [(s.period, s.partner_id) for s in list_statements(engine).statements] == [
            ("2026-10", "p-1"),
            ("2026-10", "p-2"),
            ("2026-11", "p-1"),
        ]
        assert [s.period for s in list_statements(engine, partner_id="p-1").statements] == ["2026-10", "2026-11"]
        assert [s.partner_id for s in list_statements(engine, period="2026-10").statements] == ["p-1", "p-2"]
        since = list_statements(engine, issued_from=november_close.issued_at).statements
        assert [s.period for s in since] == ["2026-11"]
        before = list_statements(engine, issued_to="2026-12-02T00:00:00+08:00").statements  # exclusive
        assert [s.period for s in before] == ["2026-10", "2026-10"]
        assert [
            s.period
            for s in list_statements(
                engine, issued_from="2026-11-05T00:00:00+08:00", issued_to="2026-11-04T16:00:00.000001Z"
            ).statements
        ] == ["2026-10", "2026-10"]
        assert october_close.issued_at == "2026-11-04T16:00:00.000000Z"
        assert list_statements(engine, status="disputed").statements == []

    def test_a_close_sees_a_fold_held_in_memory_and_events_the_views_have_not_folded(self, at):
        engine = at(NOV_5)
        record(engine, october()[:3])
        # A batch folded in memory only (the views are written every 100,000 events) …
        engine.ledger.record_batch([InboundLine(line(e)) for e in october()[3:5]], engine.projection)
        # … and one recorded by a writer with BILLING_PROJECTIONS=separate (not folded at all).
        separate = at(NOV_5, projections="separate")
        separate.ledger.record_batch([InboundLine(line(e)) for e in october()[5:]], None)
        result = close_period(engine, "2026-10")
        replayed = replayed_performance(engine, "2026-10", result.issued_at)
        assert {s.partner_id: s.total_payable_amount for s in result.statements} == {
            p: replayed[p].payable_amount for p in ("p-1", "p-2")
        }
        assert get_statement(engine, "p-1", "2026-10").customers == 2

    def test_whatever_is_recorded_after_a_close_is_stamped_after_it_even_on_a_fixed_clock(self, at):
        engine = at(NOV_5)
        record(engine, october())
        result = close_period(engine, "2026-10")
        later = at(NOV_5)  # another process, the same fixed clock
        record(later, [usage("c-1", id="u-late", time=OCT)])
        late = [
            e
            for _id, topic, state in log_rows(later)
            if not is_engine_topic(topic)
            for e in [decode_event(topic, state)]
            if e.id == "u-late"
        ]
        assert late[0].recorded_at > result.issued_at
        replayed = replayed_performance(later, "2026-10", result.issued_at)
        assert replayed["p-1"].payable_amount == get_statement(later, "p-1", "2026-10").payable_amount

    def test_serve_closes_due_periods_in_order_once_end_and_grace_have_passed(self, at):
        record(at(NOV_5), [*october(), usage("c-1", id="u-dec", time="2026-12-05T00:00:00+08:00")])
        grace = Grace(0, timedelta(days=3))
        assert close_due_periods(at("2026-11-03T23:59:59+08:00"), grace) == []
        closed = close_due_periods(at("2026-11-04T00:00:00+08:00"), grace)
        assert [c.period for c in closed] == ["2026-10"]
        closed = close_due_periods(at("2027-02-01T00:00:00+08:00"), grace)
        assert [c.period for c in closed] == ["2026-11", "2026-12"]  # not January: it has no charge
        assert closed[0].statements == []

    def test_a_grace_in_months_waits_for_the_end_of_the_month_that_many_months_later(self, at):
        record(at(NOV_5), october())
        grace = Grace(1, timedelta(days=1))  # P1M1D: October closes once December 1 has passed, plus a day
        assert close_due_periods(at("2026-12-01T23:59:59+08:00"), grace) == []
        assert [c.period for c in close_due_periods(at("2026-12-02T00:00:00+08:00"), grace)] == ["2026-10"]

    def test_the_publisher_sends_the_statement_at_its_issue_and_at_each_status_change(self, at):
        engine = at(NOV_5)
        record(engine, october())
        publisher = ViewPublisher(engine)
        publisher.mark_published(publisher.pending().positions)
        close_period(engine, "2026-10")
        dispute_statement(engine, "p-1", "2026-10", "why")
        confirm_statement(engine, "p-1", "2026-10")
        sent = [m for m in publisher.pending().messages if m.topic == topics.STATEMENTS]
        values = [msgspec.json.decode(m.value) for m in sent]
        assert [(m.key, v["status"], len(v["history"])) for m, v in zip(sent, values, strict=True)] == [
            (b"p-1", "pending_confirmation", 1),
            (b"p-2", "pending_confirmation", 1),
            (b"p-1", "disputed", 2),
            (b"p-1", "confirmed", 3),
        ]
        assert values[-1] == msgspec.to_builtins(get_statement(engine, "p-1", "2026-10"))


def units(amount: str) -> int:
    whole, _, fraction = amount.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 10**8 + int(fraction.ljust(8, "0")))


class TestStatementsOnSQLite(StatementContract):
    __test__ = True

    @pytest.fixture
    def store_url(self, tmp_path) -> str:
        return f"sqlite:///{tmp_path / 'billing.db'}"


@pytest.mark.postgres
class TestStatementsOnPostgres(StatementContract):
    __test__ = True

    @pytest.fixture
    def store_url(self, postgres_fresh_dsn) -> str:
        return postgres_fresh_dsn


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"status": "open"}, "status"),
        ({"period": "2026-13"}, "period"),
        ({"issued_from": "2026-11-05"}, "issued_from"),
        ({"issued_to": "2026-11-05T00:00:00"}, "issued_to"),
    ],
)
def test_the_listing_handler_names_the_field_of_a_bad_filter(store, arguments, field):
    from engine.errors import FieldError

    with pytest.raises(FieldError) as error:
        list_statements(store, **arguments)
    assert error.value.field == field


def test_the_close_handler_names_a_bad_period(store):
    from engine.errors import FieldError

    with pytest.raises(FieldError) as error:
        close_period(store, "October")
    assert error.value.field == "period"
