"""The `billing` command as a user runs it: a real subprocess, a fresh folder, a clean environment.

Every figure below is worked out by hand from CONTRACT.md, not read back from the engine.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests import builders as b
from tests.builders import jsonl
from testsupport.cli_runner import assert_usage_failure, billing, loads, out

COUNT_KEYS = ["accepted", "duplicates", "rejected"]
BILL_KEYS = [
    "customer_id",
    "period",
    "currency",
    "list_amount",
    "discount_amount",
    "payable_amount",
    "settled_amount",
    "rounding_off_amount",
    "charges",
    "lines",
]
LINE_KEYS = [
    "service_type",
    "item_id",
    "list_amount",
    "discount_amount",
    "payable_amount",
    "settled_amount",
    "rounding_off_amount",
    "charges",
]
COUNTS_KEYS = [
    "partner_id",
    "period",
    "total_customers",
    "association_count",
    "consuming_customers",
    "new_enterprise_customers_quarter",
]
PERFORMANCE_KEYS = [
    "partner_id",
    "period",
    "currency",
    "payable_amount",
    "settled_amount",
    "customers",
    "details",
    "by_account_manager",
    "by_reseller",
]
REJECTION_KEYS = ["source", "id", "type", "reason", "message", "arrived", "accepted", "raw"]
READ_COMMANDS = [
    ["bills", "--period", "2026-10"],
    ["customers", "--partner", "p-1", "--period", "2026-10"],
    ["performance", "--partner", "p-1", "--period", "2026-10"],
    ["rejected"],
]


# --- reading what the command printed -------------------------------------------------


def counts_json(accepted: int, duplicates: int, rejected: int) -> str:
    return f'{{"accepted":{accepted},"duplicates":{duplicates},"rejected":{rejected}}}\n'


def assert_counts_table(result: subprocess.CompletedProcess, accepted: int, duplicates: int, rejected: int) -> None:
    text = out(result)
    for key, value in zip(COUNT_KEYS, (accepted, duplicates, rejected), strict=True):
        assert re.search(rf"^{key}\D*{value}\s*$", text, re.MULTILINE), text


def bill(customer_id: str, period: str, lines: list[dict], *, currency: str = "CNY") -> dict:
    """A bill whose totals are the sums of its lines (all figures given as the contract prints them)."""
    return {
        "customer_id": customer_id,
        "period": period,
        "currency": currency,
        **{key: _sum(shown[key] for shown in lines) for key in LINE_KEYS[2:7]},
        "charges": sum(shown["charges"] for shown in lines),
        "lines": lines,
    }


def line(
    service_type: str,
    item_id: str,
    list_amount: str,
    discount: str,
    payable: str,
    settled: str,
    rounding_off: str,
    charges: int,
) -> dict:
    figures = (service_type, item_id, list_amount, discount, payable, settled, rounding_off, charges)
    return dict(zip(LINE_KEYS, figures, strict=True))


def _sum(figures) -> str:
    figures = list(figures)
    total = sum((Decimal(f) for f in figures), Decimal(0))
    digits = len(figures[0].partition(".")[2])
    return f"{total:.{digits}f}"


# --- a month of events for partner p-1 (Asia/Shanghai, CNY) --------------------------------
#
# c-1 enterprise, am-1 / r-1, from 10-01: usage 2 x 0.12345678 = 0.24691356 (settled 0.24,
#     rounding-off 0.00691356); order o-1 100.00 less a refund of 10.00 in October and
#     one of 5.00 in November (the refund's own period, negative there).
# c-2 individual, no manager or reseller, from 10-02: a gift (zero charge), a 0.85 discount
#     on everything, usage 3 x 1.11111111 = 3.33333333 list, payable 2.8333333305 -> 2.83333333,
#     discount 0.50000000, settled 2.83, rounding-off 0.00333333.
# c-3 enterprise, am-2, first associated in August (last quarter), usage 5.00 on 10-10,
#     disassociated 10-20: consuming in October, not a customer at its end.
# c-4 enterprise, am-1 / r-2, from 10-10: no charges.
# c-5 enterprise, associated 11-05: after October's end.

MONTH = [
    b.associated(
        "c-1",
        "p-1",
        id="a-1",
        time="2026-10-01T09:00:00+08:00",
        data={"account_manager_id": "am-1", "indirect_partner_id": "r-1"},
    ),
    b.associated(
        "c-2", "p-1", id="a-2", customer_type="individual", channel="qr_code", time="2026-10-02T09:00:00+08:00"
    ),
    b.associated("c-3", "p-1", id="a-3", time="2026-08-15T09:00:00+08:00", data={"account_manager_id": "am-2"}),
    b.associated(
        "c-4",
        "p-1",
        id="a-4",
        channel="invitation_link",
        time="2026-10-10T09:00:00+08:00",
        data={"account_manager_id": "am-1", "indirect_partner_id": "r-2"},
    ),
    b.associated("c-5", "p-1", id="a-5", time="2026-11-05T09:00:00+08:00"),
    b.usage("c-1", id="u-1", quantity="2", unit_price="0.12345678"),
    b.order_paid("c-1", id="o-1", order_id="o-1", amount="100.00", product_id="pkg-1", service_type="OBS"),
    b.order_refunded("c-1", id="rf-1", order_id="o-1", amount="10.00", time="2026-10-05T08:00:00+08:00"),
    b.order_refunded("c-1", id="rf-2", order_id="o-1", amount="5.00", time="2026-11-02T08:00:00+08:00"),
    b.gift("c-2", id="g-1", product_id="gift-pkg", service_type="OBS"),
    b.discount_granted("c-2", id="d-1", discount_id="d-1", rate="0.85"),
    b.usage("c-2", id="u-2", quantity="3", unit_price="1.11111111", time="2026-10-06T08:00:00+08:00"),
    b.usage("c-3", id="u-3", quantity="1", unit_price="5", resource_id="i-3", time="2026-10-10T08:00:00+08:00"),
    b.disassociated("c-3", "p-1", id="x-3", time="2026-10-20T08:00:00+08:00"),
]

BILL_C1_OCTOBER = bill(
    "c-1",
    "2026-10",
    [
        line("ECS", "i-9", "0.24691356", "0.00000000", "0.24691356", "0.24", "0.00691356", 1),
        line("OBS", "pkg-1", "90.00000000", "0.00000000", "90.00000000", "90.00", "0.00000000", 2),
    ],
)
BILL_C2_OCTOBER = bill(
    "c-2",
    "2026-10",
    [
        line("ECS", "i-9", "3.33333333", "0.50000000", "2.83333333", "2.83", "0.00333333", 1),
        line("OBS", "gift-pkg", "0.00000000", "0.00000000", "0.00000000", "0.00", "0.00000000", 1),
    ],
)
BILL_C3_OCTOBER = bill(
    "c-3",
    "2026-10",
    [
        line("ECS", "i-3", "5.00000000", "0.00000000", "5.00000000", "5.00", "0.00000000", 1),
    ],
)


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A folder whose default store (billing.db) holds MONTH, and the ingest's result."""
    folder = tmp_path_factory.mktemp("month")
    jsonl(folder / "month.jsonl", MONTH)
    return folder, billing(folder, "ingest", "month.jsonl")


