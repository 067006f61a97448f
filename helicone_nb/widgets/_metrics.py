"""The dashboard's numbers, pure: frames in, metrics and HTML out (no widgets, no I/O).

A window's headline metrics come from the sessions frame (cost, sessions, requests, users) and,
when request rows are available, from the requests of those sessions (p95 request latency,
error rate, the per-model table). Without request rows the latency is the p95 of the sessions'
mean latencies and the error rate is unknown; the strip says which it shows.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import recipes
from .._present.html import html_table
from .._present.text import integer, missing, money, ms, percent
from ._base import CSS

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Metrics:
    """The headline numbers of one window (None: not known)."""

    cost: float
    sessions: int
    requests: int
    users: int
    p95_latency_ms: float | None
    error_rate: float | None
    latency_of: str  # "requests" or "session means": what the p95 is taken over


def _number(value: Any) -> float | None:
    return None if missing(value) else float(value)


def session_requests(requests: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """The request rows of the sessions shown (the panels follow every filter, also name,
    search and the session-level conditions, which request pulls cannot express)."""
    keep = requests["session_id"].isin(sessions["session_id"])
    return requests.loc[keep.fillna(False).to_numpy(dtype=bool)].reset_index(drop=True)


def with_requests(metrics: Metrics, requests: pd.DataFrame) -> Metrics:
    """``metrics`` with the p95 latency and error rate of the window's request rows
    (``recipes.latency_by`` and ``recipes.error_rate``: the same definitions as the report)."""
    import dataclasses

    if requests.empty:
        return dataclasses.replace(metrics, p95_latency_ms=None, error_rate=None)
    latency = recipes.latency_by(requests, None, percentiles=[0.95]).iloc[0]
    errors = recipes.error_rate(requests).iloc[0]
    return dataclasses.replace(
        metrics,
        p95_latency_ms=_number(latency["latency_p95_ms"]),
        error_rate=_number(errors["error_rate"]),
        latency_of="requests",
    )


def window_metrics(sessions: pd.DataFrame, requests: pd.DataFrame | None = None) -> Metrics:
    """The metrics of a window from its sessions (and the requests of those sessions)."""
    s = recipes.summary(sessions).iloc[0]
    latency = None
    if len(sessions):
        latency = recipes.latency_by(sessions, None, percentiles=[0.95]).iloc[0]["session_p95_ms"]
    metrics = Metrics(
        cost=float(s["total_cost"]) if not missing(s["total_cost"]) else 0.0,
        sessions=int(s["sessions"]),
        requests=0 if missing(s["requests"]) else int(s["requests"]),
        users=0 if missing(s["users"]) else int(s["users"]),
        p95_latency_ms=_number(latency),
        error_rate=None,
        latency_of="session means",
    )
    return metrics if requests is None else with_requests(metrics, requests)


def previous_window(window: tuple[_dt.datetime, _dt.datetime]) -> tuple[_dt.datetime, _dt.datetime]:
    """The period of the same length just before ``window``."""
    start, end = window
    return start - (end - start), start


def _change(now: float | None, before: float | None, fmt: Callable[[Any], str]) -> str:
    """'+12% (+$3.20)', '–' when either side is unknown, 'new' from zero; rates (shares)
    change in percentage points: '+0.5 pp'."""
    if now is None or before is None:
        return "–"
    delta = now - before
    if fmt is percent:
        sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
        return f"{sign}{abs(delta) * 100:.1f} pp"
    if before == 0:
        return "no change" if now == 0 else "new"
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    return f"{sign}{abs(delta) / abs(before):.0%} ({sign}{fmt(abs(delta))})"


_ROWS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("cost", "cost", money),
    ("sessions", "sessions", integer),
    ("requests", "requests", integer),
    ("users", "users", integer),
    ("p95_latency_ms", "p95 latency", ms),
    ("error_rate", "error rate", percent),
]


def _value(metrics: Metrics, key: str) -> Any:
    return getattr(metrics, key)


def strip_html(now: Metrics, before: Metrics | None, period: str) -> str:
    """The summary strip: one card per metric, with the change against the previous period."""
    cards = []
    for key, label, fmt in _ROWS:
        value = _value(now, key)
        if key == "p95_latency_ms" and now.latency_of != "requests":
            label = "p95 latency (session means)"
        shown = "–" if value is None else fmt(value)
        title = ""
        if key == "error_rate" and value is None:
            title = " title='needs request rows: a mirror (--mirror) or a live key'"
        change = ""
        if before is not None:
            change = _change(value, _value(before, key), fmt)
            change = (
                f"<div class='hnb-card-change'>{html.escape(change)} vs {html.escape(period)}</div>"
            )
        cards.append(
            f"<div class='hnb-card' data-metric='{key}'{title}>"
            f"<div class='hnb-card-label'>{html.escape(label)}</div>"
            f"<div class='hnb-card-value'>{html.escape(shown)}</div>{change}</div>"
        )
    return f"{CSS}{_STRIP_CSS}<div class='hnb-strip'>{''.join(cards)}</div>"


_STRIP_CSS = (
    "<style>"
    ".hnb-strip{display:flex;flex-wrap:wrap;gap:8px;margin:4px 0 8px}"
    ".hnb-card{border:1px solid var(--jp-border-color2,rgba(128,128,128,.3));border-radius:4px;"
    "padding:6px 10px;min-width:120px;background:var(--jp-layout-color1,transparent);"
    "color:var(--jp-ui-font-color1,inherit)}"
    ".hnb-card-label{font-size:11px;color:var(--jp-ui-font-color2,#666)}"
    ".hnb-card-value{font-size:18px;font-weight:600;font-variant-numeric:tabular-nums}"
    ".hnb-card-change{font-size:11px;color:var(--jp-ui-font-color2,#666)}"
    "</style>"
)


def changes_html(
    now: Metrics,
    before: Metrics,
    periods: tuple[tuple[_dt.datetime, _dt.datetime], tuple[_dt.datetime, _dt.datetime]],
    frames: tuple[pd.DataFrame, pd.DataFrame],
    request_frames: tuple[pd.DataFrame, pd.DataFrame] | None,
    period: str,
) -> str:
    """What changed: every metric side by side, then where the cost moved most
    (``recipes.compare_periods``): by model when request rows exist, else by session name.

    ``periods`` and ``frames`` are (previous, current); so are ``request_frames``.
    """
    import pandas as pd

    rows = pd.DataFrame(
        {
            "metric": [label for _, label, _ in _ROWS],
            "now": ["–" if _value(now, k) is None else fmt(_value(now, k)) for k, _, fmt in _ROWS],
            "before": [
                "–" if _value(before, k) is None else fmt(_value(before, k)) for k, _, fmt in _ROWS
            ],
            "change": [_change(_value(now, k), _value(before, k), fmt) for k, _, fmt in _ROWS],
        }
    )
    text = [("metric", "", str, False), ("now", "this period", str, True)]
    text += [("before", period, str, True), ("change", "change", str, True)]
    parts = [
        html_table(rows, text, table_class="hnb-table hnb-changes", numeric_class="num", quote="'")
    ]
    if request_frames is not None:  # one comparison per change: it costs a little
        parts.append(_movers(request_frames, periods, "model", "model"))
    else:
        parts.append(_movers(frames, periods, "session_name", "session name"))
    cells = "".join(f"<div>{part}</div>" for part in parts)
    return f"{CSS}<div style='display:flex;flex-wrap:wrap;gap:24px'>{cells}</div>"


def _movers(
    frames: tuple[pd.DataFrame, pd.DataFrame],
    periods: tuple[tuple[_dt.datetime, _dt.datetime], tuple[_dt.datetime, _dt.datetime]],
    by: str,
    label: str,
    top: int = 5,
) -> str:
    """The groups whose cost moved most between the periods, as a small table."""
    import pandas as pd

    title = f"<div class='hnb-note'>Where the cost moved most, by {html.escape(label)}</div>"
    if frames[0].empty or frames[1].empty:
        return title + "<p class='hnb-note'>Needs data in both periods.</p>"
    table = recipes.compare_periods(
        pd.concat(frames, ignore_index=True), before=periods[0], after=periods[1], by=by
    )
    table = table[table["cost_change"] != 0].head(top)
    body = html_table(
        table,
        [
            (by, label, lambda v: str(v) or "(no name)", False),
            ("cost_after", "cost now", money, True),
            ("cost_before", "cost before", money, True),
            ("cost_change", "change", lambda v: ("+" if v > 0 else "−") + money(abs(v)), True),
        ],
        table_class=f"hnb-table hnb-movers-{by.replace('_', '-')}",
        numeric_class="num",
        empty="<p class='hnb-note'>No cost moved.</p>",
        quote="'",
    )
    return title + body


def by_model_html(requests: pd.DataFrame) -> str:
    """Requests, cost and share, tokens, latency and errors per model (request rows), from
    ``recipes.cost_by``, ``recipes.latency_by`` and ``recipes.error_rate``."""
    if requests.empty:
        return f"{CSS}<p class='hnb-note'>No requests in this window.</p>"
    costs = recipes.cost_by(requests, "model")
    latency = recipes.latency_by(requests, "model", percentiles=[0.5, 0.95])
    errors = recipes.error_rate(requests, "model")
    table = costs.merge(
        latency[["model", "latency_p50_ms", "latency_p95_ms"]], on="model", how="left"
    ).merge(errors[["model", "error_rate"]], on="model", how="left")
    body = html_table(
        table,
        [
            ("model", "model", lambda v: str(v) or "(unknown)", False),
            ("requests", "requests", integer, True),
            ("total_cost", "cost", money, True),
            ("share", "share of cost", percent, True),
            ("total_tokens", "tokens", integer, True),
            ("latency_p50_ms", "p50 latency", ms, True),
            ("latency_p95_ms", "p95 latency", ms, True),
            ("error_rate", "error rate", percent, True),
        ],
        table_class="hnb-table hnb-models",
        numeric_class="num",
        label_numeric_headers=True,
        quote="'",
    )
    return f"{CSS}<div class='hnb-scroll'>{body}</div>"
