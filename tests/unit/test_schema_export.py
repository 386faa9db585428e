"""The checked-in JSON Schemas are what the Structs give, and say what the contract says."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import msgspec
import pytest

from commands.queries import rejection_entry
from engine.errors import REASON_CODES
from engine.mapper import TOPICS
from engine.store.rows import RejectionRow
from schemas import export
from schemas.inbound import AMOUNT_PATTERN, EVENT_TYPES, InboundEvent
from schemas.recorded import RECORDED_EVENT_TYPES
from schemas.views import RejectionEntry
from tests import builders

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_AMOUNT_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,8})?$"


def _document(filename: str) -> dict:
    return json.loads(export.generate()[filename])


def _walk(value):
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from _walk(child)


@pytest.mark.parametrize("filename", sorted(export.generate()))
def test_checked_in_schema_matches_the_structs(filename):
    path = export.HERE / filename
    assert path.is_file(), f"{filename} is missing: run `python -m schemas.export`"
    assert path.read_text(encoding="utf-8") == export.generate()[filename], (
        f"{filename} drifted from the Structs: run `python -m schemas.export`"
    )


def test_generation_is_deterministic_sorted_and_ends_with_a_newline():
    first, second = export.generate(), export.generate()
    assert first == second
    for text in first.values():
        assert text.endswith("}\n") and not text.endswith("\n\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _json_schema_texts() -> dict[str, str]:
    return {name: text for name, text in export.generate().items() if name != export.ASYNCAPI_FILENAME}


def test_every_document_is_draft_2020_12_with_an_id_and_a_title():
    ids = set()
    for text in _json_schema_texts().values():
        document = json.loads(text)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["$id"].startswith("urn:partner-billing:schema:")
        assert document["title"] and document["description"]
        ids.add(document["$id"])
    assert len(ids) == len(export.DOCUMENTS)


def test_every_local_reference_resolves():
    for filename, text in _json_schema_texts().items():
        document = json.loads(text)
        for node in _walk(document):
            if isinstance(node, dict) and isinstance(node.get("$ref"), str):
                name = node["$ref"].removeprefix("#/$defs/")
                assert name in document["$defs"], f"{filename}: dangling {node['$ref']}"


def test_inbound_schema_is_one_tagged_union_of_the_ten_types():
    document = _document("inbound.schema.json")
    assert document["discriminator"]["propertyName"] == "type"
    assert set(document["discriminator"]["mapping"]) == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == 10
    tags = set()
    for reference in document["anyOf"]:
        event = document["$defs"][reference["$ref"].removeprefix("#/$defs/")]
        tags.update(event["properties"]["type"]["enum"])
        assert set(event["required"]) == {"specversion", "id", "source", "type", "time", "data"}
    assert tags == {
        "customer.associated",
        "customer.disassociated",
        "usage.recorded",
        "order.paid",
        "order.refunded",
        "discount.granted",
        "discount.revoked",
        "account_manager.assigned",
        "charge.voided",
        "usage.amended",
    }


def test_corrections_in_the_inbound_schema_carry_the_contracts_limits_and_no_currency():
    definitions = _document("inbound.schema.json")["$defs"]
    for struct in ("ChargeVoidedData", "UsageAmendedData"):
        properties = definitions[struct]["properties"]
        limits = {name: (p.get("minLength"), p.get("maxLength")) for name, p in properties.items()}
        assert limits["event_source"] == (1, 256)
        assert limits["event_id"] == (1, 128)
        assert limits["reason"] == (1, 256)
        assert limits["customer_id"] == (1, 64)
        assert "currency" not in properties
    amended = definitions["UsageAmendedData"]
    assert amended["required"] == ["customer_id", "event_source", "event_id", "quantity", "unit_price", "reason"]
    assert amended["properties"]["quantity"]["pattern"] == CONTRACT_AMOUNT_PATTERN
    assert definitions["ChargeVoidedData"]["required"] == ["customer_id", "event_source", "event_id", "reason"]


def test_asyncapi_inbound_message_names_the_corrections_and_their_refusal_codes():
    document = _document(export.ASYNCAPI_FILENAME)
    variants = document["components"]["messages"]["InboundEvent"]["payload"]["anyOf"]
    schemas = document["components"]["schemas"]
    types = {
        value
        for variant in variants
        for value in schemas[variant["$ref"].rsplit("/", 1)[1]]["properties"]["type"]["enum"]
    }
    assert {"charge.voided", "usage.amended", "account_manager.assigned"} <= types
    reasons = document["components"]["messages"]["RejectedInput"]["headers"]["properties"]["reason"]["enum"]
    assert reasons[-3:] == ["unknown_event", "already_voided", "order_has_refunds"]


def test_inbound_schema_carries_the_contract_amount_pattern():
    assert AMOUNT_PATTERN == CONTRACT_AMOUNT_PATTERN
    definitions = _document("inbound.schema.json")["$defs"]
    for struct, field in [
        ("UsageRecordedData", "quantity"),
        ("UsageRecordedData", "unit_price"),
        ("OrderPaidData", "amount"),
        ("OrderRefundedData", "amount"),
        ("DiscountGrantedData", "rate"),
    ]:
        assert definitions[struct]["properties"][field]["pattern"] == CONTRACT_AMOUNT_PATTERN
        assert field in definitions[struct]["required"]


def test_docstrings_and_meta_descriptions_become_descriptions():
    definitions = _document("inbound.schema.json")["$defs"]
    assert definitions["UsageRecordedData"]["description"] == (
        "Metered consumption of one resource at a list price per unit."
    )
    assert definitions["UsageRecordedEvent"]["description"] == "A `usage.recorded` CloudEvent."
    assert definitions["UsageRecordedData"]["properties"]["quantity"]["description"] == (
        "a plain decimal string, at most 8 decimals"
    )
    assert definitions["DiscountGrantedData"]["properties"]["valid_from"]["description"] == (
        "RFC 3339 date-time with its offset"
    )
    for filename in _json_schema_texts():
        for name, definition in _document(filename)["$defs"].items():
            assert definition.get("description"), f"{filename}: {name} has no description"


def test_optional_fields_are_not_required_and_unknown_fields_are_allowed():
    definitions = _document("inbound.schema.json")["$defs"]
    associated = definitions["CustomerAssociatedData"]
    assert "account_manager_id" not in associated["required"]
    assert "indirect_partner_id" not in associated["required"]
    # Unknown envelope and data fields are ignored (forward compatibility).
    assert all(d.get("additionalProperties", True) is not False for d in definitions.values())


def _conforms(value, schema: dict, definitions: dict) -> bool:
    """A small checker for what these documents use: enough to judge the sample events."""
    if "$ref" in schema:
        return _conforms(value, definitions[schema["$ref"].removeprefix("#/$defs/")], definitions)
    if "anyOf" in schema:
        return any(_conforms(value, option, definitions) for option in schema["anyOf"])
    if "enum" in schema:
        return value in schema["enum"]
    kind = schema.get("type")
    if kind == "null":
        return value is None
    if kind == "string":
        return (
            isinstance(value, str)
            and schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))
            and ("pattern" not in schema or re.search(schema["pattern"], value) is not None)
        )
    if kind == "object":
        return (
            isinstance(value, dict)
            and all(field in value for field in schema.get("required", ()))
            and all(
                _conforms(value[field], sub, definitions)
                for field, sub in schema["properties"].items()
                if field in value
            )
        )
    raise AssertionError(f"schema construct not handled: {schema}")


SAMPLES = [
    builders.associated(data={"account_manager_id": "am-1", "indirect_partner_id": None}),
    builders.disassociated(),
    builders.usage(),
    builders.order_paid(),
    builders.gift(),
    builders.order_refunded(),
    builders.discount_granted(valid_to="2027-01-01T00:00:00Z"),
    builders.discount_revoked(),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e["type"])
def test_builder_events_conform_to_the_inbound_schema(event):
    document = _document("inbound.schema.json")
    assert _conforms(event, document, document["$defs"])
    msgspec.json.decode(json.dumps(event).encode(), type=InboundEvent)


@pytest.mark.parametrize(
    "event",
    [
        builders.usage(quantity="1e3"),
        builders.usage(unit_price="0.123456789"),
        builders.order_paid(amount=""),
        builders.usage(time="2026-10-03T08:00:00"),
        builders.event("usage.recorded", builders.usage()["data"], specversion="0.3"),
    ],
    ids=["exponent", "nine-decimals", "empty-amount", "no-offset", "specversion"],
)
def test_malformed_events_do_not_conform_to_the_inbound_schema(event):
    document = _document("inbound.schema.json")
    assert not _conforms(event, document, document["$defs"])


def test_recorded_schema_maps_every_stored_topic_to_its_definition():
    document = _document("recorded.schema.json")
    # TOPICS also learns the engine's own event types as they are first stored (by
    # whichever test ran before): the recorded facts' are the ones this document maps.
    recorded = {cls: topic for cls, topic in TOPICS.items() if cls in RECORDED_EVENT_TYPES}
    assert len(recorded) == len(RECORDED_EVENT_TYPES)
    assert document["x-topics"] == {topic: f"#/$defs/{cls.__name__}" for cls, topic in recorded.items()}


def test_views_schema_describes_every_output_shape():
    document = _document("views.schema.json")
    tops = {reference["$ref"].removeprefix("#/$defs/") for reference in document["anyOf"]}
    assert tops == {"Bill", "BillsListing", "CustomerCounts", "Performance", "IngestCounts", "RejectionList"}
    counts = document["$defs"]["CustomerCounts"]
    assert counts["required"] == [
        "partner_id",
        "period",
        "total_customers",
        "association_count",
        "consuming_customers",
        "new_enterprise_customers_quarter",
    ]


def test_rejected_json_rows_have_exactly_the_rejection_entry_shape():
    row = RejectionRow(
        seq=1,
        arrived="2026-11-25T06:00:00.000000Z",
        source=None,
        id=None,
        type=None,
        reason="malformed_json",
        message="not JSON",
        raw=b"{oops",
        accepted=None,
    )
    shown = msgspec.to_builtins(rejection_entry(row))
    assert list(shown) == list(RejectionEntry.__struct_fields__)
    assert msgspec.convert(shown, RejectionEntry).raw == "{oops"
    assert "malformed_json" in REASON_CODES


def test_check_names_stale_and_missing_files_and_exits_1(tmp_path, capsys):
    assert export.main(["--dir", str(tmp_path)]) == 0
    assert export.main(["--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / "views.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "recorded.schema.json").unlink()
    capsys.readouterr()
    assert export.main(["--check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "views.schema.json" in err and "recorded.schema.json" in err
    assert "inbound.schema.json" not in err


def test_written_files_are_byte_identical_to_the_generated_text(tmp_path):
    export.write(tmp_path)
    for filename, text in export.generate().items():
        assert (tmp_path / filename).read_bytes() == text.encode("utf-8")


def test_package_data_ships_the_schema_documents():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["schemas"]
    for filename in export.generate():
        assert any(Path(filename).match(pattern) for pattern in patterns), filename


def test_asyncapi_document_has_every_topic_and_every_reference_resolves():
    from schemas import topics

    document = _document(export.ASYNCAPI_FILENAME)
    assert document["asyncapi"].startswith("3.")
    assert sorted(channel["address"] for channel in document["channels"].values()) == sorted(topics.ALL_TOPICS)
    for node in _walk(document):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                assert part in target, f"dangling {node['$ref']}"
                target = target[part]
    messages = document["components"]["messages"]
    assert messages["InboundEvent"]["bindings"]["kafka"]["key"]["description"] == "customer_id"
    assert set(messages["RejectedInput"]["headers"]["required"]) == {"reason", "message"}
    assert messages["RejectedInput"]["headers"]["properties"]["reason"]["enum"][0] == "malformed_json"
