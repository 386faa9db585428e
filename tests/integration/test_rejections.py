"""Rejections, duplicates and retries through the ledger on real SQLite files (CONTRACT.md §1, §3)."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from commands.ingest import retry_rejections
from commands.queries import bills
from engine.errors import REASON_CODES
from engine.judge import MAX_NESTING
from tests.builders import (
    amended,
    associated,
    disassociated,
    discount_granted,
    discount_revoked,
    line,
    order_paid,
    order_refunded,
    usage,
    voided,
)
from tests.conftest import record

FIELD_PATH = re.compile(r"^(specversion|id|source|time|type|data(\.[a-z_]+)?)(/[a-z]+)*: ")


def spaced(body: dict) -> bytes:
    """The same JSON value written differently: keys reversed, extra spaces."""

    def reorder(value):
        if isinstance(value, dict):
            return {key: reorder(value[key]) for key in reversed(list(value))}
        return value

    return json.dumps(reorder(body), indent=2, separators=(" ,  ", " :\t")).replace("\n", " ").encode()


# One example of every reason code ---------------------------------------------------

USAGE_1 = usage(id="u-1", quantity="2")
ORDER_1 = order_paid(id="o-paid-1", order_id="o-1", amount="100")

EXAMPLES = {
    "malformed_json": ([], b'{"specversion": "1.0", "id": ', None),
    "invalid_envelope": ([], line({**usage(), "specversion": "0.3"}), "specversion"),
    "unknown_type": ([], line({**usage(), "type": "usage.deleted"}), "type"),
    "conflicting_duplicate": ([USAGE_1], line(usage(id="u-1", quantity="3")), "data"),
    "invalid_data": ([], line(usage(unit_price="0.123456789")), "data.unit_price"),
    "currency_not_accepted": ([], line(usage(currency="USD")), "data.currency"),
    "already_associated": (
        [associated(partner="p-1", time="2026-10-01T00:00:00+08:00")],
        line(associated(partner="p-2", time="2026-10-05T00:00:00+08:00")),
        "",
    ),
    "not_associated": ([], line(disassociated(partner="p-1")), ""),
    "unknown_order": ([], line(order_refunded(order_id="o-404")), "data.order_id"),
    "order_already_paid": ([ORDER_1], line(order_paid(order_id="o-1", amount="5")), "data.order_id"),
    "refund_exceeds_order": ([ORDER_1], line(order_refunded(order_id="o-1", amount="100.01")), "data.amount"),
    "discount_already_granted": (
        [discount_granted(discount_id="d-1")],
        line(discount_granted(discount_id="d-1", rate="0.5")),
        "data.discount_id",
    ),
    "unknown_discount": ([], line(discount_revoked(discount_id="d-404")), "data.discount_id"),
    "unknown_event": ([], line(voided(("metering/ecs", "u-404"))), "data.event_id"),
    "already_voided": ([USAGE_1, voided(USAGE_1)], line(amended(USAGE_1)), "data.event_id"),
    "order_has_refunds": (
        [ORDER_1, order_refunded(order_id="o-1", amount="1")],
        line(voided(ORDER_1)),
        "data.event_id",
    ),
}


def test_every_reason_code_of_the_contract_has_an_example_here():
    assert set(EXAMPLES) == set(REASON_CODES)
    assert len(REASON_CODES) == 16


@pytest.mark.parametrize("reason", list(EXAMPLES))
def test_a_rejected_input_is_kept_with_its_raw_bytes_reason_and_message(store, reason):
    setup, raw, field = EXAMPLES[reason]
    assert record(store, setup).accepted == len(setup)

    counts = record(store, [raw])

    assert (counts.accepted, counts.duplicates, counts.rejected) == (0, 0, 1)
    assert store.ledger.recorder.count_events() == len(setup)
    [kept] = store.ledger.recorder.select_rejections()
    assert kept.reason == reason
    assert kept.raw == raw
    assert kept.arrived and kept.accepted is None
    if field is None:  # nothing could be read, so no field is at fault
        assert (kept.source, kept.id, kept.type) == (None, None, None)
    else:
        body = json.loads(raw)
        assert (kept.source, kept.id, kept.type) == (body["source"], body["id"], body["type"])
        assert FIELD_PATH.match(kept.message), kept.message
        assert kept.message.startswith(f"{field}"), kept.message
    assert store.ledger.recorder.select_rejections(reason=reason) == [kept]


@pytest.mark.parametrize(
    "raw",
    [line(usage()).replace(b'"i-9"', b'"i-\xff9"'), b"\xef\xbb\xbf\xfe garbage", b"[" * 100_000],
    ids=["not-utf-8", "garbage", "deep"],
)
def test_a_line_that_is_not_json_is_kept_byte_for_byte(store, raw):
    assert record(store, [raw]).rejected == 1
    [kept] = store.ledger.recorder.select_rejections()
    assert (kept.reason, kept.raw) == ("malformed_json", raw)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (usage(currency="USD", unit_price="NaN"), "invalid_data"),
        (order_refunded(order_id="o-404", currency="USD"), "currency_not_accepted"),
        (order_refunded(order_id="o-404", amount="0"), "invalid_data"),
        (usage(id="u-1", quantity="2.0", currency="USD"), "conflicting_duplicate"),
        (disassociated(partner="p-1", data={"reason": "r" * 257}), "invalid_data"),
    ],
)
def test_the_ledger_gives_the_first_reason_in_the_contracts_order(store, body, reason):
    record(store, [usage(id="u-1", quantity="2")])
    assert record(store, [body]).rejected == 1
    assert [row.reason for row in store.ledger.recorder.select_rejections()] == [reason]


def test_rejections_are_listed_in_arrival_order_and_the_rest_of_a_batch_is_recorded(store):
    counts = record(
        store,
        [
            usage(id="a"),
            b"not json",
            usage(id="b", currency="USD"),
            usage(id="c"),
            line({**usage(id="d"), "type": "usage.deleted"}),
        ],
    )
    record(store, [order_refunded(id="e", order_id="o-404")])
    assert (counts.accepted, counts.rejected) == (2, 3)
    assert store.ledger.recorder.count_events() == 2
    kept = store.ledger.recorder.select_rejections()
    assert [row.reason for row in kept] == [
        "malformed_json",
        "currency_not_accepted",
        "unknown_type",
        "unknown_order",
    ]
    assert [row.seq for row in kept] == sorted(row.seq for row in kept)
    assert kept[0].arrived <= kept[-1].arrived


def test_a_rejection_recorded_in_a_file_survives_reopening_the_store(open_store):
    engine = open_store("kept.db")
    record(engine, [usage(unit_price="-1")])
    engine.close()
    [kept] = open_store("kept.db").ledger.recorder.select_rejections()
    assert kept.reason == "invalid_data"
    assert kept.message.startswith("data.unit_price: ")


# A rejected event takes no (source, id) ----------------------------------------------


def test_a_rejected_event_corrected_and_sent_again_is_accepted(store):
    record(store, [usage(id="u-7", unit_price="0.123456789")])
    counts = record(store, [usage(id="u-7", unit_price="0.12345678")])
    assert (counts.accepted, counts.duplicates, counts.rejected) == (1, 0, 0)
    [bill] = bills(store, "2026-10")
    assert bill.list_amount == "0.24691356"


def test_an_event_rejected_by_a_business_rule_takes_no_pair_either(store):
    refund = order_refunded(id="r-1", order_id="o-1", amount="10")
    assert record(store, [refund]).rejected == 1
    record(store, [order_paid(order_id="o-1", amount="100")])
    counts = record(store, [refund])
    assert (counts.accepted, counts.duplicates) == (1, 0)


def test_a_rejected_event_corrected_within_the_same_batch_is_accepted(store):
    counts = record(store, [usage(id="u-7", currency="USD"), usage(id="u-7")])
    assert (counts.accepted, counts.duplicates, counts.rejected) == (1, 0, 1)


def test_the_same_id_from_another_source_is_another_event(store):
    counts = record(store, [usage(id="u-1", source="metering/ecs"), usage(id="u-1", source="metering/rds")])
    assert (counts.accepted, counts.duplicates) == (2, 0)


# Duplicates --------------------------------------------------------------------------


def test_the_same_event_written_differently_is_a_duplicate_counted_and_not_stored_again(store):
    original = usage(id="u-1", time="2026-10-03T08:00:00+08:00")
    again = {**original, "time": "2026-10-03T00:00:00.000Z", "subject": "ignored attribute"}
    assert spaced(again) != line(original)
    record(store, [original])
    before = bills(store, "2026-10")

    counts = record(store, [spaced(again)])

    assert (counts.accepted, counts.duplicates, counts.rejected) == (0, 1, 0)
    assert store.ledger.recorder.count_events() == 1
    assert store.ledger.recorder.select_rejections() == []
    assert bills(store, "2026-10") == before


def test_a_duplicate_within_one_batch_is_counted_once(store):
    counts = record(store, [usage(id="u-1"), usage(id="u-1")])
    assert (counts.accepted, counts.duplicates) == (1, 1)
    assert bills(store, "2026-10")[0].charges == 1


def test_a_duplicate_is_caught_however_old_even_after_reopening_the_store(open_store):
    engine = open_store("old.db")
    record(engine, [usage(id="u-1")])
    for _ in range(3):
        record(engine, [usage(id=f"filler-{_}")])
    engine.close()
    reopened = open_store("old.db")
    counts = record(reopened, [usage(id="u-1")])
    assert (counts.accepted, counts.duplicates) == (0, 1)
    assert bills(reopened, "2026-10")[0].charges == 4


def test_a_duplicate_of_an_event_with_deeply_nested_unknown_data_is_still_a_duplicate(store):
    nested = json.dumps(usage(id="u-deep")).replace(
        '"unit": "hour"', '"unit": "hour", "x": ' + "[" * (MAX_NESTING - 2) + "]" * (MAX_NESTING - 2)
    )
    assert record(store, [nested.encode()]).accepted == 1
    counts = record(store, [nested.encode()])
    assert (counts.accepted, counts.duplicates, counts.rejected) == (0, 1, 0)


def test_a_duplicate_association_is_a_duplicate_not_a_second_association(store):
    body = associated(id="a-1")
    record(store, [body])
    counts = record(store, [body])
    assert (counts.duplicates, counts.rejected) == (1, 0)


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        (
            usage(id="u-1", quantity="2.0"),
            'data.quantity: event u-1 from test/source was already recorded with "2", this one has "2.0"',
        ),  # "2" and "2.0" differ as JSON strings
        (
            usage(id="u-1", quantity="2", resource_id="i-10"),
            'data.resource_id: event u-1 from test/source was already recorded with "i-9", this one has "i-10"',
        ),
        (
            usage(id="u-1", quantity="2", data={"region": "cn-north"}),
            'data.region: event u-1 from test/source was already recorded with nothing, this one has "cn-north"',
        ),
        (usage(id="u-1", quantity="2", time="2026-10-03T08:00:00.001+08:00"), "time"),
        (usage(id="u-1", quantity="2", time="2026-10-03T08:00:00Z"), "time"),
        (
            {**usage(id="u-1", quantity="2"), "type": "order.paid"},
            'type: event u-1 from test/source was already recorded with "usage.recorded", this one has "order.paid"',
        ),
    ],
)
def test_the_same_pair_with_anything_different_is_a_conflicting_duplicate(store, changed, field):
    record(store, [usage(id="u-1", quantity="2")])
    counts = record(store, [changed])
    assert counts.rejected == 1
    [kept] = store.ledger.recorder.select_rejections()
    assert kept.reason == "conflicting_duplicate"
    assert kept.message.startswith(field)
    assert bills(store, "2026-10")[0].list_amount == "0.24691356"


def test_a_conflicting_duplicate_is_reported_before_bad_data(store):
    record(store, [usage(id="u-1")])
    record(store, [usage(id="u-1", unit_price="NaN")])
    assert [row.reason for row in store.ledger.recorder.select_rejections()] == ["conflicting_duplicate"]


def test_a_conflicting_duplicate_leaves_the_original_and_the_original_stays_a_duplicate(store):
    record(store, [usage(id="u-1", quantity="2")])
    record(store, [usage(id="u-1", quantity="2.0")])
    counts = record(store, [usage(id="u-1", quantity="2")])
    assert (counts.duplicates, counts.rejected) == (1, 0)


def test_duplicates_are_caught_across_separate_batches_of_one_ingest(store):
    events = [usage(id=f"u-{n}") for n in range(6)]
    counts = record(store, events + events[::-1], batch_size=4)
    assert (counts.accepted, counts.duplicates, counts.rejected) == (6, 6, 0)


# rejected --retry --------------------------------------------------------------------


def test_a_refund_of_an_unknown_order_is_accepted_on_retry_once_the_order_arrived(store):
    record(store, [order_refunded(id="r-1", order_id="o-1", amount="10", time="2026-11-03T08:00:00+08:00")])
    [pending] = store.ledger.recorder.select_rejections()
    assert pending.reason == "unknown_order" and pending.accepted is None
    record(store, [order_paid(order_id="o-1", amount="100", time="2026-10-05T08:00:00+08:00")])

    counts = retry_rejections(store)

    assert (counts.accepted, counts.duplicates, counts.rejected) == (1, 0, 0)
    [kept] = store.ledger.recorder.select_rejections()
    assert kept.seq == pending.seq and kept.raw == pending.raw
    assert kept.accepted is not None and kept.accepted >= kept.arrived
    assert store.ledger.recorder.select_rejections(pending_only=True) == []
    [november] = bills(store, "2026-11")
    assert november.list_amount == "-10.00000000"
    assert [(line.service_type, line.item_id) for line in november.lines] == [("OBS", "pkg-1")]


def test_a_retry_that_still_fails_keeps_the_rejection_pending(store):
    record(store, [order_refunded(order_id="o-1"), usage(currency="USD")])
    counts = retry_rejections(store)
    assert (counts.accepted, counts.rejected) == (0, 2)
    kept = store.ledger.recorder.select_rejections()
    assert [(row.reason, row.accepted) for row in kept] == [("unknown_order", None), ("currency_not_accepted", None)]


def test_a_retry_after_everything_was_accepted_does_nothing(store):
    record(store, [order_refunded(order_id="o-1")])
    record(store, [order_paid(order_id="o-1")])
    retry_rejections(store)
    counts = retry_rejections(store)
    assert (counts.accepted, counts.duplicates, counts.rejected) == (0, 0, 0)
    assert bills(store, "2026-10")[0].charges == 2


def test_a_retry_judges_kept_rejections_in_arrival_order_after_a_setting_was_fixed(open_store, tmp_path):
    misconfigured = open_store("fix.db", currency="USD")
    record(
        misconfigured,
        [
            order_paid(order_id="o-1", amount="100", time="2026-10-05T08:00:00+08:00"),
            order_refunded(order_id="o-1", amount="40", time="2026-10-06T08:00:00+08:00"),
        ],
    )
    assert [row.reason for row in misconfigured.ledger.recorder.select_rejections()] == [
        "currency_not_accepted",
        "currency_not_accepted",
    ]
    misconfigured.close()
    # A store is bound to its currency (CONTRACT.md §5): only one made before the
    # binding existed takes another at its next write, as here.
    with sqlite3.connect(tmp_path / "fix.db") as connection:
        connection.execute("DROP TABLE store_settings")

    fixed = open_store("fix.db", currency="CNY")
    counts = retry_rejections(fixed)

    # the refund can only be accepted if the order, which arrived first, is judged first
    assert (counts.accepted, counts.rejected) == (2, 0)
    [bill] = bills(fixed, "2026-10")
    assert (bill.list_amount, bill.charges) == ("60.00000000", 2)


def test_a_kept_rejection_whose_event_was_since_sent_again_is_not_charged_twice(store):
    refund = order_refunded(id="r-1", order_id="o-1", amount="10")
    record(store, [refund])
    record(store, [order_paid(order_id="o-1", amount="100"), refund])
    counts = retry_rejections(store)
    assert (counts.accepted, counts.duplicates, counts.rejected) == (0, 1, 0)
    assert bills(store, "2026-10")[0].list_amount == "90.00000000"
