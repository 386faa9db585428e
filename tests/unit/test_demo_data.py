"""The demo's generated month: deterministic, valid CloudEvents, realistic, streaming."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from datetime import datetime
from itertools import islice
from zoneinfo import ZoneInfo

import msgspec
import pytest

from commands.demo import run_demo
from commands.demo_data import generate_month
from commands.settings import Settings
from engine.errors import SettingsError
from engine.instants import parse_instant
from engine.judge import Candidate, judge_line
from engine.money import parse_amount
from schemas.inbound import CORRECTION_TYPES, EVENT_TYPES

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return list(generate_month(customers=120, seed=7, period="2026-10"))


@pytest.fixture(scope="module")
def events(lines) -> list[dict]:
    return [msgspec.json.decode(line) for line in lines]


def deliberate_bad(events: list[dict]) -> dict[str, int]:
    """The positions of the three deliberately bad lines, found by what is wrong with them."""
    bad, paid = {}, set()
    for index, event in enumerate(events):
        data = event["data"]
        if event["type"] == "order.paid":
            paid.add((data["customer_id"], data["order_id"]))
        if data.get("unit_price") == "1e3":
            bad["exponent"] = index
        if data.get("currency", "CNY") != "CNY":
            bad["foreign_currency"] = index
        if event["type"] == "order.refunded" and (data["customer_id"], data["order_id"]) not in paid:
            bad["unknown_order"] = index
    return bad


def test_the_same_seed_gives_the_same_lines(lines):
    assert list(generate_month(customers=120, seed=7, period="2026-10")) == lines


def test_another_seed_gives_other_lines(lines):
    other = list(generate_month(customers=120, seed=8, period="2026-10"))
    assert other != lines
    assert len(set(other) & set(lines)) < len(lines) // 10


def test_every_line_is_a_cloud_event_of_a_known_type_and_only_the_exponent_price_has_a_data_problem(lines, events):
    bad = deliberate_bad(events)
    assert sorted(bad) == ["exponent", "foreign_currency", "unknown_order"]
    for index, line in enumerate(lines):
        verdict = judge_line(line)
        assert isinstance(verdict, Candidate), (line, verdict)
        assert verdict.type in EVENT_TYPES
        if index == bad["exponent"]:
            assert str(verdict.problem) == "data.unit_price: must be a plain decimal string: no exponent"
        else:
            # The foreign currency and the unknown order are rejected by the store, not the line.
            assert verdict.problem is None, (line, verdict.problem)


def test_exactly_three_lines_are_deliberately_bad(events):
    exponent = sum(e["data"].get("unit_price") == "1e3" for e in events)
    foreign = sum(e["data"].get("currency", "CNY") != "CNY" for e in events)
    assert (exponent, foreign, len(deliberate_bad(events))) == (1, 1, 3)


@pytest.mark.parametrize("count", [0, 1, 150, 1_000, 20_000])
def test_the_events_argument_gives_exactly_that_many_lines(count):
    assert sum(1 for _ in generate_month(customers=120, events=count)) == count


def test_the_default_month_is_a_natural_size_for_a_few_hundred_customers():
    assert 20_000 <= sum(1 for _ in generate_month()) <= 60_000


def test_every_event_type_of_section_1_appears_and_no_correction(events):
    assert set(Counter(e["type"] for e in events)) == EVENT_TYPES - CORRECTION_TYPES


def test_a_redelivered_line_is_an_exact_copy_and_every_other_id_is_unique_per_source(lines, events):
    copies = Counter(lines)
    redelivered = [line for line, times in copies.items() if times > 1]
    assert 3 <= len(redelivered) <= 25
    assert all(times == 2 for times in copies.values() if times > 1)
    pairs = Counter((e["source"], e["id"]) for e in {line: e for line, e in zip(lines, events, strict=True)}.values())
    assert max(pairs.values()) == 1


def test_some_customers_leave_a_partner_and_are_associated_again_later(events):
    left: dict[str, str] = {}
    back_to = []
    for event in events:
        data = event["data"]
        if event["type"] == "customer.disassociated":
            left[data["customer_id"]] = data["partner_id"]
        elif event["type"] == "customer.associated" and data["customer_id"] in left:
            back_to.append(data["partner_id"] == left[data["customer_id"]])
    assert len(left) >= 2
    assert True in back_to and False in back_to  # to the same partner and to another one


def test_some_utc_times_fall_in_the_next_period_in_shanghai(events):
    def shanghai_month(time: str) -> str:
        return datetime.fromisoformat(time).astimezone(SHANGHAI).strftime("%Y-%m")

    late = [e["time"] for e in events if e["time"].endswith("Z") and e["time"].startswith("2026-10")]
    assert any(shanghai_month(time) == "2026-11" for time in late)
    assert all(time >= "2026-10-31T16:00:00Z" for time in late if shanghai_month(time) == "2026-11")


def test_associations_and_discounts_arrive_before_any_later_usage(events):
    latest_usage = ""
    for event in events:
        at = parse_instant(event["time"])
        if event["type"] == "usage.recorded":
            latest_usage = max(latest_usage, at)
        elif event["type"] in {"customer.associated", "discount.granted"}:
            assert at >= latest_usage, event


def test_the_dashboards_have_something_to_count(events):
    associations = [e["data"] for e in events if e["type"] == "customer.associated"]
    assert {a["channel"] for a in associations} == {"registration", "invitation_link", "qr_code"}
    assert {a["customer_type"] for a in associations} == {"enterprise", "individual"}
    assert any("indirect_partner_id" in a for a in associations)
    new_this_quarter = [e for e in events if e["type"] == "customer.associated" and e["time"] >= "2026-10"]
    assert any(e["data"]["customer_type"] == "enterprise" for e in new_this_quarter)
    customers = {e["data"]["customer_id"] for e in events if "customer_id" in e["data"]}
    assert customers - {a["customer_id"] for a in associations}, "some customers have no partner"


def test_orders_include_gifts_and_partial_refunds(events):
    paid = {e["data"]["order_id"]: e["data"] for e in events if e["type"] == "order.paid"}
    gifts = [d for d in paid.values() if d["source_type"] == "1"]
    assert gifts and all(d["amount"] == "0" for d in gifts) and "" in paid
    refunds = [e["data"] for e in events if e["type"] == "order.refunded" and e["data"]["order_id"] in paid]
    assert refunds
    for refund in refunds:
        assert 0 < parse_amount("refund", refund["amount"]) < parse_amount("paid", paid[refund["order_id"]]["amount"])


def test_prices_carry_eight_decimals_and_leave_fractions_of_a_fen(events):
    usage = [e["data"] for e in events if e["type"] == "usage.recorded" and e["data"]["unit_price"] != "1e3"]
    assert all(len(d["unit_price"].partition(".")[2]) == 8 for d in usage)
    # quantity × unit_price in units of 10⁻¹⁶ yuan, of which a fen holds 10¹⁴
    amounts = [parse_amount("q", d["quantity"]) * parse_amount("p", d["unit_price"]) for d in usage]
    assert sum(amount % 10**14 != 0 for amount in amounts) > len(amounts) * 0.9


def test_memory_does_not_grow_with_the_number_of_events():
    def peak(count: int) -> int:
        tracemalloc.start()
        for _ in generate_month(customers=50, events=count):
            pass
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size

    assert peak(20_000) < 1.5 * peak(2_000)


def test_a_billion_event_month_starts_streaming_at_once():
    first = list(islice(generate_month(customers=50, events=10**9), 1_000))
    assert len(first) == 1_000


@pytest.mark.parametrize("arguments", [{"customers": 0}, {"events": -1}, {"period": "2026-13"}])
def test_bad_arguments_are_refused(arguments):
    with pytest.raises(ValueError):
        generate_month(**arguments)


def test_the_demo_refuses_a_deployment_that_bills_another_currency(tmp_path):
    out = tmp_path / "demo.jsonl"
    with pytest.raises(SettingsError, match="CNY"):
        run_demo(Settings(store_url="memory://", currency="USD"), str(out), 10, 7, "2026-10")
    assert not out.exists()
