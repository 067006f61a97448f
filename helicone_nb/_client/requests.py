"""``fetch_requests``: every request row of a window, by time chains (REQUEST_API.md section 7).

The slice planning is :mod:`.slices` (no I/O); one request with retries is
:func:`.retry.request_flow` (no I/O); :func:`paced` wraps that flow to count calls and to pace
on ``RateLimit-Remaining`` / ``RateLimit-Reset``. The two shells only send:
:func:`run_slices` (threads, for ``Client`` and the mirror's sync) and :func:`arun_slices`
(tasks, for ``AsyncClient``). Completed slices are cached, so a failed or interrupted pull
resumes without fetching them again.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import threading
import time
import warnings
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .._errors import APIError, EmptyWindowWarning, IncompleteFetchError, UsageError
from .._wire.filters import ALL, FilterLike, as_filter
from .._wire.models import REQUESTS_PATH
from .progress import interactive
from .slices import Call, Completed, Range, SlicePlanner, floor_second, subtract_ranges

if TYPE_CHECKING:
    import pandas as pd

    from .base import BaseClient

#: Pace evenly once fewer than this share of the rate-limit window's calls is left.
PACE_BELOW = 0.2
#: Calls kept in reserve for other users of the same key.
RESERVE = 5


class RateMeter:
    """Counts calls and paces them on Helicone's ``RateLimit-*`` headers (thread-safe)."""

    def __init__(self, max_calls: int | None = None, reserve: int = RESERVE) -> None:
        self.max_calls = max_calls
        #: calls kept back: at least the calls in flight, whose answers are not counted yet
        self.reserve = reserve
        self.calls = 0
        self.waited = 0.0
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset_at = 0.0
        self._next_at = 0.0

    def observe(self, headers: httpx.Headers) -> None:
        try:
            remaining = int(headers["ratelimit-remaining"])
            reset = float(headers.get("ratelimit-reset", "0"))
            limit = int(headers.get("ratelimit-limit", "0")) or None
        except (KeyError, ValueError):
            return
        with self._lock:
            self._remaining, self._limit = remaining, limit
            self._reset_at = time.monotonic() + max(0.0, reset)

    def delay(self) -> float:
        """Seconds to wait before the next call (and reserve its slot)."""
        with self._lock:
            self.calls += 1
            now = time.monotonic()
            remaining = self._remaining
            if remaining is None or now >= self._reset_at:
                return 0.0
            window = self._reset_at - now
            if remaining <= self.reserve:
                wait_s = window
            elif self._limit and remaining < self._limit * PACE_BELOW:
                spacing = window / max(remaining - self.reserve, 1)
                start = max(now, self._next_at)
                self._next_at = start + spacing
                wait_s = start - now
            else:
                wait_s = 0.0
            self._remaining = remaining - 1
            self.waited += wait_s
            return wait_s


