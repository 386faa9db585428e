"""Incentives of closed periods (CONTRACT.md §9): `final` values as known at the close
(the partner's statement, adjustments included; `replay --as-of` the close; supervisors
as recorded by the close), and `incentives settle`, worked out by hand."""

from __future__ import annotations

import json

import pytest

from commands import accounts
from commands.incentive_settle import settle_incentives
from commands.incentive_values import read_period
from commands.incentives import IncentiveScope, dashboard, incentive_report, indicator_values, load_policy
from commands.queries import view_settings
from commands.statements import close_period, confirm_statement, dispute_statement, get_statement
from engine.errors import Refused
from engine.money import parse_amount
from projections.replay import replay_period
from tests.builders import assigned, associated, incentive_policy, reward, usage
from tests.conftest import record

POLICY = incentive_policy(
    rewards=[
        reward("consumption", "stepped", ("0", "0.02"), ("10000", "0.03")),
        reward("new_enterprise", "whole", ("1", "100")),
    ],
    periods=("2026-09", "2026-10", "2026-11", "2026-12"),
)
OCT, NOV = "2026-10-{:02d}T12:00:00+08:00", "2026-11-{:02d}T12:00:00+08:00"


@pytest.fixture
def engine(open_store):
    """A store whose clock is past November's end, with October's facts and the policy."""
    engine = open_store(now="2026-12-05T10:00:00+08:00")
    accept(
        engine,
        [
            assigned("am-1", "sv-1", time="2026-09-01T00:00:00+08:00"),
            assigned("am-2", "sv-2", time="2026-09-01T00:00:00+08:00"),
            associated("c-1", time=OCT.format(1), data={"account_manager_id": "am-1"}),
            associated("c-2", time=OCT.format(1), customer_type="individual", data={"account_manager_id": "am-2"}),
            usage("c-1", quantity="12000", unit_price="1", time=OCT.format(3)),
            usage("c-2", quantity="100.555", unit_price="1", time=OCT.format(4)),
        ],
    )
    load_policy(engine, json.dumps(POLICY).encode())
    return engine


def accept(engine, events) -> None:
    counts = record(engine, events)
    assert (counts.rejected, counts.accepted) == (0, len(events)), engine.ledger.recorder.select_rejections()


def values(engine, period, partner="p-1", **scope):
    got = indicator_values(engine, partner, period, IncentiveScope(**scope))
    return got.status, got.settled_amount, got.payable_amount, got.consuming_customers, got.new_enterprise_customers


def code_of(call) -> str:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.code


def test_a_closed_period_is_final_as_known_at_its_close(engine):
    assert values(engine, "2026-10")[0] == "estimated"
    closed = close_period(engine, "2026-10")
    # Recorded after the close: a late October usage and a new October customer.
    accept(
        engine,
        [
            usage("c-1", quantity="7", unit_price="1", time=OCT.format(20)),
            associated("c-3", time=OCT.format(21), data={"account_manager_id": "am-1"}),
        ],
    )
    assert values(engine, "2026-10") == ("final", "12100.55", "12100.55500000", 2, 1)
    assert values(engine, "2026-10", account_manager_id="am-1") == ("final", "12000.00", "12000.00000000", 1, 1)
    assert values(engine, "2026-10", account_manager_id="am-2") == ("final", "100.55", "100.55500000", 1, 0)
    assert values(engine, "2026-10", account_manager_id="am-9") == ("final", "0.00", "0.00000000", 0, 0)
    statement = get_statement(engine, "p-1", "2026-10")
    assert (statement.total_settled_amount, statement.total_payable_amount) == ("12100.55", "12100.55500000")
    replayed = replay_period(engine.ledger, view_settings(engine, "2026-10"), closed.issued_at)[0].customers[0]
    assert (replayed.consuming_customers, replayed.new_enterprise_customers_quarter) == (2, 1)
    # stepped: 10000 × 0.02 + 2100.55 × 0.03 = 263.0165 → 263.01; one new enterprise customer: 100
    assert incentive_report(engine, "p-1", "2026-10").total == "363.01"