@pytest.fixture
def cwd(tmp_path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


# --- ingest -----------------------------------------------------------------------------


def test_ingest_of_a_clean_file_prints_the_counts_and_exits_0(month):
    folder, result = month
    assert result.returncode == 0, result.stderr
    assert_counts_table(result, accepted=len(MONTH), duplicates=0, rejected=0)
    assert (folder / "billing.db").is_file()


def test_ingest_with_a_bad_line_exits_1_and_json_prints_exactly_the_counts(cwd):
    jsonl(cwd / "in.jsonl", [b.associated("c-1", id="a-1"), "{not json", b.usage("c-1", id="u-1")])
    result = billing(cwd, "ingest", "--json", "in.jsonl")
    assert result.returncode == 1
    assert out(result) == counts_json(2, 0, 1)
    assert b"Traceback" not in result.stderr


def test_lines_that_are_not_utf8_or_nested_too_deep_are_clean_rejections(cwd):
    (cwd / "in.jsonl").write_bytes(b'\xff\xfe{"a": 1}\n' + b"[" * 100_000 + b"\n" + b'{"a":' * 50_000 + b"\n")
    result = billing(cwd, "ingest", "--json", "in.jsonl")
    assert (result.returncode, out(result)) == (1, counts_json(0, 0, 3))
    assert b"Traceback" not in result.stderr
    rows = loads(billing(cwd, "rejected", "--json"))["rejected"]
    assert [r["reason"] for r in rows] == ["malformed_json"] * 3
    assert rows[0]["raw"].endswith('{"a": 1}') and rows[1]["raw"] == "[" * 100_000


def test_ingest_reads_stdin_for_a_dash(cwd):
    body = b"".join(b.line(e) + b"\n" for e in [b.associated("c-1", id="a-1"), b.usage("c-1", id="u-1")])
    result = billing(cwd, "ingest", "-", "--json", stdin=body)
    assert result.returncode == 0, result.stderr
    assert out(result) == counts_json(2, 0, 0)


def test_a_byte_order_mark_crlf_and_blank_lines_are_not_counted(cwd):
    association, use = b.line(b.associated("c-1", id="a-1")), b.line(b.usage("c-1", id="u-1"))
    (cwd / "in.jsonl").write_bytes(b"\xef\xbb\xbf" + association + b"\r\n\r\n\n" + use + b"\r\n  \r\n\r\n")
    result = billing(cwd, "ingest", "--json", "in.jsonl")
    assert out(result) == counts_json(2, 0, 0)
    assert result.returncode == 0
    bills = loads(billing(cwd, "bills", "--period", "2026-10", "--json"))
    assert [x["payable_amount"] for x in bills["bills"]] == ["0.24691356"]


def test_ingesting_the_same_file_again_counts_duplicates_and_leaves_the_bills_byte_identical(cwd):
    events = MONTH[:8]
    jsonl(cwd / "in.jsonl", events)
    assert out(billing(cwd, "ingest", "--json", "in.jsonl")) == counts_json(8, 0, 0)
    before = billing(cwd, "bills", "--period", "2026-10", "--json").stdout
    again = billing(cwd, "ingest", "--json", "in.jsonl")
    assert again.returncode == 0
    assert out(again) == counts_json(0, 8, 0)
    # Key order and spacing don't matter: the same events re-serialized are duplicates too.
    (cwd / "reordered.jsonl").write_text(
        "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in events), encoding="utf-8"
    )
    assert out(billing(cwd, "ingest", "--json", "reordered.jsonl")) == counts_json(0, 8, 0)
    assert billing(cwd, "bills", "--period", "2026-10", "--json").stdout == before


def test_ingest_of_several_files_adds_their_counts(cwd):
    jsonl(cwd / "one.jsonl", [b.associated("c-1", id="a-1")])
    jsonl(cwd / "two.jsonl", [b.usage("c-1", id="u-1"), b.associated("c-1", id="a-1")])
    (cwd / "empty.jsonl").write_bytes(b"")
    result = billing(cwd, "ingest", "one.jsonl", "empty.jsonl", "two.jsonl", "--json")
    assert out(result) == counts_json(2, 1, 0)
    assert result.returncode == 0


def test_a_folder_as_input_exits_2_without_creating_the_store(cwd):
    (cwd / "folder").mkdir()
    assert_usage_failure(billing(cwd, "ingest", "folder"), "folder")
    assert sorted(p.name for p in cwd.iterdir()) == ["folder"]


def test_a_missing_input_file_exits_2_without_creating_the_store(cwd):
    jsonl(cwd / "present.jsonl", [b.associated("c-1", id="a-1")])
    assert_usage_failure(billing(cwd, "ingest", "present.jsonl", "absent.jsonl"), "absent.jsonl")
    assert sorted(p.name for p in cwd.iterdir()) == ["present.jsonl"]


def test_a_missing_input_file_records_nothing_of_the_other_files(cwd):
    jsonl(cwd / "first.jsonl", [b.associated("c-1", id="a-1")])
    assert billing(cwd, "ingest", "first.jsonl").returncode == 0
    jsonl(cwd / "present.jsonl", [b.usage("c-1", id="u-1")])
    assert_usage_failure(billing(cwd, "ingest", "present.jsonl", "absent.jsonl"))
    assert loads(billing(cwd, "bills", "--period", "2026-10", "--json")) == {"period": "2026-10", "bills": []}


# --- store URLs ---------------------------------------------------------------------------


def test_the_default_store_is_billing_db_in_the_working_directory(tmp_path, cwd):
    jsonl(cwd / "in.jsonl", [b.associated("c-1", id="a-1")])
    assert billing(cwd, "ingest", "in.jsonl").returncode == 0
    assert sorted(p.name for p in cwd.iterdir()) == ["billing.db", "in.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_a_relative_sqlite_url_is_relative_to_the_working_directory_and_may_follow_the_command(cwd):
    (cwd / "sub").mkdir()
    jsonl(cwd / "in.jsonl", [b.associated("c-1", id="a-1"), b.usage("c-1", id="u-1")])
    assert billing(cwd, "--store", "sqlite:///rel.db", "ingest", "in.jsonl").returncode == 0
    assert billing(cwd, "ingest", "in.jsonl", "--store", "sqlite:///sub/after.db").returncode == 0
    assert (cwd / "rel.db").is_file() and (cwd / "sub" / "after.db").is_file()
    assert not (cwd / "billing.db").exists()
    after = loads(billing(cwd, "bills", "--period", "2026-10", "--json", "--store", "sqlite:///sub/after.db"))
    assert [x["customer_id"] for x in after["bills"]] == ["c-1"]


def test_an_absolute_sqlite_url_has_four_slashes(tmp_path, cwd):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite:///{elsewhere / 'abs.db'}"
    assert url.startswith("sqlite:////")
    jsonl(cwd / "in.jsonl", [b.associated("c-1", id="a-1")])
    assert billing(cwd, "--store", url, "ingest", "in.jsonl").returncode == 0
    assert (elsewhere / "abs.db").is_file()
    assert sorted(p.name for p in cwd.iterdir()) == ["in.jsonl"]


def test_billing_store_names_the_store_and_the_flag_wins_over_it(cwd):
    jsonl(cwd / "in.jsonl", [b.associated("c-1", id="a-1"), b.usage("c-1", id="u-1")])
    assert billing(cwd, "ingest", "in.jsonl", BILLING_STORE="sqlite:///env.db").returncode == 0
    assert (cwd / "env.db").is_file() and not (cwd / "billing.db").exists()
    bills = loads(billing(cwd, "bills", "--period", "2026-10", "--json", BILLING_STORE="sqlite:///env.db"))
    assert [x["customer_id"] for x in bills["bills"]] == ["c-1"]
    flagged = billing(
        cwd, "--store", "sqlite:///flag.db", "ingest", "in.jsonl", "--json", BILLING_STORE="sqlite:///env.db"
    )
    assert out(flagged) == counts_json(2, 0, 0)
    assert (cwd / "flag.db").is_file()


def test_a_memory_store_ingests_and_leaves_no_file(cwd):
    jsonl(cwd / "in.jsonl", [b.associated("c-1", id="a-1"), b.usage("c-1", id="u-1"), b.usage("c-1", id="u-1")])
    result = billing(cwd, "--store", "memory://", "ingest", "in.jsonl", "--json")
    assert result.returncode == 0, result.stderr
    assert out(result) == counts_json(2, 1, 0)
    assert sorted(p.name for p in cwd.iterdir()) == ["in.jsonl"]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_read_commands_on_a_store_that_does_not_exist_exit_2_and_create_nothing(cwd, command):
    assert_usage_failure(billing(cwd, *command, "--json"))
    assert_usage_failure(billing(cwd, "--store", "sqlite:///other.db", *command))
    assert list(cwd.iterdir()) == []


def test_an_unknown_store_url_or_a_missing_folder_exits_2(cwd):
    assert_usage_failure(billing(cwd, "--store", "ftp://nowhere", "bills", "--period", "2026-10"))
    jsonl(cwd / "in.jsonl", [b.associated("c-1", id="a-1")])
    assert_usage_failure(billing(cwd, "--store", "sqlite:///no/such/folder/x.db", "ingest", "in.jsonl"))
    assert sorted(p.name for p in cwd.iterdir()) == ["in.jsonl"]


# --- bills ----------------------------------------------------------------------------------


def test_bills_json_lists_the_periods_bills_sorted_by_customer(month):
    folder, _ = month
    result = billing(folder, "bills", "--period", "2026-10", "--json")
    assert result.returncode == 0
    shown = loads(result)
    assert list(shown) == ["period", "bills"]
    assert shown == {"period": "2026-10", "bills": [BILL_C1_OCTOBER, BILL_C2_OCTOBER, BILL_C3_OCTOBER]}
    assert BILL_C1_OCTOBER["payable_amount"] == "90.24691356"  # 0.24691356 + 100 - 10
    assert BILL_C1_OCTOBER["settled_amount"] == "90.24"
    for shown_bill in shown["bills"]:
        assert list(shown_bill) == BILL_KEYS
        assert all(list(shown_line) == LINE_KEYS for shown_line in shown_bill["lines"])


def test_a_refund_lands_in_its_own_period_on_the_orders_line(month):
    folder, _ = month
    shown = loads(billing(folder, "bills", "--period", "2026-11", "--json"))
    assert shown == {
        "period": "2026-11",
        "bills": [
            bill(
                "c-1",
                "2026-11",
                [
                    line("OBS", "pkg-1", "-5.00000000", "0.00000000", "-5.00000000", "-5.00", "0.00000000", 1),
                ],
            )
        ],
    }


def test_refunds_round_half_away_from_zero_and_zero_has_no_sign(cwd):
    jsonl(
        cwd / "in.jsonl",
        [
            b.discount_granted("c-1", id="d-1", rate="0.5"),
            # 0.00000003 x 0.5 = 0.000000015 -> 0.00000002 payable; its refund -> -0.00000002.
            b.order_paid("c-1", id="o-1", order_id="o-1", amount="0.00000003", product_id="pkg-1"),
            b.order_refunded("c-1", id="rf-1", order_id="o-1", amount="0.00000003", time="2026-11-02T08:00:00+08:00"),
            # Refunded whole in its own month: the line nets to zero, unsigned.
            b.order_paid("c-1", id="o-2", order_id="o-2", amount="50.00", product_id="pkg-2"),
            b.order_refunded("c-1", id="rf-2", order_id="o-2", amount="50.00", time="2026-10-09T08:00:00+08:00"),
        ],
    )
    assert out(billing(cwd, "ingest", "in.jsonl", "--json")) == counts_json(5, 0, 0)
    october = loads(billing(cwd, "bills", "--period", "2026-10", "--json"))["bills"]
    assert october == [
        bill(
            "c-1",
            "2026-10",
            [
                line("OBS", "pkg-1", "0.00000003", "0.00000001", "0.00000002", "0.00", "0.00000002", 1),
                line("OBS", "pkg-2", "0.00000000", "0.00000000", "0.00000000", "0.00", "0.00000000", 2),
            ],
        )
    ]
    november = loads(billing(cwd, "bills", "--period", "2026-11", "--json"))["bills"]
    # Settled -0.00000002 truncates to zero, which is shown without a sign.
    assert november == [
        bill(
            "c-1",
            "2026-11",
            [
                line("OBS", "pkg-1", "-0.00000003", "-0.00000001", "-0.00000002", "0.00", "-0.00000002", 1),
            ],
        )
    ]


def test_bills_customer_filter_and_a_period_without_bills(month):
    folder, _ = month
    assert loads(billing(folder, "bills", "--period", "2026-10", "--customer", "c-2", "--json")) == {
        "period": "2026-10",
        "bills": [BILL_C2_OCTOBER],
    }
    assert loads(billing(folder, "bills", "--period", "2026-09", "--json")) == {"period": "2026-09", "bills": []}


def test_bills_table_shows_the_customer_and_the_amounts(month):
    folder, _ = month
    result = billing(folder, "bills", "--period", "2026-10", "--customer", "c-1")
    assert result.returncode == 0
    text = out(result)
    for word in ["c-1", "2026-10", "ECS", "i-9", "pkg-1", "0.24691356", "0.24", "0.00691356", "90.24691356", "90.24"]:
        assert word in text, text
    assert "c-2" not in text


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "26-10", "2026-00", "october"])
def test_a_bad_period_exits_2(month, period):
    folder, _ = month
    assert_usage_failure(billing(folder, "bills", "--period", period, "--json"), "period")


