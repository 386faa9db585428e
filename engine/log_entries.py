"""The log's entries (CONTRACT.md §11): how each recorded event is rendered and hashed.

One rendering serves the whole chain: the recorders hash with it when they store
events, `billing log` prints it and `billing verify` recomputes it. An entry is
rendered from what the store holds (the event's topic and stored state), so editing
a stored row changes its entry and breaks its hash.

    hash = hex SHA-256 of the canonical JSON of the entry without `hash`

where canonical JSON is replay's digest form (keys sorted, no spaces, UTF-8, no ASCII
escaping): `json.dumps(entry, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`. msgspec's sorted encoder writes exactly those bytes (tested).

`chain_hash` is the recorders' hot path: the same bytes built with one %-format per
entry from the event objects in memory (no decode, no intermediate Structs); it falls
back to the Struct rendering for anything unusual (negative amounts, corrections).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from typing import Any

import msgspec
from eventsourcing.utils import resolve_topic
from msgspec import UNSET, Struct, UnsetType

from engine.currencies import MINOR_UNITS
from engine.money import SCALE, SCALE_DIGITS, format_units
from schemas.engine_events import ENGINE_SOURCE, EngineEvent
from schemas.recorded import ChargeRecorded, RecordedEvent, UsageAmended

ZERO_HASH = "0" * 64  # the hash before the first entry
_JSON_WHITESPACE = b" \t\r\n"


class ChargeDecision(Struct):
    """A charge's recorded figures as a log entry's `decision` (amounts as §4 strings)."""

    period: str
    partner_id: str | None
    account_manager_id: str | None
    indirect_partner_id: str | None
    rate: str
    list_amount: str
    discount_amount: str
    payable_amount: str
    settled_amount: str
    rounding_off_amount: str
    # An amendment's reversal of the usage's standing charge (absent otherwise).
    reversal: ChargeDecision | UnsetType = UNSET


class LogEntry(Struct, omit_defaults=True):
    """One entry of the log as `billing log` prints it (CONTRACT.md §11)."""

    position: int
    recorded_at: str
    type: str
    source: str
    id: str
    customer_id: str | None
    time: str
    fact: str
    decision: ChargeDecision | None
    prev_hash: str
    hash: str = ""  # left out of the JSON while it is being computed


class LogHead(Struct):
    """The log's last entry (`billing log --head`; a statement's `log_head`)."""

    position: int
    hash: str


_CANONICAL = msgspec.json.Encoder(order="sorted")


def canonical_json(value: object) -> bytes:
    """Replay's canonical JSON of a value: keys sorted, no spaces, UTF-8."""
    return _CANONICAL.encode(value)


def entry_hash(entry: LogEntry) -> str:
    """The hash an entry must carry: of its canonical JSON without `hash`."""
    if entry.hash:
        entry = msgspec.structs.replace(entry, hash="")
    return hashlib.sha256(_CANONICAL.encode(entry)).hexdigest()


# --- rendering from the store ---------------------------------------------------------


@cache
def _stored_type(topic: str) -> type:
    cls = resolve_topic(topic)
    if not (isinstance(cls, type) and issubclass(cls, (RecordedEvent, EngineEvent))):
        raise ValueError(f"topic {topic!r} is not a recorded event type")
    return cls


@cache
def _decoder(cls: type) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(cls)


def render_stored(position: int, topic: str, state: bytes, prev_hash: str) -> LogEntry:
    """The entry of a stored event, rendered from its topic and stored state (raises
    `ValueError` or `msgspec.DecodeError` for a state that is not a recorded event)."""
    cls = _stored_type(topic)
    if issubclass(cls, EngineEvent):
        return _engine_entry(position, cls, state, prev_hash)
    return render_event(position, _decoder(cls).decode(state), prev_hash)


def _engine_entry(position: int, cls: type, state: bytes, prev_hash: str) -> LogEntry:
    # Read as plain JSON, not as its Struct: a field added to the type later (with a
    # default) must not change the entries of events stored before it existed.
    content = msgspec.json.decode(state)
    if not isinstance(content, dict):
        raise ValueError("an engine event's state is not a JSON object")
    recorded_at = content.get("recorded_at")
    return LogEntry(
        position=position,
        recorded_at=recorded_at,
        type=cls.LOG_TYPE,
        source=ENGINE_SOURCE,
        id=content.get("id"),
        customer_id=None,
        time=recorded_at,
        fact=_CANONICAL.encode(content).decode(),
        decision=None,
        prev_hash=prev_hash,
    )


def render_event(position: int, event: RecordedEvent, prev_hash: str) -> LogEntry:
    """The entry of a recorded inbound fact (as decoded from the store)."""
    is_charge = isinstance(event, ChargeRecorded)
    return LogEntry(
        position=position,
        recorded_at=event.recorded_at,
        type=event.type if is_charge else type(event).LOG_TYPE,
        source=event.source,
        id=event.id,
        customer_id=event.customer_id,
        time=event.time,
        fact=fact_text(event),
        decision=charge_decision(event) if is_charge else None,
        prev_hash=prev_hash,
    )


