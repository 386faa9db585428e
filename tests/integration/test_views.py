"""Bills, customer counts and performance on real SQLite files (CONTRACT.md §2, §4).

Every expected figure below was worked out by hand from the contract's rules; the
comments show the arithmetic.
"""

from __future__ import annotations

from decimal import Decimal

from commands.queries import bills, customer_counts, performance
from projections.queries import Scope
from tests.builders import (
    associated,
    disassociated,
    discount_granted,
    discount_revoked,
    gift,
    order_paid,
    order_refunded,
    usage,
)
from tests.conftest import record


def accept(engine, events, batch_size: int = 5000) -> None:
    """Records events that must all be accepted."""
    counts = record(engine, events, batch_size)
    rejected = [(row.reason, row.message) for row in engine.ledger.recorder.select_rejections()]
    assert counts.rejected == 0, rejected
    assert counts.accepted + counts.duplicates == len(events)


def oct_(day_and_time: str) -> str:
    """`oct_("05T10:00")` is 2026-10-05T10:00:00+08:00 (Shanghai)."""
    return f"2026-10-{day_and_time}:00+08:00"


def figures(view) -> tuple[str, str, str, str, str, int]:
    return (
        view.list_amount,
        view.discount_amount,
        view.payable_amount,
        view.settled_amount,
        view.rounding_off_amount,
        view.charges,
    )


def counts_of(engine, partner: str, period: str, scope: Scope = Scope()) -> tuple[int, int, int, int]:
    counts = customer_counts(engine, partner, period, scope)
    assert (counts.partner_id, counts.period) == (partner, period)
    return (
        counts.total_customers,
        counts.association_count,
        counts.consuming_customers,
        counts.new_enterprise_customers_quarter,
    )


# Bills -------------------------------------------------------------------------------


def test_a_bill_adds_up_its_charges_line_by_line(store):
    accept(
        store,
        [
            usage(quantity="2", unit_price="0.12345678", resource_id="i-9", time=oct_("03T08:00")),
            usage(quantity="1", unit_price="0.00654322", resource_id="i-9", time=oct_("04T08:00")),
        ],
    )
    [bill] = bills(store, "2026-10")
    # 0.24691356 (settled 0.24) + 0.00654322 (settled 0.00): settled per charge, then summed
    assert (bill.customer_id, bill.period, bill.currency) == ("c-1", "2026-10", "CNY")
    assert figures(bill) == ("0.25345678", "0.00000000", "0.25345678", "0.24", "0.01345678", 2)
    [line] = bill.lines
    assert (line.service_type, line.item_id) == ("ECS", "i-9")
    assert figures(line) == figures(bill)


def test_bills_are_sorted_by_customer_and_lines_by_service_type_then_item(store):
    accept(
        store,
        [
            usage("c-2", service_type="RDS", resource_id="a"),
            usage("c-2", service_type="ECS", resource_id="z"),
            order_paid("c-2", service_type="ECS", product_id="b", amount="1"),
            usage("c-1", service_type="ECS", resource_id="z"),
            usage("c-10", service_type="ECS", resource_id="z"),
        ],
    )
    result = bills(store, "2026-10")
    assert [bill.customer_id for bill in result] == ["c-1", "c-10", "c-2"]
    assert [(line.service_type, line.item_id) for line in result[2].lines] == [
        ("ECS", "b"),
        ("ECS", "z"),
        ("RDS", "a"),
    ]
    assert [bill.customer_id for bill in bills(store, "2026-10", "c-2")] == ["c-2"]


def test_a_period_without_charges_has_no_bill(store):
    accept(store, [associated(time=oct_("01T00:00")), discount_granted(), usage(time=oct_("05T00:00"))])
    assert bills(store, "2026-09") == []
    assert bills(store, "2026-11") == []
    assert len(bills(store, "2026-10")) == 1


def test_month_boundaries_given_in_other_offsets_fall_in_the_shanghai_month(store):
    accept(
        store,
        [
            usage(resource_id="sep-1", time="2026-09-30T23:59:59+08:00"),
            usage(resource_id="oct-1", time="2026-09-30T16:00:00Z"),
            usage(resource_id="oct-2", time="2026-10-31T10:59:59-05:00"),
            usage(resource_id="oct-3", time="2026-10-31T15:59:59.999Z"),
            usage(resource_id="nov-1", time="2026-10-31T11:00:00-05:00"),
            usage(resource_id="nov-2", time="2026-10-31t16:00:00z"),
            usage(resource_id="nov-3", time="2026-11-01T00:00:00+08:00"),
            usage(resource_id="dec-1", time="2026-11-30T16:00:00Z"),
        ],
    )
    items = {
        period: [line.item_id for bill in bills(store, period) for line in bill.lines]
        for period in ("2026-09", "2026-10", "2026-11", "2026-12")
    }
    assert items == {
        "2026-09": ["sep-1"],
        "2026-10": ["oct-1", "oct-2", "oct-3"],
        "2026-11": ["nov-1", "nov-2", "nov-3"],
        "2026-12": ["dec-1"],
    }


