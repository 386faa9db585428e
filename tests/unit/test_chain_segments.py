"""The chain's stored rows (`log_chain`, a segment of consecutive positions a row):
what a row says it holds is checked before any of it is believed."""

from __future__ import annotations

import struct

import pytest

from engine.store.log_chain import ChainDamaged, ChainSegment

HASHES = [f"{n:064x}" for n in range(1, 4)]


def segment(**overrides) -> ChainSegment:
    fields = dict(
        first_position=5,
        entries=3,
        first_notification_id=10,
        last_notification_id=12,
        notification_ids=None,
        hashes=bytes.fromhex("".join(HASHES)),
        last_hash=HASHES[-1],
    )
    fields.update(overrides)
    return ChainSegment(**fields)


def test_a_segment_of_consecutive_ids_lists_its_positions_ids_and_hashes():
    assert segment().links() == [(5, 10, HASHES[0]), (6, 11, HASHES[1]), (7, 12, HASHES[2])]


def test_a_segment_with_gaps_in_its_ids_keeps_them_as_a_list():
    ids = struct.pack("<3q", 10, 14, 20)
    links = segment(notification_ids=ids, last_notification_id=20).links()
    assert [link[1] for link in links] == [10, 14, 20]


@pytest.mark.parametrize(
    "overrides",
    [
        {"entries": 4},
        {"hashes": b"\xff" * 95},
        {"last_notification_id": 13},
        {"notification_ids": struct.pack("<2q", 10, 12)},
    ],
)
def test_a_row_that_does_not_hold_what_it_says_is_damaged_at_its_first_position(overrides):
    with pytest.raises(ChainDamaged) as damaged:
        segment(**overrides).links()
    assert damaged.value.position == 5


def test_a_row_whose_last_hash_disagrees_with_its_hashes_is_damaged_at_its_last_position():
    with pytest.raises(ChainDamaged) as damaged:
        segment(last_hash=HASHES[0]).links()
    assert damaged.value.position == 7
