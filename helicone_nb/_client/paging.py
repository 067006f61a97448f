"""Paging without I/O: the page plan, the logical query, and turning pages into one frame.

:class:`PagedQuery` is one logical query (endpoint, body without offset/limit, page size);
:class:`PagePlan` decides which offsets to fetch next; :func:`finish` concatenates, dedupes and
warns; :func:`incomplete` builds the :class:`~helicone_nb.IncompleteFetchError` of a pull that
stopped half way.
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .. import _frames
from .._errors import (
    IncompleteFetchError,
    InconsistentPagesWarning,
    ResponseFormatError,
    UsageError,
)
from .._wire.time import check_tz
from .retry import preview

if TYPE_CHECKING:
    import pandas as pd


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


def page_frame(query: PagedQuery, data: Any) -> pd.DataFrame:
    """One page's ``data`` as a typed frame (in UTC)."""
    if not isinstance(data, list):
        raise ResponseFormatError(f"expected a list of rows in 'data', got {preview(data)}")
    if query.kind == "sessions":
        return _frames.sessions_frame(data, tz="UTC")
    return _frames.requests_frame(data, tz="UTC")


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


def finish(query: PagedQuery, plan: PagePlan, tz: str | _dt.tzinfo) -> pd.DataFrame:
    """Concatenate the plan's pages, dedupe, warn about moved pages, show in ``tz``."""
    schema = _frames.SESSION_SCHEMA if query.kind == "sessions" else _frames.REQUEST_SCHEMA
    frame = _frames.concat_frames(plan.ordered_frames(), schema, "UTC")
    if query.kind == "sessions":
        fetched = len(frame)
        frame = _frames.dedupe_sessions(frame)
        duplicates = fetched - len(frame)
        mismatch = plan.count is not None and query.max_rows is None and len(frame) != plan.count
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
    return to_tz(frame, tz)


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
    schema = _frames.SESSION_SCHEMA if query.kind == "sessions" else _frames.REQUEST_SCHEMA
    frame = _frames.concat_frames(plan.ordered_frames(), schema, "UTC")
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
    return IncompleteFetchError(
        f"paging stopped after {len(plan.pages)} page(s) with {len(partial):,} {what} "
        f"fetched: {reason}. {resume} What was fetched is in this error's .partial DataFrame.",
        partial=partial,
        pages_done=len(plan.pages),
        method="POST",
        url=base_url + query.path,
    )


def to_tz(frame: pd.DataFrame, tz: str | _dt.tzinfo) -> pd.DataFrame:
    zone = check_tz(tz)
    out = frame.copy(deep=False)
    for col in ("created_at", "latest_request_created_at"):
        if col in out.columns:
            out[col] = out[col].dt.tz_convert(zone)
    return out


def check_max(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer or None, got {value!r}")
    return value
