"""The client of a mirror: Helicone's endpoints answered in process, and a fast request pull.

``MirrorClient`` is a :class:`~helicone_nb.Client` whose transport is the embedded backend
loaded with the mirror's rows, so every session query keeps Helicone's semantics. Its
``fetch_requests`` without a filter skips the HTTP shapes and reads the typed requests frame
straight from DuckDB (a million rows in about a second); with a filter it pages like any
client. Both give the same frame (tests/test_mirror_local.py).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, cast

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


def local_requests(
    backend: Backend,
    start: _dt.datetime,
    end: _dt.datetime,
    tz: str | _dt.tzinfo,
    limit: int | None = None,
) -> pd.DataFrame:
    """The typed requests frame of ``start <= request_created_at < end``, oldest first."""

    store = backend.store
    columns = {
        str(r[0])
        for r in store.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'requests'"
        ).fetchall()
    }
    fills = {
        "updated_at": "r.updated_at" if "updated_at" in columns else "NULL::TIMESTAMP",
        "reasoning_tokens": "r.reasoning_tokens"
        if "reasoning_tokens" in columns
        else "NULL::BIGINT",
        "feedback": f"(r.scores[{literal(FEEDBACK_KEY)}] != 0)"
        if "scores" in columns
        else "NULL::BOOLEAN",
    }
    plain = [c for c in REQUEST_SCHEMA if c not in _MAPS]
    select = [f'{(_SQL[c] or "NULL").format(**fills)} AS "{c}"' for c in plain]
    session_keys = ", ".join(literal(k) for k in SESSION_PROPERTY_KEYS)
    props = (
        "map_from_entries(list_filter(map_entries(r.properties), "
        f"lambda e: e.key NOT IN ({session_keys})))"
    )
    scores = "r.scores" if "scores" in columns else "MAP {}::MAP(VARCHAR, BIGINT)"
    where = "r.request_created_at >= $start AND r.request_created_at < $end"
    order = "ORDER BY r.request_created_at, r.request_id"
    top = f"LIMIT {int(limit)}" if limit is not None else ""
    params = {
        "start": start.astimezone(_dt.UTC).replace(tzinfo=None),
        "end": end.astimezone(_dt.UTC).replace(tzinfo=None),
    }
    frame = store.execute(
        f"SELECT {', '.join(select)} FROM requests r WHERE {where} {order} {top}", params
    ).df()
    if frame.empty:
        return empty_frame(REQUEST_SCHEMA, tz)
    for name, expr in (("properties", props), ("scores", scores)):
        if name not in REQUEST_SCHEMA:
            continue
        # one dict per distinct map (a 1M-row mirror holds a few hundred): ids per row
        ids = store.execute(
            f"""
            WITH rows AS (
                SELECT CAST({expr} AS VARCHAR) AS k,
                       row_number() OVER ({order}) AS n
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
        import numpy as np

        dicts = np.empty(len(distinct), dtype=object)
        dicts[:] = [dict(zip(keys, values, strict=True)) for keys, values, _ in distinct]
        frame[name] = dicts[np.asarray(ids, dtype=np.int64)]
    return _typed(frame[list(REQUEST_SCHEMA)], tz)


def _typed(frame: pd.DataFrame, tz: str | _dt.tzinfo) -> pd.DataFrame:
    import pandas as pd

    out: dict[str, Any] = {}
    for col, (dtype, _) in REQUEST_SCHEMA.items():
        values = frame[col]
        if dtype.startswith("datetime64"):
            out[col] = (
                pd.to_datetime(values)
                .dt.tz_localize("UTC")
                .dt.tz_convert(tz)
                .astype(pd.DatetimeTZDtype(unit="ns", tz=tz))
            )
        elif dtype in ("string", "Int64", "boolean", "float64"):
            out[col] = values.astype(cast(Any, dtype))
        else:
            out[col] = values
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
