"""Which charges a statement carries, told from a charge's partner, period and recorded
time (engine/incentives/carried.py, CONTRACT.md §7 and §9)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.incentives.carried import CarriedSums, CarryWindow

OCT_CLOSE, NOV_CLOSE = "2026-11-03T00:00:00.000000Z", "2026-12-02T00:00:00.000000Z"
NOVEMBER = CarryWindow("p-1", "2026-11", NOV_CLOSE, OCT_CLOSE)


def charge(
    period="2026-11",
    recorded_at="2026-11-20T00:00:00.000000Z",
    partner="p-1",
    manager="am-1",
    payable=1_000_000_000,
    settled=1_000_000_000,
):
    return SimpleNamespace(
        partner_id=partner,
        period=period,
        recorded_at=recorded_at,
        account_manager_id=manager,
        payable_units=payable,
        settled_units=settled,
    )


@pytest.mark.parametrize(
    ("what", "period", "recorded_at", "carried"),
    [
        ("a charge of the period recorded before its close", "2026-11", "2026-11-20T00:00:00.000000Z", True),
        ("a charge of the period recorded at the close's very time", "2026-11", NOV_CLOSE, True),
        ("a charge of the period recorded before the previous close", "2026-11", "2026-11-02T00:00:00.000000Z", True),
        ("a charge of the period recorded after its close", "2026-11", "2026-12-02T00:00:00.000001Z", False),
        (
            "a late charge of an earlier month, recorded between the closes",
            "2026-10",
            "2026-11-20T00:00:00.000000Z",
            True,
        ),
        ("a charge of an earlier month recorded by the previous close", "2026-10", OCT_CLOSE, False),
        (
            "a late charge of an earlier month recorded after this close",
            "2026-09",
            "2026-12-05T00:00:00.000000Z",
            False,
        ),
        ("a charge of a later month", "2026-12", "2026-11-20T00:00:00.000000Z", False),
    ],
)
def test_a_statement_carries_its_months_charges_and_the_late_ones_since_the_previous_close(
    what, period, recorded_at, carried
):
    assert NOVEMBER.carries("p-1", period, recorded_at) is carried, what


def test_another_partners_charge_or_one_of_no_partner_is_never_carried():
    assert not NOVEMBER.carries("p-2", "2026-11", "2026-11-20T00:00:00.000000Z")
    assert not NOVEMBER.carries(None, "2026-11", "2026-11-20T00:00:00.000000Z")


def test_the_first_close_carries_every_earlier_month_recorded_before_it():
    first = CarryWindow("p-1", "2026-10", OCT_CLOSE, None)
    assert first.carries("p-1", "2026-03", "2026-04-01T00:00:00.000000Z")
    assert not first.carries("p-1", "2026-03", "2026-11-03T00:00:00.000001Z")


def test_a_month_before_the_first_close_has_no_statement_so_its_window_carries_nothing():
    assert not CarryWindow("p-1", "2026-09", None, None).carries("p-1", "2026-09", "2026-09-20T00:00:00.000000Z")


def test_carried_sums_add_up_per_account_manager_and_in_whole():
    sums = CarriedSums(NOVEMBER)
    for each in (
        charge(manager="am-1"),
        charge(manager="am-1", payable=-250_000_000, settled=-250_000_000),
        charge(manager="am-2", payable=123_456_789, settled=123_000_000),
        charge(manager=None),
        charge(period="2026-12"),
        charge(partner="p-2"),
    ):
        sums.add_charge(each)
    assert sums.charges == 4
    assert sums.by_manager == {
        "am-1": [750_000_000, 750_000_000],
        "am-2": [123_456_789, 123_000_000],
        None: [1_000_000_000, 1_000_000_000],
    }
    assert sums.total(frozenset({"am-1", "am-2"})) == (873_456_789, 873_000_000)
    assert sums.total(frozenset({"am-9"})) == (0, 0)
    assert sums.total() == (1_873_456_789, 1_873_000_000)
