"""The report's request-level sections: "By model", "Prices" and "What changed".

They need the window's request rows (``client.fetch_requests``, the same cached paging as
everything else); a client without it gets a note instead of the sections.
"""

from __future__ import annotations

import datetime as _dt
import html
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import plots, recipes
from .._errors import HeliconeError, UsageError
from .._present.html import html_table
from .._present.text import cell, integer, money, number, percent
from .._recipes.prices import reprice_summary

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

Img = Callable[[Callable[["Axes"], Any], tuple[float, float], str, bool], str]


def fetch_window_requests(
    client: Any, start: Any, end: Any, tz: Any, filter: Any, name: str | None
) -> tuple[pd.DataFrame | None, str]:
    """The window's requests, or None and the reason they are not shown."""
    fetch = getattr(client, "fetch_requests", None)
    if not callable(fetch):
        return None, "this client cannot fetch request rows (it has no fetch_requests)"
    options: dict[str, Any] = {"tz": tz}
    if filter is not None:
        options["filter"] = filter
    try:
        try:
            req = fetch(start, end, progress=False, **options)
        except TypeError:  # a duck-typed client without the progress option
            req = fetch(start, end, **options)
    except UsageError as exc:
        return None, f"the request rows could not be fetched with this filter ({exc})"
    except HeliconeError as exc:
        return None, f"the request rows could not be fetched: {exc}"
    if name is not None and "session_name" in req.columns:
        req = req[req["session_name"].astype("string") == name].reset_index(drop=True)
    return req, ""


def _periods(
    start: Any, end: Any, tz: Any
) -> tuple[tuple[_dt.datetime, _dt.datetime], tuple[_dt.datetime, _dt.datetime], str]:
    """(before, after, words): the last 7 days against the 7 before, or the two halves."""
    from .._wire.time import resolve_window

    window = resolve_window(start, end, tz)
    s, e = window.start, window.end
    week = _dt.timedelta(days=7)
    if e - s >= 2 * week:
        return (e - 2 * week, e - week), (e - week, e), "the last 7 days against the 7 before"
    mid = s + (e - s) / 2
    return (s, mid), (mid, e), "the second half of the window against the first"


def _by_model(req: pd.DataFrame, top: int, ok: bool, img: Img, add: Callable[[str], Any]) -> None:
    add("<h2>By model</h2>")
    add(
        '<p class="note">From the request rows: cost and requests per model, the 95th '
        "percentile of single-request latency, and the share of failed requests (status ≥ 400 "
        "or none).</p>"
    )
    if req.empty:
        add('<p class="note">No requests in this window.</p>')
        return
    table = recipes.cost_by(req, "model", top=top)
    latency = recipes.latency_by(req, "model", percentiles=(0.95,))
    errors = recipes.error_rate(req, "model")
    table = table.merge(latency[["model", "latency_p95_ms"]], on="model", how="left")
    table = table.merge(errors[["model", "error_rate"]], on="model", how="left")
    add(
        img(
            lambda ax: plots.plot_cost_by_model(req, top=top, ax=ax),
            (9, max(2.5, 0.35 * len(table) + 1.5)),
            "cost by model",
            ok,
        )
    )
    add(
        html_table(
            table,
            [
                ("model", "Model", cell),
                ("requests", "Requests", integer),
                ("total_cost", "Cost", money),
                ("share", "Share", percent),
                ("cost_per_1k_tokens", "Cost per 1k tokens", money),
                ("latency_p95_ms", "p95 latency", number(" ms")),
                ("error_rate", "Error rate", percent),
            ],
        )
    )
    add(img(lambda ax: plots.plot_latency_ecdf(req, ax=ax), (10, 4.5), "latency by model", ok))
    freq = "hour" if _span_days(req) <= 3 else "day"
    add(
        img(
            lambda ax: plots.plot_error_rate(req, freq, by="provider", ax=ax),
            (10, 4),
            "error rate by provider",
            ok,
        )
    )


