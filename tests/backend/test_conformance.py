"""Every response shape validates against Helicone's OpenAPI response schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helicone_nb.backend import DEMO_END, DEMO_START, Backend, demo_backend

from ..conftest import spec_missing
from .helpers import post

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "helicone-openapi.json"
WINDOW = {
    "startTimeUnixMs": int(DEMO_START.timestamp() * 1000),
    "endTimeUnixMs": int(DEMO_END.timestamp() * 1000),
}


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    if not SPEC.exists():
        spec_missing(SPEC)
    return dict(_json_schema(json.loads(SPEC.read_text())["components"]))


def check(components: dict[str, Any], name: str, payload: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {"$ref": f"#/components/schemas/{name}", "components": components}
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(payload))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


@pytest.fixture(scope="module")
def demo() -> Backend:
    return demo_backend(3_000, seed=1, cache=False)


def session_body(**extra: Any) -> dict[str, Any]:
    return {
        "search": "",
        "timeFilter": WINDOW,
        "timezoneDifference": 0,
        "filter": "all",
        "limit": 200,
        **extra,
    }


def test_session_query(components: dict[str, Any], demo: Backend) -> None:
    response = post(demo, "/v1/session/query", session_body())
    assert response.status == 200
    payload = response.json()
    assert len(payload["data"]) == 200
    check(components, "Result_SessionResult-Array.string_", payload)
    check(components, "ResultSuccess_SessionResult-Array_", payload)


def test_session_count(components: dict[str, Any], demo: Backend) -> None:
    payload = post(demo, "/v1/session/count", session_body()).json()
    check(components, "Result_SessionsAggregateMetrics.string_", payload)


def test_session_names(components: dict[str, Any], demo: Backend) -> None:
    payload = post(demo, "/v1/session/name/query", {"nameContains": "", "timezoneDifference": 0})
    assert len(payload.json()["data"]) == 5
    check(components, "Result_SessionNameResult-Array.string_", payload.json())


def test_request_query(components: dict[str, Any], demo: Backend) -> None:
    response = post(demo, "/v1/request/query-clickhouse", {"filter": "all", "limit": 300})
    assert response.status == 201
    payload = response.json()
    assert len(payload["data"]) == 300
    check(components, "Result_HeliconeRequest-Array.string_", payload)
    check(components, "ResultSuccess_HeliconeRequest-Array_", payload)


def test_error_envelopes(components: dict[str, Any], demo: Backend) -> None:
    bad_tz = post(demo, "/v1/session/query", session_body(timezoneDifference=5000))
    assert bad_tz.status == 500
    check(components, "Result_SessionResult-Array.string_", bad_tz.json())
    check(components, "ResultError_string_", bad_tz.json())
    empty_leaf = post(demo, "/v1/session/query", session_body(filter={"request_response_rmt": {}}))
    check(components, "ResultError_string_", empty_leaf.json())


def test_request_bodies_the_backend_accepts_match_the_request_schemas(
    components: dict[str, Any],
) -> None:
    check(components, "SessionQueryParams", session_body())
    check(components, "SessionNameQueryParams", {"nameContains": "", "timezoneDifference": 0})
    check(
        components,
        "RequestQueryParams",
        {"filter": "all", "offset": 0, "limit": 10, "sort": {"created_at": "asc"}},
    )
