"""Readable tables of CONTRACT.md §12 (`--json` prints the Structs instead)."""

from __future__ import annotations

from commands.render import service_type_label, table
from schemas.resources import Authorization, AuthorizationList, ResourceList, ServiceTypeList, ServiceTypeNames


def resources(result: tuple[ResourceList, dict[str, ServiceTypeNames]]) -> str:
    listing, names = result
    scope = f"period {listing.period}" if listing.period else "every period"
    head = f"Resources of customer {listing.customer_id}, {scope}"
    if not listing.resources:
        return f"{head}: none"
    rows = [
        (
            service_type_label(r.service_type, names),
            r.resource_id,
            r.product_id or "",
            r.region or "",
            r.first_used,
            r.last_used,
            r.charges,
            r.payable_amount,
            r.settled_amount,
        )
        for r in listing.resources
    ]
    headers = [
        "service type",
        "resource",
        "product",
        "region",
        "first used",
        "last used",
        "charges",
        "payable",
        "settled",
    ]
    return head + "\n" + table(headers, rows, numeric_from=6)


def authorization(result: Authorization) -> str:
    reseller = f", reseller {result.indirect_partner_id}" if result.indirect_partner_id else ""
    head = (
        f"Authorization {result.id}: partner {result.partner_id}, customer {result.customer_id}{reseller}: "
        f"{result.status}"
    )
    history = [(s.status, s.at, s.reason or "") for s in result.history]
    return head + "\n" + table(["status", "at", "reason"], history, 99)


def authorizations(result: AuthorizationList) -> str:
    if not result.authorizations:
        return "no authorization requests"
    rows = [
        (a.id, a.partner_id, a.customer_id, a.indirect_partner_id or "", a.status, _since(a))
        for a in result.authorizations
    ]
    return table(["id", "partner", "customer", "reseller", "status", "since"], rows, numeric_from=99)


def _since(authorization) -> str:
    """When the request took its current status."""
    return authorization.history[-1].at if authorization.history else ""


def catalog_loaded(entries: list[ServiceTypeNames]) -> str:
    if not entries:
        return "catalogue loaded: empty (no service type has a name now)"
    rows = [(e.service_type, e.service_type_name or "", e.service_type_name_en or "") for e in entries]
    headers = ["service type", "name", "English name"]
    return f"catalogue loaded: {len(entries)} service types\n" + table(headers, rows, 99)


def service_types(result: ServiceTypeList) -> str:
    if not result.service_types:
        return "no service types"
    rows = [
        (t.service_type, t.service_type_name or "", t.service_type_name_en or "", t.charges)
        for t in result.service_types
    ]
    return table(["service type", "name", "English name", "charges"], rows, numeric_from=3)
