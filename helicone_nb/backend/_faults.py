"""Seeded fault injection: the embedded backend misbehaves like a flaky network and a busy Helicone.

A :class:`FaultPlan` decides, request by request, whether an answer goes wrong and how. It applies
to the query routes (``/v1/session/query``, ``/v1/session/count``,
``/v1/request/query-clickhouse``, ``/v1/request/count/query``); authentication, validation and
every other route are never disturbed, and only answers that would have succeeded are spoilt.
The kinds:

=============  ==================================================================================
``500``        ``{"data": null, "error": ...}``, Helicone's handled-error envelope
``502``        a gateway's HTML page (``502 Bad Gateway``)
``503``        ``{"error": "Service Unavailable ..."}``
``504``        a gateway's HTML page (``504 Gateway Time-out``)
``429``        Helicone's ``{"error": "Too many requests, please try again later."}`` with
               ``Retry-After`` (0 to ``retry_after`` seconds, may be fractional) and ``RateLimit-*``
               headers (``RateLimit-Reset`` in whole seconds, as Helicone sends it)
``drop``       the connection closes half way through the body (in process:
               ``httpx.RemoteProtocolError`` / ``httpx.ReadError`` while reading it; over HTTP: the
               server sends part of the body and closes the connection)
``timeout``    the answer stalls for ``stall_s`` seconds; in process, a client whose read timeout
               is shorter gets ``httpx.ReadTimeout`` after that timeout, like over a socket
``truncate``   status 200, the JSON body cut short
``shape``      status 200, a body of the wrong shape: a missing field (``missing``), extra fields
               (``extra``; harmless), a wrong type in a row (``type``), ``data`` not a list
               (``notlist``)
``shift``      ``shift_rows`` new sessions appear at the top of that query's results, for this and
               every later request of the same query: offsets shift between pages, as with new
               traffic inside an open window (the store itself is not changed). On the request
               routes the page is read ``shift_rows`` rows earlier (rows of the previous page
               come again, as when new rows arrive on top) and the count grows by as many
=============  ==================================================================================

The plan is seeded (``random.Random(seed)``), so a sequence of requests meets the same faults
every time; with concurrent requests the arrival order decides which request gets which. It
counts what it injected (:attr:`FaultPlan.injected`). Responses it made up carry an
``x-helicone-nb-fault`` header naming the kind.

Transport-level kinds (``drop``, ``timeout``) are carried out by the shells around
:meth:`Backend.handle`: the answer comes back with :attr:`BackendResponse.fault` set, and the
in-process transport or the ASGI server acts on it. A caller of ``handle`` that ignores the field
gets the correct answer.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import random
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .._frames import SESSION_WIRE_FIELDS
from . import _engine, _params
from ._response import BackendResponse, TransportFault, respond
from ._store import Store

SESSIONS_ROUTE = "/v1/session/query"
COUNT_ROUTE = "/v1/session/count"
REQUESTS_ROUTE = "/v1/request/query-clickhouse"
REQUEST_COUNT_ROUTE = "/v1/request/count/query"
#: Routes a plan may disturb.
FAULT_ROUTES = (SESSIONS_ROUTE, COUNT_ROUTE, REQUESTS_ROUTE, REQUEST_COUNT_ROUTE)
_REQUEST_ROUTES = (REQUESTS_ROUTE, REQUEST_COUNT_ROUTE)

STATUS_KINDS = ("500", "502", "503", "504", "429")
#: Faults a client is expected to ride out by retrying.
RETRYABLE_KINDS = (*STATUS_KINDS, "drop", "timeout", "truncate")
#: Every kind, in the order figures list them.
FAULT_KINDS = (*RETRYABLE_KINDS, "shape", "shift")
#: Variants of the ``shape`` kind.
SHAPES = ("missing", "extra", "type", "notlist")

FAULT_HEADER = "x-helicone-nb-fault"
_EPOCH = datetime.datetime(1970, 1, 1)

#: The 11 keys of a SessionResult (spec section 3); every one is required.
_SESSION_FIELDS = SESSION_WIRE_FIELDS
_NUMBER_WRONG: tuple[Any, ...] = ("n/a", {"value": 1}, [1], True)
_TEXT_WRONG: tuple[Any, ...] = (12345, ["x"], {"id": "x"})
_TIME_WRONG: tuple[Any, ...] = (1735689600000, "not a time", {})
#: Per route: the row fields a reader must have, and wrong-typed values for fields.
_REQUIRED: dict[str, tuple[str, ...]] = {
    SESSIONS_ROUTE: _SESSION_FIELDS,
    REQUESTS_ROUTE: ("request_id", "request_created_at"),
    COUNT_ROUTE: ("count",),
}
_WRONG: dict[str, dict[str, tuple[Any, ...]]] = {
    SESSIONS_ROUTE: {
        "session_id": _TEXT_WRONG,
        "session_name": _TEXT_WRONG,
        "created_at": _TIME_WRONG,
        "latest_request_created_at": _TIME_WRONG,
        "total_cost": _NUMBER_WRONG,
        "total_requests": _NUMBER_WRONG,
        "prompt_tokens": _NUMBER_WRONG,
        "completion_tokens": _NUMBER_WRONG,
        "total_tokens": _NUMBER_WRONG,
        "avg_latency": _NUMBER_WRONG,
        "user_ids": ("u1", [1, 2], {"0": "u1"}),
    },
    REQUESTS_ROUTE: {
        "request_id": ({"id": 1}, ["r"]),
        "request_created_at": _TIME_WRONG,
        "request_properties": ("x", 7, ["ab"]),
        "delay_ms": ("slow", True, [1]),
        "cost": ("free", True, {}),
    },
    COUNT_ROUTE: {"count": ("many", {}, [3], True)},
}
_GATEWAY_HTML = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def parse_kinds(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"500,429,drop"`` (or a list of names) -> a tuple of kinds; ``ValueError`` if unknown.

    ``"all"`` means every kind, ``"retryable"`` the kinds a client retries.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    kinds: list[str] = []
    for raw in items:
        name = str(raw).strip().lower()
        if not name:
            continue
        group = {"all": FAULT_KINDS, "retryable": RETRYABLE_KINDS}.get(name)
        if group is None and name not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {raw!r}; kinds are {', '.join(FAULT_KINDS)} "
                "(or 'all', 'retryable')"
            )
        for kind in group or (name,):
            if kind not in kinds:
                kinds.append(kind)
    if not kinds:
        raise ValueError("no fault kinds given")
    return tuple(kinds)


class FaultPlan:
    """Which requests fail, and how (see the module docstring for the kinds).

    Parameters
    ----------
    rate
        Probability that one request to a query route is disturbed (0 to 1).
    kinds
        Kinds to choose from, uniformly (names, or a comma-separated string; default the
        retryable ones: 500, 502, 503, 504, 429, drop, timeout, truncate).
    seed
        Seed of the plan's random generator.
    retry_after
        Largest ``Retry-After`` of a 429, in seconds (default 1.0).
    stall_s
        How long a ``timeout`` stalls (default 31 s: past the client's default 30 s timeout;
        tests use a short client timeout and a short stall).
    shift_rows
        New sessions that appear per ``shift`` fault.
    shapes
        Variants of the ``shape`` kind to choose from (default all of :data:`SHAPES`).

    Examples
    --------
    >>> from helicone_nb.backend import Backend, FaultPlan
    >>> plan = FaultPlan(0.3, kinds="503,429,drop", seed=7)
    >>> backend = Backend(faults=plan)
    >>> plan.injected
    {'503': 0, '429': 0, 'drop': 0}
    """

    def __init__(
        self,
        rate: float,
        kinds: str | Iterable[str] = RETRYABLE_KINDS,
        seed: int | None = 0,
        *,
        retry_after: float = 1.0,
        stall_s: float = 31.0,
        shift_rows: int = 5,
        shapes: Iterable[str] = SHAPES,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"fault rate must be a number from 0 to 1, got {rate!r}")
        if not (math.isfinite(retry_after) and retry_after >= 0):
            raise ValueError(f"retry_after must be >= 0 seconds, got {retry_after!r}")
        if not (math.isfinite(stall_s) and stall_s >= 0):
            raise ValueError(f"stall_s must be >= 0 seconds, got {stall_s!r}")
        if not isinstance(shift_rows, int) or not 1 <= shift_rows <= 100:
            raise ValueError(f"shift_rows must be an integer from 1 to 100, got {shift_rows!r}")
        self.rate = float(rate)
        self.kinds = parse_kinds(kinds)
        self.shapes = tuple(shapes)
        if not self.shapes or set(self.shapes) - set(SHAPES):
            raise ValueError(f"shapes must be some of {', '.join(SHAPES)}, got {shapes!r}")
        self.seed = seed
        self.retry_after = float(retry_after)
        self.stall_s = float(stall_s)
        self.shift_rows = shift_rows
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._injected = dict.fromkeys(self.kinds, 0)
        self._shifts: dict[Any, int] = {}
        #: Requests to the query routes seen (disturbed or not).
        self.requests = 0

    def __repr__(self) -> str:
        return (
            f"FaultPlan(rate={self.rate}, kinds={','.join(self.kinds)!r}, seed={self.seed}, "
            f"injected={self.total})"
        )

    # ----------------------------------------------------------------------------- figures

    @property
    def injected(self) -> dict[str, int]:
        """Faults injected so far, per kind."""
        with self._lock:
            return dict(self._injected)

    @property
    def total(self) -> int:
        """Faults injected so far, all kinds."""
        with self._lock:
            return sum(self._injected.values())

    def summary(self) -> str:
        """One line: requests seen and faults injected per kind."""
        counts = ", ".join(f"{k} {n}" for k, n in self.injected.items())
        return f"{self.requests:,} query requests, {self.total:,} faults injected ({counts})"

    def reset(self) -> None:
        """Forget counts and shifted queries (the random sequence goes on)."""
        with self._lock:
            self._injected = dict.fromkeys(self.kinds, 0)
            self._shifts.clear()
            self.requests = 0

    # ----------------------------------------------------------------------------- applying

    def _draw(self, route: str) -> tuple[str | None, random.Random]:
        """The kind for the next request on ``route`` (or None), and a generator for details.

        The details generator is seeded from the plan's sequence, so concurrent requests never
        share random state after the draw.
        """
        with self._lock:
            self.requests += 1
            roll = self._rng.random()
            detail = random.Random(self._rng.getrandbits(64))
            if roll >= self.rate:
                return None, detail
            return self._rng.choice(self.kinds), detail

    def _count(self, kind: str) -> None:
        with self._lock:
            self._injected[kind] += 1

    def apply(
        self,
        method: str,
        path: str,
        body: bytes,
        answer: Callable[[bytes], BackendResponse],
        *,
        store: Store,
        quirks: bool,
    ) -> BackendResponse:
        """Answer one request through the plan; ``answer(body)`` gives an undisturbed answer.

        ``store`` and ``quirks`` are the backend's (a ``shift`` re-reads the query's sessions).
        """
        route = path.split("?", 1)[0].rstrip("/")
        if method.upper() != "POST" or route not in FAULT_ROUTES:
            return answer(body)
        kind, rng = self._draw(route)
        good = answer(body)
        if not 200 <= good.status < 300:
            return good  # auth and validation failures are never disturbed
        query = _shift_key(route, body)
        with self._lock:
            if kind == "shift" and query is not None:
                self._shifts[query] = min(self._shifts.get(query, 0) + self.shift_rows, 999)
            shift = self._shifts.get(query, 0) if query is not None else 0
        if shift and route in _REQUEST_ROUTES:
            good = _shifted_requests(route, body, good, shift, answer)
        elif shift:
            good = _shifted(store, quirks, route, body, good, shift)
        if kind is None:
            return good
        self._count(kind)
        if kind == "shift":
            return good
        if kind in STATUS_KINDS:
            return self._status(kind, rng)
        if kind == "drop":
            variant = rng.choice(("protocol", "reset"))
            return dataclasses.replace(good, fault=TransportFault("drop", variant=variant))
        if kind == "timeout":
            return dataclasses.replace(good, fault=TransportFault("timeout", self.stall_s))
        if kind == "truncate":
            cut = rng.randint(1, max(1, len(good.body) - 1))
            return _marked(dataclasses.replace(good, body=good.body[:cut]), kind)
        return _marked(self._shape(route, good, rng), kind)

    def _status(self, kind: str, rng: random.Random) -> BackendResponse:
        if kind == "500":
            answer = respond(
                500, {"data": None, "error": "Error executing query: socket hang up (injected)"}
            )
        elif kind == "503":
            answer = respond(503, {"error": "Service Unavailable (injected)"})
        elif kind == "429":
            wait = round(rng.uniform(0, self.retry_after), 2)
            answer = respond(429, {"error": "Too many requests, please try again later."})
            answer.headers.update(
                {
                    "retry-after": f"{wait:g}",
                    "ratelimit-limit": "1000",
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(math.ceil(wait)),
                    "ratelimit-policy": "1000;w=300",
                }
            )
        else:
            reason = "Bad Gateway" if kind == "502" else "Gateway Time-out"
            page = _GATEWAY_HTML.format(code=kind, reason=reason).encode()
            answer = BackendResponse(int(kind), {"content-type": "text/html; charset=UTF-8"}, page)
        return _marked(answer, kind)

    def _shape(self, route: str, good: BackendResponse, rng: random.Random) -> BackendResponse:
        payload = json.loads(good.body)
        data = payload.get("data")
        rows = data if isinstance(data, list) else None
        variant = rng.choice(self.shapes)
        if variant in ("missing", "type") and rows is not None and not rows:
            variant = "notlist"  # no row to spoil
        if route == REQUEST_COUNT_ROUTE and variant in ("missing", "type"):
            if variant == "missing":  # the count is the data itself
                del payload["data"]
            else:
                payload["data"] = rng.choice(_WRONG[COUNT_ROUTE]["count"])
            return respond(good.status, payload)
        if variant == "extra":
            payload["meta"] = {"injected": True, "took_ms": 3}
            for row in rows if rows is not None else [data]:
                if isinstance(row, dict):
                    row["x_unexpected"] = {"nested": [1, 2]}
                    row["_rank"] = rng.randint(0, 9)
        elif variant == "notlist":
            if rows is None:
                payload["data"] = [data]
            else:
                payload["data"] = rng.choice([{"rows": rows}, "rows", None, 7])
        else:
            target = rows[rng.randrange(len(rows))] if rows is not None else data
            field = rng.choice(_REQUIRED[route] if variant == "missing" else list(_WRONG[route]))
            if variant == "missing":
                target.pop(field, None)
            else:
                target[field] = rng.choice(_WRONG[route][field])
        return respond(good.status, payload)


def _marked(answer: BackendResponse, kind: str) -> BackendResponse:
    answer.headers[FAULT_HEADER] = kind
    return answer


def _shift_key(route: str, body: bytes) -> Any:
    """The query a body asks for, offset and limit left out (None if it is invalid)."""
    try:
        if route in _REQUEST_ROUTES:  # the count and the pages of one query shift together
            return dataclasses.replace(_params.request_query(body), offset=0, limit=0)
        return dataclasses.replace(_params.session_query(body), offset=0, limit=0)
    except Exception:
        return None


def _shifted_requests(
    route: str,
    body: bytes,
    good: BackendResponse,
    shift: int,
    answer: Callable[[bytes], BackendResponse],
) -> BackendResponse:
    """A request page read ``shift`` rows earlier; a request count ``shift`` higher."""
    payload = json.loads(body)
    if route == REQUEST_COUNT_ROUTE:
        counted = json.loads(good.body)
        counted["data"] = int(counted["data"]) + shift
        return respond(good.status, counted)
    offset = float(payload.get("offset") or 0)
    if offset <= 0:
        return good
    payload["offset"] = max(offset - shift, 0)
    return answer(json.dumps(payload).encode())


def _shifted(
    store: Store, quirks: bool, route: str, body: bytes, good: BackendResponse, shift: int
) -> BackendResponse:
    """``good`` as it would read with ``shift`` new sessions on top of the query's results."""
    query = _params.session_query(body)
    payload = json.loads(good.body)
    if route == COUNT_ROUTE:
        data = payload["data"]
        count = int(data["count"]) + shift
        data["count"] = str(count) if isinstance(data["count"], str) else count
        return respond(good.status, payload)
    if query.limit == 0:
        return good
    new = [_new_session(query, n, quirks) for n in reversed(range(shift))]
    top = new[query.offset : query.offset + query.limit]
    first = max(query.offset - shift, 0)
    wanted = query.offset + query.limit - max(query.offset, shift)
    rest: list[dict[str, Any]] = []
    if wanted > 0:
        moved = dataclasses.replace(query, offset=first, limit=wanted)
        rest = _engine.query_sessions(store, moved, quirks=quirks)
    payload["data"] = [*top, *rest]
    return respond(good.status, payload)


def _new_session(query: _params.SessionQuery, n: int, quirks: bool) -> dict[str, Any]:
    """New traffic: session number ``n``, in the last second of the window (newest last)."""
    end_ms = int((query.end - _EPOCH).total_seconds()) * 1000
    at = end_ms - 1000 + n + round(query.tz_minutes * 60_000)
    stamp = _engine.format_timestamp(at, quirks)
    return {
        "session_id": f"new-traffic-{n:03d}",
        "session_name": "new-traffic",
        "created_at": stamp,
        "latest_request_created_at": stamp,
        "total_cost": 0.001,
        "total_requests": "1" if quirks else 1,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "avg_latency": 100.0,
        "user_ids": [""],
    }