def test_a_bad_period_exits_2_for_the_dashboards_too(month):
    folder, _ = month
    assert_usage_failure(billing(folder, "customers", "--partner", "p-1", "--period", "2026/10"), "period")
    assert_usage_failure(billing(folder, "performance", "--partner", "p-1", "--period", ""), "period")


# --- customers ------------------------------------------------------------------------------


def test_customers_json_is_one_object_with_the_four_counts(month):
    folder, _ = month
    result = billing(folder, "customers", "--partner", "p-1", "--period", "2026-10", "--json")
    assert result.returncode == 0
    shown = loads(result)
    assert list(shown) == COUNTS_KEYS
    # total: c-1, c-2, c-4 (c-3 left on 10-20, c-5 came in November); associations: a-1..a-4;
    # consuming: c-1, c-2, c-3; new enterprise this quarter: c-1, c-4 (c-3 first came in Q3).
    assert shown == dict(zip(COUNTS_KEYS, ["p-1", "2026-10", 3, 4, 3, 2], strict=True))


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (["--account-manager", "am-1"], [2, 2, 1, 2]),  # c-1 and c-4; only c-1 consumes
        (["--account-manager", "am-2"], [0, 1, 1, 0]),  # c-3: left, consumed, first came in Q3
        (["--reseller", "r-1"], [1, 1, 1, 1]),  # c-1
        (["--reseller", "r-2"], [1, 1, 0, 1]),  # c-4
        (["--reseller", "r-404"], [0, 0, 0, 0]),
    ],
    ids=["am-1", "am-2", "r-1", "r-2", "unknown"],
)
def test_customers_can_be_scoped_to_an_account_manager_or_a_reseller(month, scope, expected):
    folder, _ = month
    shown = loads(billing(folder, "customers", "--partner", "p-1", "--period", "2026-10", *scope, "--json"))
    assert shown == dict(zip(COUNTS_KEYS, ["p-1", "2026-10", *expected], strict=True))


