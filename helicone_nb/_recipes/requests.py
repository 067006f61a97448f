"""Recipes of a requests frame: cost, latency, errors, model mix, scores, feedback.

A requests frame has one row per request (``client.fetch_requests(...)``, or one session's
``client.fetch_session_requests(session_id)``); its columns are ``REQUEST_SCHEMA`` in
``helicone_nb._frames``. Each recipe needs only the columns it uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import check_frame, check_percentiles, check_top, float_values, pname, ratio
from .grouping import OTHER
from .keys import Groups, groups, int64_array, require_requests

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Percentiles of ``latency_by`` on a requests frame.
REQUEST_PERCENTILES = (0.5, 0.9, 0.95, 0.99)
#: The score key Helicone stores feedback under (1 positive, 0 negative).
FEEDBACK_SCORE = "helicone-score-feedback"


def _tokens(df: pd.DataFrame) -> np.ndarray[Any, Any]:
    """Tokens per request as float64 (NA -> 0): total_tokens, else prompt + completion."""
    import numpy as np

    if "total_tokens" in df.columns:
        tokens: np.ndarray[Any, Any] = np.nan_to_num(float_values(df["total_tokens"]))
        return tokens
    total = np.zeros(len(df))
    for column in ("prompt_tokens", "completion_tokens"):
        if column in df.columns:
            total += np.nan_to_num(float_values(df[column]))
    return total


def failed_mask(df: pd.DataFrame) -> np.ndarray[Any, Any]:
    """True where the request failed: status >= 400, or no status at all."""
    import numpy as np

    status = float_values(df["status"])
    failed: np.ndarray[Any, Any] = np.isnan(status) | (status >= 400)
    return failed


def order_groups(
    out: pd.DataFrame, g: Groups, top: int | None, other: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Most expensive first (time buckets in time order), ``top`` groups + OTHER, shares."""
    import numpy as np
    import pandas as pd

    out = out.sort_values("total_cost", ascending=False, kind="mergesort").reset_index(drop=True)
    if top is not None and len(out) > top:
        head, rest = out.iloc[:top], out.iloc[top:]
        row: dict[str, Any] = {}
        for column in out.columns:
            if column in g.names:
                dtype = out[column].dtype
                if isinstance(dtype, pd.DatetimeTZDtype):
                    row[column] = pd.NaT
                elif pd.api.types.is_string_dtype(dtype):
                    row[column] = OTHER
                else:
                    row[column] = None
            elif column in (other or {}):
                row[column] = (other or {})[column](rest)
            elif pd.api.types.is_numeric_dtype(out[column].dtype):
                row[column] = rest[column].sum()
            else:
                row[column] = None
        extra = pd.DataFrame({c: [v] for c, v in row.items()})
        for column in out.columns:
            if column not in g.names and pd.api.types.is_numeric_dtype(out[column].dtype):
                extra[column] = extra[column].astype(out[column].dtype)
        if any(
            not isinstance(out[c].dtype, pd.DatetimeTZDtype)
            and not pd.api.types.is_string_dtype(out[c].dtype)
            for c in g.names
        ):
            head = head.astype({c: object for c in g.names})
            extra = extra.astype({c: object for c in g.names})
            for c in g.names:
                if extra[c].iloc[0] is None:
                    extra.loc[0, c] = OTHER
        out = pd.concat([head, extra[out.columns]], ignore_index=True)
    if g.time_keys:
        keep = len(out) - (1 if top is not None and len(out) > top else 0)
        times = out.iloc[:keep]
        order = times.sort_values(
            [*g.time_keys, "total_cost"],
            ascending=[*([True] * len(g.time_keys)), False],
            kind="mergesort",
        ).index
        out = pd.concat([out.loc[order], out.iloc[keep:]], ignore_index=True)
    total = float(out["total_cost"].sum())
    share = (
        out["total_cost"].to_numpy(dtype="float64") / total
        if total > 0
        else np.full(len(out), np.nan)
    )
    out["share"] = share
    out["cumulative_share"] = np.cumsum(share)
    return out


