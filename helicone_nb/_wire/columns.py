"""The column catalog of Helicone's filter language (spec sections 4.1 and 4.2): tables, column
types and the operators each type accepts.

This is the single source of truth for the filter builder, the wire parser, the widgets and the
embedded backend. No I/O.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal, TypeAlias

from .._errors import FilterError

REQUEST_TABLE = "request_response_rmt"
SESSION_TABLE = "sessions_request_response_rmt"

ColumnType: TypeAlias = Literal["text", "number", "timestamp", "boolean"]
Level: TypeAlias = Literal["request", "session"]

TEXT_OPS = ("equals", "not-equals", "like", "ilike", "contains", "not-contains")
NUMBER_OPS = ("equals", "not-equals", "gt", "gte", "lt", "lte")
TIMESTAMP_OPS = ("equals", "gt", "gte", "lt", "lte")
BOOLEAN_OPS = ("equals",)
OPERATORS: dict[ColumnType, tuple[str, ...]] = {
    "text": TEXT_OPS,
    "number": NUMBER_OPS,
    "timestamp": TIMESTAMP_OPS,
    "boolean": BOOLEAN_OPS,
}

#: Request-level columns (table ``request_response_rmt``), spec 4.1, plus the few extra plain
#: columns Helicone's OpenAPI file lists for that table. ``properties`` and ``property_key`` are
#: handled separately (map lookup and key presence).
REQUEST_COLUMNS: dict[str, ColumnType] = {
    "request_id": "text",
    "organization_id": "text",
    "cache_reference_id": "text",
    "request_created_at": "timestamp",
    "response_created_at": "timestamp",
    "latency": "number",
    "time_to_first_token": "number",
    "status": "number",
    "model": "text",
    "provider": "text",
    "user_id": "text",
    "country_code": "text",
    "target_url": "text",
    "prompt_tokens": "number",
    "completion_tokens": "number",
    "prompt_cache_read_tokens": "number",
    "prompt_cache_write_tokens": "number",
    "total_tokens": "number",
    "cost": "number",
    "threat": "boolean",
    "cache_enabled": "boolean",
    "is_passthrough_billing": "boolean",
    "cached": "boolean",
    "request_body": "text",
    "response_body": "text",
    "prompt_id": "text",
    "prompt_version": "text",
    "request_referrer": "text",
    "node_id": "text",
    "job_id": "text",
}

#: Session-level columns (table ``sessions_request_response_rmt``), spec 4.2.
SESSION_COLUMNS: dict[str, ColumnType] = {
    "session_session_id": "text",
    "session_session_name": "text",
    "session_total_cost": "number",
    "session_total_tokens": "number",
    "session_prompt_tokens": "number",
    "session_completion_tokens": "number",
    "session_total_requests": "number",
    "session_created_at": "timestamp",
    "session_latest_request_created_at": "timestamp",
    "session_tag": "text",
}

#: Units a user should know about when typing a value.
COLUMN_UNITS: dict[str, str] = {
    "cost": "USD",
    "session_total_cost": "USD",
    "latency": "ms",
    "time_to_first_token": "ms",
}

PROPERTIES = "properties"
PROPERTY_KEY = "property_key"
NULL_SENTINEL = "null"
EMPTY_SENTINEL = "__empty__"

Value: TypeAlias = str | int | float | bool | _dt.datetime | _dt.date


def column_type(table: str, column: str) -> ColumnType:
    """Type of a plain column, or raise :class:`FilterError` naming the valid ones."""
    if table == REQUEST_TABLE:
        if column in (PROPERTIES, PROPERTY_KEY):
            return "text"
        if column in REQUEST_COLUMNS:
            return REQUEST_COLUMNS[column]
        raise FilterError(
            f"unknown request-level column {column!r}. Valid columns: "
            f"{', '.join(sorted(REQUEST_COLUMNS))}, plus 'properties' (use prop(key)) and "
            "'property_key' (use has_prop(key))."
            + (
                f" {column!r} is a session-level column: "
                f"use session.{column.removeprefix('session_')}."
                if column in SESSION_COLUMNS
                or ("session_" + column in SESSION_COLUMNS and column not in REQUEST_COLUMNS)
                else did_you_mean(column, list(REQUEST_COLUMNS))
            )
        )
    if table == SESSION_TABLE:
        if column in SESSION_COLUMNS:
            return SESSION_COLUMNS[column]
        raise FilterError(
            f"unknown session-level column {column!r}. Valid columns: "
            f"{', '.join(sorted(SESSION_COLUMNS))} (session.<name> drops the 'session_' prefix)."
            + (
                f" {column!r} is a request-level column: use request.{column}."
                if column in REQUEST_COLUMNS
                else did_you_mean(column, [*SESSION_COLUMNS, *(c[8:] for c in SESSION_COLUMNS)])
            )
        )
    raise FilterError(
        f"unknown filter table {table!r}: a session filter leaf must be keyed by "
        f"{REQUEST_TABLE!r} (request-level) or {SESSION_TABLE!r} (session-level)."
    )


def did_you_mean(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""
