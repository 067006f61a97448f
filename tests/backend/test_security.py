"""Injection-looking input: filters become parameterised SQL only, and nothing breaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helicone_nb.backend import Backend
from helicone_nb.backend._nodes import Branch, Leaf
from helicone_nb.backend._sql import Params, compile_filter

from .helpers import load, post, req, session_body, sessions

R = "request_response_rmt"
S = "sessions_request_response_rmt"
NASTY = [
    "' OR '1'='1",
    "x'); DROP TABLE requests; --",
    '"; DELETE FROM requests; --',
    "') OR TRUE OR ('",
    "? $1 :name",
    "%' OR 1=1 --",
    "\\'; --",
    "\x00",
    "ﾟ∀ﾟ ' UNION SELECT * FROM session_tags --",
]


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    rows = [
        req("1", 0, "s1", "chat", props={"env": "prod"}),
        req("2", 1, "s2", "agent", props={"x'] OR 1=1 --": "weird key"}),
    ]
    return load(tmp_path, rows)


@pytest.mark.parametrize("value", NASTY)
def test_values_and_keys_never_reach_the_sql_text(value: str) -> None:
    node = Branch(
        "or",
        Leaf(R, "properties", "equals", value, key=value),
        Branch(
            "and",
            Leaf(R, "model", "contains", value),
            Leaf(S, "session_session_name", "like", value),
        ),
    )
    for form in ("where", "having"):
        params = Params()
        sql = compile_filter(node, form, params)  # type: ignore[arg-type]
        assert value not in sql
        assert all(isinstance(k, str) and k.startswith("p") for k in params.values)


@pytest.mark.parametrize("value", NASTY)
def test_injection_looking_filters_match_nothing_and_harm_nothing(
    backend: Backend, value: str
) -> None:
    nodes: list[Any] = [
        {R: {"model": {"equals": value}}},
        {R: {"properties": {value: {"equals": value}}}},
        {R: {"property_key": {"equals": value}}},
        {S: {"session_session_id": {"equals": value}}},
        {S: {"session_tag": {"equals": value}}},
    ]
    for node in nodes:
        assert sessions(backend, filter=node) == []
    assert sessions(backend, search=value) == [] or "%" in value
    assert sessions(backend, nameEquals=value) == []
    assert backend.request_count == 2
    assert len(sessions(backend)) == 2


def test_a_property_key_full_of_sql_is_just_a_key(backend: Backend) -> None:
    node = {R: {"properties": {"x'] OR 1=1 --": {"equals": "weird key"}}}}
    assert [r["session_id"] for r in sessions(backend, filter=node)] == ["s2"]
    assert [
        r["session_id"]
        for r in sessions(backend, filter={R: {"property_key": {"equals": "x'] OR 1=1 --"}}})
    ] == ["s2"]


def test_tags_with_sql_are_stored_as_text(backend: Backend) -> None:
    backend.add_tag("s1", "'); DROP TABLE requests; --")
    node = {S: {"session_tag": {"equals": "'); DROP TABLE requests; --"}}}
    assert [r["session_id"] for r in sessions(backend, filter=node)] == ["s1"]
    assert backend.request_count == 2


def test_the_handler_survives_garbage_and_keeps_serving(backend: Backend) -> None:
    garbage = [b"\x00\xff" * 50, b"{" * 5000, b'{"filter": {"left": ' * 50, b"null", b"1e999"]
    for raw in garbage:
        assert post(backend, "/v1/session/query", raw).status in (413, 422)
    assert post(backend, "/v1/session/query", session_body()).status == 200
