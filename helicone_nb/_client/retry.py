"""One request with retries, without I/O: the retry policy, the request generator and the
mapping of answers to data or to the documented exceptions.

:func:`request_flow` yields an ``httpx.Request`` to send or a float to sleep, and returns the
envelope's ``data``; the client shells (:mod:`.clients`) only drive it.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import json
import logging
import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic_core import from_json

from .._errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    RateLimitError,
    RequestValidationError,
    ResponseFormatError,
    ServerError,
    TimeoutError,
    TransportError,
    UsageError,
)

log = logging.getLogger("helicone_nb")

#: What a request generator yields (a request to send, or seconds to sleep) and returns.
RequestFlow = Generator[httpx.Request | float, Any, Any]


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    Connection errors, timeouts, truncated bodies and HTTP 429/500/502/503/504 are retried up
    to ``max_retries`` times with exponential backoff and full jitter (``backoff * 2**n``,
    capped at ``max_backoff``). A 429's ``Retry-After`` / ``RateLimit-Reset`` is honoured. No
    request waits more than ``max_total`` seconds in all; past that the error is raised.
    """

    max_retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_total: float = 120.0
    statuses: tuple[int, ...] = (429, 500, 502, 503, 504)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.max_total < 0:
            raise UsageError("RetryPolicy values must not be negative")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(0.0, retry_after) + random.uniform(0, min(1.0, self.backoff))
        return random.uniform(0, min(self.max_backoff, self.backoff * (2**attempt)))


NO_RETRY = RetryPolicy(max_retries=0)


def retry_after_header(response: httpx.Response) -> float | None:
    for header in ("retry-after", "ratelimit-reset"):
        value = response.headers.get(header)
        if not value:
            continue
        try:
            return float(value)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if header == "retry-after" else None
            if parsed is not None:
                return max(0.0, (parsed - _dt.datetime.now(_dt.UTC)).total_seconds())
    return None


def request_flow(
    request: httpx.Request,
    policy: RetryPolicy,
    success: tuple[int, ...] = (200,),
) -> RequestFlow:
    """Send ``request``; yield requests to send and delays to sleep; return the data.

    The driver sends each yielded request and ``send()``s the response back, or
    ``throw()``s the ``httpx.TransportError`` it raised; for a float it sleeps.
    """
    method, url = "POST", str(request.url.copy_with(query=None))
    waited = 0.0
    attempt = 0
    while True:
        error: APIError
        retry_after: float | None = None
        try:
            response = yield request
        except httpx.TimeoutException as exc:
            error = TimeoutError(
                f"no answer within the timeout ({type(exc).__name__}); raise timeout=... "
                "or check the network",
                method=method,
                url=url,
            )
        except httpx.TransportError as exc:
            error = TransportError(
                f"connection failed: {type(exc).__name__}: {exc}", method=method, url=url
            )
        else:
            try:
                return read_response(response, success, method, url)
            except RateLimitError as exc:
                error, retry_after = exc, exc.retry_after
            except APIStatusError as exc:
                if exc.status_code not in policy.statuses:
                    raise
                error = exc
            except ResponseFormatError as exc:
                if response.status_code not in success:
                    raise
                error = exc  # a truncated body: the connection dropped mid-response
        if attempt >= policy.max_retries:
            raise error
        delay = policy.delay(attempt, retry_after)
        if waited + delay > policy.max_total:
            log.info("giving up on %s after %.1fs of retries", url, waited)
            raise error
        attempt += 1
        waited += delay
        log.info(
            "retrying POST %s in %.2fs (retry %d of %d) after: %s",
            url,
            delay,
            attempt,
            policy.max_retries,
            error.message,
        )
        yield delay


def read_response(response: httpx.Response, success: tuple[int, ...], method: str, url: str) -> Any:
    status = response.status_code
    try:
        # pydantic-core's JSON parser: faster than json.loads on 1000-row pages
        body = from_json(response.content) if response.content else None
    except ValueError:
        body = None
        if status in success:
            raise ResponseFormatError(
                f"HTTP {status} with a body that is not JSON (truncated?): "
                f"{response.content[:120]!r}",
                method=method,
                url=url,
            ) from None
    if status in success:
        if not isinstance(body, dict) or "data" not in body:
            raise ResponseFormatError(
                f'expected Helicone\'s {{"data": ..., "error": ...}} envelope, got {preview(body)}',
                method=method,
                url=url,
            )
        if body.get("error") not in (None, ""):
            raise ServerError(
                f"Helicone answered with an error: {body['error']}",
                status_code=status,
                body=body,
                method=method,
                url=url,
            )
        return body["data"]
    raise make_status_error(status, body, response, method, url)


def make_status_error(
    status: int, body: Any, response: httpx.Response, method: str, url: str
) -> APIStatusError:
    server_msg = server_message(body)
    if status in (401, 403):
        return AuthenticationError(
            f"Helicone rejected the API key ({server_msg or 'unauthorized'}). Check "
            "HELICONE_API_KEY. Read-only keys get 401 on EVERY query, because Helicone's "
            "query endpoints are POST requests: use a key with write ('rw' or 'w') "
            "permission. EU keys (sk-helicone-eu-...) work only with region='eu'.",
            status_code=status,
            body=body,
            method=method,
            url=url,
        )
    if status == 422:
        details = body.get("details") if isinstance(body, dict) else None
        details = details if isinstance(details, dict) else {}
        lines = []
        for fld, info in details.items():
            msg = info.get("message") if isinstance(info, dict) else info
            lines.append(f"  {fld}: {msg}")
        text = "Helicone rejected the request body (Validation Failed)"
        if lines:
            text += ":\n" + "\n".join(lines)
        return RequestValidationError(
            text, status_code=status, body=body, details=details, method=method, url=url
        )
    if status == 429:
        retry_after = retry_after_header(response)
        wait = f"; the server asked to wait {retry_after:.0f}s" if retry_after else ""
        return RateLimitError(
            f"rate limited by Helicone ({server_msg or 'too many requests'}){wait}. "
            "Helicone allows 1,000 requests per 5 minutes on the free tier; re-running "
            "resumes from the page cache.",
            status_code=status,
            body=body,
            retry_after=retry_after,
            method=method,
            url=url,
        )
    if status >= 500:
        return ServerError(
            f"Helicone server error: {server_msg or 'no message'}",
            status_code=status,
            body=body,
            method=method,
            url=url,
        )
    hint = ""
    if status == 404:
        hint = " (is base_url right? Helicone serves /v1/session/query)"
    if status == 413:
        hint = " (the request body is too large)"
    return APIStatusError(
        f"{server_msg or 'request failed'}{hint}",
        status_code=status,
        body=body,
        method=method,
        url=url,
    )


def server_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                details = body.get("details")
                if key == "message" and isinstance(details, str) and details:
                    return f"{value}: {details}"
                return value
    return ""


def preview(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."
