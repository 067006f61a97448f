"""The request routes: ``/v1/request/query-clickhouse`` and ``/v1/request/count/query``.

What Helicone does (``../shared/spec/REQUEST_API.md`` sections 1-3), and how it is copied:

- Physical rows: every stored version of every request (``requests`` holds the latest,
  ``request_versions`` the older ones), as ClickHouse reads a ``ReplacingMergeTree`` without
  ``FINAL``. In quirks mode every scored request also has its unmerged first version (no
  scores yet, ``updated_at`` one second earlier): Helicone re-inserts a row to add a score, so a
  pager meets versions even on data that was never updated through this backend.
- Paging: ``LIMIT``/``OFFSET`` count physical rows. Sorting by ``created_at`` (the default, desc)
  is Helicone's shape A: the page's request ids are picked first, then every version of those
  ids within 5 minutes of the page is read back (without re-applying the filter). Any other sort
  key is shape B (one query). Then, as Helicone's ``RequestManager`` does, the page is
  deduplicated by ``request_id`` keeping the greatest ``updated_at`` (and, for ``created_at``,
  re-sorted by ``request_created_at``). A page may therefore hold fewer than ``limit`` rows, and a
  request whose versions straddle a page boundary appears on both pages.
- Ties in ``request_created_at`` come in undefined order: by ``request_id`` normally (stable
  pages), in a fresh random order on every call in quirks mode (the hard case for a pager).
- ``limit``: default 10, 0 gives ``[]``, below 0 or above 1000 a 500 ``invalid limit`` (not
  clamped); a fractional limit or offset, or a negative offset, reaches ClickHouse's SQL text
  and fails (500). ``isScored`` (if present, even false) keeps only scored (true) or unscored
  (false) requests. Rows dated more than 5 minutes after ``now`` are never returned. Time bounds
  in the filter are cut to whole seconds.
- The row: :func:`request_row`. Quirks mode gives production's JSON (64-bit integers as strings,
  the declared-but-never-sent keys left out); the default gives every key Helicone's OpenAPI
  document declares, with numbers.
- ``count/query`` counts physical rows matching the filter (no 5-minute guard); in quirks mode it
  answers 0, which is what production most likely does (it reads a column named ``count`` from a
  result whose column is ``count()``; REQUEST_API section 3).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

from ._params import RequestQuery
from ._sql import Params, compile_filter
from ._store import REQUESTS_TABLE, VERSIONS_TABLE, Store
from ._tsoa import HandledError

#: Rows dated more than this after now are invisible (``request_created_at <= now() + 5 min``).
FUTURE_GUARD = _dt.timedelta(minutes=5)
#: Shape A reads the versions of a page's ids within this much of the page's time range.
_AROUND = _dt.timedelta(minutes=5)
#: ``cache_reference_id`` of a request that was not served from Helicone's cache.
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
#: What an empty body column reads as (``if(notEmpty(x), x, ...)`` in the route's SELECT).
BODY_PLACEHOLDER = '{"helicone_message": "fetching body from signed_url... ..."}'
#: ClickHouse's answer to ``LIMIT 10.5`` or ``OFFSET -1`` in SQL text (500 envelope).
_SYNTAX_ERROR = json.dumps({"code": "62", "type": "SYNTAX_ERROR"})
#: Keys OpenAPI's ``HeliconeRequest`` declares that production never sends (quirks mode drops).
NEVER_SENT = (
    "response_model",
    "model_override",
    "helicone_user",
    "request_path",
    "prompt_audio_tokens",
    "completion_audio_tokens",
    "costUSD",
    "llmSchema",
    "feedback_id",
    "feedback_rating",
    "assets",
)

#: Sort keys of SortLeafRequest the store can serve (shape B) -> column.
_SORT_SQL = {
    "created_at": "r.request_created_at",
    "latency": "r.latency",
    "cost": "r.cost",
    "total_tokens": "(coalesce(r.prompt_tokens, 0) + coalesce(r.completion_tokens, 0))",
    "prompt_tokens": "r.prompt_tokens",
    "completion_tokens": "r.completion_tokens",
    "time_to_first_token": "r.time_to_first_token",
    "user_id": "r.user_id",
    "body_model": "r.model",
}


def _iso(column: str) -> str:
    """SQL: a timestamp column as the route's ISO text, ``2025-01-31T10:00:01.123Z``."""
    return f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%gZ')"


