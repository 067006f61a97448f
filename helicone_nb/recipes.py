"""Cost and latency recipes: a sessions DataFrame in, a NEW DataFrame out.

Every function here takes the sessions DataFrame returned by ``Client.fetch_sessions`` (see
``SESSION_SCHEMA`` in ``helicone_nb._frames``), never modifies it, and returns a new frame whose
columns and dtypes are the same whether or not there was any data. Each function only needs the
columns it uses, so a hand-made frame with those columns works too (the examples below do that).

Conventions shared by all recipes:

- A *session* is one row of the frame. Helicone groups by the pair (session_id, session_name),
  so a session id whose requests carry two names is two rows; ``summary`` also reports the number
  of distinct ids.
- ``avg_latency`` is a per-session MEAN (ms) over that session's requests. Averaging it over
  sessions gives every session the same weight; the mean latency of a *request* is estimated by
  weighting each session's mean by its ``total_requests`` (``mean_latency_ms`` columns). The
  percentiles (``session_p50_ms`` ...) are percentiles of per-session means, not of single
  requests: use the requests frame of ``fetch_session_requests`` for request-level latency.
- Percentiles use linear interpolation (numpy's default); missing values are skipped; a group
  with no values gets NaN.
- Time buckets (``by="day"``, ``cost_over_time``) are calendar periods in the frame's own time
  zone (the ``tz`` the frame was fetched with), labelled by the period START. A session is put
  in the bucket of its ``created_at`` (its first in-window request): the sessions endpoint does
  not say when within a session the money was spent.
- Per-user attribution (``by="user"``, ``cost_by_user``): a session's cost (and tokens and
  requests) is split EQUALLY among its distinct non-empty ``user_ids``; a session with no user is
  attributed to ``"(no user)"`` (``NO_USER``), so attributed costs add up to the total cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "DERIVED_METRICS",
    "NO_USER",
    "OTHER",
    "TIME_BUCKETS",
    "cost_by",
    "cost_by_user",
    "cost_over_time",
    "cost_per_1k_tokens",
    "duration_stats",
    "latency_by",
    "outliers",
    "summary",
    "top_sessions",
]

#: Label of sessions that carry no user id in per-user results.
NO_USER = "(no user)"
#: Label of the row that sums everything below the ``top`` N groups.
OTHER = "(other)"

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
_FREQ_ALIASES = {"H": "h", "M": "MS", "Q": "QS", "Y": "YS", "A": "YS", "T": "min", "S": "s"}
_FREQ_ALIASES.update({name: freq for name, freq in TIME_BUCKETS.items()})
# Offsets pandas bins as (previous end, end] and labels by their END (see pandas resample).
_END_ANCHORED = ("ME", "YE", "QE", "BME", "BYE", "BQE", "W")

#: Metrics computed from other columns, accepted by ``top_sessions`` and ``outliers``.
DERIVED_METRICS: dict[str, str] = {
    "cost_per_request": "total_cost / total_requests (USD)",
    "cost_per_1k_tokens": "1000 * total_cost / total_tokens (USD)",
    "tokens_per_request": "total_tokens / total_requests",
}


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _check_frame(df: Any, fn: str, columns: Sequence[str]) -> None:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise UsageError(
            f"{fn}() takes a pandas DataFrame (e.g. from client.fetch_sessions(...)), "
            f"got {type(df).__name__}"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UsageError(
            f"{fn}() needs column(s) {', '.join(map(repr, missing))}, which this frame does not "
            f"have (it has: {', '.join(map(str, df.columns)) or 'no columns'}). Pass the sessions "
            "DataFrame returned by client.fetch_sessions(...)."
        )


def _check_top(top: int | None, fn: str) -> None:
    if top is None:
        return
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise UsageError(f"{fn}(): top must be a positive integer or None, got {top!r}")


def _check_percentiles(percentiles: Sequence[float], fn: str) -> list[float]:
    try:
        ps = [float(p) for p in percentiles]
    except (TypeError, ValueError):
        raise UsageError(
            f"{fn}(): percentiles must be numbers between 0 and 1, e.g. (0.5, 0.9, 0.99)"
        ) from None
    bad = [p for p in ps if not 0.0 <= p <= 1.0]
    if bad or not ps:
        raise UsageError(
            f"{fn}(): percentiles must be a non-empty list of numbers between 0 and 1 "
            f"(0.99 = p99), got {list(percentiles)!r}"
        )
    return ps


def _pname(p: float) -> str:
    """0.5 -> 'p50', 0.999 -> 'p99.9'."""
    text = f"{p * 100:.6f}".rstrip("0").rstrip(".")
    return f"p{text}"


def _float_values(series: Any) -> np.ndarray[Any, Any]:
    """A numeric column as float64 numpy, NA -> NaN."""
    import numpy as np
    import pandas as pd

    return np.asarray(pd.to_numeric(series, errors="coerce").astype("float64"), dtype="float64")


def _quantiles(values: np.ndarray[Any, Any], ps: Sequence[float]) -> list[float]:
    import numpy as np

    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return [float("nan")] * len(ps)
    return [float(q) for q in np.quantile(finite, ps)]


def _ratio(num: Any, den: Any) -> Any:
    """num / den as float64, NaN where den is 0 or missing."""
    import numpy as np

    n = _float_values(num)
    d = _float_values(den)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)
    return out


# ---------------------------------------------------------------------------------------------
# Time buckets
# ---------------------------------------------------------------------------------------------


def _offset(freq: Any, fn: str) -> Any:
    """A pandas offset for ``freq`` or a UsageError that lists valid spellings."""
    import pandas as pd

    hint = (
        "use a pandas frequency such as 'h' (hour), '15min', 'D' (day), 'W' (week starting "
        "Monday), 'MS' (month), 'QS' (quarter), 'YS' (year), or a multiple like '6h' or '2W'; "
        "the words " + ", ".join(map(repr, TIME_BUCKETS)) + " work too"
    )
    if isinstance(freq, str):
        freq = _FREQ_ALIASES.get(freq.strip(), freq.strip())
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        raise UsageError(f"{fn}(): {freq!r} is not a time frequency; {hint}") from None
    if offset is None or offset.n < 1:
        raise UsageError(f"{fn}(): {freq!r} is not a positive time frequency; {hint}")
    return offset


def _period_bins(times: Any, offset: Any) -> Any:
    """Start of every period from the first to the last of ``times`` (tz-aware, in their zone).

    pandas' resample knows the calendar (days in the data's zone across DST, month ends, ...);
    it labels some offsets by the period end, which is turned into the period start here.
    """
    import pandas as pd

    stamps = pd.DatetimeIndex(times.dropna())
    if stamps.empty:
        return pd.DatetimeIndex([], dtype=times.dtype)
    labels = pd.Series(0, index=stamps).resample(offset).size().index
    rule = offset.rule_code.split("-")[0]
    if rule in _END_ANCHORED:
        day = pd.offsets.Day(1)
        first = (labels[0] - offset) + day
        labels = pd.DatetimeIndex([first, *[label + day for label in labels[:-1]]])
    return pd.DatetimeIndex(labels).as_unit(times.dt.unit)


def _bucket(times: Any, bins: Any) -> Any:
    """Label each time with the start of the period it falls in (NaT stays NaT)."""
    import numpy as np
    import pandas as pd

    if len(bins) == 0:
        return pd.Series(pd.NaT, index=times.index, dtype=times.dtype)
    pos = np.searchsorted(bins.asi8, times.dt.as_unit(bins.unit).array.asi8, side="right") - 1
    labels = pd.Series(bins.take(np.clip(pos, 0, None)), index=times.index, dtype=times.dtype)
    return labels.where(times.notna())


# ---------------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------------


def _user_lists(df: pd.DataFrame) -> list[list[str]]:
    """Distinct non-empty user ids of each row (lists, tuples or arrays are accepted)."""
    import numpy as np

    out: list[list[str]] = []
    for value in df["user_ids"].tolist():
        if isinstance(value, list | tuple | np.ndarray):
            out.append(list(dict.fromkeys(u for u in value if isinstance(u, str) and u)))
        else:
            out.append([])
    return out


def _explode_users(df: pd.DataFrame, include_unattributed: bool) -> pd.DataFrame:
    """One row per (session row, user): columns ``_row``, ``_key`` (user), ``_k`` (#users)."""
    import numpy as np
    import pandas as pd

    rows: list[int] = []
    users: list[str] = []
    ks: list[int] = []
    for i, ids in enumerate(_user_lists(df)):
        if ids:
            rows.extend([i] * len(ids))
            users.extend(ids)
            ks.extend([len(ids)] * len(ids))
        elif include_unattributed:
            rows.append(i)
            users.append(NO_USER)
            ks.append(1)
    pos = np.asarray(rows, dtype="int64")
    long = df.iloc[pos].reset_index(drop=True)
    long.insert(0, "_row", pos)
    long.insert(1, "_key", pd.Series(users, dtype="string"))
    long.insert(2, "_k", np.asarray(ks, dtype="int64"))
    return long


def _valid_by(df: pd.DataFrame) -> str:
    columns = [c for c in df.columns if c != "user_ids"]
    return (
        "'user' (from user_ids), "
        + ", ".join(map(repr, TIME_BUCKETS))
        + " (buckets of created_at), or a column of the frame: "
        + ", ".join(map(str, columns))
    )


def _keyed(df: pd.DataFrame, by: str | None, fn: str) -> Any:
    """The frame with a ``_key`` column for ``by`` (``_row``/``_k`` added for users).

    For ``by="user"`` a session appears once per user; ``_k`` is the number of users sharing it
    (callers decide whether to divide by it).
    """
    import numpy as np
    import pandas as pd

    if by is None:
        out = df.reset_index(drop=True)
        out.insert(0, "_row", np.arange(len(df), dtype="int64"))
        out.insert(1, "_key", pd.Series([""] * len(df), dtype="string"))
        out.insert(2, "_k", np.ones(len(df), dtype="int64"))
        return out
    if not isinstance(by, str):
        raise UsageError(f"{fn}(): by must be a string: {_valid_by(df)}; got {by!r}")
    if by == "user":
        _check_frame(df, fn, ["user_ids"])
        return _explode_users(df, include_unattributed=True)
    if by in TIME_BUCKETS:
        _check_frame(df, fn, ["created_at"])
        if not isinstance(df["created_at"].dtype, pd.DatetimeTZDtype):
            raise UsageError(f"{fn}(): created_at must be a tz-aware datetime column")
        bins = _period_bins(df["created_at"], _offset(TIME_BUCKETS[by], fn))
        keys = _bucket(df["created_at"], bins)
    elif by in df.columns and by != "user_ids":
        keys = df[by]
    else:
        hint = " (use by='user' for user_ids)" if by == "user_ids" else ""
        raise UsageError(f"{fn}(): cannot group by {by!r}{hint}; use {_valid_by(df)}")
    out = df.reset_index(drop=True)
    out.insert(0, "_row", np.arange(len(df), dtype="int64"))
    out.insert(1, "_key", keys.reset_index(drop=True))
    out.insert(2, "_k", np.ones(len(df), dtype="int64"))
    return out


def _finish_groups(
    keys: Any, columns: dict[str, Any], by: str | None, key_dtype: Any
) -> pd.DataFrame:
    import pandas as pd

    data: dict[str, Any] = {}
    if by is not None:
        data[by] = pd.array(list(keys), dtype=key_dtype)
    data.update(columns)
    return pd.DataFrame(data, index=pd.RangeIndex(len(keys)))


def _group_sizes(long: pd.DataFrame, by: str | None = "") -> Any:
    """Rows per group, sorted by key; ``by=None`` always has its one overall group."""
    sizes = long.groupby("_key", dropna=False, sort=True).size()
    if by is None and sizes.empty:
        import pandas as pd

        sizes = pd.Series([0], index=pd.Index([""], dtype="string"), dtype="int64")
    return sizes


def _sum_int(long: pd.DataFrame, column: str, index: Any) -> Any:
    """Per-group Int64 sum of ``column`` aligned to ``index`` (NA skipped, empty sum 0)."""
    values = long[column].astype("Int64")
    sums = values.groupby(long["_key"], dropna=False, sort=True).sum()
    return sums.reindex(index).fillna(0).astype("Int64").array


def _sum_float(long: pd.DataFrame, values: Any, index: Any) -> Any:
    import pandas as pd

    s = pd.Series(values, index=long.index, dtype="float64")
    sums = s.groupby(long["_key"], dropna=False, sort=True).sum(min_count=0)
    return sums.reindex(index).fillna(0.0).to_numpy(dtype="float64")


def _key_dtype(long: pd.DataFrame) -> Any:
    return long["_key"].dtype


# ---------------------------------------------------------------------------------------------
# Recipes
# ---------------------------------------------------------------------------------------------

_SUMMARY_COLUMNS = [
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

    _check_frame(df, "summary", _SUMMARY_COLUMNS)
    cost = _float_values(df["total_cost"])
    lat = _float_values(df["avg_latency"])
    req = _float_values(df["total_requests"])
    has = ~np.isnan(lat) & ~np.isnan(req)
    weight = float(req[has].sum())
    mean_latency = float((lat[has] * req[has]).sum() / weight) if weight > 0 else float("nan")
    users = {u for ids in _user_lists(df) for u in ids}
    cost_q = _quantiles(cost, [0.5, 0.9, 0.99])
    lat_q = _quantiles(lat, [0.5, 0.9, 0.99])
    dur_q = _quantiles(_float_values(df["duration_s"]), [0.5, 0.9])
    tokens = {c: int(df[c].astype("Int64").sum()) for c in
              ("prompt_tokens", "completion_tokens", "total_tokens")}
    total_cost = float(np.nansum(cost))
    n_cost = int((~np.isnan(cost)).sum())
    tz_dtype = df["created_at"].dtype

    def _int(v: int) -> Any:
        return pd.array([v], dtype="Int64")

    row: dict[str, Any] = {
        "start": pd.Series([df["created_at"].min()], dtype=tz_dtype).array,
        "end": pd.Series([df["latest_request_created_at"].max()],
                         dtype=df["latest_request_created_at"].dtype).array,
        "sessions": _int(len(df)),
        "session_ids": _int(int(df["session_id"].nunique(dropna=True))),
        "users": _int(len(users)),
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


def _other_row_key(dtype: Any) -> Any:
    import pandas as pd

    if isinstance(dtype, pd.DatetimeTZDtype) or str(dtype).startswith("datetime"):
        return pd.NaT
    if pd.api.types.is_string_dtype(dtype):
        return OTHER
    return None


def _top_and_share(
    out: pd.DataFrame,
    by: str,
    top: int | None,
    other: Callable[[pd.DataFrame], dict[str, Any]],
) -> pd.DataFrame:
    """Sort by cost (desc, ties by key), cut to ``top`` + one OTHER row, add the shares.

    ``other(rest)`` gives the OTHER row's values from the rows below the cut.
    """
    import numpy as np
    import pandas as pd

    out = out.sort_values(by, kind="mergesort", na_position="last")
    out = out.sort_values("total_cost", ascending=False, kind="mergesort").reset_index(drop=True)
    if top is not None and len(out) > top:
        head, below = out.iloc[:top], out.iloc[top:]
        rest = pd.DataFrame({c: [v] for c, v in other(below).items()})
        for col in rest.columns:
            rest[col] = rest[col].astype(out[col].dtype)
        key = _other_row_key(out[by].dtype)
        if key is None:  # a numeric key column: the label needs an object column
            head = head.astype({by: object})
            rest[by] = pd.Series([OTHER], dtype=object)
        else:
            rest[by] = pd.Series([key], dtype=out[by].dtype)
        out = pd.concat([head, rest[out.columns]], ignore_index=True)
    total = float(out["total_cost"].sum())
    share = out["total_cost"].to_numpy(dtype="float64") / total if total > 0 else (
        np.full(len(out), np.nan)
    )
    out["share"] = share
    out["cumulative_share"] = np.cumsum(share)
    return out


def cost_by(df: pd.DataFrame, by: str = "session_name", *, top: int | None = None) -> pd.DataFrame:
    """Cost broken down by a group, with each group's share and the cumulative share.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame.
    by : str, default "session_name"
        ``"session_name"``, ``"session_id"``, ``"user"`` (from ``user_ids``; cost split
        equally among a session's users, see ``cost_by_user``), a time bucket of ``created_at``
        (``"hour"``, ``"day"``, ``"week"`` (starting Monday), ``"month"``, ``"quarter"``,
        ``"year"``, in the frame's time zone, labelled by the period start), or any other
        column of the frame.
    top : int, optional
        Keep the ``top`` most expensive groups and sum the rest into one ``"(other)"`` row
        (NaT for time buckets). Shares always add up to 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>``, ``sessions`` (Int64), ``requests`` (Int64), ``total_cost`` (USD),
        ``share`` and ``cumulative_share`` (fractions of the frame's total cost; NaN when the
        total is 0), sorted by cost, most expensive first (ties by key). For ``by="user"``,
        ``sessions`` and ``requests`` count the sessions a user took part in (whole, not split),
        while ``total_cost`` is the user's split share.

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
    """

    _check_top(top, "cost_by")
    if by == "user":
        users = cost_by_user(df, top=top)
        return users[["user", "sessions", "requests", "total_cost", "share", "cumulative_share"]]
    _check_frame(df, "cost_by", ["total_cost", "total_requests"])
    long = _keyed(df, by, "cost_by")
    sizes = _group_sizes(long)
    out = _finish_groups(
        sizes.index,
        {
            "sessions": sizes.to_numpy(dtype="int64"),
            "requests": _sum_int(long, "total_requests", sizes.index),
            "total_cost": _sum_float(long, _float_values(long["total_cost"]), sizes.index),
        },
        by,
        _key_dtype(long),
    )
    out["sessions"] = out["sessions"].astype("Int64")

    def other(rest: pd.DataFrame) -> dict[str, Any]:
        return {
            "sessions": int(rest["sessions"].sum()),
            "requests": int(rest["requests"].sum()),
            "total_cost": float(rest["total_cost"].sum()),
        }

    return _top_and_share(out, by, top, other)


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

    _check_top(top, "cost_by_user")
    _check_frame(df, "cost_by_user", ["user_ids", "total_cost", "total_requests", "total_tokens"])
    long = _explode_users(df, include_unattributed)
    k = long["_k"].to_numpy(dtype="float64")
    cost = _float_values(long["total_cost"]) / k
    reqs = _float_values(long["total_requests"])
    toks = _float_values(long["total_tokens"])
    shared = (long["_k"] > 1).to_numpy()
    sizes = _group_sizes(long)
    idx = sizes.index
    out = pd.DataFrame(
        {
            "user": pd.array(list(idx), dtype="string"),
            "sessions": pd.array(sizes.to_numpy(dtype="int64"), dtype="Int64"),
            "shared_sessions": pd.array(
                _sum_float(long, shared.astype("float64"), idx).astype("int64"), dtype="Int64"
            ),
            "requests": _sum_int(long, "total_requests", idx),
            "attributed_requests": _sum_float(long, np.nan_to_num(reqs) / k, idx),
            "attributed_tokens": _sum_float(long, np.nan_to_num(toks) / k, idx),
            "total_cost": _sum_float(long, cost, idx),
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

    return _top_and_share(out, "user", top, other)


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

    _check_frame(df, "cost_over_time", ["created_at", "total_cost", "total_requests",
                                        "total_tokens"])
    offset = _offset(freq, "cost_over_time")
    times = df["created_at"]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise UsageError("cost_over_time(): created_at must be a tz-aware datetime column")
    bins = _period_bins(times, offset)
    keys = _bucket(times, bins)
    frame = pd.DataFrame(
        {
            "_key": keys.to_numpy(),
            "total_cost": _float_values(df["total_cost"]),
            "total_requests": df["total_requests"].astype("Int64").to_numpy(),
            "total_tokens": df["total_tokens"].astype("Int64").to_numpy(),
        }
    ).astype({"total_requests": "Int64", "total_tokens": "Int64"})
    frame = frame[frame["_key"].notna()]
    g = frame.groupby("_key", sort=True)
    index = pd.DatetimeIndex(bins)

    def _counts(values: Any) -> Any:
        return pd.array(
            values.reindex(index).fillna(0).to_numpy(dtype="int64"), dtype="Int64"
        )

    cost = g["total_cost"].sum(min_count=0).reindex(index).fillna(0.0).to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "period": pd.Series(index, dtype=times.dtype).array,
            "sessions": _counts(g.size()),
            "requests": _counts(g["total_requests"].sum()),
            "total_tokens": _counts(g["total_tokens"].sum()),
            "total_cost": cost,
            "cumulative_cost": np.cumsum(cost),
        },
        index=pd.RangeIndex(len(index)),
    )


def _stats_table(
    long: pd.DataFrame,
    by: str | None,
    values: np.ndarray[Any, Any],
    ps: Sequence[float],
    prefix: str,
    suffix: str,
    extra: Callable[[Any], dict[str, Any]],
) -> pd.DataFrame:
    """Per-group percentiles and max of ``values`` plus ``extra(index)`` columns."""
    import pandas as pd

    sizes = _group_sizes(long, by)
    idx = sizes.index
    s = pd.Series(values, index=long.index, dtype="float64")
    g = s.groupby(long["_key"], dropna=False, sort=True)
    columns: dict[str, Any] = {"sessions": pd.array(sizes.to_numpy(dtype="int64"), dtype="Int64")}
    columns.update(extra(idx))
    for p in ps:
        q = g.quantile(p) if len(long) else pd.Series([], dtype="float64")
        columns[f"{prefix}{_pname(p)}{suffix}"] = q.reindex(idx).to_numpy(dtype="float64")
    columns[f"{prefix}max{suffix}"] = g.max().reindex(idx).to_numpy(dtype="float64")
    return _finish_groups(idx, columns, by, _key_dtype(long))


def latency_by(
    df: pd.DataFrame,
    by: str | None = "session_name",
    *,
    percentiles: Sequence[float] = (0.5, 0.9, 0.99),
) -> pd.DataFrame:
    """Latency statistics per group, from the per-session mean latencies.

    ``avg_latency`` is each session's MEAN request latency (ms); it says nothing about single
    slow requests inside a session. Two estimates are given per group: ``mean_latency_ms``
    weights each session's mean by its ``total_requests``, which is the mean latency of a
    request in the group (the right number for "how slow is a call"); the
    ``session_p..._ms`` columns are percentiles over sessions, every session weighing the same
    (the right numbers for "how slow is a session's typical call"). For request-level
    percentiles use the requests frame of ``Client.fetch_session_requests``.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame (needs ``avg_latency`` and ``total_requests``).
    by : str or None, default "session_name"
        Grouping as in ``cost_by`` (for ``"user"`` a session counts, unsplit, for each of its
        users); None for one overall row.
    percentiles : sequence of float, default (0.5, 0.9, 0.99)
        Fractions between 0 and 1; each gives a column such as ``session_p90_ms``.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>`` (unless None), ``sessions``, ``requests`` (Int64),
        ``mean_latency_ms``, one ``session_p<q>_ms`` per percentile and ``session_max_ms``;
        sorted by the group key.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import latency_by
    >>> df = pd.DataFrame({
    ...     "session_name": ["chat", "chat", "chat", "plan"],
    ...     "avg_latency": [100.0, 200.0, 900.0, 50.0],
    ...     "total_requests": [8, 1, 1, 2],
    ... })
    >>> out = latency_by(df, "session_name", percentiles=(0.5,))
    >>> out[["session_name", "requests", "mean_latency_ms", "session_p50_ms"]]
      session_name  requests  mean_latency_ms  session_p50_ms
    0         chat        10            190.0           200.0
    1         plan         2             50.0            50.0
    >>> out.columns.tolist()
    ['session_name', 'sessions', 'requests', 'mean_latency_ms', 'session_p50_ms', 'session_max_ms']
    """
    import numpy as np

    ps = _check_percentiles(percentiles, "latency_by")
    _check_frame(df, "latency_by", ["avg_latency", "total_requests"])
    long = _keyed(df, by, "latency_by")
    lat = _float_values(long["avg_latency"])
    req = _float_values(long["total_requests"])
    has = ~np.isnan(lat) & ~np.isnan(req)

    def extra(idx: Any) -> dict[str, Any]:
        weighted = _sum_float(long, np.where(has, lat * np.nan_to_num(req), 0.0), idx)
        weights = _sum_float(long, np.where(has, req, 0.0), idx)
        return {
            "requests": _sum_int(long, "total_requests", idx),
            "mean_latency_ms": _ratio(weighted, weights),
        }

    out = _stats_table(long, by, lat, ps, "session_", "_ms", extra)
    return out


def duration_stats(
    df: pd.DataFrame,
    by: str | None = None,
    *,
    percentiles: Sequence[float] = (0.5, 0.9, 0.99),
) -> pd.DataFrame:
    """Session duration statistics (seconds), overall or per group.

    A session's duration is ``latest_request_created_at - created_at``: from the START of its
    first in-window request to the START of its last one, so a one-request session lasts 0 s
    and the last request's own latency is not included.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame (needs ``duration_s``).
    by : str or None, default None
        Grouping as in ``cost_by``; None for one overall row.
    percentiles : sequence of float, default (0.5, 0.9, 0.99)
        Fractions between 0 and 1; each gives a column such as ``p90_s``.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>`` (unless None), ``sessions`` (Int64), ``mean_s``, one ``p<q>_s`` per
        percentile and ``max_s``; sorted by the group key.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import duration_stats
    >>> df = pd.DataFrame({"duration_s": [0.0, 10.0, 20.0, 90.0]})
    >>> duration_stats(df, percentiles=(0.5, 0.9))
       sessions  mean_s  p50_s  p90_s  max_s
    0         4    30.0   15.0   69.0   90.0
    """
    ps = _check_percentiles(percentiles, "duration_stats")
    _check_frame(df, "duration_stats", ["duration_s"])
    long = _keyed(df, by, "duration_stats")
    dur = _float_values(long["duration_s"])

    def extra(idx: Any) -> dict[str, Any]:
        import pandas as pd

        mean = pd.Series(dur, index=long.index).groupby(long["_key"], dropna=False).mean()
        return {"mean_s": mean.reindex(idx).to_numpy(dtype="float64")}

    return _stats_table(long, by, dur, ps, "", "_s", extra)


def cost_per_1k_tokens(df: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Cost per 1,000 tokens (prompt + completion), overall or per group.

    The ratio is of sums (total cost / total tokens of the group), not a mean of per-session
    ratios, so big sessions weigh more. Groups without tokens get NaN.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame (needs ``total_cost``, ``total_tokens``).
    by : str or None, default None
        Grouping as in ``cost_by`` (``"user"`` splits cost and tokens equally among a
        session's users); None for one overall row.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>`` (unless None), ``sessions`` (Int64), ``total_tokens`` (float64 for
        ``by="user"`` because of the split, else Int64), ``total_cost`` (USD) and
        ``cost_per_1k_tokens`` (USD); sorted by the group key.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import cost_per_1k_tokens
    >>> df = pd.DataFrame({
    ...     "model_family": ["small", "small", "large"],
    ...     "total_cost": [0.01, 0.03, 0.50],
    ...     "total_tokens": [10_000, 30_000, 20_000],
    ... })
    >>> cost_per_1k_tokens(df, by="model_family")
      model_family  sessions  total_tokens  total_cost  cost_per_1k_tokens
    0        large         1         20000        0.50               0.025
    1        small         2         40000        0.04               0.001
    """
    import numpy as np
    import pandas as pd

    _check_frame(df, "cost_per_1k_tokens", ["total_cost", "total_tokens"])
    long = _keyed(df, by, "cost_per_1k_tokens")
    k = long["_k"].to_numpy(dtype="float64")
    sizes = _group_sizes(long, by)
    idx = sizes.index
    cost = _sum_float(long, _float_values(long["total_cost"]) / k, idx)
    if by == "user":
        tokens: Any = _sum_float(long, np.nan_to_num(_float_values(long["total_tokens"])) / k, idx)
    else:
        tokens = _sum_int(long, "total_tokens", idx)
    per_1k = _ratio(cost, tokens) * 1000.0
    return _finish_groups(
        idx,
        {
            "sessions": pd.array(sizes.to_numpy(dtype="int64"), dtype="Int64"),
            "total_tokens": tokens,
            "total_cost": cost,
            "cost_per_1k_tokens": per_1k,
        },
        by,
        _key_dtype(long),
    )


def _metric(df: pd.DataFrame, column: str, fn: str) -> Any:
    """A numeric column of ``df`` or a derived metric, as a float64 Series."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        _check_frame(df, fn, [])
    if column in DERIVED_METRICS:
        parts = {
            "cost_per_request": ("total_cost", "total_requests", 1.0),
            "cost_per_1k_tokens": ("total_cost", "total_tokens", 1000.0),
            "tokens_per_request": ("total_tokens", "total_requests", 1.0),
        }[column]
        _check_frame(df, fn, parts[:2])
        values = _ratio(df[parts[0]], df[parts[1]]) * parts[2]
        return pd.Series(values, index=df.index, dtype="float64", name=column)
    numeric = [
        c for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c])
    ]
    if column not in numeric:
        why = "is not numeric" if column in df.columns else "is not a column of this frame"
        raise UsageError(
            f"{fn}(): {column!r} {why}; use a numeric column "
            f"({', '.join(map(str, numeric)) or 'none in this frame'}) or a derived metric "
            f"({', '.join(DERIVED_METRICS)})"
        )
    return df[column].astype("float64")


def top_sessions(
    df: pd.DataFrame, by: str = "total_cost", n: int = 10, *, ascending: bool = False
) -> pd.DataFrame:
    """The ``n`` sessions with the highest (or lowest) value of a metric.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame.
    by : str, default "total_cost"
        Any numeric column (``total_cost``, ``avg_latency``, ``duration_s``, ``total_tokens``,
        ...) or a derived metric: ``"cost_per_request"``, ``"cost_per_1k_tokens"``,
        ``"tokens_per_request"`` (added to the result as a column).
    n : int, default 10
        How many sessions.
    ascending : bool, default False
        True for the lowest values.

    Returns
    -------
    pandas.DataFrame
        The selected rows with every column of ``df`` (plus the derived metric), sorted by
        ``by``; missing values last, ties in input order; a fresh 0..n-1 index.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import top_sessions
    >>> df = pd.DataFrame({
    ...     "session_id": ["a", "b", "c"],
    ...     "total_cost": [0.2, 0.9, 0.4],
    ...     "total_requests": [1, 9, 2],
    ... })
    >>> top_sessions(df, "total_cost", n=2)
      session_id  total_cost  total_requests
    0          b         0.9               9
    1          c         0.4               2
    >>> top_sessions(df, "cost_per_request", n=1)
      session_id  total_cost  total_requests  cost_per_request
    0          a         0.2               1               0.2
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise UsageError(f"top_sessions(): n must be a non-negative integer, got {n!r}")
    values = _metric(df, by, "top_sessions")
    out = df.copy()
    if by in DERIVED_METRICS:
        out[by] = values
    ranked = values.reset_index(drop=True).sort_values(
        ascending=ascending, kind="mergesort", na_position="last"
    )
    result: pd.DataFrame = out.iloc[ranked.index[:n]].reset_index(drop=True)
    return result


def outliers(
    df: pd.DataFrame,
    column: str = "total_cost",
    threshold: float = 3.5,
    *,
    side: Literal["both", "high", "low"] = "both",
    log: bool = False,
    by: str | None = None,
) -> pd.DataFrame:
    """Sessions whose value is far from the median, by a robust (MAD-based) z-score.

    The robust z-score (Iglewicz and Hoaglin's modified z-score) is
    ``0.6745 * (x - median) / MAD`` with ``MAD = median(|x - median|)``; a few huge sessions
    cannot hide themselves by inflating the spread, as they do with mean and standard
    deviation. When more than half the values are equal, MAD is 0; the score then uses the mean
    absolute deviation instead, ``(x - median) / (1.253314 * meanAD)``; when every value is
    equal, every score is 0 and nothing is an outlier. Missing values get no score.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame.
    column : str, default "total_cost"
        A numeric column (e.g. ``"total_cost"``, ``"avg_latency"``, ``"duration_s"``) or a
        derived metric (``"cost_per_request"``, ``"cost_per_1k_tokens"``,
        ``"tokens_per_request"``).
    threshold : float, default 3.5
        Rows with ``|robust_z| > threshold`` (the usual cut-off is 3.5).
    side : {"both", "high", "low"}, default "both"
        Which tail to report: ``"high"`` only unusually expensive / slow sessions.
    log : bool, default False
        Score ``log10(x)`` instead of ``x`` (costs and latencies are usually skewed, so this
        flags fewer merely-large sessions); values <= 0 then get no score.
    by : str, optional
        Score each session against the sessions of its own group, e.g. ``"session_name"``: a
        $0.60 run can be normal for a code-review agent and an outlier for an e-mail drafter.
        Any grouping of ``cost_by`` except ``"user"`` (which would score a shared session
        once per user).

    Returns
    -------
    pandas.DataFrame
        The outlying rows: every column of ``df`` (plus a derived metric), ``median`` (the
        median the session was compared with, in the column's units) and ``robust_z``; sorted
        by ``|robust_z|``, largest first.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import outliers
    >>> df = pd.DataFrame({
    ...     "session_id": list("abcdef"),
    ...     "total_cost": [1.0, 1.1, 0.9, 1.0, 1.2, 9.0],
    ... })
    >>> outliers(df, "total_cost")   # median 1.05, MAD 0.1: 0.6745 * 7.95 / 0.1
      session_id  total_cost  median  robust_z
    0          f         9.0    1.05  53.62275
    >>> df["session_name"] = ["chat"] * 3 + ["agent"] * 3
    >>> outliers(df, "total_cost", by="session_name")["session_id"].tolist()
    ['f']
    """
    import numpy as np
    import pandas as pd

    if side not in ("both", "high", "low"):
        raise UsageError(f"outliers(): side must be 'both', 'high' or 'low', got {side!r}")
    try:
        limit = float(threshold)
    except (TypeError, ValueError):
        raise UsageError(f"outliers(): threshold must be a number, got {threshold!r}") from None
    if not limit > 0:
        raise UsageError(f"outliers(): threshold must be positive, got {threshold!r}")
    values = _metric(df, column, "outliers")
    raw = values.to_numpy(dtype="float64")
    x = raw
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(raw > 0, np.log10(np.where(raw > 0, raw, 1.0)), np.nan)
    z = np.full(len(x), np.nan)
    median = np.full(len(x), np.nan)
    if by == "user":
        raise UsageError(
            "outliers(): by='user' is not supported (a session shared by several users would "
            "be scored once per user); group by a column such as 'session_name' or a time "
            "bucket such as 'day'"
        )
    if by is None:
        groups: dict[Any, Any] = {0: np.arange(len(x))}
    else:
        keys = _keyed(df, by, "outliers")["_key"]
        codes = pd.factorize(keys, use_na_sentinel=False)[0]
        groups = pd.Series(np.arange(len(x))).groupby(codes).indices
    for pos in groups.values():
        z[pos] = _robust_z(x[pos])
        scored = raw[pos][~np.isnan(x[pos])]
        median[pos] = float(np.median(scored)) if scored.size else np.nan
    if side == "high":
        hit = z > limit
    elif side == "low":
        hit = z < -limit
    else:
        hit = np.abs(z) > limit
    hit &= ~np.isnan(z)
    out = df.copy()
    if column in DERIVED_METRICS:
        out[column] = values
    out["median"] = median
    out["robust_z"] = z
    out = out.loc[hit]
    order = np.argsort(-np.abs(out["robust_z"].to_numpy()), kind="stable")
    result: pd.DataFrame = out.iloc[order].reset_index(drop=True)
    return result


def _robust_z(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    import numpy as np

    z = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    if not ok.any():
        return z
    v = x[ok]
    med = float(np.median(v))
    dev = np.abs(v - med)
    mad = float(np.median(dev))
    if mad > 0:
        z[ok] = 0.6745 * (v - med) / mad
        return z
    mean_ad = float(dev.mean())
    z[ok] = (v - med) / (1.253314 * mean_ad) if mean_ad > 0 else 0.0
    return z
