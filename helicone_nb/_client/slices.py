"""Sliced paging of ``/v1/request/query-clickhouse``, without I/O (REQUEST_API.md section 7).

A window is cut into time slices small enough for one page each. Bounds are whole seconds,
``[gte, lt)``. Helicone's pages count row versions and dedup within the page, so a short page
does not prove a slice complete; only an empty page does. Proofs are cheap ``limit=1`` pages:

- a slice whose first page came back empty is complete;
- for a contiguous run of slices whose first pages held ``n_i`` rows (each under the limit),
  an empty page at ``offset = sum(n_i)`` over the run's whole window proves them all (every
  version of every slice was on its first page); if it is not empty,
- each slice is proven alone by an empty page at ``offset = limit``;
- a slice whose first page is full (or whose proof is not empty) is split: the rows before
  the last whole second of the page form a slice of their own (proved like the others), the
  rest is cut by the density the page showed. A one-second slice cannot be split: it pages
  by offset until an empty page.

Slices are planned in time order from a frontier, sized by the density of the slices
answered just before, so a sync of a busy day and of a quiet month both take about one call
per ``target`` rows. The planner only decides; the clients send and hand back the rows.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Range = tuple[_dt.datetime, _dt.datetime]
SECOND = _dt.timedelta(seconds=1)
#: Slices are sized for this share of a full page, so density changes rarely force a split.
TARGET_SHARE = 0.85
#: Contiguous slices proved by one call.
GROUP = 8
MAX_SLICE = _dt.timedelta(days=31)


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
    value = row.get("request_created_at")
    if not isinstance(value, str):
        return None
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC)


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
    """A ``[start, end)`` window being fetched."""

    id: int
    start: _dt.datetime
    end: _dt.datetime
    state: Literal["new", "partial", "single", "deep", "done"] = "new"
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    offset: int = 0
    busy: bool = False

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Keep one row per request_id: the greatest ``updated_at`` (Helicone's rule)."""
        for row in rows:
            rid = row.get("request_id")
            if not isinstance(rid, str):
                continue
            old = self.rows.get(rid)
            if old is None or version_key(row) >= version_key(old):
                self.rows[rid] = row

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Call:
    """One page to request: ``kind`` is ``page`` (rows), ``proof`` or ``group`` (limit 1)."""

    kind: Literal["page", "proof", "group"]
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
    """A slice proven complete, with its rows (one per request)."""

    start: _dt.datetime
    end: _dt.datetime
    rows: list[dict[str, Any]]


