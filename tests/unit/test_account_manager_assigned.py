"""`account_manager.assigned` (CONTRACT.md §1, §9): judged like every inbound type,
decided in its partner's roster stream, with no customer and no charge."""

from __future__ import annotations

import pytest

from engine.customer import CustomerState, evolve
from engine.decide import Rules, decide
from engine.instants import BillingCalendar
from engine.judge import Candidate, judge_line
from schemas.recorded import AccountManagerAssigned, roster_stream
from tests.builders import assigned, line

CNY = Rules(currency="CNY", minor_digits=2, calendar=BillingCalendar("Asia/Shanghai"))


def test_a_sound_assignment_is_a_candidate_in_its_partners_roster_stream():
    verdict = judge_line(line(assigned("am-1", "sv-1", "p-7")))
    assert isinstance(verdict, Candidate) and verdict.problem is None
    assert verdict.customer_id is None
    assert verdict.stream == roster_stream("p-7") and verdict.stream.endswith("account_managers:p-7")
    assert len(verdict.stream) > 64  # no customer id can name it


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"supervisor_id": None}, "data.supervisor_id"),
        ({"account_manager_id": ""}, "data.account_manager_id"),
        ({"partner_id": "p" * 65}, "data.partner_id"),
        ({"supervisor_id": 7}, "data.supervisor_id"),
    ],
)
def test_a_missing_or_malformed_field_is_invalid_data_naming_it(data, field):
    body = assigned()
    body["data"] = {key: value for key, value in {**body["data"], **data}.items() if value is not None}
    verdict = judge_line(line(body))
    assert isinstance(verdict, Candidate) and verdict.problem is not None
    assert str(verdict.problem).startswith(f"{field}:"), verdict.problem


def test_unknown_data_fields_are_ignored():
    verdict = judge_line(line(assigned(data={"team": "north"})))
    assert isinstance(verdict, Candidate) and verdict.problem is None


def test_the_decision_records_no_customer_and_versions_the_roster():
    state = CustomerState(customer_id=roster_stream("p-1"))
    events = []
    for body in (assigned("am-1", "sv-1"), assigned("am-1", "sv-2", time="2026-09-01T00:00:00Z")):
        event = decide(state, judge_line(line(body)), CNY, "2026-12-01T00:00:00.000000Z")
        evolve(state, event)
        events.append(event)
    assert all(isinstance(e, AccountManagerAssigned) for e in events)
    assert [(e.originator_id, e.originator_version, e.customer_id) for e in events] == [
        (roster_stream("p-1"), 1, ""),
        (roster_stream("p-1"), 2, ""),
    ]
    assert (events[1].partner_id, events[1].account_manager_id, events[1].supervisor_id) == ("p-1", "am-1", "sv-2")
    assert events[1].at < events[0].at  # business time as sent, in whatever order recorded
    assert state.associations == [] and state.orders == {}
