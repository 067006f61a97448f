"""Filter trees to parameterised DuckDB SQL, the way Helicone evaluates them (spec section 4.3).

A session query compiles the same tree twice:

- the WHERE form (``form="where"``) runs per request: request-level leaves are real predicates,
  session-level leaves are TRUE, except ``session_tag`` (a property of the session every request
  can see);
- the HAVING form (``form="having"``) runs per (session id, session name) group: request-level
  leaves are TRUE, session-level leaves compare the group's aggregates.

This reproduces Helicone's OR degeneration on purpose (``request OR session`` is ``x OR TRUE`` in
both forms). A request query uses ``form="request"``, where session-level leaves are refused.

Security: SQL text is built only from the fixed column tables below (keyed by the names in
:mod:`helicone_nb._wire.columns`) and fixed operator templates. Every value and every property key
is a named parameter (``$p0``, ``$p1``, ...), so parameter numbering cannot drift between the
two forms either.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from typing import Any, Literal, TypeAlias

from .._wire.columns import (
    EMPTY_SENTINEL,
    NULL_SENTINEL,
    PROPERTIES,
    PROPERTY_KEY,
    REQUEST_COLUMNS,
    REQUEST_TABLE,
    SESSION_COLUMNS,
    SESSION_TABLE,
)
from ._nodes import AllNode, Branch, Broken, Leaf, Node
from ._store import COLUMNS
from ._tsoa import HandledError

Form: TypeAlias = Literal["where", "having", "request"]

#: Request-level filter column -> SQL over the ``requests`` row alias ``r``. The store's column
#: names are Helicone's, so this is the identity on the fixed column table.
REQUEST_SQL: dict[str, str] = {name: f"r.{name}" for name in REQUEST_COLUMNS}

#: Session-level filter column -> SQL over the aggregate row alias ``g`` (see ``_engine``).
SESSION_SQL: dict[str, str] = {
    "session_session_id": "g.session_id",
    "session_session_name": "g.session_name",
    "session_total_cost": "(g.cost_nano / 1e9)",
    "session_total_tokens": "g.total_tokens",
    "session_prompt_tokens": "g.prompt_tokens",
    "session_completion_tokens": "g.completion_tokens",
    "session_total_requests": "g.total_requests",
    "session_created_at": "g.created_at",
    "session_latest_request_created_at": "g.latest_request_created_at",
    "session_tag": "g.tag",
}
#: ``session_tag`` in the WHERE form: the tag joined to each request (alias ``t``).
TAG_WHERE_SQL = "t.tag"

if set(REQUEST_SQL) - set(COLUMNS) or set(SESSION_SQL) != set(SESSION_COLUMNS):
    raise ImportError("helicone_nb.backend: the filter column tables and the store disagree")

_COMPARE = {"equals": "=", "not-equals": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_TEXT = {
    "equals": "{e} = {p}",
    "not-equals": "{e} != {p}",
    "like": "{e} LIKE {p}",
    "ilike": "{e} ILIKE {p}",
    # Helicone: case-insensitive substring, % and _ in the value are NOT escaped.
    "contains": "{e} ILIKE '%' || {p} || '%'",
    "not-contains": "{e} NOT ILIKE '%' || {p} || '%'",
}
_INT64 = (-(2**63), 2**63 - 1)


class Params:
    """Named query parameters collected while compiling."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        """Register ``value``; return its placeholder."""
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def uses_tag(node: Node) -> bool:
    """Whether the tree has a ``session_tag`` leaf (the query then joins the tags table)."""
    if isinstance(node, Branch):
        return uses_tag(node.left) or uses_tag(node.right)
    return isinstance(node, Leaf) and node.column == "session_tag"


def compile_filter(node: Node, form: Form, params: Params) -> str:
    """SQL boolean expression for ``node`` in the given form; raises :class:`HandledError`."""
    if isinstance(node, AllNode):
        return "TRUE"
    if isinstance(node, Broken):
        raise HandledError(node.message)
    if isinstance(node, Branch):
        left = compile_filter(node.left, form, params)
        right = compile_filter(node.right, form, params)
        return f"({left} {'AND' if node.operator == 'and' else 'OR'} {right})"
    return _leaf(node, form, params)


def _leaf(leaf: Leaf, form: Form, params: Params) -> str:
    if leaf.table == REQUEST_TABLE:
        if form == "having":
            return "TRUE"
        return _request_leaf(leaf, params, whole_seconds=form == "request")
    if leaf.table != SESSION_TABLE:  # the parser turns other tables into Broken nodes
        raise HandledError(f"unsupported filter table {leaf.table!r}")
    if form == "request":
        raise HandledError(
            f"session-level filters ({SESSION_TABLE}.{leaf.column}) are not supported on "
            "/v1/request/query-clickhouse by the embedded backend; filter requests by "
            "properties, e.g. the Helicone-Session-Id property"
        )
    if leaf.column == "session_tag":
        expr = TAG_WHERE_SQL if form == "where" else SESSION_SQL["session_tag"]
        return _text(expr, leaf.operator, leaf.value, params, sentinels=True)
    if form == "where":
        return "TRUE"
    return _typed(SESSION_SQL[leaf.column], SESSION_COLUMNS[leaf.column], leaf, params)


def _request_leaf(leaf: Leaf, params: Params, *, whole_seconds: bool) -> str:
    if leaf.column == PROPERTY_KEY:
        return f"map_contains(r.properties, {params.add(str(leaf.value))})"
    if leaf.column == PROPERTIES:
        # A missing key reads as '' (ClickHouse map semantics); sentinels do not apply here.
        expr = f"coalesce(r.properties[{params.add(leaf.key)}], '')"
        return _text(expr, leaf.operator, leaf.value, params, sentinels=False)
    if leaf.column == "cost":
        usd = float(leaf.value)  # type: ignore[arg-type]
        nano = math.floor(usd * 1e9)  # Helicone compares floor(value * 1e9) with nano-dollars
        nano = min(max(nano, _INT64[0]), _INT64[1])
        return f"({REQUEST_SQL['cost']} {_COMPARE[leaf.operator]} {params.add(nano)})"
    value = leaf.value
    if whole_seconds and isinstance(value, _dt.datetime):
        # The request route sends Date parameters as ClickHouse DateTime: milliseconds are cut.
        leaf = dataclasses.replace(leaf, value=value.replace(microsecond=0))
    return _typed(REQUEST_SQL[leaf.column], REQUEST_COLUMNS[leaf.column], leaf, params)


def _typed(expr: str, ctype: str, leaf: Leaf, params: Params) -> str:
    if ctype == "text":
        return _text(expr, leaf.operator, leaf.value, params, sentinels=True)
    if ctype == "boolean":
        return f"({expr} = {params.add(bool(leaf.value))})"
    return f"({expr} {_COMPARE[leaf.operator]} {params.add(leaf.value)})"


def _text(expr: str, operator: str, value: Any, params: Params, *, sentinels: bool) -> str:
    if sentinels and value == NULL_SENTINEL and operator in ("equals", "not-equals"):
        return f"({expr} IS {'' if operator == 'equals' else 'NOT '}NULL)"
    if sentinels and value == EMPTY_SENTINEL and operator == "equals":
        return f"({expr} = '')"
    return "(" + _TEXT[operator].format(e=expr, p=params.add(str(value))) + ")"
