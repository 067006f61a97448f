"""From the values of the filter controls to a query: pure, no widgets, no I/O.

:class:`FilterValues` holds what the controls say as plain Python (texts, a quick pick, naive
wall-clock datetimes). :func:`build_query` turns it into a :class:`QueryState`: the
``fetch_sessions`` arguments with the filter built through the public builder, or the reason
the input cannot be sent. The filter panel only reads its controls into a ``FilterValues`` and
calls :func:`build_query`, so everything here is tested without ipywidgets.

Layering rule (Helicone evaluates request-level conditions per request and session-level ones
per session; see README "Filters"): everything is joined with AND, except the custom-property
rows, which may be joined with OR among themselves, since they are all request-level. A
request-level condition is never ORed with a session-level one.
"""

from __future__ import annotations

import datetime as _dt
import functools
import operator
from dataclasses import dataclass
from typing import Any

from .._errors import HeliconeError, UsageError
from .._wire.builder import has_prop, prop, request, session
from .._wire.filters import ALL, Filter
from .._wire.time import check_tz, resolve_window

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


@dataclass(frozen=True)
class PropertyValues:
    """One custom-property row: key, operator label (of :data:`PROPERTY_OPERATORS`), value."""

    key: str = ""
    operator: str = "equals"
    value: str = ""


@dataclass(frozen=True)
class FilterValues:
    """What the filter controls say, as plain values.

    ``range`` is a quick pick of :data:`QUICK_RANGES` or :data:`CUSTOM`; ``start`` and ``end``
    are the custom window as naive wall-clock times of ``tz`` (``end=None``: until now). The
    texts are as typed: ``cost_min`` ``"$0.05"``, ``min_requests`` ``"3"``, ``""`` for none.
    ``name`` is the exact session name, ``""`` for any.
    """

    range: str = "7d"
    start: _dt.datetime | None = None
    end: _dt.datetime | None = None
    tz: str = "UTC"
    search: str = ""
    name: str = ""
    model: str = ""
    user: str = ""
    cost_min: str = ""
    cost_max: str = ""
    min_requests: str = ""
    properties: tuple[PropertyValues, ...] = ()
    combine: str = "and"


@dataclass(frozen=True)
class QueryState:
    """The ``fetch_sessions`` arguments the controls describe, or why there are none."""

    start: str = ""
    end: str | None = None
    tz: str = "UTC"
    search: str = ""
    name: str | None = None
    filter: Filter = ALL
    request_filter: Filter = ALL  # the request-level part (the drill-down applies it too)
    error: str | None = None

    def fetch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``Client.fetch_sessions`` (the filter as an object)."""
        return {
            "start": self.start,
            "end": self.end,
            "tz": self.tz,
            "search": self.search,
            "name": self.name,
            "filter": self.filter,
        }

    def query(self) -> dict[str, Any]:
        """The JSON-serialisable arguments: the filter in Helicone's wire format."""
        return {**self.fetch_kwargs(), "filter": self.filter.to_wire(self.tz)}

    def code(self) -> str:
        """Python that fetches the same DataFrame (expects a ``client`` variable)."""
        args = [f"start={self.start!r}"]
        if self.end is not None:
            args.append(f"end={self.end!r}")
        args.append(f"tz={self.tz!r}")
        if self.search:
            args.append(f"search={self.search!r}")
        if self.name is not None:
            args.append(f"name={self.name!r}")
        if self.filter != ALL:
            args.append(f"filter={self.filter.to_python()}")
        body = "".join(f"    {a},\n" for a in args)
        return f"import helicone_nb as hnb\n\ndf = client.fetch_sessions(\n{body})\n"


def number(text: str, what: str) -> float | None:
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


def whole(text: str, what: str) -> int | None:
    """A non-negative whole number typed by the user, '' = no bound."""
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


