"""Resources read from a real store's customer stream, corrections included. The
corrections are written into the stream as their recorder would store them (their
stored shapes are fixed in schemas/recorded.py), after the charges they correct."""

from __future__ import annotations

import msgspec

from commands.resources import customer_resources
from engine.instants import parse_instant
from engine.mapper import decode_event, stored_row
from schemas.recorded import ChargeFigures, ChargeRecorded, ChargeVoided, UsageAmended
from tests.builders import order_paid, usage
from tests.conftest import record


def charges_of(engine, customer_id: str) -> dict[str, ChargeRecorded]:
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        rows = recorder.rows(
            c, f"SELECT topic, state FROM {recorder.events_table} WHERE originator_id=?", (customer_id,)
        )
    events = [decode_event(topic, bytes(state)) for topic, state in rows]
    return {event.id: event for event in events if isinstance(event, ChargeRecorded)}


def append(engine, events) -> None:
    recorder = engine.ledger.recorder
    with recorder.write_transaction() as c:
        recorder.insert_events_in(c, [stored_row(event) for event in events])


def correction_fields(of: ChargeRecorded, version: int, id: str, **figures) -> dict:
    fields = {f: getattr(of, f) for f in ChargeRecorded.__struct_fields__}
    fields.update(
        originator_version=version,
        id=id,
        source="corrections",
        time="2026-12-20T00:00:00Z",
        at=parse_instant("2026-12-20T00:00:00Z"),
        fact=msgspec.Raw(b"{}"),
        event_source=of.source,
        event_id=of.id,
        reason="re-metered",
        **figures,
    )
    return fields


def reversed_figures(of: ChargeRecorded) -> dict:
    return {
        name: -getattr(of, name)
        for name in ("list_units", "discount_units", "payable_units", "settled_units", "rounding_off_units")
    }


def test_voids_and_amendments_in_the_stream_count_and_add_and_an_orders_void_does_not(store):
    record(
        store,
        [
            usage(
                "c-1",
                id="u-1",
                resource_id="i-1",
                quantity="2",
                unit_price="0.12345678",
                time="2026-10-03T08:00:00+08:00",
            ),
            usage(
                "c-1",
                id="u-2",
                resource_id="i-2",
                quantity="1",
                unit_price="1.00000000",
                time="2026-10-04T08:00:00+08:00",
                data={"product_id": "s3.large"},
            ),
            order_paid("c-1", id="o-paid", order_id="o-1", product_id="i-1", service_type="ECS", amount="50.00"),
        ],
    )
    charges = charges_of(store, "c-1")
    u1, u2, paid = charges["u-1"], charges["u-2"], charges["o-paid"]
    new_charge = {
        "list_units": 300000000,
        "discount_units": 0,
        "payable_units": 300000000,
        "settled_units": 300000000,
        "rounding_off_units": 0,
    }
    reversal = ChargeFigures(
        u2.rate_units, -u2.list_units, -u2.discount_units, -u2.payable_units, -u2.settled_units, -u2.rounding_off_units
    )
    append(
        store,
        [
            ChargeVoided(**correction_fields(u1, 4, "v-1", **reversed_figures(u1)) | {"type": "charge.voided"}),
            UsageAmended(
                **correction_fields(u2, 5, "a-1", **new_charge) | {"type": "usage.amended", "reversal": reversal}
            ),
            ChargeVoided(**correction_fields(paid, 6, "v-2", **reversed_figures(paid)) | {"type": "charge.voided"}),
        ],
    )
    listed = customer_resources(store, "c-1")
    assert [(r.resource_id, r.charges, r.payable_amount, r.settled_amount) for r in listed.resources] == [
        ("i-1", 2, "0.00000000", "0.00"),  # a fully voided resource is listed with zero amounts
        ("i-2", 3, "3.00000000", "3.00"),
    ]
    i2 = listed.resources[1]
    assert (i2.product_id, i2.first_used, i2.last_used) == ("s3.large", "2026-10-04T00:00:00Z", "2026-10-04T00:00:00Z")
    assert customer_resources(store, "c-1", "2026-10").resources == listed.resources
    assert customer_resources(store, "c-1", "2026-11").resources == []
