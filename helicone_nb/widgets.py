"""Notebook widgets: filter controls that build the public filters, and a session explorer.

:class:`SessionFilters` is a panel of standard ipywidgets (time range, search, session name,
cost range, minimum requests, model, user, custom-property conditions). It builds its filter
with the public builder (``hnb.request``, ``hnb.session``, ``hnb.prop``, ``hnb.has_prop``), so
``.filter``, ``.query`` and ``.code`` say exactly what a hand-written call would send.

:class:`SessionExplorer` adds fetching (a button, and a debounced refresh on every change, in a
background thread so the kernel stays responsive), a summary, a sortable table of top sessions,
cost and latency plots, and the drill-down into one session's requests. ``explorer.df`` always
holds the DataFrame on screen, for the next cell.

Only standard ipywidgets are used (no front-end build), so both work in JupyterLab, VS Code and
Voila. ipywidgets and matplotlib are optional (``pip install 'helicone_nb[notebook]'``) and are
imported when a widget is created, never by ``import helicone_nb``.

Layering rule the filters follow (Helicone evaluates request-level conditions per request and
session-level ones per session; see README "Filters"): everything is joined with AND, except the
custom-property rows, which may be joined with OR among themselves, since they are all
request-level. A request-level condition is never ORed with a session-level one.
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import io
import logging
import operator
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import drilldown, plots, recipes
from ._errors import HeliconeError, UsageError, require
from ._frames import REQUEST_SCHEMA, SESSION_SCHEMA, empty_frame
from ._wire.builder import has_prop, prop, request, session
from ._wire.filters import ALL, Filter
from ._wire.time import check_tz, resolve_window, to_utc

if TYPE_CHECKING:
    import pandas as pd

    from ._client.clients import Client

__all__ = ["PropertyRow", "SessionExplorer", "SessionFilters"]

log = logging.getLogger(__name__)

#: Quick picks of the time range: label -> length of the window.
QUICK_RANGES: dict[str, _dt.timedelta] = {
    "24h": _dt.timedelta(hours=24),
    "7d": _dt.timedelta(days=7),
    "30d": _dt.timedelta(days=30),
    "90d": _dt.timedelta(days=90),
}
CUSTOM = "custom"

#: Operators of a custom-property row: label -> builder method of ``prop(key)``
#: (``"has"`` is ``has_prop(key)``, which takes no value).
PROPERTY_OPERATORS: dict[str, str] = {
    "equals": "equals",
    "not equals": "not_equals",
    "contains": "contains",
    "does not contain": "not_contains",
    "like": "like",
    "ilike": "ilike",
    "is set": "has",
}

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

_PLOTS_TAB = 1  # index of the Plots tab of the explorer
_ANY = ""  # drop-down value meaning "no selection" (ipywidgets treats None as "no option")
_WIDE = {"description_width": "initial"}
# The mimetype payload ipywidgets 8 puts in a widget's display bundle.
_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_CSS = (
    "<style>"
    ".hnb-table{border-collapse:collapse;font-size:12px;margin:4px 0}"
    ".hnb-table th,.hnb-table td{padding:2px 8px;border-bottom:1px solid rgba(128,128,128,.3);"
    "text-align:left;white-space:nowrap}"
    ".hnb-table th{font-weight:600}"
    ".hnb-table td.num,.hnb-table th.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".hnb-error{color:#b00020;white-space:pre-wrap}"
    ".hnb-note{color:#666}"
    "</style>"
)


def _pre(text: str) -> str:
    """Preformatted text; inline style, since widget HTML has its own font and line height."""
    return (
        "<pre class='hnb-pre' style='font-family:var(--jp-code-font-family,monospace);"
        "font-size:12px;line-height:1.35;margin:4px 0;white-space:pre;overflow-x:auto'>"
        f"{html.escape(text)}</pre>"
    )


def _ipywidgets() -> Any:
    return require("ipywidgets", "notebook")


def _text(w: Any, description: str, placeholder: str, width: str) -> Any:
    """A labelled text box of the filter panel."""
    return w.Text(
        description=description,
        placeholder=placeholder,
        style=_WIDE,
        layout=w.Layout(width=width),
    )


def _widget_bundle(widget: Any, text: str) -> dict[str, Any]:
    """A display bundle that shows ``widget`` without serialising its traits into a repr."""
    return {
        "text/plain": text,
        _VIEW_MIMETYPE: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id},
    }


def _zone_name(tz: str | _dt.tzinfo) -> str:
    """The IANA name of ``tz`` (the zone drop-down lists names, and the code repeats it)."""
    zone = check_tz(tz)
    if zone is _dt.UTC:
        return "UTC"
    key = getattr(zone, "key", None)
    if not isinstance(key, str):
        raise UsageError(
            f"the widgets need an IANA time zone name such as 'Europe/Berlin', got {tz!r}"
        )
    return key


def _zone_options(current: str) -> list[str]:
    import zoneinfo

    names = sorted(zoneinfo.available_timezones() - {"UTC"})
    return ["UTC", *([current] if current not in names and current != "UTC" else []), *names]


def _iso(moment: _dt.datetime) -> str:
    """Naive ISO text, minutes precision unless seconds are set: '2025-07-01T09:30'."""
    spec = "minutes" if moment.second == 0 and moment.microsecond == 0 else "seconds"
    return moment.replace(microsecond=0).isoformat(timespec=spec)


def _wall_clock(moment: _dt.datetime, zone: _dt.tzinfo) -> _dt.datetime:
    """An aware instant as the naive wall-clock time of ``zone``."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _number(text: str, what: str) -> float | None:
    """A non-negative USD amount typed by the user, '' = no bound."""
    text = text.strip().removeprefix("$").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a number (write e.g. 0.05)") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise UsageError(f"{what}: {text!r} is not a finite number")
    if value < 0:
        raise UsageError(f"{what} cannot be negative (got {text})")
    return value


