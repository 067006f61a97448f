"""The session queries the embedded backend answers, over a :class:`~._store.Store`.

(The request routes are ``_requests``.)

Each function takes validated parameters (see ``_params``) and returns plain JSON-ready Python
values in Helicone's shapes. ``quirks=True`` gives production Helicone's variants: 64-bit counts
as JSON strings and timestamps as ClickHouse text (``"2025-01-31 10:00:01.123"``); the default
gives numbers and ISO-8601 ``...Z`` timestamps with milliseconds.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ._params import NameQuery, SessionQuery
from ._sql import Params, compile_filter, uses_tag
from ._store import SESSION_NAME_KEY, Store

_EPOCH = _dt.datetime(1970, 1, 1)
#: Window used by /v1/session/name/query when the body has no timeFilter, ending at the newest
#: stored request (Helicone uses the last 150 days before now; the store may hold old exports).
NAME_QUERY_DAYS = 150
NAME_QUERY_LIMIT = 50


def format_timestamp(epoch_ms: int, quirks: bool) -> str:
    """``2025-01-31T10:00:01.123Z``, or ClickHouse text ``2025-01-31 10:00:01.123`` (quirks)."""
    t = _EPOCH + _dt.timedelta(milliseconds=epoch_ms)
    text = (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}{' ' if quirks else 'T'}"
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond // 1000:03d}"
    )
    return text if quirks else text + "Z"


def format_timestamps(epoch_ms: Sequence[int], quirks: bool) -> list[str]:
    """:func:`format_timestamp` for many values at once (vectorised with numpy)."""
    import numpy as np

    if not epoch_ms:
        return []
    text = np.datetime_as_string(np.array(epoch_ms, dtype="int64").astype("datetime64[ms]"))
    if quirks:
        return [t.replace("T", " ") for t in text.tolist()]
    return [t + "Z" for t in text.tolist()]


def _count(value: int, quirks: bool) -> int | str:
    return str(value) if quirks else value


def _shift(tz_minutes: float) -> _dt.timedelta:
    return _dt.timedelta(minutes=tz_minutes)


def _session_groups(q: SessionQuery, params: Params) -> tuple[str, str]:
    """The ``WITH g AS (...)`` clause (one row per (session id, name) pair) and the HAVING form.

    Steps 1-3 of spec 4.3: requests with a session id, the strict per-request window, the WHERE
    form of the filter, nameEquals and search; grouped by (session id, session name).
    """
    where = compile_filter(q.filter, "where", params)
    having = compile_filter(q.filter, "having", params)
    tagged = uses_tag(q.filter)
    conditions = [
        "r.session_id IS NOT NULL",
        f"r.request_created_at > {params.add(q.start)}",
        f"r.request_created_at < {params.add(q.end)}",
        where,
    ]
    if q.name_equals:
        conditions.append(f"r.session_name = {params.add(q.name_equals)}")
    if q.search:
        pattern = params.add(f"%{q.search}%")  # % and _ in search act as wildcards, like Helicone
        conditions.append(f"(r.session_id ILIKE {pattern} OR r.session_name ILIKE {pattern})")
    shift = params.add(_shift(q.tz_minutes))
    sql = f"""
        WITH g AS (
            SELECT r.session_id,
                   r.session_name,
                   min(r.request_created_at) + {shift} AS created_at,
                   max(r.request_created_at) + {shift} AS latest_request_created_at,
                   coalesce(sum(r.cost), 0) AS cost_nano,
                   count(*) AS total_requests,
                   coalesce(sum(r.prompt_tokens), 0) AS prompt_tokens,
                   coalesce(sum(r.completion_tokens), 0) AS completion_tokens,
                   coalesce(sum(r.prompt_tokens), 0) + coalesce(sum(r.completion_tokens), 0)
                       AS total_tokens,
                   avg(r.latency) AS avg_latency,
                   coalesce(sum(r.latency), 0) AS total_latency,
                   list(DISTINCT r.user_id) AS user_ids
                   {", any_value(t.tag) AS tag" if tagged else ""}
            FROM requests r
            {"LEFT JOIN session_tags t ON t.session_id = r.session_id" if tagged else ""}
            WHERE {" AND ".join(conditions)}
            GROUP BY r.session_id, r.session_name
        )
    """
    return sql, having


class ResultCache:
    """The sorted session rows of recent queries, so paging does not re-aggregate per page.

    A pager asks the same query many times with growing offsets; Helicone recomputes the
    aggregation for each page, which on this 2-core stand-in would make server CPU, not the
    client's paging, the bottleneck. Entries are keyed by the query without offset/limit and
    by the store's write version, so a write is never hidden. Concurrent requests for the same
    query wait for one computation.
    """

    def __init__(self, max_entries: int = 4, max_rows: int = 2_000_000) -> None:
        self.max_entries = max_entries
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get_or_compute(
        self, key: Hashable, compute: Callable[[], Any], size: Callable[[Any], int] = len
    ) -> Any:
        """The value for ``key``; ``compute()`` runs once for concurrent callers."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]
            rows = compute()
            with self._lock:
                if size(rows) <= self.max_rows:
                    self._entries[key] = rows
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
                self._computing.pop(key, None)
            return rows


