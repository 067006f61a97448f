"""An httpx transport that hands requests straight to a :class:`Backend`: no socket, no server."""

from __future__ import annotations

import anyio.to_thread
import httpx

from ._backend import Backend, BackendResponse


class InProcessTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Send httpx requests to an embedded :class:`Backend`, synchronously or asynchronously.

    Parameters
    ----------
    backend
        The backend answering every request (the host part of the URL is ignored).

    Examples
    --------
    >>> import httpx
    >>> from helicone_nb.backend import Backend, InProcessTransport
    >>> client = httpx.Client(transport=InProcessTransport(Backend()), base_url="http://h.local")
    >>> client.post("/v1/session/query", json={}).status_code
    401
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _call(self, request: httpx.Request, body: bytes) -> BackendResponse:
        path = request.url.raw_path.decode("ascii", errors="replace")
        return self.backend.handle(request.method, path, dict(request.headers), body)

    @staticmethod
    def _response(request: httpx.Request, answer: BackendResponse) -> httpx.Response:
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in this thread."""
        return self._response(request, self._call(request, request.read()))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in a worker thread, so a slow query or delay never blocks the loop."""
        body = await request.aread()
        answer = await anyio.to_thread.run_sync(self._call, request, body)
        return self._response(request, answer)
