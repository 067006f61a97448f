"""A session's requests along time: one row per path, failed requests marked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import float_values
from .._present.style import BLUE, VERMILLION, new_axes, no_data, style
from .._present.text import seconds
from .tree import check_requests, path_of, segments, session_tree

#: Tick labels: the largest and smallest font (points), and the room a row needs per point.
_LABEL_PT = (9.0, 6.0)
_ROW_PER_PT = 1.25


def _grouped_depth(depths: list[int], max_paths: int) -> int | None:
    """The deepest level whose tree fits in ``max_paths`` rows (None: no grouping needed)."""
    if len(depths) <= max_paths:
        return None
    for depth in range(max(depths), 0, -1):
        if sum(1 for d in depths if d <= depth) <= max_paths:
            return depth
    return None


def timeline_height(rows: int) -> float:
    """Figure height (inches) that gives each of ``rows`` timeline rows readable room."""
    return max(2.5, 0.4 * rows + 1.6)


def fit_labels(ax: Axes, labels: list[str]) -> int:
    """Size the y tick labels to the room a row has; label every k-th row if even the
    smallest font does not fit. Returns k (1: every row labelled)."""
    import math

    root: Any = ax.figure.figure  # the Figure itself, also when ax sits in a SubFigure
    fig_height_in = float(root.get_size_inches()[1])
    height_pt = ax.get_position().height * fig_height_in * 72
    row_pt = height_pt / max(len(labels), 1)
    size = min(_LABEL_PT[0], row_pt / _ROW_PER_PT)
    step = 1
    if size < _LABEL_PT[1]:
        size = _LABEL_PT[1]
        step = math.ceil(size * _ROW_PER_PT / row_pt)
    shown = [label if i % step == 0 else "" for i, label in enumerate(labels)]
    ax.set_yticks(range(len(labels)), shown, fontsize=size)
    return step


if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def plot_session_timeline(
    requests: pd.DataFrame,
    *,
    max_paths: int = 40,
    max_depth: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A session's requests as bars along time, one row per path, failed requests marked.

    Each request is a bar from its start to start + latency, on the row of its path; rows
    follow the session tree (each path followed by its sub-paths). Failed requests (HTTP
    status >= 400) are vermillion, hatched and marked with an X at their start (a quick
    failure is a thin bar); requests without a latency are a tick at their start. The x axis is
    seconds since the session's first request; the title gives that time in the data's zone and
    the session's true span (first start to last end, end = start + latency).

    Sessions with many paths stay readable: when the tree has more than ``max_paths`` paths,
    deep paths are drawn on the row of their ancestor at the deepest level that fits (the
    title says so); the new figure grows with the rows; and on a given Axes too small for its
    rows the labels shrink, then only every k-th row is labelled.

    Parameters
    ----------
    requests : pandas.DataFrame
        The requests frame of ``Client.fetch_session_requests(session_id)``.
    max_paths : int, default 40
        At most this many rows. Deeper paths are grouped into their ancestors first; when even
        the first level has more paths, the rest are left out (the title says how many).
    max_depth : int, optional
        Group every path deeper than this into its ancestor at this depth (``1``: one row per
        top-level step).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.drilldown import plot_session_timeline
    >>> t0 = pd.Timestamp("2025-01-06 10:00:00", tz="UTC")
    >>> req = pd.DataFrame({
    ...     "session_path": ["/plan", "/plan/search", "/answer"],
    ...     "created_at": [t0, t0 + pd.Timedelta(seconds=1), t0 + pd.Timedelta(seconds=3)],
    ...     "latency_ms": [800.0, 1200.0, 1500.0],
    ...     "cost": [0.002, 0.001, 0.004],
    ...     "status": [200, 429, 200],
    ... })
    >>> ax = plot_session_timeline(req)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['/', '/plan', '/plan/search', '/answer']
    >>> ax.get_xlabel()
    'Seconds since the first request (s)'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import numpy as np
    import pandas as pd
    from matplotlib.patches import Patch

    check_requests(requests, "plot_session_timeline")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 1:
        raise UsageError(
            f"plot_session_timeline(): max_paths must be a positive int, got {max_paths!r}"
        )
    if max_depth is not None and (
        isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1
    ):
        raise UsageError(
            f"plot_session_timeline(): max_depth must be a positive int or None, got {max_depth!r}"
        )
    tree = session_tree(requests)
    depth = max_depth
    if depth is None:
        depth = _grouped_depth([n.depth for n in tree.walk()], max_paths)
    grouped = depth is not None and any(n.depth > depth for n in tree.walk())
    all_nodes = [n for n in tree.walk() if depth is None or n.depth <= depth]
    nodes = all_nodes[:max_paths]
    row_of = {node.path: i for i, node in enumerate(nodes)}
    ax = new_axes(ax, (9, timeline_height(len(nodes))))
    style(ax, "x")
    ax.set_xlabel("Seconds since the first request (s)")
    r = tree.root
    who = tree.header().split(" · ")[0].replace("Session", "session").replace("No ", "no ")
    if r.first_start is None:
        ax.set_title(f"Timeline of {who}\nno requests", fontsize=11)
        no_data(ax, "no requests in this session")
        return ax
    t0 = r.first_start
    hidden = len(all_nodes) - len(nodes)
    extra = f", {hidden} more paths not shown" if hidden else ""
    if grouped:
        extra += f", paths below depth {depth} drawn on their parent's row"
    failed_note = f", {r.failed} failed" if r.failed else ""
    span = (r.last_end - t0).total_seconds() if r.last_end is not None else 0.0
    ax.set_title(
        f"Timeline of {who}\nstarted {t0:%Y-%m-%d %H:%M:%S} ({tree.tz}), "
        f"{r.requests:,} requests{failed_note}, spans {seconds(span)}{extra}",
        fontsize=11,
    )
    start_s = np.array(
        [
            (pd.Timestamp(t) - t0).total_seconds() if not pd.isna(t) else np.nan
            for t in requests["created_at"]
        ],
        dtype="float64",
    )
    width_s = float_values(requests["latency_ms"]) / 1000.0
    status = float_values(requests["status"])
    cut = depth if depth is not None else None
    rows = np.array([row_of.get(path_of(segments(p)[:cut]), -1) for p in requests["session_path"]])
    shown = (rows >= 0) & ~np.isnan(start_s)
    failed = shown & (status >= 400)
    ok = shown & ~(status >= 400)
    timed = ~np.isnan(width_s)
    for sel, colour, hatch in ((ok, BLUE, None), (failed, VERMILLION, "///")):
        bars = sel & timed
        if bars.any():
            ax.barh(
                rows[bars],
                width_s[bars],
                left=start_s[bars],
                height=0.6,
                color=colour,
                hatch=hatch,
                edgecolor="white",
                linewidth=0.5,
                alpha=0.9,
            )
        ticks = sel & ~timed
        if ticks.any():
            ax.plot(
                start_s[ticks],
                rows[ticks],
                linestyle="none",
                marker="|",
                markersize=14,
                color=colour,
            )
    if failed.any():  # short failures are thin bars: mark every failure where it started
        ax.plot(
            start_s[failed],
            rows[failed],
            linestyle="none",
            marker="X",
            markersize=8,
            color=VERMILLION,
            markeredgecolor="white",
            markeredgewidth=0.6,
        )
    labels = [n.path if len(n.path) <= 32 else "…" + n.path[-31:] for n in nodes]
    step = fit_labels(ax, labels)
    if step > 1:
        ax.set_ylabel(f"path (one row in {step} labelled)", fontsize=8)
    ax.set_ylim(len(nodes) - 0.5, -0.5)  # root on top, children below in tree order
    ax.set_xlim(left=0)
    handles: list[Any] = [Patch(color=BLUE, label="request (start to start + latency)")]
    if failed.any():
        handles.append(
            Patch(
                facecolor=VERMILLION,
                hatch="///",
                edgecolor="white",
                label="failed (status >= 400), X at its start",
            )
        )
    # agent sessions run from top left to bottom right, so the top right is usually free
    ax.legend(handles=handles, fontsize=8, loc="upper right", framealpha=0.9)
    return ax
