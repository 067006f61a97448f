"""``Client`` and ``AsyncClient``: the send loops around :class:`BaseClient`.

All decisions (bodies, retries, errors, page planning, caching) live in :mod:`.base`,
:mod:`.retry` and :mod:`.paging`;
this module only sends requests, sleeps, and runs page tasks concurrently (threads for
``Client``, so it also works inside Jupyter's running event loop; tasks for ``AsyncClient``).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
import time
from collections.abc import Generator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .._errors import APIError, AuthenticationError, ResponseFormatError
from .._wire.filters import FilterLike
from .._wire.models import SessionNameResult, SessionsAggregateMetrics
from .base import COUNT_PATH, NAMES_PATH, BaseClient, log
from .paging import PagedQuery, PagePlan
from .progress import Progress
from .requests import AsyncRequestsMixin, RequestsMixin
from .retry import NO_RETRY

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")
Flow = Generator[httpx.Request | float, Any, T]


@dataclass
class FetchStats:
    """What the last fetch did: pages, how many came from the cache, HTTP requests sent."""

    pages: int = 0
    cached_pages: int = 0
    requests: int = 0
    rows: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"{self.rows:,} rows in {self.pages} page(s), {self.cached_pages} from the cache, "
            f"{self.requests} HTTP request(s)"
        )


class _Stats:
    """Per-call state shared with the page workers: counters, and the signal to stop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value = FetchStats()
        #: set when the call has returned or failed: read-ahead pages still running give up
        self.stop = threading.Event()

    def request(self) -> None:
        with self.lock:
            self.value.requests += 1


class _Abandoned(Exception):
    """A page task noticed that its call has already returned (never leaves the client)."""


