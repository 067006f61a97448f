"""Paging without I/O: the logical query, the page plan, the page and count flows, finishing.

Pieces, from small to large (the scheduler that runs the flows is :mod:`.scheduler`):

- :class:`PagedQuery`: one logical query: endpoint, body without ``offset``/``limit``, page
  size, and how a page's ``data`` becomes a typed frame (``parser``; default by ``kind``).
- :class:`PagePlan`: which offsets to fetch next (pure bookkeeping).
- :func:`page_flow` / :func:`count_flow`: one page (or the count) as a generator on top of the
  request generator :func:`.retry.request_flow`: the cache is checked before (a
  :class:`CacheRead` step), the request is sent with retries, the page is parsed, and stored
  after (a :class:`CacheWrite` step). Steps a flow yields, and what the driver sends back:

  ========================= ===========================================================
  ``httpx.Request``         send it; ``send()`` the response or ``throw()`` the
                            ``httpx.RequestError``
  ``float``                 sleep that many seconds; ``send(None)``
  :class:`CacheRead`        ``send(cache.get(key))`` (None when missing/expired)
  :class:`CacheWrite`       ``cache.put(key, value, window_end)``; ``send(None)``
  ========================= ===========================================================

  The flow's return value (``StopIteration.value``) is ``(frame, from_cache)`` for a page and
  ``int | None`` for a count. Drivers: ``Client._run`` (threads) and ``AsyncClient._run``
  (asyncio, cache file I/O in a worker thread).
- :func:`finish`: concatenate, dedupe, warn (:class:`~helicone_nb.InconsistentPagesWarning`);
  :func:`incomplete`: the :class:`~helicone_nb.IncompleteFetchError` of a pull that stopped.

To page another endpoint, build a :class:`PagedQuery` with its ``path``, ``body`` and a
``parser`` and hand it to ``BaseClient._pull_for(query, tz, ...)`` with ``Client._pull`` /
``AsyncClient._pull``: caching, retries, concurrency, salvage and the progress bar come with it.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import warnings
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .. import _frames
from .._errors import (
    APIError,
    AuthenticationError,
    IncompleteFetchError,
    InconsistentPagesWarning,
    ResponseFormatError,
    UsageError,
)
from .._wire.models import COUNT_PATH
from .._wire.time import check_tz
from .retry import NO_RETRY, RetryPolicy, preview, request_flow

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("helicone_nb")


# ------------------------------------------------------------------------------------------
# Steps and context
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheRead:
    """Step: read cache entry ``key``; the driver sends back the value or None.

    ``keep``: the value may be kept in memory and shared: the flow must not change it.
    """

    key: str
    keep: bool = False


@dataclass(frozen=True)
class CacheWrite:
    """Step: store ``value`` under ``key`` (freshness from ``window_end``); send back None."""

    key: str
    value: Any
    window_end: _dt.datetime | None


Step = httpx.Request | float | CacheRead | CacheWrite
#: A task flow: yields :data:`Step`, returns its result.
TaskFlow = Generator[Step, Any, Any]


@dataclass(frozen=True)
class FlowContext:
    """What the flows need from a client, without the client (and without I/O).

    ``cache_key`` is None when the client has no page cache. ``clock`` and ``settle`` decide
    whether a window is still open (it ends less than ``settle`` before now).
    """

    build_request: Callable[[str, Mapping[str, Any]], httpx.Request]
    retries: RetryPolicy
    cache_key: Callable[[PagedQuery, str, int | None], str] | None
    concurrency: int
    settle: _dt.timedelta
    clock: Callable[[], _dt.datetime]
    base_url: str


# ------------------------------------------------------------------------------------------
# Query and plan
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PagedQuery:
    """One logical query: its endpoint, body without offset/limit, and how to read pages.

    ``parser`` turns a page's ``data`` into a typed frame (in UTC); None = by ``kind``.
    ``count_body`` (None = no count endpoint) is sent to ``count_path`` before paging.
    """

    kind: Literal["sessions", "requests"]
    path: str
    body: dict[str, Any]
    page_size: int
    max_rows: int | None
    window_end: _dt.datetime | None
    count_body: dict[str, Any] | None = None
    success_status: tuple[int, ...] = (200,)
    count_path: str = COUNT_PATH
    parser: Callable[[Any], pd.DataFrame] | None = None
    window_start: _dt.datetime | None = None

    def page_body(self, offset: int) -> dict[str, Any]:
        return {**self.body, "offset": offset, "limit": self.page_size}

    @property
    def schema(self) -> dict[str, tuple[str, str]]:
        return _frames.SESSION_SCHEMA if self.kind == "sessions" else _frames.REQUEST_SCHEMA

    def parse(self, data: Any) -> pd.DataFrame:
        """One page's ``data`` as a typed frame (in UTC)."""
        if not isinstance(data, list):
            raise ResponseFormatError(f"expected a list of rows in 'data', got {preview(data)}")
        if self.parser is not None:
            return self.parser(data)
        if self.kind == "sessions":
            return _frames.sessions_frame(data, tz="UTC")
        return _frames.requests_frame(data, tz="UTC")


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
                    if offset > 0 and (self.count_pending or not self.pages):
                        break  # no count: read ahead only once a first page came back full
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


