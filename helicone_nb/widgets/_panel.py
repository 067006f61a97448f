"""The filter panel: :class:`SessionFilters` and its custom-property rows.

The panel reads its controls into a :class:`~helicone_nb.widgets._query.FilterValues` and lets
:func:`~helicone_nb.widgets._query.build_query` (pure) build the query, so ``.filter``,
``.query`` and ``.code`` say exactly what a hand-written call would send.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._wire.filters import Filter
from .._wire.time import check_tz, resolve_window, to_utc
from ._base import (
    ANY,
    CSS,
    WIDE,
    describe_error,
    ipywidgets,
    widget_bundle,
    zone_name,
    zone_options,
)
from ._query import (
    CUSTOM,
    PROPERTY_OPERATORS,
    QUICK_RANGES,
    FilterValues,
    PropertyValues,
    QueryState,
    build_query,
    property_condition,
    wall_clock,
)

if TYPE_CHECKING:
    from .._client.clients import Client

log = logging.getLogger("helicone_nb.widgets")


def _text(w: Any, description: str, placeholder: str, width: str) -> Any:
    """A labelled text box of the filter panel."""
    return w.Text(
        description=description,
        placeholder=placeholder,
        style=WIDE,
        layout=w.Layout(width=width),
    )


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
        w = ipywidgets()
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

    @property
    def values(self) -> PropertyValues:
        """The row's values as plain text."""
        return PropertyValues(self.key.value, self.operator.value, self.value.value)

    def condition(self, number: int) -> Filter | None:
        """This row as a filter (None while it is not filled in), or raise :class:`UsageError`.

        A row without a key and value is skipped; so is a row with an empty value (except
        ``"is set"``), since a half-typed row must not start a query.
        """
        return property_condition(self.values, number)

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
        w = ipywidgets()
        self.client = client
        zone = zone_name(tz)
        period = getattr(client, "demo_period", None)
        self._anchor: _dt.datetime | None = period[1] if period else None
        self._callbacks: list[Callable[[SessionFilters], Any]] = []
        self._syncing = False
        self._note = ""
        self._state = QueryState()

        quick, custom = self._initial_range(start, end, zone)
        self.range: Any = w.ToggleButtons(
            options=[*((k, k) for k in QUICK_RANGES), ("custom", CUSTOM)],
            value=quick,
            description="time range",
            tooltips=[
                f"the last {k}" + (" of the demo data" if self._anchor else "")
                for k in QUICK_RANGES
            ]
            + ["the start and end below"],
            style={**WIDE, "button_width": "80px"},  # "custom" in full, in every theme font
        )
        self.tz_picker: Any = w.Dropdown(
            options=zone_options(zone),
            value=zone,
            description="time zone",
            style=WIDE,
            layout=w.Layout(width="260px"),
        )
        self.start_picker: Any = w.NaiveDatetimePicker(description="from", style=WIDE)
        self.end_picker: Any = w.NaiveDatetimePicker(description="to", style=WIDE)
        self.search: Any = _text(w, "search", "session id or name contains", "320px")
        self.name: Any = w.Dropdown(
            options=[("(any)", ANY)],
            value=ANY,
            description="session name",
            style=WIDE,
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
            style=WIDE,
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
        first = wall_clock(to_utc(start, zone, now, "start"), zone)
        last = None if end is None else wall_clock(to_utc(end, zone, now, "end"), zone)
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
            self._note = f"Session names could not be loaded ({describe_error(exc)})."
        else:
            names = [str(n) for n in frame["name"].tolist() if isinstance(n, str) and n]
            self._syncing = True
            try:
                self.name.options = [("(any)", ANY), *((n, n) for n in names)]
                self.name.value = current if (current := self.name.value) in names else ANY
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

    def _checked(self) -> QueryState:
        if self._state.error is not None:
            raise UsageError(self._state.error)
        return self._state

    @property
    def state(self) -> QueryState:
        """The query the controls describe, or (``state.error``) why it cannot be sent."""
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
        return self._checked().query()

    @property
    def code(self) -> str:
        """Python that fetches the same DataFrame (expects a ``client`` variable).

        Raises :class:`UsageError` while the input is invalid.
        """
        return self._checked().code()

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
            self.start_picker.value = wall_clock(end - span, zone)
            self.end_picker.value = wall_clock(end, zone)
        finally:
            self._syncing = False

    @property
    def values(self) -> FilterValues:
        """What the controls say now, as plain values (see :func:`build_query`)."""
        return FilterValues(
            range=self.range.value,
            start=self.start_picker.value,
            end=self.end_picker.value,
            tz=self.tz_picker.value,
            search=self.search.value,
            name=self.name.value,
            model=self.model.value,
            user=self.user.value,
            cost_min=self.cost_min.value,
            cost_max=self.cost_max.value,
            min_requests=self.min_requests.value,
            properties=tuple(row.values for row in self._rows),
            combine=self.combine.value,
        )

    def _build(self) -> QueryState:
        return build_query(self.values, self._anchor)

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
        self.message.value = (CSS + text) if text else ""

    # -- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return widget_bundle(self.widget, repr(self))

    def __repr__(self) -> str:
        state = self._state
        if state.error is not None:
            return f"<SessionFilters invalid: {state.error}>"
        window = state.start if state.end is None else f"{state.start} to {state.end}"
        return f"<SessionFilters {window} ({state.tz}), filter={state.filter.to_python()}>"
