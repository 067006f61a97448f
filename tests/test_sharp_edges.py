"""Issue 15: silent empty windows, misread times, the wrong error type, arguments checked
before sending, one request per small drill-down, integer counts, and the demo facts."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from typing import Any

import httpx
import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb import (
    AuthenticationError,
    IncompleteFetchError,
    RequestValidationError,
    RetryPolicy,
    UsageError,
)
from helicone_nb._wire.time import resolve_window

from .fakes import FakeHelicone, session_row, status

KEY = "sk-helicone-sharp-edges"
FAST = RetryPolicy(max_retries=1, backoff=0.001, max_backoff=0.002)
WINDOW = ("2025-01-01", "2025-01-02")


def client(fake: FakeHelicone, **kw: Any) -> hnb.Client:
    kw.setdefault("retries", FAST)
    kw.setdefault("cache", False)
    kw.setdefault("concurrency", 1)
    return hnb.Client(KEY, transport=fake.transport, **kw)


def request_row(i: int, session: str = "s1") -> dict[str, Any]:
    return {
        "request_id": f"r{i}",
        "request_created_at": f"2025-01-01T00:00:{i:02d}.000Z",
        "request_properties": {"Helicone-Session-Id": session},
    }


# -- item 1: relative windows on the demo data; empty windows outside the data warn -----------


@pytest.fixture(scope="module")
def demo() -> hnb.Client:
    return hnb.connect(demo=True, quiet=True, cache=False)


def test_relative_windows_on_a_demo_client_count_back_from_the_end_of_the_demo(
    demo: hnb.Client,
) -> None:
    df = demo.fetch_sessions("30d")  # the README's own example
    assert len(df) > 100
    assert df["latest_request_created_at"].max() <= pd.Timestamp("2025-08-31T00:00Z")
    assert df["created_at"].min() >= pd.Timestamp("2025-08-01T00:00Z")
    assert demo.count_sessions("7d", "now").count > 0


def test_an_empty_window_outside_the_known_data_warns_with_the_range(demo: hnb.Client) -> None:
    with pytest.warns(hnb.EmptyWindowWarning, match=r"2025-06-02.*2025-08-31"):
        df = demo.fetch_sessions("2024-01-01", "2024-02-01")
    assert df.empty


def test_a_data_range_hook_is_asked_lazily_and_only_for_empty_results() -> None:
    asked: list[int] = []

    def data_range() -> tuple[dt.datetime, dt.datetime]:
        asked.append(1)
        return dt.datetime(2024, 3, 1, tzinfo=dt.UTC), dt.datetime(2024, 4, 1, tzinfo=dt.UTC)

    full = client(FakeHelicone(), data_range=data_range)
    assert len(full.fetch_sessions(*WINDOW)) == 10 and asked == []
    empty = client(FakeHelicone([]), data_range=data_range)
    with pytest.warns(hnb.EmptyWindowWarning, match="2024-03-01"):
        empty.fetch_sessions(*WINDOW)
    assert asked == [1]
    with warnings.catch_warnings():  # inside the range: an empty answer is just empty
        warnings.simplefilter("error")
        empty.fetch_sessions("2024-03-05", "2024-03-06")


def test_the_demo_notice_says_how_windows_count_and_what_the_sessions_hold(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HELICONE_API_KEY", raising=False)
    hnb.connect(cache=False)
    out = capsys.readouterr().out
    assert "50,000 requests" in out and "2%" in out and "49,000" in out
    assert "count back from 2025-08-31" in out


# -- item 2: times are never guessed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1751320800, "epoch seconds"),
        ("01/07/2025", "ambiguous"),
        ("1/7/25", "ambiguous"),
        ("July 1 2025", "ISO"),
        (-5, "out of range"),
        (10**17, "out of range"),
        (1e20, "out of range"),
    ],
)
def test_times_that_would_be_guessed_are_usage_errors(value: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve_window(value, "2030-01-01")


def test_unambiguous_forms_still_work() -> None:
    ms = 1751320800000
    assert resolve_window(ms, ms + 60_000).start == dt.datetime(2025, 6, 30, 22, tzinfo=dt.UTC)
    for text in ("2025-07-01", "2025-07-01T10:00", "2025-07-01 10:00:05", "2025-07-01T10:00Z"):
        resolve_window(text, "2025-08-01")
    resolve_window(pd.Timestamp("2025-07-01"), dt.date(2025, 8, 1))


def test_window_errors_show_the_bounds_as_given_in_the_calls_zone() -> None:
    with pytest.raises(UsageError) as info:
        resolve_window("2025-08-01", "2025-07-01", "Europe/Berlin")
    text = str(info.value)
    assert "2025-07-01T00:00:00+02:00" in text and "2025-08-01T00:00:00+02:00" in text


# -- item 3: the documented error type ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error"),
    [(401, AuthenticationError), (403, AuthenticationError), (422, RequestValidationError)],
)
def test_a_refused_first_page_raises_the_documented_error_itself(
    code: int, error: type[Exception]
) -> None:
    fake = FakeHelicone()
    fake.fault_always = status(code, {"error": "no"})
    with pytest.raises(error) as info:
        client(fake).fetch_sessions(*WINDOW)
    assert info.value.status_code == code  # type: ignore[attr-defined]
    assert "resume" not in str(info.value) and ".partial" not in str(info.value)
    # code written against 0.1 (except IncompleteFetchError) still catches it: nothing fetched
    assert isinstance(info.value, IncompleteFetchError) and info.value.partial.empty
    fake.requests_rows = [request_row(i) for i in range(3)]
    with pytest.raises(error):
        client(fake).fetch_session_requests("s1")


def test_an_incomplete_pull_names_the_missing_offsets() -> None:
    fake = FakeHelicone([session_row(i) for i in range(250)])

    def first_page_fails(request: httpx.Request) -> httpx.Response | None:
        if json.loads(request.content).get("offset") == 0:
            return httpx.Response(503, json={"data": None, "error": "busy"})
        return None

    fake.fault_always = first_page_fails
    with pytest.raises(IncompleteFetchError) as info:
        client(fake, page_size=100, concurrency=3).fetch_sessions(*WINDOW)
    err = info.value
    assert err.missing_offsets[0] == 0 and err.page_size == 100
    assert "offsets 0-99" in str(err) and "the newest rows" in str(err)
    fetched = {0, 100, 200} - set(err.missing_offsets)  # pages in flight may be cancelled
    assert len(err.partial) == sum(min(100, 250 - o) for o in fetched)


# -- item 4: arguments checked before sending --------------------------------------------------


@pytest.mark.parametrize("timeout", ["x", -1, 0, float("nan"), True])
def test_bad_timeouts_are_usage_errors(timeout: Any) -> None:
    with pytest.raises(UsageError, match="timeout"):
        hnb.Client(KEY, timeout=timeout, cache=False)


@pytest.mark.parametrize("page_size", [0, False, -3, 1001, "100"])
def test_bad_page_sizes_per_call_are_usage_errors(page_size: Any) -> None:
    fake = FakeHelicone()
    with pytest.raises(UsageError, match="page_size"):
        client(fake).fetch_sessions(*WINDOW, page_size=page_size)
    assert fake.requests == []


def test_a_session_level_filter_on_one_sessions_requests_is_a_usage_error() -> None:
    fake = FakeHelicone()
    for flt in (hnb.session.total_cost > 1, hnb.session.tag == "x"):
        with pytest.raises(UsageError, match="filter"):
            client(fake).fetch_session_requests("s1", filter=flt)
    assert fake.requests == []


# -- item 5: a small drill-down costs one request ----------------------------------------------


def test_a_three_request_session_costs_one_request() -> None:
    fake = FakeHelicone()
    fake.requests_rows = [request_row(i) for i in range(3)]
    c = hnb.Client(KEY, transport=fake.transport, cache=False, retries=FAST)  # concurrency 4
    assert len(c.fetch_session_requests("s1")) == 3
    assert len(fake.requests) == 1


def test_read_ahead_starts_after_a_full_first_page() -> None:
    fake = FakeHelicone()
    fake.requests_rows = [request_row(i % 60) | {"request_id": f"r{i}"} for i in range(250)]
    c = hnb.Client(KEY, transport=fake.transport, cache=False, retries=FAST, page_size=100)
    assert len(c.fetch_session_requests("s1")) == 250
    assert len(fake.requests) <= 1 + 4  # page 0, then at most four pages in flight


# -- item 6 (core's part): the count is an integer ---------------------------------------------


def test_count_sessions_count_is_an_int() -> None:
    metrics = client(FakeHelicone([session_row(i) for i in range(7)])).count_sessions(*WINDOW)
    assert metrics.count == 7 and type(metrics.count) is int
    assert metrics["count"] == 7 and type(metrics["count"]) is int


# -- item 7: what a request-level filter does to session rows is said where the example is ----


def test_the_trimming_by_request_level_filters_is_documented() -> None:
    from pathlib import Path

    doc = hnb.Client.fetch_sessions.__doc__ or ""
    assert "covers only its matching requests" in doc
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    quick = readme[readme.index("## Quick start") : readme.index("## Connecting")]
    assert "covers only its matching requests" in quick


# -- item 8 (core's part): the README names what duration_s measures --------------------------


def test_the_sessions_table_says_duration_s_runs_start_to_start() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `duration_s`"))
    assert "first request START to last request START" in row
    assert "START" in hnb.SESSION_SCHEMA["duration_s"][1]
