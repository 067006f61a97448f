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

import os
from pathlib import Path
from typing import Any

from ._errors import UsageError
from ._report.build import TOP, build

__all__ = ["build_report", "write_report"]


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
    top: int = TOP,
    drill_down: bool = True,
) -> str:
    """One self-contained HTML page about the sessions of a time window.

    The page has a summary table, cost over time, cost by session name (Pareto) and by user,
    the top sessions, cost and latency outliers, the latency distribution, latency vs tokens,
    session durations, then from the window's request rows (when the client has
    ``fetch_requests``) "By model" (cost, requests, p95 latency, error rate), "Prices" (cost
    gaps: requests Helicone could not price, models the price list does not know; the
    re-pricing check against genai-prices) and "What changed" (the last 7 days against the 7
    before, or the two halves of a shorter window, per session name and model, and the
    largest week-over-week shifts), and the most expensive session's tree and timeline.
    Plots are embedded
    as base64 PNG images; there are no external files or scripts. The window, time zone and
    data source are stated; the API key never appears.

    Parameters
    ----------
    client : helicone_nb.Client or any object with the same methods
        ``fetch_sessions(start, end, *, tz, ...)``,
        ``fetch_session_requests(session_id, *, start, end, tz)`` and optionally
        ``fetch_requests(start, end, *, tz, filter)``; e.g. ``helicone_nb.connect()``.
    start, end : time-like
        The window, in any form ``fetch_sessions`` accepts (``"30d"``, ``"2025-01-01"``,
        datetimes); ``end`` defaults to now.
    tz : str, default "UTC"
        IANA zone for naive inputs, days and every time shown.
    filter, search, name, max_sessions
        Passed on to ``fetch_sessions``; ``filter`` (request-level conditions) and ``name``
        also restrict the request rows.
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
    11
    >>> all(f"<h2>{h}</h2>" in page for h in ("By model", "Prices", "What changed"))
    True
    >>> "Demo data." in page and client._api_key not in page
    True
    """
    return build(
        client,
        start,
        end,
        tz=tz,
        filter=filter,
        search=search,
        name=name,
        max_sessions=max_sessions,
        title=title,
        top=top,
        drill_down=drill_down,
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
