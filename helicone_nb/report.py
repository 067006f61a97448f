"""The one-command report: one self-contained HTML file about a window of sessions.

``build_report(client, start, end)`` fetches the window's sessions (and the most expensive
session's requests) through any client with ``fetch_sessions`` and ``fetch_session_requests``,
runs the recipes, draws the plots into base64 PNG images and returns one HTML page with no
external resources. The page states the window, the time zone, where the data came from (the
built-in demo data says so) and what generated it. It never contains the API key: nothing is
read from the client but its data, and as a last guard every secret the client or environment
holds is redacted from the finished page.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import drilldown, plots, recipes
from ._errors import HeliconeError, MissingDependencyError, UsageError, require

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["build_report", "write_report"]

_TOP = 10
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
.missing{color:#a33}
footer{color:#777;font-size:.85em;margin-top:40px}
"""


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


def _isna(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _money(value: Any) -> str:
    if _isna(value):
        return "–"
    v = float(value)
    if abs(v) >= 1:
        return f"${v:,.2f}"
    if v == 0 or abs(v) >= 0.0001:
        return f"${v:.4f}"
    return f"${v:.2g}"


def _int(value: Any) -> str:
    return "–" if _isna(value) else f"{int(value):,}"


def _float(unit: str, digits: int = 0) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        return "–" if _isna(value) else f"{float(value):,.{digits}f}{unit}"

    return fmt


def _pct(value: Any) -> str:
    return "–" if _isna(value) else f"{float(value):.1%}"


def _time(value: Any) -> str:
    return "–" if _isna(value) else f"{value:%Y-%m-%d %H:%M:%S}"


def _text(value: Any) -> str:
    import numpy as np

    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(v) for v in value) or "–"
    if _isna(value):
        return "–"
    if isinstance(value, str) and value == "":
        return "(no name)"
    if hasattr(value, "strftime"):
        return _time(value)
    return str(value)