def test_a_discount_revoked_mid_month_charges_the_rate_before_and_list_price_after(store):
    price = "10.00333333"
    accept(
        store,
        [
            discount_granted(discount_id="d-1", rate="0.8", valid_from=oct_("01T00:00")),
            usage(quantity="1", unit_price=price, resource_id="i-1", time=oct_("05T00:00")),
            discount_revoked(discount_id="d-1", time=oct_("15T12:00")),
            usage(quantity="1", unit_price=price, resource_id="i-1", time=oct_("15T12:00")),
            usage(quantity="1", unit_price=price, resource_id="i-1", time=oct_("20T00:00")),
        ],
    )
    [bill] = bills(store, "2026-10")
    # before: 10.00333333 × 0.8 = 8.002666664 → 8.00266666 (settled 8.00, off 0.00266666)
    # at and after the revocation: 10.00333333 each (settled 10.00, off 0.00333333)
    # list 30.00999999 = discount 2.00066667 + payable 28.00933332
    # payable 28.00933332 = settled 28.00 + off 0.00933332
    assert figures(bill) == ("30.00999999", "2.00066667", "28.00933332", "28.00", "0.00933332", 3)


def test_a_charge_recorded_before_a_revocation_keeps_the_rate_it_was_decided_with(store):
    accept(
        store,
        [
            discount_granted(discount_id="d-1", rate="0.5", valid_from=oct_("01T00:00")),
            usage(quantity="1", unit_price="10", time=oct_("20T00:00")),
            discount_revoked(discount_id="d-1", time=oct_("15T00:00")),
        ],
    )
    # amounts are decided once, as known when the charge is recorded
    assert bills(store, "2026-10")[0].payable_amount == "5.00000000"


def test_a_gift_appears_on_the_bill_as_a_zero_charge(store):
    accept(
        store,
        [
            order_paid(order_id="o-1", amount="100", product_id="pkg-1", service_type="OBS"),
            gift(product_id="gift-1", service_type="OBS"),
        ],
    )
    [bill] = bills(store, "2026-10")
    assert bill.charges == 2
    assert figures(bill) == ("100.00000000", "0.00000000", "100.00000000", "100.00", "0.00000000", 2)
    assert [(line.item_id, figures(line)) for line in bill.lines] == [
        ("gift-1", ("0.00000000", "0.00000000", "0.00000000", "0.00", "0.00000000", 1)),
        ("pkg-1", ("100.00000000", "0.00000000", "100.00000000", "100.00", "0.00000000", 1)),
    ]


def test_partial_refunds_are_negative_charges_on_the_orders_line_in_their_own_period(store):
    accept(
        store,
        [
            associated(partner="p-1", time=oct_("01T00:00")),
            discount_granted(discount_id="d-1", rate="0.85", valid_from=oct_("01T00:00")),
            order_paid(order_id="o-1", amount="100.00", product_id="pkg-1", service_type="OBS", time=oct_("05T00:00")),
            order_refunded(order_id="o-1", amount="33.33", time=oct_("20T00:00")),
            discount_revoked(discount_id="d-1", time=oct_("25T00:00")),
            usage(
                quantity="1", unit_price="1", service_type="OBS", resource_id="pkg-1", time="2026-11-02T00:00:00+08:00"
            ),
            order_refunded(order_id="o-1", amount="10.01", time="2026-11-03T08:00:00+08:00"),
        ],
    )
    [october] = bills(store, "2026-10")
    # order: 100 × 0.85 = 85.00000000; refund: −33.33 × 0.85 = −28.3305 → settled −28.33, off −0.0005
    assert figures(october) == ("66.67000000", "10.00050000", "56.66950000", "56.67", "-0.00050000", 2)
    [november] = bills(store, "2026-11")
    # the Nov refund keeps the order's rate (0.85) though the discount was revoked:
    # −10.01 × 0.85 = −8.5085 → settled −8.50, off −0.0085; the usage is at list price, 1.00
    [line] = november.lines
    assert (line.service_type, line.item_id) == ("OBS", "pkg-1")
    assert figures(line) == ("-9.01000000", "-1.50150000", "-7.50850000", "-7.50", "-0.00850000", 2)
    nov_performance = performance(store, "p-1", "2026-11")
    assert (nov_performance.payable_amount, nov_performance.settled_amount) == ("-7.50850000", "-7.50")


