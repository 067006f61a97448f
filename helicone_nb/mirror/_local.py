"""The client of a mirror: Helicone's endpoints answered in process, and a fast request pull.

``MirrorClient`` is a :class:`~helicone_nb.Client` whose transport is the embedded backend
loaded with the mirror's rows, so every session query keeps Helicone's semantics. Its
``fetch_requests`` without a filter skips the HTTP shapes and reads the typed requests frame
straight from DuckDB (a million rows in about a second); with a filter it pages like any
client. Both give the same frame (tests/test_mirror_local.py).
"""

from __future__ import annotations

import datetime as _dt
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._client.clients import Client
from .._frames import REQUEST_SCHEMA, SESSION_PROPERTY_KEYS, empty_frame
from .._wire.filters import ALL, FilterLike, as_filter
from ._files import literal
from ._manifest import MIRROR_BASE_URL

if TYPE_CHECKING:
    import pandas as pd

    from ..backend import Backend

FEEDBACK_KEY = "helicone-score-feedback"
NO_CACHE_REFERENCE = "00000000-0000-0000-0000-000000000000"

#: REQUEST_SCHEMA column -> SQL over the backend's request table ``r`` (None: not stored).
_SQL: dict[str, str | None] = {
    "request_id": "r.request_id",
    "session_id": "coalesce(r.session_id, '')",
    "session_name": "coalesce(r.session_name, '')",
    "session_path": "coalesce(nullif(r.session_path, ''), '/')",
    "created_at": "r.request_created_at",
    "user_id": "coalesce(r.user_id, '')",
    "model": "coalesce(nullif(r.model, ''), nullif(r.request_model, ''), '')",
    "provider": "coalesce(r.provider, '')",
    "status": "r.status::BIGINT",
    "latency_ms": "r.latency::DOUBLE",
    "time_to_first_token_ms": "r.time_to_first_token::DOUBLE",
    "prompt_tokens": "r.prompt_tokens",
    "completion_tokens": "r.completion_tokens",
    "total_tokens": "r.total_tokens",
    "cost": "r.cost / 1e9",
    "updated_at": "{updated_at}",
    "response_created_at": "r.response_created_at",
    "prompt_cache_read_tokens": "r.prompt_cache_read_tokens",
    "prompt_cache_write_tokens": "r.prompt_cache_write_tokens",
    "reasoning_tokens": "{reasoning_tokens}",
    "cache_hit": f"CASE WHEN r.cache_reference_id IS NULL THEN NULL ELSE "
    f"r.cache_reference_id NOT IN ('', '{NO_CACHE_REFERENCE}') END",
    "cache_enabled": "r.cache_enabled",
    "prompt_id": "r.prompt_id",
    "prompt_version": "r.prompt_version",
    "target_url": "coalesce(r.target_url, '')",
    "country_code": "r.country_code",
    "feedback": "{feedback}",
}
_MAPS = ("properties", "scores")


