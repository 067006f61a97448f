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
from .._present.checks import float_values
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


def _p95(values: Any) -> float | None:
    import numpy as np

    finite = values[np.isfinite(values)]
    return float(np.quantile(finite, 0.95)) if finite.size else None


def session_requests(requests: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """The request rows of the sessions shown (the panels follow every filter, also name,
    search and the session-level conditions, which request pulls cannot express)."""
    keep = requests["session_id"].isin(sessions["session_id"])
    return requests.loc[keep.fillna(False).to_numpy(dtype=bool)].reset_index(drop=True)


def with_requests(metrics: Metrics, requests: pd.DataFrame) -> Metrics:
    """``metrics`` with the p95 latency and error rate of the window's request rows."""
    import dataclasses

    status = float_values(requests["status"])
    return dataclasses.replace(
        metrics,
        p95_latency_ms=_p95(float_values(requests["latency_ms"])),
        error_rate=float((status >= 400).mean()) if status.size else None,
        latency_of="requests",
    )


def window_metrics(sessions: pd.DataFrame, requests: pd.DataFrame | None = None) -> Metrics:
    """The metrics of a window from its sessions (and the requests of those sessions)."""
    s = recipes.summary(sessions).iloc[0]
    latency = _p95(float_values(sessions["avg_latency"]))
    metrics = Metrics(
        cost=float(s["total_cost"]) if not missing(s["total_cost"]) else 0.0,
        sessions=int(s["sessions"]),
        requests=0 if missing(s["requests"]) else int(s["requests"]),
        users=0 if missing(s["users"]) else int(s["users"]),
        p95_latency_ms=latency,
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
    sessions: pd.DataFrame,
    previous: pd.DataFrame,
    period: str,
) -> str:
    """What changed: every metric side by side, then the session names that moved cost most."""
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
    metrics = html_table(
        rows, text, table_class="hnb-table hnb-changes", numeric_class="num", quote="'"
    )
    movers = _movers(sessions, previous)
    mover_table = html_table(
        movers,
        [
            ("session_name", "session name", lambda v: str(v) or "(no name)", False),
            ("cost_now", "cost now", money, True),
            ("cost_before", "cost before", money, True),
            ("change", "change", lambda v: ("+" if v > 0 else "−") + money(abs(v)), True),
        ],
        table_class="hnb-table hnb-movers",
        numeric_class="num",
        empty="<p class='hnb-note'>No cost in either period.</p>",
        quote="'",
    )
    return (
        f"{CSS}<div style='display:flex;flex-wrap:wrap;gap:24px'>"
        f"<div>{metrics}</div><div><div class='hnb-note'>Where the cost moved most, by session "
        f"name</div>{mover_table}</div></div>"
    )


def _movers(sessions: pd.DataFrame, previous: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    import pandas as pd

    def by_name(df: pd.DataFrame) -> pd.Series[Any]:
        if df.empty:
            return pd.Series(dtype="float64")
        table = recipes.cost_by(df, "session_name")
        return pd.Series(
            table["total_cost"].to_numpy(dtype="float64"),
            index=table["session_name"].astype(str),
        )

    now, before = by_name(sessions), by_name(previous)
    both = pd.concat([now.rename("cost_now"), before.rename("cost_before")], axis=1).fillna(0.0)
    both["change"] = both["cost_now"] - both["cost_before"]
    both = both[both["change"] != 0]
    order = both["change"].abs().sort_values(ascending=False, kind="mergesort").index[:top]
    return both.loc[order].rename_axis("session_name").reset_index()


def by_model_html(requests: pd.DataFrame) -> str:
    """Requests, cost, share of cost, latency and errors per model (request rows)."""
    import numpy as np
    import pandas as pd

    if requests.empty:
        return f"{CSS}<p class='hnb-note'>No requests in this window.</p>"
    latency = pd.Series(float_values(requests["latency_ms"]), index=requests.index)
    status = pd.Series(float_values(requests["status"]), index=requests.index)
    frame = pd.DataFrame(
        {
            "model": requests["model"].astype("string").fillna("(unknown)").to_numpy(),
            "cost": pd.Series(float_values(requests["cost"])).fillna(0.0).to_numpy(),
            "latency": latency.to_numpy(),
            "failed": (status >= 400).to_numpy(),
            "tokens": pd.Series(float_values(requests["total_tokens"])).fillna(0).to_numpy(),
        }
    )
    grouped = frame.groupby("model", sort=False, observed=True)
    table = pd.DataFrame(
        {
            "requests": grouped.size(),
            "cost": grouped["cost"].sum(),
            "p50": grouped["latency"].median(),
            "p95": grouped["latency"].quantile(0.95),
            "error_rate": grouped["failed"].mean(),
            "tokens": grouped["tokens"].sum(),
        }
    )
    total = float(table["cost"].sum())
    table["share"] = table["cost"] / total if total > 0 else np.nan
    table = table.sort_values("cost", ascending=False, kind="mergesort")
    table = table.rename_axis("model").reset_index()
    body = html_table(
        table,
        [
            ("model", "model", str, False),
            ("requests", "requests", integer, True),
            ("cost", "cost", money, True),
            ("share", "share of cost", percent, True),
            ("tokens", "tokens", integer, True),
            ("p50", "p50 latency", ms, True),
            ("p95", "p95 latency", ms, True),
            ("error_rate", "error rate", percent, True),
        ],
        table_class="hnb-table hnb-models",
        numeric_class="num",
        label_numeric_headers=True,
        quote="'",
    )
    return f"{CSS}<div class='hnb-scroll'>{body}</div>"
