"""Server hardening: loopback only, the API key enforced, the body limit, an SQL-injection corpus
on every text column, and many concurrent clients against a real ``helicone-nb serve``.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import helicone_nb as hnb
from helicone_nb.backend import MAX_BODY_BYTES, Backend, demo_backend
from helicone_nb.cli import build_parser, main

from . import injection
from .conftest import DEMO_REQUESTS, Server
from .scenarios import DEMO_BODY, KEY, demo_queries, uvicorn_thread

AUTH = {"Authorization": f"Bearer {KEY}"}


# ------------------------------------------------------------------------------- loopback


@pytest.fixture
def fake_serve(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace uvicorn with a recorder: nothing is bound."""
    calls: list[dict[str, Any]] = []

    def serve(backend: Backend, host: str, port: int, **kwargs: Any) -> None:
        calls.append(
            {
                "host": host,
                "port": port,
                "faults": backend.faults,
                "rate_limiter": backend.rate_limiter,
                **kwargs,
            }
        )
        kwargs["on_shutdown"]()

    monkeypatch.setattr("helicone_nb.backend._server.serve", serve)
    return calls


def test_serve_listens_on_loopback_by_default(fake_serve: list[dict[str, Any]]) -> None:
    assert build_parser().parse_args(["serve", "--demo"]).host == "127.0.0.1"
    assert main(["serve", "--demo", "--demo-requests", "1000"]) == 0
    assert fake_serve[-1]["host"] == "127.0.0.1"
    for host in ("localhost", "127.0.0.2", "::1"):
        assert main(["serve", "--demo", "--demo-requests", "1000", "--host", host]) == 0
        assert fake_serve[-1]["host"] == host


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "127.0.0.1.nip.io"]
)
def test_serve_refuses_other_hosts_without_allow_remote(
    fake_serve: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], host: str
) -> None:
    assert main(["serve", "--demo", "--host", host]) == 1
    err = capsys.readouterr().err
    assert f"refusing to listen on {host}" in err and "--allow-remote" in err
    assert fake_serve == []
    assert (
        main(["serve", "--demo", "--demo-requests", "1000", "--host", host, "--allow-remote"]) == 0
    )
    assert fake_serve[-1]["host"] == host


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_the_running_server_listens_on_127_0_0_1_only(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1, little-endian hex


def test_fault_flags_reach_the_backend(
    fake_serve: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["serve", "--demo", "--demo-requests", "1000"]
    assert main([*args, "--faults", "0.3", "--fault-kinds", "503,shift", "--fault-seed", "9"]) == 0
    plan = fake_serve[-1]["faults"]
    assert (plan.rate, plan.kinds, plan.seed, plan.stall_s) == (0.3, ("503", "shift"), 9, 31.0)
    err = capsys.readouterr().err
    assert "injecting faults into 30% of query requests (503,shift; seed 9)" in err
    assert "0 query requests, 0 faults injected" in err  # the summary at shutdown
    assert main([*args]) == 0 and fake_serve[-1]["faults"] is None
    assert main([*args, "--faults", "1.5"]) == 1
    assert main([*args, "--faults", "0.1", "--fault-kinds", "500,teapot"]) == 1
    err = capsys.readouterr().err
    assert "0 to 1" in err and "unknown fault kind 'teapot'" in err


def test_rate_limit_flag_reaches_the_backend(
    fake_serve: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["serve", "--demo", "--demo-requests", "1000"]
    assert main([*args, "--rate-limit", "1000/300"]) == 0
    limiter = fake_serve[-1]["rate_limiter"]
    assert (limiter.limit, limiter.window_s) == (1000, 300.0)
    assert "at most 1,000 calls per 300 s" in capsys.readouterr().err
    assert main(args) == 0 and fake_serve[-1]["rate_limiter"] is None
    for bad in ("many", "0/300", "10/0", "10/x"):
        assert main([*args, "--rate-limit", bad]) == 1
        assert "--rate-limit" in capsys.readouterr().err


# ------------------------------------------------------------------------------- the key


def test_the_api_key_is_enforced(server: Server) -> None:
    body = json.dumps(DEMO_BODY).encode()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for headers, error in [
            ({}, "No authorization header"),
            ({"Authorization": "Bearer not-the-key"}, "No API key found"),
            ({"Authorization": f"Bearer {KEY[:-1]}"}, "No API key found"),
            ({"Authorization": f"Bearer {KEY}x"}, "No API key found"),
            ({"Authorization": f"Basic {KEY}"}, "No API key found"),
            ({"Authorization": KEY}, "No API key found"),
        ]:
            for path in ("/v1/session/query", "/v1/session/count", "/v1/nothing"):
                response = http.post(path, headers=headers, content=body)
                assert response.status_code == 401, (headers, path)
                assert response.json() == {"error": error, "trace": "isAuthenticated.error"}
        assert http.get("/v1/session/some-id/tag").status_code == 401
        ok = http.post("/v1/session/query", headers=AUTH, content=body)
        assert ok.status_code == 200 and ok.json()["data"]
    with (
        hnb.Client("not-the-key", base_url=server.url, cache=False) as wrong,
        pytest.raises(hnb.IncompleteFetchError) as info,
    ):
        wrong.fetch_sessions("2025-06-02", "2025-09-01")
    assert isinstance(info.value.__cause__, hnb.AuthenticationError)
    assert "No API key found" in str(info.value.__cause__)


# ------------------------------------------------------------------------------- body size


def test_bodies_over_10_mb_are_refused_with_413_and_the_server_keeps_serving(
    server: Server,
) -> None:
    padding = MAX_BODY_BYTES - len(json.dumps({**DEMO_BODY, "search": ""}))
    exact = json.dumps({**DEMO_BODY, "search": "x" * padding}).encode()
    assert len(exact) == MAX_BODY_BYTES

    def chunks(total: int) -> Iterator[bytes]:
        sent = 0
        while sent < total:
            piece = min(1 << 20, total - sent)
            sent += piece
            yield b" " * piece

    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as http:
        at_limit = http.post("/v1/session/query", content=exact)
        assert at_limit.status_code == 200 and at_limit.json()["data"] == []
        over = http.post("/v1/session/query", content=exact + b" ")
        assert over.status_code == 413 and "limit" in over.json()["error"]
        chunked = http.post("/v1/session/query", content=chunks(MAX_BODY_BYTES + 1))  # no length
        assert chunked.status_code == 413
        ok = http.post("/v1/session/query", json=DEMO_BODY)
        assert ok.status_code == 200 and len(ok.json()["data"]) == 50


# ------------------------------------------------------------------------------- injection


@pytest.fixture(scope="module")
def corpus() -> tuple[Backend, list[injection.Row], dict[str, str]]:
    rows, tags = injection.corpus_rows()
    backend = Backend(api_key=KEY)
    injection.load(backend, rows, tags)
    return backend, rows, tags


def test_the_injection_corpus_on_every_text_column_key_and_value_answers_correctly(
    corpus: tuple[Backend, list[injection.Row], dict[str, str]],
) -> None:
    backend, rows, tags = corpus
    before = injection.checksum(backend)
    counts = (backend.request_count, backend.session_count)
    probes = injection.sample(list(injection.probes(rows, tags)))
    targets = {p.target for p in probes}
    assert len(targets) >= len(injection.TEXT_COLUMNS) + 7 and len(probes) > 1000
    assert sum(bool(p.expected) for p in probes) > len(probes) // 4  # many probes match rows
    assert injection.mismatches(backend, probes, AUTH) == []
    assert injection.checksum(backend) == before
    assert (backend.request_count, backend.session_count) == counts == (96, 48)


def test_the_injection_corpus_through_the_client_and_http(
    corpus: tuple[Backend, list[injection.Row], dict[str, str]],
) -> None:
    """Builder filters, JSON over a socket, the typed frame: NUL, quotes and unicode survive."""
    backend, rows, tags = corpus
    before = injection.checksum(backend)
    window = ("2025-02-28T00:00:00Z", "2025-03-02T00:00:00Z")
    with (
        uvicorn_thread(backend) as url,
        # one page at a time: a small result then costs the count and one page request
        hnb.Client(KEY, base_url=url, cache=False, concurrency=1) as c,
    ):
        for value in injection.CORPUS:
            for flt, target, op in [
                (hnb.request.target_url.contains(value), "target_url", "contains"),
                (hnb.prop("tier") == value, "properties['tier']", "equals"),
            ]:
                probe = next(
                    p
                    for p in injection.probes(rows, tags, operators=(op,))
                    if p.value == value and p.target == target
                )
                df = c.fetch_sessions(*window, filter=flt)
                got = set(zip(df["session_id"], df["session_name"], strict=True))
                assert got == set(probe.expected), (target, value[:30])
            if value:
                df = c.fetch_sessions(*window, filter=hnb.prop(value) != "")
                expected = {(r.session, r.name) for r in rows if r.props.get(value, "") != ""}
                assert set(zip(df["session_id"], df["session_name"], strict=True)) == expected
    assert injection.checksum(backend) == before


# ------------------------------------------------------------------------------- concurrency


def test_eight_clients_times_a_hundred_queries_all_answered_correctly(server: Server) -> None:
    reference = demo_backend(DEMO_REQUESTS, api_key=KEY)  # the same data as the server's
    first = reference.handle("POST", "/v1/session/query", AUTH, json.dumps(DEMO_BODY).encode())
    session_ids = [r["session_id"] for r in first.json()["data"]]
    plans = [demo_queries(random.Random(seed), session_ids) for seed in range(8)]
    expected = [
        [reference.handle("POST", p, AUTH, json.dumps(b).encode()).body for p, b in plan]
        for plan in plans
    ]
    answers: list[list[bytes]] = [[] for _ in plans]
    errors: list[BaseException] = []
    start = threading.Barrier(len(plans))

    def worker(i: int) -> None:
        try:
            with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as http:
                start.wait()
                for path, body in plans[i]:
                    response = http.post(path, json=body)
                    answers[i].append(response.content)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(plans))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    wrong = [
        (i, j)
        for i in range(len(plans))
        for j in range(100)
        if json.loads(answers[i][j]) != json.loads(expected[i][j])
    ]
    assert sum(map(len, answers)) == 800 and wrong == []
    reference.close()
