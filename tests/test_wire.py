"""Wire models against Helicone's OpenAPI file and the public doc page's examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helicone_nb import Client
from helicone_nb._wire.models import Envelope, RequestQueryParams, SessionQueryParams, SessionResult

from .conftest import spec_missing
from .strategies import filters

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"
if not SPEC.is_dir():  # CI clones the repo with shared/ beside it
    SPEC = Path(__file__).resolve().parents[1] / ".." / "shared" / "spec"


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    path = SPEC / "helicone-openapi.json"
    if not path.exists():
        spec_missing(path)
    return json.loads(path.read_text())


def validator(openapi: dict[str, Any], name: str) -> Any:
    import jsonschema

    schema = {"$ref": f"#/components/schemas/{name}", "components": openapi["components"]}
    return jsonschema.Draft7Validator(schema)


SEED_REQUEST = {
    "search": "customer-support",
    "timeFilter": {"startTimeUnixMs": 1704067200000, "endTimeUnixMs": 1704153600000},
    "timezoneDifference": 0,
    "filter": "all",
    "offset": 0,
    "limit": 50,
}
SEED_RESPONSE = {
    "data": [
        {
            "session_id": "sess_abc123",
            "session_name": "customer-support-chat",
            "created_at": "2024-01-01T12:00:00Z",
            "latest_request_created_at": "2024-01-01T12:15:00Z",
            "total_cost": 0.0042,
            "total_requests": 8,
            "prompt_tokens": 1250,
            "completion_tokens": 890,
            "total_tokens": 2140,
            "avg_latency": 450.5,
            "user_ids": ["user_123"],
        }
    ],
    "error": None,
}


def test_seed_doc_request_and_response_parse(openapi: dict[str, Any]) -> None:
    params = SessionQueryParams.model_validate(SEED_REQUEST)
    assert params.to_json_dict() == SEED_REQUEST
    validator(openapi, "SessionQueryParams").validate(SEED_REQUEST)
    env = Envelope.model_validate(SEED_RESPONSE)
    rows = [SessionResult.model_validate(r) for r in env.data]
    assert rows[0].total_requests == 8 and rows[0].user_ids == ["user_123"]


def test_session_result_tolerates_production_variants() -> None:
    row = dict(SEED_RESPONSE["data"][0], total_requests="7", created_at="2025-01-31 10:00:01.123")
    row["user_ids"] = ["", "u"]
    parsed = SessionResult.model_validate(row)
    assert parsed.total_requests == 7


def test_request_models_are_strict_like_helicone() -> None:
    with pytest.raises(ValueError, match="extra"):
        SessionQueryParams.model_validate({**SEED_REQUEST, "foo": 1})
    with pytest.raises(ValueError):
        SessionQueryParams.model_validate({**SEED_REQUEST, "limit": 5000})
    with pytest.raises(ValueError, match=r"Invalid|1440"):
        SessionQueryParams.model_validate({**SEED_REQUEST, "timezoneDifference": 2000})
    with pytest.raises(ValueError, match="uses only the first"):
        SessionQueryParams.model_validate(
            {**SEED_REQUEST, "filter": {"request_response_rmt": {"a": {}, "b": {}}}}
        )


_windows = st.tuples(st.integers(946684800000, 4102444800000), st.integers(1, 10**10)).map(
    lambda t: (t[0], t[0] + t[1])
)


@settings(max_examples=150, deadline=None)
@given(
    f=filters(),
    window=_windows,
    search=st.text(max_size=10),
    name=st.one_of(st.none(), st.text(max_size=10)),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
def test_every_body_the_client_sends_validates_against_openapi(
    openapi: dict[str, Any],
    f: Any,
    window: tuple[int, int],
    search: str,
    name: str | None,
    tz: str,
) -> None:
    client = Client("sk-x", cache=False)
    query = client._sessions_query(
        window[0],
        window[1],
        search=search,
        name=name,
        filter=f,
        tz=tz,
        max_sessions=None,
        page_size=None,
    )
    for offset in (0, 1000):
        body = query.page_body(offset)
        validator(openapi, "SessionQueryParams").validate(body)
    validator(openapi, "SessionQueryParams").validate(query.count_body)


def test_request_query_body_validates(openapi: dict[str, Any]) -> None:
    client = Client("sk-x", cache=False)
    q = client._requests_query("sess-1", "2025-01-01", "2025-01-02", "UTC", None, None)
    validator(openapi, "RequestQueryParams").validate(q.page_body(0))
    body = RequestQueryParams().to_json_dict()
    validator(openapi, "RequestQueryParams").validate(body)
