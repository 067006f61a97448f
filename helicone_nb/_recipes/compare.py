"""What changed between two periods, per group, for a sessions or a requests frame."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import check_frame, float_values, ratio
from .grouping import group_quantiles
from .keys import frame_kind, groups, int64_array

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: The metrics of ``compare_periods``, in column order.
CHANGE_METRICS = (
    "cost",
    "requests",
    "sessions",
    "cost_per_session",
    "error_rate",
    "p95_latency_ms",
    "cost_per_1k_tokens",
)


def _period(
    value: Any, name: str, zone: _dt.tzinfo, now: _dt.datetime
) -> tuple[_dt.datetime, _dt.datetime]:
    from .._wire.time import resolve_window

    if not isinstance(value, tuple | list) or len(value) != 2:
        raise UsageError(
            f"compare_periods(): {name} must be a (start, end) pair, e.g. "
            f"{name}=('2025-07-01', '2025-07-08'); got {value!r}"
        )
    try:
        window = resolve_window(value[0], value[1], zone, now=now, align_relative=False)
    except UsageError as exc:
        raise UsageError(f"compare_periods(): {name}: {exc}") from None
    return window.start, window.end


def frame_now(times: pd.Series[Any]) -> _dt.datetime:
    """The end of a frame's data (its last time, or now when it has none), as 'now' for
    relative periods such as ('14d', '7d')."""
    import pandas as pd

    last = times.max() if len(times) else pd.NaT
    if pd.isna(last):
        return _dt.datetime.now(_dt.UTC)
    return pd.Timestamp(last).tz_convert("UTC").ceil("min").to_pydatetime()


def _zone(times: pd.Series[Any]) -> _dt.tzinfo:
    import pandas as pd

    dtype = times.dtype
    if not isinstance(dtype, pd.DatetimeTZDtype):
        raise UsageError("compare_periods(): created_at must be a tz-aware datetime column")
    tz: _dt.tzinfo = dtype.tz
    return tz


def _fmt(window: tuple[_dt.datetime, _dt.datetime], zone: _dt.tzinfo) -> str:
    a, b = (t.astimezone(zone) for t in window)
    return f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M}"


def _metrics(
    df: pd.DataFrame, kind: str, codes: np.ndarray[Any, Any], n: int
) -> dict[str, np.ndarray[Any, Any]]:
    """The metrics per group for the rows whose code is >= 0."""
    import numpy as np
    import pandas as pd

    ok = codes >= 0
    at = codes[ok]

    def total(values: Any) -> np.ndarray[Any, Any]:
        v = np.nan_to_num(np.asarray(values, dtype="float64"))[ok]
        out: np.ndarray[Any, Any] = np.bincount(at, weights=v, minlength=n)[:n].astype("float64")
        return out

    count = np.bincount(at, minlength=n)[:n].astype("float64")
    if kind == "sessions":
        cost = total(float_values(df["total_cost"]))
        requests = total(float_values(df["total_requests"]))
        sessions = count
        tokens = total(float_values(df["total_tokens"])) if "total_tokens" in df else None
        error = np.full(n, np.nan)
        latency = (
            float_values(df["avg_latency"]) if "avg_latency" in df else np.full(len(df), np.nan)
        )
    else:
        cost = total(float_values(df["cost"]))
        requests = count
        tokens = total(float_values(df["total_tokens"])) if "total_tokens" in df else None
        if "status" in df:
            status = float_values(df["status"])
            error = ratio(total(np.isnan(status) | (status >= 400)), count)
        else:
            error = np.full(n, np.nan)
        latency = float_values(df["latency_ms"]) if "latency_ms" in df else np.full(len(df), np.nan)
        if "session_id" in df:
            sid = df["session_id"].astype("string").fillna("")
            sid_codes, _ = pd.factorize(sid)
            has = (sid != "").to_numpy()
            pairs = np.unique(codes[ok & has] * (int(sid_codes.max()) + 1) + sid_codes[ok & has])
            sessions = np.bincount(pairs // (int(sid_codes.max()) + 1), minlength=n)[:n].astype(
                "float64"
            )
        else:
            sessions = np.full(n, np.nan)
    p95 = group_quantiles(np.where(ok, codes, -1), latency, n, [0.95])[0][0]
    return {
        "cost": cost,
        "requests": requests,
        "sessions": sessions,
        "cost_per_session": ratio(cost, sessions),
        "error_rate": error,
        "p95_latency_ms": p95,
        "cost_per_1k_tokens": ratio(cost, tokens) * 1000.0
        if tokens is not None
        else np.full(n, np.nan),
    }


def compare_periods(
    frame: pd.DataFrame,
    before: tuple[Any, Any],
    after: tuple[Any, Any],
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """What changed between two periods, per group: cost, volume, errors, latency, unit cost.

    Parameters
    ----------
    frame : pandas.DataFrame
        A sessions frame or a requests frame covering both periods.
    before, after : (start, end) pairs
        The two periods, in any form ``fetch_sessions`` accepts, in the frame's time zone
        (``("2025-07-14", "2025-07-21")``, datetimes). Relative bounds count back from the end
        of the frame's data: ``before=("14d", "7d"), after=("7d", "now")`` compares the last
        week with the week before. The periods must not overlap and must both hold rows.
    by : str, list of str, or None, default None
        Grouping as in ``cost_by`` (requests: ``"model"``, ``"session_path"``, ...; sessions:
        ``"session_name"``, ...); None for the whole frame.

    Returns
    -------
    pandas.DataFrame
        ``<by>``, ``status`` (``"both"``, ``"new"``: only after, ``"gone"``: only before), and
        for each metric (``cost``, ``requests``, ``sessions``, ``cost_per_session``,
        ``error_rate``, ``p95_latency_ms``, ``cost_per_1k_tokens``) the columns
        ``<metric>_before``, ``<metric>_after``, ``<metric>_change`` (after - before) and
        ``<metric>_change_pct`` (relative, NaN when before is 0); sorted by dollar impact
        (``|cost_change|``), largest first. On a sessions frame ``error_rate`` is NaN and
        ``p95_latency_ms`` is over per-session means. ``attrs`` of the result hold the two
        resolved periods (``before``, ``after``, UTC) and the frame's zone (``tz``).

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import compare_periods
    >>> t = pd.Timestamp("2025-07-01", tz="UTC")
    >>> req = pd.DataFrame({
    ...     "created_at": [t, t, t + pd.Timedelta(days=8), t + pd.Timedelta(days=9)],
    ...     "model": ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o", "gpt-4o-mini"],
    ...     "cost": [0.01, 0.01, 0.30, 0.01], "status": [200, 200, 200, 500],
    ...     "latency_ms": [300.0, 350.0, 900.0, 320.0],
    ... })
    >>> out = compare_periods(req, before=("2025-07-01", "2025-07-08"),
    ...                       after=("2025-07-08", "2025-07-15"), by="model")
    >>> out[["model", "status", "cost_before", "cost_after", "cost_change"]]
             model status  cost_before  cost_after  cost_change
    0       gpt-4o    new         0.00        0.30         0.30
    1  gpt-4o-mini   both         0.02        0.01        -0.01
    """
    import numpy as np
    import pandas as pd

    kind = frame_kind(frame, "compare_periods")
    needed = (
        ["created_at", "total_cost", "total_requests"]
        if kind == "sessions"
        else ["created_at", "cost"]
    )
    check_frame(frame, "compare_periods", needed, "either")
    times = frame["created_at"]
    zone = _zone(times)
    now = frame_now(times)
    b = _period(before, "before", zone, now)
    a = _period(after, "after", zone, now)
    if b[0] < a[1] and a[0] < b[1]:
        raise UsageError(
            f"compare_periods(): before ({_fmt(b, zone)}) and after ({_fmt(a, zone)}) overlap; "
            "give two separate periods, e.g. before=('14d', '7d'), after=('7d', 'now')"
        )
    utc = times.dt.tz_convert("UTC")
    masks = {}
    for name, (start, end) in (("before", b), ("after", a)):
        mask = ((utc >= pd.Timestamp(start)) & (utc < pd.Timestamp(end))).fillna(False)
        masks[name] = mask.to_numpy(dtype=bool)
        if not masks[name].any():
            span = (
                f"{times.min():%Y-%m-%d %H:%M} to {times.max():%Y-%m-%d %H:%M}"
                if times.notna().any()
                else "nothing"
            )
            raise UsageError(
                f"compare_periods(): the {name} period ({_fmt((start, end), zone)}) holds no "
                f"rows of this frame, whose data runs from {span}; pick periods inside it"
            )
    either = masks["before"] | masks["after"]
    sub = frame.loc[either].reset_index(drop=True)
    g = groups(sub, by, "compare_periods")
    in_before = masks["before"][either]
    stats = {
        "before": _metrics(sub, kind, np.where(in_before, g.codes, -1), g.n),
        "after": _metrics(sub, kind, np.where(~in_before, g.codes, -1), g.n),
    }
    seen_before = np.bincount(g.codes[in_before], minlength=g.n)[: g.n] > 0
    seen_after = np.bincount(g.codes[~in_before], minlength=g.n)[: g.n] > 0
    status = np.where(seen_before & seen_after, "both", np.where(seen_after, "new", "gone"))
    columns: dict[str, Any] = {"status": pd.array(status, dtype="string")}
    for metric in CHANGE_METRICS:
        old = stats["before"][metric]
        new = stats["after"][metric]
        if metric in ("requests", "sessions") and not np.isnan(old).all():
            columns[f"{metric}_before"] = int64_array(np.nan_to_num(old))
            columns[f"{metric}_after"] = int64_array(np.nan_to_num(new))
            old, new = np.nan_to_num(old), np.nan_to_num(new)
        else:
            columns[f"{metric}_before"] = old
            columns[f"{metric}_after"] = new
        change = new - old
        columns[f"{metric}_change"] = change
        columns[f"{metric}_change_pct"] = np.where(
            np.nan_to_num(old) != 0, change / np.where(old == 0, 1.0, np.abs(old)), np.nan
        )
    out = g.frame(columns)
    impact = np.abs(np.nan_to_num(out["cost_change"].to_numpy(dtype="float64")))
    out = out.iloc[np.argsort(-impact, kind="stable")].reset_index(drop=True)
    out.attrs["before"] = b
    out.attrs["after"] = a
    out.attrs["tz"] = zone
    return out
