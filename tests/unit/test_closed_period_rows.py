"""Closed periods' rows kept between reads: bounded, least recently read out first."""

from commands.closed_period_rows import ClosedPeriodRows


def test_the_least_recently_read_goes_first_when_full():
    kept = ClosedPeriodRows(max_entries=2)
    kept.put(("p-1", "2026-10"), "rows 1")
    kept.put(("p-2", "2026-10"), "rows 2")
    assert kept.get(("p-1", "2026-10")) == "rows 1"  # read: now the most recent
    kept.put(("p-3", "2026-10"), "rows 3")
    assert kept.get(("p-2", "2026-10")) is None
    assert kept.get(("p-1", "2026-10")) == "rows 1"
    assert kept.get(("p-3", "2026-10")) == "rows 3"


def test_nothing_is_kept_with_no_room():
    kept = ClosedPeriodRows(max_entries=0)
    kept.put("key", "rows")
    assert kept.get("key") is None
