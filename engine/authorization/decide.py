"""The pure decider of authorization requests: requests, the customer's answers, and
what a disassociation does to them. No clock, no I/O: the caller passes the stored
request (if any), the customer's latest association and the store's clock in.

    pending --approve--> approved --revoke--> revoked
    pending --reject---> rejected
    (a disassociation: pending -> rejected, approved -> revoked, reason `disassociated`)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from engine.customer import Association
from engine.errors import Refused
from engine.instants import Instant

PENDING, APPROVED, REJECTED, REVOKED = "pending", "approved", "rejected", "revoked"
STATUSES = (PENDING, APPROVED, REJECTED, REVOKED)
DISASSOCIATED = "disassociated"  # the reason of both automatic steps of a disassociation

# The customer's answers: from which status each one leads where. Anything else is
# `invalid_state` (steps are not repeatable: approving twice is refused).
STEPS: dict[str, tuple[str, str]] = {
    "approve": (PENDING, APPROVED),
    "reject": (PENDING, REJECTED),
    "revoke": (APPROVED, REVOKED),
}


@dataclass(frozen=True, slots=True)
class AuthorizationRecord:
    """An authorization request as it stands."""

    id: str
    partner_id: str
    customer_id: str
    indirect_partner_id: str | None
    status: str


@dataclass(frozen=True, slots=True)
class RequestAuthorization:
    """A partner's request, naming the reseller when it acts on a reseller's sub-customer."""

    id: str
    partner_id: str
    customer_id: str
    indirect_partner_id: str | None = None

    def same_request_as(self, record: AuthorizationRecord) -> bool:
        return (self.partner_id, self.customer_id, self.indirect_partner_id) == (
            record.partner_id,
            record.customer_id,
            record.indirect_partner_id,
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """A request moving to a new status (with the reason a rejection or an automatic step carries)."""

    authorization_id: str
    status: str
    reason: str | None = None


def associated_now(latest: Association | None, partner_id: str, now: Instant) -> bool:
    """The customer's latest association is with the partner, not ended, and began at
    or before the store's clock."""
    return latest is not None and latest.partner_id == partner_id and latest.end is None and latest.start <= now


def decide_request(
    existing: AuthorizationRecord | None,
    latest: Association | None,
    command: RequestAuthorization,
    now: Instant,
) -> AuthorizationRecord | None:
    """The new pending request, or None for a repeat of the request already recorded
    under this id. Judged in the contract's order: id, association, reseller."""
    if existing is not None:
        if command.same_request_as(existing):
            return None
        raise Refused(
            "id_conflict",
            f"authorization {command.id!r} was already requested by partner {existing.partner_id!r} "
            f"of customer {existing.customer_id!r}" + _reseller_words(existing.indirect_partner_id),
        )
    if not associated_now(latest, command.partner_id, now):
        raise Refused(
            "not_associated",
            f"customer {command.customer_id!r} is not associated with partner {command.partner_id!r} now",
        )
    reseller = latest.indirect_partner_id
    if reseller is not None and command.indirect_partner_id is None:
        raise Refused(
            "reseller_required",
            f"customer {command.customer_id!r} is a sub-customer of reseller {reseller!r}: name it (--reseller)",
        )
    if command.indirect_partner_id != reseller:
        raise Refused(
            "reseller_mismatch",
            f"the association of customer {command.customer_id!r} "
            + (f"carries reseller {reseller!r}" if reseller else "carries no reseller")
            + f", not {command.indirect_partner_id!r}",
        )
    return AuthorizationRecord(command.id, command.partner_id, command.customer_id, reseller, PENDING)


def decide_step(
    existing: AuthorizationRecord | None, authorization_id: str, step: str, reason: str | None = None
) -> Transition:
    """The customer's answer (`approve`, `reject` with a reason, `revoke`) to a request."""
    if existing is None:
        raise Refused("unknown_authorization", f"no authorization request {authorization_id!r}")
    source, target = STEPS[step]
    if existing.status != source:
        raise Refused(
            "invalid_state",
            f"authorization {authorization_id!r} is {existing.status}: "
            f"only {_article(source)} {source} one can be {target}",
        )
    return Transition(existing.id, target, reason if target == REJECTED else None)


def decide_disassociation(
    standing: Iterable[AuthorizationRecord], partner_id: str, customer_id: str
) -> list[Transition]:
    """What a disassociation of the customer from the partner does: its pending requests
    are rejected and its approved authorizations revoked, both for `disassociated`."""
    transitions = []
    for record in standing:
        if record.partner_id != partner_id or record.customer_id != customer_id:
            continue
        if record.status == PENDING:
            transitions.append(Transition(record.id, REJECTED, DISASSOCIATED))
        elif record.status == APPROVED:
            transitions.append(Transition(record.id, REVOKED, DISASSOCIATED))
    return transitions


def evolve(record: AuthorizationRecord, transition: Transition) -> AuthorizationRecord:
    return replace(record, status=transition.status)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _reseller_words(reseller: str | None) -> str:
    return f" naming reseller {reseller!r}" if reseller is not None else " naming no reseller"
