"""An embedded, Helicone-compatible session API: store, query engine, demo data, server.

Nothing here talks to Helicone. The backend answers Helicone's session endpoints from a local
DuckDB store, with Helicone's semantics (``../shared/spec/SESSION_API.md``), for tests,
notebooks, offline analysis of Helicone exports, and the demo::

    from helicone_nb.backend import demo_backend, InProcessTransport
    import httpx

    backend = demo_backend()                      # deterministic 90-day demo organisation
    http = httpx.Client(transport=InProcessTransport(backend), base_url="http://helicone.local")
    http.post("/v1/session/query", headers={"Authorization": "Bearer demo"}, json={...})

Modules: ``_store`` (DuckDB table), ``_params`` (Helicone's 422 validation, typed bodies),
``_sql`` (filter trees to parameterised SQL), ``_engine`` (the queries), ``_backend`` (the
HTTP handler), ``_transport`` (in-process httpx transport), ``_server`` (Starlette + uvicorn),
``_ingest`` (export JSONL import), ``_demo`` / ``_demo_cache`` (demo data), ``_faults`` (seeded
fault injection), ``_cli``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._backend import DEFAULT_ORGANIZATION_ID, MAX_BODY_BYTES, Backend, BackendResponse
from ._demo import DEMO_DEFAULT_REQUESTS, DEMO_END, DEMO_START, DEMO_TZ, generate_demo
from ._demo_cache import demo_backend
from ._faults import FAULT_KINDS, RETRYABLE_KINDS, FaultPlan
from ._ingest import BadLine, ImportReport
from ._transport import InProcessTransport

if TYPE_CHECKING:
    from ._server import create_app, serve

__all__ = [
    "DEFAULT_ORGANIZATION_ID",
    "DEMO_DEFAULT_REQUESTS",
    "DEMO_END",
    "DEMO_START",
    "DEMO_TZ",
    "FAULT_KINDS",
    "MAX_BODY_BYTES",
    "RETRYABLE_KINDS",
    "Backend",
    "BackendResponse",
    "BadLine",
    "FaultPlan",
    "ImportReport",
    "InProcessTransport",
    "create_app",
    "demo_backend",
    "generate_demo",
    "serve",
]


def __getattr__(name: str) -> Any:
    # The server pulls in starlette/uvicorn (the `server` extra): load it only when asked for.
    if name in ("create_app", "serve"):
        from . import _server

        return getattr(_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
