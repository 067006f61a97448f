"""Scenarios shared by the reliability tests and ``tests/benchmarks/bench_reliability.py``.

A store of ``n`` sessions (two requests each, one second apart, all inside :data:`WINDOW`), a
client wired to it in process, a fault-free reference frame, and :func:`pull_with_faults`: one
pull under a :class:`FaultPlan`, then the checks the issue asks for (the frame equals the
fault-free one, or a typed error with a clear message, an intact cache and a re-run that
fetches only the missing pages and ends equal).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import pickle
import random
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

import helicone_nb as hnb
from helicone_nb import IncompleteFetchError, PageCache, RetryPolicy
from helicone_nb.backend import Backend, FaultPlan, InProcessTransport

from ..servers import free_port

#: The API key every reliability scenario uses: a sentinel the leak scans look for.
KEY = "sk-helicone-rel1ab1e-5e4t1ne1-7f3c9a1e5b2d"
BASE_URL = "http://helicone.reliability.test"
#: Every session of :func:`sessions_backend` lies inside; ended long ago (immutable in caches).
WINDOW = ("2025-02-28T00:00:00Z", "2025-03-10T00:00:00Z")
FIRST = pd.Timestamp("2025-03-01T00:00:00")

#: The client's default RetryPolicy with a smaller backoff, for speed only. The number of
#: attempts is max_retries + 1 = 7 either way: max_total (120 s) is the only other limit, and
#: the default's worst case, 0.5 + 1 + 2 + 4 + 8 + 16 s of backoff plus six Retry-After waits of
#: at most 1 s (37.5 s), stays far below it, so a smaller backoff never changes how many
#: retries happen.
FAST_DEFAULT = RetryPolicy(backoff=0.01)

#: What a pull that gives up raises, per kind of fault: (exception type, text in its message).
EXPECTED_CAUSE: dict[str, tuple[type[BaseException], str]] = {
    "500": (hnb.ServerError, "HTTP 500"),
    "502": (hnb.ServerError, "HTTP 502"),
    "503": (hnb.ServerError, "HTTP 503"),
    "504": (hnb.ServerError, "HTTP 504"),
    "429": (hnb.RateLimitError, "rate limited"),
    "drop": (hnb.TransportError, "connection failed"),
    "timeout": (hnb.TimeoutError, "no answer within the timeout"),
    "truncate": (hnb.ResponseFormatError, "not JSON (truncated?)"),
    "shape": (hnb.ResponseFormatError, ""),
}


# ------------------------------------------------------------------------------- data


def request_rows(n_sessions: int, requests_per: int = 2) -> pd.DataFrame:
    """``n_sessions`` sessions of ``requests_per`` requests each, as ``ingest_frame`` takes them."""
    i = np.arange(n_sessions * requests_per)
    s = i // requests_per
    return pd.DataFrame(
        {
            "request_id": [f"req-{k:07d}" for k in i],
            "request_created_at": FIRST + pd.to_timedelta(s * 7 + i % requests_per, unit="s"),
            "latency": 100 + i % 50,
            "model": np.where(s % 3 == 0, "gpt-4o", "gpt-4o-mini"),
            "provider": "OPENAI",
            "user_id": [f"user-{k % 37}" if k % 11 else "" for k in s],
            "prompt_tokens": 10 + i % 5,
            "completion_tokens": 5 + i % 3,
            "cost": 1000 + i * 17,
            "status": np.where(i % 29 == 0, 500, 200),
            "property:Helicone-Session-Id": [f"sess-{k:06d}" for k in s],
            "property:Helicone-Session-Name": [f"app-{k % 5}" for k in s],
            "property:environment": np.where(s % 2 == 0, "production", "staging"),
        }
    )


def sessions_backend(n_sessions: int, **backend_kwargs: Any) -> Backend:
    """An in-memory backend holding ``n_sessions`` sessions inside :data:`WINDOW`."""
    backend = Backend(**backend_kwargs)
    backend.ingest_frame(request_rows(n_sessions))
    return backend


# ------------------------------------------------------------------------------- clients


class Recorder(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps a transport; records (path, offset) of every request sent."""

    def __init__(self, inner: InProcessTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, int | None]] = []
        self._lock = threading.Lock()

    def _record(self, request: httpx.Request) -> None:
        try:
            offset = json.loads(request.content).get("offset")
        except ValueError:
            offset = None
        with self._lock:
            self.sent.append((request.url.path, offset))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._record(request)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._record(request)
        return await self.inner.handle_async_request(request)

    def offsets(self, path: str = "/v1/session/query") -> list[int]:
        return sorted(o for p, o in self.sent if p == path and o is not None)


