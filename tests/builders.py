"""Builders of inbound CloudEvent lines for tests (valid by default, any field
overridable), the JSON Lines files a user hands `billing ingest`, and incentive policy
files (CONTRACT.md §9)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_ids = itertools.count(1)


def event(
    type_: str,
    data: dict[str, Any],
    *,
    time: str = "2026-10-03T08:00:00+08:00",
    id: str | None = None,
    source: str = "test/source",
    **envelope: Any,
) -> dict[str, Any]:
    """A CloudEvent as a dict; `envelope` overrides or adds envelope attributes."""
    body = {
        "specversion": "1.0",
        "id": id if id is not None else f"e-{next(_ids)}",
        "source": source,
        "type": type_,
        "time": time,
        "data": data,
    }
    body.update(envelope)
    return body


def line(body: dict[str, Any] | str) -> bytes:
    """One JSON Lines line (no newline) from a dict, or a raw string as is."""
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def jsonl_text(events: Iterable[dict[str, Any] | str]) -> str:
    """Events (dicts, or raw lines as is) as JSON Lines, each line ended, non-ASCII kept."""
    texts = [e if isinstance(e, str) else json.dumps(e, ensure_ascii=False) for e in events]
    return "".join(text + "\n" for text in texts)


def jsonl(path: Path, events: Iterable[dict[str, Any] | str]) -> Path:
    """Writes events as JSON Lines (`jsonl_text`), UTF-8; returns the path."""
    path.write_text(jsonl_text(events), encoding="utf-8")
    return path


def associated(
    customer: str = "c-1",
    partner: str = "p-1",
    *,
    customer_type: str = "enterprise",
    channel: str = "registration",
    **kwargs: Any,
) -> dict[str, Any]:
    data = {"partner_id": partner, "customer_id": customer, "customer_type": customer_type, "channel": channel}
    data.update(kwargs.pop("data", {}))
    return event("customer.associated", data, **kwargs)


def disassociated(customer: str = "c-1", partner: str = "p-1", **kwargs: Any) -> dict[str, Any]:
    data = {"partner_id": partner, "customer_id": customer}
    data.update(kwargs.pop("data", {}))
    return event("customer.disassociated", data, **kwargs)


def usage(
    customer: str = "c-1",
    *,
    quantity: str = "2",
    unit_price: str = "0.12345678",
    service_type: str = "ECS",
    resource_id: str = "i-9",
    currency: str = "CNY",
    **kwargs: Any,
) -> dict[str, Any]:
    data = {
        "customer_id": customer,
        "service_type": service_type,
        "resource_id": resource_id,
        "quantity": quantity,
        "unit": "hour",
        "unit_price": unit_price,
        "currency": currency,
    }
    data.update(kwargs.pop("data", {}))
    return event("usage.recorded", data, **kwargs)


def order_paid(
    customer: str = "c-1",
    *,
    order_id: str = "o-1",
    amount: str = "100.00",
    product_id: str = "pkg-1",
    service_type: str = "OBS",
    source_type: str = "0",
    currency: str = "CNY",
    **kwargs: Any,
) -> dict[str, Any]:
    data = {
        "order_id": order_id,
        "customer_id": customer,
        "product_id": product_id,
        "service_type": service_type,
        "source_type": source_type,
        "amount": amount,
        "currency": currency,
    }
    data.update(kwargs.pop("data", {}))
    return event("order.paid", data, **kwargs)


def gift(customer: str = "c-1", **kwargs: Any) -> dict[str, Any]:
    return order_paid(customer, order_id="", amount="0", source_type="1", **kwargs)


def order_refunded(
    customer: str = "c-1", *, order_id: str = "o-1", amount: str = "10.00", currency: str = "CNY", **kwargs: Any
) -> dict[str, Any]:
    data = {"order_id": order_id, "customer_id": customer, "amount": amount, "currency": currency}
    data.update(kwargs.pop("data", {}))
    return event("order.refunded", data, **kwargs)


def discount_granted(
    customer: str = "c-1",
    *,
    discount_id: str = "d-1",
    rate: str = "0.85",
    service_type: str = "*",
    valid_from: str = "2026-01-01T00:00:00+08:00",
    valid_to: str | None = None,
    kind: str = "business",
    **kwargs: Any,
) -> dict[str, Any]:
    data = {
        "discount_id": discount_id,
        "customer_id": customer,
        "kind": kind,
        "service_type": service_type,
        "rate": rate,
        "valid_from": valid_from,
    }
    if valid_to is not None:
        data["valid_to"] = valid_to
    data.update(kwargs.pop("data", {}))
    return event("discount.granted", data, **kwargs)


def discount_revoked(customer: str = "c-1", *, discount_id: str = "d-1", **kwargs: Any) -> dict[str, Any]:
    data = {"discount_id": discount_id, "customer_id": customer}
    data.update(kwargs.pop("data", {}))
    return event("discount.revoked", data, **kwargs)


def _target(target: dict[str, Any] | tuple[str, str]) -> tuple[str, str, str | None]:
    """The (source, id) a correction names, and the customer of the event it names."""
    if isinstance(target, tuple):
        return target[0], target[1], None
    return target["source"], target["id"], target["data"].get("customer_id")


def voided(
    target: dict[str, Any] | tuple[str, str],
    customer: str | None = None,
    *,
    reason: str = "metered twice",
    **kwargs: Any,
) -> dict[str, Any]:
    """A `charge.voided` of `target` (an event built here, or a (source, id) pair), by
    default for the target's customer."""
    source, event_id, target_customer = _target(target)
    data = {
        "customer_id": customer or target_customer or "c-1",
        "event_source": source,
        "event_id": event_id,
        "reason": reason,
    }
    data.update(kwargs.pop("data", {}))
    kwargs.setdefault("source", "billing/corrections")
    return event("charge.voided", data, **kwargs)


