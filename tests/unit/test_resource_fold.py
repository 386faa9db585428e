"""The resource fold (CONTRACT.md §12) on hand-made recorded events, corrections
included (their stored shapes are fixed in schemas/recorded.py)."""

from __future__ import annotations

import json

import msgspec

from engine.instants import parse_instant
from projections.resources import fold_resources
from schemas.recorded import ChargeFigures, ChargeRecorded, ChargeVoided, UsageAmended
from schemas.resources import Resource

_versions = iter(range(1, 10_000))


def usage(
    id: str,
    time: str,
    payable: int,
    *,
    settled: int | None = None,
    service_type: str = "ECS",
    resource_id: str = "i-1",
    period: str = "2026-10",
    **data,
) -> ChargeRecorded:
    """A recorded usage charge; `data` adds product_id/region to its inbound line."""
    fact = {
        "specversion": "1.0",
        "id": id,
        "source": "m",
        "type": "usage.recorded",
        "time": time,
        "data": {"customer_id": "c-1", "service_type": service_type, "resource_id": resource_id, **data},
    }
    return ChargeRecorded(
        **_charge_fields(id, time, payable, settled, period),
        type="usage.recorded",
        service_type=service_type,
        item_id=resource_id,
        order_id=None,
        fact=msgspec.Raw(json.dumps(fact).encode()),
    )


def order(id: str, product_id: str, payable: int, *, service_type: str = "ECS") -> ChargeRecorded:
    return ChargeRecorded(
        **_charge_fields(id, "2026-10-02T00:00:00Z", payable, None, "2026-10"),
        type="order.paid",
        service_type=service_type,
        item_id=product_id,
        order_id="o-1",
        fact=msgspec.Raw(b"{}"),
    )


def void(of: ChargeRecorded, *, payable: int, settled: int, time: str = "2026-12-20T00:00:00Z") -> ChargeVoided:
    return ChargeVoided(
        **_charge_fields(f"void-{of.id}", time, payable, settled, of.period),
        type="charge.voided",
        service_type=of.service_type,
        item_id=of.item_id,
        order_id=of.order_id,
        fact=msgspec.Raw(b"{}"),
        event_source=of.source,
        event_id=of.id,
        reason="wrong meter",
    )


def amend(of: ChargeRecorded, *, payable: int, settled: int, reversal: tuple[int, int]) -> UsageAmended:
    figures = ChargeFigures(10**8, 0, 0, reversal[0], reversal[1], reversal[0] - reversal[1])
    return UsageAmended(
        **_charge_fields(f"amend-{of.id}", "2026-12-21T00:00:00Z", payable, settled, of.period),
        type="usage.amended",
        service_type=of.service_type,
        item_id=of.item_id,
        order_id=None,
        fact=msgspec.Raw(b"{}"),
        event_source=of.source,
        event_id=of.id,
        reason="re-metered",
        reversal=figures,
    )


def _charge_fields(id: str, time: str, payable: int, settled: int | None, period: str) -> dict:
    settled = payable // 10**6 * 10**6 if settled is None else settled
    return dict(
        originator_id="c-1",
        originator_version=next(_versions),
        customer_id="c-1",
        source="m",
        id=id,
        time=time,
        at=parse_instant(time),
        recorded_at="2026-12-30T00:00:00.000000Z",
        period=period,
        currency="CNY",
        rate_units=10**8,
        list_units=payable,
        discount_units=0,
        payable_units=payable,
        settled_units=settled,
        rounding_off_units=payable - settled,
        partner_id=None,
        account_manager_id=None,
        indirect_partner_id=None,
    )


def only(resources: list[Resource]) -> Resource:
    assert len(resources) == 1, resources
    return resources[0]


def test_a_usage_is_a_resource_with_its_amounts_and_times_in_utc():
    resource = only(fold_resources([usage("u-1", "2026-10-03T08:00:00+08:00", 24691356)], None, 2))
    assert resource == Resource(
        "i-1", "ECS", None, None, "2026-10-03T00:00:00Z", "2026-10-03T00:00:00Z", 1, "0.24691356", "0.24"
    )


def test_the_fraction_sent_is_kept_without_its_trailing_zeros():
    events = [usage("u-1", "2026-10-03T08:00:00.500+08:00", 1), usage("u-2", "2026-10-04T00:00:00.120000Z", 1)]
    resource = only(fold_resources(events, None, 2))
    assert (resource.first_used, resource.last_used) == ("2026-10-03T00:00:00.5Z", "2026-10-04T00:00:00.12Z")


def test_first_and_last_use_follow_business_time_not_recording_order():
    events = [
        usage("u-1", "2026-10-20T00:00:00Z", 1),
        usage("u-2", "2026-10-01T00:00:00Z", 1),
        usage("u-3", "2026-10-10T00:00:00Z", 1),
    ]
    resource = only(fold_resources(events, None, 2))
    assert (resource.first_used, resource.last_used) == ("2026-10-01T00:00:00Z", "2026-10-20T00:00:00Z")


