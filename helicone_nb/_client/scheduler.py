"""The one scheduler of every paged pull, without I/O: count first, offsets, salvage.

:class:`Pull` runs one :class:`~.paging.PagedQuery` as a generator of commands. A client shell
(``Client._pull`` with threads, ``AsyncClient._pull`` with asyncio tasks) only carries them out:

=========================== ==============================================================
command                     what the driver does, and what it sends back
=========================== ==============================================================
:class:`Submit`             start ``flow`` (a :data:`~.paging.TaskFlow`) as task ``tag``;
                            None. Tags are page offsets (int), :data:`COUNT`, :data:`RECOUNT`
:class:`Wait`               wait until at least one of ``tags`` finished; a list of
                            :class:`Done`
:class:`Drain`              cancel every task not finished, wait for those that cannot be
                            cancelled; a list of :class:`Done` (successes and failures)
:class:`~.paging.CacheRead` ``cache.get(key)``
:class:`~.paging.CacheWrite` ``cache.put(...)``; None
=========================== ==============================================================

A driver that is interrupted while waiting (``KeyboardInterrupt``) cancels its tasks and
``throw()``s the interrupt into the generator, which raises
:class:`~helicone_nb.IncompleteFetchError` with what was fetched.

The order of a pull: (1) the consolidated entry of the completed query, if cached: done with
one read; (2) the cached count and leading pages, in order; (3) the count beside page 0, then
every page the count implies (or read-ahead when there is no count), ``concurrency`` at a
time; on a failure, salvage the pages still in flight; (4) for a window still open (ending
less than ``settle`` ago), count once more: a moved count means rows moved between pages;
(5) finish (dedupe, warnings) and store the consolidated entry.
"""

from __future__ import annotations

import datetime as _dt
import gc
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _frames
from .._errors import APIError, APIStatusError, ResponseFormatError, TransportError, refusal
from .._wire.time import check_tz
from .paging import (
    CacheRead,
    CacheWrite,
    FlowContext,
    PagedQuery,
    PagePlan,
    TaskFlow,
    count_flow,
    finish,
    incomplete,
    page_flow,
    to_tz,
)
from .progress import Progress
from .retry import RetryPolicy

if TYPE_CHECKING:
    import pandas as pd

Tag = int | str
COUNT = "count"
RECOUNT = "recount"
#: the frame attribute that marks a consolidated entry (see :func:`pack_complete`)
COMPLETE_ATTR = "helicone_nb.complete"


@dataclass(frozen=True)
class Submit:
    """Command: start ``flow`` as task ``tag``."""

    tag: Tag
    flow: TaskFlow


@dataclass(frozen=True)
class Wait:
    """Command: wait until at least one of ``tags`` finished."""

    tags: tuple[Tag, ...]


@dataclass(frozen=True)
class Drain:
    """Command: cancel what can be cancelled, wait for the rest, report what finished."""


@dataclass(frozen=True)
class Done:
    """A finished task: its value, or the exception it raised."""

    tag: Tag
    value: Any = None
    error: BaseException | None = None


Command = Submit | Wait | Drain | CacheRead | CacheWrite
PullFlow = Generator[Command, Any, "pd.DataFrame"]


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


