"""The local HTTP server: a Starlette app around :meth:`Backend.handle`, served by uvicorn.

Starlette and uvicorn are the ``server`` extra and are imported only here, lazily.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from .._errors import require
from ._backend import MAX_BODY_BYTES, Backend
from ._response import BackendResponse, handled_error

#: What uvicorn logs when a response is cut off on purpose (an injected ``drop``).
_INCOMPLETE = "ASGI callable returned without completing response."


class _QuietDrops(logging.Filter):
    """Hide uvicorn's error line for the responses a fault plan drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _INCOMPLETE


def _dropped(answer: BackendResponse) -> Any:
    """An ASGI response that sends the headers and half the body, then gives up.

    Returning without finishing the body makes uvicorn close the connection: the client sees a
    connection dropped mid-body.
    """
    from starlette.responses import Response

    class Dropped(Response):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            headers = {**answer.headers, "content-length": str(len(answer.body))}
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            await send({"type": "http.response.start", "status": answer.status, "headers": raw})
            await send(
                {
                    "type": "http.response.body",
                    "body": answer.body[: len(answer.body) // 2],
                    "more_body": True,
                }
            )

    return Dropped()


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


def create_app(backend: Backend, *, on_shutdown: Callable[[], None] | None = None) -> Any:
    """The ASGI app serving ``backend`` (every path goes through :meth:`Backend.handle`).

    Each request runs in a worker thread, so a slow query or an injected delay does not hold
    up the other requests. Bodies over 10 MB are refused with 413 before they are read whole.
    Under a fault plan (``Backend(faults=...)``), a ``timeout`` stalls the answer without holding
    a thread and a ``drop`` sends half the body, then closes the connection. ``on_shutdown``
    runs when the server shuts down (also on SIGTERM, where uvicorn ends the process after it).
    """
    require("starlette", "server")
    import anyio
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        too_large = handled_error(413, f"request entity too large (limit {MAX_BODY_BYTES:,} bytes)")
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
        if answer.fault is not None:
            if answer.fault.kind == "timeout":
                await anyio.sleep(answer.fault.stall_s)
            elif answer.fault.kind == "drop":
                return _dropped(answer)  # type: ignore[no-any-return]
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)], lifespan=lifespan)


def serve(
    backend: Backend,
    host: str = "127.0.0.1",
    port: int = 8585,
    *,
    on_shutdown: Callable[[], None] | None = None,
    **uvicorn_kwargs: Any,
) -> None:
    """Serve ``backend`` over HTTP until interrupted (blocking).

    Parameters
    ----------
    backend
        The backend to serve.
    host, port
        Where to listen; loopback by default.
    on_shutdown
        Called when the server shuts down (Ctrl+C or SIGTERM).
    **uvicorn_kwargs
        Passed to ``uvicorn.run`` (e.g. ``log_level="warning"``).
    """
    uvicorn = require("uvicorn", "server")
    uvicorn_kwargs.setdefault("log_level", "info")
    if backend.faults is not None:
        logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    app = create_app(backend, on_shutdown=on_shutdown)
    uvicorn.run(app, host=host, port=port, **uvicorn_kwargs)