def fact_text(event: RecordedEvent) -> str:
    """The inbound line as the store holds it: the store keeps the JSON value, so
    whitespace around it is not kept (the line's bytes are otherwise verbatim)."""
    return bytes(event.fact).strip(_JSON_WHITESPACE).decode("utf-8")


def charge_decision(charge: ChargeRecorded) -> ChargeDecision:
    """A charge's `decision`; an amendment's adds the reversal's figures (same period
    and attribution); a void's charge fields already hold its reversal."""
    minor_digits = MINOR_UNITS[charge.currency]
    decision = _figures(charge, charge, minor_digits)
    if isinstance(charge, UsageAmended):
        decision.reversal = _figures(charge, charge.reversal, minor_digits)
    return decision


def _figures(charge: ChargeRecorded, figures, minor_digits: int) -> ChargeDecision:
    return ChargeDecision(
        period=charge.period,
        partner_id=charge.partner_id,
        account_manager_id=charge.account_manager_id,
        indirect_partner_id=charge.indirect_partner_id,
        rate=format_units(figures.rate_units),
        list_amount=format_units(figures.list_units),
        discount_amount=format_units(figures.discount_units),
        payable_amount=format_units(figures.payable_units),
        settled_amount=format_units(figures.settled_units, minor_digits),
        rounding_off_amount=format_units(figures.rounding_off_units),
    )


def recorded_at_of(topic: str, state: bytes) -> str:
    """When a stored event was recorded."""
    return _decoder(_stored_type(topic)).decode(state).recorded_at


# --- the recorders' hot path ----------------------------------------------------------
#
# Every entry's bytes are built with one %-format from locals: the repeated strings
# (customer ids, sources, types, periods, a batch's recorded time) are JSON text looked
# up in a dict (a hit runs no Python code), the figures split with `//` and `%` (no
# divmod tuples), a negative figure found with one `|` of them all. Measured on the
# benchmark's charges: 2.5-2.8 µs a body against 3.5-6.1 µs with a call per field.

_encode = msgspec.json.encode
_sha256 = hashlib.sha256
_TEXTS_LIMIT = 1 << 16


class _JsonTexts(dict):
    """Strings (or None) as JSON text, remembered up to `_TEXTS_LIMIT` of them."""

    def __missing__(self, value: str | None) -> bytes:
        if len(self) >= _TEXTS_LIMIT:
            self.clear()
        encoded = self[value] = _encode(value)
        return encoded


_TEXTS = _JsonTexts()

_ENTRY = (
    b'{"customer_id":%b,"decision":%b,"fact":%b,"id":%b,"position":%d,"prev_hash":"%b",'
    b'"recorded_at":%b,"source":%b,"time":%b,"type":%b}'
)
# A charge's entry with its decision written in place (keys in sorted order); the
# settled amount's format depends on the currency's minor digits.
_CHARGE_ENTRY = (
    b'{"customer_id":%b,"decision":{"account_manager_id":%b,"discount_amount":"%d.%08d",'
    b'"indirect_partner_id":%b,"list_amount":"%d.%08d","partner_id":%b,"payable_amount":"%d.%08d",'
    b'"period":%b,"rate":"%d.%08d","rounding_off_amount":"%d.%08d","settled_amount":"SETTLED"},'
    b'"fact":%b,"id":%b,"position":%d,"prev_hash":"%b","recorded_at":%b,"source":%b,"time":%b,"type":%b}'
)


class _ChargeFormats(dict):
    """By currency: its charge entry template, its minor unit in 10⁻⁸ (the settled
    amount is a whole number of them) and whether it has no decimals (`KeyError`
    for a currency without a minor unit)."""

    def __missing__(self, currency: str) -> tuple[bytes, int, bool]:
        minor_digits = MINOR_UNITS[currency]
        settled = b"%d" if minor_digits == 0 else b"%%d.%%0%dd" % minor_digits
        formats = _CHARGE_ENTRY.replace(b"SETTLED", settled), 10 ** (SCALE_DIGITS - minor_digits), minor_digits == 0
        self[currency] = formats
        return formats


_CHARGE_FORMATS = _ChargeFormats()


class _StateReaders(dict):
    """By stored topic: the decoder of its inbound fact's state, None for the engine's
    own events (`ValueError` for a topic that is not a recorded event type)."""

    def __missing__(self, topic: str):
        cls = _stored_type(topic)
        reader = self[topic] = None if issubclass(cls, EngineEvent) else _decoder(cls).decode
        return reader


_STATE_READERS = _StateReaders()


def chain_hashes(
    position: int, prev_hash: bytes, rows: Sequence[Sequence], events: Sequence | None = None
) -> list[bytes]:
    """The hashes (hex, as ASCII bytes) of the entries of stored rows (sequences
    ending with topic and state) that follow the entry at `position` whose hash is
    `prev_hash`. `events`, when given, are the rows' event objects (sparing the
    decode of inbound facts)."""
    hashes: list[bytes] = []
    append, readers = hashes.append, _STATE_READERS
    for index, row in enumerate(rows):
        position += 1
        event = events[index] if events is not None else None
        if not isinstance(event, RecordedEvent):
            read = readers[row[-2]]
            if read is None:  # the engine's own events: few
                entry = _engine_entry(position, _stored_type(row[-2]), row[-1], prev_hash.decode())
                prev_hash = entry_hash(entry).encode()
                append(prev_hash)
                continue
            event = read(row[-1])
        prev_hash = chain_hash(position, event, prev_hash)
        append(prev_hash)
    return hashes


