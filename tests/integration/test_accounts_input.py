"""Every malformed amount, id and text of the ledger's commands (CONTRACT.md §8) is a
usage error: exit 2, one line naming the option, and nothing recorded. Run through the
command line's `main` in this process (the e2e tests run a sample as subprocesses)."""

from __future__ import annotations

import pytest

from commands.cli import main

BAD_AMOUNTS = [
    "",
    "0",
    "0.00",
    "-1",
    "-0.01",
    "1e3",
    "1E3",
    "1.001",
    "1.",
    ".5",
    " 1",
    "1 ",
    "+1",
    "1,000",
    "NaN",
    "inf",
    "1000000000000",
    "999999999999.01",
    "0x10",
    "１",
    "1/2",
    "1_000",
    "0" * 5000 + "1.001",
]
GOOD_EDGES = ["0.01", "999999999999", "999999999999.00", "007"]
BAD_IDS = ["", "x" * 65, "a\nb", "tab\there", "\x7f"]


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Runs `billing ARGS` in-process on a store in a temporary folder; returns
    (exit status, stdout, stderr)."""
    for name in [n for n in __import__("os").environ if n.startswith("BILLING_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BILLING_NOW", "2026-11-30T10:00:00Z")
    store = f"sqlite:///{tmp_path / 'billing.db'}"

    def run(*args: str) -> tuple[int, str, str]:
        status = main([*args, "--store", store])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    run.db = tmp_path / "billing.db"
    return run


def assert_usage(result: tuple[int, str, str], option: str) -> None:
    status, stdout, stderr = result
    assert status == 2 and stdout == "", result
    assert stderr.count("\n") == 1 and option in stderr and "Traceback" not in stderr, stderr


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_every_malformed_amount_is_a_usage_error_and_records_nothing(cli, amount):
    for command in (
        ["transfer", "topup"],
        ["transfer", "withdrawal"],
        ["transfer", "incentive"],
        ["payment", "submit"],
    ):
        assert_usage(cli(*command, "--partner", "p-1", "--amount", amount, "--id", "x"), "--amount")
    assert_usage(cli("warn", "--partner", "p-1", "--below", amount), "--below") if amount not in ("0", "0.00") else None
    assert not cli.db.exists()


@pytest.mark.parametrize("amount", GOOD_EDGES)
def test_amounts_at_the_edges_are_accepted(cli, amount):
    status, _stdout, stderr = cli("transfer", "topup", "--partner", "p-1", "--amount", amount, "--id", "t", "--json")
    assert status == 0, stderr


@pytest.mark.parametrize("id", BAD_IDS)
def test_every_malformed_id_or_partner_is_a_usage_error_and_records_nothing(cli, id):
    assert_usage(cli("transfer", "topup", "--partner", "p-1", "--amount", "1", "--id", id), "--id")
    assert_usage(cli("transfer", "topup", "--partner", id, "--amount", "1", "--id", "t"), "--partner")
    assert_usage(cli("payment", "submit", "--partner", "p-1", "--amount", "1", "--id", id), "--id")
    assert_usage(cli("payment", "submit", "--partner", id, "--amount", "1", "--id", "t"), "--partner")
    for step in ("approve", "pay"):
        assert_usage(cli("payment", step, "--id", id), "--id")
    assert_usage(cli("payment", "reject", "--id", id, "--reason", "r"), "--id")
    assert_usage(cli("warn", "--partner", id, "--below", "1"), "--partner")
    assert not cli.db.exists()


def test_malformed_ids_on_an_existing_store_record_nothing(cli):
    assert cli("transfer", "topup", "--partner", "p-1", "--amount", "10", "--id", "t-1")[0] == 0
    before = cli("transfers", "--json"), cli("ledger", "--json"), cli("notifications", "--json")
    for id in BAD_IDS:
        assert_usage(cli("transfer", "withdrawal", "--partner", "p-1", "--amount", "1", "--id", id), "--id")
    for amount in BAD_AMOUNTS:
        assert_usage(cli("transfer", "withdrawal", "--partner", "p-1", "--amount", amount, "--id", "w"), "--amount")
    assert (cli("transfers", "--json"), cli("ledger", "--json"), cli("notifications", "--json")) == before


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["payment", "reject", "--id", "x", "--reason", ""], "--reason"),
        (["payment", "reject", "--id", "x", "--reason", "r" * 513], "--reason"),
        (["payment", "reject", "--id", "x"], "--reason"),
        (["transfer", "topup", "--partner", "p", "--amount", "1", "--id", "t", "--note", "n" * 513], "--note"),
        (["warn", "--partner", "p-1", "--below", "1", "--off"], "--off"),
        (["warn", "--partner", "p-1"], "--below"),
        (["transfer", "statement", "--partner", "p", "--amount", "1", "--id", "t"], "KIND"),
        (["transfer", "payment", "--partner", "p", "--amount", "1", "--id", "t"], "KIND"),
        (["transfer", "topup", "--amount", "1", "--id", "t"], "--partner"),
        (["payments", "--status", "pending"], "--status"),
        (["payment", "cancel", "--id", "x"], "cancel"),
    ],
)
def test_other_malformed_requests_are_usage_errors(cli, args, option):
    assert_usage(cli(*args), option)


def test_a_note_of_512_characters_and_an_empty_note_are_kept(cli):
    assert cli("transfer", "topup", "--partner", "p", "--amount", "1", "--id", "t-1", "--note", "n" * 512)[0] == 0
    status, stdout, _ = cli(
        "transfer", "topup", "--partner", "p", "--amount", "1", "--id", "t-2", "--note", "", "--json"
    )
    assert status == 0 and '"note":""' in stdout