#: (select expression, name) of every column a HeliconeRequest row is built from.
_SELECT: tuple[tuple[str, str], ...] = (
    ("r.request_id", "request_id"),
    (_iso("r.request_created_at"), "request_created_at"),
    (_iso("r.updated_at"), "updated_at"),
    ("r.response_id", "response_id"),
    (_iso("r.response_created_at"), "response_created_at"),
    ("r.latency", "latency"),
    ("r.time_to_first_token", "time_to_first_token"),
    ("r.status", "status"),
    ("r.model", "model"),
    ("r.request_model", "request_model"),
    ("r.response_model", "response_model"),
    ("r.provider", "provider"),
    ("r.user_id", "user_id"),
    ("r.country_code", "country_code"),
    ("r.target_url", "target_url"),
    ("r.request_path", "request_path"),
    ("r.prompt_tokens", "prompt_tokens"),
    ("r.completion_tokens", "completion_tokens"),
    ("r.prompt_cache_read_tokens", "prompt_cache_read_tokens"),
    ("r.prompt_cache_write_tokens", "prompt_cache_write_tokens"),
    ("r.reasoning_tokens", "reasoning_tokens"),
    ("r.total_tokens", "total_tokens"),
    ("r.prompt_audio_tokens", "prompt_audio_tokens"),
    ("r.completion_audio_tokens", "completion_audio_tokens"),
    ("r.cost", "cost"),
    ("r.cache_enabled", "cache_enabled"),
    ("r.cache_reference_id", "cache_reference_id"),
    ("r.request_body", "request_body"),
    ("r.response_body", "response_body"),
    ("r.prompt_id", "prompt_id"),
    ("r.prompt_version", "prompt_version"),
    ("r.request_referrer", "request_referrer"),
    ("r.properties", "properties"),
    ("r.scores", "scores"),
    ("r.assets", "assets"),
    ("r.storage_location", "storage_location"),
    ("r.ai_gateway_body_mapping", "ai_gateway_body_mapping"),
    ("r.organization_id", "organization_id"),
)
SELECT_SQL = ", ".join(expr for expr, _ in _SELECT)
_NAMES = tuple(name for _, name in _SELECT)
_UPDATED = _NAMES.index("updated_at")
_ID = _NAMES.index("request_id")


def physical_rows(quirks: bool) -> str:
    """SQL of every physical row version the route reads (see the module docstring)."""
    sql = f"SELECT * FROM {REQUESTS_TABLE} UNION ALL SELECT * FROM {VERSIONS_TABLE}"
    if quirks:
        sql += (
            " UNION ALL SELECT * REPLACE (updated_at - INTERVAL 1 SECOND AS updated_at, "
            f"MAP {{}}::MAP(VARCHAR, BIGINT) AS scores) FROM {REQUESTS_TABLE} "
            "WHERE cardinality(scores) > 0"
        )
    return sql


def _body(text: str, location: str) -> Any:
    if not text:
        return BODY_PLACEHOLDER
    if location == "clickhouse":  # inline bodies are parsed into objects
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def request_row(values: Sequence[Any], quirks: bool) -> dict[str, Any]:
    """One ``HeliconeRequest`` from a row selected with :data:`SELECT_SQL` (REQUEST_API 2)."""
    v = dict(zip(_NAMES, values, strict=True))

    def big(x: Any) -> int | str | None:  # Int64 columns: JSON strings in ClickHouse output
        if x is None:
            return None
        return str(int(x)) if quirks else int(x)

    def small(x: Any) -> int | None:  # toInt32(...) columns: always numbers
        return None if x is None else int(x)

    cost = None if v["cost"] is None else int(v["cost"]) / 1e9
    properties = dict(v["properties"])
    prompt, completion = v["prompt_tokens"], v["completion_tokens"]
    location = v["storage_location"]
    row: dict[str, Any] = {
        "response_id": v["response_id"],
        "response_created_at": v["response_created_at"],
        "response_body": _body(v["response_body"], location),
        "response_status": small(v["status"]),
        "response_model": v["response_model"],
        "request_id": v["request_id"],
        "request_created_at": v["request_created_at"],
        "request_body": _body(v["request_body"], location),
        "request_path": v["request_path"],
        "request_user_id": v["user_id"],
        "request_properties": properties,
        "request_model": v["request_model"] or v["model"],
        "model_override": None,
        "helicone_user": None,
        "provider": v["provider"],
        "delay_ms": small(v["latency"]),
        "time_to_first_token": big(v["time_to_first_token"]),
        "total_tokens": big(v["total_tokens"]),
        "prompt_tokens": big(prompt),
        "prompt_cache_write_tokens": big(v["prompt_cache_write_tokens"] or 0),
        "prompt_cache_read_tokens": big(v["prompt_cache_read_tokens"] or 0),
        "completion_tokens": big(completion),
        "reasoning_tokens": big(v["reasoning_tokens"]),
        "prompt_audio_tokens": big(v["prompt_audio_tokens"]),
        "completion_audio_tokens": big(v["completion_audio_tokens"]),
        "cost": cost,
        "costUSD": cost,
        "prompt_id": v["prompt_id"],
        "prompt_version": v["prompt_version"],
        "llmSchema": None,
        "country_code": v["country_code"],
        "asset_ids": list(v["assets"]),
        "asset_urls": None,
        "scores": {key: big(value) for key, value in dict(v["scores"]).items()},
        "properties": properties,
        "assets": list(v["assets"]),
        "target_url": v["target_url"] or "",
        "model": v["model"],
        "cache_reference_id": v["cache_reference_id"] or ZERO_UUID,
        "cache_enabled": bool(v["cache_enabled"]),
        "ai_gateway_body_mapping": v["ai_gateway_body_mapping"],
        "request_referrer": v["request_referrer"] or "",
        "updated_at": v["updated_at"],
        "storage_location": location,
        "feedback_created_at": None,
    }
    if quirks:
        for key in NEVER_SENT:
            row.pop(key, None)
        if location == "s3":
            row["asset_urls"] = {}
            row["signed_body_url"] = (
                f"https://s3.helicone-nb.invalid/organizations/{v['organization_id']}/requests/"
                f"{v['cache_reference_id'] or v['request_id']}/request_response_body"
                "?X-Amz-Expires=1800"
            )
    return row