_SESSION_COLUMNS_SQL = """
        SELECT session_id, session_name, epoch_ms(created_at), epoch_ms(latest_request_created_at),
               cost_nano::BIGINT, total_requests, prompt_tokens::BIGINT,
               completion_tokens::BIGINT, total_tokens::BIGINT, avg_latency, user_ids,
               total_latency::DOUBLE
        FROM g
        WHERE {having}
        ORDER BY created_at DESC, session_id, session_name
"""


def _session_sql(q: SessionQuery, params: Params) -> str:
    groups, having = _session_groups(q, params)
    return groups + _SESSION_COLUMNS_SQL.format(having=having)


def _session_page(store: Store, q: SessionQuery) -> list[tuple[Any, ...]]:
    params = Params()
    sql = _session_sql(q, params)
    sql += f" LIMIT {params.add(q.limit)} OFFSET {params.add(q.offset)}"
    return store.execute(sql, params.values).fetchall()


def _session_columns(store: Store, q: SessionQuery) -> list[Any]:
    """Every sorted row of ``q`` as numpy columns (3x cheaper to fetch than Python rows)."""
    params = Params()
    return list(store.execute(_session_sql(q, params), params.values).fetchnumpy().values())


def _slice_rows(columns: list[Any], offset: int, limit: int) -> list[tuple[Any, ...]]:
    return list(zip(*(col[offset : offset + limit].tolist() for col in columns), strict=True))


def _cached_columns(store: Store, q: SessionQuery, cache: ResultCache | None) -> list[Any] | None:
    """Every sorted row of ``q`` (offset/limit ignored) as columns, computed once."""
    if cache is None:
        return None
    key: Hashable = (store.version, dataclasses.replace(q, offset=0, limit=0))
    try:
        hash(key)
    except TypeError:
        return None
    columns: list[Any] = cache.get_or_compute(
        key, lambda: _session_columns(store, q), size=lambda cols: len(cols[0]) if cols else 0
    )
    return columns


def query_sessions(
    store: Store, q: SessionQuery, *, quirks: bool, cache: ResultCache | None = None
) -> list[dict[str, Any]]:
    """``/v1/session/query``: SessionResult rows, ``created_at`` DESC, ties by session id.

    The first page is a LIMIT query (fast for one-page questions); later pages of the same
    query slice one cached, fully sorted result when ``cache`` is given.
    """
    if q.limit == 0:  # a negative limit: Helicone returns no rows
        return []
    columns = _cached_columns(store, q, cache) if q.offset > 0 else None
    if columns is not None:
        rows = _slice_rows(columns, q.offset, q.limit)
    else:
        rows = _session_page(store, q)
    firsts = format_timestamps([row[2] for row in rows], quirks)
    lasts = format_timestamps([row[3] for row in rows], quirks)
    return [
        {
            "session_id": sid,
            "session_name": name,
            "created_at": first,
            "latest_request_created_at": last,
            "total_cost": int(cost) / 1e9,
            "total_requests": _count(int(n), quirks),
            "prompt_tokens": int(prompt),
            "completion_tokens": int(completion),
            "total_tokens": int(total),
            "avg_latency": float(avg) if avg is not None else 0.0,
            "user_ids": sorted(users),  # a list, or an array from a cached column
        }
        for (
            sid,
            name,
            created,
            latest,
            cost,
            n,
            prompt,
            completion,
            total,
            avg,
            users,
            _,
        ), first, last in zip(rows, firsts, lasts, strict=True)
    ]


