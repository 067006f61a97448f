"""Request bodies as Helicone's server reads them: 422 validation, then typed, clamped values.

One function per endpoint (:func:`session_query`, :func:`name_query`, :func:`request_query`,
:func:`tag_body`) parses the raw body, validates it field by field the way tsoa does (``_tsoa``
for scalars, ``_nodes`` for filter trees; unknown keys and missing required fields are 422) and
applies Helicone's clamping rules (spec section 2), giving a frozen dataclass the engine runs.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import Any, TypeAlias

from ._nodes import ALL_NODE, REQUEST_TABLES, SESSION_TABLES, Node, filter_node
from ._tsoa import (
    MISSING,
    Details,
    HandledError,
    ValidationFailed,
    boolean,
    enum,
    excess,
    json_object,
    number,
    parse_json,
    string,
)

# --------------------------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------------------------

Kind: TypeAlias = str  # "string" | "number" | "boolean" | "timeFilter" | "sessionFilter" | ...


def _time_filter(value: Any, path: str, errors: Details) -> tuple[float, float] | None:
    obj = json_object(value, path, errors)
    if obj is None:
        return None
    bounds = {}
    for key in ("startTimeUnixMs", "endTimeUnixMs"):
        if key not in obj or obj[key] is None:
            errors[f"{path}.{key}"] = {"message": f"'{key}' is required"}
        else:
            bounds[key] = number(obj[key], f"{path}.{key}", errors)
    excess(obj, ("startTimeUnixMs", "endTimeUnixMs"), path, errors)
    start, end = bounds.get("startTimeUnixMs"), bounds.get("endTimeUnixMs")
    if start is None or end is None:
        return None
    return start, end


_SORT_DIRECTIONS = ("asc", "desc")
_SORT_KEYS = (
    "random",
    "created_at",
    "cache_created_at",
    "latency",
    "last_active",
    "total_tokens",
    "completion_tokens",
    "prompt_tokens",
    "user_id",
    "body_model",
    "is_cached",
    "request_prompt",
    "response_text",
    "properties",
    "values",
    "cost",
    "time_to_first_token",
)


def _sort(value: Any, path: str, errors: Details) -> tuple[str, str] | None:
    """SortLeafRequest; returns the first (key, direction)."""
    obj = json_object(value, path, errors)
    if obj is None:
        return None
    chosen: dict[str, tuple[str, str]] = {}
    for key in _SORT_KEYS:
        if key not in obj or obj[key] is None:
            continue
        where = f"{path}.{key}"
        if key == "random":
            if obj[key] is not True:
                errors[where] = {
                    "message": "should be one of the following; [true]",
                    "value": obj[key],
                }
            chosen[key] = (key, "random")
        elif key in ("properties", "values"):
            record = json_object(obj[key], where, errors)
            for name, direction in (record or {}).items():
                enum(direction, _SORT_DIRECTIONS, f"{where}.{name}", errors)
            chosen[key] = (key, "")
        else:
            direction = enum(obj[key], _SORT_DIRECTIONS, where, errors)
            chosen[key] = (key, direction or "")
    excess(obj, _SORT_KEYS, path, errors)
    first = next((k for k in obj if k in chosen), None)
    return chosen[first] if first else ("created_at", "desc")


def _validate_body(
    body: Any, fields: tuple[tuple[str, Kind, bool], ...], tables: tuple[str, ...]
) -> dict[str, Any]:
    """Validate a JSON body against a field list; raise :class:`ValidationFailed`."""
    errors: Details = {}
    if body is MISSING:
        raise ValidationFailed({"requestBody": {"message": "'requestBody' is required"}})
    obj = json_object(body, "requestBody", errors)
    if obj is None:
        raise ValidationFailed(errors)
    out: dict[str, Any] = {}
    for name, kind, required in fields:
        path = f"requestBody.{name}"
        if name not in obj or obj[name] is None:
            if required:
                errors[path] = {"message": f"'{name}' is required"}
            continue
        raw = obj[name]
        if kind == "string":
            out[name] = string(raw, path, errors)
        elif kind == "number":
            out[name] = number(raw, path, errors)
        elif kind == "boolean":
            out[name] = boolean(raw, path, errors)
        elif kind == "timeFilter":
            out[name] = _time_filter(raw, path, errors)
        elif kind == "filter":
            out[name] = filter_node(raw, tables, path, errors)
        elif kind == "sort":
            out[name] = _sort(raw, path, errors)
        elif kind == "scores":
            out[name] = _scores(raw, path, errors)
        elif kind.startswith("enum:"):
            out[name] = enum(raw, tuple(kind[5:].split(",")), path, errors)
        else:  # pragma: no cover - the field tables below are fixed
            raise AssertionError(kind)
    excess(obj, [f[0] for f in fields], "requestBody", errors)
    if errors:
        raise ValidationFailed(errors)
    return out


# --------------------------------------------------------------------------------------------
# Typed parameters per endpoint
# --------------------------------------------------------------------------------------------

_MAX_OFFSET = 2**62
_MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z
_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


def _seconds(ms: float) -> _dt.datetime:
    """Epoch milliseconds -> naive UTC datetime truncated to whole seconds (clamped)."""
    seconds = min(max(math.floor(ms / 1000), _MIN_SECONDS), _MAX_SECONDS)
    return _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=seconds)


def clamp_offset(offset: float | None) -> int:
    """Helicone's offset rule: default 0, negative -> 0, fractions floored."""
    if offset is None:
        return 0
    return int(min(max(math.floor(offset), 0), _MAX_OFFSET))


