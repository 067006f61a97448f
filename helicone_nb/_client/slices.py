"""Paging of ``/v1/request/query-clickhouse`` by time, without I/O (REQUEST_API.md section 7).

A window is read as a few *chains*, each a ``[start, end)`` time range (whole seconds) read in
ascending ``request_created_at`` order, one page of ``limit`` rows after the other. Helicone's
``LIMIT``/``OFFSET`` count row versions and it dedups within the page, so a short page does
not prove a range complete; only an empty page does. What a page does prove:

- A page at ``offset`` of ``[start, end)`` holds the versions at positions ``offset ..
  offset + limit - 1`` of the ascending order. When the positions before ``offset`` were read
  already, everything read is a prefix of that order, so every request dated before the newest
  request read (``t_max``) has been read, in all its versions (versions of a request share its
  ``request_created_at``; ties are only within one millisecond).
- So after each page, ``[start, floor_second(t_max))`` is complete and handed out, and the chain
  goes on from ``floor_second(t_max)``. The rows already read from that second on are a prefix
  of the new range's order, so the next page starts at ``offset = `` their number: with no
  duplicate versions it begins exactly after them; with duplicates it re-reads a few (harmless:
  one row per request, the greatest ``updated_at`` wins). If the cursor cannot move (a second
  holding a page or more), the offset grows by the rows the page held instead.
- An empty page completes the chain. Every page either moves the cursor or the offset forward,
  so a chain always ends.

A pull of N requests therefore takes about N / limit pages (no page is wasted on a slice that
turned out too small or too full) plus one empty page per chain. Chains are made by splitting:
the first page of the whole range shows how dense the data is; then, whenever a worker is free,
the chain with the most rows left is cut in two at its middle second (its call in flight, if
any, is kept: rows past the new end are dropped, and a page reaching past the end completes it).
A chain is only cut while both halves hold about two pages, so the proofs stay a few per cent
of the calls. The planner only decides; the clients send and hand back the rows.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Range = tuple[_dt.datetime, _dt.datetime]
SECOND = _dt.timedelta(seconds=1)
#: A chain is cut in two only when it is expected to hold at least this many pages.
SPLIT_PAGES = 4.0
#: With a call budget, chains are only cut while the budget leaves this many calls per worker.
SPLIT_BUDGET_PER_WORKER = 4


def floor_second(t: _dt.datetime) -> _dt.datetime:
    return t.replace(microsecond=0)


def ceil_second(t: _dt.datetime) -> _dt.datetime:
    return t if t.microsecond == 0 else t.replace(microsecond=0) + SECOND


def wire_time(t: _dt.datetime) -> str:
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def window_filter(start: _dt.datetime, end: _dt.datetime, extra: Any = None) -> Any:
    """Helicone's filter for ``start <= request_created_at < end`` (AND ``extra``)."""
    table = "request_response_rmt"
    node: Any = {
        "left": {table: {"request_created_at": {"gte": wire_time(start)}}},
        "operator": "and",
        "right": {table: {"request_created_at": {"lt": wire_time(end)}}},
    }
    if extra not in (None, "all", {}):
        node = {"left": node, "operator": "and", "right": extra}
    return node


def version_key(row: dict[str, Any]) -> str:
    """Sortable ``updated_at`` of a row (ISO or ClickHouse text; missing sorts first)."""
    value = row.get("updated_at")
    if not isinstance(value, str):
        return ""
    return value.replace("T", " ").rstrip("Z")


def created_at(row: dict[str, Any]) -> _dt.datetime | None:
    """``request_created_at`` (ISO-8601 or ClickHouse text; naive means UTC)."""
    value = row.get("request_created_at")
    if not isinstance(value, str):
        return None
    try:
        t = _fromiso(value)  # Python 3.11 reads "Z" and a space separator itself
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC)


_fromiso = _dt.datetime.fromisoformat


