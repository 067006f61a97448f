"""/v1/session/query semantics on small hand-built data (spec sections 2-4 and 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helicone_nb.backend import Backend

from .helpers import BASE, at, ids, load, post, req, session_body, sessions

R = "request_response_rmt"
S = "sessions_request_response_rmt"


def leaf(table: str, column: str, op: str, value: Any) -> dict[str, Any]:
    return {table: {column: {op: value}}}


def prop(key: str, op: str, value: str) -> dict[str, Any]:
    return {R: {"properties": {key: {op: value}}}}


def both(left: Any, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "operator": op, "right": right}


@pytest.fixture
def basic(tmp_path: Path) -> Backend:
    rows = [
        # cache and reasoning tokens never count in a session's total_tokens (spec section 3)
        req(
            "r1",
            0,
            "s1",
            "chat",
            user="u1",
            cost=0.001,
            prompt=10,
            completion=5,
            latency=100,
            prompt_cache_read_tokens=100,
            prompt_cache_write_tokens=30,
        ),
        req(
            "r2",
            10,
            "s1",
            "chat",
            user="u2",
            cost=0.002,
            prompt=20,
            completion=None,
            latency=300,
            prompt_cache_read_tokens=7,
            reasoning_tokens=11,
        ),
        req(
            "r3",
            20,
            "s1",
            "chat",
            user=None,
            cost=0.003,
            prompt=None,
            completion=7,
            latency=200,
            prompt_cache_write_tokens=64,
        ),
        req("r4", 5, "s2", None, user="u1", cost=0.5, model="gpt-4o-mini"),
        req("r5", 30, "s3", "agent", user="u3", cost=2.0, model="claude", status=500),
        req("r6", 40, None, None, user="u9", cost=9.0),  # no session id: never in sessions
    ]
    return load(tmp_path, rows)


def test_aggregates_are_the_eleven_fields(basic: Backend) -> None:
    rows = {r["session_id"]: r for r in sessions(basic)}
    assert set(rows) == {"s1", "s2", "s3"}  # r6 has no Helicone-Session-Id
    s1 = rows["s1"]
    assert list(s1) == [
        "session_id",
        "session_name",
        "created_at",
        "latest_request_created_at",
        "total_cost",
        "total_requests",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "avg_latency",
        "user_ids",
    ]
    assert s1["session_name"] == "chat"
    assert s1["created_at"] == at(0) and s1["latest_request_created_at"] == at(20)
    assert s1["total_cost"] == pytest.approx(0.006)
    assert s1["total_requests"] == 3
    assert (s1["prompt_tokens"], s1["completion_tokens"], s1["total_tokens"]) == (30, 12, 42)
    assert s1["avg_latency"] == pytest.approx(200.0)
    assert sorted(s1["user_ids"]) == ["", "u1", "u2"]  # "" for the request without a user
    assert rows["s2"]["session_name"] == ""  # no Helicone-Session-Name


def test_total_tokens_is_prompt_plus_completion_without_cache_tokens(tmp_path: Path) -> None:
    backend = load(
        tmp_path,
        [req("r1", 0, "s", "n", prompt=10, completion=5, prompt_cache_read_tokens=100)],
    )
    (row,) = sessions(backend)
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (10, 5, 15)
    total = leaf(S, "session_total_tokens", "equals", 15)
    assert [r["session_id"] for r in sessions(backend, filter=total)] == ["s"]


def test_order_is_created_at_desc_with_session_id_tie_break(tmp_path: Path) -> None:
    rows = [
        req("a", 0, "b"),
        req("b", 0, "a"),
        req("c", 0, "c"),
        req("d", 50, "z"),
        req("e", -5, "y"),
    ]
    backend = load(tmp_path, rows)
    assert [r["session_id"] for r in sessions(backend)] == ["z", "a", "b", "c", "y"]


def test_grouping_is_by_id_and_name_pair(tmp_path: Path) -> None:
    rows = [req("1", 0, "s", "one"), req("2", 1, "s", "two"), req("3", 2, "s", None)]
    got = sorted(ids(sessions(load(tmp_path, rows))))
    assert got == [("s", ""), ("s", "one"), ("s", "two")]


def test_time_window_is_strict_per_request_and_truncated_to_seconds(tmp_path: Path) -> None:
    rows = [
        req("edge", 0, "s"),  # exactly on the (truncated) start: excluded
        req("in", 0.5, "s"),
        req("late", 10.5, "s"),  # after the end truncated to 10 s: excluded
    ]
    backend = load(tmp_path, rows)
    start = int(BASE.timestamp() * 1000)
    window = {"startTimeUnixMs": start + 999, "endTimeUnixMs": start + 10_999}
    (row,) = sessions(backend, timeFilter=window)
    assert row["total_requests"] == 1 and row["created_at"] == at(0.5)  # the session is CUT


def test_search_is_ilike_on_id_or_name_with_unescaped_wildcards(tmp_path: Path) -> None:
    rows = [
        req("1", 0, "abc-1", "Support-Chat"),
        req("2", 1, "xyz", "billing"),
        req("3", 2, "a_c", "other"),
        req("4", 3, "q", "100% done"),
    ]
    backend = load(tmp_path, rows)
    assert [r["session_id"] for r in sessions(backend, search="SUPPORT")] == ["abc-1"]
    assert {r["session_id"] for r in sessions(backend, search="a_c")} == {"abc-1", "a_c"}
    assert {r["session_id"] for r in sessions(backend, search="%")} == {"abc-1", "xyz", "a_c", "q"}
    assert {r["session_id"] for r in sessions(backend, search="Z")} == {"xyz"}


def test_name_equals_is_exact_and_empty_means_no_filter(tmp_path: Path) -> None:
    rows = [req("1", 0, "a", "chat"), req("2", 1, "b", "Chat"), req("3", 2, "c", None)]
    backend = load(tmp_path, rows)
    assert [r["session_id"] for r in sessions(backend, nameEquals="chat")] == ["a"]
    assert len(sessions(backend, nameEquals="")) == 3


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (None, None, 50),  # default limit 50
        (0, 0, 50),  # 0 -> 50
        (0, 5.9, 5),  # floored
        (-3, 5, 5),  # negative offset -> 0
        (58.7, 10, 2),  # offset floored to 58
        (0, 5000, 60),  # min(limit, 1000)
        (0, -1, 0),  # negative limit: no rows
        (10**12, 10, 0),
    ],
)
def test_offset_and_limit_clamping(
    tmp_path: Path, offset: float | None, limit: float | None, expected: int
) -> None:
    backend = load(tmp_path, [req(f"r{i}", i, f"s{i:02d}") for i in range(60)])
    extra: dict[str, Any] = {}
    if offset is not None:
        extra["offset"] = offset
    if limit is not None:
        extra["limit"] = limit
    got = sessions(backend, **extra)
    assert len(got) == expected
    if offset == -3:
        assert got[0]["session_id"] == "s59"
    if offset == 58.7:
        assert [r["session_id"] for r in got] == ["s01", "s00"]


def test_timezone_difference_shifts_only_the_output_timestamps(basic: Backend) -> None:
    plain = {r["session_id"]: r for r in sessions(basic)}
    shifted = {r["session_id"]: r for r in sessions(basic, timezoneDifference=-90)}
    assert shifted["s1"]["created_at"] == at(-90 * 60)
    assert shifted["s1"]["latest_request_created_at"] == at(20 - 90 * 60)
    assert shifted["s1"]["total_cost"] == plain["s1"]["total_cost"]


@pytest.mark.parametrize("tz", [1441, -1441, "2000"])
def test_timezone_difference_out_of_range_is_a_500(basic: Backend, tz: Any) -> None:
    response = post(basic, "/v1/session/query", session_body(timezoneDifference=tz))
    assert response.status == 500
    assert response.json() == {"data": None, "error": "Invalid timezone difference"}


def test_quirks_mode_gives_string_counts_and_clickhouse_timestamps(tmp_path: Path) -> None:
    backend = load(tmp_path, [req("1", 0.123, "s", "n"), req("2", 1, "s", "n")], quirks=True)
    (row,) = sessions(backend)
    assert row["total_requests"] == "2"
    assert row["created_at"] == "2025-01-31 10:00:00.123"
    assert row["latest_request_created_at"] == "2025-01-31 10:00:01.000"
    assert isinstance(row["total_cost"], float)


# ------------------------------------------------------------------------------- filters


def filtered(backend: Backend, node: Any, **extra: Any) -> list[str]:
    return sorted(r["session_id"] for r in sessions(backend, filter=node, **extra))


@pytest.mark.parametrize("node", ["all", {}])
def test_all_and_empty_leaf_mean_no_filter(basic: Backend, node: Any) -> None:
    assert filtered(basic, node) == ["s1", "s2", "s3"]


def test_request_level_leaf_filters_requests_before_grouping(basic: Backend) -> None:
    rows = sessions(basic, filter=leaf(R, "user_id", "equals", "u1"))
    by_id = {r["session_id"]: r for r in rows}
    assert set(by_id) == {"s1", "s2"}
    assert by_id["s1"]["total_requests"] == 1  # only the matching request is aggregated


def test_session_level_leaf_filters_groups(basic: Backend) -> None:
    assert filtered(basic, leaf(S, "session_total_requests", "gte", 2)) == ["s1"]
    assert filtered(basic, leaf(S, "session_total_cost", "gt", 0.4)) == ["s2", "s3"]  # USD
    assert filtered(basic, leaf(S, "session_total_tokens", "equals", 42)) == ["s1"]
    assert filtered(basic, leaf(S, "session_session_name", "equals", "")) == ["s2"]


def test_and_of_request_and_session_levels_works(basic: Backend) -> None:
    node = both(
        leaf(R, "model", "equals", "gpt-4o"), "and", leaf(S, "session_total_requests", "gt", 1)
    )
    assert filtered(basic, node) == ["s1"]


def test_or_of_request_and_session_levels_matches_everything(basic: Backend) -> None:
    # Helicone's degeneration: WHERE (model = 'nope' OR TRUE), HAVING (TRUE OR requests > 99)
    node = both(
        leaf(R, "model", "equals", "nope"), "or", leaf(S, "session_total_requests", "gt", 99)
    )
    assert filtered(basic, node) == ["s1", "s2", "s3"]


def test_null_and_empty_sentinels_on_plain_columns(tmp_path: Path) -> None:
    rows = [
        req("1", 0, "a", country_code=None),
        req("2", 1, "b", country_code="DE"),
        req("3", 2, "c", user=""),
    ]
    backend = load(tmp_path, rows)
    assert filtered(backend, leaf(R, "country_code", "equals", "null")) == ["a", "c"]
    assert filtered(backend, leaf(R, "country_code", "not-equals", "null")) == ["b"]
    assert filtered(backend, leaf(R, "user_id", "equals", "__empty__")) == ["a", "b", "c"]


def test_missing_property_reads_as_empty_and_sentinels_do_not_apply(tmp_path: Path) -> None:
    rows = [
        req("1", 0, "a", props={"env": "prod"}),
        req("2", 1, "b", props={"env": "null"}),
        req("3", 2, "c"),
    ]
    backend = load(tmp_path, rows)
    assert filtered(backend, prop("env", "equals", "")) == ["c"]
    assert filtered(backend, prop("env", "not-equals", "prod")) == ["b", "c"]
    assert filtered(backend, prop("env", "equals", "null")) == ["b"]  # literal, not IS NULL
    assert filtered(backend, {R: {"property_key": {"equals": "env"}}}) == ["a", "b"]
    assert filtered(backend, prop("Helicone-Session-Name", "equals", "")) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("equals", "gpt-4o", ["s1", "s3"]),
        ("not-equals", "gpt-4o", ["s2"]),
        ("like", "gpt-4o%", ["s1", "s2", "s3"]),
        ("like", "GPT%", []),
        ("ilike", "GPT_4O", ["s1", "s3"]),
        ("contains", "4O-M", ["s2"]),
        ("contains", "o_m", ["s2"]),  # _ is a wildcard
        ("not-contains", "mini", ["s1", "s3"]),
    ],
)
def test_text_operators(tmp_path: Path, op: str, value: str, expected: list[str]) -> None:
    rows = [req("1", 0, "s1"), req("2", 1, "s2", model="gpt-4o-mini"), req("3", 2, "s3")]
    assert filtered(load(tmp_path, rows), leaf(R, "model", op, value)) == expected


def test_cost_filter_compares_floor_of_usd_times_1e9(tmp_path: Path) -> None:
    rows = [
        req("1", 0, "a", cost=0.000000001),
        req("2", 1, "b", cost=0.5),
        req("3", 2, "c", cost=0),
    ]
    backend = load(tmp_path, rows)
    assert filtered(backend, leaf(R, "cost", "equals", 1e-9)) == ["a"]
    assert filtered(backend, leaf(R, "cost", "gte", "0.5")) == ["b"]  # numeric string accepted
    assert filtered(backend, leaf(R, "cost", "lte", 0.0000000019)) == ["a", "c"]  # floor -> 1
    assert filtered(backend, leaf(R, "cost", "lt", 0.0000000019)) == ["c"]


def test_number_and_timestamp_operators(basic: Backend) -> None:
    assert filtered(basic, leaf(R, "status", "equals", 500)) == ["s3"]
    assert filtered(basic, leaf(R, "latency", "gt", 250)) == ["s1"]
    assert filtered(basic, leaf(R, "prompt_tokens", "lte", 10)) == ["s1", "s2", "s3"]
    assert filtered(basic, leaf(R, "request_created_at", "gte", at(25))) == ["s3"]
    assert filtered(basic, leaf(R, "request_created_at", "equals", at(5))) == ["s2"]


def test_session_timestamps_are_compared_after_the_shift(basic: Backend) -> None:
    node = leaf(S, "session_created_at", "equals", at(60 * 60))  # s1 starts at +0, shifted +60 min
    assert filtered(basic, node, timezoneDifference=60) == ["s1"]
    assert filtered(basic, node, timezoneDifference=0) == []
    late = leaf(S, "session_latest_request_created_at", "gt", at(25))
    assert filtered(basic, late) == ["s3"]


def test_only_the_first_column_key_and_operator_are_used(basic: Backend) -> None:
    two_columns = {R: {"user_id": {"equals": "u3"}, "model": {"equals": "gpt-4o"}}}
    assert filtered(basic, two_columns) == ["s3"]
    two_ops = {R: {"user_id": {"equals": "u3", "not-equals": "u3"}}}
    assert filtered(basic, two_ops) == ["s3"]
    two_keys = {
        R: {"properties": {"Helicone-Session-Name": {"equals": "agent"}, "x": {"equals": "y"}}}
    }
    assert filtered(basic, two_keys) == ["s3"]
    two_tables = {S: {"session_session_id": {"equals": "s2"}}, R: {"user_id": {"equals": "u3"}}}
    assert filtered(basic, two_tables) == ["s2"]


@pytest.mark.parametrize(
    "node",
    [
        {R: {}},
        {R: {"model": {}}},
        {R: {"properties": {}}},
        {R: {"properties": {"env": {}}}},
        {S: {}},
        {"left": {R: {"model": {}}}, "operator": "and", "right": "all"},
    ],
)
def test_empty_inner_objects_fail_with_500_envelope(basic: Backend, node: Any) -> None:
    response = post(basic, "/v1/session/query", session_body(filter=node))
    assert response.status == 500
    body = response.json()
    assert body["data"] is None and "empty" in body["error"]


def test_session_tag_filters_by_the_tag(basic: Backend) -> None:
    basic.add_tag("s1", "reviewed")
    assert filtered(basic, leaf(S, "session_tag", "equals", "reviewed")) == ["s1"]
    assert filtered(basic, leaf(S, "session_tag", "equals", "null")) == ["s2", "s3"]
    either = both(
        leaf(S, "session_tag", "equals", "reviewed"), "or", leaf(S, "session_total_cost", "gt", 1)
    )
    assert filtered(basic, either) == ["s1", "s3"]
    response = basic.handle(
        "POST", "/v1/session/s2/tag", {"authorization": "Bearer k"}, b'{"tag":"x"}'
    )
    assert response.status == 200 and response.json() == {"data": None, "error": None}
    got = basic.handle("GET", "/v1/session/s2/tag", {"authorization": "Bearer k"}, b"")
    assert got.json()["data"] == "x"


# ------------------------------------------------------------------------------- neighbours


def test_count_endpoint(basic: Backend) -> None:
    response = post(basic, "/v1/session/count", session_body(offset=1, limit=1))
    assert response.status == 200
    data = response.json()["data"]
    assert data["count"] == 3
    assert data["total_cost"] == pytest.approx(2.506)
    assert data["avg_cost"] == pytest.approx(2.506 / 3)
    assert data["avg_latency"] == pytest.approx((600 + 100 + 100) / 3)  # total latency per session
    assert data["avg_requests"] == pytest.approx(5 / 3)
    filtered_count = post(
        basic, "/v1/session/count", session_body(filter=leaf(S, "session_total_requests", "gt", 1))
    )
    assert filtered_count.json()["data"]["count"] == 1


def test_count_endpoint_quirks_and_empty(tmp_path: Path) -> None:
    backend = load(tmp_path, [req("1", 0, "s")], quirks=True)
    assert post(backend, "/v1/session/count", session_body()).json()["data"]["count"] == "1"
    empty = post(backend, "/v1/session/count", session_body(search="nothing")).json()["data"]
    assert empty == {
        "count": "0",
        "total_cost": 0.0,
        "avg_cost": 0.0,
        "avg_latency": 0.0,
        "avg_requests": 0.0,
    }


def test_name_query(basic: Backend) -> None:
    response = post(
        basic, "/v1/session/name/query", {"nameContains": "CH", "timezoneDifference": 0}
    )
    assert response.status == 200
    (row,) = response.json()["data"]
    assert row["name"] == "chat" and row["session_count"] == 1
    assert row["created_at"] == row["first_used"] == at(0) and row["last_used"] == at(20)
    assert row["avg_latency"] == pytest.approx(200)
    everything = post(
        basic, "/v1/session/name/query", {"nameContains": "", "timezoneDifference": 0}
    )
    assert [r["name"] for r in everything.json()["data"]] == ["agent", "chat"]  # last_used desc
    windowed = post(
        basic,
        "/v1/session/name/query",
        {
            "nameContains": "",
            "timezoneDifference": 0,
            "timeFilter": {"startTimeUnixMs": 0, "endTimeUnixMs": 1},
        },
    )
    assert windowed.json()["data"] == []


def test_request_query_drills_into_one_session(basic: Backend) -> None:
    body = {
        "filter": {R: {"properties": {"Helicone-Session-Id": {"equals": "s1"}}}},
        "sort": {"created_at": "asc"},
        "offset": 0,
        "limit": 100,
        "isCached": False,
    }
    response = post(basic, "/v1/request/query-clickhouse", body)
    assert response.status == 201
    rows = response.json()["data"]
    assert [r["request_id"] for r in rows] == ["r1", "r2", "r3"]
    first = rows[0]
    assert first["request_created_at"] == at(0) and first["delay_ms"] == 100
    assert first["cost"] == pytest.approx(0.001) and first["request_user_id"] == "u1"
    assert first["request_properties"]["Helicone-Session-Name"] == "chat"
    assert (first["prompt_tokens"], first["completion_tokens"], first["response_status"]) == (
        10,
        5,
        200,
    )
    desc = post(
        basic, "/v1/request/query-clickhouse", {**body, "sort": {"created_at": "desc"}, "limit": 2}
    )
    assert [r["request_id"] for r in desc.json()["data"]] == ["r3", "r2"]
    default = post(basic, "/v1/request/query-clickhouse", {"filter": "all"})
    assert len(default.json()["data"]) == 6  # default limit 10, newest first
    assert default.json()["data"][0]["request_id"] == "r6"


def test_request_query_refuses_session_level_filters(basic: Backend) -> None:
    body = {"filter": leaf(S, "session_total_cost", "gt", 1)}
    response = post(basic, "/v1/request/query-clickhouse", body)
    assert response.status == 500 and "session-level" in response.json()["error"]
