"""Time windows in, true UTC instants out."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from helicone_nb import UsageError
from helicone_nb._wire.time import parse_server_timestamps, resolve_window

NOW = dt.datetime(2025, 3, 10, 12, 34, 56, 789000, tzinfo=dt.UTC)
UTC = dt.UTC


def w(start, end=None, tz="UTC"):  # type: ignore[no-untyped-def]
    return resolve_window(start, end, tz, now=NOW)


def test_every_accepted_form() -> None:
    expected = dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert w(dt.datetime(2025, 1, 1, tzinfo=UTC)).start == expected
    assert w(pd.Timestamp("2025-01-01", tz="UTC")).start == expected
    assert w(dt.date(2025, 1, 1)).start == expected
    assert w("2025-01-01").start == expected
    assert w("2025-01-01T00:00:00Z").start == expected
    assert w(1735689600000).start == expected
    assert w(1735689600000.0).start == expected


def test_naive_values_are_read_in_the_calls_tz() -> None:
    berlin = w("2025-01-01", "2025-01-02", tz="Europe/Berlin")
    assert berlin.start == dt.datetime(2024, 12, 31, 23, 0, tzinfo=UTC)
    assert w(dt.datetime(2024, 7, 1), tz="Europe/Berlin").start == dt.datetime(
        2024, 6, 30, 22, 0, tzinfo=UTC
    )
    assert w(dt.date(2024, 7, 1), tz="America/New_York").start == dt.datetime(
        2024, 7, 1, 4, 0, tzinfo=UTC
    )
    # aware values keep their own zone
    aware = dt.datetime(2025, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert w(aware, tz="Europe/Berlin").start == dt.datetime(2024, 12, 31, 19, 0, tzinfo=UTC)


def test_relative_strings_are_before_now_aligned_to_the_minute() -> None:
    aligned = NOW.replace(second=0, microsecond=0)
    assert w("7d").start == aligned - dt.timedelta(days=7)
    assert w("7d").end == aligned
    assert w("24h").start == aligned - dt.timedelta(hours=24)
    assert w("30min").start == aligned - dt.timedelta(minutes=30)
    assert w("2w").start == aligned - dt.timedelta(weeks=2)
    assert w("90 minutes ago").start == aligned - dt.timedelta(minutes=90)
    assert w("7d", "now").end == aligned
    assert w("7d", "1d").end == aligned - dt.timedelta(days=1)


def test_window_ms_are_exact() -> None:
    win = w("2025-01-01", "2025-01-02")
    assert win.start_ms == 1735689600000
    assert win.end_ms == 1735776000000


def test_errors_say_how_to_fix() -> None:
    with pytest.raises(UsageError, match="must be after start"):
        w("2025-01-02", "2025-01-01")
    with pytest.raises(UsageError, match="must be after start"):
        w("2025-01-01", "2025-01-01")
    with pytest.raises(UsageError, match="cannot read 'last tuesday'"):
        w("last tuesday")
    with pytest.raises(UsageError, match="start is required"):
        w(None)
    with pytest.raises(UsageError, match="unknown time zone"):
        w("7d", tz="Mars/Olympus")
    with pytest.raises(UsageError, match="must be a time"):
        w(True)
    with pytest.raises(UsageError, match="must be a datetime"):
        w([2025])
    with pytest.raises(UsageError, match="not a time"):
        w(float("nan"))


def test_server_timestamps_iso_and_clickhouse_text_with_shift() -> None:
    values = pd.Index(["2025-01-31T10:00:01.123Z", "2025-01-31 10:00:01.123"], dtype=object)
    plain = parse_server_timestamps(values, shift_minutes=0, tz="UTC")
    assert list(plain) == [pd.Timestamp("2025-01-31T10:00:01.123Z")] * 2
    # Helicone added +120 minutes before formatting: undo it, then show in Berlin
    shifted = parse_server_timestamps(values, shift_minutes=120, tz="Europe/Berlin")
    assert shifted[0] == pd.Timestamp("2025-01-31T08:00:01.123Z")
    assert str(shifted.tz) == "Europe/Berlin"
    offset = parse_server_timestamps(
        pd.Index(["2025-01-31T11:00:00+01:00"], dtype=object), shift_minutes=0, tz="UTC"
    )
    assert offset[0] == pd.Timestamp("2025-01-31T10:00:00Z")
