"""Plots of a requests frame (cost, latency and errors by model) and of ``compare_periods``."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from .. import recipes
from .._errors import UsageError
from .._present.checks import check_positive_int, check_top, float_values
from .._present.style import (
    BLUE,
    GREY,
    LINESTYLES,
    MARKERS,
    OKABE_ITO,
    VERMILLION,
    as_utc_naive,
    date_axis,
    new_axes,
    no_data,
    percent_axis,
    plain_log_axis,
    short,
    style,
    title,
    tz_name,
    tz_of,
    usd_axis,
)
from .._present.text import money, percent
from .._recipes.keys import groups, require_requests
from .sessions import plot_cost_by

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def plot_cost_by_model(requests: pd.DataFrame, *, top: int = 10, ax: Axes | None = None) -> Axes:
    """Horizontal bars of cost per model (largest on top), labelled with $ and share.

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (``fetch_requests``; needs ``model`` and ``cost``).
    top : int, default 10
        Show the ``top`` models and one ``"(other)"`` bar for the rest.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_cost_by_model
    >>> req = pd.DataFrame({"model": ["gpt-4o", "gpt-4o-mini", "gpt-4o"],
    ...                     "cost": [0.30, 0.05, 0.25]})
    >>> ax = plot_cost_by_model(req)
    >>> [t.get_text() for t in ax.texts]
    ['$0.5500  (92%)', '$0.0500  (8%)']
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    require_requests(requests, "plot_cost_by_model", ["model", "cost"])
    return plot_cost_by(requests, "model", top=top, ax=ax)


def _top_groups(requests: pd.DataFrame, by: str, top: int) -> list[Any]:
    """The ``top`` groups of ``by`` with the most requests."""
    table = recipes.cost_by(requests, by)
    ranked = table.sort_values("requests", ascending=False, kind="mergesort")
    return list(ranked[by].head(top))


def plot_latency_ecdf(
    requests: pd.DataFrame,
    by: str = "model",
    *,
    top: int = 8,
    log: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Latency ECDF per group (model by default): the share of requests at or below a latency.

    One line per group (Okabe-Ito colours and distinct line styles), its p95 in the legend; a
    line further right is slower. Requests without a latency are left out.

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``latency_ms`` and the ``by`` column).
    by : str, default "model"
        A key of ``cost_by`` on a requests frame: ``"model"``, ``"provider"``,
        ``"session_path"``, a custom property, ...
    top : int, default 8
        The ``top`` groups with the most requests (the palette has eight colours).
    log : bool, default True
        Logarithmic latency axis (latencies span orders of magnitude across models).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_latency_ecdf
    >>> req = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 2, "cost": 0.0,
    ...                     "latency_ms": [100.0, 200.0, 300.0, 1000.0, 3000.0]})
    >>> ax = plot_latency_ecdf(req)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['a (p95 290 ms)', 'b (p95 2,900 ms)']
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np

    require_requests(requests, "plot_latency_ecdf", ["latency_ms"])
    check_positive_int(top, "plot_latency_ecdf", "top")
    if top > len(OKABE_ITO):
        raise UsageError(f"plot_latency_ecdf(): top can be at most {len(OKABE_ITO)} lines")
    g = groups(requests, by, "plot_latency_ecdf")
    latency = float_values(requests["latency_ms"])
    ax = new_axes(ax, (8, 4.5))
    title(ax, f"Request latency by {by.replace('_', ' ')}", requests)
    ax.set_xlabel("Request latency (ms)")
    ax.set_ylabel("Share of requests at or below")
    style(ax, "both")
    ax.set_ylim(0, 1.02)
    percent_axis(ax.yaxis)
    shown = _top_groups(requests, by, top) if g.n else []
    keys = list(g.keys[by])
    drawn = 0
    for i, key in enumerate(shown):
        code = keys.index(key)
        values = latency[(g.codes == code) & np.isfinite(latency)]
        if log:
            values = values[values > 0]
        if values.size == 0:
            continue
        xs = np.sort(values)
        ys = np.arange(1, xs.size + 1) / xs.size
        p95 = float(np.quantile(values, 0.95))
        ax.step(
            xs,
            ys,
            where="post",
            color=OKABE_ITO[i],
            linestyle=LINESTYLES[i % 4],
            linewidth=2,
            label=f"{short(key, 32)} (p95 {p95:,.0f} ms)",
        )
        drawn += 1
    if not drawn:
        no_data(ax, "no requests with a latency")
        return ax
    if log:
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis)
    # beside the plot: ECDF lines fill every corner of the axes
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