# ------------------------------------------------------------------------------------------
# Flows
# ------------------------------------------------------------------------------------------


def page_flow(
    ctx: FlowContext, query: PagedQuery, offset: int, *, read: bool, write: bool
) -> TaskFlow:
    """One page: cache checked before, request with retries, parsed, cache stored after.

    Returns ``(frame, from_cache)``.
    """
    key = ctx.cache_key(query, query.path, offset) if ctx.cache_key is not None else None
    if key is not None and read:
        cached = yield CacheRead(key)
        if cached is not None:
            return cached, True
    request = ctx.build_request(query.path, query.page_body(offset))
    data = yield from request_flow(request, ctx.retries, query.success_status)
    frame = query.parse(data)
    if key is not None and write:
        yield CacheWrite(key, frame, query.window_end)
    return frame, False


def count_flow(ctx: FlowContext, query: PagedQuery, *, write: bool) -> TaskFlow:
    """The count: one attempt (it only saves requests), None when it does not answer.

    An :class:`~helicone_nb.AuthenticationError` is raised: every page would fail the same way.
    """
    assert query.count_body is not None
    request = ctx.build_request(query.count_path, query.count_body)
    try:
        count = read_count((yield from request_flow(request, NO_RETRY)))
    except AuthenticationError:
        raise
    except APIError as exc:  # count is an optimisation: page without it
        log.info("session count unavailable (%s); reading ahead instead", exc)
        return None
    if write and ctx.cache_key is not None:
        yield CacheWrite(ctx.cache_key(query, query.count_path, None), count, query.window_end)
    return count