class Client(RequestsMixin, BaseClient):
    """Synchronous Helicone client.

    Parameters
    ----------
    api_key
        Helicone API key; default ``$HELICONE_API_KEY``. Never shown in reprs, logs or errors.
    region
        ``"us"`` or ``"eu"`` (default: ``"eu"`` for ``sk-helicone-eu-`` keys, else ``"us"``).
    base_url
        A self-hosted Helicone (default ``$HELICONE_BASE_URL``); excludes ``region``.
    timeout
        Seconds per request (or an ``httpx.Timeout``).
    retries
        A :class:`RetryPolicy` or the maximum number of retries.
    concurrency
        Pages fetched at once (default 4).
    cache
        True (default: the user cache dir or ``$HELICONE_NB_CACHE_DIR``), False, a directory,
        or a :class:`PageCache`.
    progress
        Show a progress bar: True, False, or None = only when interactive.
    transport
        An ``httpx.BaseTransport`` to send through (tests, the embedded backend).

    Examples
    --------
    >>> import helicone_nb as hnb
    >>> client = hnb.Client()                                   # doctest: +SKIP
    >>> df = client.fetch_sessions("7d", search="support")      # doctest: +SKIP
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(api_key, **kwargs)
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout, transport=transport)
        self.last_fetch = FetchStats()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the send loop ---------------------------------------------------------------------

    def _run(self, flow: Flow[T], stats: _Stats | None = None) -> T:
        try:
            step = next(flow)
            while True:
                if stats is not None and stats.stop.is_set():
                    flow.close()
                    raise _Abandoned
                if isinstance(step, float):
                    if stats is not None:
                        stats.stop.wait(step)
                    else:
                        time.sleep(step)
                    step = flow.send(None)
                    continue
                if stats is not None:
                    stats.request()
                try:
                    response = self._http.send(step)
                except httpx.RequestError as exc:
                    step = flow.throw(exc)
                    continue
                step = flow.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _post(self, path: str, body: dict[str, Any], stats: _Stats | None = None) -> Any:
        return self._run(self._request_flow(self._http, path, body), stats)

    # -- public API ------------------------------------------------------------------------

    def fetch_sessions(
        self,
        start: Any = None,
        end: Any = None,
        *,
        search: str = "",
        name: str | None = None,
        filter: FilterLike = None,
        tz: str | _dt.tzinfo = "UTC",
        max_sessions: int | None = None,
        page_size: int | None = None,
        refresh: bool = False,
        cache: bool = True,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Sessions in a time window as a typed DataFrame, one row per (id, name) pair.

        Parameters
        ----------
        start, end
            Window bounds: aware or naive datetimes (naive read in ``tz``), pandas Timestamps,
            dates, ISO strings, epoch milliseconds, or relative strings ("7d", "24h") before
            now. ``end`` defaults to now. Relative bounds are aligned to the minute.
        search
            Case-insensitive substring of the session id or name (``%`` and ``_`` are
            wildcards in Helicone).
        name
            Exact, case-sensitive session name.
        filter
            A builder expression (``hnb.request.model == "gpt-4o"``), a raw Helicone filter
            dict, ``"all"`` or None.
        tz
            Zone for naive inputs and for the returned timestamps.
        max_sessions
            Stop after this many sessions.
        page_size
            Rows per request (1..1000; default the client's, 1000).
        refresh
            Ignore cached pages (and overwrite them).
        cache
            False: neither read nor write the page cache for this call.
        progress
            Progress bar: True / False / None (only when interactive).

        Returns
        -------
        pandas.DataFrame
            Columns as documented in README ("The sessions DataFrame").
        """
        query = self._sessions_query(
            start,
            end,
            search=search,
            name=name,
            filter=filter,
            tz=tz,
            max_sessions=max_sessions,
            page_size=page_size,
        )
        return self._paginate(query, tz, cache=cache, refresh=refresh, progress=progress)

    def fetch_session_requests(
        self,
        session_id: str,
        *,
        start: Any = None,
        end: Any = None,
        tz: str | _dt.tzinfo = "UTC",
        filter: FilterLike = None,
        max_requests: int | None = None,
        refresh: bool = False,
        cache: bool = True,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """One session's requests (``/v1/request/query-clickhouse``), oldest first.

        ``start`` / ``end`` optionally restrict to a window (same forms as
        :meth:`fetch_sessions`); ``filter`` adds request-level conditions.
        Columns as documented in README ("The requests DataFrame").
        """
        query = self._requests_query(session_id, start, end, tz, filter, max_requests)
        return self._paginate(query, tz, cache=cache, refresh=refresh, progress=progress)

    def count_sessions(
        self,
        start: Any = None,
        end: Any = None,
        *,
        search: str = "",
        name: str | None = None,
        filter: FilterLike = None,
        tz: str | _dt.tzinfo = "UTC",
    ) -> SessionsAggregateMetrics:
        """``/v1/session/count``: count, total and average cost, average requests and latency.

        Note Helicone's ``avg_latency`` here is the total latency per session.
        """
        query = self._sessions_query(
            start,
            end,
            search=search,
            name=name,
            filter=filter,
            tz=tz,
            max_sessions=None,
            page_size=None,
        )
        data = self._post(COUNT_PATH, query.body)
        return _metrics(data)

    def session_names(
        self,
        contains: str = "",
        *,
        start: Any = None,
        end: Any = None,
        tz: str | _dt.tzinfo = "UTC",
    ) -> pd.DataFrame:
        """Up to 50 session names containing ``contains`` (``/v1/session/name/query``)."""
        body = self._names_body(contains, start, end, tz)
        return _names_frame(self._post(NAMES_PATH, body), tz)

    # -- paging ----------------------------------------------------------------------------

    def _page_task(
        self, query: PagedQuery, offset: int, stats: _Stats, write: bool, read: bool
    ) -> tuple[pd.DataFrame, bool]:
        cached = self._cached_page(query, offset, read)
        if cached is not None:
            return cached, True
        data = self._run(
            self._request_flow(
                self._http, query.path, query.page_body(offset), query.success_status
            ),
            stats,
        )
        frame = self._page_frame(query, data)
        self._store_page(query, offset, frame, write)
        return frame, False

    def _count_task(self, query: PagedQuery, stats: _Stats, write: bool) -> int | None:
        assert query.count_body is not None
        try:
            # the count only saves requests: one attempt, then page without it
            flow = self._request_flow(self._http, COUNT_PATH, query.count_body, policy=NO_RETRY)
            count = self._read_count(self._run(flow, stats))
        except AuthenticationError:
            raise
        except APIError as exc:  # count is an optimisation: page without it
            log.info("session count unavailable (%s); reading ahead instead", exc)
            return None
        self._store_count(query, count, write)
        return count

    def _paginate(
        self,
        query: PagedQuery,
        tz: str | _dt.tzinfo,
        *,
        cache: bool,
        refresh: bool,
        progress: bool | None,
    ) -> pd.DataFrame:
        started = time.perf_counter()
        stats = _Stats()
        plan = self._new_plan(query)
        bar = self._progress_bar(query, progress)
        read = cache and not refresh
        warm = self._warm_start(query, plan, bar, read=read)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="helicone")
        counter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helicone-count")
        futures: dict[Future[Any], int | None] = {}
        try:
            if not plan.done() and query.count_body is not None and not warm:
                futures[counter.submit(self._count_task, query, stats, cache)] = None
                plan.count_pending = True
            # the count is waited for even when the pages are done: it is cached for resumes
            while not plan.done() or None in futures.values():
                pages_in_flight = sum(k is not None for k in futures.values())
                for offset in plan.next_offsets(in_flight=pages_in_flight):
                    futures[pool.submit(self._page_task, query, offset, stats, cache, read)] = (
                        offset
                    )
                if not futures:
                    break
                pending = (
                    futures if not plan.done() else [f for f, k in futures.items() if k is None]
                )
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key = futures.pop(fut)
                    self._apply(plan, bar, key, fut.result())
        except (APIError, KeyboardInterrupt) as exc:
            for fut in futures:
                fut.cancel()
            if not isinstance(exc, KeyboardInterrupt):
                for fut in wait(futures).done:  # keep what the other workers fetched
                    if not fut.cancelled() and fut.exception() is None:
                        self._apply(plan, bar, futures[fut], fut.result())
            raise self._incomplete(query, plan, tz, exc) from exc
        finally:
            stats.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            counter.shutdown(wait=False, cancel_futures=True)
            bar.close()
            self.last_fetch = self._stats(plan, bar, stats, started)
        return self._finish(query, plan, tz)

    @staticmethod
    def _apply(plan: PagePlan, bar: Progress, key: int | None, result: Any) -> None:
        if key is None:
            plan.count_pending = False
            if result is not None:
                plan.count = result
                bar.set_total(max(1, -(-result // plan.page_size)))
            return
        frame, cached = result
        plan.add(key, frame)
        bar.page(len(frame), cached)

    @staticmethod
    def _stats(plan: PagePlan, bar: Progress, stats: _Stats, started: float) -> FetchStats:
        value = stats.value
        value.pages = len(plan.ordered_frames())  # speculative pages past the end not counted
        value.cached_pages = bar.hits
        value.rows = bar.rows
        value.seconds = time.perf_counter() - started
        return value


class AsyncClient(AsyncRequestsMixin, BaseClient):
    """Asynchronous Helicone client: the same methods as :class:`Client`, awaitable.

    Pass ``transport`` an ``httpx.AsyncBaseTransport``.

    Examples
    --------
    >>> async with hnb.AsyncClient() as client:               # doctest: +SKIP
    ...     df = await client.fetch_sessions("7d")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(api_key, **kwargs)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout, transport=transport
        )
        self.last_fetch = FetchStats()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self, flow: Flow[T], stats: _Stats | None = None) -> T:
        try:
            step = next(flow)
            while True:
                if isinstance(step, float):
                    await asyncio.sleep(step)
                    step = flow.send(None)
                    continue
                if stats is not None:
                    stats.request()
                try:
                    response = await self._http.send(step)
                except httpx.RequestError as exc:
                    step = flow.throw(exc)
                    continue
                step = flow.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def _post(self, path: str, body: dict[str, Any], stats: _Stats | None = None) -> Any:
        return await self._run(self._request_flow(self._http, path, body), stats)

    async def fetch_sessions(
        self,
        start: Any = None,
        end: Any = None,
        *,
        search: str = "",
        name: str | None = None,
        filter: FilterLike = None,
        tz: str | _dt.tzinfo = "UTC",
        max_sessions: int | None = None,
        page_size: int | None = None,
        refresh: bool = False,
        cache: bool = True,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Awaitable :meth:`Client.fetch_sessions`."""
        query = self._sessions_query(
            start,
            end,
            search=search,
            name=name,
            filter=filter,
            tz=tz,
            max_sessions=max_sessions,
            page_size=page_size,
        )
        return await self._paginate(query, tz, cache=cache, refresh=refresh, progress=progress)

    async def fetch_session_requests(
        self,
        session_id: str,
        *,
        start: Any = None,
        end: Any = None,
        tz: str | _dt.tzinfo = "UTC",
        filter: FilterLike = None,
        max_requests: int | None = None,
        refresh: bool = False,
        cache: bool = True,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Awaitable :meth:`Client.fetch_session_requests`."""
        query = self._requests_query(session_id, start, end, tz, filter, max_requests)
        return await self._paginate(query, tz, cache=cache, refresh=refresh, progress=progress)

    async def count_sessions(
        self,
        start: Any = None,
        end: Any = None,
        *,
        search: str = "",
        name: str | None = None,
        filter: FilterLike = None,
        tz: str | _dt.tzinfo = "UTC",
    ) -> SessionsAggregateMetrics:
        """Awaitable :meth:`Client.count_sessions`."""
        query = self._sessions_query(
            start,
            end,
            search=search,
            name=name,
            filter=filter,
            tz=tz,
            max_sessions=None,
            page_size=None,
        )
        return _metrics(await self._post(COUNT_PATH, query.body))

    async def session_names(
        self,
        contains: str = "",
        *,
        start: Any = None,
        end: Any = None,
        tz: str | _dt.tzinfo = "UTC",
    ) -> pd.DataFrame:
        """Awaitable :meth:`Client.session_names`."""
        body = self._names_body(contains, start, end, tz)
        return _names_frame(await self._post(NAMES_PATH, body), tz)

    async def _page_task(
        self,
        query: PagedQuery,
        offset: int,
        stats: _Stats,
        write: bool,
        read: bool,
        gate: asyncio.Semaphore,
    ) -> tuple[pd.DataFrame, bool]:
        cached = self._cached_page(query, offset, read)
        if cached is not None:
            return cached, True
        async with gate:
            data = await self._run(
                self._request_flow(
                    self._http, query.path, query.page_body(offset), query.success_status
                ),
                stats,
            )
        frame = self._page_frame(query, data)
        self._store_page(query, offset, frame, write)
        return frame, False

    async def _count_task(self, query: PagedQuery, stats: _Stats, write: bool) -> int | None:
        assert query.count_body is not None
        try:
            flow = self._request_flow(self._http, COUNT_PATH, query.count_body, policy=NO_RETRY)
            data = await self._run(flow, stats)
            count = self._read_count(data)
        except AuthenticationError:
            raise
        except APIError as exc:  # count is an optimisation: page without it
            log.info("session count unavailable (%s); reading ahead instead", exc)
            return None
        self._store_count(query, count, write)
        return count

    async def _paginate(
        self,
        query: PagedQuery,
        tz: str | _dt.tzinfo,
        *,
        cache: bool,
        refresh: bool,
        progress: bool | None,
    ) -> pd.DataFrame:
        started = time.perf_counter()
        stats = _Stats()
        plan = self._new_plan(query)
        bar = self._progress_bar(query, progress)
        read = cache and not refresh
        warm = self._warm_start(query, plan, bar, read=read)
        gate = asyncio.Semaphore(self.concurrency)
        tasks: dict[asyncio.Task[Any], int | None] = {}
        try:
            if not plan.done() and query.count_body is not None and not warm:
                tasks[asyncio.ensure_future(self._count_task(query, stats, cache))] = None
                plan.count_pending = True
            while not plan.done() or None in tasks.values():
                pages_in_flight = sum(k is not None for k in tasks.values())
                for offset in plan.next_offsets(in_flight=pages_in_flight):
                    task = asyncio.ensure_future(
                        self._page_task(query, offset, stats, cache, read, gate)
                    )
                    tasks[task] = offset
                if not tasks:
                    break
                pending_tasks = (
                    tasks if not plan.done() else [t for t, k in tasks.items() if k is None]
                )
                finished, _ = await asyncio.wait(pending_tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    key = tasks.pop(task)
                    Client._apply(plan, bar, key, task.result())
        except (APIError, KeyboardInterrupt, asyncio.CancelledError) as exc:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            for task, key in tasks.items():
                if not task.cancelled() and task.exception() is None:
                    Client._apply(plan, bar, key, task.result())
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise self._incomplete(query, plan, tz, exc) from exc
        finally:
            for task in tasks:
                task.cancel()
            bar.close()
            self.last_fetch = Client._stats(plan, bar, stats, started)
        return self._finish(query, plan, tz)


def _metrics(data: Any) -> SessionsAggregateMetrics:
    try:
        return SessionsAggregateMetrics.model_validate(data)
    except Exception:
        raise ResponseFormatError(
            f"/v1/session/count returned an unexpected shape: {data!r:.120}"
        ) from None


def _names_frame(data: Any, tz: str | _dt.tzinfo) -> pd.DataFrame:
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
