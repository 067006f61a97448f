"""Building the report page (the implementation of ``helicone_nb.report``).

``build`` returns the page with the frames it was made from; the CLI uses those for its
one-line summary. ``window_text`` and ``fetch_kwargs`` are shared with the CLI too.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import drilldown, plots, recipes
from .._errors import HeliconeError, MissingDependencyError, UsageError, require
from .._present.checks import check_frame, check_top
from .._present.figures import figure_png, png_data_uri
from .._present.html import html_table, key_value_table
from .._present.style import tz_name
from .._present.text import DEMO_BANNER, cell, integer, money, number, percent, timestamp
from .._recipes.sessions import SUMMARY_COLUMNS
from .requests import request_sections

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

TOP = 10
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:36px 0 8px;
border-bottom:1px solid #ddd;padding-bottom:4px}
p.meta{color:#555;margin:2px 0}p.note{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.9em}
th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block;margin:8px 0}
pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:.85em;line-height:1.35}
.demo{background:#fff4d6;border:1px solid #e6c35c;padding:8px 12px;margin:12px 0}
.missing{color:#a33}.gap{color:#8a4b00}
footer{color:#777;font-size:.85em;margin-top:40px}
"""


def img(draw: Callable[[Axes], Any], size: tuple[float, float], alt: str, ok: bool) -> str:
    """An ``<img>`` with the PNG inline, or a note that matplotlib is missing."""
    if not ok:
        return (
            f'<p class="missing">[plot "{html.escape(alt)}" not drawn: matplotlib is not '
            "installed; pip install 'helicone_nb[notebook]']</p>"
        )
    return f'<img src="{png_data_uri(figure_png(draw, size))}" alt="{html.escape(alt)}">'


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


@dataclass
class ReportResult:
    """What ``_build`` made: the page, the sessions it is about, and their one-row summary."""

    html: str
    sessions: pd.DataFrame
    summary: pd.DataFrame
    plots_drawn: bool
    #: The window's request rows behind "By model", "Prices" and "What changed" (None when
    #: the client cannot fetch them).
    requests: pd.DataFrame | None = None


def _have_matplotlib() -> bool:
    try:
        require("matplotlib", "notebook")
    except MissingDependencyError:
        return False
    return True


def _secrets(client: Any) -> list[str]:
    """Every secret-looking value the client or the environment holds (to redact)."""
    found = []
    for attr in ("_api_key", "api_key", "key", "_key", "token"):
        value = getattr(client, attr, None)
        if isinstance(value, str):
            found.append(value)
    env = os.environ.get("HELICONE_API_KEY")
    if env:
        found.append(env)
    return sorted({s.strip() for s in found if len(s.strip()) >= 8}, key=len, reverse=True)


def window_text(start: Any, end: Any, tz: Any) -> str:
    from .._wire.time import resolve_window

    try:
        window = resolve_window(start, end, tz)
    except UsageError:
        return f"{start} to {end or 'now'}"
    zone = window.start.astimezone(_tz(tz))
    until = window.end.astimezone(_tz(tz))
    return f"{zone:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M}"


def _tz(tz: Any) -> _dt.tzinfo:
    from .._wire.time import check_tz

    return check_tz(tz)


def _freq_for(df: pd.DataFrame) -> str:
    if df.empty:
        return "D"
    days = (df["latest_request_created_at"].max() - df["created_at"].min()).total_seconds() / 86400
    if days <= 3:
        return "h"
    return "D" if days <= 120 else "W"


def fetch_kwargs(**kwargs: Any) -> dict[str, Any]:
    """Only the options the caller set, so any duck-typed client works."""
    return {k: v for k, v in kwargs.items() if v not in (None, "")}


