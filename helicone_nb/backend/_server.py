"""The local HTTP server: a Starlette app around :meth:`Backend.handle`, served by uvicorn.

Starlette and uvicorn are the ``server`` extra and are imported only here, lazily.
"""

from __future__ import annotations

from typing import Any

from .._errors import require
from ._backend import MAX_BODY_BYTES, Backend, _respond

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


def create_app(backend: Backend) -> Any:
    """The ASGI app serving ``backend`` (every path goes through :meth:`Backend.handle`).

    Each request runs in a worker thread, so a slow query or an injected delay does not hold
    up the other requests. Bodies over 10 MB are refused with 413 before they are read whole.
    """
    require("starlette", "server")
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        too_large = _respond(
            413,
            {"data": None, "error": f"request entity too large (limit {MAX_BODY_BYTES:,} bytes)"},
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            answer = too_large
        else:
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    break
                chunks.append(chunk)
            if size > MAX_BODY_BYTES:
                answer = too_large
            else:
                target = request.scope.get("raw_path") or request.url.path.encode()
                answer = await run_in_threadpool(
                    backend.handle,
                    request.method,
                    target.decode("ascii", errors="replace"),
                    dict(request.headers),
                    b"".join(chunks),
                )
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])


def serve(
    backend: Backend, host: str = "127.0.0.1", port: int = 8585, **uvicorn_kwargs: Any
) -> None:
    """Serve ``backend`` over HTTP until interrupted (blocking).

    Parameters
    ----------
    backend
        The backend to serve.
    host, port
        Where to listen; loopback by default.
    **uvicorn_kwargs
        Passed to ``uvicorn.run`` (e.g. ``log_level="warning"``).
    """
    uvicorn = require("uvicorn", "server")
    uvicorn_kwargs.setdefault("log_level", "info")
    uvicorn.run(create_app(backend), host=host, port=port, **uvicorn_kwargs)