def test_a_refund_that_settles_to_zero_shows_an_unsigned_zero(store):
    accept(
        store,
        [
            order_paid(order_id="o-1", amount="1.00"),
            order_refunded(order_id="o-1", amount="0.001", time="2026-11-03T08:00:00+08:00"),
        ],
    )
    [november] = bills(store, "2026-11")
    assert figures(november) == ("-0.00100000", "0.00000000", "-0.00100000", "0.00", "-0.00100000", 1)


def test_a_yen_deployment_settles_to_whole_yen(open_store):
    engine = open_store("yen.db", currency="JPY")
    accept(engine, [usage(quantity="3", unit_price="0.5", currency="JPY")])
    [bill] = bills(engine, "2026-10")
    assert (bill.currency, bill.payable_amount, bill.settled_amount, bill.rounding_off_amount) == (
        "JPY",
        "1.50000000",
        "1",
        "0.50000000",
    )


def test_every_bill_satisfies_the_two_sums(store):
    accept(
        store,
        [
            discount_granted(discount_id="d-1", rate="0.33333333", service_type="ECS", valid_from=oct_("01T00:00")),
            usage(quantity="3.3", unit_price="0.77777777", time=oct_("02T00:00")),
            usage(quantity="0.1", unit_price="0.00000005", service_type="RDS", time=oct_("02T00:00")),
            order_paid(order_id="o-1", amount="12.34567891", service_type="ECS", time=oct_("03T00:00")),
            order_refunded(order_id="o-1", amount="2.22222222", time=oct_("04T00:00")),
        ],
    )
    [bill] = bills(store, "2026-10")
    for view in [bill, *bill.lines]:
        assert Decimal(view.payable_amount) == Decimal(view.settled_amount) + Decimal(view.rounding_off_amount)
        assert Decimal(view.list_amount) == Decimal(view.discount_amount) + Decimal(view.payable_amount)
    for field in ("list_amount", "discount_amount", "payable_amount", "settled_amount", "rounding_off_amount"):
        assert Decimal(getattr(bill, field)) == sum(Decimal(getattr(line, field)) for line in bill.lines)


# Re-association ----------------------------------------------------------------------


def test_re_association_counts_again_and_charges_follow_the_partner_of_their_time(store):
    accept(
        store,
        [
            associated(partner="p-1", time=oct_("01T00:00"), data={"account_manager_id": "m-1"}),
            usage(quantity="1", unit_price="1", time=oct_("05T00:00")),
            disassociated(partner="p-1", time=oct_("10T00:00")),
            associated(partner="p-2", time=oct_("12T00:00")),
            usage(quantity="1", unit_price="2", time=oct_("14T00:00")),
            disassociated(partner="p-2", time=oct_("16T00:00")),
            usage(quantity="1", unit_price="8", time=oct_("18T00:00")),  # no partner
            associated(partner="p-1", time=oct_("20T00:00"), data={"account_manager_id": "m-2"}),
            usage(quantity="1", unit_price="4", time=oct_("25T00:00")),
        ],
    )
    # total, association_count, consuming, new enterprise this quarter
    assert counts_of(store, "p-1", "2026-10") == (1, 2, 1, 1)
    assert counts_of(store, "p-2", "2026-10") == (0, 1, 1, 1)
    assert counts_of(store, "p-1", "2026-11") == (1, 2, 0, 1)
    assert counts_of(store, "p-1", "2027-01") == (1, 2, 0, 0)
    assert counts_of(store, "p-1", "2026-09") == (0, 0, 0, 0)

    p1 = performance(store, "p-1", "2026-10")
    assert (p1.payable_amount, p1.settled_amount, p1.customers) == ("5.00000000", "5.00", 1)
    assert [(d.customer_id, d.payable_amount) for d in p1.details] == [("c-1", "5.00000000")]
    assert [(t.account_manager_id, t.payable_amount, t.customers) for t in p1.by_account_manager] == [
        ("m-1", "1.00000000", 1),
        ("m-2", "4.00000000", 1),
    ]
    assert performance(store, "p-2", "2026-10").payable_amount == "2.00000000"
    assert bills(store, "2026-10")[0].payable_amount == "15.00000000"


