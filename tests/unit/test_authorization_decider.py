"""The authorization decider (CONTRACT.md §12): every refusal in the contract's order,
every transition, and what a disassociation does. Pure: no store, the clock passed in."""

from __future__ import annotations

import pytest

from engine.authorization.decide import (
    APPROVED,
    DISASSOCIATED,
    PENDING,
    REJECTED,
    REVOKED,
    AuthorizationRecord,
    RequestAuthorization,
    Transition,
    associated_now,
    decide_disassociation,
    decide_request,
    decide_step,
    evolve,
)
from engine.customer import Association
from engine.errors import Refused
from engine.instants import parse_instant

NOW = parse_instant("2026-11-30T00:00:00Z")
BEFORE = parse_instant("2026-10-01T00:00:00+08:00")
AFTER = parse_instant("2026-12-01T00:00:00+08:00")


def association(partner: str = "p-1", *, start: str = BEFORE, end: str | None = None, reseller: str | None = None):
    return Association(partner, start, end, "enterprise", None, reseller)


def request(reseller: str | None = None, *, id: str = "A-1", partner: str = "p-1", customer: str = "c-1"):
    return RequestAuthorization(id, partner, customer, reseller)


def record(status: str = PENDING, *, id: str = "A-1", partner: str = "p-1", customer: str = "c-1", reseller=None):
    return AuthorizationRecord(id, partner, customer, reseller, status)


def refusal(call, *args) -> str:
    with pytest.raises(Refused) as refused:
        call(*args)
    return refused.value.code


# Requests -----------------------------------------------------------------------------


def test_a_request_of_a_customer_associated_now_is_pending():
    assert decide_request(None, association(), request(), NOW) == record(PENDING)


def test_a_request_naming_the_associations_reseller_keeps_it():
    made = decide_request(None, association(reseller="r-1"), request("r-1"), NOW)
    assert made == record(PENDING, reseller="r-1")


def test_a_customer_never_associated_is_not_associated():
    assert refusal(decide_request, None, None, request(), NOW) == "not_associated"


def test_a_customer_associated_with_another_partner_is_not_associated():
    assert refusal(decide_request, None, association("p-2"), request(), NOW) == "not_associated"


def test_a_customer_whose_association_ended_is_not_associated():
    ended = association(end=parse_instant("2026-11-01T00:00:00Z"))
    assert refusal(decide_request, None, ended, request(), NOW) == "not_associated"


def test_an_association_beginning_after_the_clock_is_not_associated_now():
    assert refusal(decide_request, None, association(start=AFTER), request(), NOW) == "not_associated"


def test_an_association_beginning_exactly_at_the_clock_is_associated_now():
    assert associated_now(association(start=NOW), "p-1", NOW)


def test_a_reseller_sub_customer_needs_the_reseller_named():
    assert refusal(decide_request, None, association(reseller="r-1"), request(), NOW) == "reseller_required"


def test_naming_another_reseller_is_a_mismatch():
    assert refusal(decide_request, None, association(reseller="r-1"), request("r-2"), NOW) == "reseller_mismatch"


def test_naming_a_reseller_for_a_direct_customer_is_a_mismatch():
    assert refusal(decide_request, None, association(), request("r-1"), NOW) == "reseller_mismatch"


def test_the_same_request_again_is_a_repeat_whatever_has_happened_since():
    # The id is judged first: a repeat after approval, or after the customer left, is still a repeat.
    for status in (PENDING, APPROVED, REVOKED):
        assert decide_request(record(status), None, request(), NOW) is None


def test_the_same_id_with_another_partner_customer_or_reseller_is_an_id_conflict():
    for other in (request(partner="p-2"), request(customer="c-2"), request("r-1")):
        assert refusal(decide_request, record(), association(), other, NOW) == "id_conflict"


def test_an_id_conflict_is_judged_before_the_association():
    assert refusal(decide_request, record(), None, request(partner="p-2"), NOW) == "id_conflict"


def test_not_associated_is_judged_before_the_reseller():
    assert refusal(decide_request, None, association("p-2", reseller="r-1"), request(), NOW) == "not_associated"


# The customer's answers -----------------------------------------------------------------


def test_approving_a_pending_request_approves_it():
    assert decide_step(record(PENDING), "A-1", "approve") == Transition("A-1", APPROVED)


def test_rejecting_a_pending_request_keeps_the_reason():
    assert decide_step(record(PENDING), "A-1", "reject", "not now") == Transition("A-1", REJECTED, "not now")


def test_revoking_an_approved_authorization_revokes_it_without_a_reason():
    assert decide_step(record(APPROVED), "A-1", "revoke") == Transition("A-1", REVOKED)


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (APPROVED, "approve"),
        (REJECTED, "approve"),
        (REVOKED, "approve"),
        (APPROVED, "reject"),
        (REJECTED, "reject"),
        (REVOKED, "reject"),
        (PENDING, "revoke"),
        (REJECTED, "revoke"),
        (REVOKED, "revoke"),
    ],
)
def test_every_other_step_is_an_invalid_state(status, step):
    assert refusal(decide_step, record(status), "A-1", step, "why") == "invalid_state"


def test_an_unknown_id_is_an_unknown_authorization():
    for step in ("approve", "reject", "revoke"):
        assert refusal(decide_step, None, "A-9", step, "why") == "unknown_authorization"


def test_evolve_moves_the_record_to_the_transitions_status():
    assert evolve(record(PENDING), Transition("A-1", APPROVED)).status == APPROVED


# Disassociation -----------------------------------------------------------------------


def test_a_disassociation_rejects_pending_and_revokes_approved_both_for_disassociated():
    standing = [
        record(PENDING, id="A-1"),
        record(APPROVED, id="A-2"),
        record(REJECTED, id="A-3"),
        record(REVOKED, id="A-4"),
    ]
    assert decide_disassociation(standing, "p-1", "c-1") == [
        Transition("A-1", REJECTED, DISASSOCIATED),
        Transition("A-2", REVOKED, DISASSOCIATED),
    ]


def test_a_disassociation_leaves_other_partners_and_customers_alone():
    standing = [record(APPROVED, id="A-1", partner="p-2"), record(PENDING, id="A-2", customer="c-2")]
    assert decide_disassociation(standing, "p-1", "c-1") == []
