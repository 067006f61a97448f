"""Typed filters that compile to Helicone's binary wire tree and parse back from it.

A filter is a tree of :class:`Condition` leaves joined by :class:`And` / :class:`Or`, or
:data:`ALL`. Conditions are built from column objects::

    from helicone_nb import request, session, prop, has_prop

    f = (request.model == "gpt-4o") & (session.total_cost > 0.5)
    f = prop("environment") == "production"
    f.to_wire()   # Helicone's JSON, one condition per leaf

Every mistake Helicone would answer with a 422, a 500 or a silently wrong result is refused
here, before anything is sent, with a :class:`~helicone_nb.FilterError` that says what to change.
The column tables live in :mod:`helicone_nb._wire.columns`; the builder (``request``,
``session``, ``prop``, ``has_prop``) in :mod:`helicone_nb._wire.builder`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from .._errors import FilterError
from .columns import (
    COLUMN_UNITS,
    EMPTY_SENTINEL,
    NULL_SENTINEL,
    OPERATORS,
    PROPERTIES,
    PROPERTY_KEY,
    REQUEST_TABLE,
    SESSION_TABLE,
    Level,
    column_type,
)

# --------------------------------------------------------------------------------------------
# Filter tree
# --------------------------------------------------------------------------------------------


class Filter:
    """Base of every filter node; combine nodes with ``&`` and ``|``."""

    __slots__ = ()

    def __and__(self, other: FilterLike) -> Filter:
        other_f = as_filter(other)
        if isinstance(self, AllFilter):
            return other_f
        if isinstance(other_f, AllFilter):
            return self
        return And(self, other_f)

    def __or__(self, other: FilterLike) -> Filter:
        other_f = as_filter(other)
        if isinstance(self, AllFilter) or isinstance(other_f, AllFilter):
            return ALL
        node = Or(self, other_f)
        node.check()
        return node

    def __rand__(self, other: FilterLike) -> Filter:
        return as_filter(other) & self

    def __ror__(self, other: FilterLike) -> Filter:
        return as_filter(other) | self

    def __bool__(self) -> bool:
        raise TypeError(
            "a filter has no truth value: combine conditions with & and | (not 'and'/'or'), "
            "and wrap each comparison in parentheses: (request.model == 'x') & (...)"
        )

    def to_wire(self, tz: str | _dt.tzinfo = "UTC") -> WireNode:
        """Helicone's JSON form. Naive datetimes in timestamp conditions are read in ``tz``."""
        self.check()
        return self._wire(tz)

    def _wire(self, tz: str | _dt.tzinfo) -> WireNode:
        raise NotImplementedError

    def leaves(self) -> Iterator[Condition]:
        """Every condition in the tree, left to right."""
        return iter(())

    def check(self) -> None:
        """Raise :class:`FilterError` for trees Helicone would evaluate wrongly."""

    @property
    def levels(self) -> frozenset[Level]:
        """Which evaluation levels the tree touches ('request', 'session')."""
        return frozenset(leaf.level for leaf in self.leaves() if leaf.column != "session_tag")

    def to_python(self) -> str:
        """Python source that rebuilds this filter with the public builder."""
        raise NotImplementedError

    @staticmethod
    def from_wire(node: Any) -> Filter:
        """Parse Helicone's wire JSON (``"all"``, ``{}``, a leaf or a branch)."""
        return parse_filter(node)


class AllFilter(Filter):
    """Matches every session (wire form ``"all"``; ``{}`` parses to it too)."""

    __slots__ = ()
    _instance: AllFilter | None = None

    def __new__(cls) -> AllFilter:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def _wire(self, tz: str | _dt.tzinfo) -> WireNode:
        return "all"

    def __repr__(self) -> str:
        return "ALL"

    def to_python(self) -> str:
        return "hnb.ALL"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AllFilter)

    def __hash__(self) -> int:
        return hash("all")


ALL = AllFilter()


@dataclass(frozen=True, eq=True, slots=True)
class Condition(Filter):
    """One leaf: ``table.column operator value`` (``key`` names the property for properties)."""

    table: str
    column: str
    operator: str
    value: Any
    key: str | None = None

    def __post_init__(self) -> None:
        _validate_condition(self)

    @property
    def level(self) -> Level:
        return "session" if self.table == SESSION_TABLE else "request"

    def leaves(self) -> Iterator[Condition]:
        yield self

    def _wire(self, tz: str | _dt.tzinfo) -> WireNode:
        if self.column == PROPERTY_KEY:
            return {self.table: {PROPERTY_KEY: {"equals": self.value}}}
        value = self.value
        if column_type(self.table, self.column) == "timestamp":
            value = _timestamp_wire(value, tz)
        op = {self.operator: value}
        if self.column == PROPERTIES:
            assert self.key is not None
            return {self.table: {PROPERTIES: {self.key: op}}}
        return {self.table: {self.column: op}}

    def __repr__(self) -> str:
        return f"<Condition {self.to_python()}>"

    def to_python(self) -> str:
        if self.column == PROPERTY_KEY:
            return f"hnb.has_prop({self.value!r})"
        if self.column == PROPERTIES:
            target = f"hnb.prop({self.key!r})"
        elif self.table == SESSION_TABLE:
            target = f"hnb.session.{self.column.removeprefix('session_')}"
        else:
            target = f"hnb.request.{self.column}"
        value = self.value
        symbol = _SYMBOLS.get(self.operator)
        if isinstance(value, str) and self.column != PROPERTIES:
            if value == NULL_SENTINEL and self.operator in ("equals", "not-equals"):
                name = "is_null" if self.operator == "equals" else "is_not_null"
                return f"{target}.{name}()"
            if value == EMPTY_SENTINEL and self.operator == "equals":
                return f"{target}.is_empty()"
        if isinstance(value, _dt.datetime | _dt.date):
            text = f"{value.isoformat()!r}"
        else:
            text = repr(value)
        if symbol is not None:
            return f"({target} {symbol} {text})"
        return f"{target}.{self.operator.replace('-', '_')}({text})"


