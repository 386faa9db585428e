"""Acceptance of CONTRACT.md as changed on 2026-11-30, black box: the store bound to its
currency and time zone (§5), `account_manager.assigned` (§1), the corrections of §11
(judging, refusal order, views, replay; not the hash chain) and §12 (resources,
authorization requests, the service catalogue).

Every test name quotes the rule it checks; every figure is worked out by hand from the
contract. The `billing` executable runs as a user runs it, in a fresh folder, with the
store's clock fixed by BILLING_NOW.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import builders as b
from tests.builders import jsonl
from tests.contract_fields import AUTHORIZATION_KEYS, RESOURCE_KEYS
from testsupport.cli_runner import assert_refused, assert_usage_failure, clocked, loads, out

# Each test runs the `billing` executable several times: minutes in all, so not in the fast subset.
pytestmark = pytest.mark.slow

NOW = "2026-12-01T00:00:00Z"
SERVICE_TYPE_KEYS = ["service_type", "service_type_name", "service_type_name_en", "charges"]
ZERO_LINE = {
    "list_amount": "0.00000000",
    "discount_amount": "0.00000000",
    "payable_amount": "0.00000000",
    "settled_amount": "0.00",
    "rounding_off_amount": "0.00000000",
}
run = clocked(NOW)


def ingest(folder: Path, events: list, *, now: str = NOW, name: str = "events.jsonl") -> dict:
    """Ingests the events; returns the printed counts."""
    return loads(run(folder, "ingest", "--json", str(jsonl(folder / name, events)), now=now))


def kept(folder: Path) -> list[tuple[str, str]]:
    """The kept rejections as (id, reason), in arrival order."""
    return [(r["id"], r["reason"]) for r in loads(run(folder, "rejected", "--json"))["rejected"]]


def events_recorded(folder: Path) -> int:
    match = re.search(r"^events recorded: (\d+)$", out(run(folder, "status")), re.MULTILINE)
    assert match, out(run(folder, "status"))
    return int(match.group(1))


def line_of(bill: dict, item_id: str) -> dict:
    [found] = [line for line in bill["lines"] if line["item_id"] == item_id]
    return found


# --- §11 corrections: judging and the order of refusals -------------------------------------

ASSOCIATION = b.associated(
    "c-1",
    "p-1",
    id="a-1",
    source="crm",
    time="2026-10-01T00:00:00+08:00",
    data={"account_manager_id": "m-1", "indirect_partner_id": "r-1"},
)
USAGE = b.usage(
    "c-1", id="u-1", source="m", quantity="1", unit_price="1", resource_id="i-1", time="2026-10-03T00:00:00Z"
)
OTHERS_USAGE = b.usage("c-2", id="u-2", source="m", quantity="1", unit_price="1", time="2026-10-03T00:00:00Z")
ORDER = b.order_paid("c-1", id="o-1", source="o", order_id="o-1", amount="100", time="2026-10-05T00:00:00+08:00")
REFUND = b.order_refunded("c-1", id="r-1", source="o", order_id="o-1", amount="30", time="2026-10-06T00:00:00+08:00")
# (event, the reason it is rejected for, or None when accepted, "duplicate" when counted as one)
JUDGED = [
    (b.voided(USAGE, id="early"), "unknown_event"),  # its target is on a later line
    (ASSOCIATION, None),
    (USAGE, None),
    (OTHERS_USAGE, None),
    (ORDER, None),
    (REFUND, None),
    (b.voided(("s" * 257, "u-1"), "c-1", id="long-source"), "invalid_data"),
    (b.voided(("m", "i" * 129), "c-1", id="long-id"), "invalid_data"),
    (b.voided(USAGE, id="no-reason", reason=""), "invalid_data"),
    (b.voided(USAGE, id="long-reason", reason="r" * 257), "invalid_data"),
    (b.amended(("m", "nowhere"), "c-1", id="negative", quantity="-1"), "invalid_data"),  # before unknown_event
    (b.amended(USAGE, id="nine-decimals", unit_price="0.123456789"), "invalid_data"),
    # the longest source, id and reason pass; a currency is unknown data, ignored
    (
        b.voided(("s" * 256, "i" * 128), "c-1", id="at-limits", reason="r" * 256, data={"currency": "USD"}),
        "unknown_event",
    ),
    (b.voided(OTHERS_USAGE, "c-1", id="others"), "unknown_event"),
    (b.voided(ASSOCIATION, "c-1", id="no-charge"), "unknown_event"),
    (b.amended(ORDER, id="amend-order"), "unknown_event"),
    (b.amended(REFUND, id="amend-refund"), "unknown_event"),
    (b.voided(ORDER, id="refunded-order"), "order_has_refunds"),
    (b.voided(USAGE, id="void-u1"), None),
    (b.voided(("billing/corrections", "void-u1"), "c-1", id="void-a-void"), "unknown_event"),
    (b.voided(USAGE, id="void-again"), "already_voided"),
    (b.amended(USAGE, id="amend-voided", data={"currency": "EUR"}), "already_voided"),
    (b.voided(REFUND, id="void-refund"), None),
    (b.voided(ORDER, id="void-order"), None),  # its only refund is voided now
    (b.amended(ORDER, id="amend-voided-order"), "unknown_event"),  # unknown_event comes before already_voided
    (b.voided(REFUND, id="void-refund-again"), "already_voided"),
    (b.order_refunded("c-1", id="r-2", source="o", order_id="o-1", amount="0.01"), "refund_exceeds_order"),
    (b.order_paid("c-1", id="o-again", source="o", order_id="o-1", amount="100"), "order_already_paid"),
    (b.voided(USAGE, id="void-u1"), "duplicate"),
    (b.voided(USAGE, id="void-u1", reason="another reason"), "conflicting_duplicate"),
]


def test_corrections_are_judged_with_section_1_rules_and_refused_in_the_order_unknown_event_already_voided_order_has_refunds(
    tmp_path,
):
    result = run(tmp_path, "ingest", "--json", str(jsonl(tmp_path / "judged.jsonl", [e for e, _ in JUDGED])))
    rejections = [(event["id"], reason) for event, reason in JUDGED if reason not in (None, "duplicate")]
    assert result.returncode == 1  # some inputs rejected
    assert loads(result) == {
        "accepted": sum(r is None for _, r in JUDGED),
        "duplicates": 1,
        "rejected": len(rejections),
    }
    assert kept(tmp_path) == rejections
    messages = {r["id"]: r["message"] for r in loads(run(tmp_path, "rejected", "--json"))["rejected"]}
    assert messages["long-source"].startswith("data.event_source: ")
    assert messages["long-id"].startswith("data.event_id: ")
    assert messages["no-reason"].startswith("data.reason: ")
    assert messages["nine-decimals"].startswith("data.unit_price: ")


def test_a_reversal_copies_the_rate_period_line_and_attribution_and_an_amendment_is_rated_at_the_originals_time_with_discounts_known_now(
    tmp_path,
):
    # u-1 is rated 0.9 (d-1) when recorded. Afterwards d-1 is revoked from before u-1's time,
    # d-2 (0.5, ECS) is granted from Oct 1, and c-1 moves from p-1 to p-2. The void must
    # negate u-1's own figures: 1.23456789 x 0.9 = 1.111111101 -> 1.11111110, settled 1.11.
    # The amendment of u-2 (10 -> 30 list) is rated at u-2's time with what is known now:
    # d-1 ended Oct 2, d-2 in force: 30 x 0.5 = 15; its reversal copies 10 x 0.9 = 9.
    history = [
        ASSOCIATION,
        b.discount_granted("c-1", id="g-1", discount_id="d-1", rate="0.9", valid_from="2026-10-01T00:00:00+08:00"),
        b.usage(
            "c-1",
            id="u-1",
            source="m",
            unit_price="1.23456789",
            quantity="1",
            resource_id="i-1",
            time="2026-10-03T00:00:00Z",
        ),
        b.usage(
            "c-1", id="u-2", source="m", unit_price="10", quantity="1", resource_id="i-2", time="2026-10-04T00:00:00Z"
        ),
        b.disassociated("c-1", "p-1", id="x-1", time="2026-10-20T00:00:00+08:00"),
        b.associated("c-1", "p-2", id="a-2", time="2026-10-21T00:00:00+08:00", data={"account_manager_id": "m-2"}),
        b.discount_revoked("c-1", id="k-1", discount_id="d-1", time="2026-10-02T00:00:00+08:00"),
        b.discount_granted(
            "c-1",
            id="g-2",
            discount_id="d-2",
            rate="0.5",
            service_type="ECS",
            valid_from="2026-10-01T00:00:00+08:00",
            time="2026-10-02T00:00:00+08:00",
        ),
        b.voided(("m", "u-1"), "c-1", id="f-1", time="2026-11-20T00:00:00Z"),
        b.amended(("m", "u-2"), "c-1", id="f-2", quantity="3", unit_price="10", time="2026-11-20T00:00:00Z"),
    ]
    assert ingest(tmp_path, history) == {"accepted": 10, "duplicates": 0, "rejected": 0}

    [bill] = loads(run(tmp_path, "bills", "--period", "2026-10", "--json"))["bills"]
    assert line_of(bill, "i-1") == {"service_type": "ECS", "item_id": "i-1", **ZERO_LINE, "charges": 2}
    assert line_of(bill, "i-2") == {
        "service_type": "ECS",
        "item_id": "i-2",
        "list_amount": "30.00000000",
        "discount_amount": "15.00000000",
        "payable_amount": "15.00000000",
        "settled_amount": "15.00",
        "rounding_off_amount": "0.00000000",
        "charges": 3,
    }
    assert bill["charges"] == 5
    # the corrections' own time (November) plays no part: they stay in the originals' period
    assert loads(run(tmp_path, "bills", "--period", "2026-11", "--json"))["bills"] == []

    tally = loads(run(tmp_path, "performance", "--partner", "p-1", "--period", "2026-10", "--json"))
    assert (tally["payable_amount"], tally["settled_amount"], tally["customers"]) == ("15.00000000", "15.00", 1)
    assert tally["by_account_manager"] == [
        {"account_manager_id": "m-1", "payable_amount": "15.00000000", "settled_amount": "15.00", "customers": 1}
    ]
    assert tally["by_reseller"] == [
        {"indirect_partner_id": "r-1", "payable_amount": "15.00000000", "settled_amount": "15.00", "customers": 1}
    ]
    later = loads(run(tmp_path, "performance", "--partner", "p-2", "--period", "2026-10", "--json"))
    assert (later["payable_amount"], later["customers"], later["details"]) == ("0.00000000", 0, [])


def test_a_void_or_an_amendment_acts_on_the_standing_charge_and_views_stay_literal(tmp_path):
    # 1 x 2 -> amended to 3 x 2 -> amended to 5 x 2 -> voided: each step reverses the one
    # before; the line nets to zero with 1 + 2 + 2 + 1 charges.
    usage = b.usage(
        "c-1", id="u-1", source="m", quantity="1", unit_price="2", resource_id="i-1", time="2026-10-03T00:00:00Z"
    )
    steps = [
        ASSOCIATION,
        usage,
        b.amended(usage, id="f-1", quantity="3", unit_price="2"),
        b.amended(usage, id="f-2", quantity="5", unit_price="2"),
    ]
    assert ingest(tmp_path, steps)["accepted"] == 4
    [bill] = loads(run(tmp_path, "bills", "--period", "2026-10", "--json"))["bills"]
    assert (bill["payable_amount"], bill["charges"]) == ("10.00000000", 5)
    assert ingest(tmp_path, [b.voided(usage, id="f-3")], name="void.jsonl")["accepted"] == 1
    [bill] = loads(run(tmp_path, "bills", "--period", "2026-10", "--json"))["bills"]
    assert line_of(bill, "i-1") == {"service_type": "ECS", "item_id": "i-1", **ZERO_LINE, "charges": 6}
    # consuming customers: a charge with payable_amount > 0 is still there
    counts = loads(run(tmp_path, "customers", "--partner", "p-1", "--period", "2026-10", "--json"))
    assert counts["consuming_customers"] == 1
    [resource] = loads(run(tmp_path, "resources", "--customer", "c-1", "--json"))["resources"]
    assert (resource["charges"], resource["payable_amount"], resource["settled_amount"]) == (6, "0.00000000", "0.00")


def test_what_is_left_of_an_order_is_the_order_plus_its_refunds_plus_their_reversals(tmp_path):
    events = [
        ORDER,
        REFUND,
        b.voided(REFUND, id="f-1"),
        b.order_refunded("c-1", id="r-all", source="o", order_id="o-1", amount="100", time="2026-10-07T00:00:00+08:00"),
        b.order_refunded(
            "c-1", id="r-more", source="o", order_id="o-1", amount="0.01", time="2026-10-07T00:00:00+08:00"
        ),
    ]
    assert ingest(tmp_path, events) == {"accepted": 4, "duplicates": 0, "rejected": 1}
    assert kept(tmp_path) == [("r-more", "refund_exceeds_order")]
    [bill] = loads(run(tmp_path, "bills", "--period", "2026-10", "--json"))["bills"]
    assert line_of(bill, "pkg-1") == {"service_type": "OBS", "item_id": "pkg-1", **ZERO_LINE, "charges": 4}


def test_replay_as_of_a_moment_before_a_correction_does_not_see_it_and_replay_check_agrees(tmp_path):
    ingest(tmp_path, [ASSOCIATION, USAGE])
    assert ingest(tmp_path, [b.voided(USAGE, id="f-1")], now="2026-12-02T00:00:00Z", name="void.jsonl")["accepted"] == 1
    before = loads(
        run(
            tmp_path,
            "replay",
            "--period",
            "2026-10",
            "--as-of",
            "2026-12-01T12:00:00Z",
            "--json",
            now="2026-12-03T00:00:00Z",
        )
    )
    after = loads(run(tmp_path, "replay", "--period", "2026-10", "--json", now="2026-12-03T00:00:00Z"))
    assert [(bill["charges"], bill["payable_amount"]) for bill in before["bills"]] == [(1, "1.00000000")]
    assert [(bill["charges"], bill["payable_amount"]) for bill in after["bills"]] == [(2, "0.00000000")]
    assert [c["consuming_customers"] for c in after["customers"]] == [1]
    assert before["digest"] != after["digest"]
    assert run(tmp_path, "replay", "--period", "2026-10", "--check", now="2026-12-03T00:00:00Z").returncode == 0


def test_a_correction_of_a_charge_in_a_closed_period_is_an_adjustment_by_the_next_statement_and_an_issued_statement_never_changes(
    tmp_path,
):
    ingest(tmp_path, [ASSOCIATION, USAGE])
    assert run(tmp_path, "close", "--period", "2026-10").returncode == 0
    issued = out(run(tmp_path, "statement", "--partner", "p-1", "--period", "2026-10", "--json"))
    ingest(tmp_path, [b.voided(USAGE, id="f-1", time="2026-11-20T00:00:00Z")], name="void.jsonl")
    assert out(run(tmp_path, "statement", "--partner", "p-1", "--period", "2026-10", "--json")) == issued
    assert run(tmp_path, "close", "--period", "2026-11").returncode == 0
    november = loads(run(tmp_path, "statement", "--partner", "p-1", "--period", "2026-11", "--json"))
    assert (november["details"], november["customers"]) == ([], 0)
    assert november["adjustments"] == [
        {"period": "2026-10", "customer_id": "c-1", "payable_amount": "-1.00000000", "settled_amount": "-1.00"}
    ]
    assert (november["total_payable_amount"], november["total_settled_amount"]) == ("-1.00000000", "-1.00")


def test_a_rejected_correction_is_judged_afresh_by_rejected_retry_once_its_target_has_arrived(tmp_path):
    amendment = b.amended(USAGE, id="f-1", quantity="2", unit_price="1")
    assert ingest(tmp_path, [amendment], name="early.jsonl")["rejected"] == 1
    ingest(tmp_path, [USAGE])
    retried = run(tmp_path, "rejected", "--retry", "--json", now="2026-12-02T00:00:00Z")
    assert (retried.returncode, loads(retried)) == (0, {"accepted": 1, "duplicates": 0, "rejected": 0})
    [rejection] = loads(run(tmp_path, "rejected", "--json"))["rejected"]
    assert (rejection["reason"], rejection["accepted"]) == ("unknown_event", "2026-12-02T00:00:00.000000Z")
    [resource] = loads(run(tmp_path, "resources", "--customer", "c-1", "--json"))["resources"]
    assert (resource["charges"], resource["payable_amount"]) == (3, "2.00000000")


# --- §12 resources --------------------------------------------------------------------------


def _usage(id_: str, time: str, resource_id: str = "i-1", service_type: str = "ECS", **data) -> dict:
    return b.usage(
        "c-1",
        id=id_,
        source="m",
        quantity="1",
        unit_price="1",
        resource_id=resource_id,
        service_type=service_type,
        time=time,
        data=data,
    )


RESOURCE_USAGE = [
    _usage("u-1", "2026-10-10T10:00:00.500+08:00", region="r-late", product_id=None),
    _usage("u-2", "2026-10-03t08:00:00.123456789z", region="r-early", product_id="p-early"),
    _usage("u-3", "2026-10-31T16:30:00.000Z", region="r-nov"),  # 00:30 on Nov 1 in Shanghai
    _usage("u-4", "2026-10-05T00:00:00-05:00"),
    _usage("u-5", "2026-10-05T00:00:00Z", resource_id="z", service_type="AAA", region=None, product_id="pp"),
    _usage("u-6", "2026-10-05T00:00:00.12345678912340+00:00", resource_id="i-10"),
    _usage("u-7", "2026-10-05T00:00:00.1234567891235Z", resource_id="i-10"),
    _usage("u-8", "2026-10-06T00:00:00Z", resource_id="I-0"),
    b.order_paid(
        "c-1", id="o-1", source="o", order_id="o-1", service_type="ECS", product_id="pkg", time="2026-10-05T00:00:00Z"
    ),
    b.voided(("m", "u-8"), "c-1", id="f-1", time="2026-11-20T00:00:00Z"),
    b.amended(("m", "u-1"), "c-1", id="f-2", quantity="3", unit_price="1", time="2026-12-20T00:00:00Z"),
]


@pytest.fixture(scope="module")
def resources_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("resources")
    assert ingest(folder, RESOURCE_USAGE) == {"accepted": 11, "duplicates": 0, "rejected": 0}
    return folder


def test_resources_are_sorted_by_service_type_then_resource_id_with_first_and_last_used_in_utc_with_the_fraction_sent_trailing_zeros_dropped(
    resources_folder,
):
    listed = loads(run(resources_folder, "resources", "--customer", "c-1", "--json"))
    assert list(listed) == ["customer_id", "period", "resources"]
    assert (listed["customer_id"], listed["period"]) == ("c-1", None)
    assert all(list(resource) == RESOURCE_KEYS for resource in listed["resources"])
    # orders are no resources; code point order ("I-0" < "i-1" < "i-10")
    assert [(r["service_type"], r["resource_id"]) for r in listed["resources"]] == [
        ("AAA", "z"),
        ("ECS", "I-0"),
        ("ECS", "i-1"),
        ("ECS", "i-10"),
    ]
    aaa, _voided, i1, i10 = listed["resources"]
    assert (i10["first_used"], i10["last_used"]) == (
        "2026-10-05T00:00:00.1234567891234Z",
        "2026-10-05T00:00:00.1234567891235Z",
    )
    # u-2 (lower-case t and z) is first; u-3 (".000") is last; the amendment's own time plays no part
    assert (i1["first_used"], i1["last_used"]) == ("2026-10-03T08:00:00.123456789Z", "2026-10-31T16:30:00Z")
    assert (aaa["product_id"], aaa["region"]) == ("pp", None)  # an optional null counts as absent


def test_a_resources_charges_count_usage_reversals_and_both_charges_of_an_amendment_and_a_fully_voided_one_shows_zeros(
    resources_folder,
):
    resources = loads(run(resources_folder, "resources", "--customer", "c-1", "--json"))["resources"]
    by_id = {r["resource_id"]: r for r in resources}
    assert (by_id["I-0"]["charges"], by_id["I-0"]["payable_amount"], by_id["I-0"]["settled_amount"]) == (
        2,
        "0.00000000",
        "0.00",
    )
    # i-1: u-1 (amended 1 -> 3: two more charges), u-2, u-3, u-4 = 6 charges, 3 + 1 + 1 + 1
    assert (by_id["i-1"]["charges"], by_id["i-1"]["payable_amount"], by_id["i-1"]["settled_amount"]) == (
        6,
        "6.00000000",
        "6.00",
    )


def test_product_id_and_region_are_each_the_latest_usage_by_business_time_that_has_them_within_the_period_asked(
    resources_folder,
):
    every = {
        r["resource_id"]: r
        for r in loads(run(resources_folder, "resources", "--customer", "c-1", "--json"))["resources"]
    }
    assert (every["i-1"]["product_id"], every["i-1"]["region"]) == ("p-early", "r-nov")
    october = loads(run(resources_folder, "resources", "--customer", "c-1", "--period", "2026-10", "--json"))
    assert october["period"] == "2026-10"
    [i1] = [r for r in october["resources"] if r["resource_id"] == "i-1"]
    assert (i1["product_id"], i1["region"], i1["last_used"], i1["charges"]) == (
        "p-early",
        "r-late",
        "2026-10-10T02:00:00.5Z",
        5,
    )
    november = loads(run(resources_folder, "resources", "--customer", "c-1", "--period", "2026-11", "--json"))
    assert november["resources"] == [
        {
            "resource_id": "i-1",
            "service_type": "ECS",
            "product_id": None,
            "region": "r-nov",
            "first_used": "2026-10-31T16:30:00Z",
            "last_used": "2026-10-31T16:30:00Z",
            "charges": 1,
            "payable_amount": "1.00000000",
            "settled_amount": "1.00",
        }
    ]
    # the amendment of December is in u-1's period: December has no usage
    assert loads(run(resources_folder, "resources", "--customer", "c-1", "--period", "2026-12", "--json")) == {
        "customer_id": "c-1",
        "period": "2026-12",
        "resources": [],
    }


# --- §12 authorization requests ---------------------------------------------------------------


def _associated(customer: str, partner: str, time: str, **data) -> dict:
    return b.associated(customer, partner, id=f"a-{customer}-{partner}", time=time, data=data)


@pytest.fixture
def partners(tmp_path) -> Path:
    """c-now with p-1 since the clock's instant; c-soon with p-1 a millisecond after it;
    c-leaving with p-1, its disassociation (in five days) already recorded; c-moved with
    p-1, then with p-2; c-sub a sub-customer of reseller r-1 under p-1."""
    events = [
        _associated("c-now", "p-1", "2026-12-01T00:00:00Z"),
        _associated("c-soon", "p-1", "2026-12-01T00:00:00.001Z"),
        _associated("c-leaving", "p-1", "2026-10-01T00:00:00Z"),
        b.disassociated("c-leaving", "p-1", id="x-leaving", time="2026-12-05T00:00:00Z"),
        _associated("c-moved", "p-1", "2026-10-01T00:00:00Z"),
        b.disassociated("c-moved", "p-1", id="x-moved", time="2026-10-10T00:00:00Z"),
        _associated("c-moved", "p-2", "2026-10-11T00:00:00Z"),
        _associated("c-sub", "p-1", "2026-10-01T00:00:00Z", indirect_partner_id="r-1"),
    ]
    assert ingest(tmp_path, events)["accepted"] == len(events)
    return tmp_path


def _request(folder: Path, customer: str, id_: str, partner: str = "p-1", *extra: str, now: str = NOW):
    return run(
        folder,
        "authorization",
        "request",
        "--partner",
        partner,
        "--customer",
        customer,
        "--id",
        id_,
        *extra,
        "--json",
        now=now,
    )


def test_associated_now_means_the_latest_association_is_with_p_not_ended_and_began_at_or_before_the_stores_clock(
    partners,
):
    made = _request(partners, "c-now", "A-1")
    assert made.returncode == 0
    assert loads(made) == {
        "id": "A-1",
        "partner_id": "p-1",
        "customer_id": "c-now",
        "indirect_partner_id": None,
        "status": "pending",
        "history": [{"status": "pending", "at": "2026-12-01T00:00:00.000000Z", "reason": None}],
    }
    assert_refused(_request(partners, "c-soon", "A-2"), "not_associated")
    # "not ended": a recorded disassociation ends it, even one whose business time is
    # still ahead of the clock (its authorizations were ended when it was recorded)
    assert_refused(_request(partners, "c-leaving", "A-3"), "not_associated")
    assert_refused(_request(partners, "c-moved", "A-4"), "not_associated")
    assert _request(partners, "c-moved", "A-4", "p-2").returncode == 0
    assert_refused(_request(partners, "c-nobody", "A-5"), "not_associated")


def test_a_request_is_judged_usage_id_not_associated_reseller_required_reseller_mismatch(partners):
    assert_usage_failure(_request(partners, "c-sub", "x" * 65), "--id")  # usage before anything
    assert_refused(_request(partners, "c-sub", "A-1"), "reseller_required")
    assert_refused(_request(partners, "c-sub", "A-1", "p-1", "--reseller", "r-2"), "reseller_mismatch")
    assert_refused(
        _request(partners, "c-now", "A-1", "p-1", "--reseller", "r-1"), "reseller_mismatch"
    )  # names one, has none
    first = _request(partners, "c-sub", "A-1", "p-1", "--reseller", "r-1")
    assert first.returncode == 0 and loads(first)["indirect_partner_id"] == "r-1"
    # the id before the association: a repeat after the customer has left prints what the
    # first call printed; another request under the id is id_conflict, even from a stranger
    ingest(
        partners,
        [b.disassociated("c-sub", "p-1", id="x-sub", time="2026-12-01T00:00:00Z")],
        now="2026-12-02T00:00:00Z",
        name="left.jsonl",
    )
    again = _request(partners, "c-sub", "A-1", "p-1", "--reseller", "r-1", now="2026-12-03T00:00:00Z")
    assert (again.returncode, again.stdout) == (0, first.stdout)
    assert_refused(_request(partners, "c-sub", "A-1", "p-9", "--reseller", "r-1"), "id_conflict")
    assert_refused(_request(partners, "c-sub", "A-1"), "id_conflict")


def test_authorization_ids_are_their_own_namespace_and_a_partner_may_hold_several_requests_for_one_customer(partners):
    topped = run(partners, "transfer", "topup", "--partner", "p-1", "--amount", "10", "--id", "A-1")
    assert topped.returncode == 0, topped.stderr
    assert _request(partners, "c-now", "A-1").returncode == 0
    assert _request(partners, "c-now", "A-2").returncode == 0
    listed = loads(run(partners, "authorizations", "--json"))
    assert list(listed) == ["authorizations"]
    assert [(a["id"], a["customer_id"], a["status"]) for a in listed["authorizations"]] == [
        ("A-1", "c-now", "pending"),
        ("A-2", "c-now", "pending"),
    ]
    assert all(list(a) == AUTHORIZATION_KEYS for a in listed["authorizations"])


def test_steps_are_not_repeatable_and_any_other_step_is_invalid_state(partners):
    for id_ in ("A-1", "A-2"):
        assert _request(partners, "c-now", id_).returncode == 0
    assert_refused(run(partners, "authorization", "approve", "--id", "A-9"), "unknown_authorization")
    approved = loads(run(partners, "authorization", "approve", "--id", "A-1", "--json", now="2026-12-01T01:00:00Z"))
    assert [(s["status"], s["at"], s["reason"]) for s in approved["history"]] == [
        ("pending", "2026-12-01T00:00:00.000000Z", None),
        ("approved", "2026-12-01T01:00:00.000000Z", None),
    ]
    assert_refused(run(partners, "authorization", "approve", "--id", "A-1"), "invalid_state")
    assert_refused(run(partners, "authorization", "reject", "--id", "A-1", "--reason", "late"), "invalid_state")
    revoked = loads(run(partners, "authorization", "revoke", "--id", "A-1", "--json"))
    assert (revoked["status"], revoked["history"][-1]["reason"]) == ("revoked", None)
    assert_refused(run(partners, "authorization", "revoke", "--id", "A-1"), "invalid_state")
    assert_refused(run(partners, "authorization", "revoke", "--id", "A-2"), "invalid_state")  # still pending
    rejected = loads(run(partners, "authorization", "reject", "--id", "A-2", "--reason", "不需要", "--json"))
    assert (rejected["status"], rejected["history"][-1]["reason"]) == ("rejected", "不需要")
    assert_refused(run(partners, "authorization", "approve", "--id", "A-2"), "invalid_state")


def test_a_disassociation_accepted_on_retry_revokes_approved_and_rejects_pending_at_its_recorded_time_for_that_partner_and_customer_only(
    tmp_path,
):
    # the disassociation arrives first (not_associated), then the association: `--retry`
    # accepts it later, and that is when it is recorded
    assert (
        ingest(tmp_path, [b.disassociated("c-1", "p-1", id="x-1", time="2026-10-20T00:00:00Z")], name="early.jsonl")[
            "rejected"
        ]
        == 1
    )
    ingest(
        tmp_path, [_associated("c-1", "p-1", "2026-10-01T00:00:00Z"), _associated("c-2", "p-1", "2026-10-01T00:00:00Z")]
    )
    for customer, id_ in (("c-1", "A-1"), ("c-2", "A-2"), ("c-1", "A-3")):
        assert _request(tmp_path, customer, id_).returncode == 0
    for id_ in ("A-1", "A-2"):
        assert run(tmp_path, "authorization", "approve", "--id", id_).returncode == 0
    assert loads(run(tmp_path, "rejected", "--retry", "--json", now="2026-12-05T00:00:00Z"))["accepted"] == 1

    listed = loads(run(tmp_path, "authorizations", "--json"))["authorizations"]
    assert [(a["id"], a["status"], a["history"][-1]) for a in listed] == [
        ("A-1", "revoked", {"status": "revoked", "at": "2026-12-05T00:00:00.000000Z", "reason": "disassociated"}),
        ("A-2", "approved", {"status": "approved", "at": "2026-12-01T00:00:00.000000Z", "reason": None}),
        ("A-3", "rejected", {"status": "rejected", "at": "2026-12-05T00:00:00.000000Z", "reason": "disassociated"}),
    ]
    only = loads(run(tmp_path, "authorizations", "--customer", "c-1", "--status", "revoked", "--json"))
    assert [a["id"] for a in only["authorizations"]] == ["A-1"]
    assert loads(run(tmp_path, "authorizations", "--partner", "p-2", "--json")) == {"authorizations": []}
    assert_refused(run(tmp_path, "resources", "--customer", "c-1", "--as-partner", "p-1"), "not_authorized")
    assert run(tmp_path, "resources", "--customer", "c-2", "--as-partner", "p-1", "--json").returncode == 0


# --- §12 the service catalogue ------------------------------------------------------------------


def _catalog(folder: Path, entries: list[dict], name: str = "catalog.json") -> str:
    path = folder / name
    path.write_text(json.dumps({"service_types": entries}, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_a_catalogue_load_replaces_the_whole_catalogue_and_is_recorded_even_when_identical(tmp_path):
    ingest(tmp_path, [USAGE])
    first = _catalog(
        tmp_path,
        [
            {"service_type": "RDS", "service_type_name": "云数据库", "service_type_name_en": None},
            {"service_type": "ECS", "service_type_name": "弹" * 256, "service_type_name_en": "Elastic Cloud Server"},
        ],
    )
    assert run(tmp_path, "catalog", "load", first).returncode == 0
    listed = loads(run(tmp_path, "service-types", "--json"))
    assert all(list(entry) == SERVICE_TYPE_KEYS for entry in listed["service_types"])
    assert listed == {
        "service_types": [
            {
                "service_type": "ECS",
                "service_type_name": "弹" * 256,
                "service_type_name_en": "Elastic Cloud Server",
                "charges": 1,
            },
            {"service_type": "RDS", "service_type_name": "云数据库", "service_type_name_en": None, "charges": 0},
        ]
    }

    second = _catalog(
        tmp_path, [{"service_type": "EVS", "service_type_name": "云硬盘", "service_type_name_en": "EVS"}], "second.json"
    )
    recorded = events_recorded(tmp_path)
    for _ in range(2):
        assert run(tmp_path, "catalog", "load", second).returncode == 0
    assert events_recorded(tmp_path) == recorded + 2
    assert loads(run(tmp_path, "service-types", "--json")) == {
        "service_types": [
            {"service_type": "ECS", "service_type_name": None, "service_type_name_en": None, "charges": 1},
            {"service_type": "EVS", "service_type_name": "云硬盘", "service_type_name_en": "EVS", "charges": 0},
        ]
    }


@pytest.mark.parametrize(
    "content",
    [
        {
            "service_types": [
                {"service_type": "ECS", "service_type_name": "a", "service_type_name_en": "b"},
                {"service_type": "ECS", "service_type_name": "a", "service_type_name_en": "b"},
            ]
        },
        {"service_types": [{"service_type": "ECS", "service_type_name": "", "service_type_name_en": None}]},
        {"service_types": [{"service_type": "ECS", "service_type_name": "x" * 257, "service_type_name_en": None}]},
        {"service_types": [{"service_type": "ECS", "service_type_name": 1, "service_type_name_en": None}]},
        {"service_types": [{"service_type": "", "service_type_name": "x", "service_type_name_en": None}]},
        {"service_types": {}},
        {},
        [],
        "not json",
    ],
    ids=["duplicate", "empty-name", "long-name", "number", "empty-type", "object", "no-list", "array", "text"],
)
def test_names_are_1_to_256_characters_or_null_and_a_duplicate_or_malformed_file_is_a_usage_error(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    assert_usage_failure(run(tmp_path, "catalog", "load", str(path)))
    assert not (tmp_path / "billing.db").exists()  # nothing was recorded, not even a store


def test_service_types_count_every_charge_of_the_type_usage_orders_refunds_gifts_reversals_amendments(tmp_path):
    events = [
        USAGE,
        ORDER,
        b.order_refunded("c-1", id="r-1", source="o", order_id="o-1", amount="30", time="2026-11-06T00:00:00+08:00"),
        b.gift("c-1", id="g-1", source="o", product_id="gift", time="2026-10-05T00:00:00+08:00"),
        b.voided(("o", "r-1"), "c-1", id="f-1"),
        b.amended(USAGE, id="f-2", quantity="0", unit_price="1"),
        b.usage("c-1", id="u-usd", source="m", service_type="RDS", currency="USD"),  # rejected: no charge
    ]
    assert ingest(tmp_path, events) == {"accepted": 6, "duplicates": 0, "rejected": 1}
    assert loads(run(tmp_path, "service-types", "--json")) == {
        "service_types": [
            {"service_type": "ECS", "service_type_name": None, "service_type_name_en": None, "charges": 3},
            {"service_type": "OBS", "service_type_name": None, "service_type_name_en": None, "charges": 4},
        ]
    }


# --- §5 a store is bound to its currency and time zone; §1 account_manager.assigned --------------

NEW_COMMANDS = [
    ["resources", "--customer", "c-1"],
    ["authorizations"],
    ["service-types"],
    ["authorization", "request", "--partner", "p-1", "--customer", "c-1", "--id", "A-2"],
    ["authorization", "approve", "--id", "A-1"],
    ["catalog", "load", "catalog.json"],
    ["ingest", "events.jsonl"],
]


def _snapshot(folder: Path) -> list[str]:
    """What a command could change: the authorizations, the catalogue, the bills."""
    views = (["authorizations"], ["service-types"], ["bills", "--period", "2026-10"])
    return [out(run(folder, *view, "--json")) for view in views]


def test_a_command_run_with_another_currency_or_time_zone_exits_2_naming_both_and_changes_nothing(tmp_path):
    ingest(tmp_path, [_associated("c-1", "p-1", "2026-10-01T00:00:00Z"), USAGE, b.voided(USAGE, id="f-1")])
    assert _request(tmp_path, "c-1", "A-1").returncode == 0
    _catalog(tmp_path, [{"service_type": "ECS", "service_type_name": "云服务器", "service_type_name_en": None}])
    before = _snapshot(tmp_path)
    for setting in ({"BILLING_CURRENCY": "USD"}, {"BILLING_TIMEZONE": "UTC"}):
        for command in NEW_COMMANDS:
            error = assert_usage_failure(run(tmp_path, *command, **setting))
            for word in ("CNY", "Asia/Shanghai", *setting.values()):
                assert word in error, (command, error)
    assert _snapshot(tmp_path) == before


def test_account_manager_assigned_needs_its_three_ids_records_no_charge_and_changes_no_view(tmp_path):
    def assigned(id_: str, **data) -> dict:
        return b.assigned("m-1", "s-1", "p-1", id=id_, source="hr", time="2026-10-01T00:00:00+08:00", data=data)

    events = [
        assigned("s-1"),
        assigned("s-1", currency="USD", note="unknown data is ignored"),  # only unknown data differs: a conflict
        assigned("s-2", currency="USD"),
        assigned("s-3", supervisor_id=None),
        assigned("s-4", account_manager_id=""),
        assigned("s-5", partner_id="p" * 65),
    ]
    assert ingest(tmp_path, events) == {"accepted": 2, "duplicates": 0, "rejected": 4}
    assert kept(tmp_path) == [
        ("s-1", "conflicting_duplicate"),
        ("s-3", "invalid_data"),
        ("s-4", "invalid_data"),
        ("s-5", "invalid_data"),
    ]
    assert loads(run(tmp_path, "bills", "--period", "2026-10", "--json")) == {"period": "2026-10", "bills": []}
    assert loads(run(tmp_path, "customers", "--partner", "p-1", "--period", "2026-10", "--json")) == {
        "partner_id": "p-1",
        "period": "2026-10",
        "total_customers": 0,
        "association_count": 0,
        "consuming_customers": 0,
        "new_enterprise_customers_quarter": 0,
    }
    replayed = loads(run(tmp_path, "replay", "--period", "2026-10", "--json"))
    assert (replayed["bills"], replayed["customers"], replayed["performance"]) == ([], [], [])
    assert loads(run(tmp_path, "service-types", "--json")) == {"service_types": []}


# --- the same answers on PostgreSQL -------------------------------------------------------------

SCRIPT = [  # (command, expected exit status), run in order against one store
    (["ingest", "judged.jsonl"], 1),
    (["ingest", "resources.jsonl"], 1),  # some usage ids are judged.jsonl's with other data
    (["bills", "--period", "2026-10", "--json"], 0),
    (["rejected", "--json"], 0),
    (["resources", "--customer", "c-1", "--json"], 0),
    (["resources", "--customer", "c-1", "--period", "2026-11", "--json"], 0),
    (["authorization", "request", "--partner", "p-1", "--customer", "c-1", "--id", "A-1", "--json"], 1),
    (
        [
            "authorization",
            "request",
            "--partner",
            "p-1",
            "--customer",
            "c-1",
            "--id",
            "A-1",
            "--reseller",
            "r-1",
            "--json",
        ],
        0,
    ),
    (["authorization", "approve", "--id", "A-1", "--json"], 0),
    (["resources", "--customer", "c-1", "--as-partner", "p-1", "--reseller", "r-1", "--json"], 0),
    (["catalog", "load", "catalog.json", "--json"], 0),
    (["service-types", "--json"], 0),
    (["authorizations", "--status", "approved", "--json"], 0),
    (["replay", "--period", "2026-10", "--check"], 0),
]


@pytest.mark.postgres
def test_every_command_above_answers_the_same_on_postgresql_as_on_sqlite(tmp_path, postgres_fresh_dsn):
    jsonl(tmp_path / "judged.jsonl", [event for event, _ in JUDGED])
    jsonl(tmp_path / "resources.jsonl", RESOURCE_USAGE)
    _catalog(tmp_path, [{"service_type": "ECS", "service_type_name": "弹性云服务器", "service_type_name_en": None}])
    answers = {}
    for store in ("sqlite:///billing.db", postgres_fresh_dsn):
        answers[store] = []
        for command, status in SCRIPT:
            result = run(tmp_path, *command, BILLING_STORE=store)
            assert result.returncode == status, (store, command, result.stderr)
            answers[store].append(result.stdout if "--check" not in command else b"")
    sqlite, postgres = answers.values()
    for (command, _), on_sqlite, on_postgres in zip(SCRIPT, sqlite, postgres, strict=True):
        assert on_postgres == on_sqlite, command
