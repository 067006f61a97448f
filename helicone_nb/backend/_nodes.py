"""Filter trees as Helicone's validator reads them: the node types and their tsoa-style check.

A filter node is a union (leaf | branch | ``"all"``) whose failure is summarised as one
``requestBody.filter`` entry, as tsoa does. The reader is deliberately TOLERANT where Helicone is
(several columns in one leaf, several operators in one operator object: only the first is used),
unlike the client's strict :func:`helicone_nb.parse_filter`. Problems Helicone only notices
while running the query (an empty leaf, an empty operator object) become :class:`Broken` nodes,
which the compiler (``_sql``) turns into a 500 with Helicone's ``{"data": null, "error": ...}``
envelope.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from .._wire.columns import (
    OPERATORS,
    PROPERTIES,
    PROPERTY_KEY,
    REQUEST_COLUMNS,
    REQUEST_TABLE,
    SESSION_COLUMNS,
    SESSION_TABLE,
    ColumnType,
)
from ._tsoa import Details, boolean, echoable, enum, excess, json_object, number, string, timestamp

#: Deepest filter tree accepted (Helicone has no limit). Keeps validation and SQL compilation far
#: from Python's recursion limit; a right-nested chain of 200 conditions still passes.
MAX_FILTER_DEPTH = 200
#: Each nested union failure embeds (and re-escapes) its children's messages; cap their size.
_MAX_SUMMARY_CHARS = 4000


@dataclass(frozen=True, slots=True)
class AllNode:
    """``"all"`` or ``{}``: no condition."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """One condition: the first column / property key / operator of a wire leaf."""

    table: str
    column: str
    operator: str
    value: str | float | bool | _dt.datetime
    key: str | None = None  # the property name for ``properties`` leaves


@dataclass(frozen=True, slots=True)
class Branch:
    """``{"left", "operator", "right"}``."""

    operator: Literal["and", "or"]
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Broken:
    """A leaf that passes validation but that Helicone fails on while running the query."""

    message: str


Node: TypeAlias = AllNode | Leaf | Branch | Broken
ALL_NODE = AllNode()


# --------------------------------------------------------------------------------------------
# Filter nodes (SessionFilterNode / RequestFilterNode)
# --------------------------------------------------------------------------------------------

#: Columns Helicone's OpenAPI file lists for request_response_rmt that the embedded store does
#: not hold: validated by type, then refused with a 500 naming them.
_UNSUPPORTED_REQUEST_COLUMNS: dict[str, ColumnType | Literal["record"]] = {
    "search_properties": "record",
    "scores": "record",
    "scores_column": "text",
    "assets": "text",
    "helicone-score-feedback": "boolean",
}
#: Other tables RequestFilterNode accepts; the embedded backend does not hold them.
_OTHER_REQUEST_TABLES = ("feedback", "request", "response", "properties", "values")
SESSION_TABLES = (REQUEST_TABLE, SESSION_TABLE)
REQUEST_TABLES = (REQUEST_TABLE, SESSION_TABLE, *_OTHER_REQUEST_TABLES)


def _operator_object(
    value: Any, ctype: ColumnType, path: str, errors: Details
) -> tuple[str, Any] | Broken | None:
    """Validate ``{"<op>": value, ...}``; return the first (operator, value) pair."""
    obj = json_object(value, path, errors)
    if obj is None:
        return None
    ops = OPERATORS[ctype]
    checked: dict[str, Any] = {}
    for op in ops:  # tsoa walks the declared properties, then reports excess ones
        if op not in obj or obj[op] is None:
            continue
        raw, where = obj[op], f"{path}.{op}"
        coerced: Any
        if ctype == "text":
            coerced = string(raw, where, errors)
        elif ctype == "number":
            coerced = number(raw, where, errors)
        elif ctype == "timestamp":
            coerced = timestamp(raw, where, errors)
        else:
            coerced = boolean(raw, where, errors)
        checked[op] = coerced
    excess(obj, ops, path, errors)
    first = next((k for k in obj if k in checked), None)
    if first is None:
        return Broken(f"empty operator object at {path.removeprefix('requestBody.')}")
    return first, checked[first]


def _condition(
    table: str,
    column: str,
    ctype: ColumnType,
    raw: Any,
    path: str,
    errors: Details,
    key: str | None = None,
) -> Node | None:
    pair = _operator_object(raw, ctype, path, errors)
    if pair is None or isinstance(pair, Broken):
        return pair
    return Leaf(table, column, pair[0], pair[1], key)


def _column_map(table: str, value: Any, path: str, errors: Details) -> Node | None:
    """Validate the ``{column: operators}`` object of one table; build the first condition."""
    obj = json_object(value, path, errors)
    if obj is None:
        return None
    if table == REQUEST_TABLE:
        columns: dict[str, Any] = {
            **REQUEST_COLUMNS,
            PROPERTY_KEY: "property_key",
            PROPERTIES: "record",
            **_UNSUPPORTED_REQUEST_COLUMNS,
        }
    else:
        columns = dict(SESSION_COLUMNS)
    built: dict[str, Node | None] = {}
    for column, ctype in columns.items():
        if column not in obj or obj[column] is None:
            continue
        where = f"{path}.{column}"
        raw = obj[column]
        if ctype == "record":
            built[column] = _record(table, column, raw, where, errors)
        elif ctype == "property_key":
            built[column] = _property_key(raw, where, errors)
        else:
            built[column] = _condition(table, column, ctype, raw, where, errors)
    excess(obj, columns, path, errors)
    first = next((k for k in obj if k in built), None)
    if first is None:
        return Broken(f"empty filter leaf: {table} has no column")
    if first in _UNSUPPORTED_REQUEST_COLUMNS:
        return Broken(
            f"filter column {table}.{first} is not supported by the embedded backend "
            "(it stores no scores or assets)"
        )
    return built[first]


def _record(table: str, column: str, value: Any, path: str, errors: Details) -> Node | None:
    """``properties``: ``{"<key>": TextOperators}``; only the first key is used."""
    obj = json_object(value, path, errors)
    if obj is None:
        return None
    built = [
        _condition(table, column, "text", ops, f"{path}.{key}", errors, key=key)
        for key, ops in obj.items()
    ]
    if not built:
        return Broken(f"empty filter leaf: {table}.{column} has no key")
    return built[0]


def _property_key(value: Any, path: str, errors: Details) -> Node | None:
    obj = json_object(value, path, errors)
    if obj is None:
        return None
    if "equals" not in obj or obj["equals"] is None:
        errors[f"{path}.equals"] = {"message": "'equals' is required"}
        text = None
    else:
        text = string(obj["equals"], f"{path}.equals", errors)
    excess(obj, ("equals",), path, errors)
    if text is None:
        return None
    return Leaf(REQUEST_TABLE, PROPERTY_KEY, "equals", text)


def _leaf(value: Any, tables: tuple[str, ...], path: str, errors: Details) -> Node | None:
    obj = json_object(value, path, errors)
    if obj is None:
        return None
    built: dict[str, Node | None] = {}
    for table in tables:
        if table not in obj or obj[table] is None:
            continue
        where = f"{path}.{table}"
        if table in SESSION_TABLES:
            built[table] = _column_map(table, obj[table], where, errors)
        elif json_object(obj[table], where, errors) is not None:
            built[table] = Broken(
                f"filter table {table!r} is not supported by the embedded backend; use "
                f"{REQUEST_TABLE!r}"
            )
    excess(obj, tables, path, errors)
    if not obj:
        return ALL_NODE  # {}: the empty leaf Helicone's web UI sends
    first = next((k for k in obj if k in built), None)
    if first is None:
        return Broken("empty filter leaf: no table")
    return built[first]


def _branch(
    value: Any, tables: tuple[str, ...], path: str, errors: Details, depth: int
) -> Node | None:
    obj = json_object(value, path, errors)
    if obj is None:
        return None
    right = left = None
    if "right" not in obj or obj["right"] is None:
        errors[f"{path}.right"] = {"message": "'right' is required"}
    else:
        right = filter_node(obj["right"], tables, f"{path}.right", errors, depth + 1)
    operator = None
    if "operator" not in obj or obj["operator"] is None:
        errors[f"{path}.operator"] = {"message": "'operator' is required"}
    else:
        operator = enum(obj["operator"], ("or", "and"), f"{path}.operator", errors)
    if "left" not in obj or obj["left"] is None:
        errors[f"{path}.left"] = {"message": "'left' is required"}
    else:
        left = filter_node(obj["left"], tables, f"{path}.left", errors, depth + 1)
    excess(obj, ("right", "operator", "left"), path, errors)
    if left is None or right is None or operator not in ("and", "or"):
        return None
    return Branch("and" if operator == "and" else "or", left, right)


def filter_node(
    value: Any, tables: tuple[str, ...], path: str, errors: Details, depth: int = 0
) -> Node | None:
    """Validate a filter node (a union: leaf | branch | ``"all"``), tsoa style.

    Returns the parsed node, or None after adding one summarised error at ``path``.
    """
    if depth > MAX_FILTER_DEPTH:
        errors[path] = {
            "message": f"filter nested deeper than {MAX_FILTER_DEPTH} levels",
            "value": None,
        }
        return None
    alternatives: list[Callable[[Details], Node | None]] = [
        lambda errs: _leaf(value, tables, path, errs),
        lambda errs: _branch(value, tables, path, errs, depth),
        lambda errs: ALL_NODE if enum(value, ("all",), path, errs) else None,
    ]
    issues: list[Details] = []
    for attempt in alternatives:
        sub: Details = {}
        node = attempt(sub)
        if not sub and node is not None:
            return node
        issues.append(sub)
    summary = json.dumps(echoable(issues))
    if len(summary) > _MAX_SUMMARY_CHARS:
        summary = summary[:_MAX_SUMMARY_CHARS] + "...(cut)"
    errors[path] = {
        "message": f"Could not match the union against any of the items. Issues: {summary}",
        "value": value,
    }
    return None
