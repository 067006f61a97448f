"""The embedded backend: a request store plus one pure HTTP handler, written once.

:meth:`Backend.handle` turns ``(method, path, headers, body)`` into a :class:`BackendResponse`
with Helicone's status codes and bodies (spec sections 1-5). The ASGI server (``_server``) and
the in-process httpx transport (``_transport``) are thin shells around it.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import _engine, _params, _requests
from ._faults import FaultPlan
from ._ingest import ImportReport, ingest_frame, ingest_jsonl
from ._ratelimit import TOO_MANY, RateLimiter
from ._response import BackendResponse, envelope, envelope_of_json, handled_error, respond
from ._store import FEEDBACK_KEY, Store
from ._tsoa import HandledError, ValidationFailed, echoable

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("helicone_nb.backend")

#: Organization every row of the store belongs to unless an import says otherwise.
DEFAULT_ORGANIZATION_ID = "a0c4e8f2-5d1b-4c6e-9f3a-7b2d8e1c0f45"
#: Helicone's body size limit.
MAX_BODY_BYTES = 10 * 1024 * 1024

_TAG_ROUTE = re.compile(r"^/v1/session/([^/]+)/tag$")
_REQUEST_UPDATE_ROUTE = re.compile(r"^/v1/request/([^/]+)/(score|feedback|property)$")
_UPDATE_METHODS = {"score": "POST", "feedback": "POST", "property": "PUT"}


class Backend:
    """A Helicone-compatible session and request API over an embedded DuckDB store.

    Parameters
    ----------
    db
        DuckDB file to keep the requests in, or ``":memory:"`` (default).
    api_key
        The only key accepted in ``Authorization: Bearer <key>``. None accepts any bearer
        token (a missing header is still a 401, like Helicone).
    quirks
        Answer with production Helicone's variants: 64-bit numbers as JSON strings,
        ClickHouse-text timestamps in session answers (``"2025-01-31 10:00:01.123"``), request
        rows without the keys production never sends, unmerged older versions of some requests,
        ties in random order and a request count of 0 (see ``_requests``). Default: numbers,
        ISO-8601 timestamps with milliseconds, stable pages.
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
    rate_limit
        ``(calls, seconds)``: Helicone's rate limit (e.g. ``(1000, 300)``, the free tier). Every
        authenticated answer then carries ``RateLimit-Limit/Remaining/Reset`` headers, and calls
        over the budget get 429 until the window resets. None (default): no limit.
    clock
        Returns the current time (UTC): hides requests dated more than 5 minutes after it and
        stamps ``updated_at`` of updates. Default: the system clock.

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
        rate_limit: tuple[int, float] | None = None,
        clock: Callable[[], _dt.datetime] | None = None,
    ) -> None:
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s!r}")
        self.store = Store(db)
        self.api_key = api_key
        self.quirks = quirks
        self.organization_id = organization_id
        self.delay_s = delay_s
        self.faults = faults
        self.rate_limiter = RateLimiter(*rate_limit) if rate_limit is not None else None
        self.clock = clock or (lambda: _dt.datetime.now(_dt.UTC))
        self._result_cache = _engine.ResultCache() if result_cache else None
        self._routes: dict[tuple[str, str], Callable[[bytes], BackendResponse]] = {
            ("POST", "/v1/session/query"): self._sessions,
            ("POST", "/v1/session/count"): self._count,
            ("POST", "/v1/session/name/query"): self._names,
            ("POST", "/v1/request/query-clickhouse"): self._requests,
            ("POST", "/v1/request/count/query"): self._request_count,
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
        """Insert request rows shaped like :func:`generate_demo`'s; returns the rows added.

        Requests already stored (same ``request_id``) are skipped.
        """
        return ingest_frame(self.store, frame, self.organization_id)

    def insert_requests(
        self, frame: pd.DataFrame, *, updated_at: _dt.datetime | None = None
    ) -> int:
        """Insert rows as Helicone's ingestion does, late or not; returns the rows written.

        ``frame`` is shaped like :func:`generate_demo`'s (``property:<name>`` and
        ``score:<key>`` columns). New ``request_id`` values are new requests, whatever their
        ``request_created_at`` (late-arriving rows); a row of a stored request is a new version
        of it, current if its ``updated_at`` is the greatest. ``updated_at`` is the frame's
        column if it has one, else this argument, else now (the insert time, as in ClickHouse).
        """
        stamp = None if "updated_at" in frame.columns else (updated_at or self._now())
        return ingest_frame(
            self.store, frame, self.organization_id, versions=True, updated_at=stamp
        )

    def update_request(
        self,
        request_id: str,
        *,
        scores: Mapping[str, int | bool] | None = None,
        feedback: bool | None = None,
        properties: Mapping[str, str] | None = None,
        updated_at: _dt.datetime | None = None,
    ) -> None:
        """Re-insert a request with new scores, feedback or properties, as Helicone does.

        The latest version is copied with the changes merged in and a newer ``updated_at``
        (default: now, or 1 ms after the current version if that is later); the old version
        stays as an older physical row. Boolean scores are stored as ``<key>-hcone-bool`` 1/0,
        feedback as the ``helicone-score-feedback`` score. This is what ``POST
        /v1/request/{id}/score``, ``POST .../feedback`` and ``PUT .../property`` do.
        ``LookupError`` if the request is not stored.
        """
        new_scores = {_score_key(k, v): int(v) for k, v in (scores or {}).items()}
        if feedback is not None:
            new_scores[FEEDBACK_KEY] = int(bool(feedback))
        props = dict(properties or {})
        store = self.store
        with store.write_lock:
            row = store.execute(
                "SELECT epoch_ms(updated_at) FROM requests WHERE request_id = ?", [request_id]
            ).fetchone()
            if row is None:
                raise LookupError(f"request {request_id!r} is not stored")
            later = _dt.datetime(1970, 1, 1) + _dt.timedelta(milliseconds=int(row[0]) + 1)
            stamp = _naive(updated_at) if updated_at is not None else max(self._now(), later)
            store.insert_versions(
                """
                SELECT * REPLACE (
                    map_concat(scores, MAP($score_keys::VARCHAR[], $score_values::BIGINT[]))
                        AS scores,
                    map_concat(properties, MAP($prop_keys::VARCHAR[], $prop_values::VARCHAR[]))
                        AS properties,
                    $stamp::TIMESTAMP AS updated_at)
                FROM requests WHERE request_id = $id
                """,
                {
                    "score_keys": list(new_scores),
                    "score_values": list(new_scores.values()),
                    "prop_keys": list(props),
                    "prop_values": list(props.values()),
                    "stamp": stamp,
                    "id": request_id,
                },
            )

    def export_jsonl(self, path: str | Path) -> int:
        """Write every request as a ``HeliconeRequest`` JSONL line (oldest first); returns rows.

        The format is what ``@helicone/export`` writes, so :meth:`ingest_jsonl` reads it back.
        Each request is written once, in its latest version.
        """
        target = Path(path)
        rows = 0
        with target.open("w", encoding="utf-8") as f:
            for row in _requests.iter_request_rows(self.store, quirks=self.quirks):
                f.write(row)
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

    def _now(self) -> _dt.datetime:
        """Now, naive UTC."""
        return _naive(self.clock())

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
        limits: dict[str, str] = {}
        if self.rate_limiter is not None and self._authenticate(headers) is None:
            # Helicone's limiter runs before the route, per organization (so after the key)
            allowed, limits = self.rate_limiter.take()
            if not allowed:
                refused = respond(429, {"error": TOO_MANY})
                refused.headers.update(limits)
                return refused
        plan = self.faults
        if plan is not None:
            answer = plan.apply(
                method,
                path,
                body,
                lambda raw: self._answer(method, path, headers, raw),
                store=self.store,
                quirks=self.quirks,
            )
        else:
            answer = self._answer(method, path, headers, body)
        for name, value in limits.items():  # an injected 429 keeps its own
            answer.headers.setdefault(name, value)
        return answer

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
        update = _REQUEST_UPDATE_ROUTE.match(path)
        if update is not None and method == _UPDATE_METHODS[update.group(2)]:
            return self._update(unquote(update.group(1)), update.group(2), body)
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
        rows = _requests.query_requests(self.store, query, quirks=self.quirks, now=self._now())
        return envelope_of_json(201, rows)

    def _request_count(self, body: bytes) -> BackendResponse:
        query = _params.request_query(body)
        return envelope(200, _requests.count_requests(self.store, query, quirks=self.quirks))

    def _update(self, request_id: str, kind: str, body: bytes) -> BackendResponse:
        change = _params.update_body(kind, body)
        try:
            self.update_request(request_id, **change)
        except LookupError:
            return handled_error(500, f"request {request_id} not found")
        return envelope(200, None)


def _naive(t: _dt.datetime) -> _dt.datetime:
    """``t`` as naive UTC (a naive ``t`` is taken as UTC)."""
    return t if t.tzinfo is None else t.astimezone(_dt.UTC).replace(tzinfo=None)


def _score_key(key: str, value: int | bool) -> str:
    """Helicone keeps a boolean score as ``<key>-hcone-bool`` (ScoreManager)."""
    return (
        f"{key}-hcone-bool" if isinstance(value, bool) and not key.endswith("-hcone-bool") else key
    )
