"""Accounts, transfers, the ledger, warnings, payment applications and notifications over
HTTP (CONTRACT.md §8, §10): bodies equal the CLI's `--json`, roles as §10's table,
refusals 409 with their code, a repeated id answered as the first call was."""

from __future__ import annotations

import pytest

from tests.web_support import error_of


def transfer(kind: str, amount: str, id: str, partner: str = "p-1", **more) -> dict:
    return {"kind": kind, "partner_id": partner, "amount": amount, "id": id, **more}


@pytest.mark.parametrize(
    "path, params, command",
    [
        ("accounts/p-1", {}, ["account", "--partner", "p-1"]),
        ("accounts/p-9", {}, ["account", "--partner", "p-9"]),
        ("transfers", {}, ["transfers"]),
        ("transfers", {"partner": "p-2"}, ["transfers", "--partner", "p-2"]),
        ("ledger", {}, ["ledger"]),
        ("payments", {}, ["payments"]),
        ("notifications", {}, ["notifications"]),
        ("notifications", {"partner": "p-1"}, ["notifications", "--partner", "p-1"]),
    ],
)
def test_an_operators_body_equals_the_commands_json_output(settled_api, capsys, path, params, command):
    response = settled_api.get(path, **params)
    assert response.status_code == 200, response.text
    assert response.json() == settled_api.cli(capsys, *command)


def test_a_partner_reads_its_own_account_transfers_payments_and_notifications_only(settled_api, capsys):
    assert settled_api.get("accounts/p-1", "partner").json() == settled_api.cli(capsys, "account", "--partner", "p-1")
    assert settled_api.get("transfers", "partner").json() == settled_api.cli(capsys, "transfers", "--partner", "p-1")
    assert settled_api.get("notifications", "partner").json() == settled_api.cli(
        capsys, "notifications", "--partner", "p-1"
    )
    for path, params in (
        ("accounts/p-2", {}),
        ("transfers", {"partner": "p-2"}),
        ("payments", {"partner": "p-2"}),
        ("notifications", {"partner": "p-2"}),
        ("ledger", {}),
    ):
        assert error_of(settled_api.get(path, "partner", **params)) == (403, "forbidden"), path


@pytest.mark.parametrize("role", ["reseller", "manager"])
def test_scoped_readers_read_no_account_data(settled_api, role):
    for path in ("accounts/p-1", "transfers", "payments", "notifications", "ledger"):
        assert error_of(settled_api.get(path, role)) == (403, "forbidden"), path


def test_a_partner_tops_up_and_withdraws_and_the_body_is_the_recorded_transfer(settled_api, capsys):
    topped = settled_api.post("transfers", "partner", transfer("topup", "100.50", "web-1", note="网银"))
    assert topped.status_code == 201, topped.text
    recorded = settled_api.cli(capsys, "transfers", "--partner", "p-1")["transfers"]
    assert topped.json() == recorded[-1] and topped.json()["credit"] == "prepaid:p-1"
    withdrawn = settled_api.post("transfers", "partner", transfer("withdrawal", "600.50", "web-2"))
    assert withdrawn.status_code == 201 and withdrawn.json()["debit"] == "prepaid:p-1"
    assert settled_api.get("accounts/p-1", "partner").json()["prepaid"]["available"] == "0.00"


def test_the_same_transfer_again_is_200_with_the_first_answer_and_records_nothing(settled_api):
    first = settled_api.post("transfers", "partner", transfer("topup", "5.00", "web-1"))
    again = settled_api.post("transfers", "partner", transfer("topup", "5.00", "web-1", note="other note"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert [t["id"] for t in settled_api.get("transfers").json()["transfers"]].count("web-1") == 1


def test_refusals_of_transfers_are_409_with_the_contracts_codes(settled_api, capsys):
    settled_api.post("transfers", "partner", transfer("topup", "5.00", "web-1"))
    assert error_of(settled_api.post("transfers", "partner", transfer("topup", "6.00", "web-1"))) == (
        409,
        "id_conflict",
    )
    too_much = settled_api.post("transfers", "partner", transfer("withdrawal", "505.01", "web-2"))
    assert error_of(too_much) == (
        409,
        settled_api.cli_refusal(
            capsys, "transfer", "withdrawal", "--partner", "p-1", "--amount", "505.01", "--id", "cli-2"
        ),
    )
    assert error_of(too_much) == (409, "insufficient_funds")


def test_an_incentive_credit_is_the_operators_and_a_partner_acts_for_itself_only(settled_api):
    assert error_of(settled_api.post("transfers", "partner", transfer("incentive", "5.00", "web-1"))) == (
        403,
        "forbidden",
    )
    assert error_of(settled_api.post("transfers", "partner", transfer("topup", "5.00", "web-2", "p-2"))) == (
        403,
        "forbidden",
    )
    for role in ("auditor", "reseller", "manager"):
        assert error_of(settled_api.post("transfers", role, transfer("topup", "5.00", "web-3"))) == (403, "forbidden")
    assert settled_api.post("transfers", "operator", transfer("incentive", "5.00", "web-4")).status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        (transfer("gift", "1.00", "x"), "kind"),
        (transfer("topup", "1.001", "x"), "amount"),
        (transfer("topup", "0", "x"), "amount"),
        (transfer("topup", "-1", "x"), "amount"),
        (transfer("topup", "1e3", "x"), "amount"),
        (transfer("topup", "1000000000000", "x"), "amount"),
        (transfer("topup", "1.00", ""), "id"),
        (transfer("topup", "1.00", "x" * 65), "id"),
        (transfer("topup", "1.00", "x", note="n" * 513), "note"),
        ({"kind": "topup", "partner_id": "p-1", "amount": 100, "id": "x"}, "amount"),
        ({"kind": "topup", "partner_id": "p-1", "id": "x"}, "amount"),
        (["topup"], "body"),
    ],
)
def test_a_malformed_transfer_is_400_naming_the_field_and_records_nothing(settled_api, body, field):
    response = settled_api.post("transfers", "operator", body)
    assert error_of(response) == (400, "invalid_request"), response.text
    assert field in response.json()["error"]["message"]
    assert len(settled_api.get("transfers").json()["transfers"]) == 3


