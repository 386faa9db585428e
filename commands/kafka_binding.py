"""The CloudEvents Kafka protocol binding's two content modes, read as one (CONTRACT.md §6).

Structured mode: the value is the event's JSON (`application/cloudevents+json`), as
in a JSON Lines file. Binary mode, the one most Kafka producers use: each attribute
is a `ce_<name>` header, `datacontenttype` is the `content-type` header, and the value
is the event's `data`. A binary message is turned into the structured JSON it stands
for, so it is judged, deduplicated and kept as a rejection exactly as that JSON would
be (a kept rejection's `raw` is this rebuilt JSON).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence

import msgspec
from aiokafka import ConsumerRecord, TopicPartition

_CE_PREFIX = "ce_"
_CONTENT_TYPE = "content-type"
_BOM = b"\xef\xbb\xbf"
# Rebuilt in this order; any other attribute follows in header order.
_FIRST = ("specversion", "id", "source", "type", "datacontenttype", "time")
# What a header may not set: the value is the data.
_RESERVED = frozenset({"data", "data_base64"})


def inbound_value(value: bytes | None, headers: Iterable[tuple[str, bytes | None]] | None) -> bytes:
    """The event a Kafka record carries, as structured-mode JSON bytes."""
    attributes = _binary_attributes(headers or ())
    if attributes is None:
        return value or b""
    ordered = {name: attributes[name] for name in _FIRST if name in attributes}
    ordered.update(attributes)
    if not value:  # no data: the event is judged without one (`data` is required by every type)
        return msgspec.json.encode(ordered)
    if value.startswith(_BOM):
        value = value[len(_BOM) :]
    if _is_json(attributes.get("datacontenttype")) and _one_json_value(value):
        # The value's own bytes, so the rebuilt event is exactly what was sent.
        return msgspec.json.encode(ordered)[:-1] + b',"data":' + value + b"}"
    try:  # CloudEvents' JSON format: other text data is a string, other bytes are base64
        ordered["data"] = value.decode("utf-8")
    except UnicodeDecodeError:
        ordered["data_base64"] = base64.b64encode(value).decode("ascii")
    return msgspec.json.encode(ordered)


def _binary_attributes(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str] | None:
    """The attributes of a binary-mode record, or None for a structured one."""
    attributes: dict[str, str] = {}
    content_type = None
    for name, raw in headers:
        if raw is None:
            continue
        name = name.lower()
        text = bytes(raw).decode("utf-8", errors="replace")
        if name == _CONTENT_TYPE:
            content_type = text
        elif name.startswith(_CE_PREFIX) and name[len(_CE_PREFIX) :] not in _RESERVED:
            attributes[name[len(_CE_PREFIX) :]] = text
    if "specversion" not in attributes:
        return None
    if content_type is not None:
        if content_type.strip().lower().startswith("application/cloudevents"):
            return None  # structured, with attributes copied into headers as well
        attributes["datacontenttype"] = content_type
    return attributes


def _is_json(content_type: str | None) -> bool:
    """No content type (JSON, as in CloudEvents' JSON format), or a JSON media type."""
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json") or media_type == "text/json"


def _one_json_value(value: bytes) -> bool:
    """True when the bytes are exactly one JSON value, so splicing them in adds nothing
    but `data` (a value nested too deeply is spliced too: the judge rejects it as a
    structured line would be)."""
    try:
        msgspec.json.decode(value)
    except RecursionError:
        return True
    except msgspec.DecodeError:
        return False
    return True


def next_offsets(records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:
    """Each partition's offset after the last of `records` (a poll holds each
    partition's records in offset order: the last one seen is the highest)."""
    last = {(record.topic, record.partition): record.offset for record in records}
    return {TopicPartition(topic, partition): offset + 1 for (topic, partition), offset in last.items()}
