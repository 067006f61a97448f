"""A small scripted Helicone for client tests: httpx.MockTransport + in-memory session rows.

It is deliberately dumb (no filter evaluation): the embedded backend has its own tests. It
records every request, serves offset/limit pages and the count, and plays scripted faults.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx


def session_row(i: int, *, name: str = "support-chat", **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "session_id": f"sess-{i:05d}",
        "session_name": name,
        "created_at": f"2025-01-01T{(i // 60) % 24:02d}:{i % 60:02d}:00.000Z",
        "latest_request_created_at": f"2025-01-01T{(i // 60) % 24:02d}:{i % 60:02d}:30.500Z",
        "total_cost": 0.001 * (i + 1),
        "total_requests": 1 + i % 7,
        "prompt_tokens": 100 + i,
        "completion_tokens": 50 + i,
        "total_tokens": 150 + 2 * i,
        "avg_latency": 400.0 + i,
        "user_ids": [f"user-{i % 13}", ""] if i % 5 == 0 else [f"user-{i % 13}"],
    }
    row.update(overrides)
    return row


Fault = Callable[[httpx.Request], httpx.Response | None]


class FakeHelicone:
    """Serves ``rows`` for /v1/session/query (offset/limit) and their count."""

    def __init__(self, rows: list[dict[str, Any]] | None = None, *, count: bool = True) -> None:
        self.rows = rows if rows is not None else [session_row(i) for i in range(10)]
        self.count_enabled = count
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []  # consumed in order, one per request, None = no fault
        self.fault_always: Fault | None = None
        self.requests_rows: list[dict[str, Any]] = []
        #: faults apply to these paths only (the count has its own switch)
        self.fault_paths = {"/v1/session/query", "/v1/request/query-clickhouse"}
        self._lock = threading.Lock()

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def bodies(self, path: str = "/v1/session/query") -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            fault = None
            if request.url.path in self.fault_paths:
                fault = self.faults.pop(0) if self.faults else self.fault_always
        if fault is not None:
            response = fault(request)
            if response is not None:
                return response
        body = json.loads(request.content)
        path = request.url.path
        if path == "/v1/session/count":
            if not self.count_enabled:
                return httpx.Response(500, json={"data": None, "error": "count failed"})
            data = {
                "count": len(self.rows),
                "total_cost": 1.0,
                "avg_cost": 0.1,
                "avg_latency": 10.0,
                "avg_requests": 2.0,
            }
            return httpx.Response(200, json={"data": data, "error": None})
        if path == "/v1/session/query":
            offset, limit = body.get("offset", 0), body.get("limit", 50)
            return httpx.Response(
                200, json={"data": self.rows[offset : offset + limit], "error": None}
            )
        if path == "/v1/request/query-clickhouse":
            offset, limit = body.get("offset", 0), body.get("limit", 10)
            return httpx.Response(
                201, json={"data": self.requests_rows[offset : offset + limit], "error": None}
            )
        if path == "/v1/session/name/query":
            names = sorted({r["session_name"] for r in self.rows})
            data = [
                {
                    "name": n,
                    "created_at": "2025-01-01T00:00:00Z",
                    "last_used": "2025-01-02 10:00:00",
                    "first_used": "2025-01-01T00:00:00Z",
                    "session_count": "3",
                    "avg_latency": 12.5,
                }
                for n in names
            ]
            return httpx.Response(200, json={"data": data, "error": None})
        return httpx.Response(404, json={"error": "not found"})


def status(code: int, body: Any = None, headers: dict[str, str] | None = None) -> Fault:
    def fault(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json=body, headers=headers)

    return fault


def raw(code: int, content: bytes) -> Fault:
    def fault(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, content=content)

    return fault


def drop(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("peer closed connection", request=request)


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)