class SlicePlanner:
    """Decides the calls that fetch every request of ``ranges`` (no I/O).

    Call :meth:`next_calls` for work, :meth:`answer` with each call's rows (in any order);
    :meth:`answer` returns the slices it completed. :attr:`done` when nothing is left.

    Parameters
    ----------
    ranges
        ``[start, end)`` windows; bounds are widened to whole seconds.
    page_size
        Rows per page (at most 1000, Helicone's limit).
    density
        Expected requests per second, if known (e.g. from an earlier sync), else probed.
    """

    def __init__(
        self, ranges: Sequence[Range], *, page_size: int = 1000, density: float | None = None
    ) -> None:
        self.page_size = page_size
        self.target = max(1.0, page_size * TARGET_SHARE)
        self.density = density
        self._frontier = [
            (floor_second(a), ceil_second(b)) for a, b in ranges if ceil_second(b) > floor_second(a)
        ]
        self._frontier.sort()
        self._slices: dict[int, Slice] = {}
        #: start -> (end, rows) of slices proven complete (group proofs may span them)
        self._proven: dict[_dt.datetime, tuple[_dt.datetime, int]] = {}
        self._next_id = 0
        self._last_seconds = 3600.0
        self.calls_made = 0
        self.rows_done = 0
        self.stopped = False

    # -- planning ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return not self._slices and (not self._frontier or self.stopped)

    @property
    def in_flight(self) -> int:
        return sum(1 for s in self._slices.values() if s.busy)

    def stop(self) -> None:
        """Plan no new slices (budget reached); slices under way still finish."""
        self.stopped = True

    def remaining(self) -> list[Range]:
        """Ranges not proven complete: slices under way and the unplanned frontier."""
        spans = [(s.start, s.end) for s in self._slices.values()]
        return sorted(spans + list(self._frontier))

    def expected_calls(self, density: float | None = None) -> int | None:
        """Calls a full run is expected to make (None without a density estimate)."""
        d = density if density is not None else self.density
        if d is None:
            return None
        seconds = sum((b - a).total_seconds() for a, b in self._frontier)
        slices = max(len(self._frontier), math.ceil(seconds * d / self.target))
        return math.ceil(slices * (1 + 1 / GROUP))

    def estimate_total(self) -> int | None:
        """Calls the whole run is expected to make (None until the density is known)."""
        rest = self.expected_calls()
        if rest is None:
            return None
        return self.calls_made + rest + math.ceil(len(self._slices) * (1 + 1 / GROUP))

    def _new_slice(self, start: _dt.datetime, end: _dt.datetime, state: Any = "new") -> Slice:
        s = Slice(self._next_id, start, end, state)
        self._next_id += 1
        self._slices[s.id] = s
        return s

    def _plan_from_frontier(self) -> Slice | None:
        if self.stopped or not self._frontier:
            return None
        start, end = self._frontier[0]
        if self.density is None:
            seconds = min(self._last_seconds * 24, MAX_SLICE.total_seconds())
        elif self.density <= 0:
            seconds = min(self._last_seconds * 4, MAX_SLICE.total_seconds())
        else:
            seconds = min(self.target / self.density, MAX_SLICE.total_seconds())
        stop = min(end, start + _dt.timedelta(seconds=max(1, math.floor(seconds))))
        if (end - stop).total_seconds() < 0.3 * seconds:  # no sliver left behind
            stop = end
        if stop >= end:
            self._frontier.pop(0)
        else:
            self._frontier[0] = (stop, end)
        self._last_seconds = (stop - start).total_seconds()
        return self._new_slice(start, stop)

    def next_calls(self, capacity: int, budget: int | None = None) -> list[Call]:
        """Up to ``capacity`` calls to send now.

        With a ``budget`` (calls left in this run), proofs go first and a new page is only
        started when the budget also covers the proofs of every slice already started, so a
        capped run still completes slices.
        """
        L = self.page_size
        ordered = sorted(self._slices.values(), key=lambda s: s.start)
        singles = [s for s in ordered if s.state == "single" and not s.busy][:capacity]
        calls = [self._call(s, "proof", L, 1) for s in singles]
        tight = budget is not None and budget < 2 * capacity + self._obligations()
        calls.extend(self._group_proofs(capacity - len(calls), force=tight))
        left = None if budget is None else budget - len(calls)

        def affordable() -> bool:
            return left is None or left - self._obligations() >= 2

        for s in ordered:
            if len(calls) >= capacity or not affordable():
                return calls
            if s.busy or s.state not in ("new", "deep"):
                continue
            calls.append(self._call(s, "page", s.offset if s.state == "deep" else 0, L))
            left = None if left is None else left - 1
        # the first slice probes the density alone; then plan ahead of the frontier
        while len(calls) < capacity and (self.density is not None or not self._slices):
            if not affordable():
                break
            fresh = self._plan_from_frontier()
            if fresh is None:
                break
            calls.append(self._call(fresh, "page", 0, L))
            left = None if left is None else left - 1
        return calls

    def _obligations(self) -> int:
        """Calls the slices already started still need at least (one proof each)."""
        return sum(
            1
            for s in self._slices.values()
            if (s.state in ("partial", "single") and not s.busy) or (s.busy and s.state == "new")
        )

    def _call(self, s: Slice, kind: Any, offset: int, limit: int) -> Call:
        s.busy = True
        return Call(kind, (s.id,), s.start, s.end, offset, limit)

    def _group_proofs(self, capacity: int, force: bool = False) -> list[Call]:
        """Proof calls over runs of contiguous slices waiting for a proof.

        A run may span slices already proven (their rows count in the offset), so empty
        stretches between busy ones do not break it.
        """
        calls: list[Call] = []
        items: list[tuple[_dt.datetime, _dt.datetime, int, Slice | None]] = [
            (s.start, s.end, len(s.rows), s) for s in self._slices.values()
        ]
        items.extend((a, b, n, None) for a, (b, n) in self._proven.items())
        items.sort(key=lambda item: item[0])
        nothing_else = force or (
            not any(s.busy or s.state in ("new", "deep") for s in self._slices.values())
            and (self.stopped or not self._frontier)
        )
        run: list[tuple[_dt.datetime, _dt.datetime, int, Slice | None]] = []

        def flush(force: bool) -> None:
            while run and run[-1][3] is None:
                run.pop()
            members = [item[3] for item in run if item[3] is not None]
            if members and (len(members) >= GROUP or force) and len(calls) < capacity:
                if len(members) == 1 and len(run) == 1:
                    members[0].state = "single"
                    calls.append(self._call(members[0], "proof", self.page_size, 1))
                else:
                    for m in members:
                        m.busy = True
                    offset = sum(item[2] for item in run)
                    ids = tuple(m.id for m in members)
                    calls.append(Call("group", ids, run[0][0], run[-1][1], offset, 1))
            run.clear()

        for item in items:
            sl = item[3]
            waiting = sl is not None and sl.state == "partial" and not sl.busy
            if run and (run[-1][1] != item[0] or not (waiting or sl is None)):
                flush(force=nothing_else)
            if waiting or (sl is None and run):
                run.append(item)
            members = sum(1 for i in run if i[3] is not None)
            if members >= GROUP:
                flush(force=True)
        flush(force=nothing_else)
        return calls

    # -- answers -----------------------------------------------------------------------------

    def answer(self, call: Call, rows: Sequence[dict[str, Any]]) -> list[Completed]:
        """Take the rows of ``call``; returns the slices now proven complete."""
        self.calls_made += 1
        members = [self._slices[i] for i in call.slices if i in self._slices]
        for s in members:
            s.busy = False
        if call.kind == "group":
            if not rows:
                return [self._complete(s) for s in members]
            for s in members:
                s.state = "single"
            return []
        (s,) = members
        if call.kind == "proof":
            if not rows:
                return [self._complete(s)]
            return self._split(s)
        if s.state == "deep":
            s.add(rows)
            if not rows:
                return [self._complete(s)]
            s.offset += self.page_size
            return []
        # first page of a slice
        s.add(rows)
        if not rows:
            self._observe(0, s.seconds)
            return [self._complete(s)]
        if len(rows) < self.page_size:
            self._observe(len(rows), s.seconds)
            s.state = "partial"
            return []
        return self._split(s)

    def fail(self, call: Call) -> None:
        """``call`` failed for good: its slices are given up (they stay in :meth:`remaining`)."""
        for i in call.slices:
            if i in self._slices:
                self._slices[i].busy = False

    def _observe(self, rows: int, seconds: float) -> None:
        self.density = rows / max(seconds, 1.0)

    def _complete(self, s: Slice) -> Completed:
        del self._slices[s.id]
        s.state = "done"
        self._proven[s.start] = (s.end, len(s.rows))
        self.rows_done += len(s.rows)
        return Completed(s.start, s.end, list(s.rows.values()))

    def _split(self, s: Slice) -> list[Completed]:
        """``s`` holds more than a page: keep the certain prefix, re-plan the rest."""
        times = [t for t in (created_at(r) for r in s.rows.values()) if t is not None]
        last = max(times) if times else s.start
        cut = max(s.start, min(floor_second(last), s.end))
        if s.end - s.start <= SECOND:
            s.state = "deep"  # cannot split a second: page by offset until an empty page
            s.offset = self.page_size
            return []
        del self._slices[s.id]
        if cut == s.start:  # the page filled within its first second: that second alone
            self._new_slice(s.start, s.start + SECOND)
            rest = s.start + SECOND
            if rest < s.end:
                middle = rest + (s.end - rest) / 2
                middle = max(rest + SECOND, floor_second(middle))
                self._new_slice(rest, min(middle, s.end))
                if middle < s.end:
                    self._new_slice(middle, s.end)
            return []
        head = self._new_slice(s.start, cut, "partial")  # the rows before the last second
        head.add([r for r in s.rows.values() if (created_at(r) or cut) < cut])
        density = max(len(head.rows), 1) / max((cut - s.start).total_seconds(), 1.0)
        self.density = density
        seconds = (s.end - cut).total_seconds()
        pieces = max(1, math.ceil(seconds * density / self.target))
        piece = max(1, math.floor(seconds / pieces))
        t = cut
        while t < s.end:
            stop = min(s.end, t + _dt.timedelta(seconds=piece))
            if (s.end - stop).total_seconds() < piece / 2:
                stop = s.end
            self._new_slice(t, stop)
            t = stop
        return []
