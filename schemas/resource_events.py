"""Engine events of CONTRACT.md §12: the steps of authorization requests and the loads
of the service catalogue. Stored in the log like every engine event; a field is never
renamed or dropped, a new one goes at the end with a default.

Every event of one authorization request carries the request's id as its `id`; the
log's `type` tells the steps apart.
"""

from __future__ import annotations

from schemas.engine_events import EngineEvent
from schemas.resources import ServiceTypeNames

# The streams (originator ids) of these events. Customers' streams are named by their
# ids (1..64 characters): names longer than that can never be a customer's stream, whose
# versions a customer's next batch would otherwise collide with.
AUTHORIZATION_STREAM = "billing-engine/authorization-requests/answers-recorded-for-customers"
CATALOG_STREAM = "billing-engine/service-catalogue/every-load-replaces-the-whole-catalogue"


class AuthorizationRequested(EngineEvent, kw_only=True):
    """A partner asked a customer it is associated with for authorization (`pending`)."""

    LOG_TYPE = "authorization.requested"
    partner_id: str
    customer_id: str
    # The reseller the request names (the association's `indirect_partner_id`), if any.
    indirect_partner_id: str | None = None


class AuthorizationApproved(EngineEvent, kw_only=True):
    """The customer approved the request (`approved`)."""

    LOG_TYPE = "authorization.approved"


class AuthorizationRejected(EngineEvent, kw_only=True):
    """The customer rejected the request, or it was pending when the customer was
    disassociated (reason `disassociated`)."""

    LOG_TYPE = "authorization.rejected"
    reason: str


class AuthorizationRevoked(EngineEvent, kw_only=True):
    """An approved authorization was revoked: by the customer (no reason) or by a
    disassociation (reason `disassociated`)."""

    LOG_TYPE = "authorization.revoked"
    reason: str | None = None


class CatalogLoaded(EngineEvent, kw_only=True):
    """The whole service catalogue as loaded (it replaces the one before)."""

    LOG_TYPE = "catalog.loaded"
    service_types: list[ServiceTypeNames]


# Every authorization step, in the order a request can take them (the JSON Schema lists them).
AUTHORIZATION_EVENT_TYPES = (AuthorizationRequested, AuthorizationApproved, AuthorizationRejected, AuthorizationRevoked)