def test_a_disassociation_recorded_in_a_later_batch_ends_the_association(store):
    accept(store, [associated(partner="p-1", time=oct_("01T00:00"))])
    accept(store, [usage(time=oct_("02T00:00"))])
    accept(store, [disassociated(partner="p-1", time=oct_("10T00:00"))])
    accept(store, [associated(partner="p-2", time=oct_("11T00:00"))])
    accept(store, [disassociated(partner="p-2", time=oct_("12T00:00"))])
    assert counts_of(store, "p-1", "2026-10") == (0, 1, 1, 1)
    assert counts_of(store, "p-2", "2026-10") == (0, 1, 0, 1)
    assert counts_of(store, "p-1", "2026-09") == (0, 0, 0, 0)


# Customer counts ---------------------------------------------------------------------

OCT_END = "2026-10-31T16:00:00Z"  # = 2026-11-01T00:00:00+08:00


def test_customer_counts_at_the_end_of_the_period(store):
    accept(
        store,
        [
            # a: open, consumes
            associated("a", time=oct_("05T00:00")),
            usage("a", quantity="1", unit_price="1", time=oct_("06T00:00")),
            # b: disassociated exactly at the period's end: still counted; a gift only
            associated("b", time=oct_("05T00:00")),
            gift("b", time=oct_("06T00:00")),
            disassociated("b", time=OCT_END),
            # c: disassociated just before the end; its only charge is free
            associated("c", time=oct_("05T00:00")),
            usage("c", quantity="5", unit_price="0", time=oct_("06T00:00")),
            disassociated("c", time="2026-10-31T15:59:59.999Z"),
            # d: associated exactly at the end: belongs to November
            associated("d", time=OCT_END),
            # e: first associated in Q3, one second before October
            associated("e", time="2026-09-30T23:59:59+08:00"),
            usage("e", quantity="1", unit_price="1", time=oct_("10T00:00")),
            # f: an individual; an order refunded in full still had a payable charge
            associated("f", customer_type="individual", time=oct_("05T00:00")),
            order_paid("f", order_id="o-f", amount="50", time=oct_("06T00:00")),
            order_refunded("f", order_id="o-f", amount="50", time=oct_("07T00:00")),
            # g: associated exactly at the quarter's start; consumed before it only
            usage("g", quantity="1", unit_price="1", time="2026-09-30T15:59:59Z"),
            associated("g", time=oct_("01T00:00")),
            # i: first association individual, then enterprise: not a new enterprise
            associated("i", customer_type="individual", time=oct_("02T00:00")),
            disassociated("i", time=oct_("03T00:00")),
            associated("i", customer_type="enterprise", time=oct_("04T00:00")),
            # someone else's customer
            associated("z", partner="p-2", time=oct_("05T00:00")),
            usage("z", quantity="1", unit_price="1", time=oct_("06T00:00")),
        ],
    )
    # total: a b e f g i; associations: a b c e f g i i; consuming: a e f;
    # new enterprise (first association enterprise in [Oct 1, Nov 1)): a b c g
    assert counts_of(store, "p-1", "2026-10") == (6, 8, 3, 4)
    # November: b and c are gone, d arrived; the quarter still started on Oct 1
    assert counts_of(store, "p-1", "2026-11") == (6, 9, 0, 5)
    # January: a new quarter
    assert counts_of(store, "p-1", "2027-01") == (6, 9, 0, 0)
    # September: only e, whose first association is in Q3
    assert counts_of(store, "p-1", "2026-09") == (1, 1, 0, 1)
    assert counts_of(store, "p-2", "2026-10") == (1, 1, 1, 1)
    assert counts_of(store, "p-nobody", "2026-10") == (0, 0, 0, 0)


