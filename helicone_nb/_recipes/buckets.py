"""Time buckets: calendar periods in the frame's own zone, labelled by their start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import UsageError

if TYPE_CHECKING:
    pass

#: Time-bucket names accepted by ``by=`` and the pandas frequency each one means.
TIME_BUCKETS: dict[str, str] = {
    "hour": "h",
    "day": "D",
    "week": "W",
    "month": "MS",
    "quarter": "QS",
    "year": "YS",
}
# Friendly spellings pandas itself rejects or reads differently.
FREQ_ALIASES = {"H": "h", "M": "MS", "Q": "QS", "Y": "YS", "A": "YS", "T": "min", "S": "s"}
FREQ_ALIASES.update({name: freq for name, freq in TIME_BUCKETS.items()})
# Offsets pandas bins as (previous end, end] and labels by their END (see pandas resample).
END_ANCHORED = ("ME", "YE", "QE", "BME", "BYE", "BQE", "W")


def to_offset(freq: Any, fn: str) -> Any:
    """A pandas offset for ``freq`` or a UsageError that lists valid spellings."""
    import pandas as pd

    hint = (
        "use a pandas frequency such as 'h' (hour), '15min', 'D' (day), 'W' (week starting "
        "Monday), 'MS' (month), 'QS' (quarter), 'YS' (year), or a multiple like '6h' or '2W'; "
        "the words " + ", ".join(map(repr, TIME_BUCKETS)) + " work too"
    )
    if isinstance(freq, str):
        freq = FREQ_ALIASES.get(freq.strip(), freq.strip())
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        raise UsageError(f"{fn}(): {freq!r} is not a time frequency; {hint}") from None
    if offset is None or offset.n < 1:
        raise UsageError(f"{fn}(): {freq!r} is not a positive time frequency; {hint}")
    return offset


def period_bins(times: Any, offset: Any) -> Any:
    """Start of every period from the first to the last of ``times`` (tz-aware, in their zone).

    pandas' resample knows the calendar (days in the data's zone across DST, month ends, ...);
    it labels some offsets by the period end, which is turned into the period start here.
    """
    import pandas as pd

    stamps = pd.DatetimeIndex(times.dropna())
    if stamps.empty:
        return pd.DatetimeIndex([], dtype=times.dtype)
    # the first and last time give the same periods as all of them (resample fills the gaps)
    ends = pd.DatetimeIndex([stamps.min(), stamps.max()])
    labels = pd.Series(0, index=ends).resample(offset).size().index
    rule = offset.rule_code.split("-")[0]
    if rule in END_ANCHORED:
        day = pd.offsets.Day(1)
        first = (labels[0] - offset) + day
        labels = pd.DatetimeIndex([first, *[label + day for label in labels[:-1]]])
    return pd.DatetimeIndex(labels).as_unit(times.dt.unit)


def bin_positions(times: Any, bins: Any) -> Any:
    """Index into ``bins`` of the period each time falls in (int64; -1 for NaT)."""
    import numpy as np

    if len(bins) == 0:
        return np.full(len(times), -1, dtype="int64")
    stamps = times.dt.as_unit(bins.unit).array.asi8
    pos = np.searchsorted(bins.asi8, stamps, side="right") - 1
    return np.where(times.isna().to_numpy(), -1, pos).astype("int64")


def bucket(times: Any, bins: Any) -> Any:
    """Label each time with the start of the period it falls in (NaT stays NaT)."""
    import numpy as np
    import pandas as pd

    if len(bins) == 0:
        return pd.Series(pd.NaT, index=times.index, dtype=times.dtype)
    pos = bin_positions(times, bins)
    labels = pd.Series(bins.take(np.clip(pos, 0, None)), index=times.index, dtype=times.dtype)
    return labels.where(times.notna())
