"""Every misshapen body the fault plan can produce, one at a time, against the client.

A body of the wrong shape must end in the fault-free frame (extra fields are ignored) or in a
typed ``ResponseFormatError``: never in a silently different frame (which the page cache would
keep) and never in an exception that is not a ``HeliconeError``.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb import IncompleteFetchError, RetryPolicy
from helicone_nb.backend import Backend, InProcessTransport
from helicone_nb.backend._faults import _WRONG, COUNT_ROUTE, REQUESTS_ROUTE, SESSIONS_ROUTE

from .scenarios import KEY, WINDOW, frame_difference, sessions_backend

NO_RETRY = RetryPolicy(max_retries=0)


def _cases() -> list[Any]:
    cases = []
    for route, fields in _WRONG.items():
        for name, values in fields.items():
            for value in values:
                cases.append(pytest.param(route, name, value, id=f"{route}-{name}-{value!r}"))
    return cases


@pytest.fixture(scope="module")
def backend() -> Backend:
    backend = sessions_backend(30)
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(6)],
            "request_created_at": pd.Timestamp("2025-03-01") + pd.to_timedelta(range(6), "s"),
            "latency": [100] * 6,
            "cost": [10_000] * 6,
            "property:Helicone-Session-Id": "one",
            "property:tier": "gold",
        }
    )
    backend.ingest_frame(frame)
    return backend


def spoiling(backend: Backend, route: str, spoil: Callable[[Any], None]) -> httpx.MockTransport:
    """The backend's answers, with ``spoil`` applied to the ``data`` of ``route``'s answers."""
    inner = InProcessTransport(backend)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = inner.handle_request(request)
        answer.read()
        if request.url.path != route or answer.status_code >= 300:
            return httpx.Response(answer.status_code, content=answer.content)
        payload = json.loads(answer.content)
        if payload["data"]:  # pages past the end stay empty
            spoil(payload["data"])
        return httpx.Response(answer.status_code, json=payload)

    return httpx.MockTransport(handler)


def fetch(transport: httpx.BaseTransport, route: str) -> pd.DataFrame:
    with hnb.Client(
        KEY, base_url="http://h.test", transport=transport, cache=False, retries=NO_RETRY
    ) as c:
        if route == REQUESTS_ROUTE:
            return c.fetch_session_requests("one")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", hnb.InconsistentPagesWarning)  # a wrong count
            # one row a page: a count read wrongly (and trusted, as a multiple of the page
            # size) would cut the frame
            page_size = 1 if route == COUNT_ROUTE else None
            return c.fetch_sessions(*WINDOW, page_size=page_size)


@pytest.mark.parametrize(("route", "field", "value"), _cases())
def test_a_wrong_type_is_an_error_or_changes_nothing(
    backend: Backend, route: str, field: str, value: Any
) -> None:
    expected = fetch(InProcessTransport(backend), route)

    def spoil(data: Any) -> None:
        target = data if route == COUNT_ROUTE else data[len(data) // 2]
        target[field] = copy.deepcopy(value)

    try:
        got = fetch(spoiling(backend, route, spoil), route)
    except IncompleteFetchError as exc:
        assert isinstance(exc.__cause__, hnb.ResponseFormatError), repr(exc.__cause__)
        assert field in str(exc.__cause__) or "JSON objects" in str(exc.__cause__)
        return
    assert frame_difference(got, expected) == ""


@pytest.mark.parametrize("route", [SESSIONS_ROUTE, REQUESTS_ROUTE])
@pytest.mark.parametrize("variant", ["missing", "notlist"])
def test_missing_fields_and_data_that_is_not_a_list_are_format_errors(
    backend: Backend, route: str, variant: str
) -> None:
    required = "session_id" if route == SESSIONS_ROUTE else "request_created_at"

    def spoil(data: Any) -> None:
        if variant == "missing":
            del data[0][required]
        else:
            data[:] = []
            data.append(7)

    with pytest.raises(IncompleteFetchError) as info:
        fetch(spoiling(backend, route, spoil), route)
    assert isinstance(info.value.__cause__, hnb.ResponseFormatError)