def test_customers_in_november_count_as_of_its_end(month):
    folder, _ = month
    shown = loads(billing(folder, "customers", "--partner", "p-1", "--period", "2026-11", "--json"))
    # total: c-1, c-2, c-4, c-5; associations: all five; consuming: c-1's refund is negative;
    # new enterprise in Q4 before December: c-1, c-4, c-5.
    assert shown == dict(zip(COUNTS_KEYS, ["p-1", "2026-11", 4, 5, 0, 3], strict=True))


def test_customers_table_is_readable(month):
    folder, _ = month
    text = out(billing(folder, "customers", "--partner", "p-1", "--period", "2026-10"))
    assert "p-1" in text and "2026-10" in text
    assert re.search(r"total customers\s+3\s*$", text, re.MULTILINE), text


# --- performance ----------------------------------------------------------------------------


def test_performance_json_has_the_contract_keys_in_order_and_null_groups_last(month):
    folder, _ = month
    result = billing(folder, "performance", "--partner", "p-1", "--period", "2026-10", "--json")
    assert result.returncode == 0
    shown = loads(result)
    assert list(shown) == PERFORMANCE_KEYS
    # 90.24691356 + 2.83333333 + 5.00000000 = 98.08024689; settled 90.24 + 2.83 + 5.00 = 98.07.
    assert shown == {
        "partner_id": "p-1",
        "period": "2026-10",
        "currency": "CNY",
        "payable_amount": "98.08024689",
        "settled_amount": "98.07",
        "customers": 3,
        "details": [
            {"customer_id": "c-1", "payable_amount": "90.24691356", "settled_amount": "90.24"},
            {"customer_id": "c-2", "payable_amount": "2.83333333", "settled_amount": "2.83"},
            {"customer_id": "c-3", "payable_amount": "5.00000000", "settled_amount": "5.00"},
        ],
        "by_account_manager": [
            {"account_manager_id": "am-1", "payable_amount": "90.24691356", "settled_amount": "90.24", "customers": 1},
            {"account_manager_id": "am-2", "payable_amount": "5.00000000", "settled_amount": "5.00", "customers": 1},
            {"account_manager_id": None, "payable_amount": "2.83333333", "settled_amount": "2.83", "customers": 1},
        ],
        "by_reseller": [
            {"indirect_partner_id": "r-1", "payable_amount": "90.24691356", "settled_amount": "90.24", "customers": 1},
            {"indirect_partner_id": None, "payable_amount": "7.83333333", "settled_amount": "7.83", "customers": 2},
        ],
    }


