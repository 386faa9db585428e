"""CONTRACT.md §12 through the `billing` command as a user runs it: the reseller rule
from request to the partner gate, the shapes printed, repeats and refusals, the
catalogue's names in tables only. Figures are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import builders as b
from tests.builders import jsonl
from tests.contract_fields import AUTHORIZATION_KEYS, RESOURCE_KEYS
from testsupport.cli_runner import assert_refused, assert_usage_failure, clocked, loads, out

run = clocked("2026-11-30T00:00:00Z")


def authorization_request(folder: Path, partner: str, customer: str, id_: str, *options: str):
    """`billing authorization request` of `customer` by `partner` under `id_`."""
    return run(folder, "authorization", "request", "--partner", partner, "--customer", customer, "--id", id_, *options)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A store with c-1 (a sub-customer of reseller r-1 under p-1, with usage) and c-2 (p-1's own)."""
    events = [
        b.associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00", data={"indirect_partner_id": "r-1"}),
        b.associated("c-2", "p-1", time="2026-10-01T00:00:00+08:00"),
        b.usage(
            "c-1",
            quantity="2",
            unit_price="0.12345678",
            resource_id="i-9",
            time="2026-10-03T08:00:00.500+08:00",
            data={"product_id": "s3.large", "region": "cn-north-4"},
        ),
        b.usage(
            "c-1",
            quantity="3",
            unit_price="0.12345678",
            resource_id="i-9",
            time="2026-11-03T08:00:00.120+08:00",
            data={"region": "cn-north-1"},
        ),
        b.usage(
            "c-1", quantity="10", unit_price="0.001", service_type="OBS", resource_id="bkt", time="2026-10-05T00:00:00Z"
        ),
    ]
    assert run(tmp_path, "ingest", str(jsonl(tmp_path / "events.jsonl", events))).returncode == 0
    return tmp_path


def test_resources_list_every_resource_with_the_contracts_figures(folder):
    listed = loads(run(folder, "resources", "--customer", "c-1", "--json"))
    assert list(listed) == ["customer_id", "period", "resources"]
    assert listed["customer_id"] == "c-1" and listed["period"] is None
    assert [list(r) for r in listed["resources"]] == [RESOURCE_KEYS, RESOURCE_KEYS]
    ecs, obs = listed["resources"]
    # 2 x 0.12345678 = 0.24691356 (settled 0.24) and 3 x 0.12345678 = 0.37037034 (0.37).
    assert ecs == {
        "resource_id": "i-9",
        "service_type": "ECS",
        "product_id": "s3.large",
        "region": "cn-north-1",
        "first_used": "2026-10-03T00:00:00.5Z",
        "last_used": "2026-11-03T00:00:00.12Z",
        "charges": 2,
        "payable_amount": "0.61728390",
        "settled_amount": "0.61",
    }
    assert obs["service_type"] == "OBS" and obs["payable_amount"] == "0.01000000" and obs["product_id"] is None
    october = loads(run(folder, "resources", "--customer", "c-1", "--period", "2026-10", "--json"))
    assert october["period"] == "2026-10"
    assert october["resources"][0] == ecs | {
        "region": "cn-north-4",
        "last_used": "2026-10-03T00:00:00.5Z",
        "charges": 1,
        "payable_amount": "0.24691356",
        "settled_amount": "0.24",
    }


def test_an_unknown_customer_lists_nothing(folder):
    result = run(folder, "resources", "--customer", "nobody", "--json")
    assert result.returncode == 0 and loads(result) == {"customer_id": "nobody", "period": None, "resources": []}


def test_the_reseller_rule_from_request_to_the_partner_gate(folder):
    assert_refused(authorization_request(folder, "p-1", "c-1", "A-1"), "reseller_required")
    assert_refused(authorization_request(folder, "p-1", "c-1", "A-1", "--reseller", "r-2"), "reseller_mismatch")
    assert_refused(authorization_request(folder, "p-1", "c-2", "A-2", "--reseller", "r-1"), "reseller_mismatch")
    assert_refused(authorization_request(folder, "p-2", "c-1", "A-3", "--reseller", "r-1"), "not_associated")
    made = loads(authorization_request(folder, "p-1", "c-1", "A-1", "--reseller", "r-1", "--json"))
    assert list(made) == AUTHORIZATION_KEYS
    assert made["status"] == "pending" and made["indirect_partner_id"] == "r-1"
    assert made["history"] == [{"status": "pending", "at": "2026-11-30T00:00:00.000000Z", "reason": None}]

    gate = ("resources", "--customer", "c-1", "--as-partner", "p-1")
    assert_refused(run(folder, *gate, "--reseller", "r-1", "--json"), "not_authorized")  # still pending
    assert run(folder, "authorization", "approve", "--id", "A-1").returncode == 0
    assert_refused(run(folder, *gate, "--json"), "not_authorized")  # the reseller not named
    assert_refused(run(folder, *gate, "--reseller", "r-2", "--json"), "not_authorized")
    assert_refused(
        run(folder, "resources", "--customer", "c-1", "--as-partner", "p-2", "--reseller", "r-1"), "not_authorized"
    )
    passed = run(folder, *gate, "--reseller", "r-1", "--json")
    assert passed.returncode == 0
    assert passed.stdout == run(folder, "resources", "--customer", "c-1", "--json").stdout  # a gate only
    assert_usage_failure(run(folder, "resources", "--customer", "c-1", "--reseller", "r-1"), "--reseller")


