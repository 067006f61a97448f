"""Later pages of a query slice one cached, sorted result; writes are never hidden."""

from __future__ import annotations

import threading
from pathlib import Path

from helicone_nb.backend._engine import ResultCache

from .helpers import ids, load, req, sessions, write_jsonl


def _rows(n: int, offset: int = 0) -> list[dict[str, object]]:
    return [
        req(f"r{i}", i, f"s{i:03d}", "chat", cost=0.001 * (i % 5))
        for i in range(offset, offset + n)
    ]


def _pages(backend, size: int = 7) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    out: list[tuple[str, str]] = []
    offset = 0
    while True:
        page = sessions(backend, offset=offset, limit=size)
        out += ids(page)
        if len(page) < size:
            return out
        offset += size


def test_paging_with_and_without_the_cache_is_identical(tmp_path: Path) -> None:
    cached = load(tmp_path, _rows(40))
    plain = load(tmp_path, _rows(40), result_cache=False)
    assert _pages(cached) == _pages(plain)
    filtered = {"filter": {"request_response_rmt": {"cost": {"gt": 0.0015}}}}
    assert [ids(sessions(cached, offset=o, limit=5, **filtered)) for o in (5, 10)] == [
        ids(sessions(plain, offset=o, limit=5, **filtered)) for o in (5, 10)
    ]


def test_a_write_invalidates_cached_pages(tmp_path: Path) -> None:
    backend = load(tmp_path, _rows(20))
    before = ids(sessions(backend, offset=5, limit=5))
    backend.ingest_jsonl(write_jsonl(tmp_path / "more.jsonl", _rows(5, offset=100)))
    after = ids(sessions(backend, offset=5, limit=5))
    assert after != before
    assert after == ids(
        sessions(load(tmp_path, _rows(20) + _rows(5, offset=100)), offset=5, limit=5)
    )


def test_concurrent_requests_compute_once() -> None:
    cache = ResultCache()
    calls = []
    gate = threading.Event()

    def compute() -> list[tuple[int]]:
        calls.append(1)
        gate.wait(1)
        return [(1,), (2,)]

    results: list[list[tuple[int]]] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("k", compute)))
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results == [[(1,), (2,)]] * 5


def test_entries_are_bounded() -> None:
    cache = ResultCache(max_entries=2, max_rows=3)
    for key in "abc":
        cache.get_or_compute(key, lambda: [(1,)])
    assert list(cache._entries) == ["b", "c"]
    cache.get_or_compute("big", lambda: [(1,)] * 4)
    assert "big" not in cache._entries
