"""Reading a service catalogue file (CONTRACT.md §12): names 1..256 characters or null,
a service type named once; anything else names what is wrong."""

from __future__ import annotations

import json

import pytest

from commands.catalog import parse_catalog
from engine.errors import FieldError
from schemas.resource_events import AUTHORIZATION_STREAM, CATALOG_STREAM
from schemas.resources import ServiceTypeNames


def catalog(*entries: dict) -> bytes:
    return json.dumps({"service_types": list(entries)}, ensure_ascii=False).encode()


def problem(content: bytes) -> str:
    with pytest.raises(FieldError) as error:
        parse_catalog(content)
    return str(error.value)


def test_entries_are_read_and_sorted_by_service_type():
    content = catalog(
        {"service_type": "OBS", "service_type_name": "对象存储服务", "service_type_name_en": "Object Storage"},
        {"service_type": "ECS", "service_type_name": "弹性云服务器"},
    )
    assert parse_catalog(content) == [
        ServiceTypeNames("ECS", "弹性云服务器", None),
        ServiceTypeNames("OBS", "对象存储服务", "Object Storage"),
    ]


def test_missing_or_null_names_are_null_and_unknown_fields_are_ignored():
    content = catalog({"service_type": "ECS", "service_type_name": None, "owner": "x"})
    assert parse_catalog(content) == [ServiceTypeNames("ECS", None, None)]


def test_an_empty_catalogue_is_a_catalogue():
    assert parse_catalog(catalog()) == []


def test_a_byte_order_mark_is_ignored():
    assert parse_catalog(b"\xef\xbb\xbf" + catalog({"service_type": "ECS"})) == [ServiceTypeNames("ECS")]


def test_a_service_type_named_twice_is_refused_naming_it():
    assert "'ECS' is named twice" in problem(catalog({"service_type": "ECS"}, {"service_type": "ECS"}))


def test_names_must_be_1_to_256_characters():
    assert problem(catalog({"service_type": "ECS", "service_type_name": ""})).startswith(
        "service_types[0].service_type_name"
    )
    assert "service_type_name_en" in problem(catalog({"service_type": "ECS", "service_type_name_en": "x" * 257}))
    assert (
        parse_catalog(catalog({"service_type": "ECS", "service_type_name": "名" * 256}))[0].service_type_name
        == "名" * 256
    )


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"[",
        b"not json",
        b"[]",
        b"{}",
        b'{"service_types": {}}',
        b'{"service_types": [{}]}',
        b'{"service_types": [{"service_type": ""}]}',
        b'{"service_types": [{"service_type": 7}]}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
def test_a_malformed_file_is_refused(content):
    assert problem(content)


def test_engine_streams_can_never_be_a_customers_stream():
    # Customer ids are 1..64 characters and name their customers' streams.
    assert len(AUTHORIZATION_STREAM) > 64 and len(CATALOG_STREAM) > 64
