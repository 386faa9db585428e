"""Incentives, subsidies, resources, authorizations and the service catalogue over HTTP
(CONTRACT.md §9, §12, §10): bodies equal the CLI's `--json`, a partner token reads
resources only as §12's authorization rule allows, refusals are 409."""

from __future__ import annotations

import pytest

from tests.web_support import error_of


@pytest.mark.parametrize(
    "path, params, command",
    [
        (
            "incentives",
            {"partner": "p-1", "period": "2026-10"},
            ["incentives", "--partner", "p-1", "--period", "2026-10"],
        ),
        (
            "incentives",
            {"partner": "p-1", "period": "2026-10", "supervisor": "sv-2"},
            ["incentives", "--partner", "p-1", "--period", "2026-10", "--supervisor", "sv-2"],
        ),
        (
            "incentives",
            {"partner": "p-1", "period": "2026-11", "account_manager": "a-1"},
            ["incentives", "--partner", "p-1", "--period", "2026-11", "--account-manager", "a-1"],
        ),
        ("subsidies", {}, ["subsidies"]),
        ("subsidies", {"deal": "deal-1"}, ["subsidies", "--deal", "deal-1"]),
        ("resources", {"customer": "c-2"}, ["resources", "--customer", "c-2"]),
        (
            "resources",
            {"customer": "c-1", "period": "2026-10"},
            ["resources", "--customer", "c-1", "--period", "2026-10"],
        ),
        ("resources", {"customer": "nobody"}, ["resources", "--customer", "nobody"]),
        ("authorizations", {}, ["authorizations"]),
        (
            "authorizations",
            {"status": "approved", "customer": "c-2"},
            ["authorizations", "--status", "approved", "--customer", "c-2"],
        ),
        ("service-types", {}, ["service-types"]),
    ],
)
def test_an_operators_body_equals_the_commands_json_output(settled_api, capsys, path, params, command):
    response = settled_api.get(path, **params)
    assert response.status_code == 200, response.text
    assert response.json() == settled_api.cli(capsys, *command)


def test_a_partner_reads_its_own_incentives_and_subsidies_only(settled_api, capsys):
    mine = settled_api.get("incentives", "partner", partner="p-1", period="2026-10")
    assert mine.json() == settled_api.cli(capsys, "incentives", "--partner", "p-1", "--period", "2026-10")
    assert settled_api.get("subsidies", "partner").json() == settled_api.cli(capsys, "subsidies", "--partner", "p-1")
    assert error_of(settled_api.get("incentives", "partner", partner="p-2", period="2026-10")) == (403, "forbidden")
    assert error_of(settled_api.get("subsidies", "partner", partner="p-2")) == (403, "forbidden")


@pytest.mark.parametrize("role", ["reseller", "manager"])
def test_scoped_readers_read_no_incentive_subsidy_resource_or_authorization(settled_api, role):
    for path, params in (
        ("incentives", {"partner": "p-1", "period": "2026-10"}),
        ("subsidies", {}),
        ("resources", {"customer": "c-2"}),
        ("authorizations", {}),
    ):
        assert error_of(settled_api.get(path, role, **params)) == (403, "forbidden"), path


def test_every_role_reads_the_service_catalogue(settled_api):
    names = {
        t["service_type"]: t["service_type_name_en"]
        for t in settled_api.get("service-types", "manager").json()["service_types"]
    }
    assert names == {"ECS": "Elastic Cloud Server", "OBS": "Object Storage Service"}


def test_no_policy_for_the_period_and_a_bad_scope_are_refused(settled_api):
    assert error_of(settled_api.get("incentives", partner="p-1", period="2026-09")) == (409, "no_policy")
    both = settled_api.get("incentives", partner="p-1", period="2026-10", account_manager="a-1", supervisor="sv-1")
    assert error_of(both) == (400, "invalid_request")
    assert error_of(settled_api.get("incentives", partner="p-1")) == (400, "invalid_request")


