"""Periods and statements over HTTP (CONTRACT.md §7, §10): bodies equal the CLI's
`--json`, each role reads and writes what §10's table allows, refusals are 409."""

from __future__ import annotations

import pytest

from tests.web_support import error_of


@pytest.mark.parametrize(
    "path, params, command",
    [
        ("periods", {}, ["periods"]),
        ("statements", {}, ["statements"]),
        ("statements", {"partner": "p-1"}, ["statements", "--partner", "p-1"]),
        (
            "statements",
            {"status": "pending_confirmation", "period": "2026-10"},
            ["statements", "--status", "pending_confirmation", "--period", "2026-10"],
        ),
        (
            "statements",
            {"issued_from": "2026-11-01T00:00:00+08:00", "issued_to": "2026-12-01T00:00:00Z"},
            ["statements", "--issued-from", "2026-11-01T00:00:00+08:00", "--issued-to", "2026-12-01T00:00:00Z"],
        ),
        ("statements/p-2/2026-10", {}, ["statement", "--partner", "p-2", "--period", "2026-10"]),
    ],
)
def test_an_operators_body_equals_the_commands_json_output(settled_api, capsys, path, params, command):
    response = settled_api.get(path, **params)
    assert response.status_code == 200, response.text
    assert response.json() == settled_api.cli(capsys, *command)


def test_every_role_lists_periods_and_an_auditor_reads_every_statement(settled_api):
    closed_at = settled_api.get("periods").json()["periods"][0]["closed_at"]
    for role in ("auditor", "partner", "reseller", "manager"):
        assert settled_api.get("periods", role).json()["periods"] == [
            {"period": "2026-10", "status": "closed", "closed_at": closed_at}
        ]
    assert [s["partner_id"] for s in settled_api.get("statements", "auditor").json()["statements"]] == ["p-1", "p-2"]


def test_a_partner_lists_and_reads_only_its_own_statements(settled_api):
    listing = settled_api.get("statements", "partner").json()["statements"]
    assert [(s["partner_id"], s["period"]) for s in listing] == [("p-1", "2026-10")]
    assert settled_api.get("statements/p-1/2026-10", "partner").json()["total_settled_amount"] == "18.00"
    assert error_of(settled_api.get("statements", "partner", partner="p-2")) == (403, "forbidden")
    assert error_of(settled_api.get("statements/p-2/2026-10", "partner")) == (403, "forbidden")


@pytest.mark.parametrize("role", ["reseller", "manager"])
def test_scoped_readers_read_no_statement(settled_api, role):
    assert error_of(settled_api.get("statements", role)) == (403, "forbidden")
    assert error_of(settled_api.get("statements/p-1/2026-10", role)) == (403, "forbidden")


def test_a_partner_confirms_its_statement_once_and_the_body_is_the_cli_statement(settled_api, capsys):
    confirmed = settled_api.post("statements/p-1/2026-10/confirm", "partner")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == settled_api.cli(capsys, "statement", "--partner", "p-1", "--period", "2026-10")
    assert [step["status"] for step in confirmed.json()["history"]] == ["pending_confirmation", "confirmed"]
    again = settled_api.post("statements/p-1/2026-10/confirm", "partner")
    refused = settled_api.cli_refusal(capsys, "confirm", "--partner", "p-1", "--period", "2026-10")
    assert error_of(again) == (409, refused)


def test_a_dispute_carries_its_reason_and_a_disputed_statement_can_still_be_confirmed(settled_api):
    disputed = settled_api.post("statements/p-1/2026-10/dispute", "partner", {"reason": "c-2 不是我们的客户"})
    assert disputed.status_code == 200, disputed.text
    assert (disputed.json()["status"], disputed.json()["history"][-1]["reason"]) == ("disputed", "c-2 不是我们的客户")
    assert settled_api.post("statements/p-1/2026-10/confirm", "operator").json()["status"] == "confirmed"


def test_confirming_a_statement_posts_its_settled_total_to_revenue(settled_api):
    settled_api.post("statements/p-1/2026-10/confirm", "partner")
    account = settled_api.get("accounts/p-1", "partner").json()
    assert account["prepaid"]["balance"] == "482.00"  # 500.00 topped up less the statement's 18.00


@pytest.mark.parametrize("role", ["auditor", "reseller", "manager", "partner2"])
def test_only_the_partner_itself_or_an_operator_responds_to_a_statement(settled_api, role):
    assert error_of(settled_api.post("statements/p-1/2026-10/confirm", role)) == (403, "forbidden")
    assert error_of(settled_api.post("statements/p-1/2026-10/dispute", role, {"reason": "no"})) == (403, "forbidden")
    assert settled_api.get("statements/p-1/2026-10").json()["status"] == "pending_confirmation"


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("statements/p-1/2026-10/dispute", {"reason": ""}, "reason"),
        ("statements/p-1/2026-10/dispute", {"reason": "x" * 513}, "reason"),
        ("statements/p-1/2026-10/dispute", {}, "reason"),
        ("statements/p-1/2026-10/dispute", None, "body"),
        ("statements/p-1/2026-10/dispute", {"reason": "x", "extra": 1}, "extra"),
        ("statements/p-1/2026-13/confirm", None, "period"),
        ("statements/" + "p" * 65 + "/2026-10/confirm", None, "partner"),
        ("periods/2026-1/close", None, "period"),
        ("periods/9999-12/close", None, "period"),
    ],
)
def test_a_malformed_write_is_400_naming_the_field(settled_api, path, body, field):
    response = settled_api.post(path, "operator", body)
    assert error_of(response) == (400, "invalid_request"), response.text
    assert field in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "open"}, "status"),
        ({"issued_from": "2026-11-01"}, "issued_from"),
        ({"issued_to": "2026-13-01T00:00:00Z"}, "issued_to"),
        ({"period": "10-2026"}, "period"),
        ({"partner": "x" * 65}, "partner"),
    ],
)
def test_a_malformed_statement_filter_is_400_naming_it(settled_api, params, field):
    response = settled_api.get("statements", **params)
    assert error_of(response) == (400, "invalid_request") and field in response.json()["error"]["message"]


def test_an_unknown_statement_is_409_unknown_statement_as_the_commands_exit_1(settled_api):
    assert error_of(settled_api.get("statements/p-9/2026-10")) == (409, "unknown_statement")
    assert error_of(settled_api.post("statements/p-1/2026-09/confirm")) == (409, "unknown_statement")


def test_only_operators_close_and_a_refused_close_is_409_with_its_code(settled_api, capsys):
    for role in ("auditor", "partner", "reseller", "manager"):
        assert error_of(settled_api.post("periods/2026-11/close", role)) == (403, "forbidden")
    assert error_of(settled_api.post("periods/2026-11/close")) == (409, "period_not_ended")
    assert error_of(settled_api.post("periods/2026-10/close")) == (409, "period_already_closed")
    assert settled_api.cli(capsys, "periods")["periods"][-1]["status"] == "closed"


def test_no_token_is_401_on_every_statement_endpoint(settled_api):
    for response in (
        settled_api.get("periods", None),
        settled_api.get("statements", None),
        settled_api.post("statements/p-1/2026-10/confirm", None),
        settled_api.post("periods/2026-10/close", None),
    ):
        assert error_of(response) == (401, "unauthorized")
