"""A store is bound to the currency and time zone it was created with (CONTRACT.md §5):
a command with other settings exits 2 naming both, and changes nothing."""

from __future__ import annotations

import sqlite3

import pytest

from tests import builders as b
from tests.builders import jsonl
from tests.e2e.test_cli import counts_json
from testsupport.cli_runner import assert_usage_failure, billing, loads, out


@pytest.fixture
def cny_store(tmp_path):
    """A folder whose billing.db was created with the defaults (CNY, Asia/Shanghai),
    holding one accepted usage and one USD usage kept as a rejection."""
    jsonl(tmp_path / "in.jsonl", [b.usage("c-1", id="u-cny"), b.usage("c-1", id="u-usd", currency="USD")])
    assert out(billing(tmp_path, "ingest", "in.jsonl", "--json")) == counts_json(1, 0, 1)
    return tmp_path


def _snapshot(folder):
    """Everything a command could change: the bills and the kept rejections."""
    return (
        out(billing(folder, "bills", "--period", "2026-10", "--json")),
        out(billing(folder, "rejected", "--json")),
    )


@pytest.mark.parametrize(
    "command",
    [
        ["bills", "--period", "2026-10"],
        ["rejected"],
        ["rejected", "--retry"],
        ["ingest", "in.jsonl"],
        ["replay", "--period", "2026-10"],
    ],
    ids=lambda c: " ".join(c),
)
@pytest.mark.parametrize(("setting", "value"), [("BILLING_CURRENCY", "USD"), ("BILLING_TIMEZONE", "UTC")])
def test_a_command_with_another_currency_or_time_zone_exits_2_naming_both_and_changes_nothing(
    cny_store, command, setting, value
):
    before = _snapshot(cny_store)
    error = assert_usage_failure(billing(cny_store, *command, **{setting: value}), "CNY", "Asia/Shanghai", value)
    assert "bound" in error
    assert _snapshot(cny_store) == before


def test_a_retry_with_the_currency_of_a_kept_rejection_does_not_mix_it_into_a_cny_bill(cny_store):
    assert_usage_failure(billing(cny_store, "rejected", "--retry", BILLING_CURRENCY="USD"), "USD", "CNY")
    rows = loads(billing(cny_store, "rejected", "--json"))["rejected"]
    assert [(r["id"], r["reason"], r["accepted"]) for r in rows] == [("u-usd", "currency_not_accepted", None)]


def test_the_binding_is_recorded_when_the_store_is_created(cny_store):
    with sqlite3.connect(cny_store / "billing.db") as connection:
        rows = dict(connection.execute("SELECT name, value FROM store_settings"))
    assert rows == {"currency": "CNY", "timezone": "Asia/Shanghai"}


def test_a_store_made_before_the_binding_adopts_the_settings_of_its_next_write_and_says_so(cny_store):
    with sqlite3.connect(cny_store / "billing.db") as connection:
        connection.execute("DROP TABLE store_settings")
    # A read does not bind it: any settings may read it.
    assert billing(cny_store, "bills", "--period", "2026-10", "--json", BILLING_TIMEZONE="UTC").returncode == 0
    jsonl(cny_store / "more.jsonl", [b.usage("c-2", id="u-2")])
    adopted = billing(cny_store, "ingest", "more.jsonl", "--json")
    assert adopted.returncode == 0
    assert "bound to CNY and Asia/Shanghai from now on" in adopted.stderr.decode()
    assert_usage_failure(billing(cny_store, "bills", "--period", "2026-10", BILLING_CURRENCY="JPY"), "JPY", "CNY")
    again = billing(cny_store, "ingest", "more.jsonl", "--json")
    assert again.stderr == b""  # said once, when adopted


def test_a_new_store_binds_silently_to_the_settings_it_was_created_with(tmp_path):
    jsonl(tmp_path / "in.jsonl", [b.usage("c-1", id="u-1", currency="USD")])
    created = billing(tmp_path, "ingest", "in.jsonl", "--json", BILLING_CURRENCY="USD", BILLING_TIMEZONE="UTC")
    assert (out(created), created.stderr) == (counts_json(1, 0, 0), b"")
    assert_usage_failure(billing(tmp_path, "bills", "--period", "2026-10"), "USD", "UTC", "CNY")
    bills = loads(
        billing(tmp_path, "bills", "--period", "2026-10", "--json", BILLING_CURRENCY="USD", BILLING_TIMEZONE="UTC")
    )["bills"]
    assert [x["currency"] for x in bills] == ["USD"]