def cost_by_requests(
    df: pd.DataFrame, by: str | Sequence[str] | None, top: int | None
) -> pd.DataFrame:
    """``cost_by`` on a requests frame (see ``helicone_nb.recipes.cost_by``)."""
    check_top(top, "cost_by")
    require_requests(df, "cost_by", ["cost"])
    g = groups(df, by, "cost_by")
    cost = g.sum(float_values(df["cost"]))
    tokens = g.sum(_tokens(df))
    out = g.frame(
        {
            "requests": int64_array(g.count()),
            "total_tokens": int64_array(tokens),
            "total_cost": cost,
        }
    )
    out = order_groups(out, g, top)
    out.insert(
        len(out.columns) - 2,
        "cost_per_1k_tokens",
        ratio(out["total_cost"], out["total_tokens"].astype("float64")) * 1000.0,
    )
    return out


def latency_by_requests(
    df: pd.DataFrame, by: str | Sequence[str] | None, percentiles: Sequence[float] | None
) -> pd.DataFrame:
    """``latency_by`` on a requests frame: true per-request percentiles."""
    import numpy as np

    from .grouping import group_quantiles

    ps = check_percentiles(
        REQUEST_PERCENTILES if percentiles is None else percentiles, "latency_by"
    )
    require_requests(df, "latency_by", ["latency_ms"])
    g = groups(df, by, "latency_by")
    latency = float_values(df["latency_ms"])
    columns: dict[str, Any] = {"requests": int64_array(g.count())}
    has = ~np.isnan(latency)
    columns["mean_latency_ms"] = ratio(g.sum(latency), g.count(has))
    qs, top = group_quantiles(g.codes, latency, g.n, ps)
    for p, q in zip(ps, qs, strict=True):
        columns[f"latency_{pname(p)}_ms"] = q
    columns["latency_max_ms"] = top
    if "time_to_first_token_ms" in df.columns:
        ttft = float_values(df["time_to_first_token_ms"])
        columns["streamed"] = int64_array(g.count(~np.isnan(ttft)))
        qs, _ = group_quantiles(g.codes, ttft, g.n, ps)
        for p, q in zip(ps, qs, strict=True):
            columns[f"ttft_{pname(p)}_ms"] = q
    return g.frame(columns)


