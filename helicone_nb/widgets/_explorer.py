"""The session explorer: the filter panel plus fetching, summary, table, plots and drill-down."""

from __future__ import annotations

import datetime as _dt
import html
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import drilldown
from .._errors import UsageError, require
from .._frames import REQUEST_SCHEMA, SESSION_SCHEMA, empty_frame
from .._wire.time import check_tz, resolve_window
from ._base import (
    CSS,
    describe_error,
    fmt_window,
    ipywidgets,
    plural,
    pre,
    widget_bundle,
)
from ._panel import SessionFilters
from ._query import QueryState
from ._render import (
    PLOTS,
    View,
    plot_figures,
    plot_png,
    requests_html,
    summary_html,
    timeline_png,
)
from ._table import SessionsTable

if TYPE_CHECKING:
    import pandas as pd

    from .._client.clients import Client

log = logging.getLogger("helicone_nb.widgets")

_PLOTS_TAB = 1  # index of the Plots tab of the explorer
_DRILL_TAB = 2


class SessionExplorer:
    """Filters, fetching, summary, top sessions, plots and the drill-down in one widget.

    Parameters
    ----------
    client : Client, optional
        Default: ``hnb.connect()`` (your org with ``HELICONE_API_KEY``, else the demo data).
    tz : str, default "UTC"
        Initial time zone (a control of the filters).
    start, end : optional
        Initial window, as for :class:`SessionFilters`.
    auto : bool, default True
        Fetch when created and after every valid change (debounced). False: only the
        Fetch button (or :meth:`refresh`) fetches.
    debounce : float, default 0.4
        Seconds without changes before an automatic fetch starts.

    Attributes
    ----------
    filters : SessionFilters
        The filter panel (``explorer.code`` is ``explorer.filters.code``).
    df : pandas.DataFrame
        The sessions on screen (an empty, fully typed frame before the first fetch). A failed
        or refused fetch keeps the previous frame and says so in the status line.
    selected_requests : pandas.DataFrame
        The requests of the session opened in the drill-down.
    error : str or None
        The message of the last failed fetch (None after a success).
    fetch_button, auto, status : ipywidgets
        Fetch now; refresh on change (the checkbox); what the last fetch did or why it failed.
    sessions : SessionsTable
        The interactive sessions table: click a header to sort (``table.click("sort", key)``
        from code), page with ``sessions.prev_button`` / ``next_button`` (or
        ``sessions.turn(n)``), click a row to open its drill-down (``table.click("open", id)``).
    sort_by, ascending, rows, table, summary : ipywidgets
        The table's sort key (:data:`SORT_KEYS`), direction and page size (a header click sets
        them), the table itself (HTML that reports clicks), and the summary above it.
    tabs, plot_tabs, cost_plot, latency_plot : ipywidgets
        Sessions / Plots / Drill-down; the Plots tab holds one tab per plot. Plots are drawn
        while they are on screen: opening the Plots tab draws both, and while it is open a
        new result redraws the plot shown (the other one when it is shown).
    session_picker, tree, timeline, requests_table : ipywidgets
        The drill-down: the session clicked in the table (or picked among the rows of the
        page shown), its path tree, timeline and requests.
    widget : ipywidgets.VBox
        The whole explorer (displaying the object displays it).

    Notes
    -----
    Fetches run in a background thread and a newer fetch supersedes an older one: a result
    that arrives after a newer request was made is dropped. The drill-down shows the requests
    that make up the session's row: the same window and the request-level conditions.

    Examples
    --------
    >>> import helicone_nb as hnb
    >>> from helicone_nb.widgets import SessionExplorer
    >>> explorer = SessionExplorer(hnb.connect(demo=True), auto=False)
    >>> explorer.filters.name.value = "sql-copilot"
    >>> df = explorer.refresh()        # in a notebook, display `explorer` and click instead
    >>> sorted(set(df["session_name"]))
    ['sql-copilot']
    >>> explorer.filters.range.value = "30d"
    >>> len(explorer.refresh()) > len(df)
    True
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
    ) -> None:
        w = ipywidgets()
        require("matplotlib", "notebook")
        if client is None:
            from .._client.connect import connect

            client = connect()
        if debounce < 0:
            raise UsageError(f"debounce must be >= 0 seconds, got {debounce!r}")
        self.client: Client = client
        self.debounce = float(debounce)
        self.filters = SessionFilters(client, tz=tz, start=start, end=end)
        zone = self.filters.tz_picker.value
        self._df: pd.DataFrame = empty_frame(SESSION_SCHEMA, check_tz(zone))
        self._view: View | None = None
        self._plotted: dict[str, View | None] = dict.fromkeys(PLOTS)  # what each image shows
        self._figures = plot_figures()  # kept and redrawn: cheaper than new ones
        self._requests: pd.DataFrame = empty_frame(REQUEST_SCHEMA, check_tz(zone))
        self.selected_session: str | None = None
        self.error: str | None = None
        self._lock = threading.RLock()
        self._generation = 0  # of the sessions fetches: the newest request wins
        self._drill_generation = 0
        self._timer: threading.Timer | None = None
        self._workers: list[threading.Thread] = []
        self._requested: QueryState | None = None  # the filters of the newest fetch started
        self._shown: QueryState | None = None  # the filters of the result on screen
        self._running: int | None = None  # the generation of the fetch under way
        self._on_result: list[Callable[[View], Any]] = []

        self.fetch_button: Any = w.Button(
            description="Fetch",
            icon="refresh",
            button_style="primary",
            tooltip="fetch the sessions for these filters",
        )
        self.auto: Any = w.Checkbox(
            value=auto,
            description="refresh on change",
            indent=False,
            layout=w.Layout(width="160px"),
        )
        self.status: Any = w.HTML("Press Fetch to load sessions." if not auto else "")
        self.code_view: Any = w.HTML()
        self.summary: Any = w.HTML()
        self.sessions = SessionsTable(self._lock, self._row_opened)
        # the table's controls, as attributes of the explorer (as in 0.1.0)
        self.sort_by: Any = self.sessions.sort_by
        self.ascending: Any = self.sessions.ascending
        self.rows: Any = self.sessions.rows
        self.table: Any = self.sessions.table
        self.session_picker: Any = self.sessions.session_picker
        self.cost_plot: Any = w.Image(format="png", layout=w.Layout(max_width="720px"))
        self.latency_plot: Any = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.plot_note: Any = w.HTML()
        # one plot on screen at a time: a filter change redraws only the one shown
        self._plot_images = {"cost": self.cost_plot, "latency": self.latency_plot}
        self.plot_titles: dict[str, Any] = {key: w.HTML() for key in PLOTS}
        self.plot_tabs: Any = w.Tab(
            children=[w.VBox([self.plot_titles[key], self._plot_images[key]]) for key in PLOTS],
            titles=tuple(PLOTS.values()),
        )
        self.drill_status: Any = w.HTML(
            "<span class='hnb-note'>Pick a session to see its requests.</span>"
        )
        self.tree: Any = w.HTML()
        self.timeline: Any = w.Image(format="png", layout=w.Layout(max_width="720px"))
        self.requests_table: Any = w.HTML()

        code_box = w.Accordion(children=[self.code_view], titles=("Python for this query",))
        code_box.selected_index = None
        self.tabs: Any = w.Tab(
            children=[
                w.VBox([self.summary, self.sessions.controls, self.table]),
                w.VBox([self.plot_tabs, self.plot_note]),
                w.VBox(
                    [
                        self.session_picker,
                        self.drill_status,
                        self.tree,
                        self.timeline,
                        self.requests_table,
                    ]
                ),
            ],
            titles=("Sessions", "Plots", "Drill-down"),
        )
        self.widget: Any = w.VBox(
            [
                self.filters.widget,
                w.HBox([self.fetch_button, self.auto, self.status]),
                code_box,
                self.tabs,
            ]
        )

        self.fetch_button.on_click(lambda _button: self.refresh(wait=False))
        self.filters.on_change(self._filters_changed)
        # switching auto-refresh on catches up with changes made while it was off
        self.auto.observe(lambda _change: self._filters_changed(self.filters), names="value")
        self.tabs.observe(self._tab_changed, names="selected_index")
        self.plot_tabs.observe(self._tab_changed, names="selected_index")
        self._show_code()
        if auto:
            self.refresh(wait=False)

    # -- public API ------------------------------------------------------------------------

    @property
    def df(self) -> pd.DataFrame:
        """The sessions DataFrame on screen."""
        return self._df

    @property
    def selected_requests(self) -> pd.DataFrame:
        """The drill-down's requests DataFrame (empty until a session is opened)."""
        return self._requests

    @property
    def code(self) -> str:
        """Python that fetches the same DataFrame (see :attr:`SessionFilters.code`)."""
        return self.filters.code

    @property
    def query(self) -> dict[str, Any]:
        """The ``fetch_sessions`` keyword arguments (see :attr:`SessionFilters.query`)."""
        return self.filters.query

    @property
    def busy(self) -> bool:
        """True while a fetch is scheduled or running."""
        with self._lock:
            return any(t.is_alive() for t in self._live_threads())

    def refresh(self, wait: bool = True) -> pd.DataFrame:
        """Fetch the sessions for the current filters now.

        Parameters
        ----------
        wait : bool, default True
            True: fetch in this thread and return when the widget shows the result (for
            scripts and tests). False: fetch in a background thread and return at once.

        Returns
        -------
        pandas.DataFrame
            :attr:`df` (with ``wait=False``, still the previous frame). Invalid filters send
            nothing; a failed fetch shows its message and keeps the previous frame; neither
            raises.
        """
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self._start(background=not wait)
        return self._df

    def on_result(self, callback: Callable[[View], Any]) -> None:
        """Call ``callback(view)`` after each new result is on screen (in the fetch's thread).

        ``view.df`` is the sessions frame, ``view.state`` the query, ``view.window`` the
        resolved window (UTC); :meth:`wait` also waits for the callbacks. The dashboard uses
        this to keep its panels on the explorer's filters.
        """
        self._on_result.append(callback)

    def is_current(self, view: View) -> bool:
        """True while ``view`` is the result on screen (no newer one arrived)."""
        with self._lock:
            return self._view is view

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no fetch is scheduled or running; False if ``timeout`` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                threads = [t for t in self._live_threads() if t is not threading.current_thread()]
            if not threads:
                return True
            for thread in threads:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                thread.join(left)
                if deadline is not None and time.monotonic() >= deadline and thread.is_alive():
                    return False

    def open_session(self, session_id: str, *, wait: bool = True) -> pd.DataFrame:
        """Show one session's requests and path tree in the drill-down.

        The requests are those of the window and request-level conditions that produced
        :attr:`df`. Returns :attr:`selected_requests` (with ``wait=False``, the previous one).
        """
        with self._lock:
            self._drill_generation += 1
            generation = self._drill_generation
            view = self._view
        self.selected_session = session_id
        if view is None:
            self._show_drill_error(session_id, "fetch sessions first")
            return self._requests
        self.drill_status.value = (
            f"<span class='hnb-note'>Fetching the requests of {html.escape(session_id)}…</span>"
        )
        if wait:
            self._fetch_requests(generation, session_id, view)
        else:
            self._spawn(self._fetch_requests, generation, session_id, view)
        return self._requests

    # -- fetching sessions -----------------------------------------------------------------

    def _live_threads(self) -> list[threading.Thread]:
        self._workers = [t for t in self._workers if t.is_alive()]
        timer = self._timer
        return self._workers + ([timer] if timer is not None and timer.is_alive() else [])

    def _spawn(self, target: Callable[..., Any], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="helicone-explorer")
        with self._lock:
            self._workers.append(thread)
        thread.start()

    def _filters_changed(self, filters: SessionFilters) -> None:
        self._show_code()
        state = filters.state
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if state.error is not None:
                self._set_status(self._refused(state.error))
                return
            if state == self._requested:
                # back to the filters of the result shown (or on its way)
                if self._view is not None and self._shown == state and self.error is None:
                    self._set_status(f"<span>{html.escape(self._view.status)}</span>")
                return
            if not self.auto.value:
                if self._view is not None:
                    self._set_status(
                        "<span class='hnb-stale'>⚠ Out of date: the tables show the result of "
                        "the previous filters. Press Fetch to update.</span>"
                    )
                return
            if self.debounce > 0:
                self._timer = threading.Timer(self.debounce, self._timer_fired)
                self._timer.daemon = True
                self._timer.start()
                return
        self._start(background=True)

    def _refused(self, error: str) -> str:
        """The status while the input cannot be sent: why, and that what is shown is stale."""
        text = f"<span class='hnb-error'>Not fetched: {html.escape(error)}.</span>"
        if self._view is not None:
            text += (
                " <span class='hnb-stale'>⚠ Out of date: the tables still show the previous "
                f"result ({html.escape(self._view.status)}).</span>"
            )
        return text

    def _timer_fired(self) -> None:
        with self._lock:
            self._workers.append(threading.current_thread())
        self._start(background=False)

    def _start(self, *, background: bool) -> None:
        state = self.filters.state
        if state.error is not None:
            self._set_status(self._refused(state.error))
            return
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._requested = state
        resolved = resolve_window(state.start, state.end, state.tz)
        window = (resolved.start, resolved.end)
        window_text = fmt_window(window, state.tz)
        self._set_status(f"<span class='hnb-note'>⏳ Fetching sessions from {window_text}…</span>")
        with self._lock:
            self._running = generation
        ticker = threading.Thread(
            target=self._tick,
            args=(generation, time.monotonic(), window_text),
            daemon=True,
            name="helicone-explorer-ticker",
        )
        ticker.start()
        if background:
            self._spawn(self._fetch, generation, state, window)
        else:
            self._fetch(generation, state, window)

    def _fetch(
        self, generation: int, state: QueryState, window: tuple[_dt.datetime, _dt.datetime]
    ) -> None:
        started = time.perf_counter()
        try:
            df = self.client.fetch_sessions(**state.fetch_kwargs(), progress=False)
            stats = self.client.last_fetch
            seconds = time.perf_counter() - started
            view = View(
                df=df,
                tz=state.tz,
                request_filter=state.request_filter,
                window=window,
                summary=summary_html(df),
                status=(
                    f"{plural(len(df), 'session')} from {fmt_window(window, state.tz)} · "
                    f"{seconds:.2f} s · {stats.pages} page(s), {stats.cached_pages} from the cache"
                ),
                state=state,
            )
        except Exception as exc:  # shown in the widget, never a traceback
            log.debug("fetching sessions failed", exc_info=True)
            with self._lock:
                if generation != self._generation:
                    return
                self._running = None
                self._requested = None  # the same filters may be tried again
                self.error = describe_error(exc)
                kept = "" if self._view is None else " The tables still show the previous result."
                self._set_status(
                    f"<span class='hnb-error'>Could not fetch sessions: "
                    f"{html.escape(self.error)}.{kept}</span>"
                )
            return
        with self._lock:
            if generation != self._generation:
                return  # a newer request superseded this one
            self._running = None
            self.error = None
            self._view = view
            self._shown = state
            self._df = view.df
            self.summary.value = view.summary
            self._show_table()
            self._set_status(f"<span>{html.escape(view.status)}</span>")
        for callback in list(self._on_result):
            try:
                callback(view)
            except Exception:  # a listener's failure must not break the explorer
                log.warning("a result listener failed", exc_info=True)
        shown = self._shown_plot()
        if shown is not None:
            self._show_plots(view, [shown])

    def _tick(self, generation: int, started: float, window_text: str) -> None:
        """While a fetch runs, say for how long (from one second on): a slow fetch shows life."""
        while True:
            time.sleep(0.5)
            with self._lock:
                if self._running != generation:
                    return
                elapsed = time.monotonic() - started
                if elapsed >= 1:
                    self._set_status(
                        f"<span class='hnb-note'>⏳ Fetching sessions from {window_text}… "
                        f"{elapsed:.0f} s</span>"
                    )

    # -- plots: drawn only while their tab is open (they cost more than everything else) ------

    def _shown_plot(self) -> str | None:
        """The key of the plot on screen (None while the Plots tab is closed)."""
        if self.tabs.selected_index != _PLOTS_TAB:
            return None
        return list(PLOTS)[self.plot_tabs.selected_index or 0]

    def _tab_changed(self, change: dict[str, Any]) -> None:
        with self._lock:
            view = self._view
            shown = self._shown_plot()
            if view is None or shown is None:
                return
            # the one on screen first; opening the Plots tab also prepares the other one
            order = [shown] + (
                [k for k in PLOTS if k != shown] if change["owner"] is self.tabs else []
            )
            stale = [k for k in order if self._plotted[k] is not view]
        if stale:
            self._spawn(self._show_plots, view, stale)

    def _show_plots(self, view: View, which: list[str]) -> None:
        for key in which:
            image, title, note = plot_png(view, key, self._figures)
            with self._lock:
                if self._view is not view:
                    return  # a newer result arrived while drawing
                self._plotted[key] = view
                self._plot_images[key].value = image
                self.plot_titles[key].value = title
                self.plot_note.value = note

    def _set_status(self, text: str) -> None:
        self.status.value = CSS + text

    def _show_code(self) -> None:
        filters = self.filters
        if filters.valid:
            self.code_view.value = pre(filters.code)
        else:
            self.code_view.value = (
                f"{CSS}<span class='hnb-error'>{html.escape(filters.error or '')}</span>"
            )

    # -- the sessions table ----------------------------------------------------------------

    def _show_table(self) -> None:
        self.sessions.show(self._df)

    # -- drill-down ------------------------------------------------------------------------

    def _row_opened(self, session_id: str) -> None:
        """A row of the table was clicked (or picked): open it in the drill-down tab."""
        self.tabs.selected_index = _DRILL_TAB
        self.open_session(session_id, wait=False)

    def _fetch_requests(self, generation: int, session_id: str, view: View) -> None:
        try:
            requests = self.client.fetch_session_requests(
                session_id,
                start=view.window[0],
                end=view.window[1],
                tz=view.tz,
                filter=view.request_filter,
                progress=False,
            )
            tree = drilldown.session_tree(requests).render()
            table = requests_html(requests)
            timeline = timeline_png(requests)
        except Exception as exc:  # shown in the widget, never a traceback
            log.debug("fetching requests failed", exc_info=True)
            with self._lock:
                if generation == self._drill_generation:
                    self._show_drill_error(session_id, describe_error(exc))
            return
        with self._lock:
            if generation != self._drill_generation:
                return
            self._requests = requests
            self.drill_status.value = ""
            self.tree.value = pre(tree)
            self.timeline.value = timeline
            self.requests_table.value = table

    def _show_drill_error(self, session_id: str, message: str) -> None:
        self.drill_status.value = (
            f"{CSS}<span class='hnb-error'>Could not open {html.escape(session_id)}: "
            f"{html.escape(message)}</span>"
        )

    # -- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return widget_bundle(self.widget, repr(self))

    def __repr__(self) -> str:
        state = "fetching" if self.busy else ("error" if self.error else "idle")
        return f"<SessionExplorer {plural(len(self._df), 'session')}, {state}>"