def test_a_partner_without_charges_shows_zeros_and_empty_lists(month):
    folder, _ = month
    assert loads(billing(folder, "performance", "--partner", "p-9", "--period", "2026-10", "--json")) == {
        "partner_id": "p-9",
        "period": "2026-10",
        "currency": "CNY",
        "payable_amount": "0.00000000",
        "settled_amount": "0.00",
        "customers": 0,
        "details": [],
        "by_account_manager": [],
        "by_reseller": [],
    }


def test_performance_table_is_readable(month):
    folder, _ = month
    text = out(billing(folder, "performance", "--partner", "p-1", "--period", "2026-10"))
    for word in ["p-1", "98.08024689", "98.07", "c-1", "c-3", "am-1", "am-2", "r-1", "90.24691356", "7.83333333"]:
        assert word in text, text


# --- rejections -----------------------------------------------------------------------------


REFUND_BEFORE_ORDER = b.order_refunded("c-1", id="rf-9", order_id="o-9", amount="10.00")
NOT_ASSOCIATED = b.disassociated("c-7", id="x-7", data={"reason": "客户迁移"})


def test_rejections_are_listed_in_arrival_order_and_retried_after_the_order_arrives(cwd):
    jsonl(cwd / "first.jsonl", [b.associated("c-1", id="a-1"), "not json", REFUND_BEFORE_ORDER])
    jsonl(cwd / "second.jsonl", [NOT_ASSOCIATED])
    assert out(billing(cwd, "ingest", "first.jsonl", "--json")) == counts_json(1, 0, 2)
    assert billing(cwd, "ingest", "second.jsonl").returncode == 1

    listed = billing(cwd, "rejected", "--json")
    assert listed.returncode == 0
    shown = loads(listed)
    assert list(shown) == ["rejected"]
    rows = shown["rejected"]
    assert [list(row) for row in rows] == [REJECTION_KEYS] * 3
    assert [(r["source"], r["id"], r["type"], r["reason"], r["accepted"]) for r in rows] == [
        (None, None, None, "malformed_json", None),
        ("test/source", "rf-9", "order.refunded", "unknown_order", None),
        ("test/source", "x-7", "customer.disassociated", "not_associated", None),
    ]
    assert [r["raw"] for r in rows] == [
        "not json",
        json.dumps(REFUND_BEFORE_ORDER, ensure_ascii=False),
        json.dumps(NOT_ASSOCIATED, ensure_ascii=False),
    ]
    assert "order_id" in rows[1]["message"]
    assert all(isinstance(r["message"], str) and r["message"] for r in rows)
    arrived = [datetime.fromisoformat(r["arrived"]) for r in rows]
    assert all(moment.tzinfo is not None for moment in arrived) and arrived == sorted(arrived)

    only = loads(billing(cwd, "rejected", "--reason", "unknown_order", "--json"))["rejected"]
    assert only == [rows[1]]

    jsonl(cwd / "order.jsonl", [b.order_paid("c-1", id="o-9", order_id="o-9", amount="20.00")])
    assert billing(cwd, "ingest", "order.jsonl").returncode == 0
    # --reason narrows a retry to one code.
    assert out(billing(cwd, "rejected", "--retry", "--reason", "not_associated", "--json")) == counts_json(0, 0, 1)
    retried = billing(cwd, "rejected", "--retry", "--json")
    assert out(retried) == counts_json(1, 0, 2)
    assert retried.returncode == 1  # the malformed line and the disassociation stay rejected

    after = loads(billing(cwd, "rejected", "--json"))["rejected"]
    assert len(after) == 3
    assert [r["accepted"] is not None for r in after] == [False, True, False]
    assert datetime.fromisoformat(after[1]["accepted"]) >= arrived[1]
    assert {**after[1], "accepted": None} == rows[1]

    # The refund now counts: 20.00 - 10.00 on the order's line.
    bills = loads(billing(cwd, "bills", "--period", "2026-10", "--json"))["bills"]
    assert [(x["customer_id"], x["list_amount"], x["settled_amount"], x["charges"]) for x in bills] == [
        ("c-1", "10.00000000", "10.00", 2)
    ]


