"""Corrections in the views' fold (CONTRACT.md §11: a void adds one charge, an
amendment two, amounts add) and in the slim readings of stored rows that replay, the
publisher and catch-up use."""

from __future__ import annotations

from engine.mapper import stored_row
from projections.changes import BILL, CUSTOMER_COUNTS, PERFORMANCE, ChangedViews, ViewKey, add_changed_views
from projections.charge_rows import CHARGE_TOPICS, add_stored_rows
from projections.fold import CHARGES, P_CHARGES, P_PAYABLE, P_POSITIVE, ViewDelta, fold
from tests.builders import amended, associated, order_paid, order_refunded, usage, voided
from tests.unit.test_corrections import Log

LINE_KEY = ("c-1", "2026-10", "ECS", "i-9")
PARTNER_KEY = ("p-1", "2026-10", "c-1", "", "")


def history(*bodies: dict) -> list:
    log = Log()
    return [log.record(body) for body in (associated(time="2026-10-01T00:00:00+08:00"), *bodies)]


def rows(events: list) -> list[tuple[int, str, bytes]]:
    return [(number, row.topic, row.state) for number, row in enumerate(map(stored_row, events), start=1)]


def test_a_void_adds_one_charge_and_takes_the_amounts_back():
    metered = usage(quantity="2", unit_price="0.12345678")
    delta = fold(history(metered, voided(metered)))
    assert delta.bill_lines[LINE_KEY] == [0, 0, 0, 0, 0, 2]
    assert delta.partner_charges[PARTNER_KEY] == [0, 0, 2, 1]  # the usage still counts as consuming


def test_an_amendment_adds_two_charges_its_reversal_and_its_new_charge():
    metered = usage(quantity="2", unit_price="1")
    delta = fold(history(metered, amended(metered, quantity="3", unit_price="1")))
    assert delta.bill_lines[LINE_KEY] == [3 * 10**8, 0, 3 * 10**8, 3 * 10**8, 0, 3]
    assert delta.partner_charges[PARTNER_KEY][P_CHARGES] == 3
    assert delta.partner_charges[PARTNER_KEY][P_POSITIVE] == 2


def test_voiding_an_amended_usage_leaves_zero_in_four_charges():
    metered = usage(quantity="2", unit_price="0.7")
    delta = fold(history(metered, amended(metered, quantity="5"), voided(metered)))
    assert delta.bill_lines[LINE_KEY] == [0, 0, 0, 0, 0, 4]
    assert delta.partner_charges[PARTNER_KEY][P_PAYABLE] == 0


def test_the_slim_reading_of_stored_rows_folds_corrections_as_the_live_fold_does():
    metered, paid = usage(quantity="2", unit_price="0.12345678"), order_paid(order_id="o-1", amount="9.99")
    refund = order_refunded(order_id="o-1", amount="1.11", time="2026-11-02T00:00:00+08:00")
    events = history(metered, paid, refund, amended(metered, quantity="7"), voided(refund), voided(metered))
    slim = ViewDelta()
    add_stored_rows(slim, rows(events))
    live = fold(events)
    assert (slim.bill_lines, slim.partner_charges, slim.bill_currencies) == (
        live.bill_lines,
        live.partner_charges,
        live.bill_currencies,
    )
    # usage, order, refund, the amendment (two), the voided refund, the voided usage
    assert sum(sums[CHARGES] for sums in live.bill_lines.values()) == 1 + 1 + 1 + 2 + 1 + 1


def test_the_slim_reading_leaves_out_corrections_recorded_after_as_of():
    metered = usage(quantity="1", unit_price="1")
    events = history(metered, amended(metered, quantity="2", unit_price="1"))
    stored = rows(events)
    recorded, next_day = b"2026-12-01T00:00:00.000000Z", b"2026-12-02T00:00:00.000000Z"
    later = [(n, topic, state.replace(recorded, next_day)) for n, topic, state in stored]
    delta = ViewDelta()
    past_as_of = add_stored_rows(delta, stored[:2] + later[2:], as_of="2026-12-01T00:00:00.000000Z")
    assert delta.bill_lines[LINE_KEY][CHARGES] == 1
    assert past_as_of, "the reader is told the rest of the log is recorded after as_of"
    assert not add_stored_rows(ViewDelta(), stored, as_of="2026-12-01T00:00:00.000000Z")


def test_a_correction_changes_its_targets_bill_and_partner_views_in_the_targets_period():
    metered = usage(time="2026-10-31T12:00:00+08:00")
    later = "2026-11-05T00:00:00+08:00"
    corrections = history(metered, amended(metered, time=later), voided(metered, time=later))[2:]
    stored = rows(corrections)
    assert [topic in CHARGE_TOPICS for _n, topic, _s in stored] == [True, True]
    changed = ChangedViews(set(), {})
    add_changed_views(changed, stored, lambda at: "2026-11")
    assert changed.keys == {
        ViewKey(BILL, "c-1", "2026-10"),
        ViewKey(CUSTOMER_COUNTS, "p-1", "2026-10"),
        ViewKey(PERFORMANCE, "p-1", "2026-10"),
    }
