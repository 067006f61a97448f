"""Client and AsyncClient against a scripted Helicone (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import warnings
from typing import Any

import httpx
import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb import (
    AuthenticationError,
    ConfigurationError,
    FilterError,
    IncompleteFetchError,
    RateLimitError,
    RequestValidationError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    TransportError,
    UsageError,
)

from .fakes import FakeHelicone, connect_error, drop, raw, session_row, status, timeout

KEY = "sk-helicone-secret-1234567890"
FAST = RetryPolicy(max_retries=3, backoff=0.001, max_backoff=0.002)
WINDOW = ("2025-01-01", "2025-01-02")


def make(fake: FakeHelicone, **kw: Any) -> hnb.Client:
    kw.setdefault("retries", FAST)
    kw.setdefault("cache", False)
    kw.setdefault("concurrency", 1)  # deterministic request counts; concurrency tests set it
    return hnb.Client(KEY, transport=fake.transport, **kw)


def make_async(fake: FakeHelicone, **kw: Any) -> hnb.AsyncClient:
    kw.setdefault("retries", FAST)
    kw.setdefault("cache", False)
    return hnb.AsyncClient(KEY, transport=fake.transport, **kw)


# -- configuration ---------------------------------------------------------------------------


def test_key_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeHelicone()
    make(fake).fetch_sessions(*WINDOW)
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"
    monkeypatch.setenv("HELICONE_API_KEY", "sk-from-env")
    fake2 = FakeHelicone()
    hnb.Client(transport=fake2.transport, cache=False).fetch_sessions(*WINDOW)
    assert fake2.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_missing_key_says_how_to_fix() -> None:
    with pytest.raises(ConfigurationError, match=r"HELICONE_API_KEY.*connect\(\)"):
        hnb.Client()


def test_regions_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert hnb.Client(KEY).base_url == "https://api.helicone.ai"
    assert hnb.Client(KEY, region="eu").base_url == "https://eu.api.helicone.ai"
    assert hnb.Client("sk-helicone-eu-abc").base_url == "https://eu.api.helicone.ai"
    assert hnb.Client(KEY, base_url="http://localhost:8585/").base_url == "http://localhost:8585"
    monkeypatch.setenv("HELICONE_BASE_URL", "http://helicone.internal:8585")
    assert hnb.Client(KEY).base_url == "http://helicone.internal:8585"
    assert hnb.Client(KEY, region="eu").base_url == "https://eu.api.helicone.ai"
    monkeypatch.delenv("HELICONE_BASE_URL")
    with pytest.raises(ConfigurationError, match="region must be"):
        hnb.Client(KEY, region="asia")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="either region or base_url"):
        hnb.Client(KEY, region="eu", base_url="http://x")
    with pytest.raises(ConfigurationError, match="http"):
        hnb.Client(KEY, base_url="localhost:8585")


def test_requests_go_to_the_region_host() -> None:
    fake = FakeHelicone()
    hnb.Client(KEY, region="eu", transport=fake.transport, cache=False).fetch_sessions(*WINDOW)
    assert {r.url.host for r in fake.requests} == {"eu.api.helicone.ai"}
    assert {r.url.path for r in fake.requests} == {"/v1/session/query", "/v1/session/count"}


def test_bad_arguments_fail_before_any_request() -> None:
    fake = FakeHelicone()
    client = make(fake)
    with pytest.raises(UsageError, match="must be after start"):
        client.fetch_sessions("2025-01-02", "2025-01-01")
    with pytest.raises(FilterError, match="EVERYTHING"):
        client.fetch_sessions(
            *WINDOW,
            filter={
                "left": {"request_response_rmt": {"model": {"equals": "a"}}},
                "operator": "or",
                "right": {"sessions_request_response_rmt": {"session_total_cost": {"gt": 1}}},
            },
        )
    with pytest.raises(UsageError, match="search must be a string"):
        client.fetch_sessions(*WINDOW, search=5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="max_sessions"):
        client.fetch_sessions(*WINDOW, max_sessions=0)
    with pytest.raises(UsageError, match="page_size"):
        client.fetch_sessions(*WINDOW, page_size=5000)
    with pytest.raises(UsageError, match="unknown time zone"):
        client.fetch_sessions(*WINDOW, tz="Nowhere/Land")
    with pytest.raises(UsageError, match="concurrency"):
        hnb.Client(KEY, concurrency=0)
    assert fake.requests == []


# -- the body sent ---------------------------------------------------------------------------


def test_body_carries_window_search_name_filter() -> None:
    fake = FakeHelicone()
    make(fake).fetch_sessions(
        "2025-01-01",
        "2025-01-02",
        tz="Europe/Berlin",
        search="support",
        name="support-chat",
        filter=(hnb.request.model == "gpt-4o") & (hnb.session.total_cost > 0.5),
    )
    body = fake.bodies()[0]
    assert body["timeFilter"] == {"startTimeUnixMs": 1735686000000, "endTimeUnixMs": 1735772400000}
    assert body["search"] == "support"
    assert body["nameEquals"] == "support-chat"
    assert body["timezoneDifference"] == 0
    assert body["filter"]["left"] == {"request_response_rmt": {"model": {"equals": "gpt-4o"}}}
    assert body["offset"] == 0 and body["limit"] == 1000


def test_raw_wire_filters_are_accepted() -> None:
    fake = FakeHelicone()
    wire = {"request_response_rmt": {"properties": {"Helicone-Session-Name": {"equals": "x"}}}}
    make(fake).fetch_sessions(*WINDOW, filter=wire)
    assert fake.bodies()[0]["filter"] == wire
    make(fake).fetch_sessions(*WINDOW, filter={})
    assert fake.bodies()[-1]["filter"] == "all"


# -- the DataFrame ---------------------------------------------------------------------------


def test_frame_is_typed_and_shown_in_tz() -> None:
    fake = FakeHelicone([session_row(i, total_requests=str(i + 1)) for i in range(5)])
    df = make(fake).fetch_sessions(*WINDOW, tz="America/New_York")
    assert str(df["created_at"].dt.tz) == "America/New_York"
    assert df["created_at"][0] == pd.Timestamp("2025-01-01T00:00:00Z")
    assert df["total_requests"].dtype == "Int64"
    assert df["total_requests"].tolist() == [1, 2, 3, 4, 5]


def test_empty_result_keeps_schema() -> None:
    df = make(FakeHelicone([])).fetch_sessions(*WINDOW)
    assert df.empty and list(df.columns) == list(hnb.SESSION_SCHEMA)
    assert df["total_cost"].dtype == "float64"


# -- paging ----------------------------------------------------------------------------------


def test_pages_of_at_most_1000_until_a_short_page() -> None:
    fake = FakeHelicone([session_row(i) for i in range(2500)], count=False)
    df = make(fake, concurrency=1).fetch_sessions(*WINDOW)
    assert len(df) == 2500
    offsets = [b["offset"] for b in fake.bodies()]
    assert offsets == [0, 1000, 2000]
    assert all(b["limit"] == 1000 for b in fake.bodies())
    assert df["session_id"].is_unique


def test_count_plans_pages_and_fetches_them_concurrently() -> None:
    fake = FakeHelicone([session_row(i) for i in range(950)])
    client = make(fake, page_size=100, concurrency=4)
    df = client.fetch_sessions(*WINDOW)
    assert len(df) == 950
    assert sorted(b["offset"] for b in fake.bodies()) == list(range(0, 1000, 100))
    assert len(fake.bodies("/v1/session/count")) == 1
    assert client.last_fetch.requests == 11
    assert df["session_id"].tolist() == [f"sess-{i:05d}" for i in range(950)]


def test_exact_multiple_of_page_size_trusts_count() -> None:
    fake = FakeHelicone([session_row(i) for i in range(300)])
    df = make(fake, page_size=100).fetch_sessions(*WINDOW)
    assert len(df) == 300
    assert sorted(b["offset"] for b in fake.bodies()) == [0, 100, 200]


def test_count_failure_falls_back_to_read_ahead() -> None:
    fake = FakeHelicone([session_row(i) for i in range(250)], count=False)
    df = make(fake, page_size=100, concurrency=2).fetch_sessions(*WINDOW)
    assert len(df) == 250


def test_rows_are_deduplicated_on_id_and_name() -> None:
    rows = [session_row(i) for i in range(5)]
    rows += [session_row(4), session_row(4, name="other")]  # shifted into the next page
    fake = FakeHelicone(rows, count=False)
    with pytest.warns(hnb.InconsistentPagesWarning, match="1 duplicates removed"):
        df = make(fake, page_size=5).fetch_sessions(*WINDOW)
    assert len(df) == 6
    assert df[df.session_id == "sess-00004"]["session_name"].tolist() == ["support-chat", "other"]


def test_count_mismatch_warns_with_both_numbers() -> None:
    rows = [session_row(i) for i in range(5)] + [session_row(4)]
    fake = FakeHelicone(rows)
    with pytest.warns(hnb.InconsistentPagesWarning, match=r"counted 6 sessions but 5"):
        make(fake, page_size=3).fetch_sessions(*WINDOW)


def test_max_sessions_caps_rows_and_requests() -> None:
    fake = FakeHelicone([session_row(i) for i in range(5000)], count=False)
    df = make(fake, concurrency=1).fetch_sessions(*WINDOW, max_sessions=1500)
    assert len(df) == 1500
    assert [b["offset"] for b in fake.bodies()] == [0, 1000]


# -- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        status(502),
        status(503),
        status(504),
        status(500, {"data": None, "error": "boom"}),
        status(429, {"error": "Too many requests, please try again later."}),
        drop,
        timeout,
        connect_error,
        raw(200, b'{"data": [{"session_id": "tru'),
    ],
    ids=["502", "503", "504", "500", "429", "dropped", "timeout", "connect", "truncated"],
)
def test_transient_faults_are_retried(fault: Any) -> None:
    fake = FakeHelicone(count=False)
    fake.faults = [fault, fault]
    df = make(fake).fetch_sessions(*WINDOW)
    assert len(df) == 10
    assert len(fake.bodies()) == 3


def test_retry_after_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeHelicone(count=False)
    fake.faults = [status(429, {"error": "Too many requests"}, {"Retry-After": "0.2"})]
    caplog.set_level(logging.INFO, logger="helicone_nb")
    make(fake).fetch_sessions(*WINDOW)
    delays = [
        float(r.getMessage().split(" in ")[1].split("s ")[0])
        for r in caplog.records
        if r.getMessage().startswith("retrying")
    ]
    assert len(delays) == 1 and delays[0] >= 0.2


def test_ratelimit_reset_header_is_honoured() -> None:
    policy = RetryPolicy(max_retries=2, backoff=0.001, max_total=0.05)
    fake = FakeHelicone(count=False)
    fake.fault_always = status(429, {"error": "Too many requests"}, {"RateLimit-Reset": "30"})
    with pytest.raises(IncompleteFetchError) as info:
        make(fake, retries=policy).fetch_sessions(*WINDOW)
    cause = info.value.__cause__
    assert isinstance(cause, RateLimitError) and cause.retry_after == 30
    assert "wait 30s" in str(cause)
    assert len(fake.bodies()) == 1  # 30 s exceeds the 0.05 s budget: no pointless wait


def test_retries_are_bounded_in_count() -> None:
    fake = FakeHelicone(count=False)
    fake.fault_always = status(503, {"data": None, "error": "overloaded"})
    with pytest.raises(IncompleteFetchError) as info:
        make(fake).fetch_sessions(*WINDOW)
    assert isinstance(info.value.__cause__, ServerError)
    assert len(fake.bodies()) == 1 + FAST.max_retries


def test_backoff_grows_exponentially_with_jitter() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    for attempt, cap in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 5.0)]:
        samples = [policy.delay(attempt, None) for _ in range(200)]
        assert min(samples) >= 0 and max(samples) <= cap
        assert max(samples) > cap * 0.5  # jitter spreads over the range


def test_client_errors_are_not_retried() -> None:
    fake = FakeHelicone(count=False)
    fake.fault_always = status(401, {"error": "No API key found", "trace": "isAuthenticated.error"})
    with pytest.raises(IncompleteFetchError) as info:
        make(fake).fetch_sessions(*WINDOW)
    assert len(fake.bodies()) == 1
    err = info.value.__cause__
    assert isinstance(err, AuthenticationError) and err.status_code == 401
    assert "Read-only keys get 401" in str(err)
    assert "No API key found" in str(err)


def test_422_details_per_field() -> None:
    body = {
        "message": "Validation Failed",
        "details": {
            "requestBody.foo": {
                "message": '"foo" is an excess property and therefore is not allowed',
                "value": 1,
            }
        },
    }
    fake = FakeHelicone(count=False)
    fake.fault_always = status(422, body)
    with pytest.raises(IncompleteFetchError) as info:
        make(fake).fetch_sessions(*WINDOW)
    err = info.value.__cause__
    assert isinstance(err, RequestValidationError)
    assert "requestBody.foo" in str(err) and "excess property" in str(err)
    assert err.details["requestBody.foo"]["value"] == 1


def test_error_envelope_message_is_shown() -> None:
    fake = FakeHelicone(count=False)
    fake.fault_always = status(200, {"data": None, "error": "Invalid timezone difference"})
    with pytest.raises(IncompleteFetchError) as info:
        make(fake).fetch_sessions(*WINDOW)
    assert "Invalid timezone difference" in str(info.value.__cause__)


def test_wrong_shapes_are_format_errors() -> None:
    for content in (b'{"rows": []}', b"[1,2]", b'{"data": {"a": 1}, "error": null}'):
        fake = FakeHelicone(count=False)
        fake.fault_always = raw(200, content)
        with pytest.raises(IncompleteFetchError) as info:
            make(fake).fetch_sessions(*WINDOW)
        assert isinstance(info.value.__cause__, ResponseFormatError)


def test_transport_errors_after_retries() -> None:
    fake = FakeHelicone(count=False)
    fake.fault_always = connect_error
    with pytest.raises(IncompleteFetchError) as info:
        make(fake).fetch_sessions(*WINDOW)
    assert isinstance(info.value.__cause__, TransportError)
    assert "connection failed" in str(info.value.__cause__)
    fake.fault_always = timeout
    with pytest.raises(IncompleteFetchError) as info:
        make(fake).fetch_sessions(*WINDOW)
    assert isinstance(info.value.__cause__, hnb.TimeoutError)


def test_other_status_errors() -> None:
    fake = FakeHelicone(count=False)
    fake.fault_always = status(404, {"error": "not found"})
    with pytest.raises(IncompleteFetchError) as info:
        make(fake).fetch_sessions(*WINDOW)
    assert isinstance(info.value.__cause__, hnb.APIStatusError)
    assert "base_url" in str(info.value.__cause__)


# -- failures half way -----------------------------------------------------------------------


def test_failure_half_way_keeps_what_was_fetched() -> None:
    fake = FakeHelicone([session_row(i) for i in range(450)], count=False)

    def fail_third_page(request: httpx.Request) -> httpx.Response | None:
        body = json.loads(request.content)
        if body.get("offset") == 200:
            return httpx.Response(503, json={"data": None, "error": "down"})
        return None

    fake.fault_always = fail_third_page
    with pytest.raises(IncompleteFetchError) as info:
        make(fake, page_size=100, concurrency=1).fetch_sessions(*WINDOW)
    err = info.value
    assert len(err.partial) == 200
    assert err.partial["session_id"].tolist() == [f"sess-{i:05d}" for i in range(200)]
    assert "200 sessions fetched" in str(err)
    assert "down" in str(err)


# -- secrets ---------------------------------------------------------------------------------


def test_key_never_in_repr_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make(FakeHelicone())
    assert KEY not in repr(client) and KEY not in str(client)
    fake = FakeHelicone(count=False)
    fake.fault_always = status(401, {"error": "No API key found"})
    with pytest.raises(IncompleteFetchError) as info:
        make(fake).fetch_sessions(*WINDOW)
    err = info.value
    for text in (str(err), repr(err), str(err.__cause__), repr(err.__cause__)):
        assert KEY not in text
    fake.fault_always = status(503)
    with pytest.raises(IncompleteFetchError):
        make(fake).fetch_sessions(*WINDOW)
    assert KEY not in caplog.text
    assert KEY[:12] not in caplog.text


# -- async -----------------------------------------------------------------------------------


def test_async_client_matches_sync() -> None:
    rows = [session_row(i) for i in range(730)]
    sync_df = make(FakeHelicone(rows), page_size=100).fetch_sessions(*WINDOW, tz="Asia/Tokyo")

    async def run() -> pd.DataFrame:
        async with make_async(FakeHelicone(rows), page_size=100) as client:
            return await client.fetch_sessions(*WINDOW, tz="Asia/Tokyo")

    pd.testing.assert_frame_equal(asyncio.run(run()), sync_df)


def test_async_retries_and_partial() -> None:
    fake = FakeHelicone([session_row(i) for i in range(300)], count=False)
    fake.faults = [status(503), drop]

    async def run() -> pd.DataFrame:
        return await make_async(fake, page_size=100).fetch_sessions(*WINDOW)

    assert len(asyncio.run(run())) == 300
    fake.faults = []
    fake.fault_always = status(401, {"error": "No API key found"})
    with pytest.raises(IncompleteFetchError) as info:
        asyncio.run(run())
    assert isinstance(info.value.__cause__, AuthenticationError)


def test_async_other_methods() -> None:
    fake = FakeHelicone()

    async def run() -> tuple[Any, pd.DataFrame]:
        client = make_async(fake)
        return await client.count_sessions(*WINDOW), await client.session_names()

    metrics, names = asyncio.run(run())
    assert metrics.count == 10
    assert names["name"].tolist() == ["support-chat"]


def test_sync_client_works_inside_a_running_event_loop() -> None:
    fake = FakeHelicone([session_row(i) for i in range(300)])

    async def inside_jupyter() -> int:
        return len(make(fake, page_size=100).fetch_sessions(*WINDOW))

    assert asyncio.run(inside_jupyter()) == 300


# -- other endpoints -------------------------------------------------------------------------


def test_count_and_names() -> None:
    fake = FakeHelicone([session_row(0), session_row(1, name="b")])
    client = make(fake)
    metrics = client.count_sessions(*WINDOW)
    assert metrics.count == 2
    names = client.session_names("s", start="2025-01-01", end="2025-01-03", tz="Europe/Berlin")
    assert names["name"].tolist() == ["b", "support-chat"]
    assert names["session_count"].tolist() == [3, 3]
    assert str(names["last_used"].dt.tz) == "Europe/Berlin"
    body = fake.bodies("/v1/session/name/query")[0]
    assert body["nameContains"] == "s" and body["timezoneDifference"] == 0
    assert "timeFilter" in body


def test_fetch_session_requests_filters_by_session_and_pages() -> None:
    fake = FakeHelicone()
    fake.requests_rows = [
        {
            "request_id": f"r{i}",
            "request_created_at": f"2025-01-01T00:00:{i:02d}Z",
            "request_properties": {"Helicone-Session-Id": "s1", "Helicone-Session-Path": "/a"},
            "delay_ms": "100",
            "cost": 0.001,
        }
        for i in range(25)
    ]
    df = make(fake, page_size=10).fetch_session_requests("s1", start="2025-01-01", end="2025-01-02")
    assert len(df) == 25 and df["latency_ms"].sum() == 2500
    body = fake.bodies("/v1/request/query-clickhouse")[0]
    assert body["filter"]["left"]["left"] == {
        "request_response_rmt": {"properties": {"Helicone-Session-Id": {"equals": "s1"}}}
    }
    assert body["sort"] == {"created_at": "asc"} and body["isCached"] is False
    with pytest.raises(UsageError, match="session_id"):
        make(fake).fetch_session_requests("")


def test_injected_http_transport_is_used_for_everything() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"data": [], "error": None})

    client = hnb.Client(KEY, transport=httpx.MockTransport(handler), cache=False)
    assert client.fetch_sessions(*WINDOW).empty
    assert seen[0] in ("/v1/session/query", "/v1/session/count")


def test_no_warnings_on_a_clean_fetch() -> None:
    """A clean multi-page pull warns about nothing (recorded, not only turned into errors) and
    returns exactly the server's rows in order, once each."""
    rows = [session_row(i) for i in range(250)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = make(FakeHelicone(rows), page_size=100).fetch_sessions(*WINDOW)
    assert [str(w.message) for w in caught] == []
    assert df["session_id"].tolist() == [r["session_id"] for r in rows]
    assert df["total_cost"].tolist() == pytest.approx([r["total_cost"] for r in rows])


def test_relative_window_sent_aligned_to_minute() -> None:
    fake = FakeHelicone()
    make(fake).fetch_sessions("7d")
    tf = fake.bodies()[0]["timeFilter"]
    assert tf["endTimeUnixMs"] % 60000 == 0
    assert tf["endTimeUnixMs"] - tf["startTimeUnixMs"] == 7 * 86400 * 1000
    now = dt.datetime.now(dt.UTC).timestamp() * 1000
    assert abs(tf["endTimeUnixMs"] - now) < 120000