def _span_days(req: pd.DataFrame) -> float:
    if req.empty or req["created_at"].isna().all():
        return 0.0
    return float((req["created_at"].max() - req["created_at"].min()).total_seconds() / 86400)


def _prices(req: pd.DataFrame, top: int, add: Callable[[str], Any]) -> None:
    from importlib.metadata import version

    add("<h2>Prices</h2>")
    add(
        '<p class="note">Helicone records $0 for models it cannot price. Recorded costs are '
        "checked against list prices from the genai-prices database "
        f"(version {html.escape(version('genai-prices'))}, offline): prompt, completion and "
        "cache tokens at the model's price per million tokens.</p>"
    )
    if req.empty:
        add('<p class="note">No requests in this window.</p>')
        return
    gaps = recipes.cost_gaps(req)
    add("<h3>Cost gaps</h3>")
    if gaps.empty:
        add(
            '<p class="note">None: every request with tokens has a recorded cost, and the '
            "price list knows every model.</p>"
        )
    else:
        unpriced = int(gaps["unpriced_requests"].sum())
        missing = float(gaps["estimated_missing_cost"].fillna(0.0).sum())
        token_share = float(gaps["token_share"].sum())
        cost_share = float(gaps["missing_cost_share"].sum())
        unknown = gaps.loc[~gaps["price_known"], "model"].astype(str).tolist()
        text = (
            f"{unpriced:,} request{'s' if unpriced != 1 else ''} with tokens "
            f"{'have' if unpriced != 1 else 'has'} no recorded cost ({percent(token_share)} "
            f"of all tokens); at list prices they would cost about {money(missing)} "
            f"({percent(cost_share)} of the window's cost)."
        )
        if unknown:
            text += (
                " The price list does not know "
                + ", ".join(unknown[:5])
                + (" and more" if len(unknown) > 5 else "")
                + ": pass your own prices to recipes.cost_gaps(requests, prices=...)."
            )
        add(f'<p class="gap"><b>{html.escape(text)}</b></p>')
        add(
            html_table(
                gaps.head(top),
                [
                    ("provider", "Provider", cell),
                    ("model", "Model", cell),
                    ("requests", "Requests", integer),
                    ("unpriced_requests", "Without cost", integer),
                    ("unpriced_tokens", "Their tokens", integer),
                    ("token_share", "Share of tokens", percent),
                    ("estimated_missing_cost", "Estimated cost", money),
                    ("price_known", "In price list", cell),
                ],
            )
        )
    add("<h3>Re-pricing check</h3>")
    add(
        '<p class="note">Requests Helicone priced, recomputed at list price. Differences come '
        "from negotiated or batch prices, price changes, or tokens the request row does not "
        "carry.</p>"
    )
    summary = reprice_summary(recipes.reprice(req), "model")
    summary = summary[summary["checked"] > 0]
    add(
        html_table(
            summary,
            [
                ("model", "Model", cell),
                ("checked", "Requests checked", integer),
                ("recorded_cost", "Recorded", money),
                ("repriced_cost", "At list price", money),
                ("difference", "Difference", money),
                ("relative_difference", "Relative", percent),
            ],
        )
    )


