"""Subsidy milestones and the working-day calendar through the handlers, on real stores
(CONTRACT.md §9): what is recorded, what is refused, and what a later calendar leaves alone."""

from __future__ import annotations

import json
from datetime import date

import pytest

from commands.subsidies import (
    InvalidArgument,
    calendar_years,
    deliver_milestone,
    load_calendar,
    plan_milestone,
    subsidies,
)
from engine.errors import Refused
from engine.incentives.working_days import CalendarFileError
from schemas.incentive_views import Subsidy
from tests.contract_fields import SUBSIDY_KEYS

D = date.fromisoformat


def calendar_file(year: int = 2027, holidays=("2027-01-01",), working_days=("2027-01-09",), source="official") -> bytes:
    return json.dumps(
        {"year": year, "holidays": list(holidays), "working_days": list(working_days), "source": source}
    ).encode()


def refused(code: str, call, *args) -> Refused:
    with pytest.raises(Refused) as caught:
        call(*args)
    assert caught.value.code == code, caught.value
    return caught.value


def test_a_planned_milestone_is_pending_with_its_decision_null(store):
    outcome = plan_milestone(store, "p-1", "d-1", "m-1", D("2026-11-02"), "1000")
    assert outcome.recorded is True
    assert outcome.value == Subsidy(
        "p-1", "d-1", "m-1", "2026-11-02", None, "1000.00", None, None, None, "pending", None
    )
    assert list(outcome.value.__struct_fields__) == SUBSIDY_KEYS


def test_planning_the_same_again_records_nothing_and_a_different_plan_is_a_conflict(store):
    plan_milestone(store, "p-1", "d-1", "m-1", D("2026-11-02"), "1000.00")
    events = store.ledger.recorder.count_events()
    assert plan_milestone(store, "p-1", "d-1", "m-1", D("2026-11-02"), "1000").recorded is False
    refused("id_conflict", plan_milestone, store, "p-1", "d-1", "m-1", D("2026-11-02"), "999.99")
    refused("id_conflict", plan_milestone, store, "p-1", "d-1", "m-1", D("2026-11-03"), "1000")
    refused("id_conflict", plan_milestone, store, "p-2", "d-1", "m-2", D("2026-11-03"), "1000")  # another's deal
    assert store.ledger.recorder.count_events() == events


@pytest.mark.parametrize("amount", ["0", "0.00", "-1", "1.001", "1e3", "1000000000000", " 1", ""])
def test_an_amount_that_is_not_positive_money_in_minor_digits_is_invalid(store, amount):
    with pytest.raises(InvalidArgument, match="amount"):
        plan_milestone(store, "p-1", "d-1", "m-1", D("2026-11-02"), amount)


def test_a_delivery_is_decided_once_with_the_calendar_it_used(store):
    plan_milestone(store, "p-1", "d-1", "m-1", D("2026-09-30"), "1000.00")
    decided = deliver_milestone(store, "d-1", "m-1", D("2026-10-30"))
    assert (
        decided.delivered,
        decided.working_days_late,
        decided.deduction_rate,
        decided.payable_amount,
        decided.status,
        decided.calendar,
    ) == ("2026-10-30", 18, "0.05", "950.00", "reduced", "chinesecalendar 1.11.0")
    events = store.ledger.recorder.count_events()
    refused("invalid_state", deliver_milestone, store, "d-1", "m-1", D("2026-10-30"))
    refused("unknown_milestone", deliver_milestone, store, "d-1", "m-9", D("2026-10-30"))
    assert store.ledger.recorder.count_events() == events


def test_a_year_not_covered_is_refused_until_its_schedule_is_loaded(store):
    plan_milestone(store, "p-1", "d-1", "m-1", D("2026-12-30"), "100.00")
    message = refused("calendar_not_covered", deliver_milestone, store, "d-1", "m-1", D("2027-01-11")).message
    assert "2027" in message
    assert subsidies(store).subsidies[0].status == "pending"
    assert load_calendar(store, calendar_file()).recorded is True
    decided = deliver_milestone(store, "d-1", "m-1", D("2027-01-11"))
    # Thu Dec 31, Mon Jan 4 - Fri Jan 8, Sat Jan 9 (worked), Mon Jan 11; Fri Jan 1 off.
    assert (decided.working_days_late, decided.calendar) == (8, "chinesecalendar 1.11.0, loaded 2027 v1")