def count_sessions(
    store: Store, q: SessionQuery, *, quirks: bool, cache: ResultCache | None = None
) -> dict[str, Any]:
    """``/v1/session/count``: totals over every matching session (offset/limit ignored).

    ``avg_latency`` is Helicone's: the total latency of a session, averaged over sessions.
    With ``cache``, the totals come from the same cached rows the later pages slice (a pager
    asks for the count beside its first pages, so the aggregation runs once).
    """
    columns = _cached_columns(store, q, cache)
    if columns is not None:
        cost, requests, latency = columns[4], columns[5], columns[11]
        return _totals(len(cost), int(cost.sum()), int(latency.sum()), int(requests.sum()), quirks)
    params = Params()
    groups, having = _session_groups(q, params)
    sql = f"""
        {groups}
        SELECT count(*), coalesce(sum(cost_nano), 0), coalesce(sum(total_latency), 0),
               coalesce(sum(total_requests), 0)
        FROM g
        WHERE {having}
    """
    row = store.execute(sql, params.values).fetchone()
    assert row is not None
    count, cost_nano, latency, requests = (int(x) for x in row)
    return _totals(count, cost_nano, latency, requests, quirks)


def _totals(
    count: int, cost_nano: int, latency: int, requests: int, quirks: bool
) -> dict[str, Any]:
    total_cost = cost_nano / 1e9
    return {
        "count": _count(count, quirks),
        "total_cost": total_cost,
        "avg_cost": total_cost / count if count else 0.0,
        "avg_latency": latency / count if count else 0.0,
        "avg_requests": requests / count if count else 0.0,
    }


def query_names(store: Store, q: NameQuery, *, quirks: bool) -> list[dict[str, Any]]:
    """``/v1/session/name/query``: up to 50 session names containing ``nameContains``.

    Only requests with a non-empty ``Helicone-Session-Name`` count. The filter's WHERE form
    applies (session-level aggregate conditions do not apply to a name and count as TRUE).
    Without a ``timeFilter`` the window is the :data:`NAME_QUERY_DAYS` days up to the newest
    stored request. Rows are ordered by ``last_used`` DESC, then name (Helicone: unordered).
    """
    params = Params()
    where = compile_filter(q.filter, "where", params)
    tagged = uses_tag(q.filter)
    start, end = q.start, q.end
    if start is None or end is None:
        row = store.execute("SELECT max(request_created_at) FROM requests").fetchone()
        newest = row[0] if row and row[0] is not None else _EPOCH
        end = newest.replace(microsecond=0) + _dt.timedelta(seconds=1)
        start = end - _dt.timedelta(days=NAME_QUERY_DAYS)
    shift = params.add(_shift(q.tz_minutes))
    sql = f"""
        SELECT r.session_name,
               epoch_ms(min(r.request_created_at) + {shift}),
               epoch_ms(max(r.request_created_at) + {shift}),
               count(DISTINCT r.session_id),
               avg(r.latency)
        FROM requests r
        {"LEFT JOIN session_tags t ON t.session_id = r.session_id" if tagged else ""}
        WHERE r.session_id IS NOT NULL
          AND map_contains(r.properties, {params.add(SESSION_NAME_KEY)})
          AND r.session_name != ''
          AND r.request_created_at > {params.add(start)}
          AND r.request_created_at < {params.add(end)}
          AND r.session_name ILIKE {params.add(f"%{q.name_contains}%")}
          AND {where}
        GROUP BY r.session_name
        ORDER BY max(r.request_created_at) DESC, r.session_name
        LIMIT {NAME_QUERY_LIMIT}
    """
    rows = store.execute(sql, params.values).fetchall()
    return [
        {
            "name": name,
            "created_at": format_timestamp(first, quirks),
            "last_used": format_timestamp(last, quirks),
            "first_used": format_timestamp(first, quirks),
            "session_count": _count(int(n), quirks),
            "avg_latency": float(avg) if avg is not None else 0.0,
        }
        for name, first, last, n, avg in rows
    ]