def _what_changed(
    req: pd.DataFrame,
    start: Any,
    end: Any,
    tz: Any,
    top: int,
    ok: bool,
    img: Img,
    add: Callable[[str], Any],
) -> None:
    add("<h2>What changed</h2>")
    if req.empty:
        add('<p class="note">No requests in this window.</p>')
        return
    before, after, words = _periods(start, end, tz)
    add(
        f'<p class="note">Per session name and model, {html.escape(words)}, sorted by dollar '
        "impact; “new” and “gone” mark groups seen in only one period.</p>"
    )
    try:
        change = recipes.compare_periods(
            req, before=before, after=after, by=["session_name", "model"]
        )
    except UsageError as exc:
        add(f'<p class="note">Not compared: {html.escape(str(exc))}</p>')
    else:
        add(
            img(
                lambda ax: plots.plot_change(change, top=top, ax=ax),
                (10, max(2.5, 0.4 * min(len(change), top) + 1.8)),
                "what changed",
                ok,
            )
        )
        add(_change_table(change.head(top)))
    shifts = weekly_shifts(req, start, end, tz)
    if shifts is not None and not shifts.empty:
        add("<h3>Largest week-over-week shifts in the window</h3>")
        add(
            '<p class="note">Whole weeks (Monday to Monday, in the report\'s zone), each '
            "session name and model against the week before.</p>"
        )
        add(
            html_table(
                shifts.head(5),
                [
                    ("week", "Week of", lambda v: f"{v:%Y-%m-%d}"),
                    ("session_name", "Session name", cell),
                    ("model", "Model", cell),
                    ("cost_before", "Week before", money),
                    ("cost_after", "That week", money),
                    ("cost_change", "Change", money),
                ],
            )
        )


def _change_table(change: pd.DataFrame) -> str:
    return html_table(
        change,
        [
            ("session_name", "Session name", cell),
            ("model", "Model", cell),
            ("status", "Seen", cell),
            ("cost_before", "Cost before", money),
            ("cost_after", "Cost after", money),
            ("cost_change", "Change", money),
            ("cost_change_pct", "Change %", percent),
            ("requests_before", "Requests before", integer),
            ("requests_after", "Requests after", integer),
            (
                "error_rate_change",
                "Error rate change",
                lambda v: cell(v) if v != v else f"{float(v) * 100:+.1f} pt",
            ),
            ("p95_latency_ms_change", "p95 latency change", number(" ms")),
        ],
    )


def weekly_shifts(req: pd.DataFrame, start: Any, end: Any, tz: Any) -> pd.DataFrame | None:
    """Per whole week, each (session name, model)'s cost against the week before; the largest
    changes first. None when the window holds fewer than two whole weeks."""
    import numpy as np
    import pandas as pd

    from .._wire.time import resolve_window

    if req.empty or "session_name" not in req.columns or "model" not in req.columns:
        return None
    window = resolve_window(start, end, tz)
    weekly = recipes.cost_by(req, ["week", "session_name", "model"])
    s, e = pd.Timestamp(window.start), pd.Timestamp(window.end)
    whole = (weekly["week"] >= s) & (weekly["week"] + pd.Timedelta(days=7) <= e)
    weekly = weekly[whole.fillna(False).to_numpy(dtype=bool)]
    if weekly["week"].nunique() < 2:
        return None
    table: Any = weekly.pivot_table(
        index=["session_name", "model"],
        columns="week",
        values="total_cost",
        aggfunc="sum",
        fill_value=0.0,
        observed=True,
    )
    weeks = list(table.columns)
    rows: list[tuple[Any, ...]] = []
    for prev, week in itertools.pairwise(weeks):
        before, after = table[prev], table[week]
        for key, change in (after - before).items():
            name, model = key
            rows.append((week, name, model, float(before[key]), float(after[key]), float(change)))
    out = pd.DataFrame(
        rows, columns=["week", "session_name", "model", "cost_before", "cost_after", "cost_change"]
    )
    order = np.argsort(-np.abs(out["cost_change"].to_numpy()), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def request_sections(
    client: Any,
    start: Any,
    end: Any,
    *,
    tz: Any,
    filter: Any,
    name: str | None,
    top: int,
    ok: bool,
    img: Img,
    add: Callable[[str], Any],
) -> pd.DataFrame | None:
    """Add "By model", "Prices" and "What changed"; returns the request rows used (or None)."""
    req, why = fetch_window_requests(client, start, end, tz, filter, name)
    if req is None:
        add("<h2>By model, prices and what changed</h2>")
        add(f'<p class="note">Not shown: {html.escape(why)}.</p>')
        return None
    _by_model(req, top, ok, img, add)
    _prices(req, top, add)
    _what_changed(req, start, end, tz, top, ok, img, add)
    return req