_SYMBOLS = {"equals": "==", "not-equals": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True, eq=True, slots=True)
class _Branch(Filter):
    left: Filter
    right: Filter

    operator = "and"

    def leaves(self) -> Iterator[Condition]:
        yield from self.left.leaves()
        yield from self.right.leaves()

    def _wire(self, tz: str | _dt.tzinfo) -> WireNode:
        return {
            "left": self.left._wire(tz),
            "operator": self.operator,
            "right": self.right._wire(tz),
        }

    def check(self) -> None:
        self.left.check()
        self.right.check()

    def to_python(self) -> str:
        symbol = "&" if self.operator == "and" else "|"
        return f"({self.left.to_python()} {symbol} {self.right.to_python()})"


@dataclass(frozen=True, eq=True, slots=True)
class And(_Branch):
    """Both sides must hold."""

    operator = "and"


@dataclass(frozen=True, eq=True, slots=True)
class Or(_Branch):
    """Either side holds. Refused when it mixes request-level and session-level conditions."""

    operator = "or"

    def check(self) -> None:
        _Branch.check(self)
        if self.levels == frozenset({"request", "session"}):
            raise FilterError(
                "this OR mixes request-level conditions (request.*, prop(), has_prop()) with "
                "session-level conditions (session.*). Helicone evaluates request-level "
                "conditions per request (WHERE, where session-level ones count as TRUE) and "
                "session-level ones per session (HAVING, where request-level ones count as TRUE), "
                "so both halves become 'x OR TRUE' and the query silently matches EVERYTHING. "
                "Split it into two queries, or OR only conditions of the same level. "
                f"Offending OR: {self.to_python()}"
            )


FilterLike: TypeAlias = "Filter | Mapping[str, Any] | str | None"
WireNode: TypeAlias = "str | dict[str, Any]"


def as_filter(value: FilterLike) -> Filter:
    """Accept a builder expression, a raw wire dict/``"all"``, or None (= ALL)."""
    if value is None:
        return ALL
    if isinstance(value, Filter):
        return value
    if isinstance(value, str | Mapping):
        return parse_filter(value)
    raise FilterError(
        f"a filter must be a builder expression (e.g. request.model == 'gpt-4o'), a Helicone "
        f"filter dict, 'all' or None; got {type(value).__name__}"
    )


# --------------------------------------------------------------------------------------------
# Validation of one condition
# --------------------------------------------------------------------------------------------


def _validate_condition(c: Condition) -> None:
    ctype = column_type(c.table, c.column)
    where = _describe(c)
    if c.column == PROPERTY_KEY:
        if c.operator != "equals":
            raise FilterError(f"{where}: property_key only supports 'equals' (use has_prop(key))")
        if not isinstance(c.value, str) or not c.value:
            raise FilterError(f"{where}: property_key needs a non-empty property name (a string)")
        return
    if c.column == PROPERTIES and (not isinstance(c.key, str) or not c.key):
        raise FilterError("prop(key): the property key must be a non-empty string")
    ops = OPERATORS[ctype]
    if c.operator not in ops:
        hint = ""
        if c.column == "cached":
            hint = " ('cached' is a boolean: use == True or == False)"
        raise FilterError(
            f"{where}: operator {c.operator!r} is not valid for a {ctype} column; "
            f"use one of {', '.join(ops)}{hint}"
        )
    v = c.value
    if ctype == "text":
        if not isinstance(v, str):
            raise FilterError(
                f"{where}: expected a string value, got {type(v).__name__} {v!r}. "
                f"Text columns compare strings; write {str(v)!r} if you meant the text."
            )
    elif ctype == "number":
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise FilterError(
                f"{where}: expected a number, got {type(v).__name__} {v!r}"
                + (f" (in {COLUMN_UNITS[c.column]})" if c.column in COLUMN_UNITS else "")
            )
        if not math.isfinite(v):
            raise FilterError(f"{where}: the number must be finite, got {v!r}")
    elif ctype == "boolean":
        if not isinstance(v, bool):
            raise FilterError(f"{where}: expected True or False, got {type(v).__name__} {v!r}")
    elif ctype == "timestamp":
        if isinstance(v, str):
            _parse_iso(v, where)
        elif not isinstance(v, _dt.date):
            import pandas as pd

            if not isinstance(v, pd.Timestamp):
                raise FilterError(
                    f"{where}: expected a datetime, date or ISO-8601 string, "
                    f"got {type(v).__name__} {v!r}"
                )


