"""The embedded backend: a request store plus one pure HTTP handler, written once.

:meth:`Backend.handle` turns ``(method, path, headers, body)`` into a :class:`BackendResponse`
with Helicone's status codes and bodies (spec sections 1-5). The ASGI server (``_server``) and
the in-process httpx transport (``_transport``) are thin shells around it.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import _engine, _params
from ._faults import FaultPlan
from ._ingest import ImportReport, ingest_frame, ingest_jsonl
from ._response import BackendResponse, envelope, handled_error, respond
from ._store import Store
from ._tsoa import HandledError, ValidationFailed, echoable

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("helicone_nb.backend")

#: Organization every row of the store belongs to unless an import says otherwise.
DEFAULT_ORGANIZATION_ID = "a0c4e8f2-5d1b-4c6e-9f3a-7b2d8e1c0f45"
#: Helicone's body size limit.
MAX_BODY_BYTES = 10 * 1024 * 1024

_TAG_ROUTE = re.compile(r"^/v1/session/([^/]+)/tag$")


class Backend:
    """A Helicone-compatible session API over an embedded DuckDB store.

    Parameters
    ----------
    db
        DuckDB file to keep the requests in, or ``":memory:"`` (default).
    api_key
        The only key accepted in ``Authorization: Bearer <key>``. None accepts any bearer
        token (a missing header is still a 401, like Helicone).
    quirks
        Answer with production Helicone's variants: 64-bit counts as JSON strings and
        ClickHouse-text timestamps (``"2025-01-31 10:00:01.123"``). Default: numbers and
        ISO-8601 timestamps with milliseconds.
    organization_id
        Organization id given to imported rows that carry none.
    delay_s
        Sleep this long in every request (to make latency visible in benchmarks and tests).
    result_cache
        Keep the sorted rows of recent session queries so later pages of the same query are
        slices instead of new aggregations (invalidated by any write). False: every page
        re-aggregates, as Helicone does.
    faults
        A :class:`~helicone_nb.backend.FaultPlan`: inject HTTP errors, rate limits, dropped
        connections, timeouts, truncated or misshapen bodies and shifting pages into the query
        routes. Set ``backend.faults = None`` to stop.

    Examples
    --------
    >>> from helicone_nb.backend import Backend
    >>> with Backend() as b:
    ...     b.handle("POST", "/v1/session/query", {}, b"{}").status
    401
    """

    def __init__(
        self,
        db: str | Path = ":memory:",
        *,
        api_key: str | None = None,
        quirks: bool = False,
        organization_id: str = DEFAULT_ORGANIZATION_ID,
        delay_s: float = 0.0,
        result_cache: bool = True,
        faults: FaultPlan | None = None,
    ) -> None:
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s!r}")
        self.store = Store(db)
        self.api_key = api_key
        self.quirks = quirks
        self.organization_id = organization_id
        self.delay_s = delay_s
        self.faults = faults
        self._result_cache = _engine.ResultCache() if result_cache else None
        self._routes: dict[tuple[str, str], Callable[[bytes], BackendResponse]] = {
            ("POST", "/v1/session/query"): self._sessions,
            ("POST", "/v1/session/count"): self._count,
            ("POST", "/v1/session/name/query"): self._names,
            ("POST", "/v1/request/query-clickhouse"): self._requests,
        }

    # ---------------------------------------------------------------------------- data

    def ingest_jsonl(self, path: str | Path) -> ImportReport:
        """Import a Helicone export: JSONL of ``HeliconeRequest`` rows (``@helicone/export``).

        Numbers may be strings, ``cost`` is USD, ``delay_ms`` is the latency and properties
        come from ``request_properties``. Bad lines are skipped and reported with their line
        numbers; requests already stored (same ``request_id``) are skipped, so importing a
        file twice adds nothing the second time.
        """
        return ingest_jsonl(self.store, path, self.organization_id)

    def ingest_frame(self, frame: pd.DataFrame) -> int:
        """Insert request rows shaped like :func:`generate_demo`'s; returns the rows added."""
        return ingest_frame(self.store, frame, self.organization_id)

    def export_jsonl(self, path: str | Path) -> int:
        """Write every request as a ``HeliconeRequest`` JSONL line (oldest first); returns rows.

        The format is what ``@helicone/export`` writes, so :meth:`ingest_jsonl` reads it back.
        """
        target = Path(path)
        rows = 0
        with target.open("w", encoding="utf-8") as f:
            for row in _engine.iter_request_rows(self.store, quirks=self.quirks):
                f.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False))
                f.write("\n")
                rows += 1
        return rows

    def add_tag(self, session_id: str, tag: str) -> None:
        """Tag a session (what ``POST /v1/session/{id}/tag`` does); filter with ``session_tag``."""
        self.store.set_tag(session_id, tag)

    @property
    def request_count(self) -> int:
        """Number of stored requests."""
        return self.store.count()

    @property
    def session_count(self) -> int:
        """Number of distinct session ids among the stored requests."""
        row = self.store.execute(
            "SELECT count(DISTINCT session_id) FROM requests WHERE session_id IS NOT NULL"
        ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Backend {self.store.path} quirks={self.quirks}>"

    # ---------------------------------------------------------------------------- HTTP

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> BackendResponse:
        """Answer one HTTP request the way Helicone's API does.

        Parameters
        ----------
        method, path
            HTTP method and request target (a query string is ignored).
        headers
            Request headers (any case).
        body
            The raw request body.
        """
        if self.delay_s:
            time.sleep(self.delay_s)
        plan = self.faults
        if plan is not None:
            return plan.apply(
                method,
                path,
                body,
                lambda: self._answer(method, path, headers, body),
                store=self.store,
                quirks=self.quirks,
            )
        return self._answer(method, path, headers, body)

    def _answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> BackendResponse:
        try:
            return self._handle(method.upper(), path.split("?", 1)[0], headers, body)
        except ValidationFailed as exc:
            details = echoable(exc.details)
            return respond(422, {"message": "Validation Failed", "details": details})
        except HandledError as exc:
            return handled_error(500, str(exc))
        except Exception as exc:  # an unhandled failure, answered like Helicone's error handler
            logger.exception("unhandled error for %s %s", method, path)
            return respond(
                500,
                {"message": "Internal Server Error", "details": f"{type(exc).__name__}: {exc}"},
            )

    def _handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> BackendResponse:
        if len(body) > MAX_BODY_BYTES:
            return handled_error(
                413,
                f"request entity too large: {len(body):,} bytes, the limit is {MAX_BODY_BYTES:,}",
            )
        denied = self._authenticate(headers)
        if denied is not None:
            return denied
        route = self._routes.get((method, path.rstrip("/") or "/"))
        if route is not None:
            return route(body)
        tag = _TAG_ROUTE.match(path)
        if tag is not None and method in ("GET", "POST"):
            session_id = unquote(tag.group(1))
            if method == "GET":
                return envelope(200, self.store.get_tag(session_id))
            self.add_tag(session_id, _params.tag_body(body))
            return envelope(200, None)
        return handled_error(404, f"no route for {method} {path} in the embedded backend")

    def _authenticate(self, headers: Mapping[str, str]) -> BackendResponse | None:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if value is None:
            error = "No authorization header"
        else:
            scheme, _, token = value.strip().partition(" ")
            token = token.strip()
            if (
                scheme.lower() == "bearer"
                and token
                and (
                    self.api_key is None
                    or hmac.compare_digest(token.encode(), self.api_key.encode())
                )
            ):
                return None
            error = "No API key found"
        return respond(401, {"error": error, "trace": "isAuthenticated.error"})

    def _sessions(self, body: bytes) -> BackendResponse:
        query = _params.session_query(body)
        return envelope(
            200,
            _engine.query_sessions(self.store, query, quirks=self.quirks, cache=self._result_cache),
        )

    def _count(self, body: bytes) -> BackendResponse:
        query = _params.session_query(body)
        return envelope(
            200,
            _engine.count_sessions(self.store, query, quirks=self.quirks, cache=self._result_cache),
        )

    def _names(self, body: bytes) -> BackendResponse:
        query = _params.name_query(body)
        return envelope(200, _engine.query_names(self.store, query, quirks=self.quirks))

    def _requests(self, body: bytes) -> BackendResponse:
        query = _params.request_query(body)
        return envelope(201, _engine.query_requests(self.store, query, quirks=self.quirks))