def _check_paging(q: RequestQuery) -> None:
    if q.limit < 0 or q.limit > 1000:
        raise HandledError("invalid limit")
    if q.limit != math.floor(q.limit) or q.offset != math.floor(q.offset) or q.offset < 0:
        raise HandledError(_SYNTAX_ERROR)


def _conditions(q: RequestQuery, params: Params) -> list[str]:
    conditions = [compile_filter(q.filter, "request", params)]
    if q.is_scored is not None:
        conditions.append(f"cardinality(r.scores) {'>' if q.is_scored else '='} 0")
    return conditions


def _dedup(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Keep, per request_id, the version with the greatest updated_at (at its first place)."""
    best: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        seen = best.get(row[_ID])
        if seen is None or row[_UPDATED] > seen[_UPDATED]:
            best[row[_ID]] = row
    return list(best.values())


def query_requests(
    store: Store, q: RequestQuery, *, quirks: bool, now: _dt.datetime
) -> list[dict[str, Any]]:
    """``/v1/request/query-clickhouse``: a page of HeliconeRequest rows (module docstring).

    ``now`` is naive UTC (the 5-minute future guard).
    """
    _check_paging(q)
    if q.limit == 0:
        return []
    if q.sort_key not in _SORT_SQL:
        raise HandledError(
            f"sorting requests by {q.sort_key!r} is not supported by the embedded backend; "
            f"use one of {', '.join(_SORT_SQL)}"
        )
    params = Params()
    conditions = _conditions(q, params)
    conditions.append(f"r.request_created_at <= {params.add(now + FUTURE_GUARD)}")
    where = " AND ".join(conditions)
    direction = "ASC" if q.sort_direction == "asc" else "DESC"
    tie = (
        f"hash(r.request_id, {params.add(secrets.randbits(32))})"
        if quirks
        else f"r.request_id {direction}"
    )
    page = f"LIMIT {params.add(int(q.limit))} OFFSET {params.add(int(q.offset))}"
    phys = physical_rows(quirks)
    top: list[tuple[Any, ...]] = []
    if q.sort_key == "created_at":  # shape A: pick the page's ids, then read their versions
        top = store.execute(
            f"""
            SELECT r.request_id, r.request_created_at FROM ({phys}) r WHERE {where}
            ORDER BY r.request_created_at {direction}, {tie} {page}
            """,
            params.values,
        ).fetchall()
        if not top:
            return []
        stamps = [created for _, created in top]
        params = Params()
        sql = f"""
            SELECT {SELECT_SQL} FROM ({phys}) r
            WHERE r.request_created_at >= {params.add(min(stamps) - _AROUND)}
              AND r.request_created_at <= {params.add(max(stamps) + _AROUND)}
              AND r.request_id IN (SELECT unnest({params.add([i for i, _ in top])}::VARCHAR[]))
            ORDER BY r.request_created_at {direction}
        """
    else:  # shape B
        sql = f"""
            SELECT {SELECT_SQL} FROM ({phys}) r WHERE {where}
            ORDER BY {_SORT_SQL[q.sort_key]} {direction} NULLS LAST, {tie} {page}
        """
    rows = store.execute(sql, params.values).fetchall()
    if top:  # shape A: the order the ids were picked in, ties included (RequestManager's stable
        # re-sort by request_created_at leaves that order as it is)
        picked = {request_id: n for n, (request_id, _) in enumerate(top)}
        rows.sort(key=lambda r: picked[r[_ID]])
    return [request_row(row, quirks) for row in _dedup(rows)]


def count_requests(store: Store, q: RequestQuery, *, quirks: bool) -> int:
    """``/v1/request/count/query``: physical rows matching the filter (quirks: 0)."""
    params = Params()
    where = " AND ".join(_conditions(q, params))  # a bad filter fails in quirks mode too
    if quirks:
        return 0
    row = store.execute(
        f"SELECT count(*) FROM ({physical_rows(quirks)}) r WHERE {where}", params.values
    ).fetchone()
    return int(row[0]) if row else 0


def iter_request_rows(
    store: Store, *, quirks: bool, batch: int = 10_000
) -> Iterator[dict[str, Any]]:
    """Every stored request (its latest version) as a HeliconeRequest row, oldest first."""
    cur = store.cursor().cursor()  # a private cursor: the caller may query while iterating
    try:
        cur.execute(
            f"SELECT {SELECT_SQL} FROM {REQUESTS_TABLE} r "
            "ORDER BY r.request_created_at, r.request_id"
        )
        while rows := cur.fetchmany(batch):
            for row in rows:
                yield request_row(row, quirks)
    finally:
        cur.close()