def test_a_late_charge_counts_in_the_period_whose_statement_carries_it_as_an_adjustment(engine):
    close_period(engine, "2026-10")
    accept(
        engine,
        [
            usage("c-1", quantity="7", unit_price="1", time=OCT.format(20)),
            usage("c-2", quantity="3", unit_price="1", time=NOV.format(2)),
        ],
    )
    assert values(engine, "2026-11")[:3] == ("estimated", "3.00", "3.00000000")  # live views: November's own
    close_period(engine, "2026-11")
    statement = get_statement(engine, "p-1", "2026-11")
    assert (statement.settled_amount, statement.adjustments_settled_amount) == ("3.00", "7.00")
    assert values(engine, "2026-11") == ("final", "10.00", "10.00000000", 1, 1)  # c-1 is new this quarter
    assert values(engine, "2026-11", account_manager_id="am-1")[1:3] == ("7.00", "7.00000000")
    assert values(engine, "2026-11", account_manager_id="am-2")[1:3] == ("3.00", "3.00000000")
    assert values(engine, "2026-10")[1] == "12100.55"  # October's statement never changes
    rows = read_period(engine, "p-1", "2026-11")
    assert rows.carried.total() == (
        parse_amount("p", statement.total_payable_amount),
        parse_amount("s", statement.total_settled_amount),
    )


def test_a_supervisors_account_managers_are_those_recorded_by_the_close(engine):
    close_period(engine, "2026-10")
    # Recorded after October's close, effective in October: am-2 moves to sv-1.
    accept(engine, [assigned("am-2", "sv-1", time=OCT.format(15))])
    assert values(engine, "2026-10", supervisor_id="sv-1")[1] == "12000.00"
    assert values(engine, "2026-10", supervisor_id="sv-2")[1] == "100.55"
    board = dashboard(engine, "p-1", "2026-10", IncentiveScope())
    assert board.report.status == "final"
    assert [(label, part.indicators[0].value) for label, part in board.breakdown] == [
        ("sv-1", "12000.00"),
        ("sv-2", "100.55"),
    ]
    assert dashboard(engine, "p-1", "2026-10", IncentiveScope(supervisor_id="sv-1")).managers == {"am-1"}
    # November is open: the assignment stands there.
    assert dashboard(engine, "p-1", "2026-11", IncentiveScope(supervisor_id="sv-1")).managers == {"am-1", "am-2"}


def test_a_month_before_the_first_close_is_final_with_no_statement_of_its_own(engine):
    close_period(engine, "2026-10")
    accept(
        engine,
        [
            associated("c-5", time="2026-09-01T00:00:00+08:00"),
            usage("c-5", quantity="5", unit_price="1", time="2026-09-30T12:00:00+08:00"),
        ],
    )
    assert values(engine, "2026-09") == ("final", "0.00", "0.00000000", 0, 0)
    close_period(engine, "2026-11")  # carries September's late usage as an adjustment
    assert values(engine, "2026-11")[1] == "5.00"


def test_settle_refuses_until_the_period_is_closed_and_every_statement_confirmed(engine):
    events = engine.ledger.recorder.count_events
    assert code_of(lambda: settle_incentives(engine, "2027-01")) == "no_policy"
    assert code_of(lambda: settle_incentives(engine, "2026-10")) == "period_not_closed"
    close_period(engine, "2026-10")
    before = events()
    assert code_of(lambda: settle_incentives(engine, "2026-10")) == "statement_not_confirmed"
    dispute_statement(engine, "p-1", "2026-10", "a charge we do not know")
    assert code_of(lambda: settle_incentives(engine, "2026-10")) == "statement_not_confirmed"
    assert events() == before + 1  # the dispute alone
    confirm_statement(engine, "p-1", "2026-10")
    first = settle_incentives(engine, "2026-10")
    assert first.recorded
    transfers = [(t.id, t.kind, t.debit, t.credit, t.amount, t.status) for t in first.value.transfers]
    assert transfers == [
        ("incentive:2026Q4:2026-10:p-1", "incentive", "cloud:incentives", "incentive:p-1", "363.01", "posted")
    ]
    assert first.value.transfers == accounts.transfers(engine, "p-1").transfers[-1:]
    recorded = events()
    again = settle_incentives(engine, "2026-10")
    assert (again.recorded, again.value, events()) == (False, first.value, recorded)
    account = accounts.account(engine, "p-1").incentive
    assert (account.balance, account.available) == ("363.01", "363.01")
    assert accounts.ledger(engine).total == "0.00"


