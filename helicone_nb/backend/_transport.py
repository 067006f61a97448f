"""An httpx transport that hands requests straight to a :class:`Backend`: no socket, no server.

Under a :class:`~._faults.FaultPlan` it also plays the transport-level faults the way a socket
shows them to httpx: a dropped connection raises while the body is being read, and a stall
longer than the request's read timeout ends in ``httpx.ReadTimeout`` after that timeout.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anyio
import anyio.to_thread
import httpx

from ._backend import Backend
from ._response import BackendResponse


class _DroppedBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Half of a body, then the connection error."""

    def __init__(self, part: bytes, error: httpx.TransportError) -> None:
        self._part = part
        self._error = error

    def __iter__(self) -> Iterator[bytes]:
        yield self._part
        raise self._error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._part
        raise self._error


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read")
    return float(value) if value is not None else None


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
        if answer.fault is not None and answer.fault.kind == "drop":
            half = len(answer.body) // 2
            error: httpx.TransportError
            if answer.fault.variant == "reset":
                error = httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
            else:
                error = httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body "
                    f"(received {half} bytes, expected {len(answer.body)})",
                    request=request,
                )
            headers = {**answer.headers, "content-length": str(len(answer.body))}
            return httpx.Response(
                answer.status,
                headers=headers,
                stream=_DroppedBody(answer.body[:half], error),
                request=request,
            )
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )

    @staticmethod
    def _stall(request: httpx.Request, answer: BackendResponse) -> float | None:
        """Seconds to stall before answering; raise ``ReadTimeout`` after them if not None."""
        if answer.fault is None or answer.fault.kind != "timeout":
            return None
        return answer.fault.stall_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in this thread."""
        answer = self._call(request, request.read())
        stall = self._stall(request, answer)
        if stall is not None:
            limit = _read_timeout(request)
            time.sleep(stall if limit is None else min(stall, limit))
            if limit is not None and limit <= stall:
                raise httpx.ReadTimeout("timed out", request=request)
        return self._response(request, answer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in a worker thread, so a slow query or delay never blocks the loop."""
        body = await request.aread()
        answer = await anyio.to_thread.run_sync(self._call, request, body)
        stall = self._stall(request, answer)
        if stall is not None:
            limit = _read_timeout(request)
            await anyio.sleep(stall if limit is None else min(stall, limit))
            if limit is not None and limit <= stall:
                raise httpx.ReadTimeout("timed out", request=request)
        return self._response(request, answer)