class MirrorClient(Client):
    """A client answered from a mirror (see :meth:`helicone_nb.Mirror.client`)."""

    def __init__(self, mirror: Any, backend: Backend, name: str, **kwargs: Any) -> None:
        from ..backend import InProcessTransport

        super().__init__(
            name,
            base_url=MIRROR_BASE_URL,
            transport=InProcessTransport(backend),
            data_range=lambda: _span(backend),
            **kwargs,
        )
        #: the :class:`~helicone_nb.Mirror` answering
        self.mirror = mirror
        self.backend = backend
        dictionary(backend)  # part of loading: what fetch_requests reads strings and maps by

    def __repr__(self) -> str:
        return f"<MirrorClient {self.mirror.path}>"

    def fetch_requests(
        self,
        start: Any,
        end: Any = None,
        *,
        filter: FilterLike = None,
        tz: str | _dt.tzinfo = "UTC",
        max_requests: int | None = None,
        page_size: int | None = None,
        refresh: bool = False,
        cache: bool = True,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """:meth:`Client.fetch_requests <helicone_nb.Client.fetch_requests>` from the mirror."""
        from .._client.requests import prepare, warn_if_outside

        pull = prepare(self, start, end, filter, tz, max_requests, page_size, False)
        if as_filter(filter) is not ALL or not set(REQUEST_SCHEMA) <= set(_SQL) | set(_MAPS):
            return super().fetch_requests(
                start,
                end,
                filter=filter,
                tz=tz,
                max_requests=max_requests,
                page_size=page_size,
                cache=False,
                progress=progress,
            )
        frame = local_requests(self.backend, pull.start, pull.end, tz, max_requests)
        warn_if_outside(self, pull, frame)
        return frame


def _span(backend: Backend) -> tuple[_dt.datetime, _dt.datetime] | None:
    """(first, last) request time held by the loaded mirror."""
    row = backend.store.execute(
        "SELECT min(request_created_at), max(request_created_at) FROM requests"
    ).fetchone()
    if row is None or row[0] is None:
        return None
    first, last = (t.replace(tzinfo=_dt.UTC) for t in row)
    return first, last + _dt.timedelta(milliseconds=1)


#: String columns read as DuckDB ENUMs (pandas categories: one Python string per distinct
#: value instead of one per row) when a window holds at most this many distinct values.
_ENUM_MAX = 5_000


@dataclass(frozen=True)
class _Dictionary:
    """What the fast reader knows of a loaded store (one version): the distinct values of
    the string columns with few of them (read as ENUMs), and the keys of the map columns."""

    version: int
    columns: frozenset[str]
    values: dict[str, list[str]]
    keys: dict[str, list[str]]


_DICTIONARIES: weakref.WeakKeyDictionary[Any, _Dictionary] = weakref.WeakKeyDictionary()
_dictionary_lock = threading.Lock()


def _fills(columns: frozenset[str]) -> dict[str, str]:
    return {
        "updated_at": "r.updated_at" if "updated_at" in columns else "NULL::TIMESTAMP",
        "reasoning_tokens": "r.reasoning_tokens"
        if "reasoning_tokens" in columns
        else "NULL::BIGINT",
        "feedback": f"(r.scores[{literal(FEEDBACK_KEY)}] != 0)"
        if "scores" in columns
        else "NULL::BOOLEAN",
    }


def dictionary(backend: Backend) -> _Dictionary:
    """The store's :class:`_Dictionary`, read once per store version (one scan)."""
    store = backend.store
    with _dictionary_lock:
        known = _DICTIONARIES.get(store)
        if known is not None and known.version == store.version:
            return known
        version = store.version
        columns = frozenset(
            str(r[0])
            for r in store.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'requests'"
            ).fetchall()
        )
        fills = _fills(columns)
        # low-cardinality strings (not the ids)
        texts = [
            c
            for c, (dtype, _) in REQUEST_SCHEMA.items()
            if dtype == "string" and c not in ("request_id", "session_id") and _SQL.get(c)
        ]
        maps = [m for m in _MAPS if m in columns]
        row = store.execute(
            "SELECT "
            + ", ".join(
                [f"list(DISTINCT {(_SQL[c] or '').format(**fills)})" for c in texts]
                + [f"list(DISTINCT map_keys(r.{m}))" for m in maps]
            )
            + " FROM requests r"
        ).fetchone()
        found = list(row or [None] * (len(texts) + len(maps)))
        values = {
            c: [str(v) for v in vs]
            for c, vs in zip(texts, found, strict=False)
            if vs and len(vs) <= _ENUM_MAX
        }
        keys = {
            m: sorted({str(k) for ks in lists or [] for k in ks or [] if k is not None})
            for m, lists in zip(maps, found[len(texts) :], strict=False)
        }
        known = _Dictionary(version, columns, values, keys)
        _DICTIONARIES[store] = known
        return known


