"""The JSON API (CONTRACT.md §10) in process: bodies equal the CLI's `--json` output,
401 / 403 / 400 / 409 as the contract says, scopes applied to every view."""

from __future__ import annotations

import json

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from commands.bootstrap import open_engine
from commands.cli import main
from commands.settings import Settings
from commands.tokens import create_token, revoke_token
from engine.errors import Refused
from tests import builders as b
from tests.conftest import record
from tests.integration.test_scoped_views import switching_customer_events
from web.app import create_app
from web.errors import api_error_response


@pytest.fixture
def api(tmp_path):
    """A store with two partners' customers and one rejection, a client, tokens by role."""
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    with open_engine(Settings(store_url=url), create=True) as engine:
        record(engine, [*switching_customer_events(), b.usage("c-9", quantity="x")])
        tokens = {
            "operator": create_token(engine, "operator").token,
            "auditor": create_token(engine, "auditor").token,
            "partner": create_token(engine, "partner", "p-1").token,
            "reseller": create_token(engine, "reseller", "p-1", indirect_partner_id="r-1").token,
            "manager": create_token(engine, "account_manager", "p-1", account_manager_id="a-2").token,
        }
        with TestClient(create_app(engine)) as client:
            yield Api(client, tokens, url, engine)


class Api:
    def __init__(self, client, tokens, url, engine):
        self.client, self.tokens, self.url, self.engine = client, tokens, url, engine

    def get(self, path: str, role: str | None = "operator", **params):
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return self.client.get(f"/api/v1/{path}", params=params, headers=headers)

    def cli(self, capsys, *args: str) -> object:
        capsys.readouterr()
        assert main(["--store", self.url, *args, "--json"]) == 0
        return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "path, params, command",
    [
        ("bills", {"period": "2026-10"}, ["bills", "--period", "2026-10"]),
        ("bills", {"period": "2026-10", "customer": "c-1"}, ["bills", "--period", "2026-10", "--customer", "c-1"]),
        (
            "customers",
            {"partner": "p-1", "period": "2026-10"},
            ["customers", "--partner", "p-1", "--period", "2026-10"],
        ),
        (
            "customers",
            {"partner": "p-1", "period": "2026-10", "reseller": "r-1"},
            ["customers", "--partner", "p-1", "--period", "2026-10", "--reseller", "r-1"],
        ),
        (
            "performance",
            {"partner": "p-2", "period": "2026-10"},
            ["performance", "--partner", "p-2", "--period", "2026-10"],
        ),
        (
            "replay",
            {"period": "2026-10", "as_of": "2030-01-01T00:00:00Z"},
            ["replay", "--period", "2026-10", "--as-of", "2030-01-01T00:00:00Z"],
        ),
        ("rejected", {}, ["rejected"]),
    ],
)
def test_an_operators_body_equals_the_commands_json_output(api, capsys, path, params, command):
    response = api.get(path, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == api.cli(capsys, *command)


def test_an_auditor_reads_replay_and_rejections(api):
    assert api.get("replay", "auditor", period="2026-10").status_code == 200
    assert api.get("rejected", "auditor").json()["rejected"][0]["reason"] == "invalid_data"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer bt_not-a-token"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer \u00e9\u00e9".encode()},
    ],
)
def test_no_token_or_an_unknown_one_is_401_with_the_error_shape(api, headers):
    response = api.client.get("/api/v1/bills", params={"period": "2026-10"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_is_401_from_the_next_request_on(api):
    listing = api.get("performance", "partner", partner="p-1", period="2026-10")
    assert listing.status_code == 200
    token_id = next(
        t.token_id for t in __import__("commands.tokens").tokens.list_tokens(api.engine).tokens if t.role == "partner"
    )
    revoke_token(api.engine, token_id)
    assert api.get("performance", "partner", partner="p-1", period="2026-10").status_code == 401


@pytest.mark.parametrize(
    "role, path, params",
    [
        ("partner", "performance", {"partner": "p-2", "period": "2026-10"}),
        ("partner", "customers", {"partner": "p-2", "period": "2026-10"}),
        ("partner", "replay", {"period": "2026-10"}),
        ("partner", "rejected", {}),
        ("reseller", "customers", {"partner": "p-1", "period": "2026-10", "reseller": "r-2"}),
        ("manager", "customers", {"partner": "p-1", "period": "2026-10", "account_manager": "a-1"}),
        ("manager", "performance", {"partner": "p-2", "period": "2026-10"}),
        ("auditor", "replay", {"period": "2026-10"}),  # the one allowed: checks the table is not all 403
    ],
)
def test_a_role_or_scope_that_does_not_allow_it_is_403(api, role, path, params):
    response = api.get(path, role, **params)
    if role == "auditor":
        assert response.status_code == 200
        return
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


def test_a_partner_sees_bills_of_its_own_charges_only(api):
    bills = api.get("bills", "partner", period="2026-10").json()["bills"]
    assert [(bill["customer_id"], bill["settled_amount"], bill["charges"]) for bill in bills] == [
        ("c-1", "15.00", 1),
        ("c-2", "3.00", 1),
    ]


def test_a_reseller_and_an_account_manager_see_only_their_scopes_customers(api):
    reseller_bills = api.get("bills", "reseller", period="2026-10").json()["bills"]
    manager_bills = api.get("bills", "manager", period="2026-10", customer="c-1").json()["bills"]
    assert [bill["customer_id"] for bill in reseller_bills] == ["c-1"]
    assert manager_bills == []  # c-1's p-1 charges carry a-1, not a-2
    counts = api.get("customers", "reseller", partner="p-1", period="2026-10").json()
    assert (counts["total_customers"], counts["consuming_customers"]) == (0, 1)  # c-1 left p-1 in October
    performance = api.get("performance", "manager", partner="p-1", period="2026-10").json()
    assert [d["customer_id"] for d in performance["details"]] == ["c-2"]


@pytest.mark.parametrize(
    "path, params, field",
    [
        ("bills", {}, "period"),
        ("bills", {"period": "2026-13"}, "period"),
        ("bills", {"period": "2026-1"}, "period"),
        ("bills", {"period": "2026-10", "customer": "x" * 65}, "customer"),
        ("customers", {"period": "2026-10"}, "partner"),
        ("customers", {"partner": "p-1", "period": "2026-10", "reseller": ""}, "reseller"),
        ("customers", {"partner": "p-1", "period": "9999-12"}, "period"),
        ("customers", {"partner": "p-1", "period": "0001-01"}, "period"),
        ("replay", {"period": "9999-12"}, "period"),
        ("replay", {"period": "2026-10", "as_of": "yesterday"}, "as_of"),
        ("replay", {"period": "2026-10", "as_of": "2026-10-01T00:00:00"}, "as_of"),
        ("rejected", {"reason": "no_such_reason"}, "reason"),
    ],
)
def test_a_malformed_request_is_400_naming_the_field(api, path, params, field):
    response = api.get(path, **params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"]


@pytest.mark.parametrize(
    "query, field",
    [("period=2026-10&customer=c-1&customer=c-2", "customer"), ("period=2026-10&custmer=c-1", "custmer")],
)
def test_a_query_parameter_given_twice_or_unknown_is_400(api, query, field):
    response = api.client.get(f"/api/v1/bills?{query}", headers={"Authorization": f"Bearer {api.tokens['operator']}"})
    assert response.status_code == 400 and response.json()["error"]["message"].startswith(field)


def test_an_unknown_path_or_method_answers_in_the_error_shape(api):
    missing = api.get("no-such-view")
    wrong_method = api.client.post("/api/v1/bills", headers={"Authorization": f"Bearer {api.tokens['operator']}"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert wrong_method.status_code in (404, 405) and "error" in wrong_method.json()


def test_the_openapi_document_is_served_and_lists_the_endpoints(api):
    document = api.client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/bills", "/api/v1/customers", "/api/v1/performance", "/api/v1/replay", "/api/v1/rejected"} <= set(
        document["paths"]
    )
    assert not any(path.startswith(("/signin", "/static")) for path in document["paths"])


def test_a_kept_answer_is_answered_again_until_the_log_moves_on(api):
    first = api.get("performance", "partner", partner="p-1", period="2026-10").json()
    assert api.get("performance", "partner", partner="p-1", period="2026-10").json() == first
    assert api.client.app.state.view_cache.hits >= 1
    record(
        api.engine, [b.usage("c-2", quantity="1", unit_price="5", resource_id="i-2", time="2026-10-06T00:00:00+08:00")]
    )
    after = api.get("performance", "partner", partner="p-1", period="2026-10").json()
    assert (first["settled_amount"], after["settled_amount"]) == ("18.00", "23.00")


def test_readers_of_different_scopes_never_share_a_kept_answer(api):
    partner = api.get("bills", "partner", period="2026-10").json()["bills"]
    reseller = api.get("bills", "reseller", period="2026-10").json()["bills"]
    operator = api.get("bills", "operator", period="2026-10").json()["bills"]
    assert [len(partner), len(reseller), len(operator)] == [2, 1, 3]


def test_a_refusal_is_409_with_its_code():
    @get("/api/v1/refuse", sync_to_thread=False)
    def refuse() -> None:
        raise Refused("insufficient_funds", "withdrawal of 5.00 above the available 1.00")

    with TestClient(Litestar([refuse], exception_handlers={Exception: api_error_response})) as client:
        response = client.get("/api/v1/refuse")
    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "insufficient_funds", "message": "withdrawal of 5.00 above the available 1.00"}
    }


@pytest.mark.postgres
def test_on_postgresql_reads_run_in_worker_threads_and_answer_as_the_cli(postgres_fresh_dsn, capsys):
    with open_engine(Settings(store_url=postgres_fresh_dsn), create=True) as engine:
        record(engine, switching_customer_events())
        token = create_token(engine, "reseller", "p-1", indirect_partner_id="r-1").token
        app = create_app(engine)
        assert app.state.inline_reads is False
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {token}"}
            performance = client.get(
                "/api/v1/performance", params={"partner": "p-1", "period": "2026-10"}, headers=headers
            )
            bills = client.get("/api/v1/bills", params={"period": "2026-10"}, headers=headers)
            counts = client.get(
                "/api/v1/customers", params={"partner": "p-1", "period": "2026-10", "reseller": "r-1"}, headers=headers
            )
    capsys.readouterr()
    assert (
        main(
            [
                "--store",
                postgres_fresh_dsn,
                "customers",
                "--partner",
                "p-1",
                "--period",
                "2026-10",
                "--reseller",
                "r-1",
                "--json",
            ]
        )
        == 0
    )
    assert counts.json() == json.loads(capsys.readouterr().out)
    assert performance.status_code == 200 and [d["customer_id"] for d in performance.json()["details"]] == ["c-1"]
    assert [bill["customer_id"] for bill in bills.json()["bills"]] == ["c-1"]
