"""Time windows in, true UTC instants out.

``resolve_window`` turns what a user types (aware or naive datetimes, pandas Timestamps, dates,
ISO 8601 strings, epoch milliseconds, relative strings such as ``"7d"``) into an absolute window.
Nothing is guessed: epoch seconds, slashed dates and out-of-range numbers are refused.
``parse_server_timestamps`` turns what Helicone returns (ISO-8601 or ClickHouse text, shifted by
the ``timezoneDifference`` the request sent) back into UTC instants, shown in the call's zone.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

TimeLike: TypeAlias = "str | int | float | _dt.datetime | _dt.date | pd.Timestamp"

_RELATIVE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|"
    r"d|days?|w|wk|weeks?)\s*(?:ago)?\s*$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

#: The ISO-8601 forms accepted as text: a date, optionally a time (hours, minutes, seconds,
#: fraction) after ``T`` or a space, optionally ``Z`` or an offset.
_ISO_INPUT = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?)?"
    r"(?:\s*(?:Z|[+-]\d{2}(?::?\d{2})?))?$",
    re.IGNORECASE,
)
#: Day/month orders a reader could take either way: 01/07/2025, 1.7.25, 07-01-2025.
_AMBIGUOUS = re.compile(r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}(?:[T ].*)?$")
#: Numbers are epoch milliseconds between these instants (1990 and 2200); the same range in
#: seconds is refused as "looks like epoch seconds".
EPOCH_MS_MIN = 631_152_000_000
EPOCH_MS_MAX = 7_258_118_400_000


def check_tz(tz: str | _dt.tzinfo) -> _dt.tzinfo:
    """A tzinfo for ``tz`` or a clear error."""
    if isinstance(tz, _dt.tzinfo):
        return tz
    if not isinstance(tz, str) or not tz:
        raise UsageError(f"tz must be an IANA zone name such as 'Europe/Berlin', got {tz!r}")
    if tz.upper() == "UTC":
        return _dt.UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {tz!r}; use an IANA name such as 'UTC', 'Europe/Berlin' or "
            "'America/New_York'"
        ) from None


def relative_seconds(text: str) -> float | None:
    """Seconds in a relative string like ``"7d"`` / ``"24h"`` / ``"90 min"``, else None."""
    m = _RELATIVE.match(text)
    if not m:
        return None
    unit = m.group(2).lower()
    key = "m" if unit.startswith("min") or unit == "m" else unit[0]
    return float(m.group(1)) * _UNIT_SECONDS[key]


def to_utc(value: Any, tz: _dt.tzinfo, now: _dt.datetime, what: str) -> _dt.datetime:
    """One instant as an aware UTC datetime. Naive values are read in ``tz``."""
    import pandas as pd

    if isinstance(value, bool) or value is None:
        raise UsageError(f"{what} must be a time, got {value!r}")
    if isinstance(value, int | float):
        return _from_epoch_ms(value, what)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "now":
            return now
        seconds = relative_seconds(text)
        if seconds is not None:
            return now - _dt.timedelta(seconds=seconds)
        if not _ISO_INPUT.match(text):
            if _AMBIGUOUS.match(text):
                raise UsageError(
                    f"{what}: {value!r} is ambiguous (day first or month first?). Write the "
                    "date as ISO 8601, year first: '2025-07-01' or '2025-07-01T10:00'."
                )
            raise UsageError(
                f"{what}: cannot read {value!r} as a time. Use an ISO 8601 date/time "
                "('2025-01-31', '2025-01-31T10:00', '2025-01-31T10:00:00Z'), a relative time "
                "before now ('7d', '24h', '30min', '2w'), 'now', epoch milliseconds, or a datetime."
            )
        try:
            ts = pd.Timestamp(text.replace(",", "."))
        except (ValueError, TypeError):
            raise UsageError(f"{what}: {value!r} is not a valid ISO 8601 time") from None
        if pd.isna(ts):
            raise UsageError(f"{what}: {value!r} is not a time")
        value = ts
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        moment: _dt.datetime = value
        if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
            moment = moment.replace(tzinfo=tz)
        return moment.astimezone(_dt.UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=tz).astimezone(_dt.UTC)
    raise UsageError(
        f"{what} must be a datetime, pandas Timestamp, date, ISO string, relative string "
        f"('7d'), or epoch milliseconds; got {type(value).__name__}"
    )


def _from_epoch_ms(value: float, what: str) -> _dt.datetime:
    """Epoch milliseconds (the unit of Helicone's timeFilter), refusing what is not plausible."""
    if value != value or value in (float("inf"), float("-inf")):
        raise UsageError(f"{what}: {value!r} is not a time")
    if EPOCH_MS_MIN / 1000 <= value <= EPOCH_MS_MAX / 1000:
        seconds = _dt.datetime.fromtimestamp(value, tz=_dt.UTC)
        raise UsageError(
            f"{what}: {value!r} looks like epoch seconds ({seconds:%Y-%m-%d %H:%M} UTC); "
            f"numbers are read as epoch milliseconds. Pass {round(value * 1000)} or a datetime."
        )
    if not EPOCH_MS_MIN <= value <= EPOCH_MS_MAX:
        raise UsageError(
            f"{what}: {value!r} is out of range for epoch milliseconds (years 1990 to 2200). "
            "Pass epoch milliseconds, an ISO 8601 string such as '2025-07-01', or a datetime."
        )
    return _dt.datetime.fromtimestamp(value / 1000, tz=_dt.UTC)


@dataclass(frozen=True)
class Window:
    """An absolute time window; Helicone matches requests with ``start < t < end``."""

    start: _dt.datetime
    end: _dt.datetime

    @property
    def start_ms(self) -> int:
        return _ms(self.start)

    @property
    def end_ms(self) -> int:
        return _ms(self.end)


def _ms(t: _dt.datetime) -> int:
    return round(t.timestamp() * 1000)


def resolve_window(
    start: Any,
    end: Any,
    tz: str | _dt.tzinfo = "UTC",
    *,
    now: _dt.datetime | None = None,
    align_relative: bool = True,
) -> Window:
    """Resolve user input into an absolute window, or raise :class:`UsageError`.

    Relative bounds ("7d", "now", or a missing ``end``) are taken from ``now`` aligned down to
    the minute, so re-running a cell within the same minute asks exactly the same question.
    """
    zone = check_tz(tz)
    now = now or _dt.datetime.now(_dt.UTC)
    if align_relative:
        now = now.replace(second=0, microsecond=0)
    if start is None:
        raise UsageError(
            "start is required: e.g. start='7d' (last 7 days), start='2025-01-01', or a datetime"
        )
    s = to_utc(start, zone, now, "start")
    e = now if end is None else to_utc(end, zone, now, "end")
    if e <= s:
        raise UsageError(
            f"end ({e.astimezone(zone).isoformat()}) must be after start "
            f"({s.astimezone(zone).isoformat()}); swap them or widen the window"
        )
    return Window(s, e)


def parse_server_timestamps(values: Any, *, shift_minutes: float, tz: str | _dt.tzinfo) -> Any:
    """Helicone timestamps (ISO or ClickHouse text) -> tz-aware pandas values in ``tz``.

    Helicone adds ``timezoneDifference`` minutes to the UTC instant before formatting, and
    ClickHouse text carries no zone, so both forms are read as UTC and the shift is undone.
    """
    import pandas as pd

    parsed = _fast_utc(values)
    if parsed is None:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    if shift_minutes:
        parsed = parsed - pd.Timedelta(minutes=shift_minutes)
    zone = check_tz(tz)
    return parsed.tz_convert(zone)


def _fast_utc(values: Any) -> Any:
    """Vectorised parse of zone-less or ``Z`` timestamps (Helicone's two usual forms), else None.

    Anything with an explicit offset, or that numpy cannot read, goes to pandas' ISO8601
    parser instead, which also produces the precise error.
    """
    import numpy as np
    import pandas as pd

    try:
        blob = "\n".join(values)
    except TypeError:
        return None
    # only "YYYY-MM-DD..." with no explicit offset: two dashes per value and no "+"
    if not blob or "+" in blob or blob.count("-") != 2 * len(values):
        return None
    try:
        arr = np.array(blob.replace("Z", "").split("\n"), dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError):
        return None
    if np.isnat(arr).any():
        return None
    return pd.DatetimeIndex(arr).tz_localize("UTC")
