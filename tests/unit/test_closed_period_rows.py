"""Closed periods' rows kept between reads: bounded by their rows, least recently read
out first."""

from commands.closed_period_rows import ClosedPeriodRows


def test_the_least_recently_read_goes_first_when_the_rows_pass_the_bound():
    kept = ClosedPeriodRows(max_rows=10)
    kept.put(("p-1", "2026-10"), "rows 1", 4)
    kept.put(("p-2", "2026-10"), "rows 2", 4)
    assert kept.get(("p-1", "2026-10")) == "rows 1"  # read: now the most recent
    kept.put(("p-3", "2026-10"), "rows 3", 4)  # 12 rows: p-2, least recently read, goes
    assert kept.get(("p-2", "2026-10")) is None
    assert kept.get(("p-1", "2026-10")) == "rows 1"
    assert kept.get(("p-3", "2026-10")) == "rows 3"


def test_one_value_larger_than_the_bound_is_not_kept_and_pushes_nothing_out():
    kept = ClosedPeriodRows(max_rows=10)
    kept.put("small", "rows", 3)
    kept.put("huge", "rows", 11)
    assert kept.get("huge") is None
    assert kept.get("small") == "rows"


def test_putting_a_key_again_counts_its_rows_once():
    kept = ClosedPeriodRows(max_rows=10)
    for _ in range(5):
        kept.put("same", "rows", 6)
    kept.put("other", "rows", 4)
    assert kept.get("same") == "rows"
    assert kept.get("other") == "rows"