def paced(flow: Generator[Any, Any, Any], meter: RateMeter) -> Generator[Any, Any, Any]:
    """``flow`` (a :func:`.retry.request_flow`), counting and pacing every request it sends."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, httpx.Request):
                wait_s = meter.delay()
                if wait_s > 0:
                    yield wait_s
                try:
                    answer = yield step
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                    continue
                meter.observe(answer.headers)
                step = flow.send(answer)
            else:
                yield step
                step = flow.send(None)
    except StopIteration as stop:
        return stop.value


@dataclass
class SliceRun:
    """What a sliced pull did: calls, rows, completed and remaining ranges, the error if any."""

    calls: int = 0
    rows: int = 0
    slices: int = 0
    seconds: float = 0.0
    waited: float = 0.0
    remaining: list[Range] = field(default_factory=list)
    error: BaseException | None = None
    budget_reached: bool = False


class _Bar:
    """Progress over the time range: slices, requests, calls and an ETA (interactive only)."""

    def __init__(self, ranges: Sequence[Range], enabled: bool | None, label: str) -> None:
        self.total = sum((b - a).total_seconds() for a, b in ranges) or 1.0
        self.done = 0.0
        self.label = label
        self._bar: Any = None
        if enabled is None:
            enabled = interactive()
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=1000,
                desc=label,
                delay=0.5,
                leave=False,
                dynamic_ncols=True,
                bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
            )

    def update(
        self, completed: Completed, planner: SlicePlanner, meter: RateMeter, slices: int
    ) -> None:
        self.done += (completed.end - completed.start).total_seconds()
        if self._bar is not None:
            self._bar.set_description_str(
                f"{self.label}: {slices:,} slices, {planner.rows_done:,} requests, "
                f"{meter.calls:,} calls",
                refresh=False,
            )
            self._bar.n = min(1000, round(1000 * self.done / self.total))
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_slices(
    client: Any,
    ranges: Sequence[Range],
    on_complete: Callable[[Completed], None],
    *,
    extra_filter: Any = None,
    concurrency: int | None = None,
    max_calls: int | None = None,
    density: float | None = None,
    page_size: int | None = None,
    progress: bool | None = None,
    label: str = "requests",
    meter: RateMeter | None = None,
    on_estimate: Callable[[int], None] | None = None,
) -> SliceRun:
    """Fetch every request of ``ranges`` with ``client`` (threads); never raises an API error.

    ``on_complete`` gets each proven slice (from this thread, in completion order). A call
    that fails after its retries stops new work; slices under way finish. The result says
    what is left (``remaining``) and why (``error``, ``budget_reached``). ``on_estimate`` gets
    the number of calls the run is expected to make, once, as soon as the first page showed
    how dense the data is.
    """
    planner = SlicePlanner(ranges, page_size=page_size or client.page_size, density=density)
    meter = meter or RateMeter(max_calls)
    workers = concurrency or client.concurrency
    meter.reserve = max(meter.reserve, workers + 1)
    run = SliceRun()
    started = time.monotonic()
    bar = _Bar(ranges, progress if progress is not None else client.progress, label)
    stop = threading.Event()

    def send(call: Call) -> Any:
        flow = client._request_flow(
            client._http, REQUESTS_PATH, call.body(extra_filter), (200, 201)
        )
        return client._run(paced(flow, meter))

    pending: dict[Future[Any], Call] = {}
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hnb-slices") as pool:
            while True:
                if not stop.is_set():
                    room = workers - len(pending)
                    budget = None
                    if max_calls is not None:
                        budget = max_calls - meter.calls - len(pending)
                        room = min(room, budget)
                    if room > 0:
                        for call in planner.next_calls(room, budget):
                            pending[pool.submit(send, call)] = call
                if not pending:
                    run.budget_reached = max_calls is not None and not planner.done
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    call = pending.pop(future)
                    try:
                        rows = future.result()
                        if not isinstance(rows, list):
                            raise APIError(f"expected a list of rows, got {type(rows).__name__}")
                    except APIError as exc:
                        planner.fail(call)
                        run.error = run.error or exc
                        stop.set()
                        planner.stop()
                        continue
                    for completed in planner.answer(call, rows):
                        on_complete(completed)
                        run.slices += 1
                        bar.update(completed, planner, meter, run.slices)
                    if on_estimate is not None:
                        estimate = planner.estimate_total()
                        if estimate is not None:
                            on_estimate(estimate)
                            on_estimate = None
                if stop.is_set() and not pending:
                    break
    finally:
        bar.close()
    run.calls = meter.calls
    run.rows = planner.rows_done
    run.waited = meter.waited
    run.remaining = planner.remaining()
    run.seconds = time.monotonic() - started
    return run


async def arun_slices(
    client: Any,
    ranges: Sequence[Range],
    on_complete: Callable[[Completed], None],
    *,
    extra_filter: Any = None,
    concurrency: int | None = None,
    page_size: int | None = None,
) -> SliceRun:
    """:func:`run_slices` for ``AsyncClient`` (tasks instead of threads)."""
    planner = SlicePlanner(ranges, page_size=page_size or client.page_size)
    workers = concurrency or client.concurrency
    meter = RateMeter(reserve=max(RESERVE, workers + 1))
    run = SliceRun()
    started = time.monotonic()

    async def send(call: Call) -> Any:
        flow = client._request_flow(
            client._http, REQUESTS_PATH, call.body(extra_filter), (200, 201)
        )
        return await client._run(paced(flow, meter))

    pending: dict[asyncio.Task[Any], Call] = {}
    while True:
        if run.error is None:
            for call in planner.next_calls(workers - len(pending)):
                pending[asyncio.ensure_future(send(call))] = call
        if not pending:
            break
        finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            call = pending.pop(task)
            try:
                rows = task.result()
            except APIError as exc:
                planner.fail(call)
                run.error = run.error or exc
                planner.stop()
                continue
            for completed in planner.answer(call, rows):
                on_complete(completed)
                run.slices += 1
    run.calls = meter.calls
    run.rows = planner.rows_done
    run.remaining = planner.remaining()
    run.seconds = time.monotonic() - started
    return run


# ------------------------------------------------------------------------------------------
# fetch_requests: arguments, cache, frames (shared by both clients)
# ------------------------------------------------------------------------------------------


@dataclass
class RequestPull:
    """One ``fetch_requests`` call, resolved and checked before anything is sent."""

    start: _dt.datetime
    end: _dt.datetime
    wire_filter: Any
    tz: str | _dt.tzinfo
    max_requests: int | None
    page_size: int | None
    signature: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    todo: list[Range] = field(default_factory=list)


def prepare(
    client: BaseClient,
    start: Any,
    end: Any,
    filter: FilterLike,
    tz: str | _dt.tzinfo,
    max_requests: int | None,
    page_size: int | None,
    use_cache: bool,
) -> RequestPull:
    """Check the arguments, and take completed slices from the cache."""
    window = client._window(start, end, tz)  # relative windows count from the client's now
    flt = as_filter(filter)
    if "session" in flt.levels:
        raise UsageError(
            "fetch_requests takes request-level filters only (hnb.request..., hnb.prop(...)); "
            "session-level conditions (hnb.session...) apply to fetch_sessions"
        )
    if max_requests is not None and (
        isinstance(max_requests, bool) or not isinstance(max_requests, int) or max_requests < 1
    ):
        raise UsageError(f"max_requests must be a positive integer, got {max_requests!r}")
    if page_size is not None:
        page_size = client._check_page_size(page_size)
    wire = None if flt is ALL else flt.to_wire("UTC")
    signature = hashlib.sha256(
        json.dumps(
            {"v": 1, "base_url": client.base_url, "org": client._fingerprint, "filter": wire},
            sort_keys=True,
        ).encode()
    ).hexdigest()
    pull = RequestPull(window.start, window.end, wire, tz, max_requests, page_size, signature)
    pull.todo = [(window.start, window.end)]
    if use_cache and client.cache is not None:
        index = client.cache.get(_index_key(signature)) or []
        covered: list[Range] = []
        for a, b, key in index:
            if a >= pull.start - _dt.timedelta(seconds=1) and b <= pull.end + _dt.timedelta(
                seconds=1
            ):
                rows = client.cache.get(key)
                if rows is not None:
                    pull.rows.extend(rows)
                    covered.append((a, b))
        pull.todo = subtract_ranges([(floor_second(pull.start), pull.end)], covered)
    return pull


_index_lock = threading.Lock()


def _index_key(signature: str) -> str:
    return hashlib.sha256(f"request-slices:{signature}".encode()).hexdigest()


def remember(client: BaseClient, pull: RequestPull, completed: Completed) -> None:
    """Keep ``completed`` for this pull and in the cache (settled slices for good)."""
    pull.rows.extend(completed.rows)
    cache = client.cache
    if cache is None:
        return
    key = hashlib.sha256(
        f"{pull.signature}:{completed.start.isoformat()}:{completed.end.isoformat()}".encode()
    ).hexdigest()
    cache.put(key, completed.rows, completed.end)
    with _index_lock:
        index = cache.get(_index_key(pull.signature)) or []
        index.append((completed.start, completed.end, key))
        cache.put(_index_key(pull.signature), index, None)


def warn_if_outside(client: BaseClient, pull: RequestPull, frame: pd.DataFrame) -> None:
    """An empty pull whose window lies wholly outside the data the client holds warns."""
    if len(frame):
        return
    known = client.data_range()
    if known is None or (pull.end > known[0] and pull.start < known[1]):
        return
    warnings.warn(
        f"no requests: the window {pull.start:%Y-%m-%d %H:%M} to {pull.end:%Y-%m-%d %H:%M} UTC "
        f"lies wholly outside the data this client holds, {known[0]:%Y-%m-%d %H:%M} to "
        f"{known[1]:%Y-%m-%d %H:%M} UTC. Ask for a window inside that range.",
        EmptyWindowWarning,
        stacklevel=3,
    )


def finish(pull: RequestPull) -> pd.DataFrame:
    """The typed requests frame: one row per request (greatest ``updated_at``), oldest first."""
    from .._frames import requests_frame
    from .slices import created_at, version_key

    best: dict[str, dict[str, Any]] = {}
    for row in pull.rows:
        t = created_at(row)
        if t is None or not pull.start <= t < pull.end:
            continue
        rid = row["request_id"]
        old = best.get(rid)
        if old is None or version_key(row) >= version_key(old):
            best[rid] = row
    rows = sorted(best.values(), key=lambda r: (created_at(r), r["request_id"]))
    if pull.max_requests is not None:
        rows = rows[: pull.max_requests]
    return requests_frame(rows, tz=pull.tz)


def incomplete(pull: RequestPull, run: SliceRun) -> IncompleteFetchError:
    assert run.error is not None
    error = run.error
    missing = ", ".join(
        f"[{a:%Y-%m-%d %H:%M:%S}, {b:%Y-%m-%d %H:%M:%S})" for a, b in run.remaining[:3]
    )
    exc = IncompleteFetchError(
        f"fetch_requests stopped after {run.slices} slice(s) ({run.rows:,} requests): "
        f"{error}. Not fetched: {missing}{' ...' if len(run.remaining) > 3 else ''}. "
        ".partial holds the requests fetched; run the same call again to fetch only the rest "
        "(completed slices are cached).",
        partial=finish(pull),
        pages_done=run.calls,
        method=getattr(error, "method", ""),
        url=getattr(error, "url", ""),
    )
    exc.__cause__ = error
    return exc


def collector(client: BaseClient, pull: RequestPull, cache: bool) -> Callable[[Completed], None]:
    """What a slice run calls with each proven slice: keep it (and cache it when ``cache``)."""
    use_cache = cache and client.cache is not None

    def keep(done: Completed) -> None:
        if use_cache:
            remember(client, pull, done)
        else:
            pull.rows.extend(done.rows)

    return keep


def conclude(client: BaseClient, pull: RequestPull, run: SliceRun) -> pd.DataFrame:
    """The frame of a finished run, or its error (a refusal before any row is raised as is)."""
    if run.error is not None:
        if run.slices == 0 and not pull.rows:
            raise run.error
        raise incomplete(pull, run)
    frame = finish(pull)
    warn_if_outside(client, pull, frame)
    return frame


class RequestsMixin:
    """``Client.fetch_requests``."""

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
        """Every request in ``[start, end)`` as the typed requests frame, oldest first.

        Pages ``/v1/request/query-clickhouse`` by a few ascending time chains (see
        README, "Request pulls"): one row per request (the greatest ``updated_at`` wins),
        whole-second bounds, ``filter`` with request-level conditions only. Completed
        slices are cached (``cache=False`` neither reads nor writes, ``refresh=True`` fetches
        again); after a failure, :class:`~helicone_nb.IncompleteFetchError` holds the rows
        fetched in ``.partial`` and the same call fetches only the rest.
        """
        client: Any = self  # a Client: the mixin only adds this method
        pull = prepare(
            client, start, end, filter, tz, max_requests, page_size, cache and not refresh
        )
        keep = collector(client, pull, cache)
        run = run_slices(
            client,
            pull.todo,
            keep,
            extra_filter=pull.wire_filter,
            page_size=pull.page_size,
            progress=progress,
        )
        return conclude(client, pull, run)


class AsyncRequestsMixin:
    """``AsyncClient.fetch_requests``."""

    async def fetch_requests(
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
        """:meth:`Client.fetch_requests <helicone_nb.Client.fetch_requests>`, awaited."""
        del progress  # no bar for async pulls
        client: Any = self  # an AsyncClient
        pull = prepare(
            client, start, end, filter, tz, max_requests, page_size, cache and not refresh
        )
        keep = collector(client, pull, cache)
        run = await arun_slices(
            client, pull.todo, keep, extra_filter=pull.wire_filter, page_size=pull.page_size
        )
        return conclude(client, pull, run)