def amended(
    target: dict[str, Any] | tuple[str, str],
    customer: str | None = None,
    *,
    quantity: str = "1",
    unit_price: str = "0.10000000",
    reason: str = "meter fixed",
    **kwargs: Any,
) -> dict[str, Any]:
    """A `usage.amended` of `target` (an event built here, or a (source, id) pair)."""
    source, event_id, target_customer = _target(target)
    data = {
        "customer_id": customer or target_customer or "c-1",
        "event_source": source,
        "event_id": event_id,
        "quantity": quantity,
        "unit_price": unit_price,
        "reason": reason,
    }
    data.update(kwargs.pop("data", {}))
    kwargs.setdefault("source", "billing/corrections")
    return event("usage.amended", data, **kwargs)


def month_of_events(customers: int, usage_per_customer: int) -> list[dict[str, Any]]:
    """A month of a partner programme: associations (some ended), discounts, orders, gifts,
    usage every day and some refunds, for `customers` customers over three partners."""
    events: list[dict] = []
    for c in range(customers):
        customer = f"c-{c:04d}"
        partner = f"p-{c % 3}"
        events.append(
            associated(
                customer,
                partner,
                time="2026-09-15T00:00:00+08:00",
                data={"account_manager_id": f"am-{c % 4}", "indirect_partner_id": f"r-{c % 2}"},
            )
        )
        if c % 5 == 0:
            events.append(
                discount_granted(customer, discount_id=f"d-{c}", rate="0.9", valid_from="2026-10-01T00:00:00+08:00")
            )
        events.append(order_paid(customer, order_id=f"o-{c}", amount="99.99", time="2026-10-02T10:00:00+08:00"))
        events.append(gift(customer, time="2026-10-02T11:00:00+08:00"))
        for u in range(usage_per_customer):
            day = 1 + u % 30
            events.append(
                usage(
                    customer,
                    quantity=f"{1 + u % 5}",
                    unit_price="0.00064123",
                    resource_id=f"disk-{c}-{u % 3}",
                    time=f"2026-10-{day:02d}T{u % 24:02d}:30:00+08:00",
                )
            )
        if c % 7 == 0:
            events.append(order_refunded(customer, order_id=f"o-{c}", amount="33.33", time="2026-10-31T16:30:00Z"))
            events.append(disassociated(customer, partner, time="2026-10-20T00:00:00+08:00"))
    return events


def assigned(manager: str = "am-1", supervisor: str = "sv-1", partner: str = "p-1", **kwargs: Any) -> dict[str, Any]:
    data = {"partner_id": partner, "account_manager_id": manager, "supervisor_id": supervisor}
    data.update(kwargs.pop("data", {}))
    return event("account_manager.assigned", data, **kwargs)


# --- incentive policy files (CONTRACT.md §9) ------------------------------------------------

CONTRACT_INDICATORS = {"consumption": "settled_amount", "new_enterprise": "new_enterprise_customers"}


def reward(indicator: str, mode: str, *tiers: tuple[str, str]) -> dict[str, Any]:
    """A reward of a policy: its tiers given as (from, rate) pairs."""
    return {"indicator": indicator, "mode": mode, "tiers": [{"from": f, "rate": r} for f, r in tiers]}


def incentive_policy(
    indicators: dict[str, str] = CONTRACT_INDICATORS,
    rewards: list[dict[str, Any]] | None = None,
    *,
    policy_id: str = "2026Q4",
    periods: Iterable[str] = ("2026-10", "2026-11", "2026-12"),
) -> dict[str, Any]:
    """A policy file's content; `indicators` maps a name to its statistic. By default the
    contract's example: 2% of `settled_amount` up to 10000, 3% above (stepped)."""
    if rewards is None:
        rewards = [reward("consumption", "stepped", ("0", "0.02"), ("10000", "0.03"))]
    return {
        "policy_id": policy_id,
        "periods": list(periods),
        "indicators": [{"name": name, "statistic": statistic} for name, statistic in indicators.items()],
        "rewards": rewards,
    }
