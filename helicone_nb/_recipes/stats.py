"""Latency, duration, cost per token, rankings and outliers (see ``helicone_nb.recipes``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from .._errors import UsageError
from .._present.checks import check_frame, check_percentiles, float_values, ratio
from .grouping import finish_groups, group_sizes, key_dtype, keyed, stats_table, sum_float, sum_int

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Metrics computed from other columns, accepted by ``top_sessions`` and ``outliers``.
DERIVED_METRICS: dict[str, str] = {
    "cost_per_request": "total_cost / total_requests (USD)",
    "cost_per_1k_tokens": "1000 * total_cost / total_tokens (USD)",
    "tokens_per_request": "total_tokens / total_requests",
}


def latency_by(
    df: pd.DataFrame,
    by: str | Sequence[str] | None = "session_name",
    *,
    percentiles: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Latency statistics per group: per-request percentiles on a requests frame, per-session
    means on a sessions frame.

    On a REQUESTS frame (``fetch_requests``, ``fetch_session_requests``) the percentiles are
    true per-request percentiles of ``latency_ms`` and of ``time_to_first_token_ms`` (TTFT,
    streamed requests only).

    ``avg_latency`` is each session's MEAN request latency (ms); it says nothing about single
    slow requests inside a session. Two estimates are given per group: ``mean_latency_ms``
    weights each session's mean by its ``total_requests``, which is the mean latency of a
    request in the group (the right number for "how slow is a call"); the
    ``session_p..._ms`` columns are percentiles over sessions, every session weighing the same
    (the right numbers for "how slow is a session's typical call"). For request-level
    percentiles pass a requests frame.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame (needs ``avg_latency`` and ``total_requests``) or a requests frame
        (needs ``latency_ms``).
    by : str, list of str, or None, default "session_name"
        Grouping as in ``cost_by`` (sessions: for ``"user"`` a session counts, unsplit, for
        each of its users; requests: ``"model"``, ``"provider"``, ``"session_path"``, a list
        such as ``["model", "day"]``, ...); None for one overall row.
    percentiles : sequence of float, optional
        Fractions between 0 and 1; default (0.5, 0.9, 0.99) for sessions and
        (0.5, 0.9, 0.95, 0.99) for requests.

    Returns
    -------
    pandas.DataFrame
        Sessions: columns ``<by>`` (unless None), ``sessions``, ``requests`` (Int64),
        ``mean_latency_ms``, one ``session_p<q>_ms`` per percentile and ``session_max_ms``.
        Requests: ``<by>``, ``requests``, ``mean_latency_ms``, ``latency_p<q>_ms`` per
        percentile, ``latency_max_ms``, and, when the frame has TTFT, ``streamed`` (requests
        with a TTFT) and ``ttft_p<q>_ms``. Sorted by the group key.

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

    On a requests frame, every request counts once:

    >>> req = pd.DataFrame({"model": ["a"] * 4 + ["b"], "cost": 0.0,
    ...                     "latency_ms": [100.0, 200.0, 300.0, 1000.0, 50.0]})
    >>> out = latency_by(req, "model", percentiles=(0.5, 0.95))
    >>> out[["model", "requests", "latency_p50_ms", "latency_p95_ms", "latency_max_ms"]]
      model  requests  latency_p50_ms  latency_p95_ms  latency_max_ms
    0     a         4           250.0           895.0          1000.0
    1     b         1            50.0            50.0            50.0
    """
    import numpy as np

    from .keys import frame_kind
    from .requests import latency_by_requests

    if frame_kind(df, "latency_by") == "requests":
        return latency_by_requests(df, by, percentiles)
    if by is not None and not isinstance(by, str):
        raise UsageError(
            "latency_by(): a list of keys needs a requests frame (per-session means cannot be "
            "re-grouped exactly); pass one key, or a requests frame"
        )
    ps = check_percentiles((0.5, 0.9, 0.99) if percentiles is None else percentiles, "latency_by")
    check_frame(df, "latency_by", ["avg_latency", "total_requests"])
    long = keyed(df, by, "latency_by")
    lat = float_values(long["avg_latency"])
    req = float_values(long["total_requests"])
    has = ~np.isnan(lat) & ~np.isnan(req)

    def extra(idx: Any) -> dict[str, Any]:
        weighted = sum_float(long, np.where(has, lat * np.nan_to_num(req), 0.0), idx)
        weights = sum_float(long, np.where(has, req, 0.0), idx)
        return {
            "requests": sum_int(long, "total_requests", idx),
            "mean_latency_ms": ratio(weighted, weights),
        }

    out = stats_table(long, by, lat, ps, "session_", "_ms", extra)
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
    ps = check_percentiles(percentiles, "duration_stats")
    check_frame(df, "duration_stats", ["duration_s"])
    long = keyed(df, by, "duration_stats")
    dur = float_values(long["duration_s"])

    def extra(idx: Any) -> dict[str, Any]:
        import numpy as np

        has = (~np.isnan(dur)).astype("float64")
        return {"mean_s": ratio(sum_float(long, dur, idx), sum_float(long, has, idx))}

    return stats_table(long, by, dur, ps, "", "_s", extra)


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

    check_frame(df, "cost_per_1k_tokens", ["total_cost", "total_tokens"])
    long = keyed(df, by, "cost_per_1k_tokens")
    k = long["_k"].to_numpy(dtype="float64")
    sizes = group_sizes(long, by)
    idx = sizes.index
    cost = sum_float(long, float_values(long["total_cost"]) / k, idx)
    if by == "user":
        tokens: Any = sum_float(long, np.nan_to_num(float_values(long["total_tokens"])) / k, idx)
    else:
        tokens = sum_int(long, "total_tokens", idx)
    per_1k = ratio(cost, tokens) * 1000.0
    return finish_groups(
        idx,
        {
            "sessions": pd.array(sizes.to_numpy(dtype="int64"), dtype="Int64"),
            "total_tokens": tokens,
            "total_cost": cost,
            "cost_per_1k_tokens": per_1k,
        },
        by,
        key_dtype(long),
    )


def _metric(df: pd.DataFrame, column: str, fn: str) -> Any:
    """A numeric column of ``df`` or a derived metric, as a float64 Series."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        check_frame(df, fn, [])
    if column in DERIVED_METRICS:
        parts = {
            "cost_per_request": ("total_cost", "total_requests", 1.0),
            "cost_per_1k_tokens": ("total_cost", "total_tokens", 1000.0),
            "tokens_per_request": ("total_tokens", "total_requests", 1.0),
        }[column]
        check_frame(df, fn, parts[:2])
        values = ratio(df[parts[0]], df[parts[1]]) * parts[2]
        return pd.Series(values, index=df.index, dtype="float64", name=column)
    numeric = [
        c
        for c in df.columns
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
        keys = keyed(df, by, "outliers")["_key"]
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
