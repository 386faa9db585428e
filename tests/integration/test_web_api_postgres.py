"""The settlement endpoints over a PostgreSQL store (CONTRACT.md §10): reads and writes
run in worker threads, and the bodies are the CLI's on the same store."""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient

from commands.bootstrap import open_engine
from commands.cli import main
from commands.settings import Settings
from tests.web_support import NOW, role_tokens, settle
from web.app import create_app


@pytest.mark.postgres
def test_statements_transfers_and_payments_over_postgresql_answer_as_the_cli(postgres_fresh_dsn, capsys):
    with open_engine(Settings(store_url=postgres_fresh_dsn, now=NOW), create=True) as engine:
        settle(engine)
        tokens = role_tokens(engine)
        app = create_app(engine)
        assert app.state.inline_reads is False
        with TestClient(app) as client:
            partner = {"Authorization": f"Bearer {tokens['partner']}"}
            operator = {"Authorization": f"Bearer {tokens['operator']}"}
            confirmed = client.post("/api/v1/statements/p-1/2026-10/confirm", headers=partner)
            topped = client.post(
                "/api/v1/transfers",
                headers=partner,
                json={"kind": "topup", "partner_id": "p-1", "amount": "7.00", "id": "pg-1"},
            )
            again = client.post(
                "/api/v1/transfers",
                headers=partner,
                json={"kind": "topup", "partner_id": "p-1", "amount": "7.00", "id": "pg-1"},
            )
            submitted = client.post(
                "/api/v1/payments", headers=partner, json={"partner_id": "p-1", "amount": "20.00", "id": "pg-pay"}
            )
            approved = client.post("/api/v1/payments/pg-pay/approve", headers=operator)
            account = client.get("/api/v1/accounts/p-1", headers=partner)
            resources = client.get("/api/v1/resources", params={"customer": "c-2", "reseller": "r-2"}, headers=partner)
    assert (
        confirmed.status_code,
        topped.status_code,
        again.status_code,
        submitted.status_code,
        approved.status_code,
    ) == (200, 201, 200, 201, 200)

    def cli(*args: str) -> object:
        capsys.readouterr()
        assert main(["--store", postgres_fresh_dsn, *args, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    assert confirmed.json() == cli("statement", "--partner", "p-1", "--period", "2026-10")
    assert account.json() == cli("account", "--partner", "p-1")
    assert account.json()["prepaid"]["balance"] == "489.00"  # 500 + 7 - the statement's 18.00
    assert approved.json() == cli("payments", "--partner", "p-1")["payments"][0]
    assert resources.json() == cli("resources", "--customer", "c-2")
    assert [t["id"] for t in cli("transfers", "--partner", "p-1")["transfers"]].count("pg-1") == 1