def plot_error_rate(
    requests: pd.DataFrame,
    freq: str = "D",
    *,
    by: str | None = None,
    top: int = 5,
    ax: Axes | None = None,
) -> Axes:
    """Error rate per period (status >= 400 or missing), overall or per group, in the frame's
    zone.

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``created_at`` and ``status``).
    freq : str, default "D"
        ``"hour"``, ``"day"``, ``"week"``, ``"month"`` (or ``"h"``, ``"D"``, ``"W"``,
        ``"MS"``).
    by : str, optional
        One line per group (e.g. ``"model"``, ``"provider"``); the ``top`` groups with the most
        requests.
    top : int, default 5
        Lines drawn when ``by`` is given.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_error_rate
    >>> t = pd.Timestamp("2025-07-01", tz="UTC")
    >>> req = pd.DataFrame({"created_at": [t, t, t + pd.Timedelta(days=1)], "cost": 0.0,
    ...                     "status": [200, 500, 200]})
    >>> ax = plot_error_rate(req, "day")
    >>> ax.get_ylabel(), ax.lines[0].get_ydata().tolist()
    ('Failed requests (status >= 400 or none)', [0.5, 0.0])
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np

    require_requests(requests, "plot_error_rate", ["created_at", "status"])
    check_positive_int(top, "plot_error_rate", "top")
    bucket = (
        freq
        if freq in ("hour", "day", "week", "month")
        else {"h": "hour", "D": "day", "W": "week", "MS": "month"}.get(freq)
    )
    if bucket is None:
        raise UsageError(
            f"plot_error_rate(): freq must be 'hour', 'day', 'week' or 'month', got {freq!r}"
        )
    keys = [bucket] if by is None else [bucket, by]
    table = recipes.error_rate(requests, keys)
    ax = new_axes(ax, (9, 4))
    what = f"Error rate per {bucket}" + (f" by {by.replace('_', ' ')}" if by else "")
    failed = int(table["failed"].sum()) if len(table) else 0
    title(ax, f"{what}, {failed:,} of {int(table['requests'].sum()):,} requests failed", requests)
    ax.set_ylabel("Failed requests (status >= 400 or none)")
    tz = tz_of(requests["created_at"])
    ax.set_xlabel(f"Period start ({tz_name(tz)})")
    style(ax)
    percent_axis(ax.yaxis)
    if table.empty:
        no_data(ax, "no requests")
        return ax
    lines = (
        [(None, table)]
        if by is None
        else [(key, table[table[by] == key]) for key in _top_groups(requests, by, top)]
    )
    for i, (key, part) in enumerate(lines):
        x = as_utc_naive(part[bucket])
        y = part["error_rate"].to_numpy(dtype="float64")
        ax.plot(
            x,
            y,
            color=OKABE_ITO[i % len(OKABE_ITO)] if by else VERMILLION,
            linestyle=LINESTYLES[i % 4],
            marker=MARKERS[i % len(MARKERS)],
            markersize=3 if len(part) > 40 else 5,
            linewidth=1.8,
            label=short(key, 32) if by else "error rate",
        )
    date_axis(ax.xaxis, tz)
    top_rate = float(np.nanmax(table["error_rate"].to_numpy(dtype="float64")))
    ax.set_ylim(0, max(0.05, min(1.0, top_rate * 1.15)))
    if by:
        ax.legend(frameon=False, fontsize=8)
    return ax


def plot_change(
    change: pd.DataFrame,
    metric: str = "cost",
    *,
    top: int = 10,
    ax: Axes | None = None,
) -> Axes:
    """What changed: one bar per group, after - before, increases vermillion, decreases blue.

    Parameters
    ----------
    change : pandas.DataFrame
        The result of ``recipes.compare_periods`` with a ``by`` key.
    metric : str, default "cost"
        One of ``recipes.CHANGE_METRICS`` (``"cost"``, ``"requests"``, ``"error_rate"``,
        ``"p95_latency_ms"``, ...).
    top : int, default 10
        The ``top`` groups by dollar impact (the table's order).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import compare_periods
    >>> from helicone_nb.plots import plot_change
    >>> t = pd.Timestamp("2025-07-01", tz="UTC")
    >>> req = pd.DataFrame({"created_at": [t, t + pd.Timedelta(days=8)] * 2,
    ...                     "model": ["a", "a", "b", "b"], "cost": [1.0, 3.0, 2.0, 1.5]})
    >>> table = compare_periods(req, ("2025-07-01", "2025-07-08"), ("2025-07-08", "2025-07-15"),
    ...                         by="model")
    >>> ax = plot_change(table)
    >>> [t.get_text() for t in ax.get_yticklabels()], [t.get_text() for t in ax.texts]
    (['a', 'b'], ['+$2.00 (+200%)', '-$0.5000 (-25%)'])
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np

    from .._recipes.compare import CHANGE_METRICS

    if metric not in CHANGE_METRICS:
        raise UsageError(
            f"plot_change(): metric must be one of {', '.join(CHANGE_METRICS)}, got {metric!r}"
        )
    check_top(top, "plot_change")
    column = f"{metric}_change"
    if not hasattr(change, "columns") or column not in change.columns:
        raise UsageError(
            "plot_change() takes the table of recipes.compare_periods(frame, before=..., "
            "after=..., by=...)"
        )
    keys = [c for c in change.columns if c != "status" and not c.startswith(CHANGE_METRICS)]
    table = change.head(top)
    ax = new_axes(ax, (8, max(2.5, 0.4 * len(table) + 1.6)))
    when = ""
    if change.attrs.get("before") and change.attrs.get("after"):
        zone = change.attrs.get("tz") or _dt.UTC
        (b0, b1), (a0, a1) = (
            tuple(t.astimezone(zone) for t in change.attrs[k]) for k in ("before", "after")
        )
        when = (
            f"\n{b0:%Y-%m-%d %H:%M} to {b1:%Y-%m-%d %H:%M} vs {a0:%Y-%m-%d %H:%M} to "
            f"{a1:%Y-%m-%d %H:%M} ({tz_name(zone)})"
        )
    name = metric.replace("_", " ")
    ax.set_title(
        f"Change in {name}" + (f" by {', '.join(keys)}" if keys else "") + when, fontsize=11
    )
    ax.set_xlabel(f"{name}: after - before" + (" (USD)" if metric.startswith("cost") else ""))
    style(ax, "x")
    if table.empty:
        no_data(ax, "no groups")
        return ax
    if metric in ("cost", "cost_per_session", "cost_per_1k_tokens"):
        usd_axis(ax.xaxis)
    elif metric == "error_rate":
        percent_axis(ax.xaxis, 1)
    values = np.nan_to_num(table[column].to_numpy(dtype="float64"))
    labels = (
        [
            " / ".join(short(v, 24) for v in row) if keys else "all"
            for row in table[keys].itertuples(index=False)
        ]
        if keys
        else ["all"] * len(table)
    )
    status = table["status"].tolist()
    positions = list(range(len(table)))[::-1]
    colours = [VERMILLION if v > 0 else BLUE for v in values]
    ax.barh(positions, values, color=colours, height=0.7)
    ax.axvline(0, color=GREY, linewidth=1)
    ax.set_yticks(positions, labels)
    pct = table[f"{column}_pct"].to_numpy(dtype="float64")
    for y, v, p, s in zip(positions, values, pct, status, strict=True):
        if metric in ("cost", "cost_per_session", "cost_per_1k_tokens"):
            text = ("+" if v > 0 else "-" if v < 0 else "") + money(abs(v))
        elif metric == "error_rate":
            text = f"{v * 100:+.1f} pt"
        else:
            text = f"{v:+,.0f}"
        if s != "both":
            text += f" ({s})"
        elif p == p:
            text += f" ({percent(p, 0) if p < 0 else '+' + percent(p, 0)})"
        ax.annotate(
            text,
            (v, y),
            xytext=(4 if v >= 0 else -4, 0),
            textcoords="offset points",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=8,
        )
    span = float(np.max(np.abs(values))) or 1.0
    low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
    # room for the labels beside the bars: "-$1.16 (-14%)" is wider than "+$5.22"
    ax.set_xlim(low - (0.6 if low < 0 else 0.05) * span, high + (0.45 if high > 0 else 0.05) * span)
    return ax
