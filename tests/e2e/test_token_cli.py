"""`billing token create|revoke` and `billing tokens` as a user runs them (CONTRACT.md §10)."""

from __future__ import annotations

import sqlite3

import pytest

from tests import builders as b
from testsupport.cli_runner import assert_usage_failure, billing, loads, out

TOKEN_KEYS = [
    "token_id",
    "token",
    "role",
    "partner_id",
    "indirect_partner_id",
    "account_manager_id",
    "name",
    "created_at",
]
ENTRY_KEYS = [
    "token_id",
    "role",
    "partner_id",
    "indirect_partner_id",
    "account_manager_id",
    "name",
    "created_at",
    "revoked_at",
]


def test_a_token_is_printed_once_listed_without_its_secret_and_stored_only_as_a_hash(tmp_path):
    created = loads(
        billing(
            tmp_path,
            "token",
            "create",
            "--role",
            "reseller",
            "--partner",
            "p-1",
            "--reseller",
            "r-1",
            "--name",
            "Yunfan ops",
            "--json",
        )
    )
    assert list(created) == TOKEN_KEYS
    assert (created["role"], created["partner_id"], created["indirect_partner_id"]) == ("reseller", "p-1", "r-1")
    listed = loads(billing(tmp_path, "tokens", "--json"))["tokens"]
    assert [list(entry) for entry in listed] == [ENTRY_KEYS]
    assert listed[0]["token_id"] == created["token_id"] and listed[0]["revoked_at"] is None
    assert created["token"] not in out(billing(tmp_path, "tokens"))
    database = (tmp_path / "billing.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("billing.db-*"))
    assert created["token"].encode() not in database


def test_creating_and_revoking_tokens_records_no_event(tmp_path):
    ingest = tmp_path / "events.jsonl"
    ingest.write_bytes(b.line(b.usage("c-1")) + b"\n")
    assert billing(tmp_path, "ingest", str(ingest)).returncode == 0
    token = loads(billing(tmp_path, "token", "create", "--role", "operator", "--json"))
    revoked = loads(billing(tmp_path, "token", "revoke", "--id", token["token_id"], "--json"))
    assert revoked["revoked_at"] is not None and list(revoked) == ENTRY_KEYS
    with sqlite3.connect(tmp_path / "billing.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0] == 1


def test_revoking_again_keeps_the_first_revocation_and_an_unknown_id_is_refused(tmp_path):
    token = loads(billing(tmp_path, "token", "create", "--role", "auditor", "--json"))
    first = loads(billing(tmp_path, "token", "revoke", "--id", token["token_id"], "--json"))
    again = loads(billing(tmp_path, "token", "revoke", "--id", token["token_id"], "--json"))
    assert again["revoked_at"] == first["revoked_at"]
    unknown = billing(tmp_path, "token", "revoke", "--id", "tok_nope")
    assert unknown.returncode == 1 and unknown.stderr.decode().startswith("unknown_token: ")


@pytest.mark.parametrize(
    "args, words",
    [
        (["--role", "reseller", "--partner", "p-1"], ["--reseller"]),
        (["--role", "account_manager", "--partner", "p-1"], ["--account-manager"]),
        (["--role", "partner"], ["--partner"]),
        (["--role", "operator", "--partner", "p-1"], ["--partner"]),
        (["--role", "king"], ["--role"]),
        (["--role", "partner", "--partner", "p" * 65], ["--partner"]),
    ],
)
def test_a_role_without_its_scope_or_with_another_is_a_usage_error(tmp_path, args, words):
    assert_usage_failure(billing(tmp_path, "token", "create", *args), *words)
    assert not (tmp_path / "billing.db").exists()


def test_listing_tokens_needs_an_existing_store(tmp_path):
    assert_usage_failure(billing(tmp_path, "tokens"), "no store")


def test_web_on_a_store_that_does_not_exist_is_a_usage_error(tmp_path):
    assert_usage_failure(billing(tmp_path, "web", "--port", "0"), "no store")
    assert_usage_failure(billing(tmp_path, "web", "--port", "70000"), "--port")