def error_rate(requests: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Failed requests per group: status >= 400, or no status at all.

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``status``).
    by : str, list of str, or None, default None
        Grouping as in ``cost_by`` on a requests frame (``"model"``, ``"provider"``,
        ``"session_path"``, ``"day"``, a custom property, a list such as
        ``["day", "model"]``); None for one overall row.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>`` (unless None), ``requests``, ``failed`` (Int64), ``error_rate``
        (failed / requests), and the counts per status class ``2xx``, ``3xx``, ``4xx``,
        ``5xx``, ``no_status`` (Int64); sorted by the keys (time buckets in time order).

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import error_rate
    >>> req = pd.DataFrame({"model": ["a", "a", "a", "b"], "status": [200, 500, None, 429],
    ...                     "cost": [0.1, 0.0, 0.0, 0.0]})
    >>> error_rate(req, "model")
      model  requests  failed  error_rate  2xx  3xx  4xx  5xx  no_status
    0     a         3       2    0.666667    1    0    0    1          1
    1     b         1       1    1.000000    0    0    1    0          0
    """
    import numpy as np

    require_requests(requests, "error_rate", ["status"])
    g = groups(requests, by, "error_rate")
    status = float_values(requests["status"])
    failed = failed_mask(requests)
    n = g.count()
    columns: dict[str, Any] = {
        "requests": int64_array(n),
        "failed": int64_array(g.count(failed)),
        "error_rate": ratio(g.count(failed), n),
    }
    for lo, label in ((200, "2xx"), (300, "3xx"), (400, "4xx"), (500, "5xx")):
        columns[label] = int64_array(g.count((status >= lo) & (status < lo + 100)))
    columns["no_status"] = int64_array(g.count(np.isnan(status)))
    return g.frame(columns)


def model_mix(requests: pd.DataFrame, by: str | Sequence[str] = "session_name") -> pd.DataFrame:
    """Each group's models: requests and cost per model, and their shares within the group.

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``model`` and ``cost``).
    by : str or list of str, default "session_name"
        The groups whose mix is shown, as in ``cost_by`` (``"session_name"``,
        ``"session_path"``, ``"week"``, a custom property, ...).

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>``, ``model``, ``requests`` (Int64), ``total_cost`` (USD),
        ``request_share`` and ``cost_share`` (fractions of the group; each group's shares add
        up to 1, NaN when its cost is 0); groups in key order, models most expensive first.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import model_mix
    >>> req = pd.DataFrame({"session_name": ["chat", "chat", "chat", "plan"],
    ...                     "model": ["mini", "mini", "big", "big"],
    ...                     "cost": [0.01, 0.01, 0.08, 0.5]})
    >>> model_mix(req)
      session_name model  requests  total_cost  request_share  cost_share
    0         chat   big         1        0.08       0.333333         0.8
    1         chat  mini         2        0.02       0.666667         0.2
    2         plan   big         1        0.50       1.000000         1.0
    """
    import numpy as np

    require_requests(requests, "model_mix", ["model", "cost"])
    names = [by] if isinstance(by, str) else list(by)
    if "model" in names:
        raise UsageError("model_mix(): by must name the groups whose models are shown, not 'model'")
    g = groups(requests, [*names, "model"], "model_mix")
    outer = groups(requests, names, "model_mix")
    n = g.count()
    cost = g.sum(float_values(requests["cost"]))
    # the outer group of each (group, model) row
    first = np.full(g.n, -1, dtype="int64")
    first[g.codes[::-1]] = np.arange(len(g.codes) - 1, -1, -1)
    parent = outer.codes[first]
    group_n = outer.count()[parent]
    group_cost = outer.sum(float_values(requests["cost"]))[parent]
    out = g.frame(
        {
            "requests": int64_array(n),
            "total_cost": cost,
            "request_share": ratio(n, group_n),
            "cost_share": ratio(cost, group_cost),
        }
    )
    out["_parent"] = parent
    out = out.sort_values(["_parent", "total_cost"], ascending=[True, False], kind="mergesort")
    return out.drop(columns="_parent").reset_index(drop=True)


def session_breakdown(requests: pd.DataFrame, by: str = "model") -> pd.DataFrame:
    """Inside each session: cost, requests and latency per model (or per path, or any key).

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``session_id``, ``cost``, ``latency_ms``).
    by : str, default "model"
        What to break each session down by: ``"model"``, ``"session_path"``, ``"provider"``,
        a custom property, ...

    Returns
    -------
    pandas.DataFrame
        Columns ``session_id``, ``session_name`` (when the frame has it), ``<by>``,
        ``requests`` (Int64), ``total_cost`` (USD), ``cost_share`` (of the session's cost),
        ``mean_latency_ms``, ``total_latency_ms``; sessions most expensive first, and inside a
        session the most expensive part first. Requests without a session id are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import session_breakdown
    >>> req = pd.DataFrame({"session_id": ["s1", "s1", "s1", "s2"],
    ...                     "model": ["mini", "big", "big", "mini"],
    ...                     "cost": [0.01, 0.04, 0.05, 0.02],
    ...                     "latency_ms": [100.0, 900.0, 1100.0, 200.0]})
    >>> out = session_breakdown(req, "model")
    >>> out[["session_id", "model", "requests", "total_cost", "cost_share", "mean_latency_ms"]]
      session_id model  requests  total_cost  cost_share  mean_latency_ms
    0         s1   big         2        0.09         0.9           1000.0
    1         s1  mini         1        0.01         0.1            100.0
    2         s2  mini         1        0.02         1.0            200.0
    """
    import numpy as np
    import pandas as pd

    require_requests(requests, "session_breakdown", ["session_id", "cost", "latency_ms"])
    if not isinstance(by, str) or by in ("session_id", "session_name"):
        raise UsageError(
            f"session_breakdown(): by must be one key such as 'model' or 'session_path', got {by!r}"
        )
    names = ["session_id", *(["session_name"] if "session_name" in requests.columns else []), by]
    cache: dict[str, Any] = {}
    every = groups(requests, "session_id", "session_breakdown", cache)
    codes, uniques, _ = cache["session_id"]
    ids = np.asarray(uniques, dtype=object)
    missing = np.asarray(pd.isna(ids), dtype=bool)
    missing[~missing] = ids[~missing] == ""
    keep = ~missing[codes]  # requests outside any session are left out
    sessions = every.only(keep)
    g = groups(requests, names, "session_breakdown", cache).only(keep)
    latency = float_values(requests["latency_ms"])
    cost_values = float_values(requests["cost"])
    cost = g.sum(cost_values)
    ok = g.codes >= 0
    first = np.full(g.n, -1, dtype="int64")
    rows = np.flatnonzero(ok)
    first[g.codes[rows][::-1]] = rows[::-1]
    parent = sessions.codes[first]
    session_cost = sessions.sum(cost_values)
    out = g.frame(
        {
            "requests": int64_array(g.count()),
            "total_cost": cost,
            "cost_share": ratio(cost, session_cost[parent]),
            "mean_latency_ms": ratio(g.sum(latency), g.count(~np.isnan(latency))),
            "total_latency_ms": g.sum(latency),
        }
    )
    out["_session_cost"] = session_cost[parent]
    out["_parent"] = parent
    order = np.lexsort(
        (-out["total_cost"].to_numpy(), out["_parent"].to_numpy(), -out["_session_cost"].to_numpy())
    )
    return out.iloc[order].drop(columns=["_session_cost", "_parent"]).reset_index(drop=True)


def _score_table(requests: pd.DataFrame) -> tuple[list[str], dict[str, np.ndarray[Any, Any]]]:
    """Score keys and, per key, a float64 value per request (NaN where the request has none)."""
    import numpy as np

    values: dict[str, np.ndarray[Any, Any]] = {}
    if "scores" in requests.columns:
        for i, scores in enumerate(requests["scores"].tolist()):
            if not isinstance(scores, dict):
                continue
            for key, value in scores.items():
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    continue
                column = values.get(key)
                if column is None:
                    column = values[key] = np.full(len(requests), np.nan)
                column[i] = number
    if "feedback" in requests.columns:
        fb = requests["feedback"].astype("boolean")
        values[FEEDBACK_SCORE] = np.where(
            fb.isna().to_numpy(), np.nan, fb.fillna(False).to_numpy(dtype=bool).astype("float64")
        )
    return sorted(values), values


def scores_by(requests: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Scores and feedback per group: how many requests carry each score, its mean, the share
    of positive values.

    Helicone stores scores per request (``scores``: a dict of integer values; boolean scores
    are keyed ``<name>-hcone-bool``) and feedback as the score ``helicone-score-feedback``
    (1 positive, 0 negative; the frame's ``feedback`` column when it has one).

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame with ``scores`` and/or ``feedback``.
    by : str, list of str, or None, default None
        Grouping as in ``cost_by`` on a requests frame; None for the whole frame.

    Returns
    -------
    pandas.DataFrame
        One row per group and score key: ``<by>``, ``score``, ``requests`` (of the group),
        ``scored`` (requests carrying the score), ``mean`` and ``positive_share`` (share of
        values > 0: for feedback, the share of positive feedback); groups in key order.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import scores_by
    >>> req = pd.DataFrame({
    ...     "model": ["a", "a", "b"], "cost": [0.1, 0.1, 0.2],
    ...     "scores": [{"helicone-score-feedback": 1, "accuracy": 80},
    ...                {"helicone-score-feedback": 0}, {}],
    ... })
    >>> scores_by(req, "model")
      model                    score  requests  scored  mean  positive_share
    0     a                 accuracy         2       1  80.0             1.0
    1     a  helicone-score-feedback         2       2   0.5             0.5
    2     b                 accuracy         1       0   NaN             NaN
    3     b  helicone-score-feedback         1       0   NaN             NaN
    """
    import numpy as np
    import pandas as pd

    require_requests(requests, "scores_by", [])
    if "scores" not in requests.columns and "feedback" not in requests.columns:
        check_frame(requests, "scores_by", ["scores"], "requests")
    g = groups(requests, by, "scores_by")
    keys, values = _score_table(requests)
    n = g.count()
    parts = []
    for key in keys:
        v = values[key]
        has = ~np.isnan(v)
        scored = g.count(has)
        part = g.frame(
            {
                "score": pd.array([key] * g.n, dtype="string"),
                "requests": int64_array(n),
                "scored": int64_array(scored),
                "mean": ratio(g.sum(v), scored),
                "positive_share": ratio(g.count(has & (np.nan_to_num(v) > 0)), scored),
            }
        )
        part["_group"] = np.arange(g.n)
        parts.append(part)
    if not parts:
        empty = g.frame({}).iloc[0:0].copy()
        empty["score"] = pd.array([], dtype="string")
        for column in ("requests", "scored"):
            empty[column] = pd.array([], dtype="Int64")
        empty["mean"] = np.array([], dtype="float64")
        empty["positive_share"] = np.array([], dtype="float64")
        return empty.reset_index(drop=True)
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["_group", "score"], kind="mergesort").drop(columns="_group")
    return out.reset_index(drop=True)