def test_the_warning_is_set_and_cleared_by_the_partner_and_answers_the_account(settled_api, capsys):
    set_ = settled_api.put("accounts/p-1/warning", "partner", {"below": "600.00"})
    assert set_.status_code == 200 and set_.json() == settled_api.cli(capsys, "account", "--partner", "p-1")
    assert set_.json()["warn_below"] == "600.00"
    assert [n["type"] for n in settled_api.get("notifications", "partner").json()["notifications"]][-1] == "balance.low"
    cleared = settled_api.put("accounts/p-1/warning", "partner", {"below": None})
    assert cleared.json()["warn_below"] is None
    assert error_of(settled_api.put("accounts/p-2/warning", "partner", {"below": "1"})) == (403, "forbidden")
    assert error_of(settled_api.put("accounts/p-1/warning", "auditor", {"below": "1"})) == (403, "forbidden")
    assert error_of(settled_api.put("accounts/p-1/warning", "partner", {"below": "-1"}))[0] == 400
    assert error_of(settled_api.put("accounts/p-1/warning", "partner", {}))[0] == 400


def test_a_payment_application_goes_from_submission_to_paid_and_each_body_is_the_clis(settled_api, capsys):
    submitted = settled_api.post("payments", "partner", {"partner_id": "p-1", "amount": "30.00", "id": "pay-1"})
    assert submitted.status_code == 201, submitted.text
    assert (
        settled_api.post("payments", "partner", {"partner_id": "p-1", "amount": "30.00", "id": "pay-1"}).json()
        == submitted.json()
    )
    assert settled_api.get("accounts/p-1", "partner").json()["incentive"]["pending"] == "30.00"
    for role in ("partner", "auditor", "reseller"):
        assert error_of(settled_api.post("payments/pay-1/approve", role)) == (403, "forbidden")
    approved = settled_api.post("payments/pay-1/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert error_of(settled_api.post("payments/pay-1/approve")) == (409, "invalid_state")
    paid = settled_api.post("payments/pay-1/pay")
    assert paid.json() == settled_api.cli(capsys, "payments", "--partner", "p-1")["payments"][0]
    assert [h["status"] for h in paid.json()["history"]] == ["under_review", "approved", "paid"]
    assert settled_api.get("payments", "partner", status="paid").json() == settled_api.cli(
        capsys, "payments", "--partner", "p-1", "--status", "paid"
    )
    assert settled_api.get("accounts/p-1").json()["incentive"] == {
        "balance": "50.00",
        "pending": "0.00",
        "available": "50.00",
    }


def test_a_rejection_needs_a_reason_and_voids_the_reservation(settled_api):
    settled_api.post("payments", "partner", {"partner_id": "p-1", "amount": "30.00", "id": "pay-1"})
    assert error_of(settled_api.post("payments/pay-1/reject", "operator", {"reason": ""}))[0] == 400
    assert error_of(settled_api.post("payments/pay-1/reject", "operator", None))[0] == 400
    rejected = settled_api.post("payments/pay-1/reject", "operator", {"reason": "发票缺失"})
    assert rejected.json()["history"][-1] == {
        "status": "rejected",
        "at": rejected.json()["history"][-1]["at"],
        "reason": "发票缺失",
    }
    assert settled_api.get("accounts/p-1").json()["incentive"]["pending"] == "0.00"


def test_payment_refusals_are_409(settled_api):
    assert error_of(settled_api.post("payments", "partner", {"partner_id": "p-1", "amount": "80.01", "id": "p"})) == (
        409,
        "insufficient_funds",
    )
    assert error_of(settled_api.post("payments", "partner2", {"partner_id": "p-1", "amount": "1", "id": "p"})) == (
        403,
        "forbidden",
    )
    assert error_of(settled_api.post("payments/nope/pay"))[0] == 409
    assert error_of(settled_api.get("payments", status="done")) == (400, "invalid_request")


def test_no_token_is_401_on_every_account_endpoint(settled_api):
    for response in (
        settled_api.get("accounts/p-1", None),
        settled_api.get("ledger", None),
        settled_api.post("transfers", None, transfer("topup", "1", "x")),
        settled_api.put("accounts/p-1/warning", None, {"below": None}),
        settled_api.post("payments/x/approve", None),
    ):
        assert error_of(response) == (401, "unauthorized")
