"""Where two versions of one event differ, for the message of a conflicting duplicate
(CONTRACT.md §1): the first field that differs, by its path, with both values."""

from __future__ import annotations

from typing import Any

import msgspec

from engine.judge import canonical_identity

_MISSING = object()
_SHOWN_CHARS = 40
_DECODER = msgspec.json.Decoder()


def first_difference(earlier_fact: bytes, fact: bytes) -> tuple[str, str, str] | None:
    """(path, earlier value, this value) of the first difference, as JSON text; None
    when the two are the same event (type, time as an instant, data as JSON values)."""
    earlier_identity, identity = canonical_identity(earlier_fact), canonical_identity(fact)
    if earlier_identity == identity:
        return None
    earlier, now = _DECODER.decode(earlier_fact), _DECODER.decode(fact)
    for name, was, is_ in zip(("type", "time"), earlier_identity[:2], identity[:2], strict=True):
        if was != is_:
            return name, _shown(earlier.get(name, _MISSING)), _shown(now.get(name, _MISSING))
    found = _walk("data", earlier.get("data", _MISSING), now.get("data", _MISSING))
    return found or ("data", _shown(earlier.get("data")), _shown(now.get("data")))


def _walk(path: str, was: Any, is_: Any) -> tuple[str, str, str] | None:
    if isinstance(was, dict) and isinstance(is_, dict):
        for key in sorted(set(was) | set(is_)):
            found = _walk(f"{path}.{key}", was.get(key, _MISSING), is_.get(key, _MISSING))
            if found:
                return found
        return None
    if isinstance(was, list) and isinstance(is_, list) and len(was) == len(is_):
        for index, (a, b) in enumerate(zip(was, is_, strict=True)):
            found = _walk(f"{path}[{index}]", a, b)
            if found:
                return found
        return None
    if _same_json_value(was, is_):
        return None
    return path, _shown(was), _shown(is_)


def _same_json_value(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    # Numbers by value (1 and 1.0 are one JSON number), strings as written.
    if (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return a == b
    return type(a) is type(b) and a == b


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"
