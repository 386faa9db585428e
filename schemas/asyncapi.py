"""The AsyncAPI 3.0 document of the engine's Kafka topics, built from the msgspec Structs.

FastStream can't generate it (its generator expects pydantic models), so it is built
here from `msgspec.json.schema_components` and checked in beside the JSON Schemas
(`python -m schemas.export`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from schemas import accounts, inbound, statements, topics, views
from schemas.reasons import REASON_CODES

_REF = "#/components/schemas/{name}"


def _without_discriminators(value: Any) -> Any:
    """The schemas without OpenAPI's `discriminator` objects, which msgspec writes for
    tagged unions: AsyncAPI's Schema Object takes a discriminator as a string naming a
    property whose values are schema names, and its parser rejects the object. Each
    variant's `type` keeps a single allowed value, so the union is still told apart."""
    if isinstance(value, dict):
        return {key: _without_discriminators(item) for key, item in value.items() if key != "discriminator"}
    if isinstance(value, list):
        return [_without_discriminators(item) for item in value]
    return value


def _channel(address: str, message: str, description: str) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
    }


def _message(title: str, payload: dict[str, Any], key: str | None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"title": title, "contentType": "application/json", "payload": payload, **extra}
    if key is not None:
        message["bindings"] = {"kafka": {"key": {"type": "string", "description": key}}}
    return message


def build() -> dict[str, Any]:
    """The whole document as a JSON value."""
    (union, bill, counts, performance, notification, statement), schemas = msgspec.json.schema_components(
        (
            inbound.InboundEvent,
            views.Bill,
            views.CustomerCounts,
            views.Performance,
            accounts.Notification,
            statements.Statement,
        ),
        ref_template=_REF,
    )
    union, schemas = _without_discriminators(union), _without_discriminators(schemas)
    schemas = {**schemas, "InboundEvent": union}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Partner billing engine",
            "version": "0.1.0",
            "description": "Upstream systems publish CloudEvents to billing.events; the engine "
            "publishes rejected inputs and every changed bill, customer-count and performance "
            "record (the whole current record, so the last one per key is the live view), and "
            "every statement when issued and at each change of its status.",
        },
        "servers": {"kafka": {"host": "localhost:9092", "protocol": "kafka", "description": "BILLING_KAFKA"}},
        "channels": {
            "events": _channel(
                topics.EVENTS,
                "InboundEvent",
                "Inbound events (CONTRACT.md §1, and the corrections of §11), keyed by customer_id: in "
                "structured content mode (the value is the event's JSON) or in the CloudEvents Kafka "
                "binding's binary content mode (the attributes in ce_ headers, content-type as "
                "datacontenttype, the value is data).",
            ),
            "rejected": _channel(topics.EVENTS_REJECTED, "RejectedInput", "Inputs the engine refused."),
            "bills": _channel(topics.BILLS, "Bill", "A bill each time it changes."),
            "customerCounts": _channel(
                topics.CUSTOMER_COUNTS, "CustomerCounts", "A partner's customer counts for a changed period."
            ),
            "performance": _channel(topics.PERFORMANCE, "Performance", "A partner's performance for a changed period."),
            "notifications": _channel(
                topics.NOTIFICATIONS,
                "Notification",
                "Each notification to a partner once (balance.low, "
                "statement.issued, payment.approved, payment.rejected, payment.paid).",
            ),
            "statements": _channel(
                topics.STATEMENTS, "Statement", "A whole statement when issued and at every change of its status."
            ),
        },
        "operations": {
            "receiveEvents": {"action": "receive", "channel": {"$ref": "#/channels/events"}},
            "sendRejected": {"action": "send", "channel": {"$ref": "#/channels/rejected"}},
            "sendBills": {"action": "send", "channel": {"$ref": "#/channels/bills"}},
            "sendCustomerCounts": {"action": "send", "channel": {"$ref": "#/channels/customerCounts"}},
            "sendPerformance": {"action": "send", "channel": {"$ref": "#/channels/performance"}},
            "sendNotifications": {"action": "send", "channel": {"$ref": "#/channels/notifications"}},
            "sendStatements": {"action": "send", "channel": {"$ref": "#/channels/statements"}},
        },
        "components": {
            "messages": {
                "InboundEvent": _message("Inbound CloudEvent", union, "customer_id"),
                "RejectedInput": _message(
                    "Rejected input",
                    {"type": "string", "description": "the original message bytes, unchanged"},
                    None,
                    contentType="application/octet-stream",
                    headers={
                        "type": "object",
                        "properties": {
                            "reason": {"type": "string", "enum": list(REASON_CODES)},
                            "message": {"type": "string", "description": "names the field at fault"},
                        },
                        "required": ["reason", "message"],
                    },
                ),
                "Bill": _message("Bill", bill, "customer_id"),
                "CustomerCounts": _message("Customer counts", counts, "partner_id"),
                "Performance": _message("Performance", performance, "partner_id"),
                "Notification": _message(
                    "Partner notification",
                    notification,
                    "partner_id",
                    headers={
                        "type": "object",
                        "properties": {
                            "notification": {
                                "type": "string",
                                "description": "the notification's number in the store, to drop a repeat after a crash",
                            }
                        },
                    },
                ),
                "Statement": _message("Statement", statement, "partner_id"),
            },
            "schemas": schemas,
        },
    }