def test_a_partner_reads_a_customers_resources_with_an_approved_authorization_naming_its_reseller(settled_api, capsys):
    allowed = settled_api.get("resources", "partner", customer="c-2", reseller="r-2")
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == settled_api.cli(
        capsys, "resources", "--customer", "c-2", "--as-partner", "p-1", "--reseller", "r-2"
    )
    assert error_of(settled_api.get("resources", "partner", customer="c-2")) == (409, "not_authorized")
    assert error_of(settled_api.get("resources", "partner", customer="c-1")) == (409, "not_authorized")
    assert error_of(settled_api.get("resources", "partner2", customer="c-2", reseller="r-2")) == (409, "not_authorized")
    assert error_of(settled_api.get("resources", "operator", customer="c-2", reseller="r-2")) == (
        400,
        "invalid_request",
    )


def test_a_partner_asks_for_authorization_and_an_operator_answers_for_the_customer(settled_api, capsys):
    asked = settled_api.post("authorizations", "partner", {"id": "auth-2", "customer_id": "c-2", "reseller": "r-2"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "pending" and asked.json()["partner_id"] == "p-1"
    again = settled_api.post("authorizations", "partner", {"id": "auth-2", "customer_id": "c-2", "reseller": "r-2"})
    assert again.status_code == 200 and again.json() == asked.json()
    for role in ("partner", "auditor", "reseller"):
        assert error_of(settled_api.post("authorizations/auth-2/approve", role)) == (403, "forbidden")
    rejected = settled_api.post("authorizations/auth-2/reject", "operator", {"reason": "客户不同意"})
    assert (
        rejected.json()
        == settled_api.cli(capsys, "authorizations", "--customer", "c-2", "--status", "rejected")["authorizations"][0]
    )
    revoked = settled_api.post("authorizations/auth-1/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert error_of(settled_api.get("resources", "partner", customer="c-2", reseller="r-2")) == (409, "not_authorized")
    assert error_of(settled_api.post("authorizations/auth-1/revoke")) == (409, "invalid_state")
    assert error_of(settled_api.post("authorizations/nope/approve")) == (409, "unknown_authorization")


@pytest.mark.parametrize(
    "body, code",
    [
        ({"id": "a-9", "customer_id": "c-2"}, "reseller_required"),
        ({"id": "a-9", "customer_id": "c-2", "reseller": "r-1"}, "reseller_mismatch"),
        ({"id": "a-9", "customer_id": "c-1"}, "not_associated"),
        ({"id": "auth-1", "customer_id": "c-2", "reseller": "r-9"}, "id_conflict"),
    ],
)
def test_a_refused_authorization_request_is_409_with_its_code(settled_api, body, code):
    assert error_of(settled_api.post("authorizations", "partner", body)) == (409, code)


def test_who_asks_for_authorization(settled_api):
    body = {"id": "a-9", "customer_id": "c-2", "reseller": "r-2"}
    assert error_of(settled_api.post("authorizations", "operator", body)) == (400, "invalid_request")
    assert settled_api.post("authorizations", "operator", {**body, "partner_id": "p-1"}).status_code == 201
    assert error_of(settled_api.post("authorizations", "partner2", {**body, "partner_id": "p-1"})) == (403, "forbidden")
    for role in ("auditor", "reseller", "manager"):
        assert error_of(settled_api.post("authorizations", role, {**body, "partner_id": "p-1"})) == (403, "forbidden")
    assert [a["partner_id"] for a in settled_api.get("authorizations", "partner2").json()["authorizations"]] == []


@pytest.mark.parametrize(
    "path, params, field",
    [
        ("resources", {}, "customer"),
        ("resources", {"customer": "c-2", "period": "2026"}, "period"),
        ("authorizations", {"status": "granted"}, "status"),
        ("subsidies", {"deal": "d" * 65}, "deal"),
        ("incentives", {"partner": "p-1", "period": "2026-10", "supervisor": ""}, "supervisor"),
    ],
)
def test_a_malformed_read_is_400_naming_the_field(settled_api, path, params, field):
    response = settled_api.get(path, **params)
    assert error_of(response) == (400, "invalid_request") and field in response.json()["error"]["message"]


def test_no_token_is_401_on_every_endpoint_of_these_features(settled_api):
    for response in (
        settled_api.get("incentives", None, partner="p-1", period="2026-10"),
        settled_api.get("resources", None, customer="c-2"),
        settled_api.get("service-types", None),
        settled_api.post("authorizations", None, {"id": "x", "customer_id": "c-2"}),
    ):
        assert error_of(response) == (401, "unauthorized")