def merge_ranges(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, non-overlapping ``[start, end)`` ranges covering the same instants."""
    out: list[Range] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract_ranges(ranges: Sequence[Range], remove: Sequence[Range]) -> list[Range]:
    """The parts of ``ranges`` not covered by ``remove``."""
    out: list[Range] = []
    cuts = merge_ranges(remove)
    for start, end in merge_ranges(ranges):
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                out.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            out.append((cursor, end))
    return out


@dataclass
class Slice:
    """A chain: ``[start, end)`` still to read; ``offset`` versions of it are read already."""

    id: int
    start: _dt.datetime
    end: _dt.datetime
    offset: int = 0
    #: rows read at or after ``start``, not handed out yet (one per request), and their times
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    times: dict[str, _dt.datetime] = field(default_factory=dict)
    busy: bool = False
    #: where the chain began, and the requests it handed out (its density)
    origin: _dt.datetime | None = None
    handed: int = 0

    def __post_init__(self) -> None:
        if self.origin is None:
            self.origin = self.start

    def add(self, rows: Iterable[tuple[_dt.datetime, dict[str, Any]]]) -> None:
        """Keep one row per request_id: the greatest ``updated_at`` (Helicone's rule)."""
        for t, row in rows:
            rid = row.get("request_id")
            if not isinstance(rid, str):
                continue
            old = self.rows.get(rid)
            if old is None or version_key(row) >= version_key(old):
                self.rows[rid] = row
                self.times[rid] = t

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def density(self) -> float | None:
        """Requests per second over what this chain has proven (None before that)."""
        assert self.origin is not None
        span = (self.start - self.origin).total_seconds()
        if self.handed == 0 or span <= 0:
            return None
        return self.handed / span


@dataclass(frozen=True)
class Call:
    """One page to request: ``limit`` versions at ``offset`` of ``[start, end)``, ascending."""

    slices: tuple[int, ...]
    start: _dt.datetime
    end: _dt.datetime
    offset: int
    limit: int

    def body(self, extra_filter: Any = None) -> dict[str, Any]:
        """The JSON body (never ``isScored``; ascending by time)."""
        return {
            "filter": window_filter(self.start, self.end, extra_filter),
            "offset": self.offset,
            "limit": self.limit,
            "sort": {"created_at": "asc"},
        }


@dataclass(frozen=True)
class Completed:
    """A range proven complete, with its rows (one per request)."""

    start: _dt.datetime
    end: _dt.datetime
    rows: list[dict[str, Any]]


class SlicePlanner:
    """Decides the calls that fetch every request of ``ranges`` (no I/O).

    Call :meth:`next_calls` for work, :meth:`answer` with each call's rows (in any order);
    :meth:`answer` returns the ranges it proved complete. :attr:`done` when nothing is left.

    Parameters
    ----------
    ranges
        ``[start, end)`` windows; bounds are widened to whole seconds.
    page_size
        Rows per page (at most 1000, Helicone's limit).
    density
        Expected requests per second, if known (e.g. from an earlier sync); otherwise the
        first page shows it.
    """

    def __init__(
        self, ranges: Sequence[Range], *, page_size: int = 1000, density: float | None = None
    ) -> None:
        self.page_size = page_size
        self.density = density
        self._slices: dict[int, Slice] = {}
        self._next_id = 0
        for a, b in merge_ranges(
            (floor_second(a), ceil_second(b)) for a, b in ranges if ceil_second(b) > floor_second(a)
        ):
            self._new_slice(a, b)
        self._total_seconds = sum(s.seconds for s in self._slices.values())
        self._proven_seconds = 0.0
        self.calls_made = 0
        self.rows_done = 0
        self.stopped = False

    # -- state --------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return not self._slices

    def stop(self) -> None:
        """Send nothing more (an error, or the budget reached); calls in flight still count."""
        self.stopped = True

    def remaining(self) -> list[Range]:
        """Ranges not proven complete."""
        return sorted((s.start, s.end) for s in self._slices.values())

    def _density(self) -> float | None:
        """Requests per second over everything proven so far (or the caller's estimate)."""
        if self._proven_seconds > 0 and self.rows_done > 0:
            return self.rows_done / self._proven_seconds
        return self.density

    def _expected_rows(self, s: Slice) -> float | None:
        d = s.density()
        if d is None:
            d = self._density()
        return None if d is None else d * s.seconds + len(s.rows)

    def expected_calls(self, density: float | None = None) -> int | None:
        """Calls still needed (None without a density estimate)."""
        d = density if density is not None else self._density()
        if d is None:
            return None
        # each chain by its own density where it has one (a page proves fewer seconds where
        # traffic is dense, so one density over all proven seconds underestimates busy days)
        own = [x for x in (s.density() for s in self._slices.values()) if x is not None]
        typical = sum(own) / len(own) if own and density is None else d
        rows = sum(
            (typical if (own_d := s.density()) is None else own_d) * s.seconds
            for s in self._slices.values()
        )
        return math.ceil(rows / self.page_size) + 3 * len(self._slices)

    def estimate_total(self) -> int | None:
        """Calls the whole run is expected to make (None until the density is known: a
        density given by the caller, or a first page from every chain, so that it is not
        the density of the first hour alone)."""
        sampled = self._proven_seconds > 0 and self.calls_made > len(self._slices)
        if not sampled and self.density is None:
            return None
        rest = self.expected_calls()
        return None if rest is None else self.calls_made + rest

    # -- planning -----------------------------------------------------------------------------

    def _new_slice(self, start: _dt.datetime, end: _dt.datetime) -> Slice:
        s = Slice(self._next_id, start, end)
        self._next_id += 1
        self._slices[s.id] = s
        return s

    def next_calls(self, capacity: int, budget: int | None = None) -> list[Call]:
        """Up to ``capacity`` calls to send now (``budget``: calls left in this run).

        Idle chains get their next page first; free capacity beyond them cuts the chains
        expected to hold the most rows in two (never before the first page has shown how
        dense the data is, unless a density was given).
        """
        if self.stopped or capacity <= 0:
            return []
        idle = [s for s in self._slices.values() if not s.busy]
        may_split = self._density() is not None and (
            budget is None or budget >= SPLIT_BUDGET_PER_WORKER * capacity
        )
        while may_split and len(idle) < capacity:
            cut = self._split_one()
            if cut is None:
                break
            idle.append(cut)
        idle.sort(key=lambda s: s.start)
        return [self._call(s) for s in idle[:capacity]]

    def _split_one(self) -> Slice | None:
        """Cut the chain with the most rows left at its middle second; the new half."""
        best: tuple[float, Slice] | None = None
        for s in self._slices.values():
            if s.seconds < 2:
                continue
            rows = self._expected_rows(s)
            if rows is None or rows < SPLIT_PAGES * self.page_size:
                continue
            if best is None or rows > best[0]:
                best = (rows, s)
        if best is None:
            return None
        s = best[1]
        middle = floor_second(s.start + (s.end - s.start) / 2)
        if s.times:  # never inside what was read already
            middle = max(middle, floor_second(max(s.times.values())) + SECOND)
        if not s.start < middle < s.end:
            return None
        fresh = self._new_slice(middle, s.end)
        s.end = middle
        return fresh

    def _call(self, s: Slice) -> Call:
        s.busy = True
        return Call((s.id,), s.start, s.end, s.offset, self.page_size)

    # -- answers ------------------------------------------------------------------------------

    def answer(self, call: Call, rows: Sequence[dict[str, Any]]) -> list[Completed]:
        """Take the rows of ``call``; returns the ranges now proven complete."""
        self.calls_made += 1
        s = self._slices.get(call.slices[0])
        if s is None:  # pragma: no cover - a call is answered once
            return []
        s.busy = False
        if not rows:  # every version of [start, end) was read
            return [self._hand_out(s, s.end)]
        stamped = [(t, r) for t, r in ((created_at(r), r) for r in rows) if t is not None]
        if stamped and max(t for t, _ in stamped) >= s.end:  # the page reached past the end
            s.add((t, r) for t, r in stamped if s.start <= t < s.end)
            return [self._hand_out(s, s.end)]
        s.add((t, r) for t, r in stamped if s.start <= t)
        out: list[Completed] = []
        newest = max(s.times.values(), default=None)
        moved = newest is not None and floor_second(newest) > s.start
        if newest is not None and moved:
            out.append(self._hand_out(s, floor_second(newest)))
        # Everything dated before `newest` is read, whatever order ties come in: the next
        # page starts at or before the first version dated `newest` (re-reading a few).
        before = sum(1 for t in s.times.values() if newest is not None and t < newest)
        if moved or before > call.offset:
            s.offset = before
        else:  # the page added nothing newer than `newest`: step over what it held
            step = call.offset + len(rows)
            s.offset = min(step, len(s.rows)) if len(s.rows) > call.offset else step
        return out

    def _hand_out(self, s: Slice, until: _dt.datetime) -> Completed:
        """``[s.start, until)`` is complete: hand its rows out (the whole chain at its end)."""
        if until >= s.end:
            del self._slices[s.id]
            rows = list(s.rows.values())
            s.rows, s.times = {}, {}
            until = s.end
        else:
            rows = []
            for rid, t in list(s.times.items()):
                if t < until:
                    rows.append(s.rows.pop(rid))
                    del s.times[rid]
        done = Completed(s.start, until, rows)
        self._proven_seconds += (until - s.start).total_seconds()
        self.rows_done += len(rows)
        s.handed += len(rows)
        s.start = until
        return done

    def fail(self, call: Call) -> None:
        """``call`` failed for good: its chain is given up (it stays in :meth:`remaining`)."""
        for i in call.slices:
            if i in self._slices:
                self._slices[i].busy = False
