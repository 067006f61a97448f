"""An embedded, Helicone-compatible API: store, query engine, demo data, server.

Nothing here talks to Helicone. The backend answers Helicone's session and request endpoints from
a local DuckDB store, with Helicone's semantics (``../shared/spec/SESSION_API.md``,
``REQUEST_API.md``), for tests, notebooks, offline analysis of Helicone exports, and the demo::

    from helicone_nb.backend import demo_backend, InProcessTransport
    import httpx

    backend = demo_backend()                      # deterministic 90-day demo organisation
    http = httpx.Client(transport=InProcessTransport(backend), base_url="http://helicone.local")
    http.post("/v1/session/query", headers={"Authorization": "Bearer demo"}, json={...})

Modules, from the bottom up (each imports only modules above it in this list):

- ``_store``: the DuckDB table (Helicone's ``request_response_rmt`` columns), inserts
- ``_tsoa``: Helicone's 422 validation of scalars, the two error types
- ``_nodes``: filter trees, parsed and validated; ``_params``: typed bodies per endpoint
- ``_sql``: filter trees to parameterised SQL; ``_engine``: the queries
- ``_requests``: the request routes (versions, paging, the HeliconeRequest row)
- ``_response``: the response type; ``_faults``: seeded fault injection;
  ``_ratelimit``: Helicone's rate limit
- ``_ingest``: export JSONL and DataFrame import
- ``_backend``: :class:`Backend`, the one pure HTTP handler
- ``_transport`` (in-process httpx transport), ``_server`` (Starlette + uvicorn): thin shells
- ``_demo_period``, ``_demo_org``, ``_demo``, ``_demo_cache``: demo data

Names are loaded on first use, so ``import helicone_nb.backend`` stays cheap (the command line
reads the demo period for its help without loading DuckDB or numpy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backend import DEFAULT_ORGANIZATION_ID, MAX_BODY_BYTES, Backend
    from ._demo import generate_demo, generate_demo_chunks
    from ._demo_cache import demo_backend
    from ._demo_period import (
        DEMO_DEFAULT_REQUESTS,
        DEMO_END,
        DEMO_START,
        DEMO_TZ,
        GENERATOR_VERSION,
        MAX_REQUESTS,
        MIN_REQUESTS,
    )
    from ._faults import FAULT_KINDS, RETRYABLE_KINDS, FaultPlan
    from ._ingest import BadLine, ImportReport
    from ._response import BackendResponse
    from ._server import create_app, serve
    from ._transport import InProcessTransport

#: Public name -> the private module defining it.
_HOMES = {
    "DEFAULT_ORGANIZATION_ID": "_backend",
    "MAX_BODY_BYTES": "_backend",
    "Backend": "_backend",
    "BackendResponse": "_response",
    "DEMO_DEFAULT_REQUESTS": "_demo_period",
    "DEMO_END": "_demo_period",
    "DEMO_START": "_demo_period",
    "DEMO_TZ": "_demo_period",
    "GENERATOR_VERSION": "_demo_period",
    "MAX_REQUESTS": "_demo_period",
    "MIN_REQUESTS": "_demo_period",
    "generate_demo": "_demo",
    "generate_demo_chunks": "_demo",
    "demo_backend": "_demo_cache",
    "FAULT_KINDS": "_faults",
    "RETRYABLE_KINDS": "_faults",
    "FaultPlan": "_faults",
    "BadLine": "_ingest",
    "ImportReport": "_ingest",
    "InProcessTransport": "_transport",
    # the server pulls in starlette/uvicorn (the `server` extra)
    "create_app": "_server",
    "serve": "_server",
}

__all__ = [
    "DEFAULT_ORGANIZATION_ID",
    "DEMO_DEFAULT_REQUESTS",
    "DEMO_END",
    "DEMO_START",
    "DEMO_TZ",
    "FAULT_KINDS",
    "GENERATOR_VERSION",
    "MAX_BODY_BYTES",
    "MAX_REQUESTS",
    "MIN_REQUESTS",
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
    "generate_demo_chunks",
    "serve",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    if home != "_server":  # the server's names stay looked up (tests replace _server.serve)
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