def client(
    backend: Backend,
    cache: Any = False,
    *,
    key: str = KEY,
    recorder: bool = False,
    **kwargs: Any,
) -> hnb.Client:
    """A client talking to ``backend`` in process (timeout 0.2 s, FAST_DEFAULT retries)."""
    kwargs.setdefault("timeout", 0.2)
    kwargs.setdefault("retries", FAST_DEFAULT)
    kwargs.setdefault("progress", False)
    transport: httpx.BaseTransport = InProcessTransport(backend)
    if recorder:
        transport = Recorder(InProcessTransport(backend))
    return hnb.Client(key, base_url=BASE_URL, transport=transport, cache=cache, **kwargs)


def clean_frame(backend: Backend, page_size: int = 1000) -> pd.DataFrame:
    """The fault-free frame of :data:`WINDOW`."""
    plan, backend.faults = backend.faults, None
    try:
        with client(backend, page_size=page_size) as c:
            return c.fetch_sessions(*WINDOW)
    finally:
        backend.faults = plan


def frame_difference(got: pd.DataFrame, expected: pd.DataFrame) -> str:
    """'' when equal (values, dtypes, order), else pandas' explanation."""
    try:
        pd.testing.assert_frame_equal(got, expected)
    except AssertionError as exc:
        return str(exc) or "frames differ"
    return ""


def partial_difference(partial: pd.DataFrame, clean: pd.DataFrame) -> str:
    """'' when every row of ``partial`` is the fault-free row of the same session."""
    keys = ["session_id", "session_name"]
    if partial.duplicated(subset=keys).any():
        return "the partial frame has duplicate sessions"
    indexed = clean.set_index(keys)
    wanted = list(zip(partial["session_id"], partial["session_name"], strict=True))
    missing = [k for k in wanted if k not in indexed.index]
    if missing:
        return f"the partial frame has sessions the data does not: {missing[:3]}"
    expected = indexed.loc[wanted].reset_index()[list(partial.columns)] if wanted else clean[:0]
    return frame_difference(partial.reset_index(drop=True), expected.reset_index(drop=True))


# ------------------------------------------------------------------------------- the cache


