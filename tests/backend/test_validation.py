"""Helicone's 422 / 401 / 404 / 413 answers, body for body (spec sections 2 and 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helicone_nb.backend import MAX_BODY_BYTES, Backend

from .helpers import AUTH, load, post, req, session_body, sessions

R = "request_response_rmt"


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    return load(tmp_path, [req("1", 0, "s1", "chat"), req("2", 1, "s2", "agent")])


def details(backend: Backend, body: Any, path: str = "/v1/session/query") -> dict[str, Any]:
    response = post(backend, path, body)
    assert response.status == 422, response.body
    payload = response.json()
    assert payload["message"] == "Validation Failed"
    return dict(payload["details"])


def test_excess_top_level_key_has_helicones_exact_body(backend: Backend) -> None:
    response = post(backend, "/v1/session/query", session_body(foo=1))
    assert response.status == 422
    assert response.json() == {
        "message": "Validation Failed",
        "details": {
            "requestBody.foo": {
                "message": '"foo" is an excess property and therefore is not allowed',
                "value": "foo",
            }
        },
    }


def test_excess_key_inside_time_filter(backend: Backend) -> None:
    body = session_body()
    body["timeFilter"]["tz"] = "UTC"
    assert list(details(backend, body)) == ["requestBody.timeFilter.tz"]


@pytest.mark.parametrize("field", ["search", "timeFilter", "timezoneDifference", "filter"])
def test_missing_required_field(backend: Backend, field: str) -> None:
    body = session_body()
    del body[field]
    assert details(backend, body) == {f"requestBody.{field}": {"message": f"'{field}' is required"}}


def test_missing_window_bound(backend: Backend) -> None:
    body = session_body(timeFilter={"startTimeUnixMs": 0})
    got = details(backend, body)
    assert got == {
        "requestBody.timeFilter.endTimeUnixMs": {"message": "'endTimeUnixMs' is required"}
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("search", 5, "invalid string value"),
        ("nameEquals", ["a"], "invalid string value"),
        ("timezoneDifference", "abc", "invalid float number"),
        ("timezoneDifference", True, "invalid float number"),
        ("limit", "", "invalid float number"),
        ("offset", {}, "invalid float number"),
    ],
)
def test_wrong_types(backend: Backend, field: str, value: Any, message: str) -> None:
    got = details(backend, session_body(**{field: value}))
    assert got == {f"requestBody.{field}": {"message": message, "value": value}}


def test_wrong_type_inside_time_filter_names_the_nested_field(backend: Backend) -> None:
    got = details(backend, session_body(timeFilter={"startTimeUnixMs": "x", "endTimeUnixMs": 1}))
    assert got == {
        "requestBody.timeFilter.startTimeUnixMs": {"message": "invalid float number", "value": "x"}
    }


def test_numeric_strings_are_accepted_for_number_fields(backend: Backend) -> None:
    body = session_body(
        timeFilter={"startTimeUnixMs": "1738000000000", "endTimeUnixMs": "1.8e12"},
        timezoneDifference="-60",
        limit="1",
        offset="0",
    )
    assert len(sessions(backend, **{k: v for k, v in body.items()})) == 1


@pytest.mark.parametrize(
    ("node", "nested"),
    [
        ({R: {"modle": {"equals": "x"}}}, "requestBody.filter.request_response_rmt.modle"),
        ({R: {"model": {"equal": "x"}}}, "requestBody.filter.request_response_rmt.model.equal"),
        ({R: {"model": {"equals": 5}}}, "requestBody.filter.request_response_rmt.model.equals"),
        ({R: {"status": {"gt": "many"}}}, "requestBody.filter.request_response_rmt.status.gt"),
        (
            {R: {"status": {"contains": "4"}}},
            "requestBody.filter.request_response_rmt.status.contains",
        ),
        ({R: {"request_created_at": {"gt": "yesterday"}}}, "request_created_at.gt"),
        (
            {R: {"cached": {"equals": "maybe"}}},
            "requestBody.filter.request_response_rmt.cached.equals",
        ),
        (
            {R: {"properties": {"k": {"equals": 1}}}},
            "requestBody.filter.request_response_rmt.properties.k.equals",
        ),
        ({R: {"property_key": {}}}, "requestBody.filter.request_response_rmt.property_key.equals"),
        ({"sessions": {"x": 1}}, "requestBody.filter.sessions"),
        ({"left": "all", "operator": "xor", "right": "all"}, "requestBody.filter.operator"),
        ({"left": "all", "operator": "and"}, "requestBody.filter.right"),
        (
            {"left": "all", "operator": "and", "right": "all", "extra": 1},
            "requestBody.filter.extra",
        ),
        ("everything", "requestBody.filter"),
        (5, "requestBody.filter"),
    ],
)
def test_bad_filters_are_one_summarised_union_error(
    backend: Backend, node: Any, nested: str
) -> None:
    got = details(backend, session_body(filter=node))
    assert list(got) == ["requestBody.filter"]
    message = got["requestBody.filter"]["message"]
    assert message.startswith("Could not match the union against any of the items. Issues: ")
    assert nested in message
    assert got["requestBody.filter"]["value"] == node


def test_nested_bad_filter_inside_a_branch(backend: Backend) -> None:
    node = {"left": {R: {"model": {"equals": "x"}}}, "operator": "and", "right": {R: {"nope": {}}}}
    got = details(backend, session_body(filter=node))
    assert (
        "requestBody.filter.right.request_response_rmt.nope" in got["requestBody.filter"]["message"]
    )


@pytest.mark.parametrize("depth", [300, 900])
def test_very_deep_filters_are_refused_without_crashing(backend: Backend, depth: int) -> None:
    head = json.dumps(session_body())[:-1].encode() + b', "filter": '
    node = b'{"left": ' * depth + b'"all"' + b', "operator": "and", "right": "all"}' * depth
    got = details(backend, head + node + b"}")
    assert list(got) == ["requestBody.filter"]
    assert len(json.dumps(got)) < 20_000


def test_json_nested_beyond_the_parser_is_422(backend: Backend) -> None:
    deep_json = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    assert "requestBody" in details(backend, deep_json)


@pytest.mark.parametrize(
    "raw",
    [b'{"search": ""', b"{'search': ''}", b'{"search": NaN}', b"\xff\xfe", b"[1, 2"],
)
def test_malformed_json_is_422(backend: Backend, raw: bytes) -> None:
    got = details(backend, raw)
    assert list(got) == ["requestBody"] and "invalid JSON" in got["requestBody"]["message"]


def test_empty_and_non_object_bodies(backend: Backend) -> None:
    assert details(backend, b"") == {"requestBody": {"message": "'requestBody' is required"}}
    assert details(backend, b"[]") == {"requestBody": {"message": "invalid object", "value": []}}


def test_several_problems_are_reported_together(backend: Backend) -> None:
    body = {"search": 1, "timezoneDifference": 0, "filter": "all", "junk": True}
    assert list(details(backend, body)) == [
        "requestBody.search",
        "requestBody.timeFilter",
        "requestBody.junk",
    ]


def test_other_endpoints_validate_too(backend: Backend) -> None:
    assert list(details(backend, {"timezoneDifference": 0}, "/v1/session/name/query")) == [
        "requestBody.nameContains"
    ]
    got = details(
        backend,
        {"nameContains": "", "timezoneDifference": 0, "pSize": "p42"},
        "/v1/session/name/query",
    )
    assert "should be one of the following" in got["requestBody.pSize"]["message"]
    assert list(details(backend, {}, "/v1/request/query-clickhouse")) == ["requestBody.filter"]
    got = details(
        backend, {"filter": "all", "sort": {"created_at": "up"}}, "/v1/request/query-clickhouse"
    )
    assert list(got) == ["requestBody.sort.created_at"]


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "No authorization header"),
        ({"Authorization": "Basic abc"}, "No API key found"),
        ({"Authorization": "Bearer "}, "No API key found"),
        ({"authorization": "Bearer wrong"}, "No API key found"),
    ],
)
def test_auth_failures_are_401_with_helicones_body(
    tmp_path: Path, headers: dict[str, str], error: str
) -> None:
    backend = load(tmp_path, [req("1", 0, "s")], api_key="right")
    response = backend.handle(
        "POST", "/v1/session/query", headers, json.dumps(session_body()).encode()
    )
    assert response.status == 401
    assert response.json() == {"error": error, "trace": "isAuthenticated.error"}
    ok = backend.handle(
        "POST",
        "/v1/session/query",
        {"AUTHORIZATION": "bearer right"},
        json.dumps(session_body()).encode(),
    )
    assert ok.status == 200


def test_any_bearer_key_is_accepted_without_api_key(backend: Backend) -> None:
    assert (
        post(backend, "/v1/session/query", session_body(), {"Authorization": "Bearer x"}).status
        == 200
    )
    assert post(backend, "/v1/session/query", session_body(), {}).status == 401


def test_unknown_route_and_method_are_404_json(backend: Backend) -> None:
    for method, path in (("POST", "/v1/session/nope"), ("GET", "/v1/session/query"), ("POST", "/")):
        response = backend.handle(method, path, AUTH, b"{}")
        assert response.status == 404
        assert response.json()["data"] is None and path in response.json()["error"]
    assert post(backend, "/v1/session/query/?x=1", session_body()).status == 200


def test_bodies_over_10_mb_are_413(backend: Backend) -> None:
    body = json.dumps(session_body(search="x" * MAX_BODY_BYTES)).encode()
    response = post(backend, "/v1/session/query", body)
    assert response.status == 413 and "too large" in response.json()["error"]


def test_bad_input_leaves_the_data_intact(backend: Backend) -> None:
    for raw in (b"{", b'{"foo": 1}', b"\x00" * 100):
        post(backend, "/v1/session/query", raw)
    assert backend.request_count == 2
    assert len(sessions(backend)) == 2