def test_rejected_table_and_an_unknown_reason_code(cwd):
    jsonl(cwd / "in.jsonl", [REFUND_BEFORE_ORDER])
    assert billing(cwd, "ingest", "in.jsonl").returncode == 1
    text = out(billing(cwd, "rejected"))
    assert "unknown_order" in text and "rf-9" in text
    assert_usage_failure(billing(cwd, "rejected", "--reason", "no_such_reason"), "no_such_reason")
    assert loads(billing(cwd, "rejected", "--reason", "malformed_json", "--json")) == {"rejected": []}


def test_the_same_pair_with_other_data_is_a_conflicting_duplicate(cwd):
    jsonl(
        cwd / "in.jsonl",
        [
            b.associated("c-1", id="a-1"),
            b.usage("c-1", id="u-1", quantity="2"),
            b.usage("c-1", id="u-1", quantity="2.0"),
        ],
    )
    assert out(billing(cwd, "ingest", "in.jsonl", "--json")) == counts_json(2, 0, 1)
    rows = loads(billing(cwd, "rejected", "--json"))["rejected"]
    assert [(r["id"], r["reason"]) for r in rows] == [("u-1", "conflicting_duplicate")]


# --- settings -------------------------------------------------------------------------------


def test_billing_currency_usd_rejects_cny_events(cwd):
    jsonl(
        cwd / "in.jsonl",
        [
            b.associated("c-1", id="a-1"),
            b.usage("c-1", id="u-cny", currency="CNY"),
            b.usage("c-1", id="u-usd", currency="USD", quantity="3", unit_price="0.3333333"),
        ],
    )
    result = billing(cwd, "ingest", "in.jsonl", "--json", BILLING_CURRENCY="USD")
    assert out(result) == counts_json(2, 0, 1)
    assert result.returncode == 1
    rows = loads(billing(cwd, "rejected", "--json", BILLING_CURRENCY="USD"))["rejected"]
    assert [(r["id"], r["reason"]) for r in rows] == [("u-cny", "currency_not_accepted")]
    # 3 x 0.3333333 = 0.9999999: settled 0.99, rounding-off 0.0099999.
    bills = loads(billing(cwd, "bills", "--period", "2026-10", "--json", BILLING_CURRENCY="USD"))["bills"]
    assert bills == [
        bill(
            "c-1",
            "2026-10",
            [
                line("ECS", "i-9", "0.99999990", "0.00000000", "0.99999990", "0.99", "0.00999990", 1),
            ],
            currency="USD",
        )
    ]


