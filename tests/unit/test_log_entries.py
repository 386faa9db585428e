"""Log entries (CONTRACT.md §11): their rendering, their canonical JSON and hash, and
the recorders' fast hash that must give the very same bytes."""

from __future__ import annotations

import hashlib
import json

import msgspec
import pytest
from eventsourcing.utils import get_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.log_entries import (
    ZERO_HASH,
    chain_hash,
    chain_hashes,
    chain_hashes_from_parts,
    entry_hash,
    entry_parts,
    render_event,
    render_stored,
)
from engine.mapper import stored_row
from schemas.engine_events import EngineEvent
from schemas.recorded import (
    ChargeFigures,
    ChargeRecorded,
    ChargeVoided,
    CustomerAssociated,
    DiscountRevoked,
    UsageAmended,
)


class AuditNoted(EngineEvent, kw_only=True):
    """A test's engine event."""

    LOG_TYPE = "audit.noted"
    note: str
    amounts: dict[str, str] = {}  # noqa: RUF012 (msgspec copies a default per instance)


def reference_hash(entry_dict: dict) -> str:
    """The contract's definition, in plain Python: what an auditor computes."""
    body = {key: value for key, value in entry_dict.items() if key != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def charge(**overrides) -> ChargeRecorded:
    fields = dict(
        originator_id="c-1",
        originator_version=3,
        customer_id="c-1",
        source="metering/ecs",
        id="u-1",
        time="2026-10-03T08:00:00+08:00",
        at="063879736791",
        recorded_at="2026-11-30T07:49:44.408229Z",
        fact=msgspec.Raw(b'{"specversion":"1.0","id":"u-1"}'),
        type="usage.recorded",
        period="2026-10",
        service_type="ECS",
        item_id="i-9",
        order_id=None,
        currency="CNY",
        rate_units=85_000_000,
        list_units=24_691_356,
        discount_units=3_703_703,
        payable_units=20_987_653,
        settled_units=20_000_000,
        rounding_off_units=987_653,
        partner_id="p-1",
        account_manager_id=None,
        indirect_partner_id="r-1",
    )
    fields.update(overrides)
    cls = fields.pop("cls", ChargeRecorded)
    return cls(**fields)


def test_a_charge_entry_has_the_contract_fields_in_order_and_its_figures_as_view_strings():
    entry = render_event(7, charge(), ZERO_HASH)
    printed = msgspec.to_builtins(entry)
    assert list(printed) == [
        "position",
        "recorded_at",
        "type",
        "source",
        "id",
        "customer_id",
        "time",
        "fact",
        "decision",
        "prev_hash",
    ]  # hash is added once computed
    assert printed["fact"] == '{"specversion":"1.0","id":"u-1"}'
    assert printed["decision"] == {
        "period": "2026-10",
        "partner_id": "p-1",
        "account_manager_id": None,
        "indirect_partner_id": "r-1",
        "rate": "0.85000000",
        "list_amount": "0.24691356",
        "discount_amount": "0.03703703",
        "payable_amount": "0.20987653",
        "settled_amount": "0.20",
        "rounding_off_amount": "0.00987653",
    }


@pytest.mark.parametrize(("currency", "settled"), [("JPY", "12"), ("USD", "12.34"), ("BHD", "12.345")])
def test_the_settled_amount_has_the_currency_minor_digits(currency, settled):
    units = int(settled.replace(".", "")) * 10 ** (8 - len(settled.partition(".")[2]))
    entry = render_event(1, charge(currency=currency, settled_units=units), ZERO_HASH)
    assert entry.decision.settled_amount == settled


def test_an_amendment_decision_is_the_new_charge_with_the_reversal_of_the_same_keys():
    amended = charge(
        cls=UsageAmended,
        type="usage.amended",
        event_source="metering/ecs",
        event_id="u-0",
        reason="meter fix",
        reversal=ChargeFigures(85_000_000, -24_691_356, -3_703_703, -20_987_653, -20_000_000, -987_653),
    )
    decision = msgspec.to_builtins(render_event(1, amended, ZERO_HASH).decision)
    reversal = decision.pop("reversal")
    assert list(reversal) == list(decision)
    assert reversal["list_amount"] == "-0.24691356" and reversal["settled_amount"] == "-0.20"
    assert reversal["period"] == decision["period"] and reversal["partner_id"] == decision["partner_id"]
    assert render_event(1, amended, ZERO_HASH).type == "usage.amended"


def test_a_void_decision_is_its_reversal_and_has_no_reversal_key():
    voided = charge(
        cls=ChargeVoided,
        type="charge.voided",
        event_source="s",
        event_id="u-0",
        reason="r",
        list_units=-24_691_356,
        payable_units=-20_987_653,
        settled_units=-20_000_000,
        discount_units=-3_703_703,
        rounding_off_units=-987_653,
    )
    decision = msgspec.to_builtins(render_event(1, voided, ZERO_HASH).decision)
    assert "reversal" not in decision
    assert decision["payable_amount"] == "-0.20987653"


def test_a_fact_without_a_charge_has_a_null_decision_and_its_log_type():
    associated = CustomerAssociated(
        originator_id="c-1",
        originator_version=1,
        customer_id="c-1",
        source="crm",
        id="a-1",
        time="2026-09-01T00:00:00Z",
        at="0",
        recorded_at="2026-11-30T00:00:00.000000Z",
        fact=msgspec.Raw(b"{}"),
        partner_id="p-1",
        customer_type="enterprise",
        channel="qr_code",
    )
    entry = render_event(1, associated, ZERO_HASH)
    assert (entry.type, entry.decision, entry.customer_id) == ("customer.associated", None, "c-1")


def test_an_engine_event_entry_is_sourced_billing_at_its_recorded_time_with_its_canonical_json():
    event = AuditNoted(
        originator_id="audits",
        originator_version=1,
        id="n-1",
        recorded_at="2026-11-30T01:02:03.000004Z",
        note="é",
        amounts={"b": "2", "a": "1"},
    )
    entry = render_stored(4, get_topic(AuditNoted), msgspec.json.encode(event), ZERO_HASH)
    assert (entry.type, entry.source, entry.id, entry.customer_id) == ("audit.noted", "billing", "n-1", None)
    assert entry.time == entry.recorded_at == "2026-11-30T01:02:03.000004Z"
    assert entry.decision is None
    assert entry.fact == (
        '{"amounts":{"a":"1","b":"2"},"id":"n-1","note":"é","originator_id":"audits",'
        '"originator_version":1,"recorded_at":"2026-11-30T01:02:03.000004Z"}'
    )
    assert entry_hash(entry) == reference_hash(msgspec.to_builtins(entry))


def test_an_engine_event_entry_keeps_its_fields_as_stored_when_the_type_gains_one():
    stored = b'{"originator_id":"audits","originator_version":1,"id":"n-1","recorded_at":"t","note":"x"}'
    entry = render_stored(1, get_topic(AuditNoted), stored, ZERO_HASH)
    assert "amounts" not in entry.fact  # a default the stored event never had is not made up


def test_the_fact_is_the_line_as_stored_without_surrounding_whitespace():
    event = charge(fact=msgspec.Raw(b' \t{"id": "u-1",\t"x": "\\u00e9 \xc3\xa9"} \t'))
    row = stored_row(event)
    from_store = render_stored(1, row.topic, row.state, ZERO_HASH)
    assert from_store.fact == '{"id": "u-1",\t"x": "\\u00e9 é"}'
    assert render_event(1, event, ZERO_HASH) == from_store


# --- the fast hash gives the contract's bytes -------------------------------------------

texts = st.text(min_size=1, max_size=12)
ids = st.none() | texts
units = st.integers(min_value=-(10**23), max_value=10**23)
facts = st.builds(
    lambda pad, body: msgspec.Raw(pad.encode() + msgspec.json.encode(body) + pad[::-1].encode()),
    st.sampled_from(["", " ", "\t ", "\r\n "]),
    st.dictionaries(texts, texts | st.integers(), max_size=3),
)


@st.composite
def charges(draw):
    currency = draw(st.sampled_from(["CNY", "JPY", "BHD", "USD"]))
    step = {"CNY": 10**6, "USD": 10**6, "JPY": 10**8, "BHD": 10**5}[currency]
    settled = draw(units) // step * step
    return charge(
        customer_id=draw(texts),
        source=draw(texts),
        id=draw(texts),
        time=draw(texts),
        fact=draw(facts),
        recorded_at=draw(texts),
        type=draw(st.sampled_from(["usage.recorded", "order.paid", "order.refunded"])),
        period=draw(texts),
        currency=currency,
        rate_units=draw(units),
        list_units=draw(units),
        discount_units=draw(units),
        payable_units=draw(units),
        settled_units=settled,
        rounding_off_units=draw(units),
        partner_id=draw(ids),
        account_manager_id=draw(ids),
        indirect_partner_id=draw(ids),
    )


@settings(max_examples=300)
@given(event=charges(), position=st.integers(min_value=1, max_value=10**12))
def test_the_fast_hash_of_a_charge_is_the_contract_hash_of_its_entry(event, position):
    prev = hashlib.sha256(str(position).encode()).hexdigest()
    entry = render_event(position, event, prev)
    assert chain_hash(position, event, prev.encode()).decode() == reference_hash(msgspec.to_builtins(entry))


@given(fact=facts, source=texts, id_=texts, customer=texts)
def test_the_fast_hash_of_a_fact_without_charge_is_the_contract_hash_of_its_entry(fact, source, id_, customer):
    event = DiscountRevoked(
        originator_id=customer,
        originator_version=1,
        customer_id=customer,
        source=source,
        id=id_,
        time="2026-10-01T00:00:00Z",
        at="0",
        recorded_at="r",
        fact=fact,
        discount_id="d-1",
    )
    entry = render_event(9, event, ZERO_HASH)
    assert chain_hash(9, event, ZERO_HASH.encode()).decode() == reference_hash(msgspec.to_builtins(entry))


@settings(max_examples=50)
@given(events=st.lists(charges(), min_size=1, max_size=8))
def test_hashing_stored_rows_or_event_objects_makes_the_same_chain(events):
    rows = [stored_row(event) for event in events]
    from_objects = chain_hashes(5, ZERO_HASH.encode(), rows, events)
    assert from_objects == chain_hashes(5, ZERO_HASH.encode(), rows)
    prev = ZERO_HASH
    for offset, (row, hashed) in enumerate(zip(rows, from_objects, strict=True), start=6):
        entry = render_stored(offset, row.topic, row.state, prev)
        assert entry.prev_hash == prev
        prev = reference_hash(msgspec.to_builtins(entry))
        assert hashed.decode() == prev


# A fact may carry the very text that marks an entry's place in the chain.
_PLACE_LOOKALIKE = msgspec.Raw(b'{"a":1,"position":0,"prev_hash":"' + b"0" * 64 + b'","x":",\\"position\\":0"}')


@settings(max_examples=300)
@given(
    events=st.lists(charges() | st.builds(lambda c: msgspec.structs.replace(c, fact=_PLACE_LOOKALIKE), charges())),
    position=st.integers(min_value=0, max_value=10**12),
)
def test_entries_rendered_before_their_place_is_known_hash_as_the_chain_does(events, position):
    """A writer renders its entries before it holds the store's lock and fills in the
    position and previous hash under it (engine/log_entries.py, `entry_parts`)."""
    rows = [stored_row(event) for event in events]
    prev = hashlib.sha256(str(position).encode()).hexdigest().encode()
    parts = [entry_parts(event) for event in events]
    assert chain_hashes_from_parts(position, prev, parts) == chain_hashes(position, prev, rows, events)
