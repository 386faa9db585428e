"""CloudEvents' Kafka binary content mode is read as the same event as its structured
form (CONTRACT.md §6), on messages the official CloudEvents Python SDK produced."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from cloudevents.core.bindings import kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from commands.kafka_binding import inbound_value
from engine.errors import Reason
from engine.judge import Candidate, Rejection, canonical_identity, judge_line

USAGE = {
    "customer_id": "客户-1",
    "service_type": "ECS",
    "resource_id": "实例-1",
    "quantity": "2",
    "unit": "hour",
    "unit_price": "0.12345678",
    "currency": "CNY",
}


def sdk_event(data: object = None, **attributes: object) -> CloudEvent:
    base = {
        "type": "usage.recorded",
        "source": "metering/ecs",
        "id": "u-1",
        "time": datetime.fromisoformat("2026-10-03T08:00:00.5+08:00"),
    }
    base.update(attributes)
    return CloudEvent(attributes=base, data=USAGE if data is None else data)


def as_record(message: kafka.KafkaMessage) -> bytes:
    """What `billing serve` hands the ledger for a record: headers as aiokafka gives them."""
    return inbound_value(message.value, list(message.headers.items()))


def test_a_binary_and_a_structured_sdk_message_are_the_same_event():
    event = sdk_event(datacontenttype="application/json")
    binary = judge_line(as_record(kafka.to_binary(event, JSONFormat())))
    structured = judge_line(as_record(kafka.to_structured(event, JSONFormat())))
    assert isinstance(binary, Candidate) and isinstance(structured, Candidate)
    assert binary.problem is None
    assert binary.pair == structured.pair == ("metering/ecs", "u-1")
    assert binary.at == structured.at
    assert canonical_identity(binary.fact) == canonical_identity(structured.fact)


def test_a_binary_message_without_a_content_type_is_json_and_keeps_non_ascii_text():
    raw = as_record(kafka.to_binary(sdk_event(), JSONFormat()))
    rebuilt = json.loads(raw)
    assert rebuilt["data"]["customer_id"] == "客户-1"
    assert list(rebuilt)[:4] == ["specversion", "id", "source", "type"]
    assert "datacontenttype" not in rebuilt


def test_the_value_is_spliced_in_as_sent():
    value = b'{"customer_id": "c-1",  "quantity": "2.0"}'
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"u-1"), ("ce_source", b"s"), ("ce_type", b"usage.recorded")]
    assert inbound_value(value, headers).endswith(b',"data":' + value + b"}")


def test_a_value_with_trailing_json_cannot_set_the_events_attributes():
    headers = list(kafka.to_binary(sdk_event(), JSONFormat()).headers.items())
    forged = inbound_value(b'{"customer_id": "c-1"}, "id": "forged"', headers)
    body = json.loads(forged)
    assert body["id"] == "u-1"
    assert body["data"] == '{"customer_id": "c-1"}, "id": "forged"'  # text data: not an object
    verdict = judge_line(forged)
    assert isinstance(verdict, Candidate) and "data" in str(verdict.problem)


@pytest.mark.parametrize(
    ("value", "content_type", "key"),
    [
        (b"not json", None, "data"),
        (b"\xff\xfe\x00", None, "data_base64"),
        (b'{"customer_id": "c-1"}', "text/plain", "data"),
    ],
)
def test_a_value_that_is_not_json_data_becomes_text_or_base64_and_is_judged_invalid_data(value, content_type, key):
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"u-1"),
        ("ce_source", b"s"),
        ("ce_type", b"usage.recorded"),
        ("ce_time", b"2026-10-03T08:00:00Z"),
    ]
    if content_type:
        headers.append(("content-type", content_type.encode()))
    raw = inbound_value(value, headers)
    assert key in json.loads(raw)
    verdict = judge_line(raw)
    assert isinstance(verdict, Candidate) and verdict.problem is not None and verdict.problem.field == "data"


def test_a_binary_message_without_a_value_has_no_data():
    headers = list(kafka.to_binary(sdk_event(), JSONFormat()).headers.items())
    verdict = judge_line(inbound_value(None, headers))
    assert isinstance(verdict, Candidate) and verdict.problem is not None


def test_a_binary_message_nested_too_deep_is_malformed_json_as_a_structured_one_is():
    headers = list(kafka.to_binary(sdk_event(), JSONFormat()).headers.items())
    verdict = judge_line(inbound_value(b"[" * 5000 + b"]" * 5000, headers))
    assert isinstance(verdict, Rejection) and verdict.reason is Reason.MALFORMED_JSON


def test_a_binary_message_with_a_bad_envelope_is_an_invalid_envelope():
    headers = list(kafka.to_binary(sdk_event(), JSONFormat()).headers.items())
    headers = [(name, b"not a time" if name == "ce_time" else raw) for name, raw in headers]
    verdict = judge_line(inbound_value(json.dumps(USAGE).encode(), headers))
    assert isinstance(verdict, Rejection) and verdict.reason is Reason.INVALID_ENVELOPE


def test_records_without_ce_headers_and_structured_ones_pass_as_they_are():
    assert inbound_value(b"anything", None) == b"anything"
    assert inbound_value(None, []) == b""
    structured = kafka.to_structured(sdk_event(), JSONFormat())
    headers = [*structured.headers.items(), ("ce_specversion", b"1.0")]  # attributes copied to headers too
    assert inbound_value(structured.value, headers) == structured.value