def read_count(data: Any) -> int:
    """The ``count`` of ``/v1/session/count``'s data, or :class:`ResponseFormatError`."""
    if not isinstance(data, dict) or "count" not in data:
        raise ResponseFormatError(f"/v1/session/count returned {preview(data)}")
    try:
        if isinstance(data["count"], bool):
            raise TypeError("a boolean is not a count")
        value = float(data["count"])
    except (TypeError, ValueError):
        raise ResponseFormatError("/v1/session/count: 'count' is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ResponseFormatError("/v1/session/count: 'count' is not a valid count")
    return int(value)


# ------------------------------------------------------------------------------------------
# Finishing
# ------------------------------------------------------------------------------------------


def finish(
    query: PagedQuery, plan: PagePlan, recount: int | None = None, *, stacklevel: int = 2
) -> tuple[pd.DataFrame, bool]:
    """Concatenate the plan's pages and dedupe; warn about moved pages. Returns the frame (in
    UTC) and whether it is consistent (no warning).

    ``recount`` is a second count taken after the pages of an open window: when it differs
    from the first, rows moved between pages even if the row count happens to agree.
    """
    frame = _frames.concat_frames(plan.ordered_frames(), query.schema, "UTC")
    consistent = True
    if query.kind == "sessions":
        fetched = len(frame)
        frame = _frames.dedupe_sessions(frame)
        duplicates = fetched - len(frame)
        mismatch = plan.count is not None and query.max_rows is None and len(frame) != plan.count
        moved = recount is not None and plan.count is not None and recount != plan.count
        if mismatch or duplicates or moved:
            # a row seen twice proves rows moved down between requests: others may be missed
            if moved:
                counted = (
                    f"Helicone counted {plan.count:,} sessions when this pull started and "
                    f"{recount:,} when it ended; "
                )
            elif mismatch:
                counted = f"Helicone counted {plan.count:,} sessions but "
            else:
                counted = ""
            warnings.warn(
                f"{counted}{len(frame):,} were fetched ({duplicates:,} duplicates removed): "
                "traffic inside the window moved rows between pages, so some sessions may "
                "be missing. Use a window that ended over an hour ago for exact, stable "
                "results.",
                InconsistentPagesWarning,
                stacklevel=stacklevel + 1,
            )
            consistent = False
    else:
        frame = frame.drop_duplicates(subset=["request_id"], ignore_index=True)
    if query.max_rows is not None and len(frame) > query.max_rows:
        frame = frame.iloc[: query.max_rows].reset_index(drop=True)
    return frame, consistent


def incomplete(
    query: PagedQuery,
    plan: PagePlan,
    tz: str | _dt.tzinfo,
    cause: BaseException,
    *,
    cached: bool,
    base_url: str,
) -> IncompleteFetchError:
    """The error of a pull that stopped half way, with what was fetched as ``.partial``."""
    frame = _frames.concat_frames(plan.ordered_frames(), query.schema, "UTC")
    if query.kind == "sessions":
        frame = _frames.dedupe_sessions(frame)
    partial = to_tz(frame, tz)
    what = "sessions" if query.kind == "sessions" else "requests"
    reason = "interrupted" if isinstance(cause, KeyboardInterrupt) else str(cause)
    resume = (
        "The completed pages are cached: re-running the same call resumes and fetches only "
        "the missing pages."
        if cached
        else "The page cache is off (cache=False), so a re-run starts over."
    )
    missing, open_end = missing_offsets(plan)
    first = "newest" if query.kind == "sessions" else "oldest"  # the order pages come in
    lacking = _describe_missing(missing, open_end, plan.page_size, first)
    return IncompleteFetchError(
        f"paging stopped after {len(plan.pages)} page(s) with {len(partial):,} {what} "
        f"fetched: {reason}. Missing: {lacking}. "
        f"{resume} What was fetched is in this error's .partial DataFrame (.missing_offsets "
        "lists the pages it lacks).",
        partial=partial,
        pages_done=len(plan.pages),
        missing_offsets=missing,
        page_size=plan.page_size,
        method="POST",
        url=base_url + query.path,
    )


def missing_offsets(plan: PagePlan) -> tuple[list[int], int | None]:
    """Offsets of the pages a stopped pull lacks, and where the unknown rest begins (None
    when the end is known: a count, a short page or ``max_rows``)."""
    end = plan.limit()
    open_end = None
    if end is None:
        if plan.count is not None:
            end = -(-plan.count // plan.page_size) * plan.page_size
        else:
            end = max(plan.pages, default=-plan.page_size) + plan.page_size
            open_end = end
    missing = [o for o in range(0, end, plan.page_size) if o not in plan.pages]
    return missing, open_end


def _describe_missing(missing: list[int], open_end: int | None, page_size: int, first: str) -> str:
    runs: list[list[int]] = []
    for offset in missing:
        if runs and offset == runs[-1][1]:
            runs[-1][1] = offset + page_size
        else:
            runs.append([offset, offset + page_size])
    parts = [f"offsets {a}-{b - 1}" for a, b in runs]
    text = ", ".join(parts) if parts else "no page below the last one fetched"
    if missing and missing[0] == 0:
        text += f" (the {first} rows)"
    if open_end is not None:
        text += f", and any rows from offset {open_end} on (the end was not known yet)"
    return "rows at " + text if parts else text


def to_tz(frame: pd.DataFrame, tz: str | _dt.tzinfo) -> pd.DataFrame:
    """A shallow copy with every tz-aware timestamp column shown in ``tz``."""
    import pandas as pd

    zone = check_tz(tz)
    out = frame.copy(deep=False)
    for col, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) != str(zone):
            out[col] = out[col].dt.tz_convert(zone)
    return out


def check_max(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer or None, got {value!r}")
    return value
