"""The real HTTP server (``helicone-nb serve``), the in-process transport and the CLI."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helicone_nb.backend import (
    DEMO_END,
    DEMO_START,
    MAX_BODY_BYTES,
    Backend,
    InProcessTransport,
    create_app,
)
from helicone_nb.cli import main

from ..servers import served
from .helpers import req, session_body, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
SEED_BODY = {  # the seed doc's curl example, with the demo period's window
    "search": "customer-support",
    "timeFilter": {
        "startTimeUnixMs": int(DEMO_START.timestamp() * 1000),
        "endTimeUnixMs": int(DEMO_END.timestamp() * 1000),
    },
    "timezoneDifference": 0,
    "filter": "all",
    "offset": 0,
    "limit": 50,
}
AUTH = {"Authorization": "Bearer YOUR_API_KEY"}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with served("--demo", "--demo-requests", "2000") as url:
        yield url


def test_the_seed_docs_curl_example_works_against_serve_demo(server: str) -> None:
    response = httpx.post(f"{server}/v1/session/query", headers=AUTH, json=SEED_BODY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": [], "error": None}  # the demo has no "customer-support"
    rows = httpx.post(
        f"{server}/v1/session/query", headers=AUTH, json={**SEED_BODY, "search": "support"}
    ).json()["data"]
    assert rows and all("support" in r["session_name"] for r in rows)
    assert set(rows[0]) == {
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
    }
    assert rows[0]["created_at"].endswith("Z")


def test_bad_input_over_http_then_the_server_keeps_serving(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        assert http.post("/v1/session/query", json=SEED_BODY).status_code == 401
        bad = http.post("/v1/session/query", headers=AUTH, content=b"{nope")
        assert bad.status_code == 422 and bad.json()["message"] == "Validation Failed"
        excess = http.post("/v1/session/query", headers=AUTH, json={**SEED_BODY, "foo": 1})
        assert list(excess.json()["details"]) == ["requestBody.foo"]
        big = http.post("/v1/session/query", headers=AUTH, content=b" " * (MAX_BODY_BYTES + 1))
        assert big.status_code == 413
        unknown = http.get("/v1/nothing", headers=AUTH)
        assert unknown.status_code == 404 and unknown.json()["error"]
        nasty = {
            "request_response_rmt": {"properties": {"a'; DROP TABLE requests; --": {"equals": "'"}}}
        }
        assert http.post(
            "/v1/session/query", headers=AUTH, json={**SEED_BODY, "filter": nasty}
        ).json() == {"data": [], "error": None}
        ok = http.post("/v1/session/query", headers=AUTH, json={**SEED_BODY, "search": ""})
        assert ok.status_code == 200 and len(ok.json()["data"]) == 50
        requests = http.post(
            "/v1/request/query-clickhouse", headers=AUTH, json={"filter": "all", "limit": 3}
        )
        assert requests.status_code == 201 and len(requests.json()["data"]) == 3


def test_a_delay_does_not_serialise_concurrent_requests() -> None:
    async def burst(url: str) -> float:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await http.post("/v1/session/count", headers=AUTH, json=SEED_BODY)  # warm up
            t0 = time.perf_counter()
            answers = await asyncio.gather(
                *(http.post("/v1/session/count", headers=AUTH, json=SEED_BODY) for _ in range(6))
            )
            assert all(a.status_code == 200 for a in answers)
            return time.perf_counter() - t0

    with served(
        "--demo",
        "--demo-requests",
        "1000",
        "--delay-ms",
        "400",
        "--quirks",
        "--log-level",
        "warning",
    ) as url:
        elapsed = asyncio.run(burst(url))
        quirky = httpx.post(f"{url}/v1/session/count", headers=AUTH, json=SEED_BODY).json()
    assert elapsed < 6 * 0.4 / 2  # six 0.4 s requests, well under half their serial time
    assert isinstance(quirky["data"]["count"], str)


def test_create_app_is_an_asgi_app_over_the_same_handler() -> None:
    backend = Backend(api_key="k")

    async def run() -> None:
        transport = httpx.ASGITransport(app=create_app(backend))
        async with httpx.AsyncClient(transport=transport, base_url="http://app.local") as http:
            assert (await http.post("/v1/session/query", json=session_body())).status_code == 401
            response = await http.post(
                "/v1/session/query", headers={"Authorization": "Bearer k"}, json=session_body()
            )
            assert response.status_code == 200
            assert response.json() == {"data": [], "error": None}
            too_big = await http.post(
                "/v1/session/query",
                headers={"Authorization": "Bearer k"},
                content=b"x" * (MAX_BODY_BYTES + 1),
            )
            assert too_big.status_code == 413

    asyncio.run(run())


# ------------------------------------------------------------------------------- transport


def test_in_process_transport_sync(tmp_path: Path) -> None:
    backend = Backend(api_key="secret")
    backend.ingest_jsonl(write_jsonl(tmp_path / "r.jsonl", [req("1", 0, "s", "chat")]))
    transport = InProcessTransport(backend)
    assert isinstance(transport, httpx.BaseTransport)
    assert isinstance(transport, httpx.AsyncBaseTransport)
    with httpx.Client(transport=transport, base_url="http://helicone.local") as http:
        denied = http.post("/v1/session/query", json=session_body())
        assert denied.status_code == 401 and denied.json()["error"] == "No authorization header"
        response = http.post(
            "/v1/session/query", headers={"Authorization": "Bearer secret"}, json=session_body()
        )
        assert response.status_code == 200
        assert response.json()["data"][0]["session_name"] == "chat"
        assert response.request.url.path == "/v1/session/query"
        tag = http.post(
            "/v1/session/s%2F1/tag", headers={"Authorization": "Bearer secret"}, json={"tag": "x"}
        )
        assert tag.status_code == 200 and backend.store.get_tag("s/1") == "x"


def test_in_process_transport_async_runs_requests_concurrently() -> None:
    backend = Backend(delay_s=0.3)
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(5):
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.05)

    async def run() -> float:
        transport = InProcessTransport(backend)
        async with httpx.AsyncClient(transport=transport, base_url="http://h.local") as http:
            t0 = time.perf_counter()
            calls = [
                http.post("/v1/session/count", headers=AUTH, json=session_body()) for _ in range(4)
            ]
            answers, _ = await asyncio.gather(asyncio.gather(*calls), ticker())
            assert all(a.status_code == 200 for a in answers)
            return time.perf_counter() - t0

    elapsed = asyncio.run(run())
    assert elapsed < 0.9  # 4 x 0.3 s run side by side
    assert len(ticks) == 5 and ticks[-1] - ticks[0] < 0.5  # the event loop was never blocked


# ------------------------------------------------------------------------------- CLI


def test_serve_refuses_a_non_loopback_host_without_allow_remote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--demo", "--host", "0.0.0.0"]) == 1
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0" in err and "--allow-remote" in err and "TLS" in err


def test_serve_needs_a_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"]) == 1
    assert "--demo, or --db PATH" in capsys.readouterr().err
    assert main(["serve", "--db", str(tmp_path / "none.duckdb")]) == 1
    assert "helicone-nb import FILE.jsonl --db" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()


def test_import_command_prints_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text(
        json.dumps(req("1", 0, "s")) + "\n{broken\n" + json.dumps(req("2", 1, "s")) + "\n"
    )
    db = tmp_path / "store.duckdb"
    assert main(["import", str(export), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "3 lines read, 2 requests added, 0 skipped as already imported, 1 bad" in out
    assert "line 2: not valid JSON" in out
    assert main(["import", str(export), "--db", str(db)]) == 0
    assert "0 requests added, 2 skipped as already imported" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "missing.jsonl"), "--db", str(db)]) == 1


def test_demo_command_writes_jsonl_and_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo.jsonl"
    assert main(["demo", "--jsonl", str(out), "--requests", "1000"]) == 0
    first: dict[str, Any] = json.loads(out.read_text().splitlines()[0])
    assert first["request_created_at"].startswith("2025-06-0")
    db = tmp_path / "demo.duckdb"
    assert main(["demo", "--db", str(db), "--requests", "1000"]) == 0
    assert "1,000 demo requests added" in capsys.readouterr().out
    with Backend(db) as backend:
        assert backend.request_count == 1000