def local_requests(
    backend: Backend,
    start: _dt.datetime,
    end: _dt.datetime,
    tz: str | _dt.tzinfo,
    limit: int | None = None,
) -> pd.DataFrame:
    """The typed requests frame of ``start <= request_created_at < end``, oldest first.

    One sorted scan reads every column: strings with few distinct values as ENUMs (one
    Python string per value, shared by its rows), ``properties`` / ``scores`` as a hash of
    their entries per row, turned into one dict per distinct map (a 1M-row mirror holds a
    few dozen), shared by the rows that carry it.
    """
    import numpy as np
    import pandas as pd

    store = backend.store
    known = dictionary(backend)
    exprs = {
        c: (_SQL[c] or "NULL").format(**_fills(known.columns))
        for c in REQUEST_SCHEMA
        if c not in _MAPS
    }
    select = []
    for c, expr in exprs.items():
        values = known.values.get(c)
        if values:
            enum = "ENUM(" + ", ".join(literal(v) for v in values) + ")"
            select.append(f'CAST({expr} AS {enum}) AS "{c}"')
        else:
            select.append(f'{expr} AS "{c}"')
    session_keys = set(SESSION_PROPERTY_KEYS)
    plans = {
        m: _map_plan(f"r.{m}", known.keys.get(m, []), session_keys if m == "properties" else set())
        for m in _MAPS
        if m in known.columns
    }
    for m, p in plans.items():
        select += [f'{p.hash} AS "_h_{m}"', f'{p.check} AS "_c_{m}"']
    select.append('r.rowid AS "_rowid"')
    where = "r.request_created_at >= $start AND r.request_created_at < $end"
    order = "ORDER BY r.request_created_at, r.request_id"
    top = f"LIMIT {int(limit)}" if limit is not None else ""
    params = {
        "start": start.astimezone(_dt.UTC).replace(tzinfo=None),
        "end": end.astimezone(_dt.UTC).replace(tzinfo=None),
    }
    arrays: dict[str, Any] = dict(
        store.execute(
            f"SELECT {', '.join(select)} FROM requests r WHERE {where} {order} {top}", params
        ).fetchnumpy()
    )
    n = len(arrays["request_id"])
    if n == 0:
        return empty_frame(REQUEST_SCHEMA, tz)
    rowids = np.ma.getdata(arrays.pop("_rowid"))
    for m in _MAPS:
        if m not in REQUEST_SCHEMA:
            continue
        plan = plans.get(m)
        if plan is None:  # an old store without the column
            none = np.empty(n, dtype=object)
            none[:] = [{} for _ in range(n)]
            arrays[m] = none
            continue
        hashes = np.ma.getdata(arrays.pop(f"_h_{m}"))
        checks = np.ma.getdata(arrays.pop(f"_c_{m}"))
        codes, uniques = pd.factorize(hashes)
        first = np.empty(len(uniques), dtype=np.int64)
        first[codes[::-1]] = np.arange(n - 1, -1, -1)  # the first row of each hash
        if plan.usable and bool((checks == checks[first][codes]).all()):
            found = dict(
                (int(rid), dict(zip(keys, values, strict=True)))
                for rid, keys, values in store.execute(
                    f"SELECT r.rowid, map_keys({plan.expr}), map_values({plan.expr}) "
                    "FROM requests r WHERE r.rowid IN (SELECT unnest($ids::BIGINT[]))",
                    {"ids": [int(r) for r in rowids[first]]},
                ).fetchall()
            )
            objs = np.empty(len(uniques), dtype=object)
            objs[:] = [found[int(r)] for r in rowids[first]]
        else:  # two maps share a hash (never seen) or too many keys: match them exactly
            objs, codes = _exact_maps(store, plan.expr, where, order, top, params)
        for i, d in enumerate(objs):  # the session keys have columns of their own
            if plan.exclude & d.keys():
                objs[i] = {k: v for k, v in d.items() if k not in plan.exclude}
        arrays[m] = objs[codes]
    return _typed(arrays, n, tz)