def _table(df: pd.DataFrame, columns: Sequence[tuple[str, str, Callable[[Any], str]]]) -> str:
    """An HTML table of ``df``: (column, header, formatter) per column; all text escaped.

    Numeric columns are right-aligned.
    """
    import pandas as pd

    if df.empty:
        return '<p class="note">None.</p>'
    head = "".join(f"<th>{html.escape(header)}</th>" for _, header, _ in columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for col, _, fmt in columns:
            numeric = pd.api.types.is_numeric_dtype(df[col].dtype)
            cls = ' class="n"' if numeric else ""
            cells.append(f"<td{cls}>{html.escape(fmt(row[col]))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def _figure_png(draw: Callable[[Axes], Any], size: tuple[float, float]) -> str:
    """Draw on a fresh Figure (no pyplot state) and return ``data:image/png;base64,...``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(draw: Callable[[Axes], Any], size: tuple[float, float], alt: str, ok: bool) -> str:
    if not ok:
        return (
            f'<p class="missing">[plot "{html.escape(alt)}" not drawn: matplotlib is not '
            "installed; pip install 'helicone_nb[notebook]']</p>"
        )
    return f'<img src="{_figure_png(draw, size)}" alt="{html.escape(alt)}">'


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


def _window_text(start: Any, end: Any, tz: Any) -> str:
    from ._wire.time import resolve_window

    try:
        window = resolve_window(start, end, tz)
    except UsageError:
        return f"{start} to {end or 'now'}"
    zone = window.start.astimezone(_tz(tz))
    until = window.end.astimezone(_tz(tz))
    return f"{zone:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M}"


def _tz(tz: Any) -> _dt.tzinfo:
    from ._wire.time import check_tz

    return check_tz(tz)


def _freq_for(df: pd.DataFrame) -> str:
    if df.empty:
        return "D"
    days = (df["latest_request_created_at"].max() - df["created_at"].min()).total_seconds() / 86400
    if days <= 3:
        return "h"
    return "D" if days <= 120 else "W"


def _fetch_kwargs(**kwargs: Any) -> dict[str, Any]:
    """Only the options the caller set, so any duck-typed client works."""
    return {k: v for k, v in kwargs.items() if v not in (None, "")}


def _build(
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
    top: int = _TOP,
    drill_down: bool = True,
) -> ReportResult:
    from . import __version__

    for method in ("fetch_sessions", "fetch_session_requests"):
        if not callable(getattr(client, method, None)):
            raise UsageError(
                f"build_report() needs a client with .{method}(); use helicone_nb.connect()"
            )
    recipes._check_top(top, "build_report")
    _tz(tz)
    df = client.fetch_sessions(
        start, end, tz=tz,
        **_fetch_kwargs(filter=filter, search=search, name=name, max_sessions=max_sessions),
    )
    recipes._check_frame(df, "build_report", [*recipes._SUMMARY_COLUMNS, "session_name"])
    ok = _have_matplotlib()
    summary = recipes.summary(df)
    s = summary.iloc[0]
    demo = getattr(client, "demo_period", None) is not None
    zone = plots._tz_name(_tz(tz))
    window = _window_text(start, end, tz)
    heading = title or "Helicone sessions report"
    generated = _dt.datetime.now(_dt.UTC)

    parts: list[str] = []
    add = parts.append
    add(f"<h1>{html.escape(heading)}</h1>")
    add(f'<p class="meta">Window: <b>{html.escape(window)}</b> ({html.escape(zone)}); '
        f"all times in {html.escape(zone)}.</p>")
    filters = [f"search “{search}”" if search else "", f"name = “{name}”" if name else "",
               "a filter" if filter is not None else "",
               f"at most {max_sessions:,} sessions" if max_sessions else ""]
    if any(filters):
        add(f'<p class="meta">Restricted to: {html.escape(", ".join(f for f in filters if f))}'
            ".</p>")
    if demo:
        add('<div class="demo"><b>Demo data.</b> These are the synthetic, deterministic '
            "sessions of helicone_nb's built-in demo backend, not real traffic. Set "
            "HELICONE_API_KEY to report on your own Helicone organisation.</div>")
    if max_sessions and int(s["sessions"]) >= max_sessions:
        add(f'<p class="note">The fetch stopped at max_sessions={max_sessions:,}: the numbers '
            "below cover only the newest sessions of the window.</p>")

    # Summary ---------------------------------------------------------------------------------
    add("<h2>Summary</h2>")
    if df.empty:
        add('<p class="note">No sessions in this window.</p>')
    rows = [
        ("Sessions", _int(s["sessions"]) + (
            f" ({_int(s['session_ids'])} distinct ids)"
            if s["session_ids"] != s["sessions"] else "")),
        ("Requests", _int(s["requests"])),
        ("Users", _int(s["users"])),
        ("Total cost", _money(s["total_cost"])),
        ("Cost per session: mean / p50 / p90 / p99",
         " / ".join(_money(s[c]) for c in ("cost_per_session_mean", "cost_per_session_p50",
                                            "cost_per_session_p90", "cost_per_session_p99"))),
        ("Tokens: prompt / completion / total",
         " / ".join(_int(s[c]) for c in ("prompt_tokens", "completion_tokens", "total_tokens"))),
        ("Cost per 1k tokens", _money(s["cost_per_1k_tokens"])),
        ("Mean latency per request (request-weighted)", _float(" ms")(s["mean_latency_ms"])),
        ("Session mean latency: p50 / p90 / p99",
         " / ".join(_float(" ms")(s[c]) for c in ("session_latency_p50_ms",
                                                  "session_latency_p90_ms",
                                                  "session_latency_p99_ms"))),
        ("Session duration: p50 / p90",
         " / ".join(_float(" s", 1)(s[c]) for c in ("duration_p50_s", "duration_p90_s"))),
        ("First / last request", f"{_time(s['start'])} / {_time(s['end'])}"),
    ]
    add("<table><tbody>" + "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
    ) + "</tbody></table>")

    # Cost ------------------------------------------------------------------------------------
    freq = _freq_for(df)
    add("<h2>Cost over time</h2>")
    add('<p class="note">Each session counts in the period of its first request; empty '
        "periods are 0. The orange line is the running total.</p>")
    add(_img(lambda ax: plots.plot_cost_over_time(df, freq, cumulative=True, ax=ax), (10, 4),
             "cost over time", ok))

    add("<h2>Cost by session name</h2>")
    add(_img(lambda ax: plots.plot_cost_pareto(df, "session_name", top=top, ax=ax), (10, 4.5),
             "cost by session name (Pareto)", ok))
    by_name = recipes.cost_by(df, "session_name", top=top)
    add(_table(by_name, [
        ("session_name", "Session name", _text), ("sessions", "Sessions", _int),
        ("requests", "Requests", _int), ("total_cost", "Cost", _money),
        ("share", "Share", _pct), ("cumulative_share", "Cumulative", _pct),
    ]))

    add("<h2>Cost by user</h2>")
    add('<p class="note">A session\'s cost is split equally among its distinct users; sessions '
        "without a user id are “(no user)”. Sessions and requests count every session the "
        "user took part in.</p>")
    by_user = recipes.cost_by_user(df, top=top)
    add(_img(lambda ax: plots.plot_cost_by(df, "user", top=top, ax=ax),
             (9, max(2.5, 0.35 * len(by_user) + 1.5)), "cost by user", ok))
    add(_table(by_user, [
        ("user", "User", _text), ("sessions", "Sessions", _int),
        ("shared_sessions", "Shared sessions", _int), ("requests", "Requests", _int),
        ("total_cost", "Attributed cost", _money), ("share", "Share", _pct),
    ]))

    session_cols: list[tuple[str, str, Callable[[Any], str]]] = [
        ("session_id", "Session id", _text), ("session_name", "Name", _text),
        ("created_at", "Started", _time), ("total_requests", "Requests", _int),
        ("total_cost", "Cost", _money), ("avg_latency", "Mean latency", _float(" ms")),
        ("duration_s", "Duration", _float(" s", 1)), ("user_ids", "Users", _text),
    ]
    add(f"<h2>Top {top} sessions by cost</h2>")
    add(_table(recipes.top_sessions(df, "total_cost", n=top), session_cols))

    # Outliers --------------------------------------------------------------------------------
    add("<h2>Outliers</h2>")
    add('<p class="note">Sessions far above the other sessions of the same name: robust '
        "z-score, 0.6745 × (value − median) / MAD, above 3.5, where median and MAD (median "
        "absolute deviation) are those of the sessions with that name. Cost is heavy-tailed, "
        "so many sessions can pass the cut; the most extreme, listed first, are where to look."
        "</p>")
    n_sessions = len(df)
    for column, label, fmt in (("total_cost", "cost", _money),
                               ("avg_latency", "mean latency", _float(" ms"))):
        found = recipes.outliers(df, column, 3.5, side="high", by="session_name")
        shown = min(len(found), top)
        share = f" ({len(found) / n_sessions:.1%} of all)" if n_sessions and len(found) else ""
        add(f"<h3>By {label}: {len(found):,} session{'s' if len(found) != 1 else ''}{share}"
            f"{f', the {shown} most extreme shown' if len(found) > shown else ''}</h3>")
        add(_table(found.head(top), [*session_cols, ("median", f"Median {label} for the name",
                                                     fmt), ("robust_z", "Robust z",
                                                            _float("", 1))]))

    # Latency ---------------------------------------------------------------------------------
    add("<h2>Latency</h2>")
    add('<p class="note">Session latency is the mean over a session\'s requests; percentiles '
        "here are over sessions. “Mean latency” per group weights each session by its "
        "requests, which estimates the mean latency of one request.</p>")
    add(_img(lambda ax: plots.plot_latency_distribution(df, ax=ax), (10, 4),
             "latency distribution", ok))
    add(_img(lambda ax: plots.plot_latency_vs_tokens(df, ax=ax), (8, 4.5),
             "latency vs tokens", ok))
    lat = recipes.latency_by(df, "session_name").sort_values(
        "requests", ascending=False, kind="mergesort").head(top)
    add(_table(lat, [
        ("session_name", "Session name", _text), ("sessions", "Sessions", _int),
        ("requests", "Requests", _int), ("mean_latency_ms", "Mean latency", _float(" ms")),
        ("session_p50_ms", "p50", _float(" ms")), ("session_p90_ms", "p90", _float(" ms")),
        ("session_p99_ms", "p99", _float(" ms")), ("session_max_ms", "Max", _float(" ms")),
    ]))

    add("<h2>Session duration</h2>")
    add('<p class="note">From the start of the first to the start of the last request; '
        "a one-request session lasts 0 s.</p>")
    add(_img(lambda ax: plots.plot_session_duration(df, ax=ax), (10, 4),
             "session duration", ok))

    # Drill-down ------------------------------------------------------------------------------
    if drill_down and not df.empty:
        first = recipes.top_sessions(df, "total_cost", n=1).iloc[0]
        sid = str(first["session_id"])
        add("<h2>The most expensive session, step by step</h2>")
        try:
            req = client.fetch_session_requests(sid, start=start, end=end, tz=tz)
        except HeliconeError as exc:
            add(f'<p class="missing">Could not load the requests of session '
                f"{html.escape(sid)}: {html.escape(str(exc))}</p>")
        else:
            add(f"<pre>{html.escape(drilldown.session_tree(req).render())}</pre>")
            nodes = len(list(drilldown.session_tree(req).walk()))
            add(_img(lambda ax: drilldown.plot_session_timeline(req, ax=ax),
                     (10, max(2.5, 0.4 * min(nodes, 40) + 1.8)), "session timeline", ok))

    source = "built-in demo data (synthetic)" if demo else "the Helicone API"
    add(f"<footer>Generated by helicone_nb {html.escape(__version__)} on "
        f"{generated:%Y-%m-%d %H:%M} UTC from {source}.</footer>")

    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(heading)} · {html.escape(window)}</title>"
        f"<style>{_CSS}</style></head><body><main>\n" + "\n".join(parts) +
        "\n</main></body></html>\n"
    )
    for secret in _secrets(client):
        page = page.replace(secret, "[redacted]")
        page = page.replace(html.escape(secret), "[redacted]")
    return ReportResult(html=page, sessions=df, summary=summary, plots_drawn=ok)


def build_report(
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
    top: int = _TOP,
    drill_down: bool = True,
) -> str:
    """One self-contained HTML page about the sessions of a time window.

    The page has a summary table, cost over time, cost by session name (Pareto) and by user,
    the top sessions, cost and latency outliers, the latency distribution, latency vs tokens,
    session durations and the most expensive session's tree and timeline. Plots are embedded
    as base64 PNG images; there are no external files or scripts. The window, time zone and
    data source are stated; the API key never appears.

    Parameters
    ----------
    client : helicone_nb.Client or any object with the same two methods
        ``fetch_sessions(start, end, *, tz, ...)`` and
        ``fetch_session_requests(session_id, *, start, end, tz)``; e.g.
        ``helicone_nb.connect()``.
    start, end : time-like
        The window, in any form ``fetch_sessions`` accepts (``"30d"``, ``"2025-01-01"``,
        datetimes); ``end`` defaults to now.
    tz : str, default "UTC"
        IANA zone for naive inputs, days and every time shown.
    filter, search, name, max_sessions
        Passed on to ``fetch_sessions``.
    title : str, optional
        Page heading (default "Helicone sessions report").
    top : int, default 10
        Rows in the ranked tables and bars in the ranked plots.
    drill_down : bool, default True
        Fetch and show the most expensive session's requests.

    Returns
    -------
    str
        The HTML page.

    Examples
    --------
    >>> import helicone_nb as hnb
    >>> from helicone_nb.backend import DEMO_START, DEMO_END, DEMO_TZ
    >>> from helicone_nb.report import build_report
    >>> client = hnb.connect(demo=True, quiet=True, demo_requests=2000)
    >>> page = build_report(client, DEMO_START, DEMO_END, tz=DEMO_TZ)
    >>> page.count('<img src="data:image/png;base64,')
    7
    >>> "Demo data." in page and client._api_key not in page
    True
    """
    return _build(
        client, start, end, tz=tz, filter=filter, search=search, name=name,
        max_sessions=max_sessions, title=title, top=top, drill_down=drill_down,
    ).html


def write_report(
    client: Any,
    start: Any,
    end: Any = None,
    *,
    path: str | os.PathLike[str] = "helicone-report.html",
    **options: Any,
) -> Path:
    """Build the report (see :func:`build_report`) and write it to ``path`` (UTF-8).

    Parameters
    ----------
    client, start, end
        As for :func:`build_report`.
    path : str or os.PathLike, default "helicone-report.html"
        The file to write (parent folders are created; an existing file is replaced).
    **options
        Keyword options of :func:`build_report` (``tz``, ``filter``, ``title``, ``top``, ...).

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import helicone_nb as hnb
    >>> from helicone_nb.backend import DEMO_START, DEMO_END
    >>> from helicone_nb.report import write_report
    >>> client = hnb.connect(demo=True, quiet=True, demo_requests=2000)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> path = write_report(client, DEMO_START, DEMO_END, path=folder / "report.html",
    ...                     drill_down=False)
    >>> path.is_absolute(), path.name, path.stat().st_size > 10_000
    (True, 'report.html', True)
    """
    target = Path(path).expanduser().resolve()
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name such as report.html")
    page = build_report(client, start, end, **options)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target