def test_a_retry_cannot_change_the_currency_a_store_was_created_with(cwd):
    # CONTRACT.md §5: the store is bound to USD, so a "fixed" CNY setting is refused.
    jsonl(cwd / "in.jsonl", [b.usage("c-1", id="u-1", currency="CNY")])
    assert out(billing(cwd, "ingest", "in.jsonl", "--json", BILLING_CURRENCY="USD")) == counts_json(0, 0, 1)
    assert_usage_failure(billing(cwd, "rejected", "--retry"), "USD", "CNY")
    retried = billing(cwd, "rejected", "--retry", "--json", BILLING_CURRENCY="USD")
    assert (retried.returncode, out(retried)) == (1, counts_json(0, 0, 1))


def test_a_currency_without_minor_unit_settles_to_whole_units(cwd):
    jsonl(cwd / "in.jsonl", [b.usage("c-1", id="u-1", currency="JPY", quantity="3", unit_price="33.5")])
    assert out(billing(cwd, "ingest", "in.jsonl", "--json", BILLING_CURRENCY="JPY")) == counts_json(1, 0, 0)
    bills = loads(billing(cwd, "bills", "--period", "2026-10", "--json", BILLING_CURRENCY="JPY"))["bills"]
    # 3 x 33.5 = 100.5: settled 100 (JPY has no minor unit), rounding-off 0.5.
    assert bills == [
        bill(
            "c-1",
            "2026-10",
            [
                line("ECS", "i-9", "100.50000000", "0.00000000", "100.50000000", "100", "0.50000000", 1),
            ],
            currency="JPY",
        )
    ]