def _describe(c: Condition) -> str:
    if c.column == PROPERTIES:
        return f"prop({c.key!r})"
    if c.column == PROPERTY_KEY:
        return "has_prop()"
    prefix = "session." if c.table == SESSION_TABLE else "request."
    return prefix + (c.column.removeprefix("session_") if c.table == SESSION_TABLE else c.column)


_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def _parse_iso(text: str, where: str) -> _dt.datetime:
    if not _ISO_RE.match(text):
        raise FilterError(
            f"{where}: {text!r} is not a strict ISO-8601 timestamp; Helicone rejects it. "
            "Write e.g. '2025-01-31T10:00:00Z' or pass a datetime."
        )
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FilterError(f"{where}: {text!r} is not a valid timestamp ({exc})") from None


def _timestamp_wire(value: Any, tz: str | _dt.tzinfo) -> str:
    import pandas as pd

    if isinstance(value, str):
        ts = pd.Timestamp(_parse_iso(value, "timestamp"))
    elif isinstance(value, _dt.datetime):
        ts = pd.Timestamp(value)
    else:
        ts = pd.Timestamp(value.isoformat())
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    ts = ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------------------------
# Wire parser
# --------------------------------------------------------------------------------------------


def parse_filter(node: Any, path: str = "filter") -> Filter:
    """Parse Helicone's wire JSON into a filter, refusing what Helicone mishandles."""
    if isinstance(node, str):
        if node == "all":
            return ALL
        raise FilterError(f"{path}: the only string filter is 'all', got {node!r}")
    if not isinstance(node, Mapping):
        raise FilterError(f"{path}: expected 'all' or an object, got {type(node).__name__}")
    if not node:
        return ALL  # Helicone's web UI sends {}: an empty leaf, no filter
    if "left" in node or "right" in node or "operator" in node:
        extra = set(node) - {"left", "right", "operator"}
        if extra:
            raise FilterError(
                f"{path}: unexpected keys {sorted(extra)} in a branch; a branch has exactly "
                "'left', 'operator' and 'right' (Helicone answers 422 otherwise)"
            )
        missing = {"left", "right", "operator"} - set(node)
        if missing:
            raise FilterError(f"{path}: branch is missing {sorted(missing)}")
        op = node["operator"]
        if op not in ("and", "or"):
            raise FilterError(f"{path}.operator: must be 'and' or 'or', got {op!r}")
        left = parse_filter(node["left"], path + ".left")
        right = parse_filter(node["right"], path + ".right")
        if op == "and":
            return And(left, right)
        branch = Or(left, right)
        branch.check()
        return branch
    return _leaf_from_wire(node, path)


def _single(mapping: Any, path: str, what: str) -> tuple[str, Any]:
    if not isinstance(mapping, Mapping):
        raise FilterError(f"{path}: expected an object with one {what}, got {mapping!r}")
    if not mapping:
        raise FilterError(
            f"{path}: empty object; Helicone fails with a 500 on an empty {what} map. "
            "Remove it or give exactly one entry."
        )
    if len(mapping) > 1:
        raise FilterError(
            f"{path}: {len(mapping)} entries ({', '.join(map(str, mapping))}) in one leaf; "
            f"Helicone silently uses only the first {what}. Put one condition in each leaf "
            "and join them with {'left': ..., 'operator': 'and', 'right': ...} (or use &)."
        )
    ((k, v),) = mapping.items()
    return str(k), v


def _leaf_from_wire(node: Mapping[str, Any], path: str) -> Condition:
    table, body = _single(node, path, "table")
    if table not in (REQUEST_TABLE, SESSION_TABLE):
        column_type(table, "")
    column, ops = _single(body, f"{path}.{table}", "column")
    column_type(table, column)
    where = f"{path}.{table}.{column}"
    key = None
    if column == PROPERTIES:
        key, ops = _single(ops, where, "property key")
        where = f"{where}.{key}"
    operator, value = _single(ops, where, "operator")
    if column == PROPERTY_KEY and operator != "equals":
        raise FilterError(f"{where}: property_key only supports 'equals'")
    if column_type(table, column) == "number" and isinstance(value, str):
        try:  # Helicone accepts numeric strings for number fields
            value = float(value) if any(ch in value for ch in ".eE") else int(value)
        except ValueError:
            raise FilterError(f"{where}.{operator}: expected a number, got {value!r}") from None
    try:
        return Condition(table, column, operator, value, key)
    except FilterError as exc:
        raise FilterError(f"{where}: {exc}") from None