def test_product_and_region_come_each_from_the_latest_usage_that_has_it():
    events = [
        usage("u-1", "2026-10-01T00:00:00Z", 1, product_id="small", region="north"),
        usage("u-2", "2026-10-09T00:00:00Z", 1, product_id="large"),
        usage("u-3", "2026-10-05T00:00:00Z", 1, region="south"),  # recorded later, earlier in time
        usage("u-4", "2026-10-10T00:00:00Z", 1, product_id=None, region=None),
    ]
    resource = only(fold_resources(events, None, 2))
    assert (resource.product_id, resource.region) == ("large", "south")


def test_at_equal_business_times_the_usage_recorded_later_gives_the_product():
    events = [
        usage("u-1", "2026-10-01T00:00:00Z", 1, product_id="a"),
        usage("u-2", "2026-10-01T08:00:00+08:00", 1, product_id="b"),
    ]
    assert only(fold_resources(events, None, 2)).product_id == "b"


def test_resources_are_sorted_by_service_type_then_resource_id():
    events = [
        usage("u-1", "2026-10-01T00:00:00Z", 1, service_type="OBS", resource_id="a"),
        usage("u-2", "2026-10-01T00:00:00Z", 1, service_type="ECS", resource_id="b"),
        usage("u-3", "2026-10-01T00:00:00Z", 1, service_type="ECS", resource_id="B"),
    ]
    assert [(r.service_type, r.resource_id) for r in fold_resources(events, None, 2)] == [
        ("ECS", "B"),
        ("ECS", "b"),
        ("OBS", "a"),
    ]


def test_a_period_keeps_only_its_own_usage():
    october = usage("u-1", "2026-10-31T15:59:59Z", 100000000, period="2026-10", product_id="a")
    november = usage("u-2", "2026-10-31T16:00:00Z", 200000000, period="2026-11", product_id="b")
    resource = only(fold_resources([october, november], "2026-10", 2))
    assert (resource.charges, resource.payable_amount, resource.last_used, resource.product_id) == (
        1,
        "1.00000000",
        "2026-10-31T15:59:59Z",
        "a",
    )
    assert fold_resources([october, november], "2026-12", 2) == []


def test_a_void_counts_one_charge_and_its_reversal_adds():
    used = usage("u-1", "2026-10-03T00:00:00Z", 24691356)
    resource = only(fold_resources([used, void(used, payable=-24691356, settled=-24000000)], None, 2))
    assert (resource.charges, resource.payable_amount, resource.settled_amount) == (2, "0.00000000", "0.00")
    assert resource.first_used == resource.last_used == "2026-10-03T00:00:00Z"  # the void's time plays no part


def test_an_amendment_counts_two_charges_and_replaces_the_amounts():
    used = usage("u-1", "2026-10-03T00:00:00Z", 24691356)
    amended = amend(used, payable=37037034, settled=37000000, reversal=(-24691356, -24000000))
    resource = only(fold_resources([used, amended], None, 2))
    assert (resource.charges, resource.payable_amount, resource.settled_amount) == (3, "0.37037034", "0.37")
    assert resource.last_used == "2026-10-03T00:00:00Z"


def test_voiding_an_amended_usage_leaves_nothing_but_the_count():
    used = usage("u-1", "2026-10-03T00:00:00Z", 24691356)
    amended = amend(used, payable=37037034, settled=37000000, reversal=(-24691356, -24000000))
    voided = void(used, payable=-37037034, settled=-37000000)
    resource = only(fold_resources([used, amended, voided], None, 2))
    assert (resource.charges, resource.payable_amount, resource.settled_amount) == (4, "0.00000000", "0.00")


def test_a_void_of_an_order_is_no_resources_even_on_a_line_named_like_one():
    used = usage("u-1", "2026-10-03T00:00:00Z", 100000000, resource_id="pkg-1")
    paid = order("o-paid", "pkg-1", 500000000)
    resources = fold_resources([used, paid, void(paid, payable=-500000000, settled=-500000000)], None, 2)
    assert only(resources).charges == 1 and resources[0].payable_amount == "1.00000000"


def test_a_correction_of_another_periods_usage_is_left_out_of_a_period():
    used = usage("u-1", "2026-09-03T00:00:00Z", 100000000, period="2026-09")
    assert fold_resources([used, void(used, payable=-100000000, settled=-100000000)], "2026-10", 2) == []


def test_settled_amounts_take_the_currencys_minor_digits():
    resource = only(fold_resources([usage("u-1", "2026-10-03T00:00:00Z", 500000000, settled=500000000)], None, 0))
    assert resource.settled_amount == "5"
