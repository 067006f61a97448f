"""The request pager's planner (``_client/slices.py``) against a simulated Helicone.

The simulation copies what REQUEST_API.md section 1.3 says the route does: ``LIMIT``/``OFFSET``
over physical row versions in ``request_created_at`` order with ties in a fresh random order on
every call, then every version of the picked ids, deduplicated within the page (greatest
``updated_at``). Calls are answered in random order, as with concurrent workers.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from helicone_nb._client.slices import Call, Completed, SlicePlanner, merge_ranges

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


class FakeHelicone:
    def __init__(self, versions: list[dict[str, Any]], seed: int = 0) -> None:
        self.versions = versions
        self.rng = random.Random(seed)
        self.calls: list[Call] = []

    def page(self, call: Call) -> list[dict[str, Any]]:
        self.calls.append(call)
        assert call.limit <= 1000 and call.offset >= 0
        assert call.start.microsecond == 0 and call.end.microsecond == 0  # whole seconds
        lo, hi = _stamp(call.start), _stamp(call.end)
        match = [v for v in self.versions if lo <= v["request_created_at"] < hi]
        self.rng.shuffle(match)  # ties: a fresh order on every call
        match.sort(key=lambda v: v["request_created_at"])
        top = match[call.offset : call.offset + call.limit]
        ids = {v["request_id"] for v in top}
        best: dict[str, dict[str, Any]] = {}
        for v in self.versions:  # every version of the picked ids (shape A)
            if v["request_id"] in ids:
                old = best.get(v["request_id"])
                if old is None or v["updated_at"] > old["updated_at"]:
                    best[v["request_id"]] = v
        return sorted(best.values(), key=lambda v: v["request_created_at"])


def _data(rng: random.Random, n: int, *, span_s: int, dup: float, burst: int = 0) -> list[Any]:
    """``n`` requests over ``span_s`` seconds (ms precision, many ties when dense), a share
    ``dup`` with 2-3 versions; ``burst`` requests crowded into one millisecond."""
    out = []
    for i in range(n):
        if i < burst:
            t = T0 + dt.timedelta(seconds=span_s // 2, milliseconds=500)
        else:
            t = T0 + dt.timedelta(milliseconds=rng.randrange(span_s * 1000) // 7 * 7)
        for v in range(1 + (rng.random() < dup) * rng.randint(1, 2)):
            out.append(
                {
                    "request_id": f"r{i:06d}",
                    "request_created_at": _stamp(t),
                    "updated_at": f"2025-04-01 00:00:0{v}.000",
                    "v": v,
                }
            )
    return out


def _run(
    helicone: FakeHelicone,
    ranges: list[tuple[dt.datetime, dt.datetime]],
    *,
    page_size: int = 1000,
    workers: int = 8,
    seed: int = 0,
    density: float | None = None,
) -> tuple[SlicePlanner, list[Completed]]:
    rng = random.Random(seed)
    planner = SlicePlanner(ranges, page_size=page_size, density=density)
    flight: list[Call] = []
    done: list[Completed] = []
    for _ in range(100_000):
        flight.extend(planner.next_calls(workers - len(flight)))
        if not flight:
            break
        call = flight.pop(rng.randrange(len(flight)))
        done.extend(planner.answer(call, helicone.page(call)))
    assert planner.done
    return planner, done


def _check(versions: list[dict[str, Any]], ranges: Any, done: list[Completed]) -> None:
    got = [r for c in done for r in c.rows]
    ids = [r["request_id"] for r in got]
    assert len(ids) == len(set(ids)), "a request handed out twice"
    newest: dict[str, int] = {}
    for v in versions:
        newest[v["request_id"]] = max(newest.get(v["request_id"], 0), v["v"])
    assert set(ids) == set(newest), f"{len(set(newest) - set(ids))} requests missed"
    assert all(r["v"] == newest[r["request_id"]] for r in got), "an old version kept"
    assert merge_ranges((c.start, c.end) for c in done) == merge_ranges(ranges)
    for c in done:
        assert all(_stamp(c.start) <= r["request_created_at"] < _stamp(c.end) for r in c.rows)


@pytest.mark.parametrize("seed", range(12))
def test_every_request_once_newest_version_under_random_ties_and_order(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([0, 1, 999, 1000, 1001, 2500, 6000])
    span = rng.choice([1, 3, 60, 3600, 86_400 * 5])
    versions = _data(rng, n, span_s=span, dup=rng.choice([0.0, 0.3, 0.9]))
    ranges = [(T0, T0 + dt.timedelta(seconds=span + 1))]
    helicone = FakeHelicone(versions, seed)
    page = rng.choice([100, 250, 1000])
    _, done = _run(helicone, ranges, page_size=page, workers=rng.choice([1, 3, 8]), seed=seed)
    _check(versions, ranges, done)


def test_several_ranges_and_a_millisecond_holding_most_of_a_page() -> None:
    rng = random.Random(5)
    versions = _data(rng, 3000, span_s=600, dup=0.3, burst=120)  # ~175 versions in one ms
    ranges = [
        (T0, T0 + dt.timedelta(seconds=200)),
        (T0 + dt.timedelta(seconds=250), T0 + dt.timedelta(seconds=700)),
    ]
    inside = [
        v
        for v in versions
        if any(_stamp(a) <= v["request_created_at"] < _stamp(b) for a, b in ranges)
    ]
    _, done = _run(FakeHelicone(versions, 5), ranges, page_size=200, workers=4)
    _check(inside, ranges, done)


def test_about_one_call_per_page_of_requests() -> None:
    """100,000 requests over 30 days, 8 workers: pages plus a few calls per chain."""
    rng = random.Random(1)
    n, span = 100_000, 30 * 86_400
    versions = _data(rng, n, span_s=span, dup=0.0)
    ranges = [(T0, T0 + dt.timedelta(seconds=span))]
    helicone = FakeHelicone(versions)
    _, done = _run(helicone, ranges, page_size=1000, workers=8)
    _check(versions, ranges, done)
    calls = len(helicone.calls)
    assert calls <= n / 1000 * 1.08 + 30, calls


def test_a_known_density_splits_at_once_and_a_quiet_range_is_one_call() -> None:
    rng = random.Random(2)
    versions = _data(rng, 20_000, span_s=86_400, dup=0.0)
    day = [(T0, T0 + dt.timedelta(days=1))]
    helicone = FakeHelicone(versions)
    planner = SlicePlanner(day, density=20_000 / 86_400)
    assert len(planner.next_calls(8)) == 8  # no probe page first
    empty = [(T0 + dt.timedelta(days=2), T0 + dt.timedelta(days=2, hours=1))]
    helicone = FakeHelicone(versions)
    _, done = _run(helicone, empty, density=20_000 / 86_400)
    assert len(helicone.calls) == 1 and done[0].rows == []


def test_a_budget_below_the_workers_never_splits() -> None:
    planner = SlicePlanner([(T0, T0 + dt.timedelta(days=30))], density=1.0)
    assert len(planner.next_calls(4, budget=6)) == 1
    assert len(planner.next_calls(4)) == 4  # the budget lifted: cut for four free workers
    assert len(planner.remaining()) == 5