def cache_problems(directory: Path) -> list[str]:
    """Every entry file must load through ``PageCache.get`` as a typed page or a count.

    The cache is read with a clock in the past, so entries that have expired still count.
    """
    problems: list[str] = []
    cache = PageCache(directory, clock=lambda: dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    for path in sorted(Path(directory).rglob("*.page")):
        if path.name.startswith(".tmp-"):
            # A read-ahead page past the end can still be in flight, and retrying, seconds
            # after a pull returned (report: client diff 6): a fresh temporary file is a write
            # under way, renamed into place in a moment. One that stays is a leftover.
            with contextlib.suppress(FileNotFoundError):
                if time.time() - path.stat().st_mtime > 30:
                    problems.append(f"{path.name}: a temporary file was left behind")
            continue
        try:
            fmt, _, _ = pickle.loads(path.read_bytes())
        except Exception as exc:
            problems.append(f"{path.name}: unreadable ({type(exc).__name__})")
            continue
        value = cache.get(path.stem)
        if value is None:
            problems.append(f"{path.name}: PageCache.get returned nothing (format {fmt})")
        elif isinstance(value, pd.DataFrame):
            if list(value.columns) not in (list(hnb.SESSION_SCHEMA), list(hnb.REQUEST_SCHEMA)):
                problems.append(f"{path.name}: a frame with columns {list(value.columns)}")
        elif not isinstance(value, int):
            problems.append(f"{path.name}: holds a {type(value).__name__}")
    return problems


def page_keys(c: hnb.Client, page_size: int, rows: int) -> dict[int | None, str]:
    """Cache keys of the count (None) and of every page of the :data:`WINDOW` query."""
    query = c._sessions_query(
        *WINDOW,
        search="",
        name=None,
        filter=None,
        tz="UTC",
        max_sessions=None,
        page_size=page_size,
    )
    keys: dict[int | None, str] = {None: c._cache_key(query, "/v1/session/count", None)}
    for offset in range(0, max(rows, 1), page_size):
        keys[offset] = c._cache_key(query, query.path, offset)
    return keys


def wrong_entries(c: hnb.Client, clean: pd.DataFrame, page_size: int) -> list[str]:
    """Cached pages (and the count) of the WINDOW query that differ from the fault-free data."""
    assert c.cache is not None
    problems = []
    for offset, key in page_keys(c, page_size, len(clean)).items():
        value = c.cache.get(key)
        if value is None:
            continue
        if offset is None:
            if value != len(clean):
                problems.append(f"cached count {value} != {len(clean)}")
            continue
        expected = clean.iloc[offset : offset + page_size].reset_index(drop=True)
        diff = frame_difference(value.reset_index(drop=True), expected)
        if diff:
            problems.append(f"cached page at offset {offset} is wrong: {diff[:200]}")
    return problems


# ------------------------------------------------------------------------------- one pull


@dataclass
class Pull:
    """What one pull under faults did, and what the checks found."""

    completed: bool = False
    mismatch: str = ""  # a completed pull whose frame differs from the fault-free one
    warned: list[str] = field(default_factory=list)  # InconsistentPagesWarning messages
    error: BaseException | None = None
    problems: list[str] = field(default_factory=list)  # broken promises (empty = all kept)
    resumed: bool | None = None  # None: no re-run needed
    refetched: list[int] = field(default_factory=list)
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatch and not self.problems


def pull_with_faults(
    backend: Backend,
    plan: FaultPlan | None,
    clean: pd.DataFrame,
    cache_dir: Path,
    *,
    page_size: int,
    expect: tuple[type[BaseException], str] | None = None,
    **client_kwargs: Any,
) -> Pull:
    """Pull :data:`WINDOW` under ``plan``; check the outcome; on failure re-run without faults."""
    result = Pull()
    backend.faults = plan
    c = client(backend, cache_dir, page_size=page_size, **client_kwargs)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", hnb.InconsistentPagesWarning)
            df = c.fetch_sessions(*WINDOW)
        result.warned = [str(w.message) for w in caught]
        result.completed = True
        result.mismatch = frame_difference(df, clean)
    except IncompleteFetchError as exc:
        result.error = exc
        cause = exc.__cause__
        if expect is not None and not isinstance(cause, expect[0]):
            result.problems.append(f"expected {expect[0].__name__}, got {cause!r}")
        if expect is not None and expect[1] not in str(cause):
            result.problems.append(f"message {str(cause)!r} lacks {expect[1]!r}")
        if "re-running the same call resumes" not in str(exc):
            result.problems.append(f"the error does not say how to resume: {exc}")
        diff = partial_difference(exc.partial, clean)
        if diff:
            result.problems.append(f"partial frame: {diff[:300]}")
    finally:
        backend.faults = None
        result.requests = c.last_fetch.requests
    result.problems += cache_problems(cache_dir)
    result.problems += wrong_entries(c, clean, page_size)
    if result.error is not None:
        result.problems += _resume(backend, clean, cache_dir, page_size, result)
    c.close()
    return result


def _resume(
    backend: Backend, clean: pd.DataFrame, cache_dir: Path, page_size: int, result: Pull
) -> list[str]:
    """Re-run without faults: only the missing pages are fetched, and the frame is complete."""
    c = client(backend, cache_dir, page_size=page_size, recorder=True)
    assert c.cache is not None
    keys = page_keys(c, page_size, len(clean))
    present = {offset for offset, key in keys.items() if c.cache.get(key) is not None}
    missing = sorted(o for o in keys if o is not None and o not in present)
    problems = []
    try:
        df = c.fetch_sessions(*WINDOW)
    except Exception as exc:
        return [f"the re-run without faults failed: {exc!r}"]
    recorder = c._http._transport
    assert isinstance(recorder, Recorder)
    result.refetched = recorder.offsets()
    result.resumed = not frame_difference(df, clean)
    if not result.resumed:
        problems.append(f"the re-run differs: {frame_difference(df, clean)[:300]}")
    inside = [o for o in result.refetched if o < len(clean)]
    beyond = [o for o in result.refetched if o >= len(clean)]
    if inside != missing:
        problems.append(f"the re-run fetched pages {inside}, missing were {missing}")
    if beyond and None in present:
        problems.append(f"the re-run read past the cached count: pages {beyond}")
    c.close()
    return problems


# ------------------------------------------------------------------------------- the demo

#: A session query over the whole demo period.
DEMO_BODY: dict[str, Any] = {
    "search": "",
    "timeFilter": {"startTimeUnixMs": 1748822400000, "endTimeUnixMs": 1756684800000},
    "timezoneDifference": 0,
    "filter": "all",
}


def demo_queries(rng: random.Random, session_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """100 varied queries on the demo data: pages, searches, counts, names, one session."""
    names = ["support-chat", "code-review-agent", "research-agent", "email-drafter", "sql-copilot"]
    out: list[tuple[str, dict[str, Any]]] = []
    for _ in range(100):
        kind = rng.randrange(6)
        if kind == 0:
            body = {**DEMO_BODY, "offset": rng.randrange(0, 300, 25), "limit": 25}
            out.append(("/v1/session/query", body))
        elif kind == 1:
            body = {**DEMO_BODY, "search": rng.choice(["sup", "agent", "a_", "%"]), "limit": 100}
            out.append(("/v1/session/query", body))
        elif kind == 2:
            flt = {"request_response_rmt": {"model": {"equals": rng.choice(["gpt-4o", "x"])}}}
            out.append(("/v1/session/count", {**DEMO_BODY, "filter": flt}))
        elif kind == 3:
            out.append(("/v1/session/query", {**DEMO_BODY, "nameEquals": rng.choice(names)}))
        elif kind == 4:
            sid = rng.choice(session_ids)
            flt = {"request_response_rmt": {"properties": {"Helicone-Session-Id": {"equals": sid}}}}
            out.append(("/v1/request/query-clickhouse", {"filter": flt, "limit": 100}))
        else:
            out.append(("/v1/session/name/query", {"nameContains": "", "timezoneDifference": 0}))
    return out


# ------------------------------------------------------------------------------- servers


@contextlib.contextmanager
def uvicorn_thread(backend: Backend) -> Iterator[str]:
    """Serve ``backend`` with the real ASGI app and uvicorn, in a thread on 127.0.0.1.

    uvicorn binds the port itself: handing it a pre-bound socket costs 40 ms per request
    (the accepted connections then lack TCP_NODELAY).
    """
    import uvicorn

    from helicone_nb.backend import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(backend), host="127.0.0.1", port=port, log_level="critical", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = dt.datetime.now() + dt.timedelta(seconds=20)
        while not server.started:
            if dt.datetime.now() > deadline or not thread.is_alive():
                raise AssertionError("uvicorn did not start")
            threading.Event().wait(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