def chain_hash(position: int, event: RecordedEvent, prev_hash: bytes) -> bytes:
    """`entry_hash(render_event(position, event, prev_hash))` as ASCII bytes, fast."""
    return _sha256(entry_body(position, event, prev_hash)).hexdigest().encode()


def entry_body(position: int, event: RecordedEvent, prev_hash: bytes) -> bytes:
    """The canonical JSON an inbound fact's entry is hashed from (without `hash`)."""
    fact = _encode(bytes(event.fact).strip(_JSON_WHITESPACE).decode("utf-8"))
    event_type = type(event)
    if event_type is ChargeRecorded:
        body = _charge_body(position, event, prev_hash, fact)
        if body is not None:
            return body
    elif not issubclass(event_type, ChargeRecorded):
        texts = _TEXTS
        return _ENTRY % (
            texts[event.customer_id], b"null", fact, _encode(event.id), position, prev_hash,
            texts[event.recorded_at], texts[event.source], _encode(event.time), texts[event_type.LOG_TYPE],
        )  # fmt: skip
    # Refunds and corrections: rare, rendered as Structs.
    return _CANONICAL.encode(render_event(position, event, prev_hash.decode()))


# --- entries rendered before their place in the chain is known ------------------------
#
# A writer sharing the store's lock renders its entries before it holds the lock and
# fills in, once it does, only what the lock decides: each entry's position and the
# previous entry's hash, which sit together (keys are sorted). Every value that carries
# outside text (the fact included) is a JSON string, whose quotes are escaped, so
# `,"position":` occurs in an entry once: at its own position.

_PLACE = b',"position":%d,"prev_hash":"%b'
_PLACEHOLDER_HASH = b"0" * 64


_PLACE_ZERO = _PLACE % (0, _PLACEHOLDER_HASH)


def entry_split(event: RecordedEvent) -> tuple[bytes, bytes]:
    """An entry's canonical JSON before its position and after its previous hash:
    plain bytes, so another process can render them (`commands.ahead`)."""
    body = entry_body(0, event, _PLACEHOLDER_HASH)
    start = body.rindex(_PLACE_ZERO)
    return body[:start], body[start + len(_PLACE_ZERO) :]


def entry_parts(event: RecordedEvent) -> tuple[Any, bytes]:
    """An entry hashed as far as its position (a sha256 object that has read what
    comes before it: most of the entry) and its canonical JSON after its previous hash."""
    before, after = entry_split(event)
    return _sha256(before), after


def parts_from_split(split: Sequence[tuple[bytes, bytes]]) -> list[tuple[Any, bytes]]:
    """`entry_parts` of entries rendered elsewhere by `entry_split`."""
    sha256 = _sha256
    return [(sha256(before), after) for before, after in split]


def chain_hashes_from_parts(position: int, prev_hash: bytes, parts: Sequence[tuple[Any, bytes]]) -> list[bytes]:
    """`chain_hashes` of entries prepared ahead by `entry_parts`: the same hashes."""
    hashes: list[bytes] = []
    append, place = hashes.append, _PLACE
    for hashed_before, after in parts:
        position += 1
        digest = hashed_before.copy()
        digest.update(place % (position, prev_hash) + after)
        prev_hash = digest.hexdigest().encode()
        append(prev_hash)
    return hashes


def _charge_body(position: int, charge: ChargeRecorded, prev_hash: bytes, fact: bytes) -> bytes | None:
    """A charge's canonical entry, or None when a figure is negative (a refund), the
    currency unknown or the settled amount not in minor units: then the slow path."""
    try:
        template, step, whole_only = _CHARGE_FORMATS[charge.currency]
    except KeyError:
        return None
    list_, discount, payable = charge.list_units, charge.discount_units, charge.payable_units
    rate, rounding_off, settled = charge.rate_units, charge.rounding_off_units, charge.settled_units
    if (list_ | discount | payable | rate | rounding_off | settled) < 0 or settled % step:
        return None
    texts, scale = _TEXTS, SCALE
    settled_figures = (settled // scale,) if whole_only else (settled // scale, settled % scale // step)
    return template % (
        texts[charge.customer_id], texts[charge.account_manager_id], discount // scale, discount % scale,
        texts[charge.indirect_partner_id], list_ // scale, list_ % scale, texts[charge.partner_id],
        payable // scale, payable % scale, texts[charge.period], rate // scale, rate % scale,
        rounding_off // scale, rounding_off % scale, *settled_figures, fact, _encode(charge.id), position,
        prev_hash, texts[charge.recorded_at], texts[charge.source], _encode(charge.time), texts[charge.type],
    )  # fmt: skip