def test_settle_credits_every_partner_with_a_positive_total_and_no_one_else(engine):
    accept(
        engine,
        [
            associated("c-7", "p-2", time=OCT.format(9)),  # p-2: one new enterprise customer, no charge
            associated("c-8", "p-3", customer_type="individual", time=OCT.format(9)),
        ],
    )  # p-3: nothing
    close_period(engine, "2026-10")
    confirm_statement(engine, "p-1", "2026-10")
    settled = settle_incentives(engine, "2026-10").value
    assert [(t.id, t.amount) for t in settled.transfers] == [
        ("incentive:2026Q4:2026-10:p-1", "363.01"),
        ("incentive:2026Q4:2026-10:p-2", "100.00"),
    ]
    assert incentive_report(engine, "p-3", "2026-10").total == "0.00"


def test_a_month_with_no_statement_is_settled_for_what_its_counts_earn(engine):
    accept(engine, [associated("c-9", time="2026-09-10T00:00:00+08:00")])  # September: no charge, so no statement
    assert code_of(lambda: settle_incentives(engine, "2026-09")) == "period_not_closed"
    close_period(engine, "2026-10")  # closes September too (a month before the first close)
    assert values(engine, "2026-09") == ("final", "0.00", "0.00000000", 0, 1)
    settled = settle_incentives(engine, "2026-09").value
    assert [(t.id, t.amount) for t in settled.transfers] == [("incentive:2026Q4:2026-09:p-1", "100.00")]


@pytest.mark.postgres
def test_final_values_and_settle_on_postgresql(open_url, postgres_fresh_dsn):
    engine = open_url(postgres_fresh_dsn, now="2026-12-05T10:00:00+08:00")
    accept(
        engine,
        [
            associated("c-1", time=OCT.format(1), data={"account_manager_id": "am-1"}),
            usage("c-1", quantity="20000", unit_price="1", time=OCT.format(3)),
        ],
    )
    load_policy(engine, json.dumps(POLICY).encode())
    close_period(engine, "2026-10")
    accept(engine, [usage("c-1", quantity="1", unit_price="1", time=OCT.format(20))])
    assert values(engine, "2026-10", account_manager_id="am-1") == ("final", "20000.00", "20000.00000000", 1, 1)
    confirm_statement(engine, "p-1", "2026-10")
    # 10000 × 0.02 + 10000 × 0.03 + 100
    assert [t.amount for t in settle_incentives(engine, "2026-10").value.transfers] == ["600.00"]
    assert settle_incentives(engine, "2026-10").recorded is False


def test_a_closed_period_is_read_from_the_log_once_and_stays_what_a_new_reader_finds(engine, open_store):
    close_period(engine, "2026-10")
    first = read_period(engine, "p-1", "2026-10")
    accept(engine, [usage("c-1", quantity="7", unit_price="1", time=OCT.format(20))])  # after the close
    assert read_period(engine, "p-1", "2026-10") is first, "the close's rows are kept, not read again"
    assert read_period(engine, "p-2", "2026-10") is not first
    assert read_period(engine, "p-1", "2026-11").close is None, "an open period is read live"

    fresh = open_store(now="2026-12-05T10:00:00+08:00")  # the same file, nothing kept yet
    again = read_period(fresh, "p-1", "2026-10")
    assert again is not first
    assert (sorted(again.charges), again.statement_units, again.carried.total()) == (
        sorted(first.charges),
        first.statement_units,
        first.carried.total(),
    )
    assert values(fresh, "2026-10") == values(engine, "2026-10") == ("final", "12100.55", "12100.55500000", 2, 1)