class Pull:
    """One paged pull of ``query``, shown in ``tz``: see the module docstring.

    ``read`` / ``write``: use / fill the page cache (when the context has one).
    ``stacklevel``: of the :class:`~helicone_nb.InconsistentPagesWarning`, counted from
    :meth:`run`'s frame.
    """

    def __init__(
        self,
        ctx: FlowContext,
        query: PagedQuery,
        tz: str | _dt.tzinfo,
        *,
        read: bool,
        write: bool,
        bar: Progress,
        stacklevel: int = 5,
    ) -> None:
        self.ctx = ctx
        self.query = query
        self.tz = tz
        self.read = read and ctx.cache_key is not None
        self.write = write and ctx.cache_key is not None
        self.bar = bar
        self.plan = PagePlan(query.page_size, query.max_rows, ctx.concurrency)
        self.network_pages = 0
        self.stacklevel = stacklevel
        self._entry: tuple[int, int] | None = None  # (pages, rows) of a consolidated entry

    # -- the pull --------------------------------------------------------------------------

    def run(self) -> PullFlow:
        try:
            if self.read:
                entry = yield CacheRead(self._complete_key(), keep=True)
                whole = unpack_complete(entry, self.query.max_rows)
                if whole is not None:
                    frame, pages, rows = whole
                    self._entry = (pages, rows)
                    return to_tz(frame, self.tz)
            warm = yield from self._warm_start()
            yield from self._fetch(warm)
            recount = yield from self._recount()
            frame, consistent = finish(self.query, self.plan, recount, stacklevel=self.stacklevel)
            pages = len(self.plan.ordered_frames())
            if self.write and consistent and pages > 1:
                entry = pack_complete(frame, pages, self.bar.rows, self.query)
                yield CacheWrite(self._complete_key(), entry, self.query.window_end)
            return to_tz(frame, self.tz)
        finally:
            self.bar.close()

    def _warm_start(self) -> Generator[Command, Any, bool]:
        """Take the count and the leading pages from the cache, in order, without a request.

        Returns True when the count came from the cache (so it is not asked for again).
        """
        if not self.read:
            return False
        assert self.ctx.cache_key is not None
        query, plan = self.query, self.plan
        warm = False
        if query.count_body is not None:
            count = yield CacheRead(self.ctx.cache_key(query, query.count_path, None))
            if isinstance(count, int) and not isinstance(count, bool):
                plan.count = count
                self.bar.set_total(max(1, -(-count // query.page_size)))
                warm = True
        offset = 0
        while not plan.done():
            limit = plan.limit()
            if limit is not None and offset >= limit:
                break
            frame = yield CacheRead(self.ctx.cache_key(query, query.path, offset))
            if frame is None:
                break
            plan.requested.add(offset)
            self._apply(offset, (frame, True))
            offset += query.page_size
        return warm

    def _fetch(self, warm: bool) -> Generator[Command, Any, None]:
        """Count first (beside page 0), then the pages; salvage what is in flight on failure."""
        query, plan = self.query, self.plan
        running: set[Tag] = set()
        try:
            if not plan.done() and query.count_body is not None and not warm:
                yield Submit(COUNT, count_flow(self.ctx, query, write=self.write))
                running.add(COUNT)
                plan.count_pending = True
            # the count is waited for even when the pages are done: it is cached for resumes
            while not plan.done() or COUNT in running:
                for offset in plan.next_offsets(in_flight=len(running - {COUNT})):
                    flow = page_flow(self.ctx, query, offset, read=self.read, write=self.write)
                    yield Submit(offset, flow)
                    running.add(offset)
                if not running:
                    break
                waiting = running if not plan.done() else {COUNT}
                finished: list[Done] = yield Wait(tuple(waiting))
                errors = [done.error for done in finished if done.error is not None]
                for done in finished:
                    running.discard(done.tag)
                    if done.error is None:
                        self._apply(done.tag, done.value)
                if errors:
                    raise errors[0]
        except APIError as exc:
            salvaged: list[Done] = yield Drain()
            for done in salvaged:  # keep what the other tasks fetched
                if done.error is None:
                    self._apply(done.tag, done.value)
            if not plan.pages and not retryable(exc, self.ctx.retries):
                # a refusal before anything was fetched: nothing to resume, the documented type
                empty = _frames.empty_frame(self.query.schema, check_tz(self.tz))
                raise refusal(exc, empty) from exc
            raise self._incomplete(exc) from exc
        except KeyboardInterrupt as exc:
            raise self._incomplete(exc) from exc

    def _recount(self) -> Generator[Command, Any, int | None]:
        """Count once more after the pages of a window that is still open."""
        query, plan = self.query, self.plan
        if (
            query.count_body is None
            or plan.count is None
            or self.network_pages < 2  # one page is one consistent snapshot
            or query.window_end is None
            or query.window_end <= self.ctx.clock() - self.ctx.settle
        ):
            return None
        yield Submit(RECOUNT, count_flow(self.ctx, query, write=False))
        finished: list[Done] = yield Wait((RECOUNT,))
        done = finished[0]
        return done.value if done.error is None else None

    def _apply(self, tag: Tag, value: Any) -> None:
        if tag == COUNT:
            self.plan.count_pending = False
            if value is not None:
                self.plan.count = value
                self.bar.set_total(max(1, -(-value // self.plan.page_size)))
            return
        if not isinstance(tag, int):
            return
        frame, cached = value
        self.plan.add(tag, frame)
        self.network_pages += not cached
        self.bar.page(len(frame), cached)

    def _incomplete(self, cause: BaseException) -> Exception:
        return incomplete(
            self.query,
            self.plan,
            self.tz,
            cause,
            cached=self.ctx.cache_key is not None,
            base_url=self.ctx.base_url,
        )

    def _complete_key(self) -> str:
        """The entry of the whole result (per ``max_rows``: a capped result is another one)."""
        assert self.ctx.cache_key is not None
        query = self.query
        return self.ctx.cache_key(query, f"{query.path}#complete:{query.max_rows}", None)

    # -- after the pull --------------------------------------------------------------------

    def stats(self, requests: int, seconds: float) -> FetchStats:
        """What this pull did (``requests`` and ``seconds`` are counted by the driver)."""
        if self._entry is not None:
            pages, rows = self._entry
            return FetchStats(pages, pages, requests, rows, seconds)
        return FetchStats(
            pages=len(self.plan.ordered_frames()),  # speculative pages past the end not counted
            cached_pages=self.bar.hits,
            requests=requests,
            rows=self.bar.rows,
            seconds=seconds,
        )


def retryable(error: APIError, policy: RetryPolicy) -> bool:
    """Whether a failure is of a kind that is retried (and so may pass on a re-run)."""
    if isinstance(error, APIStatusError):
        return error.status_code in policy.statuses
    return isinstance(error, TransportError | ResponseFormatError)


# ------------------------------------------------------------------------------------------
# The consolidated entry of a completed query
# ------------------------------------------------------------------------------------------


def pack_complete(frame: pd.DataFrame, pages: int, rows: int, query: PagedQuery) -> pd.DataFrame:
    """The finished frame (UTC) as one cache entry: a re-run is one file read.

    The entry is the typed frame itself, marked in ``attrs`` with the pages and rows it came
    from and its ``max_rows``. (A columnar ``user_ids`` was measured too: rebuilding the
    per-row lists costs what unpickling them does once the cache reads with the garbage
    collector paused, see :meth:`~.cache.PageCache.get`.)
    """
    out = frame.copy(deep=False)
    out.attrs = {COMPLETE_ATTR: {"pages": pages, "rows": rows, "max_rows": query.max_rows}}
    return out


def unpack_complete(value: Any, max_rows: int | None) -> tuple[pd.DataFrame, int, int] | None:
    """``(frame, pages, rows)`` of a complete entry made with ``max_rows``, else None.

    ``value`` may be shared (kept in memory by the cache): the frame returned is a copy whose
    lists (``user_ids``) and dicts (``properties``, ``scores``) are new objects too.
    """
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        return None
    meta = value.attrs.get(COMPLETE_ATTR)
    if not isinstance(meta, dict) or meta.get("max_rows") != max_rows:
        return None
    frame = value.copy(deep=True)  # arrays copied; strings are immutable and shared
    frame.attrs = {}
    collecting = gc.isenabled()
    gc.disable()  # as in PageCache.get: thousands of new containers, no cycles
    try:
        for col, dtype in frame.dtypes.items():
            if dtype.kind == "O" and not isinstance(dtype, pd.StringDtype):
                frame[col] = _copied(frame[col].to_numpy())
    finally:
        if collecting:
            gc.enable()
    return frame, int(meta["pages"]), int(meta["rows"])


def _copied(cells: Any) -> Any:
    """Object cells with new lists and dicts; a dict shared by rows stays shared (once)."""
    import numpy as np

    shared: dict[int, Any] = {}

    def copy(cell: Any) -> Any:
        if isinstance(cell, list):
            return cell.copy()
        if isinstance(cell, dict):
            new = shared.get(id(cell))
            if new is None:
                new = shared[id(cell)] = cell.copy()
            return new
        return cell

    return np.fromiter(map(copy, cells), dtype=object, count=len(cells))