def test_customer_counts_under_a_scope_keep_what_carries_the_id(store):
    m1 = {"account_manager_id": "m-1"}
    accept(
        store,
        [
            associated("a", time=oct_("05T00:00"), data=m1),
            usage("a", quantity="1", unit_price="1", time=oct_("06T00:00")),
            associated("b", time=oct_("05T00:00"), data={**m1, "indirect_partner_id": "r-1"}),
            gift("b", time=oct_("06T00:00")),
            associated("c", time=oct_("05T00:00"), data={"account_manager_id": "m-2"}),
            usage("c", quantity="1", unit_price="1", time=oct_("06T00:00")),
            # h: first with m-2, then with m-1
            associated("h", time=oct_("02T00:00"), data={"account_manager_id": "m-2"}),
            disassociated("h", time=oct_("03T00:00")),
            associated("h", time=oct_("04T00:00"), data=m1),
            usage("h", quantity="1", unit_price="1", time=oct_("06T00:00")),
        ],
    )
    assert counts_of(store, "p-1", "2026-10") == (4, 5, 3, 4)
    # m-1: total a b h; associations a b h(2nd); consuming a h; new: a b (h's first is m-2's)
    assert counts_of(store, "p-1", "2026-10", Scope(account_manager_id="m-1")) == (3, 3, 2, 2)
    # m-2: total c; associations c h(1st); consuming c; new: c h
    assert counts_of(store, "p-1", "2026-10", Scope(account_manager_id="m-2")) == (1, 2, 1, 2)
    # r-1: b only; a gift is not consumption
    assert counts_of(store, "p-1", "2026-10", Scope(indirect_partner_id="r-1")) == (1, 1, 0, 1)
    assert counts_of(store, "p-1", "2026-10", Scope(account_manager_id="m-9")) == (0, 0, 0, 0)


# Performance -------------------------------------------------------------------------


def test_performance_groups_by_account_manager_and_reseller_with_null_last(store):
    accept(
        store,
        [
            associated("x1", time=oct_("01T00:00"), data={"account_manager_id": "m-2", "indirect_partner_id": "r-1"}),
            usage("x1", quantity="1", unit_price="3", time=oct_("05T00:00")),
            associated("x2", time=oct_("01T00:00"), data={"account_manager_id": "m-1"}),
            usage("x2", quantity="1", unit_price="0.505", time=oct_("05T00:00")),
            usage("x2", quantity="1", unit_price="0.505", time=oct_("06T00:00")),
            associated("x3", time=oct_("01T00:00"), data={"indirect_partner_id": "r-2"}),
            usage("x3", quantity="1", unit_price="2", time=oct_("05T00:00")),
            associated("x0", time=oct_("01T00:00")),
            usage("x0", quantity="1", unit_price="4", time=oct_("05T00:00")),
            associated("y", partner="p-2", time=oct_("01T00:00")),
            usage("y", quantity="1", unit_price="100", time=oct_("05T00:00")),
            usage("x0", quantity="1", unit_price="1000", time="2026-11-05T00:00:00+08:00"),
        ],
    )
    result = performance(store, "p-1", "2026-10")
    assert (result.partner_id, result.period, result.currency) == ("p-1", "2026-10", "CNY")
    # payable 3 + 0.505 + 0.505 + 2 + 4 = 10.01; settled 3.00 + 0.50 + 0.50 + 2.00 + 4.00 = 10.00
    assert (result.payable_amount, result.settled_amount, result.customers) == ("10.01000000", "10.00", 4)
    assert [(d.customer_id, d.payable_amount, d.settled_amount) for d in result.details] == [
        ("x0", "4.00000000", "4.00"),
        ("x1", "3.00000000", "3.00"),
        ("x2", "1.01000000", "1.00"),
        ("x3", "2.00000000", "2.00"),
    ]
    assert [
        (t.account_manager_id, t.payable_amount, t.settled_amount, t.customers) for t in result.by_account_manager
    ] == [
        ("m-1", "1.01000000", "1.00", 1),
        ("m-2", "3.00000000", "3.00", 1),
        (None, "6.00000000", "6.00", 2),
    ]
    assert [(t.indirect_partner_id, t.payable_amount, t.settled_amount, t.customers) for t in result.by_reseller] == [
        ("r-1", "3.00000000", "3.00", 1),
        ("r-2", "2.00000000", "2.00", 1),
        (None, "5.01000000", "5.00", 2),
    ]


def test_a_partner_without_charges_in_the_period_shows_zeros_and_empty_lists(store):
    accept(store, [associated(partner="p-1", time=oct_("01T00:00"))])
    for partner in ("p-1", "p-unknown"):
        result = performance(store, partner, "2026-10")
        assert (result.partner_id, result.currency, result.payable_amount, result.settled_amount, result.customers) == (
            partner,
            "CNY",
            "0.00000000",
            "0.00",
            0,
        )
        assert (result.details, result.by_account_manager, result.by_reseller) == ([], [], [])


def test_performance_counts_customers_with_any_attributed_charge(store):
    accept(
        store,
        [
            associated("g", time=oct_("01T00:00")),
            gift("g", time=oct_("05T00:00")),
        ],
    )
    result = performance(store, "p-1", "2026-10")
    assert (result.customers, [d.customer_id for d in result.details]) == (1, ["g"])
    assert counts_of(store, "p-1", "2026-10")[2] == 0  # but it is not a consuming customer
