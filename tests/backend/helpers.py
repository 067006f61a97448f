"""Small hand-built request data for the backend tests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from helicone_nb.backend import Backend, BackendResponse

AUTH = {"Authorization": "Bearer test-key"}
BASE = dt.datetime(2025, 1, 31, 10, 0, 0, tzinfo=dt.UTC)
#: A window around BASE wide enough for every row below.
WINDOW = {
    "startTimeUnixMs": int((BASE - dt.timedelta(days=1)).timestamp() * 1000),
    "endTimeUnixMs": int((BASE + dt.timedelta(days=1)).timestamp() * 1000),
}


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def at(seconds: float) -> str:
    """ISO timestamp ``seconds`` after BASE."""
    return iso(BASE + dt.timedelta(seconds=seconds))


def req(
    request_id: str,
    seconds: float,
    session: str | None = None,
    name: str | None = None,
    *,
    path: str | None = None,
    user: str | None = None,
    cost: float | None = 0.001,
    prompt: int | None = 10,
    completion: int | None = 5,
    latency: int | None = 100,
    model: str = "gpt-4o",
    status: int = 200,
    props: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One HeliconeRequest row, as an export holds it."""
    properties = dict(props or {})
    if session is not None:
        properties["Helicone-Session-Id"] = session
    if name is not None:
        properties["Helicone-Session-Name"] = name
    if path is not None:
        properties["Helicone-Session-Path"] = path
    row = {
        "request_id": request_id,
        "request_created_at": at(seconds),
        "request_user_id": user,
        "request_properties": properties,
        "model": model,
        "provider": "OPENAI",
        "response_status": status,
        "delay_ms": latency,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost": cost,
    }
    row.update(extra)
    return row


def write_jsonl(path: Path, rows: Iterable[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def load(tmp_path: Path, rows: Iterable[dict[str, Any]], **kwargs: Any) -> Backend:
    """A fresh in-memory backend holding ``rows``."""
    backend = Backend(**kwargs)
    report = backend.ingest_jsonl(write_jsonl(tmp_path / "rows.jsonl", rows))
    assert not report.bad, report.summary()
    return backend


def post(
    backend: Backend, path: str, body: Any, headers: dict[str, str] | None = None
) -> BackendResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return backend.handle("POST", path, AUTH if headers is None else headers, raw)


def session_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "search": "",
        "timeFilter": dict(WINDOW),
        "timezoneDifference": 0,
        "filter": "all",
    }
    body.update(overrides)
    return body


def sessions(backend: Backend, **overrides: Any) -> list[dict[str, Any]]:
    """POST /v1/session/query and return ``data`` (asserting a 200)."""
    response = post(backend, "/v1/session/query", session_body(**overrides))
    assert response.status == 200, response.body
    payload = response.json()
    assert payload["error"] is None
    return list(payload["data"])


def ids(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["session_id"], r["session_name"]) for r in rows]
