"""Fuzzing: the filter parser and the server take mutated and random input without breaking.

The generators live in ``fuzz.py`` and draw from a ``random.Random``; hypothesis hands them
seeded generators (``st.randoms``) so a failure shrinks to a small seed and replays.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helicone_nb.backend import Backend

from ..strategies import filters
from . import fuzz
from .scenarios import KEY, sessions_backend, uvicorn_thread

AUTH = {"Authorization": f"Bearer {KEY}"}
_HEAD = f"Host: x\r\nAuthorization: Bearer {KEY}\r\n".encode()
HOSTILE_HTTP = [
    b"POST /v1/session/query HTTP/1.1\r\n" + _HEAD + b"Content-Length: 100\r\n\r\n{}",
    b"POST /v1/session/query HTTP/1.1\r\n" + _HEAD + b"Content-Length: -1\r\n\r\n{}",
    b"POST /v1/session/query HTTP/1.1\r\n" + _HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"TRACE /v1/session/query HTTP/1.1\r\n" + _HEAD + b"\r\n",
    b"POST /v1/session/query/%2e%2e/%00 HTTP/1.1\r\n" + _HEAD + b"Content-Length: 2\r\n\r\n{}",
    b"POST /" + b"a" * 9000 + b" HTTP/1.1\r\n" + _HEAD + b"\r\n",
    b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"b" * 70000 + b"\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(40)),  # a TLS hello
    b"\r\n\r\n\r\n",
]


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture(scope="module")
def backend() -> Backend:
    return sessions_backend(200, api_key=KEY)


def answer(backend: Backend, case: fuzz.Case) -> tuple[int, Any]:
    response = backend.handle("POST", case.route, AUTH, case.body)
    try:
        return response.status, json.loads(response.body)
    except ValueError:
        return response.status, response.body[:100]


# ------------------------------------------------------------------------------- the parser


@fuzz_settings(400)
@given(st.randoms(use_true_random=False))
def test_mutated_wire_filters_round_trip_or_raise_filter_error(rng: random.Random) -> None:
    tree = fuzz.valid_filter(rng)
    assert fuzz.filter_outcome(tree) == ""
    for mutated in (fuzz.mutate(tree, rng), fuzz.must_422_filter(rng, tree)):
        assert fuzz.filter_outcome(mutated) == "", json.dumps(mutated)[:500]


@fuzz_settings(150)
@given(st.randoms(use_true_random=False))
def test_random_json_is_never_more_than_a_filter_error(rng: random.Random) -> None:
    assert fuzz.filter_outcome(fuzz.random_json(rng)) == ""


@fuzz_settings(150)
@given(filters())
def test_every_builder_filter_is_accepted_by_the_server(backend: Backend, f: Any) -> None:
    body = {
        "search": "",
        "timeFilter": {"startTimeUnixMs": 1740787200000, "endTimeUnixMs": 1741564800000},
        "timezoneDifference": 0,
        "filter": f.to_wire(),
    }
    response = backend.handle("POST", fuzz.SESSIONS, AUTH, json.dumps(body).encode())
    assert response.status == 200, response.body[:300]


# ------------------------------------------------------------------------------- the server


@fuzz_settings(500)
@given(st.randoms(use_true_random=False))
def test_fuzzed_bodies_get_helicones_answers(backend: Backend, rng: random.Random) -> None:
    case = fuzz.case(rng)
    status, payload = answer(backend, case)
    assert fuzz.answer_problem(case, status, payload) == "", (case.mutation, case.body[:300])


def test_fuzzed_bodies_over_http_match_the_handler_and_the_server_keeps_serving(
    backend: Backend,
) -> None:
    cases = [fuzz.case(random.Random(seed)) for seed in range(150)]
    with uvicorn_thread(backend) as url, httpx.Client(base_url=url, timeout=30) as http:
        for case in cases:
            response = http.post(
                case.route,
                content=case.body,
                headers={**AUTH, "content-type": "application/json"},
            )
            try:
                payload = response.json()
            except ValueError:
                payload = response.content[:100]
            assert fuzz.answer_problem(case, response.status_code, payload) == "", case.mutation
            assert response.status_code == answer(backend, case)[0], case.mutation
        for raw in HOSTILE_HTTP:  # malformed HTTP: refused or ignored, never fatal
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), 5) as sock:
                sock.sendall(raw)
                sock.shutdown(socket.SHUT_WR)  # no more is coming: the server must not wait
                sock.settimeout(5)
                with contextlib.suppress(OSError):
                    reply = sock.recv(200)
                    assert not reply or not reply.startswith(b"HTTP/1.1 5"), (raw[:60], reply)
        good = http.post(
            fuzz.SESSIONS, headers=AUTH, json=fuzz.valid_body(random.Random(0), fuzz.SESSIONS)
        )
        assert good.status_code == 200 and good.json()["error"] is None


@fuzz_settings(150)
@given(
    st.one_of(
        st.text(max_size=60),
        st.sampled_from(
            ["Bearer", "Bearer ", "bearer  ", "Basic " + KEY, KEY, "Bearer " + KEY + "x"]
        ),
        st.builds(lambda s: "Bearer " + s, st.text(max_size=40)),
    )
)
def test_any_other_authorization_is_a_401(backend: Backend, header: str) -> None:
    if header.strip().partition(" ")[2].strip() == KEY and header.strip()[:6].lower() == "bearer":
        return  # that is the key
    body = json.dumps(fuzz.valid_body(random.Random(1), fuzz.SESSIONS)).encode()
    response = backend.handle("POST", fuzz.SESSIONS, {"Authorization": header}, body)
    assert response.status == 401
    assert response.json() == {"error": "No API key found", "trace": "isAuthenticated.error"}
