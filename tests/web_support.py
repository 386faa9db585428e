"""The settlement store the API and console tests share (CONTRACT.md §7–9, §12 over §10),
a client that speaks as each role's token, and the CLI's `--json` to compare with.

October 2026 (tests.integration.test_scoped_views.switching_customer_events): p-1
carries c-1 (reseller r-1, account manager a-1) and c-2 (r-2, a-2); p-2 carries c-1
(a-2). The clock stands in November, October is closed (statements for p-1 and p-2),
p-1 has 500.00 prepaid and 80.00 of incentive, a policy covers October, a deal of p-1
has two milestones, the catalogue names two service types, and p-1 holds an approved
authorization of c-2 (auth-1, naming reseller r-2).

`settled_api` is the fixture: import it into a test module to use it.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from litestar.testing import TestClient

from commands import accounts
from commands.authorizations import answer_authorization, request_authorization
from commands.bootstrap import Engine, open_engine
from commands.catalog import load_catalog, parse_catalog
from commands.cli import main
from commands.incentives import load_policy
from commands.settings import Settings
from commands.statements import close_period
from commands.subsidies import deliver_milestone, plan_milestone
from commands.tokens import create_token
from tests import builders as b
from tests.conftest import record
from tests.integration.test_scoped_views import switching_customer_events

NOW = "2026-11-05T00:00:00Z"
POLICY = b.incentive_policy(
    {"consumption": "settled_amount", "consuming": "consuming_customers"},
    [b.reward("consumption", "stepped", ("0", "0.02"), ("10", "0.05"))],
)
CATALOG = {
    "service_types": [
        {"service_type": "ECS", "service_type_name": "弹性云服务器", "service_type_name_en": "Elastic Cloud Server"},
        {"service_type": "OBS", "service_type_name": "对象存储服务", "service_type_name_en": "Object Storage Service"},
    ]
}


def settlement_events() -> list[dict]:
    return [
        *switching_customer_events(),
        b.usage("c-9", quantity="x"),
        b.assigned("a-1", "sv-1", "p-1", id="as-1"),
        b.assigned("a-2", "sv-2", "p-1", id="as-2"),
    ]


def settle(engine: Engine) -> None:
    """The events, then a close, accounts, a policy, subsidies, the catalogue, an authorization."""
    record(engine, settlement_events())
    close_period(engine, "2026-10")
    rules = engine.rules
    accounts.transfer(engine, accounts.transfer_request(rules, "topup", "p-1", "500.00", "t-1"))
    accounts.transfer(engine, accounts.transfer_request(rules, "incentive", "p-1", "80.00", "t-2"))
    accounts.transfer(engine, accounts.transfer_request(rules, "topup", "p-2", "10.00", "t-3"))
    load_policy(engine, json.dumps(POLICY).encode())
    plan_milestone(engine, "p-1", "deal-1", "m-1", date(2026, 10, 9), "1000.00")
    plan_milestone(engine, "p-1", "deal-1", "m-2", date(2026, 10, 30), "500.00")
    plan_milestone(engine, "p-2", "deal-2", "m-1", date(2026, 10, 9), "300.00")
    deliver_milestone(engine, "deal-1", "m-1", date(2026, 11, 2))
    load_catalog(engine, parse_catalog(json.dumps(CATALOG).encode()))
    request_authorization(engine, authorization_id="auth-1", partner_id="p-1", customer_id="c-2", reseller="r-2")
    answer_authorization(engine, "auth-1", "approve")


def role_tokens(engine: Engine) -> dict[str, str]:
    return {
        "operator": create_token(engine, "operator").token,
        "auditor": create_token(engine, "auditor").token,
        "partner": create_token(engine, "partner", "p-1").token,
        "partner2": create_token(engine, "partner", "p-2").token,
        "reseller": create_token(engine, "reseller", "p-1", indirect_partner_id="r-1").token,
        "manager": create_token(engine, "account_manager", "p-1", account_manager_id="a-2").token,
    }


class Api:
    """A test client speaking as one of the roles' tokens, and the CLI beside it."""

    def __init__(self, client, tokens: dict[str, str], url: str, engine: Engine):
        self.client, self.tokens, self.url, self.engine = client, tokens, url, engine

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(self, path: str, role: str | None = "operator", **params):
        return self.client.get(f"/api/v1/{path}", params=params, headers=self.headers(role))

    def post(self, path: str, role: str | None = "operator", body: object = None):
        return self.client.post(f"/api/v1/{path}", json=body, headers=self.headers(role))

    def put(self, path: str, role: str | None = "operator", body: object = None):
        return self.client.put(f"/api/v1/{path}", json=body, headers=self.headers(role))

    def cli(self, capsys, *args: str) -> object:
        """What `billing ARGS --json` prints (exit 0 required)."""
        capsys.readouterr()
        assert main(["--store", self.url, *args, "--json"]) == 0, capsys.readouterr().err
        return json.loads(capsys.readouterr().out)

    def cli_refusal(self, capsys, *args: str) -> str:
        """The code of the refusal `billing ARGS` exits 1 with."""
        capsys.readouterr()
        assert main(["--store", self.url, *args]) == 1
        return capsys.readouterr().err.split(":", 1)[0]


@pytest.fixture
def settled_api(tmp_path):
    """The settlement store on a SQLite file, the app over it, a token per role."""
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    with open_engine(Settings(store_url=url, now=NOW), create=True) as engine:
        settle(engine)
        tokens = role_tokens(engine)
        from web.app import create_app

        with TestClient(create_app(engine)) as client:
            yield Api(client, tokens, url, engine)


def error_of(response) -> tuple[int, str]:
    """A refused answer's status and code."""
    return response.status_code, response.json()["error"]["code"]
