"""Summary and cost recipes of a sessions frame (see ``helicone_nb.recipes``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import check_frame, check_top, float_values, quantiles
from .buckets import TIME_BUCKETS, bin_positions, period_bins, to_offset
from .grouping import (
    distinct_users,
    explode_users,
    finish_groups,
    group_sizes,
    key_dtype,
    keyed,
    sum_float,
    sum_int,
    top_and_share,
)

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_COLUMNS = [
    "created_at",
    "latest_request_created_at",
    "session_id",
    "total_cost",
    "total_requests",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "avg_latency",
    "duration_s",
    "user_ids",
]


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """One-row overview of a sessions frame: volume, cost, tokens, latency, duration.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame (``Client.fetch_sessions``).

    Returns
    -------
    pandas.DataFrame
        One row with the columns ``start`` / ``end`` (first and last request, in the frame's
        zone; NaT when empty), ``sessions`` (rows), ``session_ids`` (distinct ids), ``users``
        (distinct non-empty user ids), ``requests``, ``total_cost`` (USD),
        ``cost_per_session_mean`` / ``_p50`` / ``_p90`` / ``_p99``, ``prompt_tokens``,
        ``completion_tokens``, ``total_tokens``, ``cost_per_1k_tokens``, ``mean_latency_ms``
        (request-weighted: each session's mean latency weighted by its request count),
        ``session_latency_p50_ms`` / ``_p90_ms`` / ``_p99_ms`` (percentiles of per-session means),
        ``duration_p50_s`` and ``duration_p90_s``. Counts are ``Int64``; on an empty frame they
        are 0 and the statistics NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import summary
    >>> t = pd.to_datetime(["2025-01-01 10:00", "2025-01-02 09:00"]).tz_localize("UTC")
    >>> df = pd.DataFrame({
    ...     "session_id": ["s1", "s2"],
    ...     "created_at": t,
    ...     "latest_request_created_at": t + pd.Timedelta(seconds=30),
    ...     "duration_s": [30.0, 30.0],
    ...     "total_cost": [0.25, 0.75],
    ...     "total_requests": [1, 3],
    ...     "prompt_tokens": [600, 1200],
    ...     "completion_tokens": [400, 800],
    ...     "total_tokens": [1000, 2000],
    ...     "avg_latency": [400.0, 800.0],
    ...     "user_ids": [["ann"], ["ann", "bob"]],
    ... })
    >>> s = summary(df).iloc[0]
    >>> int(s["sessions"]), int(s["users"]), int(s["requests"]), float(s["total_cost"])
    (2, 2, 4, 1.0)
    >>> float(s["cost_per_session_p50"]), round(float(s["cost_per_1k_tokens"]), 4)
    (0.5, 0.3333)
    >>> float(s["mean_latency_ms"])   # (1 * 400 + 3 * 800) / 4 requests
    700.0
    >>> float(s["session_latency_p50_ms"])   # median of the two session means
    600.0
    """
    import numpy as np
    import pandas as pd

    check_frame(df, "summary", SUMMARY_COLUMNS)
    cost = float_values(df["total_cost"])
    lat = float_values(df["avg_latency"])
    req = float_values(df["total_requests"])
    has = ~np.isnan(lat) & ~np.isnan(req)
    weight = float(req[has].sum())
    mean_latency = float((lat[has] * req[has]).sum() / weight) if weight > 0 else float("nan")
    users = distinct_users(df)
    cost_q = quantiles(cost, [0.5, 0.9, 0.99])
    lat_q = quantiles(lat, [0.5, 0.9, 0.99])
    dur_q = quantiles(float_values(df["duration_s"]), [0.5, 0.9])
    tokens = {
        c: int(df[c].astype("Int64").sum())
        for c in ("prompt_tokens", "completion_tokens", "total_tokens")
    }
    total_cost = float(np.nansum(cost))
    n_cost = int((~np.isnan(cost)).sum())
    tz_dtype = df["created_at"].dtype

    def _int(v: int) -> Any:
        return pd.array([v], dtype="Int64")

    row: dict[str, Any] = {
        "start": pd.Series([df["created_at"].min()], dtype=tz_dtype).array,
        "end": pd.Series(
            [df["latest_request_created_at"].max()], dtype=df["latest_request_created_at"].dtype
        ).array,
        "sessions": _int(len(df)),
        "session_ids": _int(int(df["session_id"].nunique(dropna=True))),
        "users": _int(users),
        "requests": _int(int(df["total_requests"].astype("Int64").sum())),
        "total_cost": [total_cost],
        "cost_per_session_mean": [total_cost / n_cost if n_cost else float("nan")],
        "cost_per_session_p50": [cost_q[0]],
        "cost_per_session_p90": [cost_q[1]],
        "cost_per_session_p99": [cost_q[2]],
        "prompt_tokens": _int(tokens["prompt_tokens"]),
        "completion_tokens": _int(tokens["completion_tokens"]),
        "total_tokens": _int(tokens["total_tokens"]),
        "cost_per_1k_tokens": [
            1000.0 * total_cost / tokens["total_tokens"] if tokens["total_tokens"] else np.nan
        ],
        "mean_latency_ms": [mean_latency],
        "session_latency_p50_ms": [lat_q[0]],
        "session_latency_p90_ms": [lat_q[1]],
        "session_latency_p99_ms": [lat_q[2]],
        "duration_p50_s": [dur_q[0]],
        "duration_p90_s": [dur_q[1]],
    }
    return pd.DataFrame(row, index=pd.RangeIndex(1))


def cost_by(
    df: pd.DataFrame, by: str | Sequence[str] | None = "session_name", *, top: int | None = None
) -> pd.DataFrame:
    """Cost broken down by a group, with each group's share and the cumulative share.

    Works on a sessions frame (``fetch_sessions``) and on a requests frame (``fetch_requests``,
    ``fetch_session_requests``); a requests frame gives the true cost per model, provider,
    status or session path, since sessions carry only totals.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame or a requests frame.
    by : str, list of str, or None, default "session_name"
        ``"session_name"``, ``"session_id"``, ``"user"`` (sessions: from ``user_ids``, cost
        split equally among a session's users, see ``cost_by_user``; requests: ``user_id``),
        a time bucket of ``created_at`` (``"hour"``, ``"day"``, ``"week"`` (starting Monday),
        ``"month"``, ``"quarter"``, ``"year"``, in the frame's time zone, labelled by the period
        start), any other column of the frame (requests: ``"model"``, ``"provider"``,
        ``"status"``, ``"session_path"`` ...; also ``"status_class"``), a custom property
        (requests: a key of ``properties``), or a list of these such as ``["week", "model"]``.
        None: one row for the whole frame.
    top : int, optional
        Keep the ``top`` most expensive groups and sum the rest into one ``"(other)"`` row
        (NaT for time buckets). Shares always add up to 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>``, ``sessions`` (Int64), ``requests`` (Int64), ``total_cost`` (USD),
        ``share`` and ``cumulative_share`` (fractions of the frame's total cost; NaN when the
        total is 0), sorted by cost, most expensive first (ties by key); time buckets in time
        order (the ``top`` cut is still by cost). For ``by="user"``, ``sessions`` and
        ``requests`` count the sessions a user took part in (whole, not split),
        while ``total_cost`` is the user's split share. On a requests frame: ``<by>``,
        ``requests`` and ``total_tokens`` (Int64), ``total_cost`` (USD),
        ``cost_per_1k_tokens``, ``share`` and ``cumulative_share``. With a list, one column
        per key; rows with a time bucket in time order, most expensive first within it.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import cost_by
    >>> df = pd.DataFrame({
    ...     "session_name": ["plan", "plan", "chat", "search"],
    ...     "total_cost": [3.0, 2.0, 4.0, 1.0],
    ...     "total_requests": [3, 2, 5, 1],
    ... })
    >>> cost_by(df, "session_name")
      session_name  sessions  requests  total_cost  share  cumulative_share
    0         plan         2         5         5.0    0.5               0.5
    1         chat         1         5         4.0    0.4               0.9
    2       search         1         1         1.0    0.1               1.0
    >>> cost_by(df, "session_name", top=1)
      session_name  sessions  requests  total_cost  share  cumulative_share
    0         plan         2         5         5.0    0.5               0.5
    1      (other)         2         6         5.0    0.5               1.0

    A requests frame, by model and by a list of keys:

    >>> t = pd.Timestamp("2025-07-01 09:00", tz="UTC")
    >>> req = pd.DataFrame({
    ...     "created_at": [t, t, t + pd.Timedelta(days=7), t + pd.Timedelta(days=7)],
    ...     "model": ["gpt-4o", "gpt-4o-mini", "gpt-4o", "gpt-4o"],
    ...     "cost": [0.30, 0.02, 0.50, 0.20],
    ...     "total_tokens": [1000, 2000, 1500, 500],
    ... })
    >>> cost_by(req, "model")[["model", "requests", "total_cost", "cost_per_1k_tokens", "share"]]
             model  requests  total_cost  cost_per_1k_tokens     share
    0       gpt-4o         3        1.00            0.333333  0.980392
    1  gpt-4o-mini         1        0.02            0.010000  0.019608
    >>> cost_by(req, ["week", "model"])[["week", "model", "requests", "total_cost"]]
                           week        model  requests  total_cost
    0 2025-06-30 00:00:00+00:00       gpt-4o         1        0.30
    1 2025-06-30 00:00:00+00:00  gpt-4o-mini         1        0.02
    2 2025-07-07 00:00:00+00:00       gpt-4o         2        0.70
    """
    from .keys import frame_kind
    from .requests import cost_by_requests

    check_top(top, "cost_by")
    if frame_kind(df, "cost_by") == "requests":
        return cost_by_requests(df, by, top)
    if by is None or not isinstance(by, str):
        return _cost_by_keys(df, by, top)
    if by == "user":
        users = cost_by_user(df, top=top)
        return users[["user", "sessions", "requests", "total_cost", "share", "cumulative_share"]]
    check_frame(df, "cost_by", ["total_cost", "total_requests"])
    long = keyed(df, by, "cost_by")
    sizes = group_sizes(long)
    out = finish_groups(
        sizes.index,
        {
            "sessions": sizes.to_numpy(dtype="int64"),
            "requests": sum_int(long, "total_requests", sizes.index),
            "total_cost": sum_float(long, float_values(long["total_cost"]), sizes.index),
        },
        by,
        key_dtype(long),
    )
    out["sessions"] = out["sessions"].astype("Int64")

    def other(rest: pd.DataFrame) -> dict[str, Any]:
        return {
            "sessions": int(rest["sessions"].sum()),
            "requests": int(rest["requests"].sum()),
            "total_cost": float(rest["total_cost"].sum()),
        }

    return top_and_share(out, by, top, other, time_ordered=by in TIME_BUCKETS)


def _cost_by_keys(df: pd.DataFrame, by: Sequence[str] | None, top: int | None) -> pd.DataFrame:
    """``cost_by`` of a sessions frame over several keys (or none)."""
    from .keys import groups, int64_array
    from .requests import order_groups

    check_frame(df, "cost_by", ["total_cost", "total_requests"])
    if by is not None and "user" in by:
        raise UsageError(
            "cost_by(): 'user' cannot be combined with other keys on a sessions frame (a "
            "session's cost is split among its users); use cost_by(df, 'user') or a requests "
            "frame, whose rows each have one user_id"
        )
    g = groups(df, by, "cost_by")
    requests = df["total_requests"].astype("Int64").to_numpy(dtype="float64", na_value=0.0)
    out = g.frame(
        {
            "sessions": int64_array(g.count()),
            "requests": int64_array(g.sum(requests)),
            "total_cost": g.sum(float_values(df["total_cost"])),
        }
    )
    return order_groups(out, g, top)


def cost_by_user(
    df: pd.DataFrame, *, top: int | None = None, include_unattributed: bool = True
) -> pd.DataFrame:
    """Per-user cost attribution from ``user_ids``.

    Split rule: each session's cost, requests and tokens are divided EQUALLY among its distinct
    non-empty user ids (``""`` never counts as a user). A session without any user id is
    attributed to ``"(no user)"``, so the attributed costs add up to the frame's total cost;
    pass ``include_unattributed=False`` to leave those sessions out (shares are then fractions
    of the attributed cost only).

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame (needs ``user_ids``, ``total_cost``, ``total_requests``,
        ``total_tokens``).
    top : int, optional
        Keep the ``top`` users by attributed cost and sum the rest into ``"(other)"``.
    include_unattributed : bool, default True
        Keep the ``"(no user)"`` row.

    Returns
    -------
    pandas.DataFrame
        Columns ``user``, ``sessions`` (Int64, sessions the user took part in),
        ``shared_sessions`` (Int64, of those, sessions with more than one user), ``requests``
        (Int64, all requests of those sessions), ``attributed_requests`` and
        ``attributed_tokens`` (float64, the user's split share), ``total_cost`` (USD, split
        share), ``share`` and ``cumulative_share``; most expensive first. The ``"(other)"`` row
        counts each session once even if several of its users fell below the cut.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import cost_by_user
    >>> df = pd.DataFrame({
    ...     "user_ids": [["ann"], ["ann", "bob"], []],
    ...     "total_cost": [1.0, 2.0, 0.5],
    ...     "total_requests": [1, 4, 1],
    ...     "total_tokens": [100, 400, 50],
    ... })
    >>> out = cost_by_user(df)
    >>> out[["user", "sessions", "shared_sessions", "requests", "total_cost"]]
            user  sessions  shared_sessions  requests  total_cost
    0        ann         2                1         5         2.0
    1        bob         1                1         4         1.0
    2  (no user)         1                0         1         0.5
    >>> out["attributed_requests"].tolist()
    [3.0, 2.0, 1.0]
    """
    import numpy as np
    import pandas as pd

    check_top(top, "cost_by_user")
    check_frame(df, "cost_by_user", ["user_ids", "total_cost", "total_requests", "total_tokens"])
    long = explode_users(df, include_unattributed)
    k = long["_k"].to_numpy(dtype="float64")
    cost = float_values(long["total_cost"]) / k
    reqs = float_values(long["total_requests"])
    toks = float_values(long["total_tokens"])
    shared = (long["_k"] > 1).to_numpy()
    sizes = group_sizes(long)
    idx = sizes.index
    out = pd.DataFrame(
        {
            "user": pd.array(list(idx), dtype="string"),
            "sessions": pd.array(sizes.to_numpy(dtype="int64"), dtype="Int64"),
            "shared_sessions": pd.array(
                sum_float(long, shared.astype("float64"), idx).astype("int64"), dtype="Int64"
            ),
            "requests": sum_int(long, "total_requests", idx),
            "attributed_requests": sum_float(long, np.nan_to_num(reqs) / k, idx),
            "attributed_tokens": sum_float(long, np.nan_to_num(toks) / k, idx),
            "total_cost": sum_float(long, cost, idx),
        },
        index=pd.RangeIndex(len(idx)),
    )

    def other(rest: pd.DataFrame) -> dict[str, Any]:
        in_rest = long["_key"].isin(set(rest["user"])).to_numpy()
        rest_rows = long.loc[in_rest].drop_duplicates("_row")
        return {
            "sessions": len(rest_rows),
            "shared_sessions": int((rest_rows["_k"] > 1).sum()),
            "requests": int(rest_rows["total_requests"].astype("Int64").sum()),
            "attributed_requests": float(np.nan_to_num(reqs[in_rest] / k[in_rest]).sum()),
            "attributed_tokens": float(np.nan_to_num(toks[in_rest] / k[in_rest]).sum()),
            "total_cost": float(np.nansum(cost[in_rest])),
        }

    return top_and_share(out, "user", top, other)


def cost_over_time(df: pd.DataFrame, freq: str = "D") -> pd.DataFrame:
    """Cost per period in the frame's time zone, with empty periods filled with 0.

    Each session counts in the period of its ``created_at`` (its first in-window request).

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame (tz-aware ``created_at``).
    freq : str, default "D"
        A pandas frequency: ``"h"``, ``"15min"``, ``"D"``, ``"W"`` (weeks starting Monday),
        ``"MS"`` (months), ``"QS"``, ``"YS"``, multiples such as ``"6h"``; the words
        ``"hour"``, ``"day"``, ``"week"``, ``"month"``, ``"quarter"``, ``"year"`` work too.
        Days and longer follow the calendar of the frame's zone (a DST day has 23 or 25 hours).

    Returns
    -------
    pandas.DataFrame
        Columns ``period`` (period start, tz-aware), ``sessions``, ``requests``,
        ``total_tokens`` (Int64), ``total_cost`` and ``cumulative_cost`` (USD), one row per
        period from the first to the last session.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import cost_over_time
    >>> df = pd.DataFrame({
    ...     "created_at": pd.to_datetime(
    ...         ["2025-03-01 09:00", "2025-03-01 17:00", "2025-03-03 08:00"]
    ...     ).tz_localize("Europe/Berlin"),
    ...     "total_cost": [1.0, 0.5, 2.0],
    ...     "total_requests": [2, 1, 4],
    ...     "total_tokens": [200, 100, 400],
    ... })
    >>> cost_over_time(df, "D")[["period", "sessions", "total_cost", "cumulative_cost"]]
                         period  sessions  total_cost  cumulative_cost
    0 2025-03-01 00:00:00+01:00         2         1.5              1.5
    1 2025-03-02 00:00:00+01:00         0         0.0              1.5
    2 2025-03-03 00:00:00+01:00         1         2.0              3.5
    """
    import numpy as np
    import pandas as pd

    check_frame(
        df, "cost_over_time", ["created_at", "total_cost", "total_requests", "total_tokens"]
    )
    offset = to_offset(freq, "cost_over_time")
    times = df["created_at"]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise UsageError("cost_over_time(): created_at must be a tz-aware datetime column")
    bins = period_bins(times, offset)
    # Integer period positions and bincount: no per-row Timestamp objects (100k rows in ~20 ms).
    pos = bin_positions(times, bins)
    ok = pos >= 0
    at = pos[ok]
    n = len(bins)

    def _sum(values: Any) -> Any:
        return np.bincount(at, weights=values[ok], minlength=n)

    def _count_sum(column: str) -> Any:
        values = df[column].astype("Int64").to_numpy(dtype="float64", na_value=0.0)
        return pd.array(np.rint(_sum(values)).astype("int64"), dtype="Int64")

    cost = _sum(np.nan_to_num(float_values(df["total_cost"])))
    return pd.DataFrame(
        {
            "period": pd.Series(pd.DatetimeIndex(bins), dtype=times.dtype).array,
            "sessions": pd.array(np.bincount(at, minlength=n).astype("int64"), dtype="Int64"),
            "requests": _count_sum("total_requests"),
            "total_tokens": _count_sum("total_tokens"),
            "total_cost": cost,
            "cumulative_cost": np.cumsum(cost),
        },
        index=pd.RangeIndex(n),
    )
