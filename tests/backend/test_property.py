"""Random filter trees on random small data: the backend against an independent reference.

The reference below is written from the spec text (SESSION_API.md sections 2-4), not from the
backend's SQL: it filters plain Python rows, groups them, and evaluates every filter leaf with
Python comparisons and a regex version of LIKE.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helicone_nb.backend import Backend  # noqa: E402

from ..reference import like, text_matches  # noqa: E402

R = "request_response_rmt"
S = "sessions_request_response_rmt"
BASE = dt.datetime(2025, 3, 1, 12, 0, 0)
BASE_MS = int(BASE.replace(tzinfo=dt.UTC).timestamp() * 1000)
TEXT_OPS = ("equals", "not-equals", "like", "ilike", "contains", "not-contains")
NUMBER_OPS = ("equals", "not-equals", "gt", "gte", "lt", "lte")
TIME_OPS = ("equals", "gt", "gte", "lt", "lte")

# ------------------------------------------------------------------------------- reference


def compare(op: str, actual: Any, value: Any) -> bool:
    if actual is None:
        return False
    return {
        "equals": actual == value,
        "not-equals": actual != value,
        "gt": actual > value,
        "gte": actual >= value,
        "lt": actual < value,
        "lte": actual <= value,
    }[op]


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def only(mapping: dict[str, Any]) -> tuple[str, Any]:
    return next(iter(mapping.items()))


def evaluate(node: Any, leaf_value: Callable[[str, str, str | None, str, Any], bool]) -> bool:
    if node == "all" or node == {}:
        return True
    if "left" in node:
        left = evaluate(node["left"], leaf_value)
        right = evaluate(node["right"], leaf_value)
        return (left and right) if node["operator"] == "and" else (left or right)
    table, columns = only(node)
    column, ops = only(columns)
    key = None
    if column == "properties":
        key, ops = only(ops)
    op, value = only(ops)
    return leaf_value(table, column, key, op, value)


def row_leaf(row: dict[str, Any], tags: dict[str, str]) -> Callable[..., bool]:
    def leaf(table: str, column: str, key: str | None, op: str, value: Any) -> bool:
        if table == S:
            if column == "session_tag":  # the session's tag is visible to every request
                return text_matches(op, tags.get(row["session"]), value, True)
            return True  # session-level conditions are TRUE per request
        if column == "properties":
            return text_matches(op, row["props"].get(key, ""), value, False)
        if column == "property_key":
            return value in row["props"]
        if column == "cost":
            return compare(op, row["cost_nano"], math.floor(float(value) * 1e9))
        if column == "request_created_at":
            return compare(op, row["created"], parse_ts(value))
        if column in ("model", "user_id", "country_code"):
            return text_matches(op, row[column], value, True)
        return compare(op, row[column], float(value))

    return leaf


def group_leaf(group: dict[str, Any], tag: str | None) -> Callable[..., bool]:
    def leaf(table: str, column: str, key: str | None, op: str, value: Any) -> bool:
        if table == R:
            return True  # request-level conditions are TRUE per session
        if column == "session_tag":
            return text_matches(op, tag, value, True)
        if column == "session_session_id":
            return text_matches(op, group["session_id"], value, True)
        if column == "session_session_name":
            return text_matches(op, group["session_name"], value, True)
        if column == "session_total_cost":
            return compare(op, group["cost_nano"] / 1e9, float(value))
        if column in ("session_created_at", "session_latest_request_created_at"):
            actual = group["first" if column == "session_created_at" else "last"]
            return compare(op, actual, parse_ts(value))
        return compare(op, group[column.removeprefix("session_")], float(value))

    return leaf


def reference(
    rows: list[dict[str, Any]], tags: dict[str, str], body: dict[str, Any]
) -> list[dict[str, Any]]:
    start = dt.datetime(1970, 1, 1) + dt.timedelta(
        seconds=body["timeFilter"]["startTimeUnixMs"] // 1000
    )
    end = dt.datetime(1970, 1, 1) + dt.timedelta(
        seconds=body["timeFilter"]["endTimeUnixMs"] // 1000
    )
    shift = dt.timedelta(minutes=body["timezoneDifference"])
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if row["session"] is None or not start < row["created"] < end:
            continue
        name = row["name"] or ""
        if body.get("nameEquals") and name != body["nameEquals"]:
            continue
        pattern = f"%{body['search']}%"
        if not (like(row["session"], pattern, True) or like(name, pattern, True)):
            continue
        if not evaluate(body["filter"], row_leaf(row, tags)):
            continue
        groups.setdefault((row["session"], name), []).append(row)
    out = []
    for (sid, name), members in groups.items():
        latencies = [m["latency"] for m in members if m["latency"] is not None]
        prompt = sum(m["prompt_tokens"] or 0 for m in members)
        completion = sum(m["completion_tokens"] or 0 for m in members)
        group = {
            "session_id": sid,
            "session_name": name,
            "first": min(m["created"] for m in members) + shift,
            "last": max(m["created"] for m in members) + shift,
            "cost_nano": sum(m["cost_nano"] or 0 for m in members),
            "total_requests": len(members),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "avg_latency": sum(latencies) / len(latencies) if latencies else 0.0,
            "user_ids": sorted({m["user_id"] for m in members}),
        }
        if evaluate(body["filter"], group_leaf(group, tags.get(sid))):
            out.append(group)
    out.sort(key=lambda g: (g["session_id"], g["session_name"]))
    out.sort(key=lambda g: g["first"], reverse=True)
    offset = max(math.floor(body.get("offset", 0)), 0)
    limit = math.floor(body.get("limit", 50)) or 50
    return out[offset : offset + min(limit, 1000)] if limit > 0 else []


# ------------------------------------------------------------------------------- strategies

# Filter values overlap the data (with case and wildcard variants) so conditions often match.
_GENERIC = ["", "%", "_", "null", "__empty__"]
POOLS = {
    "model": ["gpt-4o", "GPT-4O", "gpt-4o-mini", "claude", "4o", "gpt%", "GPT_4o", "%mini"],
    "user_id": ["u1", "U1", "u2", "u_", "%1"],
    "country_code": ["DE", "de", "US", "D_"],
    "env": ["prod", "PROD", "staging", "st%", "ro"],
    "id": ["s1", "S1", "s2", "a_b", "x%y", "a%", "_1", "S"],
    "name": ["chat", "Chat", "CHAT", "agent", "a_b", "ch%", "%t", "HA"],
    "tag": ["t1", "T1", "x", "t_"],
}


def texts(pool: str) -> Any:
    return st.sampled_from(POOLS[pool] + _GENERIC)


seconds = st.integers(-2, 22)


def iso(second: int, ms: int) -> str:
    t = BASE + dt.timedelta(seconds=second, milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms:03d}Z"


timestamps = st.builds(iso, seconds, st.sampled_from([0, 1, 500, 999]))
usd = st.sampled_from([0, 1e-9, 0.25, 0.5, 1.0, 1.000000001, 2.5, "0.75", 2.9999999996])


def text_leaf(table: str, column: str, pool: str) -> Any:
    return st.builds(
        lambda op, v: {table: {column: {op: v}}}, st.sampled_from(TEXT_OPS), texts(pool)
    )


def number_leaf(table: str, column: str, values: Any, ops: tuple[str, ...] = NUMBER_OPS) -> Any:
    return st.builds(lambda op, v: {table: {column: {op: v}}}, st.sampled_from(ops), values)


small_numbers = st.sampled_from([0, 1, 2, 3, 10, 100, 250.5, 500, 1000, "7"])
leaves = st.one_of(
    text_leaf(R, "model", "model"),
    text_leaf(R, "user_id", "user_id"),
    text_leaf(R, "country_code", "country_code"),
    number_leaf(R, "status", st.sampled_from([200, 429, 500, 404])),
    number_leaf(R, "latency", small_numbers),
    number_leaf(R, "prompt_tokens", small_numbers),
    number_leaf(R, "completion_tokens", small_numbers),
    number_leaf(R, "prompt_cache_read_tokens", small_numbers),
    number_leaf(R, "prompt_cache_write_tokens", small_numbers),
    number_leaf(R, "cost", usd),
    number_leaf(R, "request_created_at", timestamps, TIME_OPS),
    st.builds(
        lambda key, op, v: {R: {"properties": {key: {op: v}}}},
        st.sampled_from(["env", "missing"]),
        st.sampled_from(TEXT_OPS),
        texts("env"),
    ),
    st.builds(
        lambda op, v: {R: {"properties": {"Helicone-Session-Name": {op: v}}}},
        st.sampled_from(TEXT_OPS),
        texts("name"),
    ),
    st.builds(
        lambda key: {R: {"property_key": {"equals": key}}},
        st.sampled_from(["env", "Helicone-Session-Name", "nope"]),
    ),
    text_leaf(S, "session_session_id", "id"),
    text_leaf(S, "session_session_name", "name"),
    text_leaf(S, "session_tag", "tag"),
    number_leaf(S, "session_total_cost", usd),
    number_leaf(S, "session_total_requests", small_numbers),
    number_leaf(S, "session_total_tokens", small_numbers),
    number_leaf(S, "session_prompt_tokens", small_numbers),
    number_leaf(S, "session_completion_tokens", small_numbers),
    number_leaf(S, "session_created_at", timestamps, TIME_OPS),
    number_leaf(S, "session_latest_request_created_at", timestamps, TIME_OPS),
    st.just("all"),
    st.just({}),
)
trees = st.recursive(
    leaves,
    lambda children: st.builds(
        lambda left, op, right: {"left": left, "operator": op, "right": right},
        children,
        st.sampled_from(["and", "or"]),
        children,
    ),
    max_leaves=4,
)
filters = st.one_of(leaves, trees)  # single leaves often, so each leaf's semantics show

request_rows = st.lists(
    st.fixed_dictionaries(
        {
            "session": st.sampled_from([None, "s1", "s2", "S1", "a_b", "x%y"]),
            "name": st.sampled_from([None, "", "chat", "Chat", "agent", "a_b"]),
            "user_id": st.sampled_from(["", "u1", "u2", "U1"]),
            "model": st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude"]),
            "country_code": st.sampled_from([None, "DE", "US"]),
            "status": st.sampled_from([200, 429, 500]),
            "latency": st.one_of(st.none(), st.integers(0, 2000)),
            "prompt_tokens": st.one_of(st.none(), st.integers(0, 600)),
            "completion_tokens": st.one_of(st.none(), st.integers(0, 600)),
            # cache and reasoning tokens: never part of a session's total_tokens
            "prompt_cache_read_tokens": st.one_of(st.none(), st.integers(0, 5000)),
            "prompt_cache_write_tokens": st.one_of(st.none(), st.integers(0, 5000)),
            "reasoning_tokens": st.integers(0, 900),
            "cost_nano": st.one_of(
                st.none(),
                st.sampled_from([0, 1, 250_000_000, 500_000_000, 1_000_000_001, 2_999_999_999]),
            ),
            "second": st.integers(0, 20),
            "ms": st.sampled_from([0, 1, 500, 999]),
            "env": st.sampled_from([None, "prod", "staging", ""]),
        }
    ),
    min_size=2,
    max_size=14,
)
tag_maps = st.dictionaries(
    st.sampled_from(["s1", "s2", "S1", "a_b"]), st.sampled_from(["t1", "T1", "x"]), max_size=3
)
bodies = st.fixed_dictionaries(
    {
        "search": st.sampled_from(["", "", "", "", "s", "S1", "_", "%", "a_b", "HAT", "x%"]),
        "timeFilter": st.builds(
            lambda s, e, sf, ef: {
                "startTimeUnixMs": BASE_MS + s * 1000 + sf,
                "endTimeUnixMs": BASE_MS + e * 1000 + ef,
            },
            st.sampled_from([-1, -1, 0, 3]),
            st.sampled_from([21, 21, 15, 10]),
            st.sampled_from([0, 999]),
            st.sampled_from([0, 999]),
        ),
        "timezoneDifference": st.sampled_from([0, 60, -90]),
        "filter": filters,
    },
    optional={
        "nameEquals": st.sampled_from(["", "chat", "agent", "Chat"]),
        "offset": st.sampled_from([0, 1, 2.5, -1]),
        "limit": st.sampled_from([1, 3, 50, 0, -2]),
    },
)

# ------------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def backend() -> Backend:
    return Backend()


def load(backend: Backend, rows: list[dict[str, Any]], tags: dict[str, str]) -> None:
    backend.store.execute("DELETE FROM requests")
    backend.store.execute("DELETE FROM session_tags")
    for row in rows:
        row["created"] = BASE + dt.timedelta(seconds=row["second"], milliseconds=row["ms"])
        row["props"] = {
            k: v
            for k, v in (
                ("Helicone-Session-Id", row["session"]),
                ("Helicone-Session-Name", row["name"]),
                ("env", row["env"]),
            )
            if v is not None
        }
    if rows:
        frame = pd.DataFrame(
            {
                "request_id": [f"r{i}" for i in range(len(rows))],
                "request_created_at": pd.to_datetime([r["created"] for r in rows]),
                "model": [r["model"] for r in rows],
                "user_id": [r["user_id"] for r in rows],
                "country_code": pd.Series([r["country_code"] for r in rows], dtype=object),
                "status": [r["status"] for r in rows],
                **{
                    col: pd.array([r[key] for r in rows], dtype="Int64")
                    for col, key in (
                        ("latency", "latency"),
                        ("prompt_tokens", "prompt_tokens"),
                        ("completion_tokens", "completion_tokens"),
                        ("prompt_cache_read_tokens", "prompt_cache_read_tokens"),
                        ("prompt_cache_write_tokens", "prompt_cache_write_tokens"),
                        ("reasoning_tokens", "reasoning_tokens"),
                        ("cost", "cost_nano"),
                    )
                },
                **{
                    f"property:{key}": pd.Series([r["props"].get(key) for r in rows], dtype=object)
                    for key in ("Helicone-Session-Id", "Helicone-Session-Name", "env")
                },
            }
        )
        assert backend.ingest_frame(frame) == len(rows)
    for sid, tag in tags.items():
        backend.add_tag(sid, tag)


def _fmt(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=request_rows, tags=tag_maps, body=bodies)
def test_session_query_matches_the_reference(
    backend: Backend, rows: list[dict[str, Any]], tags: dict[str, str], body: dict[str, Any]
) -> None:
    load(backend, rows, tags)
    response = backend.handle(
        "POST", "/v1/session/query", {"authorization": "Bearer k"}, json.dumps(body).encode()
    )
    assert response.status == 200, response.body
    got = response.json()["data"]
    expected = reference(rows, tags, body)
    assert [(g["session_id"], g["session_name"]) for g in got] == [
        (e["session_id"], e["session_name"]) for e in expected
    ]
    for g, e in zip(got, expected, strict=True):
        assert g["created_at"] == _fmt(e["first"])
        assert g["latest_request_created_at"] == _fmt(e["last"])
        assert g["total_cost"] == pytest.approx(e["cost_nano"] / 1e9)
        assert g["total_requests"] == e["total_requests"]
        assert (g["prompt_tokens"], g["completion_tokens"], g["total_tokens"]) == (
            e["prompt_tokens"],
            e["completion_tokens"],
            e["total_tokens"],
        )
        assert g["avg_latency"] == pytest.approx(e["avg_latency"])
        assert sorted(g["user_ids"]) == e["user_ids"]

    counted = backend.handle(
        "POST", "/v1/session/count", {"authorization": "Bearer k"}, json.dumps(body).encode()
    ).json()["data"]
    everything = reference(rows, tags, {**body, "offset": 0, "limit": 1000})
    assert counted["count"] == len(everything)
    assert counted["total_cost"] == pytest.approx(sum(e["cost_nano"] for e in everything) / 1e9)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=request_rows,
    tags=tag_maps,
    conditions=st.lists(leaves, min_size=8, max_size=8),
    tz=st.sampled_from([0, 60, -90]),
)
def test_single_conditions_match_the_reference(
    backend: Backend,
    rows: list[dict[str, Any]],
    tags: dict[str, str],
    conditions: list[Any],
    tz: int,
) -> None:
    load(backend, rows, tags)
    window = {"startTimeUnixMs": BASE_MS - 5000, "endTimeUnixMs": BASE_MS + 60_000}
    for condition in conditions:
        body = {"search": "", "timeFilter": window, "timezoneDifference": tz, "filter": condition}
        response = backend.handle(
            "POST", "/v1/session/query", {"authorization": "Bearer k"}, json.dumps(body).encode()
        )
        got = [(g["session_id"], g["session_name"]) for g in response.json()["data"]]
        expected = [(e["session_id"], e["session_name"]) for e in reference(rows, tags, body)]
        assert got == expected, condition
