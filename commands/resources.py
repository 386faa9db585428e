"""A customer's on-demand resources (CONTRACT.md §12), and the wiring of the feature's
inline projections and batch hook (authorization requests, service catalogue)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from commands.authorizations import check_id, end_authorizations_on_disassociation
from engine.errors import FieldError, Refused
from engine.instants import parse_period
from projections.authorizations import holds_approved, project_authorizations
from projections.catalog import has_table, project_catalog
from projections.resources import read_resources
from schemas.resources import ResourceList

if TYPE_CHECKING:
    from commands.bootstrap import Engine
    from engine.ledger import Ledger


def wire(ledger: Ledger) -> None:
    """Registers the feature's inline projections and its disassociation hook."""
    ledger.engine_projections.extend((project_authorizations, project_catalog))
    ledger.batch_hooks.append(end_authorizations_on_disassociation)


def customer_resources(
    engine: Engine,
    customer_id: str,
    period: str | None = None,
    *,
    as_partner: str | None = None,
    reseller: str | None = None,
) -> ResourceList:
    """Every resource of the customer's usage (of one period, if given). With
    `as_partner`, refused (`not_authorized`) unless that partner holds an approved
    authorization of the customer naming `reseller` as its request did; the check and
    the read share one read transaction."""
    check_id("customer_id", customer_id)
    check_id("as_partner", as_partner, optional=True)
    check_id("reseller", reseller, optional=True)
    if reseller is not None and as_partner is None:
        raise FieldError("reseller", "only with a partner (--as-partner)")
    if period is not None:
        try:
            parse_period(period)
        except ValueError as error:
            raise FieldError("period", str(error)) from None
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        if as_partner is not None and not (
            has_table(recorder, c, "authorizations")
            and holds_approved(partial(recorder.rows, c), as_partner, customer_id, reseller)
        ):
            raise Refused(
                "not_authorized",
                f"partner {as_partner!r} holds no approved authorization of customer {customer_id!r}"
                + (f" naming reseller {reseller!r}" if reseller is not None else " naming no reseller"),
            )
        resources = read_resources(recorder, c, customer_id, period, engine.rules.minor_digits)
    return ResourceList(customer_id=customer_id, period=period, resources=resources)