def test_a_later_calendar_never_changes_a_decided_subsidy(store):
    load_calendar(store, calendar_file(holidays=()))
    plan_milestone(store, "p-1", "d-1", "m-1", D("2027-01-29"), "100.00")
    plan_milestone(store, "p-1", "d-1", "m-2", D("2027-01-29"), "100.00")
    first = deliver_milestone(store, "d-1", "m-1", D("2027-02-26"))
    assert load_calendar(store, calendar_file(holidays=["2027-02-0" + str(d) for d in range(1, 6)])).recorded
    second = deliver_milestone(store, "d-1", "m-2", D("2027-02-26"))
    assert (first.working_days_late, first.calendar) == (20, "loaded 2027 v1")
    assert (second.working_days_late, second.calendar) == (15, "loaded 2027 v2")
    assert subsidies(store).subsidies[0] == first


def test_loading_the_same_schedule_again_records_nothing(store):
    load_calendar(store, calendar_file(holidays=["2027-01-02", "2027-01-01"]))
    events = store.ledger.recorder.count_events()
    again = load_calendar(store, calendar_file(holidays=["2027-01-01", "2027-01-02"]))
    assert again.recorded is False and again.value.calendar == "loaded 2027 v1"
    assert store.ledger.recorder.count_events() == events
    assert load_calendar(store, calendar_file(source="corrected")).value.calendar == "loaded 2027 v2"


def test_the_calendar_lists_the_packages_years_and_the_loaded_ones(store):
    load_calendar(store, calendar_file(year=2028, holidays=["2028-01-03"], working_days=()))
    years = calendar_years(store).years
    assert [y.year for y in years] == [*range(2004, 2027), 2028]
    assert (years[0].calendar, years[0].loaded_at) == ("chinesecalendar 1.11.0", None)
    assert (years[-1].calendar, years[-1].source) == ("loaded 2028 v1", "official")
    assert years[-1].loaded_at is not None


def test_a_malformed_calendar_file_records_nothing(store):
    events = store.ledger.recorder.count_events()
    with pytest.raises(CalendarFileError):
        load_calendar(store, calendar_file(working_days=["2027-01-11"]))  # a Monday
    assert store.ledger.recorder.count_events() == events


def test_subsidies_are_listed_by_deal_then_milestone_and_filtered(store):
    for partner, deal, milestone in [
        ("p-2", "d-2", "m-1"),
        ("p-1", "d-10", "m-2"),
        ("p-1", "d-10", "m-10"),
        ("p-1", "d-1", "m-1"),
    ]:
        plan_milestone(store, partner, deal, milestone, D("2026-11-02"), "10")
    listed = [(s.deal_id, s.milestone) for s in subsidies(store).subsidies]
    assert listed == [("d-1", "m-1"), ("d-10", "m-10"), ("d-10", "m-2"), ("d-2", "m-1")]
    assert [s.deal_id for s in subsidies(store, partner_id="p-2").subsidies] == ["d-2"]
    assert [s.milestone for s in subsidies(store, deal_id="d-10").subsidies] == ["m-10", "m-2"]
    assert subsidies(store, partner_id="p-1", deal_id="d-2").subsidies == []


def test_decisions_are_in_the_log_and_the_tables_survive_reopening(open_store):
    engine = open_store()
    plan_milestone(engine, "p-1", "d-1", "m-1", D("2026-11-02"), "10")
    deliver_milestone(engine, "d-1", "m-1", D("2026-11-03"))
    assert engine.ledger.recorder.count_events() == 2
    listed = subsidies(engine)
    engine.close()
    assert subsidies(open_store()) == listed


@pytest.mark.postgres
def test_subsidies_and_calendar_loads_on_postgresql(open_url, postgres_fresh_dsn):
    engine = open_url(postgres_fresh_dsn)
    load_calendar(engine, calendar_file())
    plan_milestone(engine, "p-1", "d-1", "m-1", D("2026-12-30"), "100.00")
    decided = deliver_milestone(engine, "d-1", "m-1", D("2027-01-11"))
    assert (decided.working_days_late, decided.status) == (8, "late")
    refused("invalid_state", deliver_milestone, engine, "d-1", "m-1", D("2027-01-11"))
    assert calendar_years(open_url(postgres_fresh_dsn, create=False)).years[-1].calendar == "loaded 2027 v1"
