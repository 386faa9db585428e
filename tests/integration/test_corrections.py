"""Corrections through the ledger on real SQLite files (CONTRACT.md §11): targets found
in the log or earlier in the batch, duplicates, retries, state kept across processes,
and the views and replay that count them."""

from __future__ import annotations

from commands.ingest import retry_rejections
from commands.queries import bills, customer_counts, performance, period_views, view_settings
from engine.ledger import InboundLine
from projections.replay import first_difference, replay_period
from tests.builders import amended, associated, line, order_paid, order_refunded, usage, voided
from tests.conftest import record

USAGE = usage(id="u-1", source="metering/ecs", quantity="2", unit_price="0.12345678", time="2026-10-05T10:00:00+08:00")
ORDER = order_paid(id="o-paid-1", order_id="o-1", amount="100.00", time="2026-10-06T10:00:00+08:00")
REFUND = order_refunded(id="o-refund-1", order_id="o-1", amount="40.00", time="2026-10-07T10:00:00+08:00")


def reasons(engine) -> list[str]:
    return [row.reason for row in engine.ledger.recorder.select_rejections()]


def test_a_correction_of_an_earlier_line_of_the_same_batch_is_accepted_of_a_later_line_not(store):
    later = usage(id="u-2")
    counts = record(store, [USAGE, voided(USAGE), voided(later), later])
    assert (counts.accepted, counts.rejected) == (3, 1)
    assert reasons(store) == ["unknown_event"]
    [bill] = bills(store, "2026-10")
    assert (bill.list_amount, bill.charges) == ("0.24691356", 3)


def test_a_correction_naming_itself_or_another_customers_event_is_unknown_event(store):
    theirs = usage("c-2", id="u-theirs")
    record(store, [theirs])
    counts = record(
        store,
        [
            voided(theirs, customer="c-1", id="x-1"),
            voided(("billing/corrections", "x-2"), "c-1", id="x-2"),  # its own (source, id)
            usage("c-2", id="u-more"),
            amended(("test/source", "u-more"), customer="c-1", id="x-3"),  # another's, same batch
        ],
    )
    assert (counts.accepted, counts.rejected) == (1, 3)
    assert reasons(store) == ["unknown_event"] * 3


def test_a_correction_of_an_unknown_event_is_accepted_on_retry_once_its_target_arrived(store):
    record(store, [voided(USAGE)])
    assert reasons(store) == ["unknown_event"]
    record(store, [USAGE])
    counts = retry_rejections(store)
    assert (counts.accepted, counts.rejected) == (1, 0)
    [bill] = bills(store, "2026-10")
    assert (bill.list_amount, bill.payable_amount, bill.charges) == ("0.00000000", "0.00000000", 2)


def test_a_correction_sent_again_is_a_duplicate_and_with_other_data_a_conflicting_duplicate(store):
    amendment = amended(USAGE, id="fix-1", quantity="3")
    record(store, [USAGE, amendment])
    counts = record(store, [amendment, amended(USAGE, id="fix-1", quantity="4")])
    assert (counts.accepted, counts.duplicates, counts.rejected) == (0, 1, 1)
    assert reasons(store) == ["conflicting_duplicate"]
    assert bills(store, "2026-10")[0].charges == 3


def test_a_correction_is_judged_against_targets_and_state_stored_by_an_earlier_process(open_store):
    first = open_store("kept.db")
    record(first, [associated(time="2026-10-01T00:00:00+08:00"), USAGE, ORDER, REFUND])
    first.close()

    second = open_store("kept.db")
    fixes = [
        voided(ORDER, id="v-1"),
        voided(REFUND, id="v-2"),
        amended(USAGE, id="a-1", quantity="1", unit_price="0.12345678"),
    ]
    counts = record(second, fixes)
    assert (counts.accepted, counts.rejected) == (2, 1)
    second.close()

    third = open_store("kept.db")  # the state cached in customer_states, read back
    record(
        third,
        [
            voided(ORDER, id="v-3"),
            order_refunded(id="r-2", order_id="o-1", amount="0.01"),
            order_paid(id="o-again", order_id="o-1"),
        ],
    )
    assert reasons(third) == ["order_has_refunds", "refund_exceeds_order", "order_already_paid"]
    [bill] = bills(third, "2026-10")
    # usage amended to 1 × 0.12345678, the order and its refund both voided
    assert (bill.list_amount, bill.settled_amount, bill.charges) == ("0.12345678", "0.12", 1 + 1 + 1 + 1 + 2 + 1)


def test_bills_counts_and_performance_count_corrections_as_charges(store):
    record(
        store,
        [
            associated("c-1", time="2026-10-01T00:00:00+08:00", data={"account_manager_id": "m-1"}),
            associated("c-2", time="2026-10-01T00:00:00+08:00"),
            USAGE,
            voided(USAGE),
            usage("c-2", id="u-9", quantity="1", unit_price="10"),
            amended(("test/source", "u-9"), customer="c-2", quantity="2", unit_price="10"),
        ],
    )
    by_customer = {bill.customer_id: bill for bill in bills(store, "2026-10")}
    assert (by_customer["c-1"].payable_amount, by_customer["c-1"].charges) == ("0.00000000", 2)
    assert (by_customer["c-2"].payable_amount, by_customer["c-2"].charges) == ("20.00000000", 3)
    tally = performance(store, "p-1", "2026-10")
    assert (tally.payable_amount, tally.settled_amount, tally.customers) == ("20.00000000", "20.00", 2)
    [manager, none] = tally.by_account_manager
    assert (manager.account_manager_id, manager.payable_amount) == ("m-1", "0.00000000")
    assert (none.account_manager_id, none.payable_amount) == (None, "20.00000000")
    # literal per-charge rules: c-1's usage had a payable amount above zero, though voided since
    assert customer_counts(store, "p-1", "2026-10").consuming_customers == 2


def test_replay_equals_the_live_views_with_corrections_and_as_of_leaves_later_ones_out(store):
    record(store, [associated(time="2026-10-01T00:00:00+08:00"), USAGE, ORDER, REFUND])
    before = period_views(store, "2026-10")
    moment = store.ledger.now()
    record(store, [amended(USAGE, quantity="5"), voided(REFUND), voided(ORDER), voided(USAGE)])
    after = period_views(store, "2026-10")
    assert after != before and after.bills[0].list_amount == "0.00000000"
    for as_of, live in ((store.ledger.now(), after), (moment, before)):
        replayed, _read = replay_period(store.ledger, view_settings(store, "2026-10"), as_of)
        assert first_difference(replayed, live) is None
        assert replayed == live


def test_views_caught_up_from_the_log_count_corrections_as_the_inline_fold_does(open_store):
    events = [associated(time="2026-10-01T00:00:00+08:00"), USAGE, ORDER, REFUND]
    events += [amended(USAGE, quantity="5"), voided(REFUND), voided(ORDER), amended(USAGE, quantity="7")]
    separate, inline = open_store("separate.db"), open_store("inline.db")
    for event in events:  # recorded with no projection, as with BILLING_PROJECTIONS=separate
        separate.ledger.record_batch([InboundLine(line(event))], None)
    assert separate.projection.catch_up(separate.ledger) == len(events)
    record(inline, events)
    assert period_views(separate, "2026-10") == period_views(inline, "2026-10")
    # usage, order, refund, 2 for an amendment, the refund's void, the order's void, 2 again
    assert bills(separate, "2026-10")[0].charges == 1 + 1 + 1 + 2 + 1 + 1 + 2
