"""What the embedded backend answers: :class:`BackendResponse` and the JSON helpers that build it.

Shared by the handler (``_backend``), the fault plan (``_faults``) and the shells (``_server``,
``_transport``); it imports nothing else of the backend, so none of them import each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class TransportFault:
    """What the transport or server must do to an answer: ``drop`` it half way, or stall it.

    ``variant`` is ``"protocol"`` or ``"reset"`` for drops (the httpx error raised in process),
    ``stall_s`` the stall of a ``timeout``.
    """

    kind: str
    stall_s: float = 0.0
    variant: str = ""


@dataclass(frozen=True)
class BackendResponse:
    """What the handler answers: an HTTP status, headers and a JSON body.

    ``fault`` is set only under a :class:`~helicone_nb.backend.FaultPlan`: the transport or
    server must drop or stall this answer (see ``_faults``).
    """

    status: int
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))
    body: bytes = b""
    fault: TransportFault | None = None

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


def respond(status: int, payload: Any) -> BackendResponse:
    """A JSON answer (compact, UTF-8, no NaN)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return BackendResponse(status, dict(JSON_HEADERS), body.encode("utf-8"))


def envelope(status: int, data: Any) -> BackendResponse:
    """Helicone's success envelope ``{"data": ..., "error": null}``."""
    return respond(status, {"data": data, "error": None})


def envelope_of_json(status: int, items: list[str]) -> BackendResponse:
    """The success envelope around a list whose items are JSON texts already."""
    body = '{"data":[' + ",".join(items) + '],"error":null}'
    return BackendResponse(status, dict(JSON_HEADERS), body.encode("utf-8"))


def handled_error(status: int, message: str) -> BackendResponse:
    """Helicone's handled-failure envelope ``{"data": null, "error": message}``."""
    return respond(status, {"data": None, "error": message})
