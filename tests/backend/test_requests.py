"""The request routes against REQUEST_API.md: query-clickhouse, count/query, versions, updates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from helicone_nb.backend import Backend, FaultPlan

from .helpers import AUTH, BASE, at, load, post, req

R = "request_response_rmt"
QUERY = "/v1/request/query-clickhouse"
COUNT = "/v1/request/count/query"
#: A clock right after BASE (rows are dated BASE + seconds).
NOW = BASE + dt.timedelta(hours=1)


def clock() -> dt.datetime:
    return NOW


@pytest.fixture
def six(tmp_path: Path) -> Backend:
    rows = [req(f"r{i}", i, "s", "chat", path=f"/p{i}", cost=0.001 * i) for i in range(6)]
    return load(tmp_path, rows, clock=clock)


def page(backend: Backend, **body: Any) -> list[dict[str, Any]]:
    response = post(backend, QUERY, {"filter": "all", **body})
    assert response.status == 201, response.body
    payload = response.json()
    assert payload["error"] is None
    return list(payload["data"])


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["request_id"] for r in rows]


def window(start: str, end: str) -> dict[str, Any]:
    return {
        "left": {R: {"request_created_at": {"gte": start}}},
        "operator": "and",
        "right": {R: {"request_created_at": {"lt": end}}},
    }


def test_201_default_limit_10_and_created_at_desc(tmp_path: Path) -> None:
    backend = load(tmp_path, [req(f"r{i:02d}", i) for i in range(12)], clock=clock)
    rows = page(backend)
    assert ids(rows) == [f"r{i:02d}" for i in range(11, 1, -1)]
    assert ids(page(backend, sort={"created_at": "asc"}, limit=3)) == ["r00", "r01", "r02"]


@pytest.mark.parametrize("limit", [-1, 1001, 5000])
def test_limit_out_of_range_is_a_500_invalid_limit(six: Backend, limit: int) -> None:
    response = post(six, QUERY, {"filter": "all", "limit": limit})
    assert response.status == 500
    assert response.json() == {"data": None, "error": "invalid limit"}


def test_limit_zero_is_empty_and_1000_is_allowed(six: Backend) -> None:
    assert page(six, limit=0) == []
    assert len(page(six, limit=1000)) == 6


@pytest.mark.parametrize("body", [{"limit": 2.5}, {"offset": 1.5}, {"offset": -1}])
def test_fractional_or_negative_paging_fails_like_clickhouse_sql(six: Backend, body: Any) -> None:
    response = post(six, QUERY, {"filter": "all", **body})
    assert response.status == 500 and "SYNTAX_ERROR" in response.json()["error"]


def test_time_bounds_are_iso_only_and_cut_to_whole_seconds(tmp_path: Path) -> None:
    rows = [req("a", 0.2), req("b", 1.0), req("c", 1.7), req("d", 2.0)]
    backend = load(tmp_path, rows, clock=clock)
    # [gte 00:00:00.900, lt 00:00:01.900) is read as [00:00:00, 00:00:01): a upper bound with
    # milliseconds narrows the window, a lower bound widens it
    got = page(backend, filter=window(at(0.9), at(1.9)), sort={"created_at": "asc"})
    assert ids(got) == ["a"]
    assert ids(page(backend, filter=window(at(1), at(2)), sort={"created_at": "asc"})) == [
        "b",
        "c",
    ]
    numeric = {R: {"request_created_at": {"gte": int(BASE.timestamp() * 1000)}}}
    assert post(backend, QUERY, {"filter": numeric}).status == 422


def test_rows_more_than_five_minutes_in_the_future_are_hidden(tmp_path: Path) -> None:
    rows = [req("now", 3600), req("soon", 3600 + 299), req("later", 3600 + 301)]
    backend = load(tmp_path, rows, clock=clock)
    assert sorted(ids(page(backend))) == ["now", "soon"]


def test_ties_are_stable_by_default_and_shuffled_in_quirks_mode(tmp_path: Path) -> None:
    rows = [req(f"t{i:02d}", 5) for i in range(40)]
    backend = load(tmp_path, rows, clock=clock)
    first = ids(page(backend, limit=20))
    assert first == ids(page(backend, limit=20))  # stable pages
    backend.quirks = True
    orders = {tuple(ids(page(backend, limit=100))) for _ in range(5)}
    assert len(orders) > 1  # undefined order: a pager cannot rely on it
    assert all(sorted(o) == [f"t{i:02d}" for i in range(40)] for o in orders)


def test_is_scored_keeps_scored_or_unscored_physical_rows(six: Backend) -> None:
    six.update_request("r2", scores={"quality": 4})
    six.update_request("r4", feedback=True)
    scored_at_once = pd.DataFrame(
        {
            "request_id": ["new"],
            "request_created_at": [pd.Timestamp(BASE.replace(tzinfo=None))],
            "score:quality": pd.array([5], dtype="Int64"),
        }
    )
    six.insert_requests(scored_at_once)
    assert sorted(ids(page(six, isScored=True))) == ["new", "r2", "r4"]
    # r2 and r4 still have their unscored first version: it matches isScored=false, and the
    # page then shows the newest version (shape A does not re-apply the filter). "new" was
    # stored with its score: isScored=false hides it (what the export tool loses).
    unscored = page(six, isScored=False)
    assert sorted(ids(unscored)) == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert {r["request_id"]: r["scores"] for r in unscored}["r2"] == {"quality": 4}


def test_the_row_has_the_fields_of_request_api_section_2(tmp_path: Path) -> None:
    row = req(
        "x",
        0,
        "s",
        "chat",
        prompt=10,
        completion=5,
        reasoning_tokens=3,
        prompt_cache_read_tokens=100,
        time_to_first_token=50,
    )
    backend = load(tmp_path, [row], clock=clock)
    backend.update_request("x", scores={"quality": 4, "ok": True})
    (got,) = page(backend)
    assert got["total_tokens"] == 18  # prompt + completion + reasoning, no cache tokens
    assert got["scores"] == {"quality": 4, "ok-hcone-bool": 1}
    assert got["request_properties"] == got["properties"]
    assert got["cache_reference_id"] == "00000000-0000-0000-0000-000000000000"
    assert got["storage_location"] == "s3" and got["feedback_created_at"] is None
    assert got["updated_at"] > got["request_created_at"]
    assert got["request_body"].startswith('{"helicone_message"')
    backend.quirks = True
    (raw,) = page(backend)
    assert raw["prompt_tokens"] == "10" and raw["total_tokens"] == "18"
    assert raw["time_to_first_token"] == "50" and raw["scores"] == {
        "quality": "4",
        "ok-hcone-bool": "1",
    }
    assert raw["response_status"] == 200 and raw["delay_ms"] == 100  # toInt32: numbers
    assert raw["request_created_at"] == at(0)  # ISO in both modes
    for never in ("response_model", "request_path", "costUSD", "assets", "model_override"):
        assert never not in raw
    assert raw["signed_body_url"].startswith("https://")


def test_versions_pages_count_physical_rows_and_dedup_in_page(six: Backend) -> None:
    later = NOW + dt.timedelta(minutes=1)
    six.update_request("r3", scores={"quality": 1}, updated_at=later)
    six.update_request("r3", scores={"quality": 2}, updated_at=later + dt.timedelta(seconds=1))
    # 8 physical rows: r3 has three versions. One page holds them all: deduplicated.
    rows = page(six, limit=100)
    assert ids(rows) == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert rows[2]["scores"] == {"quality": 2}  # the greatest updated_at wins
    # Pages of 3 physical rows: r5 r4 r3 | r3 r3 r2 | r1 r0. r3 straddles the boundary.
    pages = [ids(page(six, limit=3, offset=o)) for o in (0, 3, 6, 9)]
    assert pages == [["r5", "r4", "r3"], ["r3", "r2"], ["r1", "r0"], []]
    count = post(six, COUNT, {"filter": "all"})
    assert count.status == 200 and count.json() == {"data": 8, "error": None}
    six.quirks = True
    assert post(six, COUNT, {"filter": "all"}).json()["data"] == 0  # production's count()


def test_the_session_engine_counts_one_version_per_request(six: Backend) -> None:
    six.update_request("r1", scores={"q": 1})
    six.update_request("r1", properties={"env": "prod"})
    body = {
        "search": "",
        "timeFilter": {"startTimeUnixMs": 0, "endTimeUnixMs": int(NOW.timestamp() * 1000)},
        "timezoneDifference": 0,
        "filter": "all",
    }
    (session,) = post(six, "/v1/session/query", body).json()["data"]
    assert session["total_requests"] == 6
    assert session["total_cost"] == pytest.approx(0.015)


def test_quirks_mode_adds_the_unmerged_first_version_of_scored_requests(tmp_path: Path) -> None:
    backend = load(tmp_path, [], clock=clock)
    frame = pd.DataFrame(
        {
            "request_id": [f"q{i:03d}" for i in range(200)],
            "request_created_at": pd.Timestamp(BASE.replace(tzinfo=None))
            + pd.to_timedelta(range(200), "s"),
            "score:quality": pd.array([i % 4 if i % 4 else None for i in range(200)], "Int64"),
        }
    )
    backend.insert_requests(frame)
    assert post(backend, COUNT, {"filter": "all"}).json()["data"] == 200
    backend.quirks = True
    seen: dict[str, dict[str, Any]] = {}
    offset = 0
    while rows := page(backend, limit=50, offset=offset, sort={"created_at": "asc"}):
        for row in rows:  # a pager keeps the greatest updated_at
            if (
                row["request_id"] not in seen
                or row["updated_at"] > seen[row["request_id"]]["updated_at"]
            ):
                seen[row["request_id"]] = row
        offset += 50
    assert offset == 350  # 200 requests, 150 of them scored: 350 physical rows
    assert len(seen) == 200
    assert seen["q001"]["scores"] == {"quality": "1"} and seen["q004"]["scores"] == {}


def test_late_rows_and_updates_through_http_routes(six: Backend) -> None:
    late = pd.DataFrame(
        {
            "request_id": ["late"],
            "request_created_at": [pd.Timestamp(BASE.replace(tzinfo=None))],
            "latency": [10],
            "property:Helicone-Session-Id": ["s"],
        }
    )
    assert six.insert_requests(late) == 1
    assert "late" in ids(page(six, limit=100))
    headers = AUTH
    assert six.handle("POST", "/v1/request/r1/score", headers, b'{"scores":{"a":3}}').status == 200
    assert six.handle("POST", "/v1/request/r1/feedback", headers, b'{"rating":false}').status == 200
    put = six.handle("PUT", "/v1/request/r1/property", headers, b'{"key":"k","value":"v"}')
    assert put.status == 200
    (r1,) = [r for r in page(six, limit=100) if r["request_id"] == "r1"]
    assert r1["scores"] == {"a": 3, "helicone-score-feedback": 0}
    assert r1["request_properties"]["k"] == "v"
    bad = six.handle("POST", "/v1/request/r1/score", headers, b'{"scores":{"a":"x"},"z":1}')
    assert bad.status == 422
    missing = six.handle("POST", "/v1/request/nope/feedback", headers, b'{"rating":true}')
    assert missing.status == 500


def test_faults_apply_to_the_request_routes(six: Backend) -> None:
    six.faults = FaultPlan(1.0, kinds="503", seed=1)
    assert post(six, QUERY, {"filter": "all"}).status == 503
    assert post(six, COUNT, {"filter": "all"}).status == 503
    six.faults = FaultPlan(1.0, kinds="shift", seed=1, shift_rows=2)
    assert ids(page(six, limit=2, offset=2)) == ["r5", "r4"]  # read two rows earlier
    assert post(six, COUNT, {"filter": "all"}).json()["data"] >= 8


def test_rate_limit_headers_and_429(tmp_path: Path) -> None:
    backend = load(tmp_path, [req("a", 0)], clock=clock, rate_limit=(3, 300))
    answers = [post(backend, QUERY, {"filter": "all"}) for _ in range(4)]
    assert [a.status for a in answers] == [201, 201, 201, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["ratelimit-limit"] == "3"
    assert 0 < int(answers[3].headers["ratelimit-reset"]) <= 300
    assert answers[3].headers["retry-after"] == answers[3].headers["ratelimit-reset"]
    assert answers[3].json() == {"error": "Too many requests, please try again later."}
