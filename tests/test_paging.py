"""Paging written once: the scheduler's re-count of open windows, the consolidated cache entry
of a completed query, and cache file I/O of the async client off the event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import warnings
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb import PageCache, RetryPolicy

from .fakes import FakeHelicone, session_row

KEY = "sk-helicone-paging-test"
FAST = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.002)
OLD = ("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")  # settled long ago


def client(fake: FakeHelicone, **kw: Any) -> hnb.Client:
    kw.setdefault("retries", FAST)
    kw.setdefault("cache", False)
    kw.setdefault("concurrency", 1)
    kw.setdefault("page_size", 100)
    return hnb.Client(KEY, transport=fake.transport, **kw)


class MovingCount(FakeHelicone):
    """Serves ``rows`` but its count grows by ``step`` on every count request after the first."""

    def __init__(self, rows: list[dict[str, Any]], step: int) -> None:
        super().__init__(rows)
        self.step = step
        self.counts = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.url.path != "/v1/session/count":
            return response
        self.counts += 1
        body = json.loads(response.content)
        body["data"]["count"] += self.step * (self.counts - 1)
        return httpx.Response(200, json=body)


# -- issue 11 item 3: an open window is counted again at the end ---------------------------


def test_open_window_recounts_and_warns_when_the_count_moved_even_if_rows_agree() -> None:
    fake = MovingCount([session_row(i) for i in range(300)], step=7)
    with pytest.warns(hnb.InconsistentPagesWarning, match=r"counted 300 sessions when .* 307"):
        df = client(fake).fetch_sessions("2h")  # ends now: inside the settle time
    assert len(df) == 300  # the rows agree with the first count: only the re-count tells
    assert len(fake.bodies("/v1/session/count")) == 2


def test_open_window_with_a_steady_count_does_not_warn() -> None:
    fake = MovingCount([session_row(i) for i in range(300)], step=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = client(fake).fetch_sessions("2h")
    assert len(df) == 300 and len(fake.bodies("/v1/session/count")) == 2


def test_settled_windows_and_single_pages_are_not_recounted() -> None:
    fake = MovingCount([session_row(i) for i in range(300)], step=7)
    assert len(client(fake).fetch_sessions(*OLD)) == 300
    assert len(fake.bodies("/v1/session/count")) == 1
    small = MovingCount([session_row(i) for i in range(50)], step=7)
    assert len(client(small).fetch_sessions("2h")) == 50  # one page is one snapshot
    assert len(small.bodies("/v1/session/count")) == 1


def test_recount_uses_the_cache_clock_and_settle_time(tmp_path: Path) -> None:
    fake = MovingCount([session_row(i) for i in range(300)], step=7)
    end = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    cache = PageCache(tmp_path, clock=lambda: end + dt.timedelta(minutes=30))  # still open
    with pytest.warns(hnb.InconsistentPagesWarning, match="when this pull started"):
        client(fake, cache=cache).fetch_sessions(OLD[0], end)
    assert len(fake.bodies("/v1/session/count")) == 2


# -- issue 11 headroom: one consolidated entry per completed query ------------------------------


def test_a_completed_query_is_read_back_from_one_entry(tmp_path: Path) -> None:
    rows = [session_row(i) for i in range(450)]
    rows[3]["user_ids"] = []
    fake = FakeHelicone(rows)
    c = client(fake, cache=tmp_path)
    cold = c.fetch_sessions(*OLD, tz="Europe/Berlin")
    assert c.last_fetch.pages == 5
    entries = {p for p in tmp_path.rglob("*.page")}
    assert len(entries) == 1 + 5 + 1  # the count, five pages, the whole result
    pages = [p for p in entries if isinstance(_load(p), pd.DataFrame) and len(_load(p)) < 450]
    assert len(pages) == 5
    for p in pages:
        p.unlink()  # the warm path no longer needs the pages
    n = len(fake.requests)
    warm = c.fetch_sessions(*OLD, tz="Europe/Berlin")
    assert len(fake.requests) == n
    assert c.last_fetch.requests == 0 and c.last_fetch.cached_pages == 5
    pd.testing.assert_frame_equal(cold, warm)
    assert warm["user_ids"][3] == [] and warm["user_ids"][0] == ["user-0"]
    warm["user_ids"][0].append("x")  # what a caller changes is its own
    warm.loc[1, "total_cost"] = -1.0
    again = c.fetch_sessions(*OLD, tz="Europe/Berlin")
    assert c.last_fetch.requests == 0
    assert again["user_ids"][0] == ["user-0"] and again["total_cost"][1] > 0
    pd.testing.assert_frame_equal(cold, again)


def test_the_kept_result_follows_its_file(tmp_path: Path) -> None:
    """The whole result is kept in memory only while its file is unchanged."""
    fake = FakeHelicone([session_row(i) for i in range(250)])
    c = client(fake, cache=tmp_path)
    first = c.fetch_sessions(*OLD)
    c.fetch_sessions(*OLD)  # now kept in memory
    whole = max(tmp_path.rglob("*.page"), key=lambda p: p.stat().st_size)
    other = PageCache(tmp_path)  # another process rewrites the entry
    changed = _load(whole).copy()
    changed.loc[0, "session_name"] = "rewritten"
    other.put(whole.stem, changed, None)
    assert c.fetch_sessions(*OLD)["session_name"][0] == "rewritten"
    other.clear()
    n = len(fake.requests)
    pd.testing.assert_frame_equal(c.fetch_sessions(*OLD), first)
    assert len(fake.requests) > n  # deleted on disk: fetched again


def test_a_capped_result_is_not_served_for_the_whole_query(tmp_path: Path) -> None:
    fake = FakeHelicone([session_row(i) for i in range(450)])
    c = client(fake, cache=tmp_path)
    assert len(c.fetch_sessions(*OLD, max_sessions=250)) == 250
    assert len(c.fetch_sessions(*OLD)) == 450
    assert len(c.fetch_sessions(*OLD, max_sessions=250)) == 250
    n = len(fake.requests)
    assert len(c.fetch_sessions(*OLD)) == 450
    assert len(fake.requests) == n and not fake.bodies("/v1/session/count")[1:]


def test_inconsistent_pulls_are_not_consolidated(tmp_path: Path) -> None:
    rows = [session_row(i) for i in range(150)] + [session_row(149)]
    fake = FakeHelicone(rows, count=False)
    c = client(fake, cache=tmp_path)
    with pytest.warns(hnb.InconsistentPagesWarning):
        c.fetch_sessions(*OLD)
    with pytest.warns(hnb.InconsistentPagesWarning):  # read from the pages: warns again
        c.fetch_sessions(*OLD)


def _load(path: Path) -> Any:
    import pickle

    return pickle.loads(path.read_bytes())[2]


# -- AsyncClient: cache file I/O off the event loop --------------------------------------------


class RecordingCache(PageCache):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.threads: list[str] = []

    def get(self, key: str, **kw: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        return super().get(key, **kw)

    def put(self, key: str, value: Any, window_end: dt.datetime | None) -> None:
        self.threads.append(threading.current_thread().name)
        super().put(key, value, window_end)


def test_async_client_reads_and_writes_cache_files_in_a_worker_thread(tmp_path: Path) -> None:
    cache = RecordingCache(tmp_path)
    fake = FakeHelicone([session_row(i) for i in range(250)])

    async def run() -> tuple[pd.DataFrame, pd.DataFrame]:
        async with hnb.AsyncClient(
            KEY, transport=fake.transport, cache=cache, page_size=100, retries=FAST
        ) as c:
            return await c.fetch_sessions(*OLD), await c.fetch_sessions(*OLD)

    cold, warm = asyncio.run(run())
    pd.testing.assert_frame_equal(cold, warm)
    loop_thread = threading.current_thread().name
    assert cache.threads and loop_thread not in cache.threads


# -- issue 16 item 1: bugs the tests would not catch ---------------------------------------------


def test_the_cache_key_includes_the_filter(tmp_path: Path) -> None:
    fake = FakeHelicone([session_row(i) for i in range(5)])
    c = client(fake, cache=tmp_path)
    c.fetch_sessions(*OLD, filter=hnb.request.model == "a")
    sent = len(fake.requests)
    c.fetch_sessions(*OLD, filter=hnb.request.model == "b")
    assert len(fake.requests) == 2 * sent  # the second filter reached the transport too
    models = [b["filter"]["request_response_rmt"]["model"]["equals"] for b in fake.bodies()]
    assert models == ["a", "b"]


def test_request_rows_are_deduplicated_on_request_id_across_pages() -> None:
    def row(i: int) -> dict[str, Any]:
        return {
            "request_id": f"r{i}",
            "request_created_at": f"2025-01-01T00:00:{i:02d}.000Z",
            "request_properties": {"Helicone-Session-Id": "s1"},
        }

    fake = FakeHelicone()
    fake.requests_rows = [row(0), row(1), row(1), row(2), row(3)]  # page 2 repeats a row
    df = client(fake, page_size=2).fetch_session_requests("s1")
    assert df["request_id"].tolist() == ["r0", "r1", "r2", "r3"]


class WrongCount(FakeHelicone):
    """Its count says ``count`` whatever rows it holds."""

    def __init__(self, rows: list[dict[str, Any]], count: int) -> None:
        super().__init__(rows)
        self.wrong = count

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.url.path != "/v1/session/count":
            return response
        body = json.loads(response.content)
        body["data"]["count"] = self.wrong
        return httpx.Response(200, json=body)


def test_the_pager_does_not_trust_a_count_that_is_too_low() -> None:
    fake = WrongCount([session_row(i) for i in range(250)], count=150)
    with pytest.warns(hnb.InconsistentPagesWarning, match="counted 150 sessions but 250"):
        df = client(fake).fetch_sessions(*OLD)
    assert len(df) == 250
    assert df["session_id"].tolist() == [f"sess-{i:05d}" for i in range(250)]