BOUNDARY_EVENTS = [
    # 2026-10-01T00:00:00+08:00: October's first instant in Shanghai, still September in UTC.
    b.usage("c-1", id="u-start", quantity="1", unit_price="1", resource_id="i-start", time="2026-09-30T16:00:00Z"),
    # 2026-11-01T00:00:00+08:00: October's exclusive end in Shanghai, still October in UTC.
    b.usage("c-1", id="u-end", quantity="1", unit_price="2", resource_id="i-end", time="2026-10-31T16:00:00Z"),
]


@pytest.mark.parametrize(
    ("timezone", "periods"),
    [
        (None, {"2026-09": [], "2026-10": ["i-start"], "2026-11": ["i-end"]}),
        ("UTC", {"2026-09": ["i-start"], "2026-10": ["i-end"], "2026-11": []}),
    ],
    ids=["Asia/Shanghai", "UTC"],
)
def test_the_billing_time_zone_decides_the_period_of_a_boundary_event(cwd, timezone, periods):
    settings = {"BILLING_TIMEZONE": timezone} if timezone else {}
    jsonl(cwd / "in.jsonl", BOUNDARY_EVENTS)
    assert out(billing(cwd, "ingest", "in.jsonl", "--json", **settings)) == counts_json(2, 0, 0)
    for period, items in periods.items():
        bills = loads(billing(cwd, "bills", "--period", period, "--json", **settings))["bills"]
        assert [ln["item_id"] for x in bills for ln in x["lines"]] == items, period


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BILLING_TIMEZONE", "Mars/Olympus_Mons"), ("BILLING_CURRENCY", "XYZ"), ("BILLING_CURRENCY", "usd")],
)
def test_an_invalid_setting_exits_2_with_one_line_and_creates_no_store(cwd, variable, value):
    jsonl(cwd / "in.jsonl", [b.associated("c-1", id="a-1")])
    assert_usage_failure(billing(cwd, "ingest", "in.jsonl", **{variable: value}), variable)
    assert sorted(p.name for p in cwd.iterdir()) == ["in.jsonl"]


def test_an_invalid_setting_fails_a_read_command_too(month):
    folder, _ = month
    assert_usage_failure(billing(folder, "bills", "--period", "2026-10", BILLING_TIMEZONE="Nowhere/At_All"))


# --- usage ----------------------------------------------------------------------------------


def test_billing_alone_and_help_print_the_commands_and_exit_0(cwd):
    for helped in (billing(cwd), billing(cwd, "--help")):
        assert helped.returncode == 0
        assert all(name in out(helped) for name in ["ingest", "rejected", "bills", "customers", "performance", "demo"])


def test_a_missing_required_option_is_a_usage_error(month):
    folder, _ = month
    assert_usage_failure(billing(folder, "customers", "--period", "2026-10"), "--partner", "billing customers --help")


# --- demo -----------------------------------------------------------------------------------


def test_demo_writes_a_store_and_shows_the_dashboards(cwd):
    result = billing(cwd, "demo")
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert (cwd / "billing.db").is_file()
    assert "2026-10" in out(result)
    # The demo's store is an ordinary store: its bills keep the contract's figures.
    bills = loads(billing(cwd, "bills", "--period", "2026-10", "--json"))["bills"]
    assert bills and [x["customer_id"] for x in bills] == sorted(x["customer_id"] for x in bills)
    eight_decimals = ["list_amount", "discount_amount", "payable_amount", "rounding_off_amount"]
    for shown in bills:
        for item in [shown, *shown["lines"]]:
            assert all(re.fullmatch(r"-?[0-9]+\.[0-9]{8}", item[key]) for key in eight_decimals), item
            assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", item["settled_amount"]), item
            listed, discount, payable, settled, rounding_off = (Decimal(item[key]) for key in LINE_KEYS[2:7])
            assert payable == settled + rounding_off and listed - discount == payable, item
