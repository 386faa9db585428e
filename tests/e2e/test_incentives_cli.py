"""`billing calendar`, `subsidy`, `subsidies` and `incentives` as a user runs them
(CONTRACT.md §9): real subprocesses in a fresh folder, figures worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import builders as b
from tests.builders import jsonl
from tests.contract_fields import SUBSIDY_KEYS
from testsupport.cli_runner import assert_refused, assert_usage_failure, billing, clocked, loads, out

run = clocked("2026-11-05T10:00:00+08:00")
POLICY = b.incentive_policy()  # the contract's example


def october(folder: Path, *options: str):
    """`billing incentives` of p-1 for 2026-10 (OPTIONS: a scope, `--json`)."""
    return run(folder, "incentives", "--partner", "p-1", "--period", "2026-10", *options)


def write(path: Path, value) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path.name


def test_a_milestone_is_planned_delivered_and_listed(tmp_path):
    plan = [
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d-1",
        "--milestone",
        "m-1",
        "--planned",
        "2026-09-30",
        "--amount",
        "1000",
        "--json",
    ]
    planned = loads(run(tmp_path, *plan))
    assert list(planned) == SUBSIDY_KEYS
    assert planned == {
        "partner_id": "p-1",
        "deal_id": "d-1",
        "milestone": "m-1",
        "planned": "2026-09-30",
        "delivered": None,
        "amount": "1000.00",
        "working_days_late": None,
        "deduction_rate": None,
        "payable_amount": None,
        "status": "pending",
        "calendar": None,
    }
    assert loads(run(tmp_path, *plan)) == planned  # the same again: no change, exit 0
    assert_refused(run(tmp_path, *plan[:-2], "999", "--json"), "id_conflict")
    delivered = loads(
        run(
            tmp_path, "subsidy", "deliver", "--deal", "d-1", "--milestone", "m-1", "--delivered", "2026-10-30", "--json"
        )
    )
    # Oct 8, 9, Sat Oct 10 (worked), then 15 days of three whole weeks: 18 late, 5% off.
    assert {k: delivered[k] for k in SUBSIDY_KEYS[4:]} == {
        "delivered": "2026-10-30",
        "amount": "1000.00",
        "working_days_late": 18,
        "deduction_rate": "0.05",
        "payable_amount": "950.00",
        "status": "reduced",
        "calendar": "chinesecalendar 1.11.0",
    }
    assert_refused(
        run(tmp_path, "subsidy", "deliver", "--deal", "d-1", "--milestone", "m-1", "--delivered", "2026-10-30"),
        "invalid_state",
    )
    assert loads(run(tmp_path, "subsidies", "--json")) == {"subsidies": [delivered]}
    assert loads(run(tmp_path, "subsidies", "--partner", "p-2", "--json")) == {"subsidies": []}
    table = out(run(tmp_path, "subsidies"))
    assert "reduced" in table and "950.00" in table and "chinesecalendar 1.11.0" in table


def test_a_year_the_package_does_not_cover_is_refused_until_loaded(tmp_path):
    run(
        tmp_path,
        "subsidy",
        "plan",
        "--partner",
        "p-1",
        "--deal",
        "d-1",
        "--milestone",
        "m-1",
        "--planned",
        "2026-12-30",
        "--amount",
        "100.00",
    )
    deliver = ["subsidy", "deliver", "--deal", "d-1", "--milestone", "m-1", "--delivered", "2027-01-11", "--json"]
    assert_refused(run(tmp_path, *deliver), "calendar_not_covered", "2027")
    schedule = {"year": 2027, "holidays": ["2027-01-01"], "working_days": ["2027-01-09"], "source": "test"}
    loaded = loads(run(tmp_path, "calendar", "load", write(tmp_path / "2027.json", schedule), "--json"))
    assert loaded == {
        "year": 2027,
        "calendar": "loaded 2027 v1",
        "source": "test",
        "loaded_at": "2026-11-05T02:00:00.000000Z",
    }
    assert loads(run(tmp_path, *deliver))["working_days_late"] == 8
    years = loads(run(tmp_path, "calendar", "--json"))["years"]
    assert [y["year"] for y in years] == list(range(2004, 2028))
    assert years[0] == {
        "year": 2004,
        "calendar": "chinesecalendar 1.11.0",
        "source": "the chinesecalendar package",
        "loaded_at": None,
    }
    table = out(run(tmp_path, "calendar"))
    assert "2004-2026" in table and "loaded 2027 v1" in table


@pytest.mark.parametrize(
    "args",
    [
        [
            "subsidy",
            "plan",
            "--partner",
            "p-1",
            "--deal",
            "d-1",
            "--milestone",
            "m-1",
            "--planned",
            "2026-10-01",
            "--amount",
            "1.001",
        ],
        [
            "subsidy",
            "plan",
            "--partner",
            "p-1",
            "--deal",
            "d-1",
            "--milestone",
            "m-1",
            "--planned",
            "2026-13-01",
            "--amount",
            "1",
        ],
        [
            "subsidy",
            "plan",
            "--partner",
            "",
            "--deal",
            "d-1",
            "--milestone",
            "m-1",
            "--planned",
            "2026-10-01",
            "--amount",
            "1",
        ],
        ["subsidy", "deliver", "--deal", "d-1", "--milestone", "m-1"],
        ["subsidy", "refund"],
        ["calendar", "load", "missing.json"],
        ["incentives", "load", "missing.json"],
        ["incentives", "--period", "2026-10"],
        ["incentives", "--partner", "p-1", "--period", "2026-10", "--account-manager", "a", "--supervisor", "s"],
        ["incentives", "settle"],
        ["incentives", "settle", "--period", "2026-13"],
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path, args):
    assert_usage_failure(run(tmp_path, *args))


@pytest.mark.parametrize(
    "args",
    [
        ["subsidies"],
        ["calendar"],
        ["incentives", "--partner", "p-1", "--period", "2026-10"],
        ["incentives", "settle", "--period", "2026-10"],
    ],
)
def test_reads_need_an_existing_store(tmp_path, args):
    assert_usage_failure(run(tmp_path, *args), "no store")
    assert not (tmp_path / "billing.db").exists()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        {"year": 2027},
        {"year": 2027, "holidays": ["2027-02-30"], "working_days": [], "source": "x"},
    ],
)
def test_a_malformed_calendar_file_is_a_usage_error(tmp_path, content):
    name = write(tmp_path / "c.json", content) if not isinstance(content, str) else "c.json"
    if isinstance(content, str):
        (tmp_path / name).write_text(content)
    assert_usage_failure(run(tmp_path, "calendar", "load", name), "c.json")


@pytest.fixture
def partner_month(tmp_path) -> Path:
    events = [
        b.assigned("am-1", "sv-1", time="2026-09-01T00:00:00+08:00"),
        b.assigned("am-2", "sv-1", time="2026-09-01T00:00:00+08:00"),
        b.assigned("am-3", "sv-2", time="2026-09-01T00:00:00+08:00"),
    ]
    for n, (manager, quantity) in enumerate([("am-1", "6000"), ("am-2", "5000"), ("am-3", "700.55")]):
        events.append(b.associated(f"c-{n}", data={"account_manager_id": manager}, time="2026-10-01T09:00:00+08:00"))
        events.append(b.usage(f"c-{n}", quantity=quantity, unit_price="1", time="2026-10-02T09:00:00+08:00"))
    assert run(tmp_path, "ingest", jsonl(tmp_path / "in.jsonl", events).name).returncode == 0
    return tmp_path


def test_incentives_need_a_policy_for_the_period(partner_month):
    assert_refused(october(partner_month), "no_policy", "2026-10")


def test_a_policy_is_loaded_once_and_never_overlaps(partner_month):
    name = write(partner_month / "policy.json", POLICY)
    assert loads(run(partner_month, "incentives", "load", name, "--json")) == {
        "policy_id": "2026Q4",
        "periods": ["2026-10", "2026-11", "2026-12"],
    }
    assert run(partner_month, "incentives", "load", name).returncode == 0
    other = write(partner_month / "other.json", {**POLICY, "periods": ["2026-10"]})
    assert_refused(run(partner_month, "incentives", "load", other), "id_conflict")
    overlap = write(partner_month / "overlap.json", {**POLICY, "policy_id": "x", "periods": ["2026-12", "2027-01"]})
    assert_refused(run(partner_month, "incentives", "load", overlap), "policy_overlap")
    tiers = [{"from": "1", "rate": "1"}, {"from": "1.0", "rate": "2"}]
    twice = write(
        partner_month / "twice.json",
        {
            **POLICY,
            "policy_id": "y",
            "periods": ["2027-02"],
            "rewards": [{"indicator": "consumption", "mode": "whole", "tiers": tiers}],
        },
    )
    assert_refused(run(partner_month, "incentives", "load", twice), "duplicate_tier")
    bad = write(partner_month / "bad.json", {**POLICY, "indicators": [{"name": "x", "statistic": "revenue"}]})
    assert_usage_failure(run(partner_month, "incentives", "load", bad), "indicators[0].statistic")
    assert (
        run(
            partner_month,
            "incentives",
            "load",
            "-",
            stdin=json.dumps({**POLICY, "policy_id": "z", "periods": ["2027-03"]}).encode(),
        ).returncode
        == 0
    )


def test_the_incentive_report_and_dashboard_by_scope(partner_month):
    run(partner_month, "incentives", "load", write(partner_month / "policy.json", POLICY))
    report = loads(october(partner_month, "--json"))
    # 11700.55 settled: 10000 × 0.02 + 1700.55 × 0.03 = 251.0165
    assert report == {
        "partner_id": "p-1",
        "period": "2026-10",
        "policy_id": "2026Q4",
        "status": "estimated",
        "indicators": [
            {"name": "consumption", "statistic": "settled_amount", "value": "11700.55"},
            {"name": "new_enterprise", "statistic": "new_enterprise_customers", "value": 3},
        ],
        "rewards": [{"indicator": "consumption", "amount": "251.01"}],
        "total": "251.01",
    }
    supervised = loads(october(partner_month, "--supervisor", "sv-1", "--json"))
    assert supervised["indicators"][0]["value"] == "11000.00" and supervised["total"] == "230.00"
    managed = loads(october(partner_month, "--account-manager", "am-3", "--json"))
    assert managed["indicators"] == [
        {"name": "consumption", "statistic": "settled_amount", "value": "700.55"},
        {"name": "new_enterprise", "statistic": "new_enterprise_customers", "value": 1},
    ]
    assert managed["total"] == "14.01"  # 700.55 × 0.02 = 14.011
    board = out(october(partner_month, "--supervisor", "sv-1"))
    assert "supervisor sv-1 (account managers: am-1, am-2)" in board and "by account manager" in board
    assert "am-1" in board and "120.00" in board  # 6000 × 0.02
    partner_board = out(october(partner_month))
    assert "by supervisor" in partner_board and "sv-2" in partner_board and "251.01" in partner_board


def test_a_policy_file_that_only_adds_a_key_the_engine_ignores_is_other_content_id_conflict(tmp_path):
    assert run(tmp_path, "incentives", "load", write(tmp_path / "policy.json", POLICY)).returncode == 0
    noted = write(tmp_path / "noted.json", {**POLICY, "note": "the same rules, annotated"})
    assert_refused(run(tmp_path, "incentives", "load", noted), "id_conflict", "2026Q4")
    spaced = tmp_path / "spaced.json"
    spaced.write_text(json.dumps(POLICY, indent=4))
    assert run(tmp_path, "incentives", "load", spaced.name).returncode == 0


def test_a_closed_period_is_final_on_the_dashboard_and_settled_once(partner_month):
    run(partner_month, "incentives", "load", write(partner_month / "policy.json", POLICY))
    settle = ["incentives", "settle", "--period", "2026-10", "--json"]
    assert_refused(run(partner_month, *settle), "period_not_closed", "2026-10")
    assert run(partner_month, "close", "--period", "2026-10").returncode == 0
    # Recorded after the close: a late October usage of am-3's customer changes nothing final.
    late = [b.usage("c-2", quantity="1000", unit_price="1", time="2026-10-30T09:00:00+08:00")]
    assert run(partner_month, "ingest", jsonl(partner_month / "late.jsonl", late).name).returncode == 0
    report = loads(october(partner_month, "--json"))
    assert (report["status"], report["indicators"][0]["value"], report["total"]) == ("final", "11700.55", "251.01")
    managed = loads(october(partner_month, "--account-manager", "am-3", "--json"))
    assert (managed["status"], managed["indicators"][0]["value"]) == ("final", "700.55")
    board = out(october(partner_month))
    assert "policy 2026Q4, final" in board and "by supervisor" in board and "251.01" in board
    assert_refused(run(partner_month, *settle), "statement_not_confirmed", "p-1", "pending_confirmation")
    run(partner_month, "dispute", "--partner", "p-1", "--period", "2026-10", "--reason", "unknown charge")
    assert_refused(run(partner_month, *settle), "statement_not_confirmed", "disputed")
    assert run(partner_month, "confirm", "--partner", "p-1", "--period", "2026-10").returncode == 0
    settled = loads(run(partner_month, *settle))
    transfer = {
        "id": "incentive:2026Q4:2026-10:p-1",
        "kind": "incentive",
        "debit": "cloud:incentives",
        "credit": "incentive:p-1",
        "amount": "251.01",
        "status": "posted",
    }
    assert list(settled) == ["period", "policy_id", "transfers"]
    assert (settled["period"], settled["policy_id"]) == ("2026-10", "2026Q4")
    assert [{k: t[k] for k in transfer} for t in settled["transfers"]] == [transfer]
    listed = loads(run(partner_month, "transfers", "--partner", "p-1", "--json"))["transfers"]
    assert [t for t in listed if t["kind"] == "incentive"] == settled["transfers"]
    again = run(partner_month, *settle)
    assert (again.returncode, loads(again)) == (0, settled)
    assert "already settled" in again.stderr.decode()
    assert loads(run(partner_month, "transfers", "--partner", "p-1", "--json"))["transfers"] == listed
    ledger = loads(run(partner_month, "ledger", "--json"))
    balances = {a["account"]: a["balance"] for a in ledger["accounts"]}
    assert (ledger["total"], balances["incentive:p-1"], balances["cloud:incentives"]) == ("0.00", "251.01", "-251.01")
    table = out(run(partner_month, "incentives", "settle", "--period", "2026-10"))
    assert "incentive:2026Q4:2026-10:p-1" in table and "251.01" in table


def test_settle_needs_a_policy(partner_month):
    assert_refused(run(partner_month, "incentives", "settle", "--period", "2026-10"), "no_policy", "2026-10")


def _parsers(parser, path=()):
    """Every (sub)parser under `parser`, with its command path."""
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def test_every_command_and_option_has_help_naming_its_default():
    import argparse

    from commands.cli import build_parser

    ours = {"calendar", "subsidy", "subsidies", "incentives"}
    checked = 0
    for path, parser in _parsers(build_parser()):
        if not path or path[0] not in ours:
            continue
        assert parser.description or parser.format_usage(), path
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.dest in (
                "store",
                "kafka",
                "group",
            ):
                continue
            assert action.help, (path, action.dest)
            if action.option_strings:
                assert "default" in action.help or "required" in action.help, (path, action.dest, action.help)
            checked += 1
    assert checked >= 20


def test_each_subcommand_prints_its_help(tmp_path):
    for command in (["subsidy", "plan"], ["incentives", "load"], ["incentives", "settle"], ["calendar"]):
        shown = billing(tmp_path, *command, "--help")
        assert shown.returncode == 0 and "usage:" in out(shown)