def test_a_repeat_prints_what_the_first_call_printed(folder):
    request = ("authorization", "request", "--partner", "p-1", "--customer", "c-2", "--id", "A-1")
    first = run(folder, *request, "--json")
    assert run(folder, "authorization", "approve", "--id", "A-1").returncode == 0
    again = run(folder, *request, "--json", BILLING_NOW="2026-12-01T00:00:00Z")
    assert again.returncode == 0 and again.stdout == first.stdout
    assert "already" in again.stderr.decode()
    assert_refused(authorization_request(folder, "p-1", "c-1", "A-1", "--reseller", "r-1"), "id_conflict")
    listed = loads(run(folder, "authorizations", "--json"))["authorizations"]
    assert [a["status"] for a in listed] == ["approved"]


def test_answers_and_their_refusals(folder):
    assert authorization_request(folder, "p-1", "c-2", "A-1").returncode == 0
    assert_refused(run(folder, "authorization", "revoke", "--id", "A-1"), "invalid_state")
    assert_refused(run(folder, "authorization", "approve", "--id", "A-9"), "unknown_authorization")
    assert_usage_failure(run(folder, "authorization", "reject", "--id", "A-1"), "--reason")
    assert_usage_failure(run(folder, "authorization", "reject", "--id", "A-1", "--reason", "x" * 513), "--reason")
    rejected = loads(run(folder, "authorization", "reject", "--id", "A-1", "--reason", "不需要", "--json"))
    assert rejected["status"] == "rejected" and rejected["history"][-1]["reason"] == "不需要"
    assert_refused(run(folder, "authorization", "approve", "--id", "A-1"), "invalid_state")
    assert_usage_failure(run(folder, "authorizations", "--status", "done"), "--status")
    assert_usage_failure(
        run(folder, "authorization", "request", "--partner", "p-1", "--customer", "c-2", "--id", "x" * 65), "--id"
    )


def test_a_disassociation_ingested_ends_the_partners_authorizations(folder):
    for authorization_id in ("A-1", "A-2"):
        run(folder, "authorization", "request", "--partner", "p-1", "--customer", "c-2", "--id", authorization_id)
    run(folder, "authorization", "approve", "--id", "A-1")
    left = jsonl(folder / "left.jsonl", [b.disassociated("c-2", "p-1", time="2026-12-01T00:00:00+08:00")])
    assert run(folder, "ingest", str(left), BILLING_NOW="2026-12-02T00:00:00Z").returncode == 0
    listed = loads(run(folder, "authorizations", "--customer", "c-2", "--json"))["authorizations"]
    assert [(a["id"], a["status"], a["history"][-1]) for a in listed] == [
        ("A-1", "revoked", {"status": "revoked", "at": "2026-12-02T00:00:00.000000Z", "reason": "disassociated"}),
        ("A-2", "rejected", {"status": "rejected", "at": "2026-12-02T00:00:00.000000Z", "reason": "disassociated"}),
    ]


def test_the_catalogue_names_service_types_in_tables_not_in_json(folder):
    catalog = folder / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "service_types": [
                    {
                        "service_type": "ECS",
                        "service_type_name": "弹性云服务器",
                        "service_type_name_en": "Elastic Cloud Server",
                    },
                    {"service_type": "RDS", "service_type_name": "云数据库", "service_type_name_en": None},
                ]
            },
            ensure_ascii=False,
        )
    )
    loaded = run(folder, "catalog", "load", str(catalog), "--json")
    assert loaded.returncode == 0 and [e["service_type"] for e in loads(loaded)["service_types"]] == ["ECS", "RDS"]
    listed = loads(run(folder, "service-types", "--json"))
    assert listed == {
        "service_types": [
            {
                "service_type": "ECS",
                "service_type_name": "弹性云服务器",
                "service_type_name_en": "Elastic Cloud Server",
                "charges": 2,
            },
            {"service_type": "OBS", "service_type_name": None, "service_type_name_en": None, "charges": 1},
            {"service_type": "RDS", "service_type_name": "云数据库", "service_type_name_en": None, "charges": 0},
        ]
    }
    assert "弹性云服务器" in out(run(folder, "bills", "--period", "2026-10"))
    assert "弹性云服务器" not in out(run(folder, "bills", "--period", "2026-10", "--json"))
    assert "弹性云服务器" in out(run(folder, "resources", "--customer", "c-1"))


def test_a_malformed_catalogue_is_a_usage_error(folder):
    bad = folder / "bad.json"
    for content in (
        '{"service_types": [{"service_type": "ECS"}, {"service_type": "ECS"}]}',
        "{",
        '{"service_types": [{}]}',
    ):
        bad.write_text(content)
        assert_usage_failure(run(folder, "catalog", "load", str(bad)))
    assert_usage_failure(run(folder, "catalog", "load", str(folder / "missing.json")))


def test_read_commands_need_a_store(tmp_path):
    for command in (["resources", "--customer", "c-1"], ["authorizations"], ["service-types"]):
        assert_usage_failure(run(tmp_path, *command), "no store")
    assert not (tmp_path / "billing.db").exists()