def iso(moment: _dt.datetime) -> str:
    """Naive ISO text, minutes precision unless seconds are set: '2025-07-01T09:30'."""
    spec = "minutes" if moment.second == 0 and moment.microsecond == 0 else "seconds"
    return moment.replace(microsecond=0).isoformat(timespec=spec)


def wall_clock(moment: _dt.datetime, zone: _dt.tzinfo) -> _dt.datetime:
    """An aware instant as the naive wall-clock time of ``zone``."""
    return moment.astimezone(zone).replace(tzinfo=None)


def property_condition(row: PropertyValues, number: int) -> Filter | None:
    """One property row as a filter (None while it is not filled in), or :class:`UsageError`.

    A row without a key and value is skipped; so is a row with an empty value (except
    ``"is set"``), since a half-typed row must not start a query.
    """
    key = row.key.strip()
    method = PROPERTY_OPERATORS.get(row.operator)
    if method is None:
        raise UsageError(
            f"property condition {number}: unknown operator {row.operator!r}; use one of "
            f"{', '.join(PROPERTY_OPERATORS)}"
        )
    if not key:
        if row.value.strip():
            raise UsageError(f"property condition {number}: give the property name")
        return None
    if method == "has":
        return has_prop(key)
    if not row.value:
        return None
    result: Filter = getattr(prop(key), method)(row.value)
    return result


def window_times(values: FilterValues, anchor: _dt.datetime | None) -> tuple[str, str | None]:
    """``start``/``end`` arguments: a relative pick ("7d"), or ISO wall-clock times.

    With an ``anchor`` (the end of the demo data) a quick pick is the window ending there.
    """
    pick = values.range
    if pick in QUICK_RANGES:
        if anchor is None:
            return pick, None  # relative: "the last 7d" whenever the code runs
        zone = check_tz(values.tz)
        return (
            iso(wall_clock(anchor - QUICK_RANGES[pick], zone)),
            iso(wall_clock(anchor, zone)),
        )
    if values.start is None:
        raise UsageError("time range: pick a start date and time (or choose a quick pick)")
    return iso(values.start), None if values.end is None else iso(values.end)


def build_query(values: FilterValues, anchor: _dt.datetime | None = None) -> QueryState:
    """The query the control values describe; the error text when they cannot be sent.

    Examples
    --------
    >>> state = build_query(FilterValues(range="30d", model="gpt-4o", cost_min="$0.05"))
    >>> state.start, state.error, state.filter.to_python()
    ('30d', None, "((hnb.request.model == 'gpt-4o') & (hnb.session.total_cost >= 0.05))")
    >>> build_query(FilterValues(min_requests="2.5")).error
    "minimum requests: '2.5' is not a whole number (write e.g. 3)"
    """
    tz = values.tz
    try:
        start, end = window_times(values, anchor)
        try:
            resolve_window(start, end, tz)
        except UsageError as exc:
            raise UsageError(f"time range: {exc}") from None
        requested: list[Filter] = []
        if values.model.strip():
            requested.append(request.model == values.model.strip())
        if values.user.strip():
            requested.append(request.user_id == values.user.strip())
        rows = [
            c
            for i, row in enumerate(values.properties, 1)
            if (c := property_condition(row, i)) is not None
        ]
        if rows:  # all request-level, so OR among them is evaluated correctly
            join = operator.or_ if values.combine == "or" else operator.and_
            requested.append(functools.reduce(join, rows))
        per_session: list[Filter] = []
        low = number(values.cost_min, "minimum cost")
        high = number(values.cost_max, "maximum cost")
        if low is not None and high is not None and low > high:
            raise UsageError(f"cost range: the minimum ${low:g} is above the maximum ${high:g}")
        fewest = whole(values.min_requests, "minimum requests")
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
        return QueryState(tz=tz, error=str(exc))
    return QueryState(
        start=start,
        end=end,
        tz=tz,
        search=values.search,
        name=values.name or None,
        filter=combined,
        request_filter=request_filter,
    )