def _whole(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a whole number (write e.g. 3)") from None
    if value < 0:
        raise UsageError(f"{what} cannot be negative (got {value})")
    return value


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """What the controls say right now: the fetch_sessions arguments, or why there are none."""

    start: str = ""
    end: str | None = None
    tz: str = "UTC"
    search: str = ""
    name: str | None = None
    filter: Filter = ALL
    request_filter: Filter = ALL  # the request-level part (the drill-down applies it too)
    error: str | None = None


class PropertyRow:
    """One custom-property condition of :class:`SessionFilters`: key, operator, value.

    Attributes
    ----------
    key, operator, value : ipywidgets.Text, ipywidgets.Dropdown, ipywidgets.Text
        The controls. ``operator`` takes the labels of :data:`PROPERTY_OPERATORS`; with
        ``"is set"`` the value is ignored.
    remove : ipywidgets.Button
        Removes the row from its panel.
    widget : ipywidgets.HBox
        The row as displayed.
    """

    def __init__(self, key: str = "", operator: str = "equals", value: str = "") -> None:
        w = _ipywidgets()
        if operator not in PROPERTY_OPERATORS:
            raise UsageError(
                f"unknown property operator {operator!r}; use one of "
                f"{', '.join(PROPERTY_OPERATORS)}"
            )
        self.key: Any = w.Text(
            value=key, placeholder="property name", layout=w.Layout(width="160px")
        )
        self.operator: Any = w.Dropdown(
            options=list(PROPERTY_OPERATORS), value=operator, layout=w.Layout(width="140px")
        )
        self.value: Any = w.Text(
            value=value,
            placeholder="value",
            layout=w.Layout(width="180px"),
            disabled=operator == "is set",
        )
        self.remove: Any = w.Button(
            description="remove",
            icon="times",
            tooltip="remove this condition",
            layout=w.Layout(width="90px"),
        )
        self.widget: Any = w.HBox([self.key, self.operator, self.value, self.remove])
        self.operator.observe(self._operator_changed, names="value")

    def _operator_changed(self, change: dict[str, Any]) -> None:
        self.value.disabled = change["new"] == "is set"

    def condition(self, number: int) -> Filter | None:
        """This row as a filter (None while it is not filled in), or raise :class:`UsageError`.

        A row without a key and value is skipped; so is a row with an empty value (except
        ``"is set"``), since a half-typed row must not start a query.
        """
        key = self.key.value.strip()
        method = PROPERTY_OPERATORS[self.operator.value]
        value = self.value.value
        if not key:
            if value.strip():
                raise UsageError(f"property condition {number}: give the property name")
            return None
        if method == "has":
            return has_prop(key)
        if not value:
            return None
        result: Filter = getattr(prop(key), method)(value)
        return result

    def __repr__(self) -> str:
        return (
            f"<PropertyRow {self.key.value!r} {self.operator.value} "
            f"{'' if self.operator.value == 'is set' else repr(self.value.value)}>"
        )


class SessionFilters:
    """Filter controls for ``Client.fetch_sessions``, built from standard ipywidgets.

    Parameters
    ----------
    client : Client, optional
        Fills the session-name drop-down (``client.session_names()``), and for the demo client
        (``client.demo_period`` set) anchors the quick picks to the end of the demo data, so
        "7d" means its last seven days. Without a client the name list holds only "(any)".
    tz : str, default "UTC"
        Time zone of the window (naive times are read in it) and of the returned timestamps.
    start, end : optional
        Initial window in any form ``fetch_sessions`` accepts; "24h", "7d", "30d" or "90d"
        (with no ``end``) select that quick pick. Default: the "7d" quick pick.

    Attributes
    ----------
    range, start_picker, end_picker, tz_picker : ipywidgets
        Quick pick ("24h", "7d", "30d", "90d", "custom"), the custom start and end
        (naive date-times read in the chosen zone; an empty end means now), and the zone.
        The pickers always show the window in effect; editing one switches to "custom".
    search, name, model, user : ipywidgets
        Substring of the session id or name; exact session name (a drop-down, "" = any);
        ``request.model ==``; ``request.user_id ==``.
    cost_min, cost_max, min_requests : ipywidgets.Text
        ``session.total_cost >=`` / ``<=`` (USD) and ``session.total_requests >=``.
    properties, add_button, combine : tuple of PropertyRow, ipywidgets
        Custom-property conditions (:meth:`add_property` / the button adds one); ``combine``
        ("and" / "or", shown from two rows on) joins them.
    message : ipywidgets.HTML
        Why the current input cannot be sent, or a note; empty when all is well.
    widget : ipywidgets.VBox
        The whole panel (displaying the object displays it).

    Examples
    --------
    >>> import helicone_nb as hnb
    >>> from helicone_nb.widgets import SessionFilters
    >>> filters = SessionFilters(start="7d")
    >>> filters.model.value = "gpt-4o"
    >>> filters.cost_min.value = "0.05"
    >>> filters.filter.to_python()
    "((hnb.request.model == 'gpt-4o') & (hnb.session.total_cost >= 0.05))"
    >>> filters.query["start"], filters.query["filter"]["operator"]
    ('7d', 'and')
    >>> filters.cost_max.value = "cheap"
    >>> filters.valid, filters.error
    (False, "maximum cost: 'cheap' is not a number (write e.g. 0.05)")
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        tz: str | _dt.tzinfo = "UTC",
        start: Any = None,
        end: Any = None,
    ) -> None:
        w = _ipywidgets()
        self.client = client
        zone_name = _zone_name(tz)
        period = getattr(client, "demo_period", None)
        self._anchor: _dt.datetime | None = period[1] if period else None
        self._callbacks: list[Callable[[SessionFilters], Any]] = []
        self._syncing = False
        self._note = ""
        self._state = _State()

        quick, custom = self._initial_range(start, end, zone_name)
        self.range: Any = w.ToggleButtons(
            options=[*((k, k) for k in QUICK_RANGES), ("custom", CUSTOM)],
            value=quick,
            description="time range",
            tooltips=[
                f"the last {k}" + (" of the demo data" if self._anchor else "")
                for k in QUICK_RANGES
            ]
            + ["the start and end below"],
            style={**_WIDE, "button_width": "64px"},
        )
        self.tz_picker: Any = w.Dropdown(
            options=_zone_options(zone_name),
            value=zone_name,
            description="time zone",
            style=_WIDE,
            layout=w.Layout(width="260px"),
        )
        self.start_picker: Any = w.NaiveDatetimePicker(description="from", style=_WIDE)
        self.end_picker: Any = w.NaiveDatetimePicker(description="to", style=_WIDE)
        self.search: Any = _text(w, "search", "session id or name contains", "320px")
        self.name: Any = w.Dropdown(
            options=[("(any)", _ANY)],
            value=_ANY,
            description="session name",
            style=_WIDE,
            layout=w.Layout(width="320px"),
        )
        self.model: Any = _text(w, "model", "e.g. gpt-4o", "320px")
        self.user: Any = _text(w, "user", "user id", "320px")
        self.cost_min: Any = _text(w, "cost from $", "min USD", "190px")
        self.cost_max: Any = _text(w, "to $", "max USD", "150px")
        self.min_requests: Any = _text(w, "min requests", "e.g. 3", "170px")
        self.combine: Any = w.ToggleButtons(
            options=[("all (AND)", "and"), ("any (OR)", "or")],
            value="and",
            description="property conditions must match",
            style=_WIDE,
            tooltips=[
                "every property condition holds",
                "at least one holds (all are request-level, so OR is safe)",
            ],
        )
        self.add_button: Any = w.Button(
            description="property condition",
            icon="plus",
            tooltip="add a custom-property condition",
            layout=w.Layout(width="190px"),
        )
        self.message: Any = w.HTML()
        self._rows: list[PropertyRow] = []
        self._rows_box: Any = w.VBox([])
        self.widget: Any = w.VBox(
            [
                w.HBox([self.range, self.tz_picker]),
                w.HBox([self.start_picker, self.end_picker]),
                w.HBox([self.search, self.name]),
                w.HBox([self.model, self.user]),
                w.HBox([self.cost_min, self.cost_max, self.min_requests]),
                self._rows_box,
                w.HBox([self.add_button, self.combine]),
                self.message,
            ]
        )
        self.combine.layout.display = "none"
        if custom is not None:
            self.start_picker.value, self.end_picker.value = custom
        else:
            self._show_quick_window()
        for control in (
            self.range,
            self.tz_picker,
            self.search,
            self.name,
            self.model,
            self.user,
            self.cost_min,
            self.cost_max,
            self.min_requests,
            self.combine,
        ):
            control.observe(self._changed, names="value")
        self.start_picker.observe(self._picker_changed, names="value")
        self.end_picker.observe(self._picker_changed, names="value")
        self.add_button.on_click(lambda _button: self.add_property())
        if client is not None:
            self.load_names()
        self._state = self._build()
        self._show_state()

    # -- construction helpers --------------------------------------------------------------

    def _initial_range(
        self, start: Any, end: Any, zone_name: str
    ) -> tuple[str, tuple[_dt.datetime, _dt.datetime | None] | None]:
        if start is None and end is None:
            return "7d", None
        if isinstance(start, str) and start.strip() in QUICK_RANGES and end is None:
            return start.strip(), None
        if start is None:
            raise UsageError("give start too when you give end")
        zone = check_tz(zone_name)
        now = self._now()
        first = _wall_clock(to_utc(start, zone, now, "start"), zone)
        last = None if end is None else _wall_clock(to_utc(end, zone, now, "end"), zone)
        return CUSTOM, (first, last)

    def _now(self) -> _dt.datetime:
        """End of the quick picks: the end of the demo data, else now (to the minute)."""
        return self._anchor or _dt.datetime.now(_dt.UTC).replace(second=0, microsecond=0)

    def load_names(self, contains: str = "") -> None:
        """(Re)fill the session-name drop-down from ``client.session_names(contains)``.

        For the demo client the names are those of the demo period; otherwise Helicone's
        default applies (names used in the last 150 days, up to 50). A failure leaves "(any)"
        and shows a note; it never raises.
        """
        if self.client is None:
            return
        period = getattr(self.client, "demo_period", None)
        window = {"start": period[0], "end": period[1]} if period else {}
        try:
            frame = self.client.session_names(contains, **window)
        except Exception as exc:  # a note, never a traceback: the filters still work
            log.debug("session names failed", exc_info=True)
            self._note = f"Session names could not be loaded ({_describe_error(exc)})."
        else:
            names = [str(n) for n in frame["name"].tolist() if isinstance(n, str) and n]
            self._syncing = True
            try:
                self.name.options = [("(any)", _ANY), *((n, n) for n in names)]
                self.name.value = current if (current := self.name.value) in names else _ANY
            finally:
                self._syncing = False
            self._note = ""
        if self._state.name != (self.name.value or None):
            self._changed()  # the selected name is gone: the query changed
        else:
            self._show_state()

    # -- property rows ---------------------------------------------------------------------

    @property
    def properties(self) -> tuple[PropertyRow, ...]:
        """The custom-property rows, top to bottom."""
        return tuple(self._rows)

    def add_property(self, key: str = "", operator: str = "equals", value: str = "") -> PropertyRow:
        """Add a custom-property row (``operator``: a label of :data:`PROPERTY_OPERATORS`)."""
        row = PropertyRow(key, operator, value)
        for control in (row.key, row.operator, row.value):
            control.observe(self._changed, names="value")
        row.remove.on_click(lambda _button: self.remove_property(row))
        self._rows.append(row)
        self._rows_box.children = [r.widget for r in self._rows]
        self._changed()
        return row

    def remove_property(self, row: PropertyRow) -> None:
        """Remove a custom-property row."""
        self._rows.remove(row)
        self._rows_box.children = [r.widget for r in self._rows]
        self._changed()

    # -- the current input -----------------------------------------------------------------

    @property
    def valid(self) -> bool:
        """True when the controls describe a query that can be sent."""
        return self._state.error is None

    @property
    def error(self) -> str | None:
        """Why the current input cannot be sent (None when it can)."""
        return self._state.error

    def _checked(self) -> _State:
        if self._state.error is not None:
            raise UsageError(self._state.error)
        return self._state

    @property
    def filter(self) -> Filter:
        """The filter the controls describe (:class:`UsageError` while the input is invalid)."""
        return self._checked().filter

    @property
    def query(self) -> dict[str, Any]:
        """The ``fetch_sessions`` keyword arguments: start, end, tz, search, name, filter.

        ``filter`` is Helicone's wire JSON and the times are ISO or relative strings, so the
        dict is JSON-serialisable; ``client.fetch_sessions(**filters.query)`` runs it.
        Raises :class:`UsageError` while the input is invalid.
        """
        state = self._checked()
        return {
            "start": state.start,
            "end": state.end,
            "tz": state.tz,
            "search": state.search,
            "name": state.name,
            "filter": state.filter.to_wire(state.tz),
        }

    @property
    def code(self) -> str:
        """Python that fetches the same DataFrame (expects a ``client`` variable).

        Raises :class:`UsageError` while the input is invalid.
        """
        state = self._checked()
        args = [f"start={state.start!r}"]
        if state.end is not None:
            args.append(f"end={state.end!r}")
        args.append(f"tz={state.tz!r}")
        if state.search:
            args.append(f"search={state.search!r}")
        if state.name is not None:
            args.append(f"name={state.name!r}")
        if state.filter != ALL:
            args.append(f"filter={state.filter.to_python()}")
        body = "".join(f"    {a},\n" for a in args)
        return f"import helicone_nb as hnb\n\ndf = client.fetch_sessions(\n{body})\n"

    def window(self) -> tuple[_dt.datetime, _dt.datetime]:
        """The window in effect as aware UTC datetimes (relative picks resolved now)."""
        state = self._checked()
        resolved = resolve_window(state.start, state.end, state.tz)
        return resolved.start, resolved.end

    def on_change(self, callback: Callable[[SessionFilters], Any], *, remove: bool = False) -> None:
        """Call ``callback(filters)`` after every change of a control (valid or not).

        Pass ``remove=True`` to unregister it. Check ``filters.valid`` in the callback.
        """
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    # -- reacting to the controls ----------------------------------------------------------

    def _picker_changed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        if self.range.value != CUSTOM:
            self._syncing = True
            try:
                self.range.value = CUSTOM
            finally:
                self._syncing = False
        self._changed()

    def _changed(self, change: dict[str, Any] | None = None) -> None:
        if self._syncing:
            return
        if change is not None and change.get("owner") in (self.range, self.tz_picker):
            self._show_quick_window()
        self.combine.layout.display = "" if len(self._rows) > 1 else "none"
        self._state = self._build()
        self._show_state()
        for callback in list(self._callbacks):
            callback(self)

    def _show_quick_window(self) -> None:
        """Show the window of the quick pick in the pickers (without switching to custom)."""
        span = QUICK_RANGES.get(self.range.value)
        if span is None:
            return
        zone = check_tz(self.tz_picker.value)
        end = self._now()
        self._syncing = True
        try:
            self.start_picker.value = _wall_clock(end - span, zone)
            self.end_picker.value = _wall_clock(end, zone)
        finally:
            self._syncing = False

    def _times(self, tz: str) -> tuple[str, str | None]:
        pick = self.range.value
        if pick in QUICK_RANGES:
            if self._anchor is None:
                return pick, None  # relative: "the last 7d" whenever the code runs
            zone = check_tz(tz)
            return (
                _iso(_wall_clock(self._anchor - QUICK_RANGES[pick], zone)),
                _iso(_wall_clock(self._anchor, zone)),
            )
        first, last = self.start_picker.value, self.end_picker.value
        if first is None:
            raise UsageError("time range: pick a start date and time (or choose a quick pick)")
        return _iso(first), None if last is None else _iso(last)

    def _build(self) -> _State:
        tz = self.tz_picker.value
        try:
            start, end = self._times(tz)
            try:
                resolve_window(start, end, tz)
            except UsageError as exc:
                raise UsageError(f"time range: {exc}") from None
            requested: list[Filter] = []
            if self.model.value.strip():
                requested.append(request.model == self.model.value.strip())
            if self.user.value.strip():
                requested.append(request.user_id == self.user.value.strip())
            rows = [c for i, r in enumerate(self._rows, 1) if (c := r.condition(i)) is not None]
            if rows:  # all request-level, so OR among them is evaluated correctly
                join = operator.or_ if self.combine.value == "or" else operator.and_
                requested.append(functools.reduce(join, rows))
            per_session: list[Filter] = []
            low = _number(self.cost_min.value, "minimum cost")
            high = _number(self.cost_max.value, "maximum cost")
            if low is not None and high is not None and low > high:
                raise UsageError(f"cost range: the minimum ${low:g} is above the maximum ${high:g}")
            fewest = _whole(self.min_requests.value, "minimum requests")
            if fewest is not None:
                per_session.append(session.total_requests >= fewest)
            if low is not None:
                per_session.append(session.total_cost >= low)
            if high is not None:
                per_session.append(session.total_cost <= high)
            request_filter = functools.reduce(operator.and_, requested, ALL)
            combined = functools.reduce(operator.and_, per_session, request_filter)
            combined.to_wire(tz)  # any FilterError now, not at fetch time
        except HeliconeError as exc:
            return _State(tz=tz, error=str(exc))
        return _State(
            start=start,
            end=end,
            tz=tz,
            search=self.search.value,
            name=self.name.value or None,
            filter=combined,
            request_filter=request_filter,
        )

    def _show_state(self) -> None:
        if self._state.error is not None:
            text = (
                f"<span class='hnb-error'>⚠ {html.escape(self._state.error)}. "
                "Nothing is sent until this is fixed.</span>"
            )
        elif self._note:
            text = f"<span class='hnb-note'>{html.escape(self._note)}</span>"
        else:
            text = ""
        self.message.value = (_CSS + text) if text else ""

    # -- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return _widget_bundle(self.widget, repr(self))

    def __repr__(self) -> str:
        state = self._state
        if state.error is not None:
            return f"<SessionFilters invalid: {state.error}>"
        window = state.start if state.end is None else f"{state.start} to {state.end}"
        return f"<SessionFilters {window} ({state.tz}), filter={state.filter.to_python()}>"


# ---------------------------------------------------------------------------------------------
# Rendering helpers (pure: DataFrame in, HTML or PNG out)
# ---------------------------------------------------------------------------------------------


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, HeliconeError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):  # pd.NA refuses bool()
        return True


def _fmt_int(value: Any) -> str:
    return "" if _missing(value) else f"{int(value):,}"


def _fmt_usd(value: Any) -> str:
    return "" if _missing(value) else plots._usd(float(value))


def _fmt_ms(value: Any) -> str:
    return "" if _missing(value) else f"{float(value):,.0f} ms"


def _fmt_seconds(value: Any) -> str:
    if _missing(value):
        return ""
    seconds = float(value)
    return f"{seconds:,.1f} s" if seconds < 120 else f"{seconds / 60:,.1f} min"


def _fmt_time(value: Any) -> str:
    return "" if _missing(value) else f"{value:%Y-%m-%d %H:%M:%S}"


def _fmt_text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


#: A table column: (frame column, header, formatter, right-aligned number).
_ColumnSpec = tuple[str, str, Callable[[Any], str], bool]

#: Columns of the top-sessions table.
_SESSION_COLUMNS: list[_ColumnSpec] = [
    ("session_id", "session id", _fmt_text, False),
    ("session_name", "name", _fmt_text, False),
    ("created_at", "start", _fmt_time, False),
    ("total_requests", "requests", _fmt_int, True),
    ("total_cost", "cost", _fmt_usd, True),
    ("total_tokens", "tokens", _fmt_int, True),
    ("avg_latency", "mean latency", _fmt_ms, True),
    ("duration_s", "duration", _fmt_seconds, True),
    ("user_ids", "users", _fmt_text, False),
]

#: Columns of the drill-down requests table.
_REQUEST_COLUMNS: list[_ColumnSpec] = [
    ("created_at", "time", _fmt_time, False),
    ("session_path", "path", _fmt_text, False),
    ("model", "model", _fmt_text, False),
    ("status", "status", _fmt_int, True),
    ("latency_ms", "latency", _fmt_ms, True),
    ("total_tokens", "tokens", _fmt_int, True),
    ("cost", "cost", _fmt_usd, True),
    ("user_id", "user", _fmt_text, False),
]


def _table_html(
    df: pd.DataFrame,
    columns: Sequence[_ColumnSpec],
    *,
    kind: str,
    extra: _ColumnSpec | None = None,
) -> str:
    """An escaped HTML table of ``df`` (values formatted per column), class ``hnb-<kind>``."""
    spec = [*columns, *([extra] if extra is not None else [])]
    spec = [c for c in spec if c[0] in df.columns]
    head = "".join(
        f"<th class='{'num' if numeric else ''}'>{html.escape(header)}</th>"
        for _, header, _, numeric in spec
    )
    values = [[fmt(v) for v in df[col].tolist()] for col, _, fmt, _ in spec]
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='{'num' if spec[j][3] else ''}'>{html.escape(cells[i])}</td>"
            for j, cells in enumerate(values)
        )
        + "</tr>"
        for i in range(len(df))
    )
    return (
        f"{_CSS}<div style='overflow-x:auto'><table class='hnb-table hnb-{kind}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _summary_html(df: pd.DataFrame) -> str:
    s = recipes.summary(df).iloc[0]
    span = (
        ""
        if _missing(s["start"])
        else (f"{s['start']:%Y-%m-%d %H:%M} to {s['end']:%Y-%m-%d %H:%M}")
    )

    def several(fmt: Callable[[Any], str], *keys: str) -> str:
        return " / ".join(fmt(s[k]) or "–" for k in keys)

    cells = [
        ("sessions", _fmt_int(s["sessions"])),
        ("requests", _fmt_int(s["requests"])),
        ("users", _fmt_int(s["users"])),
        ("total cost", _fmt_usd(s["total_cost"])),
        (
            "cost per session (mean / p50 / p90)",
            several(
                _fmt_usd, "cost_per_session_mean", "cost_per_session_p50", "cost_per_session_p90"
            ),
        ),
        ("tokens", _fmt_int(s["total_tokens"])),
        ("cost per 1k tokens", _fmt_usd(s["cost_per_1k_tokens"])),
        ("mean latency per request", _fmt_ms(s["mean_latency_ms"])),
        (
            "session latency (p50 / p90 / p99)",
            several(
                _fmt_ms,
                "session_latency_p50_ms",
                "session_latency_p90_ms",
                "session_latency_p99_ms",
            ),
        ),
        ("session duration (p50 / p90)", several(_fmt_seconds, "duration_p50_s", "duration_p90_s")),
        ("first to last request", span),
    ]
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td class='num'>{html.escape(v or '–')}</td></tr>"
        for k, v in cells
    )
    return f"{_CSS}<table class='hnb-table hnb-summary'><tbody>{rows}</tbody></table>"


def _sorted_sessions(df: pd.DataFrame, by: str, n: int, ascending: bool) -> pd.DataFrame:
    if by == "created_at":
        ranked = df.sort_values(
            "created_at", ascending=ascending, kind="mergesort", na_position="last"
        )
        return ranked.head(n).reset_index(drop=True)
    return recipes.top_sessions(df, by, n, ascending=ascending)


def _plot_freq(start: _dt.datetime, end: _dt.datetime) -> str:
    days = (end - start).total_seconds() / 86400
    return "h" if days <= 3 else ("D" if days <= 120 else "W")


def _png(draw: Callable[[Any], Any], size: tuple[float, float]) -> bytes:
    """Draw on a fresh Agg figure (no pyplot, no global state) and return PNG bytes."""
    require("matplotlib", "notebook")
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=80, layout="constrained")
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@dataclass(frozen=True)
class _View:
    """A fetched frame, the query that produced it, and its summary (built off the main thread)."""

    df: pd.DataFrame
    tz: str
    request_filter: Filter
    window: tuple[_dt.datetime, _dt.datetime]
    summary: str
    status: str


def _plot_pngs(view: _View) -> tuple[bytes, bytes, str]:
    """The cost-over-time and latency PNGs of a view, or a note saying why there are none."""
    df = view.df
    freq = _plot_freq(*view.window)
    try:
        cost = _png(lambda ax: plots.plot_cost_over_time(df, freq, ax=ax), (9, 3.6))
        latency = _png(lambda ax: plots.plot_latency_distribution(df, ax=ax), (8, 3.6))
    except Exception as exc:  # the tables are still worth showing
        log.debug("plotting failed", exc_info=True)
        return (
            b"",
            b"",
            (
                f"{_CSS}<span class='hnb-error'>Plots failed: "
                f"{html.escape(_describe_error(exc))}</span>"
            ),
        )
    return cost, latency, ""


# ---------------------------------------------------------------------------------------------
# Explorer
# ---------------------------------------------------------------------------------------------


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
    sort_by, ascending, rows, table, summary : ipywidgets
        The top-sessions table (labels of :data:`SORT_KEYS`) and the summary above it.
    tabs, cost_plot, latency_plot : ipywidgets
        Sessions / Plots / Drill-down; plots are drawn while the Plots tab is open.
    session_picker, tree, timeline, requests_table : ipywidgets
        The drill-down: pick a session (the rows of the table) to see its path tree,
        timeline and requests.
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
        w = _ipywidgets()
        require("matplotlib", "notebook")
        if client is None:
            from ._client.connect import connect

            client = connect()
        if debounce < 0:
            raise UsageError(f"debounce must be >= 0 seconds, got {debounce!r}")
        self.client: Client = client
        self.debounce = float(debounce)
        self.filters = SessionFilters(client, tz=tz, start=start, end=end)
        zone = self.filters.tz_picker.value
        self._df: pd.DataFrame = empty_frame(SESSION_SCHEMA, check_tz(zone))
        self._view: _View | None = None
        self._plotted: _View | None = None  # the view the plot images show
        self._requests: pd.DataFrame = empty_frame(REQUEST_SCHEMA, check_tz(zone))
        self.selected_session: str | None = None
        self.error: str | None = None
        self._lock = threading.RLock()
        self._generation = 0  # of the sessions fetches: the newest request wins
        self._drill_generation = 0
        self._timer: threading.Timer | None = None
        self._workers: list[threading.Thread] = []
        self._requested: _State | None = None  # the filters of the newest fetch started
        self._syncing = False

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
        self.sort_by: Any = w.Dropdown(
            options=list(SORT_KEYS.items()),
            value="total_cost",
            description="sort by",
            style=_WIDE,
            layout=w.Layout(width="220px"),
        )
        self.ascending: Any = w.Checkbox(
            value=False, description="ascending", indent=False, layout=w.Layout(width="110px")
        )
        self.rows: Any = w.Dropdown(
            options=[10, 25, 50, 100],
            value=25,
            description="rows",
            style=_WIDE,
            layout=w.Layout(width="120px"),
        )
        self.table: Any = w.HTML()
        self.cost_plot: Any = w.Image(format="png", layout=w.Layout(max_width="720px"))
        self.latency_plot: Any = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.plot_note: Any = w.HTML()
        self.session_picker: Any = w.Dropdown(
            options=[("(pick a session)", _ANY)],
            value=_ANY,
            description="session",
            style=_WIDE,
            layout=w.Layout(width="560px"),
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
                w.VBox(
                    [self.summary, w.HBox([self.sort_by, self.ascending, self.rows]), self.table]
                ),
                w.VBox([self.cost_plot, self.latency_plot, self.plot_note]),
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
        for control in (self.sort_by, self.ascending, self.rows):
            control.observe(self._sort_changed, names="value")
        self.session_picker.observe(self._session_picked, names="value")
        self.tabs.observe(self._tab_changed, names="selected_index")
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
        state = filters._state
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if state.error is not None or not self.auto.value or state == self._requested:
                return  # nothing to send, or the result shown (or on its way) answers it
            if self.debounce > 0:
                self._timer = threading.Timer(self.debounce, self._timer_fired)
                self._timer.daemon = True
                self._timer.start()
                return
        self._start(background=True)

    def _timer_fired(self) -> None:
        with self._lock:
            self._workers.append(threading.current_thread())
        self._start(background=False)

    def _start(self, *, background: bool) -> None:
        state = self.filters._state
        if state.error is not None:
            self._set_status(
                f"<span class='hnb-error'>Not fetched: {html.escape(state.error)}.</span>"
            )
            return
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._requested = state
        resolved = resolve_window(state.start, state.end, state.tz)
        window = (resolved.start, resolved.end)
        self._set_status(
            f"<span class='hnb-note'>⏳ Fetching sessions from {_fmt_window(window, state.tz)}…"
            "</span>"
        )
        if background:
            self._spawn(self._fetch, generation, state, window)
        else:
            self._fetch(generation, state, window)

    def _fetch(
        self, generation: int, state: _State, window: tuple[_dt.datetime, _dt.datetime]
    ) -> None:
        started = time.perf_counter()
        query: dict[str, Any] = {
            "start": state.start,
            "end": state.end,
            "tz": state.tz,
            "search": state.search,
            "name": state.name,
        }
        try:
            df = self.client.fetch_sessions(**query, filter=state.filter, progress=False)
            stats = self.client.last_fetch
            seconds = time.perf_counter() - started
            view = _View(
                df=df,
                tz=state.tz,
                request_filter=state.request_filter,
                window=window,
                summary=_summary_html(df),
                status=(
                    f"{_plural(len(df), 'session')} from {_fmt_window(window, state.tz)} · "
                    f"{seconds:.2f} s · {stats.pages} page(s), {stats.cached_pages} from the cache"
                ),
            )
        except Exception as exc:  # shown in the widget, never a traceback
            log.debug("fetching sessions failed", exc_info=True)
            with self._lock:
                if generation != self._generation:
                    return
                self._requested = None  # the same filters may be tried again
                self.error = _describe_error(exc)
                kept = "" if self._view is None else " The tables still show the previous result."
                self._set_status(
                    f"<span class='hnb-error'>Could not fetch sessions: "
                    f"{html.escape(self.error)}.{kept}</span>"
                )
            return
        with self._lock:
            if generation != self._generation:
                return  # a newer request superseded this one
            self.error = None
            self._view = view
            self._df = view.df
            self.summary.value = view.summary
            self._show_table()
            self._set_status(f"<span>{html.escape(view.status)}</span>")
        if self.tabs.selected_index == _PLOTS_TAB:
            self._show_plots(view)

    # -- plots: drawn only while their tab is open (they cost more than everything else) ------

    def _tab_changed(self, change: dict[str, Any]) -> None:
        with self._lock:
            view = self._view
        if change["new"] == _PLOTS_TAB and view is not None and self._plotted is not view:
            self._spawn(self._show_plots, view)

    def _show_plots(self, view: _View) -> None:
        cost, latency, note = _plot_pngs(view)
        with self._lock:
            if self._view is not view:
                return  # a newer result arrived while drawing
            self._plotted = view
            self.cost_plot.value = cost
            self.latency_plot.value = latency
            self.plot_note.value = note

    def _set_status(self, text: str) -> None:
        self.status.value = _CSS + text

    def _show_code(self) -> None:
        filters = self.filters
        if filters.valid:
            self.code_view.value = _pre(filters.code)
        else:
            self.code_view.value = (
                f"{_CSS}<span class='hnb-error'>{html.escape(filters.error or '')}</span>"
            )

    # -- the sessions table ----------------------------------------------------------------

    def _sort_changed(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._show_table()

    def _show_table(self) -> None:
        by = self.sort_by.value
        top = _sorted_sessions(self._df, by, self.rows.value, self.ascending.value)
        extra = None
        if by == "cost_per_request":
            extra = ("cost_per_request", "cost per request", _fmt_usd, True)
        shown = f"{len(top):,} of {_plural(len(self._df), 'session')}, by {self.sort_by.label}"
        self.table.value = (
            f"<div class='hnb-note' style='font-size:12px'>{html.escape(shown)}</div>"
            + _table_html(top, _SESSION_COLUMNS, kind="sessions", extra=extra)
        )
        options = [("(pick a session)", _ANY)] + [
            (f"{sid} · {name or '(no name)'} · {_fmt_usd(cost)}", sid)
            for sid, name, cost in zip(
                top["session_id"].tolist(),
                top["session_name"].tolist(),
                top["total_cost"].tolist(),
                strict=True,
            )
        ]
        current = self.session_picker.value
        self._syncing = True
        try:
            self.session_picker.options = options
            self.session_picker.value = current if any(v == current for _, v in options) else _ANY
        finally:
            self._syncing = False

    # -- drill-down ------------------------------------------------------------------------

    def _session_picked(self, change: dict[str, Any]) -> None:
        if self._syncing or not change["new"]:
            return
        self.open_session(change["new"], wait=False)

    def _fetch_requests(self, generation: int, session_id: str, view: _View) -> None:
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
            table = _table_html(requests, _REQUEST_COLUMNS, kind="requests")
            timeline = (
                _png(lambda ax: drilldown.plot_session_timeline(requests, ax=ax), (9, 3.2))
                if len(requests)
                else b""
            )
        except Exception as exc:  # shown in the widget, never a traceback
            log.debug("fetching requests failed", exc_info=True)
            with self._lock:
                if generation == self._drill_generation:
                    self._show_drill_error(session_id, _describe_error(exc))
            return
        with self._lock:
            if generation != self._drill_generation:
                return
            self._requests = requests
            self.drill_status.value = ""
            self.tree.value = _pre(tree)
            self.timeline.value = timeline
            self.requests_table.value = table

    def _show_drill_error(self, session_id: str, message: str) -> None:
        self.drill_status.value = (
            f"{_CSS}<span class='hnb-error'>Could not open {html.escape(session_id)}: "
            f"{html.escape(message)}</span>"
        )

    # -- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return _widget_bundle(self.widget, repr(self))

    def __repr__(self) -> str:
        state = "fetching" if self.busy else ("error" if self.error else "idle")
        return f"<SessionExplorer {_plural(len(self._df), 'session')}, {state}>"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _fmt_window(window: tuple[_dt.datetime, _dt.datetime], tz: str) -> str:
    zone = check_tz(tz)
    first, last = (_wall_clock(t, zone) for t in window)
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} ({tz})"