@dataclass(frozen=True)
class _MapPlan:
    """How a map column is read: a hash per row of its entries but ``exclude``, and a second
    hash of the same values in reverse order (two different maps would have to collide in
    both to be taken for one)."""

    expr: str
    exclude: set[str]
    hash: str
    check: str
    usable: bool = True


#: A map column with more distinct keys than this is matched exactly (slower).
_MAP_KEYS_MAX = 64


def _map_plan(expr: str, keys: list[str], exclude: set[str]) -> _MapPlan:
    """The plan of map column ``expr`` whose rows use ``keys``."""
    kept = [k for k in keys if k not in exclude]
    if len(kept) > _MAP_KEYS_MAX:
        return _MapPlan(expr, exclude, "0::UBIGINT", "0::UBIGINT", usable=False)
    values = [f"{expr}[{literal(k)}]" for k in kept] or ["NULL"]
    return _MapPlan(
        expr,
        exclude,
        f"hash({', '.join(values)})",
        f"hash({', '.join(reversed(values))}, 1)",
    )


def _exact_maps(
    store: Any, expr: str, where: str, order: str, top: str, params: dict[str, Any]
) -> tuple[Any, Any]:
    """(one dict per distinct map, the index of each row's) by exact map equality (slower;
    only when two maps share a hash)."""
    import numpy as np

    ids = store.execute(
        f"""
        WITH rows AS (
            SELECT CAST({expr} AS VARCHAR) AS k, row_number() OVER ({order}) AS n
            FROM requests r WHERE {where} {order} {top}
        )
        SELECT dense_rank() OVER (ORDER BY k) - 1 AS id FROM rows ORDER BY n
        """,
        params,
    ).fetchnumpy()["id"]
    distinct = store.execute(
        f"""
        SELECT DISTINCT ON (k) map_keys(m), map_values(m), k FROM (
            SELECT {expr} AS m, CAST({expr} AS VARCHAR) AS k
            FROM requests r WHERE {where} {order} {top}
        ) ORDER BY k
        """,
        params,
    ).fetchall()
    dicts = np.empty(len(distinct), dtype=object)
    dicts[:] = [dict(zip(keys, values, strict=True)) for keys, values, _ in distinct]
    return dicts, np.asarray(ids, dtype=np.int64)


def _typed(arrays: dict[str, Any], n: int, tz: str | _dt.tzinfo) -> pd.DataFrame:
    """The requests frame from DuckDB's numpy columns, without an intermediate frame."""
    import numpy as np
    import pandas as pd

    out: dict[str, Any] = {}
    for col, (dtype, _) in REQUEST_SCHEMA.items():
        values = arrays[col]
        mask = np.ma.getmaskarray(values) if isinstance(values, np.ma.MaskedArray) else None
        data = np.ma.getdata(values)
        if dtype.startswith("datetime64"):
            stamps = data.astype("datetime64[ns]")
            if mask is not None:
                stamps[mask] = np.datetime64("NaT")
            out[col] = pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(tz).array
        elif dtype == "Int64":
            ints = data.astype("int64", copy=False)
            out[col] = pd.arrays.IntegerArray(
                ints, mask if mask is not None else np.zeros(n, dtype=bool)
            )
        elif dtype == "boolean":
            bools = data.astype(bool) if data.dtype != object else data
            if data.dtype == object:  # all NULL: DuckDB gives objects
                out[col] = pd.array(list(data), dtype="boolean")
            else:
                out[col] = pd.arrays.BooleanArray(
                    bools, mask if mask is not None else np.zeros(n, dtype=bool)
                )
        elif dtype == "float64":
            floats = data.astype("float64", copy=mask is not None)
            if mask is not None:
                floats[mask] = np.nan
            out[col] = floats
        elif dtype == "string":
            if mask is not None:
                data = data.astype(object)
                data[mask] = None
            elif col == "session_id":  # ~10 rows per session: one string object per session
                codes, uniques = pd.factorize(data)
                data = np.asarray(uniques, dtype=object)[codes]
            out[col] = pd.array(data, dtype="string")
        else:
            out[col] = values
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)
