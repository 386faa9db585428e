"""Authorization requests (CONTRACT.md §12): handlers the CLI and the HTTP API share,
and the batch hook that ends a partner's authorizations when its customer is
disassociated.

Each request or answer is one engine decision (`Ledger.record_decision`): the request
and the customer's association are read inside the write transaction that records the
step, so two processes never decide from the same state. A refusal records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import msgspec

from engine.authorization.decide import (
    STATUSES,
    RequestAuthorization,
    Transition,
    decide_disassociation,
    decide_request,
    decide_step,
)
from engine.customer import Association, CustomerState
from engine.errors import FieldError
from engine.instants import parse_instant
from engine.recording import Decision
from projections.authorizations import authorization_record, authorizations, standing_of
from projections.catalog import has_table
from schemas.recorded import CustomerDisassociated
from schemas.resource_events import (
    AUTHORIZATION_STREAM,
    AuthorizationApproved,
    AuthorizationRejected,
    AuthorizationRequested,
    AuthorizationRevoked,
)
from schemas.resources import Authorization, AuthorizationList, AuthorizationStep

if TYPE_CHECKING:
    from commands.bootstrap import Engine
    from engine.recorded_events import RecordedEvents

_STEP_EVENTS = {"approved": AuthorizationApproved, "rejected": AuthorizationRejected, "revoked": AuthorizationRevoked}
_STATE_DECODER = msgspec.msgpack.Decoder(CustomerState)
ID_MAX, REASON_MAX = 64, 512


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    """What a request or an answer printed; `repeated`: the same request again, which
    changed nothing and prints what the first call printed."""

    authorization: Authorization
    repeated: bool = False


def check_id(field: str, value: str | None, *, optional: bool = False) -> None:
    """An id is 1..64 characters (FieldError naming the field otherwise)."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not 1 <= len(value) <= ID_MAX:
        raise FieldError(field, f"must be 1..{ID_MAX} characters")


def check_reason(field: str, value: str | None) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= REASON_MAX:
        raise FieldError(field, f"must be 1..{REASON_MAX} characters")


def request_authorization(
    engine: Engine, *, authorization_id: str, partner_id: str, customer_id: str, reseller: str | None = None
) -> AuthorizationResult:
    """Records a partner's request of a customer (`pending`), or recognises a repeat."""
    for field, value in (("id", authorization_id), ("partner_id", partner_id), ("customer_id", customer_id)):
        check_id(field, value)
    check_id("reseller", reseller, optional=True)
    command = RequestAuthorization(authorization_id, partner_id, customer_id, reseller)

    def decide(decision: Decision) -> AuthorizationResult:
        existing = authorization_record(decision.rows, authorization_id)
        latest = _latest_association(decision, customer_id)
        record = decide_request(existing, latest, command, parse_instant(decision.recorded_at))
        if record is None:
            return AuthorizationResult(_as_first_printed(decision, authorization_id), repeated=True)
        decision.append(
            AuthorizationRequested,
            stream=AUTHORIZATION_STREAM,
            id=record.id,
            partner_id=record.partner_id,
            customer_id=record.customer_id,
            indirect_partner_id=record.indirect_partner_id,
        )
        step = AuthorizationStep(record.status, decision.recorded_at, None)
        return AuthorizationResult(
            Authorization(
                record.id, record.partner_id, record.customer_id, record.indirect_partner_id, record.status, [step]
            )
        )

    return engine.ledger.record_decision(decide)


def answer_authorization(
    engine: Engine, authorization_id: str, step: str, reason: str | None = None
) -> AuthorizationResult:
    """The customer's answer, recorded on its behalf: `approve`, `reject` (with a
    reason) or `revoke`. Prints the authorization after the change."""
    check_id("id", authorization_id)
    if step == "reject":
        check_reason("reason", reason)

    def decide(decision: Decision) -> AuthorizationResult:
        existing = authorization_record(decision.rows, authorization_id)
        transition = decide_step(existing, authorization_id, step, reason)
        (before,) = authorizations(decision.rows, ids=[authorization_id])
        _append(decision, transition)
        history = [*before.history, AuthorizationStep(transition.status, decision.recorded_at, transition.reason)]
        return AuthorizationResult(msgspec.structs.replace(before, status=transition.status, history=history))

    return engine.ledger.record_decision(decide)


def list_authorizations(
    engine: Engine, *, partner_id: str | None = None, customer_id: str | None = None, status: str | None = None
) -> AuthorizationList:
    if status is not None and status not in STATUSES:
        raise FieldError("status", f"must be one of {', '.join(STATUSES)}")
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        if not has_table(recorder, c, "authorizations"):
            return AuthorizationList([])
        found = authorizations(partial(recorder.rows, c), partner_id=partner_id, customer_id=customer_id, status=status)
    return AuthorizationList(found)


def end_authorizations_on_disassociation(decision: Decision, recorded: RecordedEvents) -> None:
    """Batch hook: each disassociation in the batch rejects the partner's pending
    requests of the customer and revokes its approved authorizations, at the batch's
    recorded time (the disassociation's), in the batch's transaction."""
    ended: set[str] = set()  # steps appended here reach the tables only after the hooks
    for _notification_id, event in recorded.of_type(CustomerDisassociated):
        standing = [r for r in standing_of(decision.rows, event.customer_id, event.partner_id) if r.id not in ended]
        for transition in decide_disassociation(standing, event.partner_id, event.customer_id):
            ended.add(transition.authorization_id)
            _append(decision, transition)


def _append(decision: Decision, transition: Transition) -> None:
    event_type = _STEP_EVENTS[transition.status]
    fields = {} if event_type is AuthorizationApproved else {"reason": transition.reason}
    decision.append(event_type, stream=AUTHORIZATION_STREAM, id=transition.authorization_id, **fields)


def _latest_association(decision: Decision, customer_id: str) -> Association | None:
    """The customer's latest association, read from its decision state as committed
    (not from a process's cache: another process may have recorded since)."""
    stored = decision.ledger.recorder.select_customer_states(decision.cursor, [customer_id])
    if customer_id not in stored:
        return None
    state = _STATE_DECODER.decode(stored[customer_id][1])
    return state.associations[-1] if state.associations else None


def _as_first_printed(decision: Decision, authorization_id: str) -> Authorization:
    """The request as its first call printed it: pending, with its first step only."""
    (current,) = authorizations(decision.rows, ids=[authorization_id])
    first = current.history[0]
    return msgspec.structs.replace(current, status=first.status, history=[first])