def clamp_limit(limit: float | None, default: int, maximum: int = 1000) -> int:
    """Helicone's limit rule: default, 0 -> default, ``min(floor, maximum)``, negative -> 0 rows."""
    if limit is None:
        return default
    value = math.floor(limit)
    if value == 0:
        return default
    if value < 0:
        return 0
    return int(min(value, maximum))


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """A validated ``SessionQueryParams`` body, clamped (``/v1/session/query`` and ``/count``)."""

    search: str
    start: _dt.datetime  # exclusive, whole seconds, naive UTC
    end: _dt.datetime  # exclusive, whole seconds, naive UTC
    name_equals: str
    tz_minutes: float
    filter: Node
    offset: int
    limit: int


_SESSION_QUERY_FIELDS: tuple[tuple[str, Kind, bool], ...] = (
    ("search", "string", True),
    ("timeFilter", "timeFilter", True),
    ("nameEquals", "string", False),
    ("timezoneDifference", "number", True),
    ("filter", "filter", True),
    ("offset", "number", False),
    ("limit", "number", False),
)


def check_timezone(minutes: float) -> float:
    """Helicone accepts -1440..1440 minutes; anything else is a 500 with this message."""
    if not -1440 <= minutes <= 1440:
        raise HandledError("Invalid timezone difference")
    return minutes


def session_query(body: bytes) -> SessionQuery:
    """Parse and validate a ``/v1/session/query`` (or ``/count``) body."""
    v = _validate_body(parse_json(body), _SESSION_QUERY_FIELDS, SESSION_TABLES)
    start_ms, end_ms = v["timeFilter"]
    return SessionQuery(
        search=v["search"],
        start=_seconds(start_ms),
        end=_seconds(end_ms),
        name_equals=v.get("nameEquals") or "",
        tz_minutes=check_timezone(v["timezoneDifference"]),
        filter=v["filter"],
        offset=clamp_offset(v.get("offset")),
        limit=clamp_limit(v.get("limit"), 50),
    )


@dataclass(frozen=True, slots=True)
class NameQuery:
    """A validated ``SessionNameQueryParams`` body."""

    name_contains: str
    tz_minutes: float
    start: _dt.datetime | None
    end: _dt.datetime | None
    filter: Node