def session_feedback(sessions: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """The sessions frame with each session's feedback (kept on the session's first request).

    Helicone's session feedback is the ``helicone-score-feedback`` score of the session's
    FIRST request; this reads it from the requests frame and joins it to the sessions.

    Parameters
    ----------
    sessions : pandas.DataFrame
        A sessions frame (``client.fetch_sessions``; needs ``session_id``).
    requests : pandas.DataFrame
        The requests of those sessions (``client.fetch_requests`` over the same window; needs
        ``session_id``, ``created_at`` and ``scores`` or ``feedback``).

    Returns
    -------
    pandas.DataFrame
        A copy of ``sessions`` with ``feedback`` (boolean: True positive, False negative, NA
        none or first request not in ``requests``) and ``first_request_id`` (string).

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import session_feedback
    >>> t = pd.Timestamp("2025-07-01", tz="UTC")
    >>> sessions = pd.DataFrame({"session_id": ["s1", "s2", "s3"], "total_cost": [1.0, 2.0, 3.0]})
    >>> requests = pd.DataFrame({
    ...     "request_id": ["r1", "r2", "r3"], "session_id": ["s1", "s1", "s2"],
    ...     "created_at": [t, t + pd.Timedelta("1min"), t], "cost": [0.5, 0.5, 2.0],
    ...     "scores": [{"helicone-score-feedback": 0}, {"helicone-score-feedback": 1}, {}],
    ... })
    >>> session_feedback(sessions, requests)[["session_id", "feedback"]]
      session_id  feedback
    0         s1     False
    1         s2      <NA>
    2         s3      <NA>
    """
    import numpy as np
    import pandas as pd

    check_frame(sessions, "session_feedback", ["session_id"], "sessions")
    require_requests(requests, "session_feedback", ["session_id", "created_at"])
    _, values = _score_table(requests)
    fb = values.get(FEEDBACK_SCORE, np.full(len(requests), np.nan))
    frame = pd.DataFrame(
        {
            "session_id": requests["session_id"].astype("string").to_numpy(),
            "created_at": requests["created_at"].to_numpy(),
            "request_id": (
                requests["request_id"].astype("string").to_numpy()
                if "request_id" in requests.columns
                else pd.array([pd.NA] * len(requests), dtype="string")
            ),
            "fb": fb,
        }
    )
    frame = frame[frame["session_id"].notna() & (frame["session_id"] != "")]
    first = frame.sort_values("created_at", kind="mergesort").drop_duplicates("session_id")
    first = first.set_index("session_id")
    out = sessions.copy()
    ids = out["session_id"].astype("string")
    value = ids.map(first["fb"]).astype("float64")
    out["feedback"] = pd.array(
        [pd.NA if np.isnan(v) else bool(v > 0) for v in value.to_numpy()], dtype="boolean"
    )
    out["first_request_id"] = ids.map(first["request_id"]).astype("string")
    return out
