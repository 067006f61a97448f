"""Session explorer: from a filter change to the updated output, on cached data (issue 6).

The explorer runs over the demo data (``hnb.connect(demo=True)``, page cache in a temporary
directory). Every filter state of the cycle is fetched once first, so the timed pass reads
cached pages: what is measured is the widget's own work (building the filter, the page-cache
read, the summary, the sorted table and the drop-down; with the Plots tab open also both
plots) from setting a control to ``explorer.wait()`` returning. The debounce is set to 0 here;
the default 0.4 s pause after the last keystroke comes on top, by design.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

from .harness import Figure

_CHANGES = {"smoke": 3, "full": 20}
_DEMO_REQUESTS = {"smoke": 5_000, "full": None}  # None: the default demo size
_TARGET_S = {"table tab": 0.3, "plots tab": 0.15}
_DASHBOARD_CHANGE_TARGET_S = 0.2
_DASHBOARD_START_TARGET_S = 10.0


def _draw_like_0_1_0(explorer: Any) -> None:
    """Both plots of the 0.1.0 Plots tab: constrained layout, default PNG compression."""
    import io

    from matplotlib.figure import Figure

    from helicone_nb import plots

    view = explorer._view
    days = (view.window[1] - view.window[0]).total_seconds() / 86400
    freq = "h" if days <= 3 else ("D" if days <= 120 else "W")
    for draw, size in (
        (lambda ax: plots.plot_cost_over_time(view.df, freq, ax=ax), (9, 3.6)),
        (lambda ax: plots.plot_latency_distribution(view.df, ax=ax), (8, 3.6)),
    ):
        figure = Figure(figsize=size, dpi=80, layout="constrained")
        draw(figure.add_subplot())
        figure.savefig(io.BytesIO(), format="png")


def _states(explorer: Any) -> list[Callable[[], None]]:
    """A cycle of filter changes: session names, cost floors and windows, one control each."""
    filters = explorer.filters
    names = [value for _, value in filters.name.options]

    def setter(control: Any, value: Any) -> Callable[[], None]:
        return lambda: setattr(control, "value", value)

    steps: list[Callable[[], None]] = []
    for window in ("7d", "30d"):
        steps.append(setter(filters.range, window))
        for name in names:
            steps.append(setter(filters.name, name))
        steps.append(setter(filters.cost_min, "0.01"))
        steps.append(setter(filters.cost_min, ""))
    return steps


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed_changes(
    explorer: Any,
    steps: list[Callable[[], None]],
    n: int,
    then: Callable[[Any], None] | None = None,
) -> tuple[list[float], int]:
    """Seconds from each change to its output, and the largest result seen (rows)."""
    samples = []
    largest = 0
    for i in range(n):
        started = time.perf_counter()
        steps[i % len(steps)]()
        explorer.wait()
        if then is not None:
            then(explorer)
        samples.append(time.perf_counter() - started)
        assert explorer.error is None, explorer.error
        largest = max(largest, len(explorer.df))
    return samples, largest


def run(size: str) -> list[Figure]:
    import helicone_nb as hnb
    from helicone_nb.widgets import SessionExplorer

    n = _CHANGES[size]
    full = size == "full"
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as cache:
        client = hnb.connect(demo=True, demo_requests=_DEMO_REQUESTS[size], cache=cache)
        try:
            explorer = SessionExplorer(client, auto=True, debounce=0)
            explorer.wait()
            steps = _states(explorer)
            _, rows = _timed_changes(explorer, steps, len(steps))  # warm the cache: each state
            runs = (
                (0, "table tab", None),
                (0, "plots tab, before (0.1.0 drawing)", _draw_like_0_1_0),
                (1, "plots tab", None),
            )
            for tab, label, then in runs:
                explorer.tabs.selected_index = tab
                explorer.wait()
                samples, _ = _timed_changes(explorer, steps, n, then)
                p50 = _p(samples, 0.5)
                target = _TARGET_S.get(label)
                figures.append(
                    Figure(
                        "widgets",
                        f"filter change -> output, {label}, cached, p50 of {n}",
                        p50 * 1000,
                        "ms",
                        f"< {target * 1000:g} ms" if full and target else "",
                        (p50 < target) if full and target else None,
                    )
                )
                figures.append(
                    Figure(
                        "widgets",
                        f"filter change -> output, {label}, cached, p90 of {n}",
                        _p(samples, 0.9) * 1000,
                        "ms",
                    )
                )
            figures.append(Figure("widgets", "largest result in the cycle", rows, "sessions"))
            figures += _dashboard_changes(client, n, full)
        finally:
            client.close()
    if full:
        figures += _dashboard_start()
    return figures


def _dashboard_changes(client: Any, n: int, full: bool) -> list[Figure]:
    """The dashboard (issue 14): filter change -> summary strip, what changed and table."""
    from helicone_nb.widgets import Dashboard

    dashboard = Dashboard(client, debounce=0)
    dashboard.wait()
    steps = _states(dashboard.explorer)
    _timed_changes(dashboard.explorer, steps, len(steps))  # warm: both periods of each state
    samples, _ = _timed_changes(dashboard.explorer, steps, n)
    assert dashboard.metrics is not None and dashboard.previous is not None
    p50 = _p(samples, 0.5)
    target = _DASHBOARD_CHANGE_TARGET_S
    return [
        Figure(
            "widgets",
            f"dashboard: filter change -> summary strip + table, cached, p50 of {n}",
            p50 * 1000,
            "ms",
            f"< {target * 1000:g} ms" if full else "",
            (p50 < target) if full else None,
        )
    ]


def _dashboard_start() -> list[Figure]:
    """``helicone-nb dashboard --demo`` start to the first table in chromium (full size only).

    Measured from starting the command to the first row of the sessions table on screen in an
    already open headless chromium: the command's checks, Voila, the kernel (the demo data is
    built on first use), the fetches and the page. Needs chromium, voila and playwright;
    without them the figure is left out.
    """
    import importlib.util
    import os
    import sys
    from pathlib import Path

    from tests.browser import CHROMIUM, chromium_page, dashboard
    from tests.servers import free_port

    if not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None:
        print(
            "bench_widgets: no chromium/playwright, dashboard start not measured", file=sys.stderr
        )
        return []
    with tempfile.TemporaryDirectory() as tmp, chromium_page() as page:
        port = free_port()
        started = time.perf_counter()  # the browser is already open, as a user's is
        with dashboard(Path(tmp), port, "--demo"):
            page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
            page.locator("table.hnb-sessions tbody tr").first.wait_for(timeout=60_000)
            seconds = time.perf_counter() - started
    load = os.getloadavg()[0]
    return [
        Figure(
            "widgets",
            f"dashboard --demo: start -> first rendered table (load average {load:.1f})",
            seconds,
            "s",
            f"< {_DASHBOARD_START_TARGET_S:g} s",
            seconds < _DASHBOARD_START_TARGET_S,
        )
    ]
