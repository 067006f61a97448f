"""Rendering for the explorer, pure: DataFrame in, HTML or PNG out (no widgets, no I/O).

The plots of the Plots tab are drawn on figures with fixed margins: matplotlib's constrained
layout measures every text twice per draw and cost more than the drawing itself, and a
filter change must update the tab in well under 150 ms.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import drilldown, plots, recipes
from .._present.figures import ReusedFigure, figure_png
from .._present.html import html_table, key_value_table
from .._present.text import cell, integer, missing, money, ms, seconds, timestamp
from .._wire.filters import Filter
from ._base import CSS, describe_error
from ._clickable import action_attrs
from ._query import QueryState

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("helicone_nb.widgets")

#: Sort keys of the top-sessions table: label -> column or derived metric (see recipes).
SORT_KEYS: dict[str, str] = {
    "cost": "total_cost",
    "requests": "total_requests",
    "tokens": "total_tokens",
    "mean latency": "avg_latency",
    "duration": "duration_s",
    "cost per request": "cost_per_request",
    "start time": "created_at",
}

#: The plots of the Plots tab, in tab order: key -> title.
PLOTS: dict[str, str] = {"cost": "Cost over time", "latency": "Latency"}


def fmt_text(value: Any) -> str:
    """Table text; an empty string stays empty."""
    return cell(value, empty="")


def fmt_users(value: Any, shown: int = 3) -> str:
    """The first ``shown`` user ids and how many more: 'ann, bob, cy +4 more'."""
    if isinstance(value, str) or not hasattr(value, "__len__"):
        return fmt_text(value)
    value = list(value)
    head = ", ".join(map(str, value[:shown]))
    return head if len(value) <= shown else f"{head} +{len(value) - shown:,} more"


#: Columns whose cells wrap instead of widening the table.
_WRAPPED = {"user_ids"}


#: A table column: (frame column, header, formatter, right-aligned number).
ColumnSpec = tuple[str, str, Callable[[Any], str], bool]

#: Columns of the top-sessions table.
SESSION_COLUMNS: list[ColumnSpec] = [
    ("session_id", "session id", fmt_text, False),
    ("session_name", "name", cell, False),
    ("created_at", "start", timestamp, False),
    ("total_requests", "requests", integer, True),
    ("total_cost", "cost", money, True),
    ("total_tokens", "tokens", integer, True),
    ("avg_latency", "mean latency", ms, True),
    ("duration_s", "duration", seconds, True),
    ("user_ids", "users", fmt_users, False),
]

#: Columns of the drill-down requests table.
REQUEST_COLUMNS: list[ColumnSpec] = [
    ("created_at", "time", timestamp, False),
    ("session_path", "path", fmt_text, False),
    ("model", "model", fmt_text, False),
    ("status", "status", integer, True),
    ("latency_ms", "latency", ms, True),
    ("total_tokens", "tokens", integer, True),
    ("cost", "cost", money, True),
    ("user_id", "user", fmt_text, False),
]


def requests_html(requests: pd.DataFrame) -> str:
    """The drill-down's requests table (the package's one plain table builder)."""
    table = html_table(
        requests,
        REQUEST_COLUMNS,
        table_class="hnb-table hnb-requests",
        numeric_class="num",
        label_numeric_headers=True,
        empty=None,
        quote="'",
    )
    return f"{CSS}<div class='hnb-scroll'>{table}</div>"


def sessions_html(
    df: pd.DataFrame,
    *,
    extra: ColumnSpec | None = None,
    sort: tuple[str, bool] | None = None,
    row_action: str | None = None,
) -> str:
    """The interactive sessions table: escaped cells, class ``hnb-sessions``.

    Unlike the plain tables, its headers and rows carry click actions (see ``_clickable``):
    ``sort`` (the sort key and whether ascending) makes the headers of :data:`SORT_KEYS`
    columns report a ``"sort"`` click and marks the sorted one; ``row_action`` makes each row
    report that action with its ``session_id``.
    """
    kind = "sessions"
    columns = SESSION_COLUMNS
    spec = [*columns, *([extra] if extra is not None else [])]
    spec = [c for c in spec if c[0] in df.columns]
    sortable = set(SORT_KEYS.values()) if sort is not None else set()

    def header(col: str, text: str, numeric: bool) -> str:
        classes = ["num"] if numeric else []
        attrs = ""
        if col in sortable:
            classes.append("hnb-sortable")
            attrs = action_attrs("sort", col)
            if sort is not None and col == sort[0]:
                text += " ▲" if sort[1] else " ▼"
                direction = "ascending" if sort[1] else "descending"
                attrs += f" aria-sort='{direction}'"
        return f"<th class='{' '.join(classes)}'{attrs}>{html.escape(text)}</th>"

    head = "".join(header(col, text, numeric) for col, text, _, numeric in spec)
    values = [[fmt(v) for v in df[col].tolist()] for col, _, fmt, _ in spec]
    cell_class = [
        "num" if numeric else ("hnb-wrap" if col in _WRAPPED else "") for col, _, _, numeric in spec
    ]
    ids = df["session_id"].tolist() if row_action and "session_id" in df.columns else None
    rows = []
    for i in range(len(df)):
        opening = (
            "<tr>"
            if ids is None
            else f"<tr class='hnb-row'{action_attrs(row_action or '', str(ids[i]))}>"
        )
        cells = "".join(
            _cell(spec[j][0], cell_class[j], column[i]) for j, column in enumerate(values)
        )
        rows.append(f"{opening}{cells}</tr>")
    return (
        f"{CSS}<div class='hnb-scroll'><table class='hnb-table hnb-{kind}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


#: Shown ids are cut to this many characters (the full id is the cell's tooltip): a UUID
#: column alone would push the users column past the right edge of a notebook.
ID_CHARS = 13


def _cell(column: str, css_class: str, text: str) -> str:
    if column == "session_id" and len(text) > ID_CHARS:
        return (
            f"<td class='hnb-id' title='{html.escape(text)}'>"
            f"{html.escape(text[: ID_CHARS - 1])}…</td>"
        )
    return f"<td class='{css_class}'>{html.escape(text)}</td>"


def summary_html(df: pd.DataFrame) -> str:
    """The summary table above the sessions table (``recipes.summary``, formatted)."""
    s = recipes.summary(df).iloc[0]
    span = (
        "" if missing(s["start"]) else f"{s['start']:%Y-%m-%d %H:%M} to {s['end']:%Y-%m-%d %H:%M}"
    )

    def several(fmt: Callable[[Any], str], *keys: str) -> str:
        return " / ".join(fmt(s[k]) or "–" for k in keys)

    cells = [
        ("sessions", integer(s["sessions"])),
        ("requests", integer(s["requests"])),
        ("users", integer(s["users"])),
        ("total cost", money(s["total_cost"])),
        (
            "cost per session (mean / p50 / p90)",
            several(money, "cost_per_session_mean", "cost_per_session_p50", "cost_per_session_p90"),
        ),
        ("tokens", integer(s["total_tokens"])),
        ("cost per 1k tokens", money(s["cost_per_1k_tokens"])),
        ("mean latency per request", ms(s["mean_latency_ms"])),
        (
            "session latency (p50 / p90 / p99)",
            several(
                ms, "session_latency_p50_ms", "session_latency_p90_ms", "session_latency_p99_ms"
            ),
        ),
        ("session duration (p50 / p90)", several(seconds, "duration_p50_s", "duration_p90_s")),
        ("first to last request", span),
    ]
    table = key_value_table(
        cells, table_class="hnb-table hnb-summary", value_class="num", quote="'"
    )
    return CSS + table


def sorted_sessions(df: pd.DataFrame, by: str, n: int, ascending: bool) -> pd.DataFrame:
    """The top ``n`` sessions by a :data:`SORT_KEYS` value."""
    if by == "created_at":
        ranked = df.sort_values(
            "created_at", ascending=ascending, kind="mergesort", na_position="last"
        )
        return ranked.head(n).reset_index(drop=True)
    return recipes.top_sessions(df, by, n, ascending=ascending)


def plot_freq(start: _dt.datetime, end: _dt.datetime) -> str:
    """Hourly bars up to 3 days, daily up to 120, else weekly."""
    days = (end - start).total_seconds() / 86400
    return "h" if days <= 3 else ("D" if days <= 120 else "W")


_DPI = 80
#: Fixed margins of the Plots tab (inches): room for "$1,234.00" ticks and a two-line title.
_PLOT_MARGINS = (0.95, 0.15, 0.15, 0.55)  # no title inside: it is HTML above the image


@dataclass(frozen=True)
class View:
    """A fetched frame, the query that produced it, and its summary (built off the main thread)."""

    df: pd.DataFrame
    tz: str
    request_filter: Filter
    window: tuple[_dt.datetime, _dt.datetime]
    summary: str
    status: str
    state: QueryState


def plot_figures() -> dict[str, ReusedFigure]:
    """One kept figure per plot of the Plots tab (an explorer redraws them on every change)."""
    return {
        "cost": ReusedFigure((9, 3.1), dpi=_DPI, margins=_PLOT_MARGINS),
        "latency": ReusedFigure((8, 3.1), dpi=_DPI, margins=_PLOT_MARGINS),
    }


def plot_png(view: View, which: str, figures: dict[str, ReusedFigure]) -> tuple[bytes, str, str]:
    """One plot of the Plots tab (a key of :data:`PLOTS`): PNG, its title as HTML, and a note
    saying why there is no plot (else "").

    The plot's title is taken out of the figure and shown as HTML above it: drawing text is
    most of a small plot's cost, and HTML text follows the notebook's theme.
    """
    df = view.df
    titles: list[str] = []

    def untitled(plot: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def draw(ax: Any) -> None:
            plot(ax)
            titles.append(ax.get_title())
            ax.set_title("")

        return draw

    try:
        if which == "cost":
            freq = plot_freq(*view.window)
            image = figures["cost"].png(
                untitled(lambda ax: plots.plot_cost_over_time(df, freq, ax=ax))
            )
        else:
            image = figures["latency"].png(
                untitled(lambda ax: plots.plot_latency_distribution(df, ax=ax))
            )
    except Exception as exc:  # the tables are still worth showing
        log.debug("plotting failed", exc_info=True)
        message = html.escape(describe_error(exc))
        return b"", "", f"{CSS}<span class='hnb-error'>Plots failed: {message}</span>"
    lines = "<br>".join(html.escape(line) for line in (titles[0] if titles else "").split("\n"))
    title = (
        f"{CSS}<div class='hnb-plot-title' style='text-align:center;font-size:13px;"
        f"line-height:1.3;max-width:720px;color:var(--jp-ui-font-color1,inherit)'>{lines}</div>"
    )
    return image, title, ""


def timeline_png(requests: pd.DataFrame) -> bytes:
    """The drill-down's timeline of one session's requests (empty bytes for no requests)."""
    if not len(requests):
        return b""
    return figure_png(
        lambda ax: drilldown.plot_session_timeline(requests, ax=ax), (9, 3.2), dpi=_DPI
    )
