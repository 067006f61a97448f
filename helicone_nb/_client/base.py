"""``BaseClient``: configuration, request building and the cache bookkeeping of a pull, no I/O.

``Client`` and ``AsyncClient`` (:mod:`.clients`) add only the send loops. The retry logic is in
:mod:`.retry`, page planning and finishing in :mod:`.paging`, the on-disk cache in :mod:`.cache`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import math
import os
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .._errors import ConfigurationError, EmptyWindowWarning, ResponseFormatError, UsageError
from .._version import __version__
from .._wire.builder import prop
from .._wire.columns import SESSION_TABLE
from .._wire.filters import ALL, Filter, FilterLike, as_filter
from .._wire.models import (
    MAX_LIMIT,
    REQUESTS_PATH,
    SESSIONS_PATH,
    RequestQueryParams,
    SessionNameQueryParams,
    SessionNameResult,
    SessionQueryParams,
    SessionsAggregateMetrics,
    TimeFilter,
)
from .._wire.time import Window, check_tz, resolve_window
from .paging import FlowContext, PagedQuery, check_max
from .progress import Progress
from .retry import RequestFlow, RetryPolicy, request_flow
from .scheduler import Pull

if TYPE_CHECKING:
    import pandas as pd

    from .cache import PageCache

log = logging.getLogger("helicone_nb")

#: (start, end) of the data a client holds, as aware datetimes.
DataRange = tuple[_dt.datetime, _dt.datetime]

REGIONS: dict[str, str] = {
    "us": "https://api.helicone.ai",
    "eu": "https://eu.api.helicone.ai",
}
EU_KEY_PREFIX = "sk-helicone-eu-"


def key_fingerprint(api_key: str) -> str:
    """A one-way fingerprint of the key: identifies the organisation in cache keys."""
    return hashlib.sha256(b"helicone_nb:" + api_key.encode()).hexdigest()[:32]


def _redact(api_key: str) -> str:
    return "<not set>" if not api_key else "<set>"


class BaseClient:
    """Configuration and all request/response logic shared by ``Client`` and ``AsyncClient``."""

    _http: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        api_key: str | None = None,
        *,
        region: Literal["us", "eu"] | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retries: RetryPolicy | int | None = None,
        concurrency: int = 4,
        page_size: int = MAX_LIMIT,
        cache: bool | str | os.PathLike[str] | PageCache = True,
        progress: bool | None = None,
        settle: _dt.timedelta = _dt.timedelta(hours=1),
        ttl: _dt.timedelta = _dt.timedelta(minutes=5),
        data_range: DataRange | Callable[[], DataRange | None] | None = None,
        now: _dt.datetime | Callable[[], _dt.datetime] | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("HELICONE_API_KEY", "")
        if not isinstance(key, str):
            raise ConfigurationError("api_key must be a string")
        key = key.strip()
        if not key:
            raise ConfigurationError(
                "no Helicone API key: pass api_key=... or set HELICONE_API_KEY. "
                "To try helicone_nb without a key, use helicone_nb.connect(), which serves the "
                "built-in demo data."
            )
        self._api_key = key
        self.base_url = self._resolve_base_url(key, region, base_url)
        if isinstance(retries, int) and not isinstance(retries, bool):
            retries = RetryPolicy(max_retries=retries)
        self.retries: RetryPolicy = retries if isinstance(retries, RetryPolicy) else RetryPolicy()
        if not isinstance(concurrency, int) or concurrency < 1:
            raise UsageError(f"concurrency must be a positive integer, got {concurrency!r}")
        self.concurrency = concurrency
        self.page_size = self._check_page_size(page_size)
        self.timeout = self._check_timeout(timeout)
        self.progress = progress
        self.settle = settle
        self.cache = self._make_cache(cache, settle, ttl)
        self._fingerprint = key_fingerprint(key)
        #: (start, end) of the built-in demo data when this client serves it, else None.
        self.demo_period: tuple[_dt.datetime, _dt.datetime] | None = None
        if data_range is not None and not callable(data_range):
            data_range = _check_range(data_range)
        self._data_range = data_range
        if now is not None and not callable(now) and not isinstance(now, _dt.datetime):
            raise UsageError(f"now must be a datetime or a callable returning one, got {now!r}")
        self._now = now

    # -- the data this client can see ------------------------------------------------------

    def data_range(self) -> DataRange | None:
        """(start, end) of the data this client holds, when it can know it, else None.

        Asked lazily (only when a result comes back empty). Set by ``data_range=`` at
        construction: a tuple, or a zero-argument callable that asks the data source (a
        mirror client asks its in-process backend over the local mirror).
        """
        value = self._data_range() if callable(self._data_range) else self._data_range
        return None if value is None else _check_range(value)

    def _current_time(self) -> _dt.datetime | None:
        """The instant relative windows count back from: ``now=``, else the real time (None)."""
        value = self._now() if callable(self._now) else self._now
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            value = value.replace(tzinfo=_dt.UTC)
        return value

    def _window(self, start: Any, end: Any, tz: str | _dt.tzinfo) -> Window:
        return resolve_window(start, end, tz, now=self._current_time())

    def _warn_if_outside(self, frame: pd.DataFrame, query: PagedQuery) -> None:
        """An empty result for a window wholly outside the data this client holds warns."""
        if len(frame) or query.window_start is None or query.window_end is None:
            return
        known = self.data_range()
        if known is None:
            return
        first, last = known
        if query.window_end > first and query.window_start < last:
            return  # the window overlaps the data: empty is the answer
        what = "sessions" if query.kind == "sessions" else "requests"
        warnings.warn(
            f"no {what}: the window {query.window_start:%Y-%m-%d %H:%M} to "
            f"{query.window_end:%Y-%m-%d %H:%M} UTC lies wholly outside the data this client "
            f"holds, {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC. Ask for a window "
            "inside that range.",
            EmptyWindowWarning,
            stacklevel=4,
        )

    # -- configuration -------------------------------------------------------------------

    @staticmethod
    def _resolve_base_url(key: str, region: str | None, base_url: str | None) -> str:
        if base_url is None and region is None:  # an explicit region beats the environment
            base_url = os.environ.get("HELICONE_BASE_URL") or None
        if base_url is not None:
            if region is not None:
                raise ConfigurationError("give either region or base_url, not both")
            url = httpx.URL(base_url)
            if url.scheme not in ("http", "https") or not url.host:
                raise ConfigurationError(
                    f"base_url must be an http(s) URL such as http://localhost:8585, got "
                    f"{base_url!r}"
                )
            return str(base_url).rstrip("/")
        if region is None:
            region = "eu" if key.startswith(EU_KEY_PREFIX) else "us"
        if region not in REGIONS:
            raise ConfigurationError(f"region must be 'us' or 'eu', got {region!r}")
        if region == "us" and key.startswith(EU_KEY_PREFIX):
            log.warning("this looks like an EU key (%s...) but region='us'", EU_KEY_PREFIX)
        return REGIONS[region]

    @staticmethod
    def _check_page_size(page_size: int) -> int:
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise UsageError(f"page_size must be an integer, got {page_size!r}")
        if not 1 <= page_size <= MAX_LIMIT:
            raise UsageError(f"page_size must be between 1 and {MAX_LIMIT} (Helicone's maximum)")
        return page_size

    @staticmethod
    def _check_timeout(timeout: Any) -> httpx.Timeout:
        if isinstance(timeout, httpx.Timeout):
            return timeout
        if timeout is None:
            return httpx.Timeout(None)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise UsageError(
                f"timeout must be a positive number of seconds (or an httpx.Timeout, or None "
                f"to wait forever), got {timeout!r}"
            )
        return httpx.Timeout(timeout)

    @staticmethod
    def _make_cache(cache: Any, settle: _dt.timedelta, ttl: _dt.timedelta) -> PageCache | None:
        from .cache import PageCache

        if isinstance(cache, PageCache):
            return cache
        if cache is False or cache is None:
            return None
        if cache is True:
            return PageCache(settle=settle, ttl=ttl)
        if isinstance(cache, str | os.PathLike):
            return PageCache(cache, settle=settle, ttl=ttl)
        raise UsageError("cache must be True, False, a directory path or a PageCache")

    def __repr__(self) -> str:
        cache = "off" if self.cache is None else str(self.cache.directory)
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, api_key={_redact(self._api_key)}, "
            f"concurrency={self.concurrency}, cache={cache!r})"
        )

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"helicone_nb/{__version__}",
        }

    # -- one request with retries (sans I/O) -----------------------------------------------

    def _request_flow(
        self,
        client: httpx.Client | httpx.AsyncClient,
        path: str,
        body: Mapping[str, Any],
        success: tuple[int, ...] = (200,),
        policy: RetryPolicy | None = None,
    ) -> RequestFlow:
        """The request generator (:func:`.retry.request_flow`) for ``body`` sent to ``path``."""
        request = client.build_request("POST", path, json=body, headers=self._headers())
        return request_flow(request, policy or self.retries, success)

    # -- building queries -------------------------------------------------------------------

    def _session_body(
        self,
        window: Window,
        *,
        search: str,
        name: str | None,
        filter: FilterLike,
        tz: str | _dt.tzinfo,
    ) -> dict[str, Any]:
        if not isinstance(search, str):
            raise UsageError(f"search must be a string, got {type(search).__name__}")
        if name is not None and not isinstance(name, str):
            raise UsageError(f"name must be a string (exact session name) or None, got {name!r}")
        flt = as_filter(filter)
        params = SessionQueryParams(
            search=search,
            timeFilter=TimeFilter(startTimeUnixMs=window.start_ms, endTimeUnixMs=window.end_ms),
            nameEquals=name or None,
            timezoneDifference=0,
            filter=flt.to_wire(tz),
        )
        return params.to_json_dict()

    def _sessions_query(
        self,
        start: Any,
        end: Any,
        *,
        search: str,
        name: str | None,
        filter: FilterLike,
        tz: str | _dt.tzinfo,
        max_sessions: int | None,
        page_size: int | None,
    ) -> PagedQuery:
        check_tz(tz)
        window = self._window(start, end, tz)
        body = self._session_body(window, search=search, name=name, filter=filter, tz=tz)
        return PagedQuery(
            kind="sessions",
            path=SESSIONS_PATH,
            body=body,
            page_size=self.page_size if page_size is None else self._check_page_size(page_size),
            max_rows=check_max(max_sessions, "max_sessions"),
            window_end=window.end,
            count_body=body,
            window_start=window.start,
        )

    def _requests_query(
        self,
        session_id: str,
        start: Any,
        end: Any,
        tz: str | _dt.tzinfo,
        filter: FilterLike,
        max_requests: int | None,
    ) -> PagedQuery:
        if not isinstance(session_id, str) or not session_id:
            raise UsageError("session_id must be a non-empty string")
        extra = as_filter(filter)
        session_level = [c for c in extra.leaves() if c.table == SESSION_TABLE]
        if session_level:
            raise UsageError(
                f"filter: {session_level[0].to_python()} is a session-level condition; one "
                "session's requests take request-level conditions only (hnb.request.*, "
                "hnb.prop(), hnb.has_prop()). Filter sessions with fetch_sessions(filter=...)."
            )
        flt: Filter = prop("Helicone-Session-Id") == session_id
        window_start: _dt.datetime | None = None
        window_end: _dt.datetime | None = None
        if start is not None or end is not None:
            from .._wire.builder import request as req

            if start is None:
                raise UsageError("give start too when you give end")
            window = self._window(start, end, tz)
            window_start, window_end = window.start, window.end
            flt = (
                flt
                & (req.request_created_at > window.start)
                & (req.request_created_at < window.end)
            )
        if extra is not ALL:
            flt = flt & extra
        body = RequestQueryParams(
            filter=flt.to_wire(tz), sort={"created_at": "asc"}, isCached=False
        ).to_json_dict()
        body.pop("offset", None)
        body.pop("limit", None)
        return PagedQuery(
            kind="requests",
            path=REQUESTS_PATH,
            body=body,
            page_size=self.page_size,
            max_rows=check_max(max_requests, "max_requests"),
            window_end=window_end,
            success_status=(200, 201),
            window_start=window_start,
        )

    def _names_body(
        self, contains: str, start: Any, end: Any, tz: str | _dt.tzinfo
    ) -> dict[str, Any]:
        if not isinstance(contains, str):
            raise UsageError("contains must be a string")
        tf = None
        if start is not None:
            window = self._window(start, end, tz)
            tf = TimeFilter(startTimeUnixMs=window.start_ms, endTimeUnixMs=window.end_ms)
        return SessionNameQueryParams(
            nameContains=contains, timezoneDifference=0, timeFilter=tf
        ).to_json_dict()

    # -- paging (the no-I/O pieces; the clients drive them) ----------------------------------

    def _cache_key(self, query: PagedQuery, what: str, offset: int | None) -> str:
        """The page cache key of one page (``offset``) or of ``what`` (count, whole result).

        Everything that changes the answer is in it: base URL, organisation (a one-way
        fingerprint of the key), endpoint, the canonical body (window, filter, search, name),
        offset and page size.
        """
        canonical = json.dumps(
            {
                "v": 1,
                "base_url": self.base_url,
                "org": self._fingerprint,
                "path": what,
                "body": query.body,
                "offset": offset,
                "limit": query.page_size if offset is not None else None,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def _build_request(self, path: str, body: Mapping[str, Any]) -> httpx.Request:
        return self._http.build_request("POST", path, json=body, headers=self._headers())

    def _context(self) -> FlowContext:
        cache = self.cache
        return FlowContext(
            build_request=self._build_request,
            retries=self.retries,
            cache_key=self._cache_key if cache is not None else None,
            concurrency=self.concurrency,
            settle=cache.settle if cache is not None else self.settle,
            clock=cache.clock if cache is not None else _utc_now,
            base_url=self.base_url,
        )

    def _pull_for(
        self,
        query: PagedQuery,
        tz: str | _dt.tzinfo,
        *,
        cache: bool,
        refresh: bool,
        progress: bool | None,
    ) -> Pull:
        """The scheduler of one pull; ``Client._pull`` / ``AsyncClient._pull`` drive it."""
        enabled = self.progress if progress is None else progress
        return Pull(
            self._context(),
            query,
            tz,
            read=cache and not refresh,
            write=cache,
            bar=Progress(enabled, query.kind),
        )


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _check_range(value: Any) -> DataRange:
    """``(start, end)`` as aware UTC datetimes (naive ones are read as UTC)."""
    try:
        first, last = value
    except (TypeError, ValueError):
        raise UsageError(
            f"data_range must be a (start, end) pair of datetimes, got {value!r}"
        ) from None
    out = []
    for moment in (first, last):
        if not isinstance(moment, _dt.datetime):
            raise UsageError(f"data_range must hold datetimes, got {moment!r}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            moment = moment.replace(tzinfo=_dt.UTC)
        out.append(moment.astimezone(_dt.UTC))
    return out[0], out[1]


# -- answers of the endpoints that are not paged -----------------------------------------------


def read_metrics(data: Any) -> SessionsAggregateMetrics:
    try:
        return SessionsAggregateMetrics.model_validate(data)
    except Exception:
        raise ResponseFormatError(
            f"/v1/session/count returned an unexpected shape: {data!r:.120}"
        ) from None


def names_frame(data: Any, tz: str | _dt.tzinfo) -> pd.DataFrame:
    import pandas as pd

    from .._wire.time import parse_server_timestamps

    if not isinstance(data, list):
        raise ResponseFormatError("/v1/session/name/query: 'data' is not a list")
    try:
        rows = [SessionNameResult.model_validate(r) for r in data]
    except Exception:
        raise ResponseFormatError(
            "/v1/session/name/query returned rows of an unexpected shape"
        ) from None
    frame = pd.DataFrame(
        {
            "name": pd.array([r.name for r in rows], dtype="string"),
            "session_count": pd.array([round(r.session_count) for r in rows], dtype="Int64"),
            "avg_latency": pd.array([r.avg_latency for r in rows], dtype="float64"),
            "first_used": parse_server_timestamps(
                pd.Index([r.first_used for r in rows], dtype=object), shift_minutes=0, tz=tz
            ).as_unit("ns"),
            "last_used": parse_server_timestamps(
                pd.Index([r.last_used for r in rows], dtype=object), shift_minutes=0, tz=tz
            ).as_unit("ns"),
        }
    )
    return frame.sort_values("name", ignore_index=True)