_NAME_QUERY_FIELDS: tuple[tuple[str, Kind, bool], ...] = (
    ("nameContains", "string", True),
    ("timezoneDifference", "number", True),
    ("pSize", "enum:p50,p75,p95,p99,p99.9", False),
    ("useInterquartile", "boolean", False),
    ("timeFilter", "timeFilter", False),
    ("filter", "filter", False),
)


def name_query(body: bytes) -> NameQuery:
    """Parse and validate a ``/v1/session/name/query`` body."""
    v = _validate_body(parse_json(body), _NAME_QUERY_FIELDS, SESSION_TABLES)
    window = v.get("timeFilter")
    return NameQuery(
        name_contains=v["nameContains"],
        tz_minutes=check_timezone(v["timezoneDifference"]),
        start=_seconds(window[0]) if window else None,
        end=_seconds(window[1]) if window else None,
        filter=v.get("filter") or ALL_NODE,
    )


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """A validated ``RequestQueryParams`` body (``/v1/request/query-clickhouse``, ``count/query``).

    ``offset`` and ``limit`` are as sent (the route checks them: REQUEST_API section 1.2);
    ``is_scored`` is None when the body has no ``isScored``.
    """

    filter: Node
    offset: float
    limit: float
    sort_key: str
    sort_direction: str
    is_scored: bool | None


_REQUEST_QUERY_FIELDS: tuple[tuple[str, Kind, bool], ...] = (
    ("filter", "filter", True),
    ("offset", "number", False),
    ("limit", "number", False),
    ("sort", "sort", False),
    ("isCached", "boolean", False),
    ("includeInputs", "boolean", False),
    ("isPartOfExperiment", "boolean", False),
    ("isScored", "boolean", False),
)


def request_query(body: bytes) -> RequestQuery:
    """Parse and validate a ``/v1/request/query-clickhouse`` (or ``count/query``) body."""
    v = _validate_body(parse_json(body), _REQUEST_QUERY_FIELDS, REQUEST_TABLES)
    sort_key, direction = v.get("sort") or ("created_at", "desc")
    offset, limit = v.get("offset"), v.get("limit")
    return RequestQuery(
        filter=v["filter"],
        offset=0.0 if offset is None else offset,
        limit=10.0 if limit is None else limit,
        sort_key=sort_key,
        sort_direction=direction,
        is_scored=v.get("isScored"),
    )


def update_body(kind: str, body: bytes) -> dict[str, Any]:
    """The body of a request update route, as :meth:`Backend.update_request` keywords.

    ``score``: ``{"scores": {key: number | boolean}}``; ``feedback``: ``{"rating": boolean}``;
    ``property`` (PUT): ``{"key": str, "value": str}``.
    """
    raw = parse_json(body)
    if kind == "feedback":
        v = _validate_body(raw, (("rating", "boolean", True),), ())
        return {"feedback": bool(v["rating"])}
    if kind == "property":
        v = _validate_body(raw, (("key", "string", True), ("value", "string", True)), ())
        return {"properties": {v["key"]: v["value"]}}
    v = _validate_body(raw, (("scores", "scores", True),), ())
    return {"scores": v["scores"]}


def _scores(value: Any, path: str, errors: Details) -> dict[str, int | bool] | None:
    """``Record<string, number | boolean>``: booleans stay booleans, numbers are rounded."""
    record = json_object(value, path, errors)
    if record is None:
        return None
    out: dict[str, int | bool] = {}
    for key, item in record.items():
        if item is None:
            continue
        if isinstance(item, bool):
            out[key] = item
            continue
        n = number(item, f"{path}.{key}", errors)
        if n is not None:
            out[key] = round(n)
    return out


def tag_body(body: bytes) -> str:
    """The ``{"tag": str}`` body of ``POST /v1/session/{id}/tag``."""
    v = _validate_body(parse_json(body), (("tag", "string", True),), ())
    return str(v["tag"])
