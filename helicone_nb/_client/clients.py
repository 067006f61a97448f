"""``Client`` and ``AsyncClient``: the send loops around :class:`~.base.BaseClient`.

All decisions (bodies, retries, errors, page planning, caching, warnings) are no-I/O
generators: the request generator (:mod:`.retry`), the page and count flows (:mod:`.paging`)
and the scheduler of a pull (:mod:`.scheduler`). Each shell here only carries out their steps:
send a request, sleep, read or write a cache entry, and submit / wait for / cancel tasks
(threads for ``Client``, so it also works inside Jupyter's running event loop; asyncio tasks
for ``AsyncClient``, which reads and writes cache files in a worker thread).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import httpx

from .._wire.filters import FilterLike
from .._wire.models import COUNT_PATH, NAMES_PATH, SessionsAggregateMetrics
from .base import BaseClient, names_frame, read_metrics
from .paging import CacheRead, CacheWrite, PagedQuery, TaskFlow
from .requests import AsyncRequestsMixin, RequestsMixin
from .scheduler import COUNT, RECOUNT, Done, Drain, FetchStats, Pull, PullFlow, Submit, Tag, Wait

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AsyncClient", "Client", "FetchStats"]


class _Stats:
    """Per-call state shared with the tasks: the request counter, and the signal to stop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        #: set when the call has returned or failed: read-ahead pages still running give up
        self.stop = threading.Event()

    def request(self) -> None:
        with self.lock:
            self.requests += 1


class _Abandoned(Exception):
    """A task noticed that its call has already returned (never leaves the client)."""


