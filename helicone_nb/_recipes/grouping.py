"""Group keys and group tables shared by every recipe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import check_frame, pname
from .buckets import TIME_BUCKETS, bucket, period_bins, to_offset

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Label of sessions that carry no user id in per-user results.
NO_USER = "(no user)"
#: Label of the row that sums everything below the ``top`` N groups.
OTHER = "(other)"


def user_lists(df: pd.DataFrame) -> list[list[str]]:
    """Distinct non-empty user ids of each row (lists, tuples or arrays are accepted)."""
    import numpy as np

    out: list[list[str]] = []
    for value in df["user_ids"].tolist():
        if isinstance(value, list | tuple | np.ndarray):
            out.append(list(dict.fromkeys(u for u in value if isinstance(u, str) and u)))
        else:
            out.append([])
    return out


def explode_users(df: pd.DataFrame, include_unattributed: bool) -> pd.DataFrame:
    """One row per (session row, user): columns ``_row``, ``_key`` (user), ``_k`` (#users)."""
    import numpy as np
    import pandas as pd

    rows: list[int] = []
    users: list[str] = []
    ks: list[int] = []
    for i, ids in enumerate(user_lists(df)):
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


def valid_by(df: pd.DataFrame) -> str:
    columns = [c for c in df.columns if c != "user_ids"]
    return (
        "'user' (from user_ids), "
        + ", ".join(map(repr, TIME_BUCKETS))
        + " (buckets of created_at), or a column of the frame: "
        + ", ".join(map(str, columns))
    )


def keyed(df: pd.DataFrame, by: str | None, fn: str) -> Any:
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
        raise UsageError(f"{fn}(): by must be a string: {valid_by(df)}; got {by!r}")
    if by == "user":
        check_frame(df, fn, ["user_ids"])
        return explode_users(df, include_unattributed=True)
    if by in TIME_BUCKETS:
        check_frame(df, fn, ["created_at"])
        if not isinstance(df["created_at"].dtype, pd.DatetimeTZDtype):
            raise UsageError(f"{fn}(): created_at must be a tz-aware datetime column")
        bins = period_bins(df["created_at"], to_offset(TIME_BUCKETS[by], fn))
        keys = bucket(df["created_at"], bins)
    elif by in df.columns and by != "user_ids":
        keys = df[by]
    else:
        hint = " (use by='user' for user_ids)" if by == "user_ids" else ""
        raise UsageError(f"{fn}(): cannot group by {by!r}{hint}; use {valid_by(df)}")
    out = df.reset_index(drop=True)
    out.insert(0, "_row", np.arange(len(df), dtype="int64"))
    out.insert(1, "_key", keys.reset_index(drop=True))
    out.insert(2, "_k", np.ones(len(df), dtype="int64"))
    return out


def finish_groups(
    keys: Any, columns: dict[str, Any], by: str | None, key_dtype: Any
) -> pd.DataFrame:
    import pandas as pd

    data: dict[str, Any] = {}
    if by is not None:
        data[by] = pd.array(list(keys), dtype=key_dtype)
    data.update(columns)
    return pd.DataFrame(data, index=pd.RangeIndex(len(keys)))


def group_sizes(long: pd.DataFrame, by: str | None = "") -> Any:
    """Rows per group, sorted by key; ``by=None`` always has its one overall group."""
    sizes = long.groupby("_key", dropna=False, sort=True).size()
    if by is None and sizes.empty:
        import pandas as pd

        sizes = pd.Series([0], index=pd.Index([""], dtype="string"), dtype="int64")
    return sizes


def sum_int(long: pd.DataFrame, column: str, index: Any) -> Any:
    """Per-group Int64 sum of ``column`` aligned to ``index`` (NA skipped, empty sum 0)."""
    values = long[column].astype("Int64")
    sums = values.groupby(long["_key"], dropna=False, sort=True).sum()
    return sums.reindex(index).fillna(0).astype("Int64").array


def sum_float(long: pd.DataFrame, values: Any, index: Any) -> Any:
    import pandas as pd

    s = pd.Series(values, index=long.index, dtype="float64")
    sums = s.groupby(long["_key"], dropna=False, sort=True).sum(min_count=0)
    return sums.reindex(index).fillna(0.0).to_numpy(dtype="float64")


def key_dtype(long: pd.DataFrame) -> Any:
    return long["_key"].dtype


def other_row_key(dtype: Any) -> Any:
    import pandas as pd

    if isinstance(dtype, pd.DatetimeTZDtype) or str(dtype).startswith("datetime"):
        return pd.NaT
    if pd.api.types.is_string_dtype(dtype):
        return OTHER
    return None


def top_and_share(
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
        key = other_row_key(out[by].dtype)
        if key is None:  # a numeric key column: the label needs an object column
            head = head.astype({by: object})
            rest[by] = pd.Series([OTHER], dtype=object)
        else:
            rest[by] = pd.Series([key], dtype=out[by].dtype)
        out = pd.concat([head, rest[out.columns]], ignore_index=True)
    total = float(out["total_cost"].sum())
    share = (
        out["total_cost"].to_numpy(dtype="float64") / total
        if total > 0
        else (np.full(len(out), np.nan))
    )
    out["share"] = share
    out["cumulative_share"] = np.cumsum(share)
    return out


def stats_table(
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

    sizes = group_sizes(long, by)
    idx = sizes.index
    s = pd.Series(values, index=long.index, dtype="float64")
    g = s.groupby(long["_key"], dropna=False, sort=True)
    columns: dict[str, Any] = {"sessions": pd.array(sizes.to_numpy(dtype="int64"), dtype="Int64")}
    columns.update(extra(idx))
    for p in ps:
        q = g.quantile(p) if len(long) else pd.Series([], dtype="float64")
        columns[f"{prefix}{pname(p)}{suffix}"] = q.reindex(idx).to_numpy(dtype="float64")
    columns[f"{prefix}max{suffix}"] = g.max().reindex(idx).to_numpy(dtype="float64")
    return finish_groups(idx, columns, by, key_dtype(long))
