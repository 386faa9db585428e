"""What a user reads: tables aligned for Chinese text, help for every command and
option, usage errors pointing at the command's help, plain messages, summaries, CSV,
and the store at a glance (issue 12)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import wcwidth

from commands.cli import build_parser
from tests import builders as b
from tests.builders import jsonl
from testsupport.cli_runner import assert_usage_failure, billing, loads, out

CJK = [
    b.associated(
        "客户-2",
        "伙伴-1",
        id="a-1",
        time="2026-09-01T00:00:00+08:00",
        data={"account_manager_id": "经理-张", "indirect_partner_id": "代理-王"},
    ),
    b.usage("客户-2", id="u-1", resource_id="实例-1", quantity="2"),
    b.usage("客户-2", id="u-2", resource_id="i-22", quantity="3"),
    b.usage("c-3", id="u-3", resource_id="实例-长名字", quantity="1", unit_price="1000"),
    b.associated("c-4", "p-2", id="a-4", time="2026-10-05T00:00:00+08:00"),
]


@pytest.fixture(scope="module")
def cjk(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cjk")
    jsonl(folder / "in.jsonl", CJK)
    assert billing(folder, "ingest", "in.jsonl").returncode == 0
    return folder


def _columns_line_up(text: str) -> None:
    """Every row of each table block is as wide, in display columns, as its rule."""
    for block in text.split("\n\n"):
        lines = block.splitlines()
        rules = [i for i, line in enumerate(lines) if re.fullmatch(r"[- ]+", line)]
        for rule in rules:
            starts = [m.start() for m in re.finditer(r"-+", lines[rule])]
            for line in lines[rule - 1 : rule + 1] + lines[rule + 1 :]:
                if not line.strip() or re.fullmatch(r"[- ]+", line):
                    continue
                # Each column starts where its rule starts: a space precedes it (or the line start).
                positions = _display_positions(line)
                for start in starts[1:]:
                    if start <= max(positions):  # (empty cells at the end are trimmed)
                        assert start in positions and positions[start - 1] == " ", (block, line)


def _display_positions(line: str) -> dict[int, str]:
    positions, column = {}, 0
    for char in line:
        positions[column] = char
        column += max(wcwidth.wcwidth(char), 0)
    return positions


@pytest.mark.parametrize(
    "command",
    [
        ["bills", "--period", "2026-10"],
        ["bills", "--period", "2026-10", "--summary"],
        ["performance", "--partner", "伙伴-1", "--period", "2026-10"],
        ["customers", "--list"],
        ["partners"],
    ],
    ids=lambda c: " ".join(c),
)
def test_tables_with_chinese_text_line_up_in_display_columns(cjk, command):
    result = billing(cjk, *command)
    assert result.returncode == 0, result.stderr
    assert "客户" in out(result) or "伙伴" in out(result)
    _columns_line_up(out(result))


def test_every_command_and_option_has_a_help_text():
    parser = build_parser()
    [commands] = [a for a in parser._actions if a.dest == "command"]
    for name, sub in commands.choices.items():
        assert sub.description, name
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"billing {name} {action.option_strings[0]}"
    assert "--kafka" not in parser.format_help()
    assert "--kafka" not in commands.choices["bills"].format_help()
    assert "--kafka" in commands.choices["serve"].format_help()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["bills", "--period", "13"], ["--period", "billing bills --help"]),
        (["topics"], ["create", "billing topics --help"]),
        (["replay", "--period", "2026-10", "--as-of", "yesterday"], ["--as-of", "billing replay --help"]),
    ],
)
def test_a_usage_error_points_at_the_commands_help_and_names_no_internals(cjk, args, words):
    error = assert_usage_failure(billing(cjk, *args), *words)
    assert "_command" not in error and error.count("--as-of:") <= 1


def test_a_customer_without_a_bill_is_named(cjk):
    assert out(billing(cjk, "bills", "--period", "2026-10", "--customer", "c-404")).startswith(
        "no bill for customer c-404 in 2026-10"
    )


def test_memory_on_a_read_command_explains_that_it_lives_for_one_command(cjk):
    assert_usage_failure(billing(cjk, "bills", "--period", "2026-10", "--store", "memory://"), "one command")


def test_ingest_counts_have_thousands_separators(tmp_path):
    jsonl(tmp_path / "in.jsonl", [b.usage("c-1", id=f"u-{n}") for n in range(1200)])
    assert "accepted: 1,200" in out(billing(tmp_path, "ingest", "in.jsonl"))


def test_the_rejected_table_fits_120_columns_and_json_keeps_the_full_message(tmp_path):
    long_id = "事件-" + "x" * 80
    jsonl(
        tmp_path / "in.jsonl",
        [b.usage("c-1", id=long_id, source="metering/a-very-long-source-name", unit_price="0.123456789")],
    )
    billing(tmp_path, "ingest", "in.jsonl")
    table = out(billing(tmp_path, "rejected"))
    assert max(wcwidth.width(line) for line in table.splitlines()) <= 120, table
    [kept] = loads(billing(tmp_path, "rejected", "--json"))["rejected"]
    assert kept["id"] == long_id and "at most 8 decimals" in kept["message"]


def test_json_keeps_non_ascii_text_readable_whatever_the_locale(cjk):
    result = billing(cjk, "bills", "--period", "2026-10", "--json", PYTHONIOENCODING="ascii")
    assert "客户-2".encode() in result.stdout and b"\\u" not in result.stdout


def test_bills_summary_and_csv_agree_with_the_json(cjk):
    bills = loads(billing(cjk, "bills", "--period", "2026-10", "--json"))["bills"]
    summary = out(billing(cjk, "bills", "--period", "2026-10", "--summary"))
    assert "total (2 bills)" in summary and "1000.00000000" in summary
    rows = list(csv.DictReader(io.StringIO(out(billing(cjk, "bills", "--period", "2026-10", "--csv")))))
    assert [(r["customer_id"], r["item_id"], r["payable_amount"]) for r in rows] == [
        (bill["customer_id"], line["item_id"], line["payable_amount"]) for bill in bills for line in bill["lines"]
    ]
    per_bill = list(
        csv.DictReader(io.StringIO(out(billing(cjk, "bills", "--period", "2026-10", "--csv", "--summary"))))
    )
    assert [(r["customer_id"], r["settled_amount"]) for r in per_bill] == [
        (bill["customer_id"], bill["settled_amount"]) for bill in bills
    ]


def test_performance_csv_has_one_row_a_customer(cjk):
    rows = list(
        csv.reader(io.StringIO(out(billing(cjk, "performance", "--partner", "伙伴-1", "--period", "2026-10", "--csv"))))
    )
    assert rows == [
        ["partner_id", "period", "currency", "customer_id", "payable_amount", "settled_amount"],
        ["伙伴-1", "2026-10", "CNY", "客户-2", "0.61728390", "0.61"],
    ]


def test_status_partners_and_the_customer_list_say_what_the_store_holds(cjk):
    status = loads(billing(cjk, "status", "--json"))
    assert (status["events"], status["customers"], status["partners"]) == (5, 3, 2)
    assert status["periods"] == [{"period": "2026-10", "bills": 2, "charges": 3, "status": None}]
    assert status["last_recorded_at"] and status["size_bytes"] > 0
    assert "events recorded: 5" in out(billing(cjk, "status"))
    partners = loads(billing(cjk, "partners", "--json"))["partners"]
    assert partners == [
        {"partner_id": "p-2", "customers": 1, "associations": 1, "periods": []},
        {"partner_id": "伙伴-1", "customers": 1, "associations": 1, "periods": ["2026-10"]},
    ]
    customers = loads(billing(cjk, "customers", "--list", "--json"))["customers"]
    assert [(c["customer_id"], c["partner_id"], c["account_manager_id"]) for c in customers] == [
        ("c-3", None, None),
        ("c-4", "p-2", None),
        ("客户-2", "伙伴-1", "经理-张"),
    ]
    only = loads(billing(cjk, "customers", "--list", "--partner", "p-2", "--json"))["customers"]
    assert [c["customer_id"] for c in only] == ["c-4"]
    json.dumps(status)  # plain JSON values
