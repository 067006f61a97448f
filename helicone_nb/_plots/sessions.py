"""Plots of a sessions frame (and the latency plots of a requests frame)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from .. import recipes
from .._errors import UsageError
from .._present.checks import check_frame, check_top, float_values, ratio
from .._present.style import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    SKY,
    VERMILLION,
    as_utc_naive,
    date_axis,
    new_axes,
    no_data,
    percent_axis,
    percentile_lines,
    plain_log_axis,
    short,
    style,
    title,
    tz_name,
    tz_of,
    usd_axis,
)
from .._present.text import money
from .._recipes.buckets import FREQ_ALIASES, to_offset

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes


#: Percentile markers: (fraction, colour, line style).
PERCENTILE_MARKERS = ((0.5, GREEN, "-"), (0.95, ORANGE, "--"), (0.99, VERMILLION, ":"))
FREQ_WORDS = {
    "h": "hour",
    "D": "day",
    "W": "week",
    "MS": "month",
    "QS": "quarter",
    "YS": "year",
    "min": "minute",
}


def latency_values(df: pd.DataFrame) -> tuple[np.ndarray[Any, Any], str, str]:
    """(values, axis label, noun) for a sessions frame or a requests frame."""
    if "avg_latency" in df.columns:
        return float_values(df["avg_latency"]), "Mean latency per session (ms)", "sessions"
    if "latency_ms" in df.columns:
        return float_values(df["latency_ms"]), "Request latency (ms)", "requests"
    raise UsageError(
        "this plot needs 'avg_latency' (a sessions frame from fetch_sessions) or 'latency_ms' "
        f"(a requests frame from fetch_session_requests); the frame has: {list(df.columns)}"
    )


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def plot_cost_over_time(
    df: pd.DataFrame,
    freq: str = "D",
    *,
    cumulative: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Cost per period (bars, or a filled step line for many periods), in the frame's zone.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame.
    freq : str, default "D"
        Period, as in ``recipes.cost_over_time`` (``"h"``, ``"D"``, ``"W"``, ``"MS"``, ...).
    cumulative : bool, default False
        Also draw the running total (orange line, right-hand axis).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on (the cost axis, when ``cumulative`` adds a twin).

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_cost_over_time
    >>> df = pd.DataFrame({
    ...     "created_at": pd.to_datetime(["2025-03-01 09:00", "2025-03-03 08:00"]
    ...                                  ).tz_localize("Europe/Berlin"),
    ...     "total_cost": [1.0, 2.0], "total_requests": [2, 4], "total_tokens": [200, 400],
    ... })
    >>> ax = plot_cost_over_time(df, "D")
    >>> ax.get_ylabel()
    'Cost (USD)'
    >>> print(ax.get_title())
    Cost per day, $3.00 in total
    2025-03-01 to 2025-03-03 (Europe/Berlin)
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np
    import pandas as pd

    check_frame(df, "plot_cost_over_time", ["created_at", "total_cost"])
    series = recipes.cost_over_time(df, freq)
    ax = new_axes(ax, (9, 4))
    tz = tz_of(df["created_at"])
    word = FREQ_WORDS.get(FREQ_ALIASES.get(freq, freq), f"{freq} period")
    total = float(series["total_cost"].sum())
    title(ax, f"Cost per {word}, {money(total)} in total", df)
    ax.set_ylabel("Cost (USD)")
    ax.set_xlabel(f"Period start ({tz_name(tz)})")
    usd_axis(ax.yaxis)
    style(ax)
    if series.empty:
        no_data(ax)
        return ax
    x = as_utc_naive(series["period"])
    y = series["total_cost"].to_numpy(dtype="float64")
    starts = pd.DatetimeIndex(series["period"])
    if len(starts) > 1:
        widths = np.diff(starts.asi8) / 86_400e9
        widths = np.append(widths, widths[-1])
    else:
        offset = to_offset(freq, "plot_cost_over_time")
        one = ((starts[0] + offset) - starts[0]) / pd.Timedelta(days=1)
        widths = np.array([one if one > 0 else 1.0])
    if len(series) <= 120:
        ax.bar(x, y, width=widths * 0.85, align="edge", color=BLUE, label="cost per " + word)
    else:
        ends = x[-1] + np.timedelta64(int(widths[-1] * 86_400e9), "ns")
        edges = np.append(x, ends)
        ax.stairs(y, edges, fill=True, color=BLUE, label="cost per " + word)
    date_axis(ax.xaxis, tz)
    ax.set_ylim(bottom=0)
    if cumulative:
        twin = ax.twinx()
        mid = x + (widths * 86_400e9 / 2).astype("timedelta64[ns]")
        twin.plot(
            mid,
            series["cumulative_cost"].to_numpy(dtype="float64"),
            color=ORANGE,
            linewidth=2,
            marker="o" if len(series) <= 60 else None,
            markersize=3,
            label="running total",
        )
        twin.set_ylabel("Running total (USD)")
        usd_axis(twin.yaxis)
        twin.set_ylim(bottom=0)
        twin.spines["top"].set_visible(False)
        date_axis(twin.xaxis, tz)
        handles = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax.legend(handles[0] + more[0], handles[1] + more[1], frameon=False, loc="upper left")
    return ax


def grouped_cost(df: pd.DataFrame, by: str, top: int) -> pd.DataFrame:
    return recipes.cost_by(df, by, top=top)


def group_labels(table: pd.DataFrame, top: int, width: int) -> list[str]:
    """Tick labels of a ``cost_by`` table; the row after the ``top`` ones is the rest."""
    return [
        recipes.OTHER if i == top else short(v, width)
        for i, v in enumerate(table[table.columns[0]])
    ]


def plot_cost_by(
    df: pd.DataFrame, by: str = "session_name", *, top: int = 10, ax: Axes | None = None
) -> Axes:
    """Horizontal bars of cost per group (largest on top), labelled with $ and share.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame.
    by : str, default "session_name"
        Grouping as in ``recipes.cost_by`` (``"session_name"``, ``"user"``, ``"day"``, ...).
    top : int, default 10
        Show the ``top`` groups and one ``"(other)"`` bar for the rest.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_cost_by
    >>> df = pd.DataFrame({"session_name": ["plan", "chat", "plan"],
    ...                    "total_cost": [1.0, 0.5, 2.5], "total_requests": [1, 1, 2]})
    >>> ax = plot_cost_by(df, "session_name")
    >>> [t.get_text() for t in ax.get_yticklabels()]   # most expensive first, drawn on top
    ['plan', 'chat']
    >>> ax.get_xlabel()
    'Cost (USD)'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    check_top(top, "plot_cost_by")
    table = grouped_cost(df, by, top)
    ax = new_axes(ax, (8, max(2.5, 0.35 * len(table) + 1.5)))
    what = "user (cost split equally among a session's users)" if by == "user" else by
    title(ax, f"Cost by {what}", df)
    ax.set_xlabel("Cost (USD)")
    usd_axis(ax.xaxis)
    style(ax, "x")
    if table.empty:
        no_data(ax)
        return ax
    labels = group_labels(table, top, 28)
    costs = table["total_cost"].to_numpy(dtype="float64")
    colours = [GREY if label == recipes.OTHER else BLUE for label in labels]
    positions = list(range(len(table)))[::-1]  # most expensive at the top
    ax.barh(positions, costs, color=colours, height=0.7)
    ax.set_yticks(positions, labels)
    ax.set_ylabel(by.replace("_", " "))
    shares = table["share"].to_numpy(dtype="float64")
    for y, cost, share in zip(positions, costs, shares, strict=True):
        text = money(cost) + ("" if share != share else f"  ({share:.0%})")
        ax.annotate(
            text, (cost, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8
        )
    ax.set_xlim(0, max(float(costs.max()), 1e-12) * 1.25)
    return ax


def plot_cost_pareto(
    df: pd.DataFrame, by: str = "session_name", *, top: int = 10, ax: Axes | None = None
) -> Axes:
    """Pareto chart: cost bars per group, most expensive first, with the cumulative share.

    The cumulative share (orange line with dots, right-hand axis, 0-100 %) shows how few
    groups carry most of the cost; a dashed grey line marks 80 %. The "(other)" bar is grey.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame.
    by : str, default "session_name"
        Grouping as in ``recipes.cost_by``.
    top : int, default 10
        Bars for the ``top`` groups and one ``"(other)"`` bar for the rest.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The cost axis; the share axis is its twin (``ax.figure.axes``).

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_cost_pareto
    >>> df = pd.DataFrame({"session_name": ["plan", "chat", "plan"],
    ...                    "total_cost": [1.0, 0.5, 2.5], "total_requests": [1, 1, 2]})
    >>> ax = plot_cost_pareto(df)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['plan', 'chat']
    >>> ax.figure.axes[1].get_ylabel()
    'Cumulative share of cost'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np

    check_top(top, "plot_cost_pareto")
    table = grouped_cost(df, by, top)
    ax = new_axes(ax, (9, 4.5))
    what = "user" if by == "user" else by
    title(ax, f"Where the cost goes: Pareto by {what}", df)
    ax.set_ylabel("Cost (USD)")
    usd_axis(ax.yaxis)
    style(ax)
    twin = ax.twinx()
    twin.set_ylabel("Cumulative share of cost")
    twin.set_ylim(0, 1.05)
    percent_axis(twin.yaxis)
    twin.spines["top"].set_visible(False)
    if table.empty:
        no_data(ax)
        return ax
    labels = group_labels(table, top, 20)
    x = np.arange(len(table))
    colours = [GREY if label == recipes.OTHER else BLUE for label in labels]
    ax.bar(x, table["total_cost"].to_numpy(dtype="float64"), color=colours, width=0.7, label="cost")
    ax.set_xticks(
        x, labels, rotation=40 if len(table) > 4 else 0, ha="right" if len(table) > 4 else "center"
    )
    ax.set_xlabel(by.replace("_", " "))
    twin.plot(
        x,
        table["cumulative_share"].to_numpy(dtype="float64"),
        color=ORANGE,
        marker="o",
        linewidth=2,
        label="cumulative share",
    )
    twin.axhline(0.8, color=GREY, linestyle="--", linewidth=1)
    twin.annotate(
        "80 %",
        (1.0, 0.8),
        xycoords=("axes fraction", "data"),
        xytext=(-2, 2),
        textcoords="offset points",
        ha="right",
        va="bottom",
        color=GREY,
        fontsize=8,
    )
    return ax


def plot_latency_distribution(
    df: pd.DataFrame,
    *,
    kind: Literal["hist", "ecdf"] = "hist",
    bins: int = 40,
    log: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Latency histogram or ECDF with p50 / p95 / p99 markers.

    For a sessions frame this is the distribution of per-session MEAN latencies
    (``avg_latency``, each session counted once); for a requests frame
    (``fetch_session_requests``) it is the latency of single requests.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame or a requests frame.
    kind : {"hist", "ecdf"}, default "hist"
        Histogram of counts, or the empirical cumulative distribution.
    bins : int, default 40
        Histogram bins.
    log : bool, default False
        Logarithmic latency axis (log-spaced bins); latencies <= 0 are left out.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_latency_distribution
    >>> df = pd.DataFrame({"avg_latency": [100.0, 200.0, 300.0, 400.0, 2000.0]})
    >>> ax = plot_latency_distribution(df, kind="ecdf")
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Mean latency per session (ms)', 'Share of sessions at or below')
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['p50 = 300 ms', 'p95 = 1,680 ms', 'p99 = 1,936 ms']
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np

    if kind not in ("hist", "ecdf"):
        raise UsageError(
            f"plot_latency_distribution(): kind must be 'hist' or 'ecdf', got {kind!r}"
        )
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise UsageError(f"plot_latency_distribution(): bins must be a positive int, got {bins!r}")
    check_frame(df, "plot_latency_distribution", [])
    values, label, noun = latency_values(df)
    values = values[np.isfinite(values)]
    if log:
        values = values[values > 0]
    ax = new_axes(ax, (8, 4))
    title(ax, f"Latency distribution of {len(values):,} {noun}", df)
    ax.set_xlabel(label)
    style(ax)
    if values.size == 0:
        ax.set_ylabel(f"Number of {noun}")
        no_data(ax, f"no {noun} with a latency")
        return ax
    if log:
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis)
    if kind == "hist":
        if log:
            lo, hi = float(values.min()), float(values.max())
            edges: Any = np.geomspace(lo, hi if hi > lo else lo * 10, bins + 1)
        else:
            edges = bins
        ax.hist(values, bins=edges, color=SKY, edgecolor="white", linewidth=0.5)
        ax.set_ylabel(f"Number of {noun}")
    else:
        xs = np.sort(values)
        ys = np.arange(1, xs.size + 1) / xs.size
        ax.step(xs, ys, where="post", color=BLUE, linewidth=2)
        ax.set_ylabel(f"Share of {noun} at or below")
        ax.set_ylim(0, 1.02)
        percent_axis(ax.yaxis)
    percentile_lines(ax, values, "ms", PERCENTILE_MARKERS)
    return ax


def plot_latency_vs_tokens(df: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Scatter of latency against tokens, with the median latency per token decile.

    For a sessions frame: each session's mean latency against its mean tokens per request
    (``total_tokens / total_requests``). For a requests frame: each request's latency against
    its tokens. The orange line is the median latency in each tenth of the token range
    (deciles), which shows the trend without fitting a model.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame or a requests frame.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_latency_vs_tokens
    >>> df = pd.DataFrame({"avg_latency": [100.0, 300.0, 900.0],
    ...                    "total_tokens": [100, 600, 3000], "total_requests": [1, 2, 3]})
    >>> ax = plot_latency_vs_tokens(df)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Tokens per request (session mean)', 'Mean latency per session (ms)')
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np

    check_frame(df, "plot_latency_vs_tokens", ["total_tokens"])
    latency, ylabel, noun = latency_values(df)
    if noun == "sessions":
        check_frame(df, "plot_latency_vs_tokens", ["total_requests"])
        tokens = ratio(df["total_tokens"], df["total_requests"])
        xlabel = "Tokens per request (session mean)"
    else:
        tokens = float_values(df["total_tokens"])
        xlabel = "Tokens per request"
    ok = np.isfinite(latency) & np.isfinite(tokens)
    x, y = tokens[ok], latency[ok]
    ax = new_axes(ax, (7, 4.5))
    title(ax, f"Latency vs tokens ({x.size:,} {noun})", df)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    style(ax, "both")
    if x.size == 0:
        no_data(ax, f"no {noun} with both latency and tokens")
        return ax
    dense = x.size > 1000
    ax.scatter(
        x,
        y,
        s=8 if dense else 14,
        color=BLUE,
        alpha=0.2 if dense else 0.45,
        linewidths=0,
        label=noun,
    )
    if x.size >= 20:
        edges = np.unique(np.quantile(x, np.linspace(0, 1, 11)))
        if edges.size >= 3:
            which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
            mids, medians = [], []
            for i in range(edges.size - 1):
                sel = which == i
                if sel.any():
                    mids.append(float(np.median(x[sel])))
                    medians.append(float(np.median(y[sel])))
            ax.plot(
                mids,
                medians,
                color=ORANGE,
                marker="s",
                linewidth=2,
                label="median per token decile",
            )
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=9)
    return ax


def plot_session_duration(
    df: pd.DataFrame, *, bins: int = 40, log: bool = False, ax: Axes | None = None
) -> Axes:
    """Histogram of session durations (seconds) with p50 / p90 markers.

    Duration is first to last request START (``duration_s``), so one-request sessions are 0 s.

    Parameters
    ----------
    df : pandas.DataFrame
        A sessions frame.
    bins : int, default 40
        Histogram bins.
    log : bool, default False
        Logarithmic duration axis; 0-second sessions (one request, or all at once) are then
        left out, and the title says how many of how many sessions are shown.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.plots import plot_session_duration
    >>> ax = plot_session_duration(pd.DataFrame({"duration_s": [0.0, 5.0, 30.0, 120.0]}))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Session duration (s)', 'Number of sessions')
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np

    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise UsageError(f"plot_session_duration(): bins must be a positive int, got {bins!r}")
    check_frame(df, "plot_session_duration", ["duration_s"])
    values = float_values(df["duration_s"])
    values = values[np.isfinite(values)]
    ax = new_axes(ax, (8, 4))
    what = f"Session duration, {values.size:,} sessions"
    if log:
        zero = int((values <= 0).sum())
        values = values[values > 0]
        if zero:  # a log axis has no 0: say how many sessions that leaves out
            what = (
                f"Session duration, {values.size:,} of {values.size + zero:,} sessions "
                f"({zero:,} lasting 0 s left out of the log axis)"
            )
    title(ax, what, df)
    ax.set_xlabel("Session duration (s)")
    ax.set_ylabel("Number of sessions")
    style(ax)
    if values.size == 0:
        no_data(ax)
        return ax
    if log:
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis)
        lo, hi = float(values.min()), float(values.max())
        edges: Any = np.geomspace(lo, hi if hi > lo else lo * 10, bins + 1)
    else:
        edges = bins
    ax.hist(values, bins=edges, color=GREEN, edgecolor="white", linewidth=0.5)
    percentile_lines(ax, values, "s", ((0.5, BLUE, "-"), (0.9, VERMILLION, "--")))
    return ax
