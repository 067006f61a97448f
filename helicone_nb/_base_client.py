"""Everything the clients do that is not I/O.

``BaseClient`` builds requests, decides retries, maps status codes to exceptions, reads
envelopes, plans pages and turns pages into frames. ``Client`` and ``AsyncClient``
(``_client.py``) only add the send loop: they drive the generators defined here
(``_request_flow`` yields an ``httpx.Request`` to send or a float to sleep) and run page tasks
concurrently. Nothing here is written twice.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import hashlib
import json
import logging
import math
import os
import random
import time
import warnings
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic_core import from_json

from . import _frames
from ._errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    IncompleteFetchError,
    RateLimitError,
    RequestValidationError,
    ResponseFormatError,
    ServerError,
    TimeoutError,
    TransportError,
    UsageError,
)
from ._filters import ALL, Filter, FilterLike, as_filter, prop
from ._time import Window, check_tz, resolve_window
from ._wire import (
    MAX_LIMIT,
    RequestQueryParams,
    SessionNameQueryParams,
    SessionQueryParams,
    TimeFilter,
)

if TYPE_CHECKING:
    import pandas as pd

    from ._cache import PageCache

__version__ = "0.1.0"

log = logging.getLogger("helicone_nb")

REGIONS: dict[str, str] = {
    "us": "https://api.helicone.ai",
    "eu": "https://eu.api.helicone.ai",
}
EU_KEY_PREFIX = "sk-helicone-eu-"

SESSIONS_PATH = "/v1/session/query"
COUNT_PATH = "/v1/session/count"
NAMES_PATH = "/v1/session/name/query"
REQUESTS_PATH = "/v1/request/query-clickhouse"


class InconsistentPagesWarning(UserWarning):
    """The rows fetched differ from the count the server reported (traffic moved the pages)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    Connection errors, timeouts, truncated bodies and HTTP 429/500/502/503/504 are retried up
    to ``max_retries`` times with exponential backoff and full jitter (``backoff * 2**n``,
    capped at ``max_backoff``). A 429's ``Retry-After`` / ``RateLimit-Reset`` is honoured. No
    request waits more than ``max_total`` seconds in all; past that the error is raised.
    """

    max_retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_total: float = 120.0
    statuses: tuple[int, ...] = (429, 500, 502, 503, 504)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.max_total < 0:
            raise UsageError("RetryPolicy values must not be negative")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(0.0, retry_after) + random.uniform(0, min(1.0, self.backoff))
        return random.uniform(0, min(self.max_backoff, self.backoff * (2**attempt)))


NO_RETRY = RetryPolicy(max_retries=0)


def _retry_after(response: httpx.Response) -> float | None:
    for header in ("retry-after", "ratelimit-reset"):
        value = response.headers.get(header)
        if not value:
            continue
        try:
            return float(value)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if header == "retry-after" else None
            if parsed is not None:
                return max(0.0, (parsed - _dt.datetime.now(_dt.UTC)).total_seconds())
    return None


def key_fingerprint(api_key: str) -> str:
    """A one-way fingerprint of the key: identifies the organisation in cache keys."""
    return hashlib.sha256(b"helicone_nb:" + api_key.encode()).hexdigest()[:32]


def _redact(api_key: str) -> str:
    return "<not set>" if not api_key else "<set>"


# ------------------------------------------------------------------------------------------
# Page planning
# ------------------------------------------------------------------------------------------


@dataclass
class PagePlan:
    """Which pages to fetch next: all pages a known count implies (page 0 runs beside the
    count request), else, when the count does not answer, read ahead (bounded by
    ``concurrency`` pages in flight) until a short page. Pure bookkeeping: drivers ask
    :meth:`next_offsets`, fetch, and :meth:`add` each page.
    """

    page_size: int
    max_rows: int | None
    concurrency: int
    count: int | None = None
    pages: dict[int, pd.DataFrame] = field(default_factory=dict)
    requested: set[int] = field(default_factory=set)
    short_at: int | None = None  # offset of the first page that came back short
    #: a count request is in flight: only page 0 meanwhile (every request counts against
    #: Helicone's rate limit, so pages are planned from the count, not guessed)
    count_pending: bool = False

    def limit(self) -> int | None:
        """First offset that is certainly not needed, if known yet."""
        bounds: list[int] = []
        if self.short_at is not None:
            bounds.append(self.short_at + self.page_size)
        if self.max_rows is not None:
            bounds.append(self.max_rows)
        if self.count is not None and self.count % self.page_size == 0:
            # every page up to the count is expected full: trust the count (a short last
            # page, expected otherwise, is what stops paging in that case)
            bounds.append(self.count)
        return min(bounds) if bounds else None

    def next_offsets(self, in_flight: int) -> list[int]:
        limit = self.limit()
        offsets: list[int] = []
        offset = 0
        while limit is None or offset < limit:
            if offset not in self.requested:
                certain = self.count is not None and offset < self.count
                if not certain:
                    if self.count_pending and offset > 0:
                        break
                    if self.count is not None and not all(
                        o in self.pages for o in range(0, self.count, self.page_size)
                    ):
                        break  # the count's pages first; read past it only if they were full
                    if in_flight + len(offsets) >= self.concurrency:
                        break
                offsets.append(offset)
            offset += self.page_size
        self.requested.update(offsets)
        return offsets

    def add(self, offset: int, frame: pd.DataFrame) -> None:
        self.pages[offset] = frame
        if len(frame) < self.page_size and (self.short_at is None or offset < self.short_at):
            self.short_at = offset

    def done(self) -> bool:
        limit = self.limit()
        return limit is not None and all(o in self.pages for o in range(0, limit, self.page_size))

    def ordered_frames(self) -> list[pd.DataFrame]:
        limit = self.limit()
        return [self.pages[o] for o in sorted(self.pages) if limit is None or o < limit]


@dataclass(frozen=True)
class PagedQuery:
    """One logical query: its endpoint, body without offset/limit, and how to read pages."""

    kind: Literal["sessions", "requests"]
    path: str
    body: dict[str, Any]
    page_size: int
    max_rows: int | None
    window_end: _dt.datetime | None
    count_body: dict[str, Any] | None = None
    success_status: tuple[int, ...] = (200,)

    def page_body(self, offset: int) -> dict[str, Any]:
        return {**self.body, "offset": offset, "limit": self.page_size}


# ------------------------------------------------------------------------------------------
# The base client
# ------------------------------------------------------------------------------------------


class BaseClient:
    """Configuration and all request/response logic shared by ``Client`` and ``AsyncClient``."""

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
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.progress = progress
        self.cache = self._make_cache(cache, settle, ttl)
        self._fingerprint = key_fingerprint(key)
        #: (start, end) of the built-in demo data when this client serves it, else None.
        self.demo_period: tuple[_dt.datetime, _dt.datetime] | None = None

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
    def _make_cache(cache: Any, settle: _dt.timedelta, ttl: _dt.timedelta) -> PageCache | None:
        from ._cache import PageCache

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
    ) -> Generator[httpx.Request | float, Any, Any]:
        """Send ``body`` to ``path``; yield requests to send and delays to sleep; return data.

        The driver sends each yielded request and ``send()``s the response back, or
        ``throw()``s the ``httpx.TransportError`` it raised; for a float it sleeps.
        """
        request = client.build_request("POST", path, json=body, headers=self._headers())
        method, url = "POST", str(request.url.copy_with(query=None))
        policy = policy or self.retries
        waited = 0.0
        attempt = 0
        while True:
            error: APIError
            retry_after: float | None = None
            try:
                response = yield request
            except httpx.TimeoutException as exc:
                error = TimeoutError(
                    f"no answer within the timeout ({type(exc).__name__}); raise timeout=... "
                    "or check the network",
                    method=method,
                    url=url,
                )
            except httpx.TransportError as exc:
                error = TransportError(
                    f"connection failed: {type(exc).__name__}: {exc}", method=method, url=url
                )
            else:
                try:
                    return self._read_response(response, success, method, url)
                except RateLimitError as exc:
                    error, retry_after = exc, exc.retry_after
                except APIStatusError as exc:
                    if exc.status_code not in policy.statuses:
                        raise
                    error = exc
                except ResponseFormatError as exc:
                    if response.status_code not in success:
                        raise
                    error = exc  # a truncated body: the connection dropped mid-response
            if attempt >= policy.max_retries:
                raise error
            delay = policy.delay(attempt, retry_after)
            if waited + delay > policy.max_total:
                log.info("giving up on %s after %.1fs of retries", url, waited)
                raise error
            attempt += 1
            waited += delay
            log.info(
                "retrying POST %s in %.2fs (retry %d of %d) after: %s",
                url,
                delay,
                attempt,
                policy.max_retries,
                error.message,
            )
            yield delay

    def _read_response(
        self, response: httpx.Response, success: tuple[int, ...], method: str, url: str
    ) -> Any:
        status = response.status_code
        try:
            # pydantic-core's JSON parser: faster than json.loads on 1000-row pages
            body = from_json(response.content) if response.content else None
        except ValueError:
            body = None
            if status in success:
                raise ResponseFormatError(
                    f"HTTP {status} with a body that is not JSON (truncated?): "
                    f"{response.content[:120]!r}",
                    method=method,
                    url=url,
                ) from None
        if status in success:
            if not isinstance(body, dict) or "data" not in body:
                raise ResponseFormatError(
                    'expected Helicone\'s {"data": ..., "error": ...} envelope, got '
                    f"{_preview(body)}",
                    method=method,
                    url=url,
                )
            if body.get("error") not in (None, ""):
                raise ServerError(
                    f"Helicone answered with an error: {body['error']}",
                    status_code=status,
                    body=body,
                    method=method,
                    url=url,
                )
            return body["data"]
        raise self._make_status_error(status, body, response, method, url)

    @staticmethod
    def _make_status_error(
        status: int, body: Any, response: httpx.Response, method: str, url: str
    ) -> APIStatusError:
        server_msg = _server_message(body)
        if status in (401, 403):
            return AuthenticationError(
                f"Helicone rejected the API key ({server_msg or 'unauthorized'}). Check "
                "HELICONE_API_KEY. Read-only keys get 401 on EVERY query, because Helicone's "
                "query endpoints are POST requests: use a key with write ('rw' or 'w') "
                "permission. EU keys (sk-helicone-eu-...) work only with region='eu'.",
                status_code=status,
                body=body,
                method=method,
                url=url,
            )
        if status == 422:
            details = body.get("details") if isinstance(body, dict) else None
            details = details if isinstance(details, dict) else {}
            lines = []
            for fld, info in details.items():
                msg = info.get("message") if isinstance(info, dict) else info
                lines.append(f"  {fld}: {msg}")
            text = "Helicone rejected the request body (Validation Failed)"
            if lines:
                text += ":\n" + "\n".join(lines)
            return RequestValidationError(
                text, status_code=status, body=body, details=details, method=method, url=url
            )
        if status == 429:
            retry_after = _retry_after(response)
            wait = f"; the server asked to wait {retry_after:.0f}s" if retry_after else ""
            return RateLimitError(
                f"rate limited by Helicone ({server_msg or 'too many requests'}){wait}. "
                "Helicone allows 1,000 requests per 5 minutes on the free tier; re-running "
                "resumes from the page cache.",
                status_code=status,
                body=body,
                retry_after=retry_after,
                method=method,
                url=url,
            )
        if status >= 500:
            return ServerError(
                f"Helicone server error: {server_msg or 'no message'}",
                status_code=status,
                body=body,
                method=method,
                url=url,
            )
        hint = ""
        if status == 404:
            hint = " (is base_url right? Helicone serves /v1/session/query)"
        if status == 413:
            hint = " (the request body is too large)"
        return APIStatusError(
            f"{server_msg or 'request failed'}{hint}",
            status_code=status,
            body=body,
            method=method,
            url=url,
        )

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
        window = resolve_window(start, end, tz)
        body = self._session_body(window, search=search, name=name, filter=filter, tz=tz)
        return PagedQuery(
            kind="sessions",
            path=SESSIONS_PATH,
            body=body,
            page_size=self._check_page_size(page_size) if page_size else self.page_size,
            max_rows=_check_max(max_sessions, "max_sessions"),
            window_end=window.end,
            count_body=body,
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
        flt: Filter = prop("Helicone-Session-Id") == session_id
        window_end: _dt.datetime | None = None
        if start is not None or end is not None:
            from ._filters import request as req

            if start is None:
                raise UsageError("give start too when you give end")
            window = resolve_window(start, end, tz)
            window_end = window.end
            flt = (
                flt
                & (req.request_created_at > window.start)
                & (req.request_created_at < window.end)
            )
        extra = as_filter(filter)
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
            max_rows=_check_max(max_requests, "max_requests"),
            window_end=window_end,
            success_status=(200, 201),
        )

    def _names_body(
        self, contains: str, start: Any, end: Any, tz: str | _dt.tzinfo
    ) -> dict[str, Any]:
        if not isinstance(contains, str):
            raise UsageError("contains must be a string")
        tf = None
        if start is not None:
            window = resolve_window(start, end, tz)
            tf = TimeFilter(startTimeUnixMs=window.start_ms, endTimeUnixMs=window.end_ms)
        return SessionNameQueryParams(
            nameContains=contains, timezoneDifference=0, timeFilter=tf
        ).to_json_dict()

    # -- pages -> frames --------------------------------------------------------------------

    def _page_frame(self, query: PagedQuery, data: Any) -> pd.DataFrame:
        if not isinstance(data, list):
            raise ResponseFormatError(f"expected a list of rows in 'data', got {_preview(data)}")
        if query.kind == "sessions":
            return _frames.sessions_frame(data, tz="UTC")
        return _frames.requests_frame(data, tz="UTC")

    def _cache_key(self, query: PagedQuery, what: str, offset: int | None) -> str:
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

    def _cached_page(self, query: PagedQuery, offset: int, use_cache: bool) -> pd.DataFrame | None:
        if self.cache is None or not use_cache:
            return None
        value = self.cache.get(self._cache_key(query, query.path, offset))
        return value if value is not None else None

    def _store_page(
        self, query: PagedQuery, offset: int, frame: pd.DataFrame, write: bool = True
    ) -> None:
        if self.cache is not None and write:
            self.cache.put(self._cache_key(query, query.path, offset), frame, query.window_end)

    def _cached_count(self, query: PagedQuery, use_cache: bool) -> int | None:
        if self.cache is None or not use_cache:
            return None
        value = self.cache.get(self._cache_key(query, COUNT_PATH, None))
        return int(value) if isinstance(value, int) else None

    def _store_count(self, query: PagedQuery, count: int, write: bool = True) -> None:
        if self.cache is not None and write:
            self.cache.put(self._cache_key(query, COUNT_PATH, None), count, query.window_end)

    @staticmethod
    def _read_count(data: Any) -> int:
        if not isinstance(data, dict) or "count" not in data:
            raise ResponseFormatError(f"/v1/session/count returned {_preview(data)}")
        try:
            if isinstance(data["count"], bool):
                raise TypeError("a boolean is not a count")
            value = float(data["count"])
        except (TypeError, ValueError):
            raise ResponseFormatError("/v1/session/count: 'count' is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ResponseFormatError("/v1/session/count: 'count' is not a valid count")
        return int(value)

    def _new_plan(self, query: PagedQuery) -> PagePlan:
        return PagePlan(query.page_size, query.max_rows, self.concurrency)

    def _warm_start(self, query: PagedQuery, plan: PagePlan, bar: _Progress, read: bool) -> bool:
        """Take the count and the leading pages from the cache, in order, without any request.

        Returns True when the count came from the cache (so it is not asked for again).
        """
        if not read or self.cache is None:
            return False
        count = self._cached_count(query, True) if query.count_body is not None else None
        if count is not None:
            plan.count = count
            bar.set_total(max(1, -(-count // query.page_size)))
        offset = 0
        while not plan.done():
            limit = plan.limit()
            if limit is not None and offset >= limit:
                break
            frame = self._cached_page(query, offset, True)
            if frame is None:
                break
            plan.requested.add(offset)
            plan.add(offset, frame)
            bar.page(len(frame), cached=True)
            offset += query.page_size
        return count is not None

    def _finish(self, query: PagedQuery, plan: PagePlan, tz: str | _dt.tzinfo) -> pd.DataFrame:
        schema = _frames.SESSION_SCHEMA if query.kind == "sessions" else _frames.REQUEST_SCHEMA
        frame = _frames.concat_frames(plan.ordered_frames(), schema, "UTC")
        if query.kind == "sessions":
            fetched = len(frame)
            frame = _frames.dedupe_sessions(frame)
            duplicates = fetched - len(frame)
            mismatch = (
                plan.count is not None and query.max_rows is None and len(frame) != plan.count
            )
            if mismatch or duplicates:
                # a row seen twice proves rows moved down between requests: others may be missed
                counted = f"Helicone counted {plan.count:,} sessions but " if mismatch else ""
                warnings.warn(
                    f"{counted}{len(frame):,} were fetched ({duplicates:,} duplicates removed): "
                    "traffic inside the window moved rows between pages, so some sessions may "
                    "be missing. Use a window that ended over an hour ago for exact, stable "
                    "results.",
                    InconsistentPagesWarning,
                    stacklevel=4,
                )
        else:
            frame = frame.drop_duplicates(subset=["request_id"], ignore_index=True)
        if query.max_rows is not None and len(frame) > query.max_rows:
            frame = frame.iloc[: query.max_rows].reset_index(drop=True)
        return _to_tz(frame, tz)

    def _incomplete(
        self, query: PagedQuery, plan: PagePlan, tz: str | _dt.tzinfo, cause: BaseException
    ) -> IncompleteFetchError:
        schema = _frames.SESSION_SCHEMA if query.kind == "sessions" else _frames.REQUEST_SCHEMA
        frame = _frames.concat_frames(plan.ordered_frames(), schema, "UTC")
        if query.kind == "sessions":
            frame = _frames.dedupe_sessions(frame)
        partial = _to_tz(frame, tz)
        what = "sessions" if query.kind == "sessions" else "requests"
        reason = "interrupted" if isinstance(cause, KeyboardInterrupt) else str(cause)
        cached = (
            "The completed pages are cached: re-running the same call resumes and fetches only "
            "the missing pages."
            if self.cache is not None
            else "The page cache is off (cache=False), so a re-run starts over."
        )
        return IncompleteFetchError(
            f"paging stopped after {len(plan.pages)} page(s) with {len(partial):,} {what} "
            f"fetched: {reason}. {cached} What was fetched is in this error's .partial DataFrame.",
            partial=partial,
            pages_done=len(plan.pages),
            method="POST",
            url=self.base_url + query.path,
        )

    def _progress_bar(self, query: PagedQuery, progress: bool | None) -> _Progress:
        enabled = self.progress if progress is None else progress
        return _Progress(enabled, query.kind)


def _to_tz(frame: pd.DataFrame, tz: str | _dt.tzinfo) -> pd.DataFrame:
    zone = check_tz(tz)
    out = frame.copy(deep=False)
    for col in ("created_at", "latest_request_created_at"):
        if col in out.columns:
            out[col] = out[col].dt.tz_convert(zone)
    return out


def _check_max(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer or None, got {value!r}")
    return value


def _server_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                details = body.get("details")
                if key == "message" and isinstance(details, str) and details:
                    return f"{value}: {details}"
                return value
    return ""


def _preview(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."


class _Progress:
    """A tqdm bar (pages, sessions, cache hits) that appears only when interactive."""

    def __init__(self, enabled: bool | None, kind: str) -> None:
        self._bar: Any = None
        self.hits = 0
        self.rows = 0
        self.kind = kind
        if enabled is None:
            enabled = _interactive()
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=None, unit="page", desc=f"{kind}", delay=0.5, leave=False, dynamic_ncols=True
            )
        self._started = time.monotonic()

    def set_total(self, pages: int | None) -> None:
        if self._bar is not None and pages is not None:
            self._bar.total = pages
            self._bar.refresh()

    def page(self, rows: int, cached: bool) -> None:
        self.rows += rows
        self.hits += cached
        if self._bar is not None:
            self._bar.set_postfix_str(
                f"{self.rows:,} {self.kind}, {self.hits} cached", refresh=False
            )
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _interactive() -> bool:
    """True in a Jupyter kernel or a terminal; False under CI, pipes and tests."""
    import sys

    flag = os.environ.get("HELICONE_NB_PROGRESS")
    if flag is not None:
        return flag.strip().lower() not in ("0", "false", "no", "off", "")
    if os.environ.get("CI"):
        return False
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
