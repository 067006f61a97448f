"""The dashboard: a summary strip, what changed, and the session explorer, on one set of filters.

``helicone-nb dashboard`` serves this widget with Voila (see ``helicone_nb/app``); in a notebook,
``Dashboard(client)`` shows the same. Every panel follows the explorer's filters: after each
result of the explorer, the dashboard fetches the previous period of the same length with the
same filters (the page cache makes repeats cheap) and, when the client can pull request rows
(a mirror or a live key), the requests of the sessions shown.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from ..app import MIRROR_ENV, SOURCE_ENV
from ._base import CSS, describe_error, ipywidgets, note, widget_bundle
from ._explorer import SessionExplorer
from ._metrics import (
    Metrics,
    by_model_html,
    changes_html,
    previous_window,
    session_requests,
    strip_html,
    window_metrics,
    with_requests,
)

if TYPE_CHECKING:
    import pandas as pd

    from .._client.clients import Client
    from ._render import View

log = logging.getLogger("helicone_nb.widgets")

#: Request frames kept in memory (each a window's rows for one request-level filter).
_KEPT_REQUEST_FRAMES = 6


def _period_text(window: tuple[_dt.datetime, _dt.datetime]) -> str:
    days = (window[1] - window[0]).total_seconds() / 86400
    length = f"{days:g} days" if days >= 1 else f"{days * 24:g} hours"
    return f"the previous {length}"


class Dashboard:
    """Summary strip, "what changed" and the session explorer (plus "By model").

    Parameters
    ----------
    client : Client, optional
        Default: ``hnb.connect()`` (your org with ``HELICONE_API_KEY``, else the demo data).
    tz, start, end, debounce
        As for :class:`SessionExplorer`.
    auto : bool, default True
        Fetch when created and after every valid change.
    source : str, optional
        What the title says the data is ("demo data", "mirror /data/helicone", ...).

    Attributes
    ----------
    explorer : SessionExplorer
        Filters, the interactive sessions table, plots, drill-down; a "By model" tab is added
        when request rows are available.
    strip, changes, by_model, note : ipywidgets.HTML
        The summary strip (cost, sessions, requests, users, p95 latency, error rate, each with
        its change against the previous period of the same length), the "what changed"
        table, the per-model table, and what the dashboard is doing or why a panel failed.
    metrics, previous : Metrics or None
        The numbers of the strip for the window and for the previous period.
    widget : ipywidgets.VBox
        The whole dashboard.
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        tz: str | _dt.tzinfo = "UTC",
        start: Any = None,
        end: Any = None,
        auto: bool = True,
        debounce: float = 0.4,
        source: str | None = None,
    ) -> None:
        w = ipywidgets()
        self.explorer = SessionExplorer(
            client, tz=tz, start=start, end=end, auto=False, debounce=debounce
        )
        self.client = self.explorer.client
        self.metrics: Metrics | None = None
        self.previous: Metrics | None = None
        self.requests: pd.DataFrame | None = None  # the request rows of the sessions shown
        self._lock = threading.RLock()
        self._requests_ok = callable(getattr(self.client, "fetch_requests", None))
        self._request_rows: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        title = "Helicone dashboard" + (f" · {source}" if source else "")
        self.title: Any = w.HTML(
            f"{CSS}<h2 style='margin:4px 0;color:var(--jp-ui-font-color0,inherit)'>"
            f"{html.escape(title)}</h2>"
        )
        self.strip: Any = w.HTML(note("Loading…"))
        self.note: Any = w.HTML()
        self.changes: Any = w.HTML()
        self.by_model: Any = w.HTML(
            note("Needs request rows: start the dashboard with --mirror PATH or a live key.")
        )
        changes_box = w.Accordion(
            children=[self.changes], titles=("What changed against the previous period",)
        )
        changes_box.selected_index = 0
        self._by_model_tab = False
        self._by_model_of: pd.DataFrame | None = None  # the request rows the tab shows
        self.widget: Any = w.VBox(
            [self.title, self.strip, self.note, changes_box, self.explorer.widget]
        )
        self.explorer.on_result(self._result)
        if auto:
            self.explorer.auto.value = True  # after every change
            self.explorer.refresh(wait=False)  # and now

    @classmethod
    def from_environment(cls, **kwargs: Any) -> Dashboard:
        """The dashboard the ``helicone-nb dashboard`` command asked for (see its help).

        Reads ``HELICONE_NB_DASHBOARD_SOURCE`` ("demo", "mirror" with
        ``HELICONE_NB_DASHBOARD_MIRROR``, or "live", which uses ``HELICONE_API_KEY``).
        """
        import contextlib
        import io

        from .._client.connect import connect

        source = os.environ.get(SOURCE_ENV, "demo")
        with contextlib.redirect_stdout(io.StringIO()):  # the notice is the title's job
            if source == "demo":
                client, label = connect(demo=True), "demo data"
            elif source == "mirror":
                from ..mirror import Mirror

                path = os.environ.get(MIRROR_ENV, "")
                mirror = Mirror(path)
                client, label = mirror.client(), f"mirror {path}"
                span = mirror.data_range()
                if span is not None and "start" not in kwargs:
                    # offline data: the latest week the mirror holds, not the week before now
                    kwargs["start"], kwargs["end"] = span[1] - _dt.timedelta(days=7), span[1]
            elif source == "live":
                if not os.environ.get("HELICONE_API_KEY"):
                    raise UsageError("the live dashboard needs HELICONE_API_KEY")
                client, label = connect(), "your Helicone organisation"
            else:
                raise UsageError(f"{SOURCE_ENV} must be demo, mirror or live, got {source!r}")
        return cls(client, source=label, **kwargs)

    # -- public helpers --------------------------------------------------------------------

    def refresh(self, wait: bool = True) -> pd.DataFrame:
        """Fetch now (see :meth:`SessionExplorer.refresh`); every panel follows."""
        return self.explorer.refresh(wait=wait)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no fetch of any panel is running; False if ``timeout`` ran out first."""
        return self.explorer.wait(timeout)

    # -- following the explorer ------------------------------------------------------------

    def _result(self, view: View) -> None:
        """A new result is on screen: recompute every panel for its filters (fetch thread)."""
        started = time.monotonic()
        window = view.window
        before_window = previous_window(window)
        periods = (before_window, window)
        previous_df: pd.DataFrame | None = None
        errors: list[str] = []
        try:
            kwargs = {**view.state.fetch_kwargs(), "start": before_window[0]}
            kwargs["end"] = before_window[1]
            previous_df = self.client.fetch_sessions(**kwargs, progress=False)
        except Exception as exc:  # shown in place; the other panels still update
            log.debug("previous period failed", exc_info=True)
            errors.append(f"the previous period could not be fetched: {describe_error(exc)}")
        now = window_metrics(view.df)
        before = None if previous_df is None else window_metrics(previous_df)
        if not self._requests_ok:
            if self.explorer.is_current(view):
                self._show(view, (now, before), periods, previous_df, None, errors)
            return
        if not self._has_request_rows(view, [window, before_window]):
            # a pull is coming: show what the sessions say while it runs
            if not self.explorer.is_current(view):
                return
            self._show(view, (now, before), periods, previous_df, None, errors)
            self.note.value = note(
                "⏳ Fetching request rows for p95 latency, error rate, By model…"
            )
        try:
            requests = session_requests(self._fetch_requests(view, window), view.df)
            previous_requests = None
            if previous_df is not None:
                previous_requests = session_requests(
                    self._fetch_requests(view, before_window), previous_df
                )
        except Exception as exc:
            log.debug("request rows failed", exc_info=True)
            if self.explorer.is_current(view):
                errors.append(f"request rows could not be fetched: {describe_error(exc)}")
                self._show(view, (now, before), periods, previous_df, None, errors)
            return
        now = with_requests(now, requests)
        request_frames = None
        if before is not None and previous_requests is not None:
            before = with_requests(before, previous_requests)
            request_frames = (previous_requests, requests)
        if not self.explorer.is_current(view):
            return
        with self._lock:
            self.requests = requests
            self._by_model_of = None
            self._add_by_model_tab()
        self._show_by_model()  # drawn while its tab is on screen, like the plots
        self._show(view, (now, before), periods, previous_df, request_frames, errors)
        log.debug("dashboard panels in %.3f s", time.monotonic() - started)

    def _has_request_rows(
        self, view: View, windows: list[tuple[_dt.datetime, _dt.datetime]]
    ) -> bool:
        with self._lock:
            return all(self._key(view, w) in self._request_rows for w in windows)

    @staticmethod
    def _key(view: View, window: tuple[_dt.datetime, _dt.datetime]) -> tuple[Any, ...]:
        return (window, view.tz, view.request_filter.to_python())

    def _fetch_requests(
        self, view: View, window: tuple[_dt.datetime, _dt.datetime]
    ) -> pd.DataFrame:
        """The request rows of a window and request-level filter, kept in memory for the next
        few changes: a change of name, search or session-level condition reuses them (the rows
        of the sessions shown are picked afterwards), so it needs no pull at all."""
        key = self._key(view, window)
        with self._lock:
            frame = self._request_rows.get(key)
            if frame is not None:
                self._request_rows.move_to_end(key)
                return frame
        frame = self.client.fetch_requests(
            window[0], window[1], filter=view.request_filter, tz=view.tz, progress=False
        )
        with self._lock:
            self._request_rows[key] = frame
            while len(self._request_rows) > _KEPT_REQUEST_FRAMES:
                self._request_rows.popitem(last=False)
        return frame

    def _show(
        self,
        view: View,
        metrics: tuple[Metrics, Metrics | None],
        periods: tuple[tuple[_dt.datetime, _dt.datetime], tuple[_dt.datetime, _dt.datetime]],
        previous_df: pd.DataFrame | None,
        request_frames: tuple[pd.DataFrame, pd.DataFrame] | None,
        errors: list[str],
    ) -> None:
        now, before = metrics
        period = _period_text(view.window)
        changes = None
        if before is not None and previous_df is not None:
            try:
                changes = changes_html(
                    now, before, periods, (previous_df, view.df), request_frames, period
                )
            except Exception as exc:  # in place, like the other panels
                log.debug("what changed failed", exc_info=True)
                errors = [*errors, f"what changed could not be computed: {describe_error(exc)}"]
        with self._lock:
            self.metrics, self.previous = now, before
            self.strip.value = strip_html(now, before, period)
            if changes is not None:
                self.changes.value = changes
            self._show_errors(errors)

    def _show_errors(self, errors: list[str]) -> None:
        if errors:
            kept = " The panels keep the last result they could show."
            self.note.value = (
                f"{CSS}<span class='hnb-error'>{html.escape('; '.join(errors))}.{kept}</span>"
            )
        else:
            self.note.value = ""

    def _add_by_model_tab(self) -> None:
        if self._by_model_tab:
            return
        tabs = self.explorer.tabs
        tabs.children = [*tabs.children, self.by_model]
        tabs.set_title(len(tabs.children) - 1, "By model")
        tabs.observe(lambda _change: self._show_by_model(), names="selected_index")
        self._by_model_tab = True

    def _show_by_model(self) -> None:
        """Fill the By model tab from the request rows, if it is on screen and out of date."""
        tabs = self.explorer.tabs
        with self._lock:
            requests = self.requests
            shown = tabs.selected_index == len(tabs.children) - 1 and self._by_model_tab
            if requests is None or not shown or self._by_model_of is requests:
                return
            self._by_model_of = requests
            self.by_model.value = by_model_html(requests)

    # -- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return widget_bundle(self.widget, repr(self))

    def __repr__(self) -> str:
        return f"<Dashboard over {self.explorer!r}>"
