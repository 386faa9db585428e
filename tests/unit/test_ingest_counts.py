"""IngestCounts adds itself: the running total of an ingest is the sum of its batches."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from schemas.views import IngestCounts

counts = st.builds(IngestCounts, *(st.integers(min_value=0, max_value=10**9) for _ in range(3)))


@given(st.lists(counts, max_size=20))
def test_adding_batches_sums_each_count_on_its_own(batches):
    total = IngestCounts()
    for batch in batches:
        total.add(batch)
    assert total == IngestCounts(
        accepted=sum(b.accepted for b in batches),
        duplicates=sum(b.duplicates for b in batches),
        rejected=sum(b.rejected for b in batches),
    )


def test_adding_leaves_the_json_shape_as_the_contract_prints_it():
    total = IngestCounts(accepted=1)
    total.add(IngestCounts(duplicates=2, rejected=3))
    assert msgspec.json.encode(total) == b'{"accepted":1,"duplicates":2,"rejected":3}'