def _outcome(tag: Tag, fut: Future[Any] | asyncio.Task[Any]) -> Done:
    error = fut.exception()
    return Done(tag, None if error is not None else fut.result(), error)


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
    data_range
        ``(start, end)`` of the data this client can see, or a zero-argument callable returning
        it (or None). It is asked lazily, only when a result comes back empty: an empty result
        whose window lies wholly outside it raises :class:`~helicone_nb.EmptyWindowWarning`
        naming the range that has data. ``connect(demo=True)`` passes the demo period. A
        client over an in-process backend of a local mirror passes the mirror's range, e.g.
        ``Client(key, base_url=..., transport=InProcessTransport(backend),
        data_range=lambda: mirror_time_range())``, so the range is read when it is needed and
        follows later syncs.
    now
        The instant relative windows (``"7d"``, ``"now"``, a missing ``end``) count back from:
        a datetime or a zero-argument callable returning one; default the real current time.
        Demo clients count back from the end of the demo period. (A mirror of live data keeps
        the real time: its newest rows are recent.)

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
        self._http: httpx.Client = httpx.Client(
            base_url=self.base_url, timeout=self.timeout, transport=transport
        )
        self.last_fetch = FetchStats()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the send loops --------------------------------------------------------------------

    def _run(self, flow: TaskFlow, stats: _Stats | None = None) -> Any:
        """Carry out one task flow's steps: requests, sleeps, cache reads and writes."""
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
                elif isinstance(step, CacheRead | CacheWrite):
                    step = flow.send(self._cache_step(step))
                else:
                    if stats is not None:
                        stats.request()
                    try:
                        response = self._http.send(step)
                    except httpx.RequestError as exc:
                        step = flow.throw(exc)
                        continue
                    step = flow.send(response)
        except StopIteration as stop:
            return stop.value

    def _cache_step(self, step: CacheRead | CacheWrite) -> Any:
        if self.cache is None:
            return None
        if isinstance(step, CacheRead):
            if step.keep:
                return self.cache.get(step.key, keep=True)
            return self.cache.get(step.key)
        self.cache.put(step.key, step.value, step.window_end)
        return None

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._run(self._request_flow(self._http, path, body))

    def _pull(self, pull: Pull) -> pd.DataFrame:
        """Carry out a pull's commands: submit, wait, cancel (threads)."""
        started = time.perf_counter()
        stats = _Stats()
        flow: PullFlow = pull.run()
        pages = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="helicone")
        counts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helicone-count")
        futures: dict[Future[Any], Tag] = {}
        try:
            step = next(flow)
            while True:
                try:
                    if isinstance(step, Submit):
                        pool = counts if step.tag in (COUNT, RECOUNT) else pages
                        futures[pool.submit(self._run, step.flow, stats)] = step.tag
                        reply: Any = None
                    elif isinstance(step, Wait):
                        waiting = [f for f, tag in futures.items() if tag in step.tags]
                        finished, _ = wait(waiting, return_when=FIRST_COMPLETED)
                        reply = [_outcome(futures.pop(f), f) for f in finished]
                    elif isinstance(step, Drain):
                        for fut in futures:
                            fut.cancel()
                        finished = wait(futures).done
                        reply = [_outcome(futures[f], f) for f in finished if not f.cancelled()]
                        futures.clear()
                    else:
                        reply = self._cache_step(step)
                except KeyboardInterrupt as exc:
                    for fut in futures:
                        fut.cancel()
                    step = flow.throw(exc)
                    continue
                step = flow.send(reply)
        except StopIteration as stop:
            frame: pd.DataFrame = stop.value
            return frame
        finally:
            stats.stop.set()
            pages.shutdown(wait=False, cancel_futures=True)
            counts.shutdown(wait=False, cancel_futures=True)
            flow.close()
            self.last_fetch = pull.stats(stats.requests, time.perf_counter() - started)

    def _paginate(
        self,
        query: PagedQuery,
        tz: str | _dt.tzinfo,
        *,
        cache: bool,
        refresh: bool,
        progress: bool | None,
    ) -> pd.DataFrame:
        frame = self._pull(
            self._pull_for(query, tz, cache=cache, refresh=refresh, progress=progress)
        )
        self._warn_if_outside(frame, query)
        return frame

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
            dates, ISO 8601 strings, epoch milliseconds, or relative strings ("7d", "24h")
            before now. ``end`` defaults to now. Relative bounds are aligned to the minute.
            Nothing is guessed: epoch seconds and slashed dates are a UsageError.
        search
            Case-insensitive substring of the session id or name (``%`` and ``_`` are
            wildcards in Helicone).
        name
            Exact, case-sensitive session name.
        filter
            A builder expression (``hnb.request.model == "gpt-4o"``), a raw Helicone filter
            dict, ``"all"`` or None. A request-level condition trims each session: with
            ``hnb.request.model == "gpt-4o"`` a session row covers only its matching requests
            (``total_cost``, ``total_requests``, tokens and latency are over those requests),
            and a session-level condition is tested on those trimmed sums.
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
        return read_metrics(data)

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
        return names_frame(self._post(NAMES_PATH, body), tz)


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
        self._http: httpx.AsyncClient = httpx.AsyncClient(
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

    async def _run(self, flow: TaskFlow, stats: _Stats | None = None) -> Any:
        """Carry out one task flow's steps; cache files are read and written in a thread."""
        try:
            step = next(flow)
            while True:
                if isinstance(step, float):
                    await asyncio.sleep(step)
                    step = flow.send(None)
                elif isinstance(step, CacheRead | CacheWrite):
                    step = flow.send(await self._cache_step(step))
                else:
                    if stats is not None:
                        stats.request()
                    try:
                        response = await self._http.send(step)
                    except httpx.RequestError as exc:
                        step = flow.throw(exc)
                        continue
                    step = flow.send(response)
        except StopIteration as stop:
            return stop.value

    async def _cache_step(self, step: CacheRead | CacheWrite) -> Any:
        if self.cache is None:
            return None
        if isinstance(step, CacheRead):
            if step.keep:
                return await asyncio.to_thread(self.cache.get, step.key, keep=True)
            return await asyncio.to_thread(self.cache.get, step.key)
        await asyncio.to_thread(self.cache.put, step.key, step.value, step.window_end)
        return None

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return await self._run(self._request_flow(self._http, path, body))

    async def _gated(self, gate: asyncio.Semaphore, flow: TaskFlow, stats: _Stats) -> Any:
        async with gate:
            return await self._run(flow, stats)

    async def _pull(self, pull: Pull) -> pd.DataFrame:
        """Carry out a pull's commands: submit, wait, cancel (asyncio tasks)."""
        started = time.perf_counter()
        stats = _Stats()
        flow: PullFlow = pull.run()
        gate = asyncio.Semaphore(self.concurrency)
        tasks: dict[asyncio.Task[Any], Tag] = {}
        try:
            step = next(flow)
            while True:
                try:
                    if isinstance(step, Submit):
                        if step.tag in (COUNT, RECOUNT):
                            job = self._run(step.flow, stats)
                        else:
                            job = self._gated(gate, step.flow, stats)
                        tasks[asyncio.ensure_future(job)] = step.tag
                        reply: Any = None
                    elif isinstance(step, Wait):
                        waiting = [t for t, tag in tasks.items() if tag in step.tags]
                        finished, _ = await asyncio.wait(
                            waiting, return_when=asyncio.FIRST_COMPLETED
                        )
                        reply = [_outcome(tasks.pop(t), t) for t in finished]
                    elif isinstance(step, Drain):
                        await self._cancel(tasks)
                        reply = [_outcome(tag, t) for t, tag in tasks.items() if not t.cancelled()]
                        tasks.clear()
                    else:
                        reply = await self._cache_step(step)
                except KeyboardInterrupt as exc:
                    await self._cancel(tasks)
                    step = flow.throw(exc)
                    continue
                except asyncio.CancelledError:
                    await self._cancel(tasks)
                    raise
                step = flow.send(reply)
        except StopIteration as stop:
            frame: pd.DataFrame = stop.value
            return frame
        finally:
            for task in tasks:
                task.cancel()
            flow.close()
            self.last_fetch = pull.stats(stats.requests, time.perf_counter() - started)

    @staticmethod
    async def _cancel(tasks: dict[asyncio.Task[Any], Tag]) -> None:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _paginate(
        self,
        query: PagedQuery,
        tz: str | _dt.tzinfo,
        *,
        cache: bool,
        refresh: bool,
        progress: bool | None,
    ) -> pd.DataFrame:
        frame = await self._pull(
            self._pull_for(query, tz, cache=cache, refresh=refresh, progress=progress)
        )
        self._warn_if_outside(frame, query)
        return frame

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
        return read_metrics(await self._post(COUNT_PATH, query.body))

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
        return names_frame(await self._post(NAMES_PATH, body), tz)