def build(
    client: Any,
    start: Any,
    end: Any = None,
    *,
    tz: Any = "UTC",
    filter: Any = None,
    search: str = "",
    name: str | None = None,
    max_sessions: int | None = None,
    title: str | None = None,
    top: int = TOP,
    drill_down: bool = True,
) -> ReportResult:
    from .. import __version__

    for method in ("fetch_sessions", "fetch_session_requests"):
        if not callable(getattr(client, method, None)):
            raise UsageError(
                f"build_report() needs a client with .{method}(); use helicone_nb.connect()"
            )
    check_top(top, "build_report")
    _tz(tz)
    df = client.fetch_sessions(
        start,
        end,
        tz=tz,
        **fetch_kwargs(filter=filter, search=search, name=name, max_sessions=max_sessions),
    )
    check_frame(df, "build_report", [*SUMMARY_COLUMNS, "session_name"])
    ok = _have_matplotlib()
    summary = recipes.summary(df)
    s = summary.iloc[0]
    demo = getattr(client, "demo_period", None) is not None
    zone = tz_name(_tz(tz))
    window = window_text(start, end, tz)
    heading = title or "Helicone sessions report"
    generated = _dt.datetime.now(_dt.UTC)

    parts: list[str] = []
    add = parts.append
    add(f"<h1>{html.escape(heading)}</h1>")
    add(
        f'<p class="meta">Window: <b>{html.escape(window)}</b> ({html.escape(zone)}); '
        f"all times in {html.escape(zone)}.</p>"
    )
    filters = [
        f"search “{search}”" if search else "",
        f"name = “{name}”" if name else "",
        "a filter" if filter is not None else "",
        f"at most {max_sessions:,} sessions" if max_sessions else "",
    ]
    if any(filters):
        add(
            f'<p class="meta">Restricted to: {html.escape(", ".join(f for f in filters if f))}.</p>'
        )
    if demo:
        lead, text = DEMO_BANNER
        add(f'<div class="demo"><b>{html.escape(lead)}</b> {html.escape(text)}</div>')
    if max_sessions and int(s["sessions"]) >= max_sessions:
        add(
            f'<p class="note">The fetch stopped at max_sessions={max_sessions:,}: the numbers '
            "below cover only the newest sessions of the window.</p>"
        )

    # Summary ---------------------------------------------------------------------------------
    add("<h2>Summary</h2>")
    if df.empty:
        add('<p class="note">No sessions in this window.</p>')
    rows = [
        (
            "Sessions",
            integer(s["sessions"])
            + (
                f" ({integer(s['session_ids'])} distinct ids)"
                if s["session_ids"] != s["sessions"]
                else ""
            ),
        ),
        ("Requests", integer(s["requests"])),
        ("Users", integer(s["users"])),
        ("Total cost", money(s["total_cost"])),
        (
            "Cost per session: mean / p50 / p90 / p99",
            " / ".join(
                money(s[c])
                for c in (
                    "cost_per_session_mean",
                    "cost_per_session_p50",
                    "cost_per_session_p90",
                    "cost_per_session_p99",
                )
            ),
        ),
        (
            "Tokens: prompt / completion / total",
            " / ".join(
                integer(s[c]) for c in ("prompt_tokens", "completion_tokens", "total_tokens")
            ),
        ),
        ("Cost per 1k tokens", money(s["cost_per_1k_tokens"])),
        ("Mean latency per request (request-weighted)", number(" ms")(s["mean_latency_ms"])),
        (
            "Session mean latency: p50 / p90 / p99",
            " / ".join(
                number(" ms")(s[c])
                for c in (
                    "session_latency_p50_ms",
                    "session_latency_p90_ms",
                    "session_latency_p99_ms",
                )
            ),
        ),
        (
            "Session duration: p50 / p90",
            " / ".join(number(" s", 1)(s[c]) for c in ("duration_p50_s", "duration_p90_s")),
        ),
        ("First / last request", f"{timestamp(s['start'])} / {timestamp(s['end'])}"),
    ]
    add(key_value_table(rows))

    # Cost ------------------------------------------------------------------------------------
    freq = _freq_for(df)
    add("<h2>Cost over time</h2>")
    add(
        '<p class="note">Each session counts in the period of its first request; empty '
        "periods are 0. The orange line is the running total.</p>"
    )
    add(
        img(
            lambda ax: plots.plot_cost_over_time(df, freq, cumulative=True, ax=ax),
            (10, 4),
            "cost over time",
            ok,
        )
    )

    add("<h2>Cost by session name</h2>")
    add(
        img(
            lambda ax: plots.plot_cost_pareto(df, "session_name", top=top, ax=ax),
            (10, 4.5),
            "cost by session name (Pareto)",
            ok,
        )
    )
    by_name = recipes.cost_by(df, "session_name", top=top)
    add(
        html_table(
            by_name,
            [
                ("session_name", "Session name", cell),
                ("sessions", "Sessions", integer),
                ("requests", "Requests", integer),
                ("total_cost", "Cost", money),
                ("share", "Share", percent),
                ("cumulative_share", "Cumulative", percent),
            ],
        )
    )

    add("<h2>Cost by user</h2>")
    add(
        '<p class="note">A session\'s cost is split equally among its distinct users; sessions '
        "without a user id are “(no user)”. Sessions and requests count every session the "
        "user took part in.</p>"
    )
    by_user = recipes.cost_by_user(df, top=top)
    add(
        img(
            lambda ax: plots.plot_cost_by(df, "user", top=top, ax=ax),
            (9, max(2.5, 0.35 * len(by_user) + 1.5)),
            "cost by user",
            ok,
        )
    )
    add(
        html_table(
            by_user,
            [
                ("user", "User", cell),
                ("sessions", "Sessions", integer),
                ("shared_sessions", "Shared sessions", integer),
                ("requests", "Requests", integer),
                ("total_cost", "Attributed cost", money),
                ("share", "Share", percent),
            ],
        )
    )

    session_cols: list[tuple[str, str, Callable[[Any], str]]] = [
        ("session_id", "Session id", cell),
        ("session_name", "Name", cell),
        ("created_at", "Started", timestamp),
        ("total_requests", "Requests", integer),
        ("total_cost", "Cost", money),
        ("avg_latency", "Mean latency", number(" ms")),
        ("duration_s", "Duration", number(" s", 1)),
        ("user_ids", "Users", cell),
    ]
    add(f"<h2>Top {top} sessions by cost</h2>")
    add(html_table(recipes.top_sessions(df, "total_cost", n=top), session_cols))

    # Outliers --------------------------------------------------------------------------------
    add("<h2>Outliers</h2>")
    add(
        '<p class="note">Sessions far above the other sessions of the same name: robust '
        "z-score, 0.6745 × (value − median) / MAD, above 3.5, where median and MAD (median "
        "absolute deviation) are those of the sessions with that name. Cost is heavy-tailed, "
        "so many sessions can pass the cut; the most extreme, listed first, are where to look."
        "</p>"
    )
    n_sessions = len(df)
    for column, label, fmt in (
        ("total_cost", "cost", money),
        ("avg_latency", "mean latency", number(" ms")),
    ):
        found = recipes.outliers(df, column, 3.5, side="high", by="session_name")
        shown = min(len(found), top)
        share = f" ({len(found) / n_sessions:.1%} of all)" if n_sessions and len(found) else ""
        add(
            f"<h3>By {label}: {len(found):,} session{'s' if len(found) != 1 else ''}{share}"
            f"{f', the {shown} most extreme shown' if len(found) > shown else ''}</h3>"
        )
        add(
            html_table(
                found.head(top),
                [
                    *session_cols,
                    ("median", f"Median {label} for the name", fmt),
                    ("robust_z", "Robust z", number("", 1)),
                ],
            )
        )

    # Latency ---------------------------------------------------------------------------------
    add("<h2>Latency</h2>")
    add(
        '<p class="note">Session latency is the mean over a session\'s requests; percentiles '
        "here are over sessions. “Mean latency” per group weights each session by its "
        "requests, which estimates the mean latency of one request.</p>"
    )
    add(
        img(
            lambda ax: plots.plot_latency_distribution(df, ax=ax),
            (10, 4),
            "latency distribution",
            ok,
        )
    )
    add(img(lambda ax: plots.plot_latency_vs_tokens(df, ax=ax), (8, 4.5), "latency vs tokens", ok))
    lat = (
        recipes.latency_by(df, "session_name")
        .sort_values("requests", ascending=False, kind="mergesort")
        .head(top)
    )
    add(
        html_table(
            lat,
            [
                ("session_name", "Session name", cell),
                ("sessions", "Sessions", integer),
                ("requests", "Requests", integer),
                ("mean_latency_ms", "Mean latency", number(" ms")),
                ("session_p50_ms", "p50", number(" ms")),
                ("session_p90_ms", "p90", number(" ms")),
                ("session_p99_ms", "p99", number(" ms")),
                ("session_max_ms", "Max", number(" ms")),
            ],
        )
    )

    add("<h2>Session duration</h2>")
    add(
        '<p class="note">From the start of the first to the start of the last request; '
        "a one-request session lasts 0 s.</p>"
    )
    add(img(lambda ax: plots.plot_session_duration(df, ax=ax), (10, 4), "session duration", ok))

    # By model, prices, what changed (request rows) -------------------------------------------
    requests = request_sections(
        client, start, end, tz=tz, filter=filter, name=name, top=top, ok=ok, img=img, add=add
    )

    # Drill-down ------------------------------------------------------------------------------
    if drill_down and not df.empty:
        first = recipes.top_sessions(df, "total_cost", n=1).iloc[0]
        sid = str(first["session_id"])
        add("<h2>The most expensive session, step by step</h2>")
        try:
            req = client.fetch_session_requests(sid, start=start, end=end, tz=tz)
        except HeliconeError as exc:
            add(
                f'<p class="missing">Could not load the requests of session '
                f"{html.escape(sid)}: {html.escape(str(exc))}</p>"
            )
        else:
            add(f"<pre>{html.escape(drilldown.session_tree(req).render())}</pre>")
            nodes = len(list(drilldown.session_tree(req).walk()))
            add(
                img(
                    lambda ax: drilldown.plot_session_timeline(req, ax=ax),
                    (10, max(2.5, 0.4 * min(nodes, 40) + 1.8)),
                    "session timeline",
                    ok,
                )
            )

    source = "built-in demo data (synthetic)" if demo else "the Helicone API"
    add(
        f"<footer>Generated by helicone_nb {html.escape(__version__)} on "
        f"{generated:%Y-%m-%d %H:%M} UTC from {source}.</footer>"
    )

    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(heading)} · {html.escape(window)}</title>"
        f"<style>{_CSS}</style></head><body><main>\n"
        + "\n".join(parts)
        + "\n</main></body></html>\n"
    )
    for secret in _secrets(client):
        page = page.replace(secret, "[redacted]")
        page = page.replace(html.escape(secret), "[redacted]")
    return ReportResult(html=page, sessions=df, summary=summary, plots_drawn=ok, requests=requests)
