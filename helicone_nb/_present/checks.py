"""Argument and frame checks, and the numeric column helpers every recipe and plot uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from .._errors import UsageError

if TYPE_CHECKING:
    import numpy as np

FrameKind = Literal["sessions", "requests", "either"]

_HINTS: dict[str, str] = {
    "sessions": "Pass the sessions DataFrame returned by client.fetch_sessions(...).",
    "requests": (
        "Pass a requests DataFrame (client.fetch_requests(...) or "
        "client.fetch_session_requests(session_id))."
    ),
    "either": (
        "Pass the sessions DataFrame of client.fetch_sessions(...) or a requests DataFrame "
        "(client.fetch_requests(...), client.fetch_session_requests(session_id))."
    ),
}
_TAKES: dict[str, str] = {
    "sessions": "e.g. from client.fetch_sessions(...)",
    "requests": "e.g. from client.fetch_requests(...)",
    "either": "e.g. from client.fetch_sessions(...) or client.fetch_requests(...)",
}


def check_frame(df: Any, fn: str, columns: Sequence[str], kind: FrameKind = "sessions") -> None:
    """A UsageError unless ``df`` is a DataFrame with every column in ``columns``."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise UsageError(
            f"{fn}() takes a pandas DataFrame ({_TAKES[kind]}), got {type(df).__name__}"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UsageError(
            f"{fn}() needs column(s) {', '.join(map(repr, missing))}, which this frame does not "
            f"have (it has: {', '.join(map(str, df.columns)) or 'no columns'}). {_HINTS[kind]}"
        )


def check_top(top: int | None, fn: str) -> None:
    """``top`` is None or a positive int."""
    if top is None:
        return
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise UsageError(f"{fn}(): top must be a positive integer or None, got {top!r}")


def check_positive_int(value: Any, fn: str, name: str) -> int:
    """``value`` as an int, or a UsageError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{fn}(): {name} must be a positive int, got {value!r}")
    return value


def check_percentiles(percentiles: Sequence[float], fn: str) -> list[float]:
    """Fractions between 0 and 1 (0.99 = p99) as floats."""
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


def pname(p: float) -> str:
    """0.5 -> 'p50', 0.999 -> 'p99.9'."""
    text = f"{p * 100:.6f}".rstrip("0").rstrip(".")
    return f"p{text}"


def float_values(series: Any) -> np.ndarray[Any, Any]:
    """A numeric column as float64 numpy, NA -> NaN."""
    import numpy as np
    import pandas as pd

    dtype = getattr(series, "dtype", None)
    if dtype is not None and not isinstance(dtype, pd.CategoricalDtype):
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(
            dtype
        ):  # Int64 / Float64 / boolean: straight to float64, NA -> NaN (no to_numeric pass)
            return np.asarray(series.to_numpy(dtype="float64", na_value=np.nan))
        if isinstance(dtype, np.dtype) and dtype.kind in "iufb":
            return np.asarray(series, dtype="float64")
    return np.asarray(pd.to_numeric(series, errors="coerce").astype("float64"), dtype="float64")


def quantiles(values: np.ndarray[Any, Any], ps: Sequence[float]) -> list[float]:
    """Linear-interpolated quantiles of the non-NaN values (NaN each when none)."""
    import numpy as np

    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return [float("nan")] * len(ps)
    return [float(q) for q in np.quantile(finite, ps)]


def ratio(num: Any, den: Any) -> Any:
    """num / den as float64, NaN where den is 0 or missing."""
    import numpy as np

    n = float_values(num)
    d = float_values(den)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)
    return out
