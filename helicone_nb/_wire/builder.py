"""The filter builder: ``request.<column>``, ``session.<column>``, ``prop(key)``, ``has_prop(key)``.

Comparing a :class:`Column` builds a :class:`~helicone_nb._wire.filters.Condition`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import FilterError
from .columns import (
    EMPTY_SENTINEL,
    NULL_SENTINEL,
    PROPERTIES,
    PROPERTY_KEY,
    REQUEST_COLUMNS,
    REQUEST_TABLE,
    SESSION_COLUMNS,
    SESSION_TABLE,
    ColumnType,
    column_type,
)
from .filters import Condition


class Column:
    """A filterable column; compare it to build a :class:`Condition`.

    Text: ``==``, ``!=``, ``.contains()``, ``.not_contains()``, ``.like()``, ``.ilike()``,
    ``.is_null()``, ``.is_not_null()``, ``.is_empty()``. Number: ``==``, ``!=``, ``>``, ``>=``,
    ``<``, ``<=``. Timestamp: ``==``, ``>``, ``>=``, ``<``, ``<=``. Boolean: ``==``.
    """

    __slots__ = ("_column", "_key", "_table")

    def __init__(self, table: str, column: str, key: str | None = None) -> None:
        column_type(table, column)
        self._table = table
        self._column = column
        self._key = key

    @property
    def type(self) -> ColumnType:
        return column_type(self._table, self._column)

    @property
    def name(self) -> str:
        return self._column

    def _cond(self, op: str, value: Any) -> Condition:
        return Condition(self._table, self._column, op, value, self._key)

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return self._cond("equals", value)

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return self._cond("not-equals", value)

    def __gt__(self, value: Any) -> Condition:
        return self._cond("gt", value)

    def __ge__(self, value: Any) -> Condition:
        return self._cond("gte", value)

    def __lt__(self, value: Any) -> Condition:
        return self._cond("lt", value)

    def __le__(self, value: Any) -> Condition:
        return self._cond("lte", value)

    __hash__ = None  # type: ignore[assignment]

    def equals(self, value: Any) -> Condition:
        return self._cond("equals", value)

    def not_equals(self, value: Any) -> Condition:
        return self._cond("not-equals", value)

    def gt(self, value: Any) -> Condition:
        return self._cond("gt", value)

    def gte(self, value: Any) -> Condition:
        return self._cond("gte", value)

    def lt(self, value: Any) -> Condition:
        return self._cond("lt", value)

    def lte(self, value: Any) -> Condition:
        return self._cond("lte", value)

    def contains(self, text: str) -> Condition:
        """Case-insensitive substring (``%`` and ``_`` act as wildcards in Helicone)."""
        return self._cond("contains", text)

    def not_contains(self, text: str) -> Condition:
        return self._cond("not-contains", text)

    def like(self, pattern: str) -> Condition:
        """SQL LIKE pattern, passed as is (case-sensitive)."""
        return self._cond("like", pattern)

    def ilike(self, pattern: str) -> Condition:
        """SQL ILIKE pattern, passed as is (case-insensitive)."""
        return self._cond("ilike", pattern)

    def is_null(self) -> Condition:
        """Column IS NULL (Helicone's ``"null"`` sentinel; plain text columns only)."""
        self._plain_text("is_null")
        return self._cond("equals", NULL_SENTINEL)

    def is_not_null(self) -> Condition:
        self._plain_text("is_not_null")
        return self._cond("not-equals", NULL_SENTINEL)

    def is_empty(self) -> Condition:
        """Column equals the empty string (Helicone's ``"__empty__"`` sentinel)."""
        self._plain_text("is_empty")
        return self._cond("equals", EMPTY_SENTINEL)

    def _plain_text(self, what: str) -> None:
        if self._column == PROPERTIES:
            raise FilterError(
                f"prop({self._key!r}).{what}(): sentinels do not apply inside properties; "
                f"a missing property reads as '', so use prop({self._key!r}) == ''"
            )
        if self.type != "text":
            raise FilterError(f"{what}() is only available on text columns, not {self._column!r}")

    def __repr__(self) -> str:
        if self._column == PROPERTIES:
            return f"prop({self._key!r})"
        return f"<Column {self._table}.{self._column} ({self.type})>"


class _Namespace:
    def __init__(self, table: str, columns: Mapping[str, ColumnType], prefix: str) -> None:
        self._table = table
        self._columns = columns
        self._prefix = prefix

    def __getattr__(self, name: str) -> Column:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.col(name)

    def col(self, name: str) -> Column:
        """Column by name (with or without the ``session_`` prefix for session columns)."""
        full = name if name in self._columns else self._prefix + name
        if full not in self._columns:
            column_type(self._table, name)  # raises with the list of valid names
        return Column(self._table, full)

    def __dir__(self) -> list[str]:
        return sorted(c.removeprefix(self._prefix) for c in self._columns)

    @property
    def columns(self) -> dict[str, ColumnType]:
        return {c.removeprefix(self._prefix): t for c, t in self._columns.items()}

    def __repr__(self) -> str:
        return f"<{self._table} columns: {', '.join(dir(self))}>"


#: Request-level columns: ``request.model == "gpt-4o"``, ``request.cost > 0.01`` (USD).
request = _Namespace(REQUEST_TABLE, REQUEST_COLUMNS, "")
#: Session-level columns: ``session.total_cost > 1.0`` (USD), ``session.total_requests >= 3``.
session = _Namespace(SESSION_TABLE, SESSION_COLUMNS, "session_")


def prop(key: str) -> Column:
    """A custom property (``Helicone-Property-<key>``) as a text column; missing reads as ``""``."""
    if not isinstance(key, str) or not key:
        raise FilterError("prop(key): the property key must be a non-empty string")
    return Column(REQUEST_TABLE, PROPERTIES, key)


def has_prop(key: str) -> Condition:
    """True for requests that carry the property ``key``."""
    return Condition(REQUEST_TABLE, PROPERTY_KEY, "equals", key)
