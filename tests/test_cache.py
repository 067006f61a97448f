"""The on-disk page cache: warm calls, freshness, atomic writes, resume."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb import IncompleteFetchError, PageCache, RetryPolicy

from .fakes import FakeHelicone, session_row

KEY = "sk-helicone-cache-secret-abcdef"
FAST = RetryPolicy(max_retries=1, backoff=0.001, max_backoff=0.002)
OLD = ("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")  # ended long ago: immutable


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def client(fake: FakeHelicone, cache: Any, **kw: Any) -> hnb.Client:
    kw.setdefault("retries", FAST)
    kw.setdefault("concurrency", 1)  # exact request counts
    return hnb.Client(KEY, transport=fake.transport, cache=cache, **kw)


def test_warm_call_makes_zero_requests(cache_dir: Path) -> None:
    fake = FakeHelicone([session_row(i) for i in range(2345)])
    c = client(fake, cache_dir, page_size=500)
    cold = c.fetch_sessions(*OLD, tz="Europe/Berlin")
    assert c.last_fetch.requests == 6  # count + 5 pages
    n = len(fake.requests)
    warm = c.fetch_sessions(*OLD, tz="Europe/Berlin")
    assert len(fake.requests) == n  # counted at the transport
    assert c.last_fetch.requests == 0 and c.last_fetch.cached_pages == 5
    pd.testing.assert_frame_equal(cold, warm)
    # another tz is the same query (frames are cached in UTC)
    other = c.fetch_sessions(*OLD, tz="UTC")
    assert len(fake.requests) == n and len(other) == 2345


def test_a_new_client_reuses_the_cache(cache_dir: Path) -> None:
    fake = FakeHelicone([session_row(i) for i in range(30)])
    client(fake, cache_dir).fetch_sessions(*OLD)
    n = len(fake.requests)
    client(fake, cache_dir).fetch_sessions(*OLD)
    assert len(fake.requests) == n


def test_key_is_part_of_the_cache_key_but_never_on_disk(cache_dir: Path) -> None:
    fake = FakeHelicone([session_row(i) for i in range(30)])
    client(fake, cache_dir).fetch_sessions(*OLD)
    n = len(fake.requests)
    hnb.Client("sk-other-org", transport=fake.transport, cache=cache_dir).fetch_sessions(*OLD)
    assert len(fake.requests) > n  # another organisation never shares an entry
    for path in cache_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data and b"sk-other-org" not in data


def test_permissions(cache_dir: Path) -> None:
    client(FakeHelicone(), cache_dir).fetch_sessions(*OLD)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    files = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert files
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_unreadable_entry_is_fetched_again(cache_dir: Path) -> None:
    fake = FakeHelicone([session_row(i) for i in range(10)])
    c = client(fake, cache_dir)
    first = c.fetch_sessions(*OLD)
    for p in cache_dir.rglob("*.page"):
        p.write_bytes(b"\x80\x04garbage")
    n = len(fake.requests)
    again = c.fetch_sessions(*OLD)
    assert len(fake.requests) > n
    pd.testing.assert_frame_equal(first, again)


def test_refresh_and_cache_false(cache_dir: Path) -> None:
    fake = FakeHelicone([session_row(i) for i in range(10)])
    c = client(fake, cache_dir)
    c.fetch_sessions(*OLD)
    n = len(fake.requests)
    c.fetch_sessions(*OLD, refresh=True)
    assert len(fake.requests) == n + 2
    c.fetch_sessions(*OLD, cache=False)
    assert len(fake.requests) == n + 4
    c.fetch_sessions(*OLD)
    assert len(fake.requests) == n + 4


def test_freshness_settled_windows_are_kept_recent_ones_expire(cache_dir: Path) -> None:
    now = dt.datetime(2025, 1, 10, 12, 0, tzinfo=dt.UTC)
    clock = Clock(now)
    cache = PageCache(cache_dir, clock=clock)
    fake = FakeHelicone([session_row(i) for i in range(5)])
    c = client(fake, cache)
    settled = (now - dt.timedelta(days=2), now - dt.timedelta(hours=2))
    recent = (now - dt.timedelta(hours=3), now - dt.timedelta(minutes=30))
    c.fetch_sessions(*settled)
    c.fetch_sessions(*recent)
    n = len(fake.requests)
    clock.now = now + dt.timedelta(minutes=4)
    c.fetch_sessions(*settled)
    c.fetch_sessions(*recent)
    assert len(fake.requests) == n  # both fresh
    clock.now = now + dt.timedelta(minutes=6)
    c.fetch_sessions(*recent)
    assert len(fake.requests) == n + 2  # ttl (5 min) passed: count + page again
    clock.now = now + dt.timedelta(days=365)
    c.fetch_sessions(*settled)
    assert len(fake.requests) == n + 2  # immutable


def test_expiry_boundary_uses_settle_time(cache_dir: Path) -> None:
    now = dt.datetime(2025, 1, 10, 12, 0, tzinfo=dt.UTC)
    cache = PageCache(
        cache_dir, clock=Clock(now), settle=dt.timedelta(hours=1), ttl=dt.timedelta(minutes=5)
    )
    assert cache.expiry_for(now - dt.timedelta(minutes=61)) is None
    assert (
        cache.expiry_for(now - dt.timedelta(minutes=59))
        == (now + dt.timedelta(minutes=5)).timestamp()
    )


def test_info_and_clear(cache_dir: Path) -> None:
    now = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
    clock = Clock(now)
    cache = PageCache(cache_dir, clock=clock)
    assert cache.info().entries == 0 and cache.info().oldest is None
    c = client(FakeHelicone([session_row(i) for i in range(5)]), cache)
    c.fetch_sessions(*OLD)
    info = c.cache.info()  # type: ignore[union-attr]
    assert info.entries == 2 and info.bytes > 0 and info.oldest is not None
    assert "2 entries" in str(info)
    clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    assert cache.clear(older_than="30d") == 0
    assert cache.clear(older_than=dt.timedelta(days=1)) == 2
    assert cache.info().entries == 0
    c.fetch_sessions(*OLD)
    assert cache.clear() == 2
    with pytest.raises(hnb.UsageError, match="older_than"):
        cache.clear(older_than="yesterday")


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELICONE_NB_CACHE_DIR", str(tmp_path / "envcache"))
    c = hnb.Client(KEY, transport=FakeHelicone().transport)
    assert c.cache is not None and c.cache.directory == tmp_path / "envcache"
    c.fetch_sessions(*OLD)
    assert any((tmp_path / "envcache").rglob("*.page"))
    assert hnb.Client(KEY, cache=False).cache is None


def test_resume_fetches_only_missing_pages(cache_dir: Path) -> None:
    fake = FakeHelicone([session_row(i) for i in range(1000)])
    failing = {300, 700}

    def fault(request: httpx.Request) -> httpx.Response | None:
        if json.loads(request.content).get("offset") in failing:
            return httpx.Response(503, json={"data": None, "error": "overloaded"})
        return None

    fake.fault_always = fault
    c = client(fake, cache_dir, page_size=100, concurrency=3)
    with pytest.raises(IncompleteFetchError) as info:
        c.fetch_sessions(*OLD)
    err = info.value
    assert "re-running the same call resumes" in str(err)
    fetched = {b["offset"] for b in fake.bodies() if b["offset"] not in failing}
    assert len(err.partial) == 100 * len(fetched)
    fake.fault_always = None
    fake.requests.clear()
    df = c.fetch_sessions(*OLD)
    assert len(df) == 1000
    refetched = sorted(b["offset"] for b in fake.bodies())
    assert set(refetched).isdisjoint(fetched)
    assert set(refetched) >= failing
    assert not fake.bodies("/v1/session/count")  # the count was cached too
    assert df["session_id"].tolist() == [f"sess-{i:05d}" for i in range(1000)]


def _writer(directory: str, seed: int, out: str) -> None:
    import hashlib

    import pandas as pd

    from helicone_nb import PageCache
    from helicone_nb._frames import sessions_frame
    from tests.fakes import session_row

    cache = PageCache(directory)
    frame = sessions_frame([session_row(i) for i in range(200)])
    for i in range(60):
        key = hashlib.sha256(f"k{i % 6}".encode()).hexdigest()
        cache.put(key, frame, None)
        got = cache.get(key)
        if got is not None:
            pd.testing.assert_frame_equal(got, frame)
    Path(out).write_text("ok")


def test_two_processes_writing_the_same_entries(cache_dir: Path, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_writer, args=(str(cache_dir), i, str(tmp_path / f"ok{i}")))
        for i in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert (tmp_path / "ok0").read_text() == "ok" and (tmp_path / "ok1").read_text() == "ok"
    cache = PageCache(cache_dir)
    assert cache.info().entries == 6
    assert not [p for p in cache_dir.rglob(".tmp-*")]
    for p in cache_dir.rglob("*.page"):
        assert cache.get(p.stem) is not None


def test_unwritable_cache_is_not_fatal(tmp_path: Path) -> None:
    target = tmp_path / "ro"
    target.mkdir()
    os.chmod(target, 0o500)
    try:
        fake = FakeHelicone([session_row(i) for i in range(5)])
        cache = PageCache(target / "sub")
        if os.geteuid() == 0:
            pytest.skip("root can write anywhere")
        assert len(client(fake, cache).fetch_sessions(*OLD)) == 5
    finally:
        os.chmod(target, 0o700)
