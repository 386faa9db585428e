"""What users read and send for CONTRACT.md §12: a customer's on-demand resources, the
authorization requests partners make of customers, and the service catalogue.

Field order is the order the JSON output shows. Amounts are §4 strings.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

ServiceTypeCode = Annotated[str, Meta(min_length=1, max_length=64)]
CatalogName = Annotated[str, Meta(min_length=1, max_length=256)]


class Resource(Struct):
    """One on-demand resource, a (service_type, resource_id) pair of the customer's usage."""

    resource_id: str
    service_type: str
    product_id: str | None
    region: str | None
    first_used: str
    last_used: str
    charges: int
    payable_amount: str
    settled_amount: str


class ResourceList(Struct):
    """A customer's resources (of one period, or of all when `period` is null)."""

    customer_id: str
    period: str | None
    resources: list[Resource]


class AuthorizationStep(Struct):
    """One status an authorization request has had, and when (a recorded time)."""

    status: str
    at: str
    reason: str | None


class Authorization(Struct):
    """A partner's request for a customer's authorization, and its history."""

    id: str
    partner_id: str
    customer_id: str
    indirect_partner_id: str | None
    status: str
    history: list[AuthorizationStep]


class AuthorizationList(Struct):
    """Authorization requests in request order."""

    authorizations: list[Authorization]


class ServiceTypeNames(Struct):
    """A service type's names in the catalogue (null when not given)."""

    service_type: ServiceTypeCode
    service_type_name: CatalogName | None = None
    service_type_name_en: CatalogName | None = None


class CatalogFile(Struct):
    """The file `billing catalog load` reads: the whole catalogue."""

    service_types: list[ServiceTypeNames]


class ServiceType(Struct):
    """A service type seen in a charge or named in the catalogue, with its charge count."""

    service_type: str
    service_type_name: str | None
    service_type_name_en: str | None
    charges: int


class ServiceTypeList(Struct):
    """Every service type, by `service_type`."""

    service_types: list[ServiceType]
