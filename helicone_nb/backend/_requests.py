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
from collections.abc import Iterator

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


def _body_sql(column: str) -> str:
    """SQL: a body column as JSON: inline bodies parsed, empty ones the placeholder text."""
    return (
        f"json(CASE WHEN r.storage_location = 'clickhouse' AND json_valid({column}) "
        f"THEN {column} ELSE to_json(coalesce(nullif({column}, ''), "
        f"{_literal(BODY_PLACEHOLDER)})) END)"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def row_json_sql(quirks: bool) -> str:
    """SQL (over the physical row alias ``r``) giving one ``HeliconeRequest`` as JSON text.

    REQUEST_API section 2: ``total_tokens`` is prompt + completion + reasoning (the store's
    column), ``cost`` USD, ``toInt32`` columns (status, latency) are always numbers; in quirks
    mode Int64 columns and score values are strings, the keys production never sends are left
    out, and S3 rows carry ``asset_urls`` and a ``signed_body_url``.
    """

    def big(expr: str) -> str:  # Int64 columns: JSON strings in ClickHouse output
        return f"CAST({expr} AS VARCHAR)" if quirks else expr

    scores = (
        "map_from_entries(list_transform(map_entries(r.scores), "
        "lambda e: {'k': e.key, 'v': CAST(e.value AS VARCHAR)}))"
        if quirks
        else "r.scores"
    )
    fields: list[tuple[str, str]] = [
        ("response_id", "r.response_id"),
        ("response_created_at", _iso("r.response_created_at")),
        ("response_body", _body_sql("r.response_body")),
        ("response_status", "r.status"),
        ("response_model", "r.response_model"),
        ("request_id", "r.request_id"),
        ("request_created_at", _iso("r.request_created_at")),
        ("request_body", _body_sql("r.request_body")),
        ("request_path", "r.request_path"),
        ("request_user_id", "r.user_id"),
        ("request_properties", "r.properties"),
        ("request_model", "coalesce(nullif(r.request_model, ''), r.model)"),
        ("model_override", "NULL::VARCHAR"),
        ("helicone_user", "NULL::VARCHAR"),
        ("provider", "r.provider"),
        ("delay_ms", "r.latency"),
        ("time_to_first_token", big("r.time_to_first_token")),
        ("total_tokens", big("r.total_tokens")),
        ("prompt_tokens", big("r.prompt_tokens")),
        ("prompt_cache_write_tokens", big("coalesce(r.prompt_cache_write_tokens, 0)")),
        ("prompt_cache_read_tokens", big("coalesce(r.prompt_cache_read_tokens, 0)")),
        ("completion_tokens", big("r.completion_tokens")),
        ("reasoning_tokens", big("r.reasoning_tokens")),
        ("prompt_audio_tokens", big("r.prompt_audio_tokens")),
        ("completion_audio_tokens", big("r.completion_audio_tokens")),
        ("cost", "r.cost / 1e9"),
        ("costUSD", "r.cost / 1e9"),
        ("prompt_id", "r.prompt_id"),
        ("prompt_version", "r.prompt_version"),
        ("llmSchema", "NULL::VARCHAR"),
        ("country_code", "r.country_code"),
        ("asset_ids", "r.assets"),
        (
            "asset_urls",
            "CASE WHEN r.storage_location = 's3' THEN MAP {}::MAP(VARCHAR, VARCHAR) END"
            if quirks
            else "NULL::MAP(VARCHAR, VARCHAR)",
        ),
        ("scores", scores),
        ("properties", "r.properties"),
        ("assets", "r.assets"),
        ("target_url", "coalesce(r.target_url, '')"),
        ("model", "r.model"),
        ("cache_reference_id", f"coalesce(r.cache_reference_id, {_literal(ZERO_UUID)})"),
        ("cache_enabled", "r.cache_enabled"),
        ("ai_gateway_body_mapping", "r.ai_gateway_body_mapping"),
        ("request_referrer", "coalesce(r.request_referrer, '')"),
        ("updated_at", _iso("r.updated_at")),
        ("storage_location", "r.storage_location"),
        ("feedback_created_at", "NULL::VARCHAR"),
    ]
    if quirks:
        fields = [(k, v) for k, v in fields if k not in NEVER_SENT]
        fields.append(
            (
                "signed_body_url",
                "CASE WHEN r.storage_location = 's3' THEN "
                "'https://s3.helicone-nb.invalid/organizations/' || r.organization_id || "
                "'/requests/' || coalesce(r.cache_reference_id, r.request_id) || "
                "'/request_response_body?X-Amz-Expires=1800' END",
            )
        )
    struct = ", ".join(f"{_literal(k)}: {v}" for k, v in fields)
    sql = f"to_json({{{struct}}})"
    if quirks:  # absent, not null: the keys of undefined values vanish from production's JSON
        sql = f"regexp_replace({sql}, ',\"(asset_urls|signed_body_url)\":null', '', 'g')"
    return sql


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


def _dedup(rows: list[tuple[str, str, str]]) -> list[str]:
    """``(json, request_id, updated_at)`` rows -> the JSON of the version with the greatest
    ``updated_at`` per request, at the request's first place."""
    best: dict[str, tuple[str, str, str]] = {}
    for row in rows:
        seen = best.get(row[1])
        if seen is None or row[2] > seen[2]:
            best[row[1]] = row
    return [row[0] for row in best.values()]


def query_requests(store: Store, q: RequestQuery, *, quirks: bool, now: _dt.datetime) -> list[str]:
    """``/v1/request/query-clickhouse``: a page of HeliconeRequest rows, each as JSON text.

    See the module docstring; ``now`` is naive UTC (the 5-minute future guard).
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
    row = f"{row_json_sql(quirks)}, r.request_id, {_iso('r.updated_at')}"
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
        picked = list(dict.fromkeys(request_id for request_id, _ in top))
        stamps = [created for _, created in top]
        params = Params()
        # in the order the ids were picked, ties included (RequestManager's stable re-sort by
        # request_created_at leaves that order as it is)
        sql = f"""
            SELECT {row} FROM ({phys}) r
            JOIN (SELECT unnest({params.add(picked)}::VARCHAR[]) AS id,
                         unnest(range({len(picked)})) AS n) p ON p.id = r.request_id
            WHERE r.request_created_at >= {params.add(min(stamps) - _AROUND)}
              AND r.request_created_at <= {params.add(max(stamps) + _AROUND)}
            ORDER BY p.n
        """
    else:  # shape B
        sql = f"""
            SELECT {row} FROM ({phys}) r WHERE {where}
            ORDER BY {_SORT_SQL[q.sort_key]} {direction} NULLS LAST, {tie} {page}
        """
    return _dedup(store.execute(sql, params.values).fetchall())


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


def iter_request_rows(store: Store, *, quirks: bool, batch: int = 10_000) -> Iterator[str]:
    """Every stored request (its latest version) as HeliconeRequest JSON text, oldest first."""
    cur = store.cursor().cursor()  # a private cursor: the caller may query while iterating
    try:
        cur.execute(
            f"SELECT {row_json_sql(quirks)} FROM {REQUESTS_TABLE} r "
            "ORDER BY r.request_created_at, r.request_id"
        )
        while rows := cur.fetchmany(batch):
            for (text,) in rows:
                yield text
    finally:
        cur.close()
