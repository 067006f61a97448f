"""Exceptions raised by helicone_nb.

The whole tree::

    HeliconeError                      base of everything raised here
    ├── UsageError (ValueError)        bad arguments, caught before any request is sent
    │   └── FilterError                a filter Helicone would reject or evaluate wrongly
    ├── ConfigurationError             no API key, unknown region, missing optional extra
    └── APIError                       something went wrong talking to the server
        ├── TransportError             connection failed / dropped, after the retries
        │   └── TimeoutError           the server did not answer in time, after the retries
        ├── ResponseFormatError        the body was not the JSON shape Helicone documents
        ├── APIStatusError             the server answered with an error status
        │   ├── AuthenticationError    401 / 403 (read-only keys get 401 on every query)
        │   ├── RequestValidationError 422, with the server's per-field details
        │   ├── RateLimitError         429, with the wait the server asked for
        │   └── ServerError            5xx, with the message of the {data, error} envelope
        └── IncompleteFetchError       paging stopped half way; carries what was fetched

    InconsistentPagesWarning (UserWarning)  rows moved between pages while paging
    EmptyWindowWarning (UserWarning)        an empty result for a window outside the data

Every APIError carries ``method`` and ``url`` of the request that caused it (never headers, so
never the API key). An error raised half way through paging, once something was fetched, is
wrapped in ``IncompleteFetchError``: its ``partial`` DataFrame holds every row fetched before
the failure, ``missing_offsets`` says which pages are missing, and ``__cause__`` is the
underlying error. A refusal (401/403/422, any answer that is not retried) before anything was
fetched is raised as its own type with its own message (for code written against 0.1 it is
also an ``IncompleteFetchError`` with an empty ``partial``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


class HeliconeError(Exception):
    """Base class of every exception raised by helicone_nb."""


class UsageError(HeliconeError, ValueError):
    """An argument is wrong; nothing was sent."""


class FilterError(UsageError):
    """A filter is invalid or would be evaluated wrongly by Helicone; nothing was sent."""


class ConfigurationError(HeliconeError):
    """The client is not configured (no API key, unknown region, missing extra)."""


class APIError(HeliconeError):
    """A request to the Helicone API failed."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.url else ""
        return f"{self.message}{where}"


class TransportError(APIError):
    """The connection failed or dropped, and every retry failed too."""


class TimeoutError(TransportError):
    """The server did not answer within the timeout, and every retry timed out too."""


class ResponseFormatError(APIError):
    """The server's body is not the JSON shape Helicone documents."""


class APIStatusError(APIError):
    """The server answered with an error status."""

    status_code: int = 0

    def __init__(
        self, message: str, *, status_code: int, body: Any = None, method: str = "", url: str = ""
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body

    def __str__(self) -> str:
        return f"HTTP {self.status_code}: {super().__str__()}"


class AuthenticationError(APIStatusError):
    """401 / 403: the key is missing, wrong, for the other region, or read-only."""


class RequestValidationError(APIStatusError):
    """422: the server rejected the body; ``details`` maps each field to its problem."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        details: dict[str, Any] | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, status_code=status_code, body=body, method=method, url=url)
        self.details = details or {}


class RateLimitError(APIStatusError):
    """429 after every retry; ``retry_after`` is the wait (seconds) the server asked for."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        retry_after: float | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, status_code=status_code, body=body, method=method, url=url)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server failed; the message is the one from Helicone's envelope."""


class IncompleteFetchError(APIError):
    """Paging stopped half way. ``partial`` holds every row fetched before the failure;
    ``missing_offsets`` are the offsets of the pages that are missing (of ``page_size`` rows
    each; when the end was not known yet, rows after the last of them may be missing too)."""

    def __init__(
        self,
        message: str,
        *,
        partial: pd.DataFrame,
        pages_done: int,
        missing_offsets: Sequence[int] = (),
        page_size: int | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.partial = partial
        self.pages_done = pages_done
        self.missing_offsets = list(missing_offsets)
        self.page_size = page_size


class InconsistentPagesWarning(UserWarning):
    """The rows fetched differ from the count the server reported (traffic moved the pages)."""


_REFUSALS: dict[type[APIError], type[APIError]] = {}


def refusal(error: APIError, partial: pd.DataFrame) -> APIError:
    """``error`` (a refusal before anything was fetched) as the error to raise.

    It is of ``error``'s own type, so ``except AuthenticationError`` catches it, with
    ``error``'s message (nothing to resume). For code written against helicone_nb 0.1 it is
    also an :class:`IncompleteFetchError` whose ``partial`` is empty.
    """
    kind = type(error)
    cls = _REFUSALS.get(kind)
    if cls is None:
        cls = type(kind.__name__, (kind, IncompleteFetchError), {"__module__": kind.__module__})
        cls.__qualname__ = kind.__qualname__
        _REFUSALS[kind] = cls
    out = cls.__new__(cls)
    out.__dict__.update(error.__dict__)
    out.__dict__.update(partial=partial, pages_done=0, missing_offsets=[], page_size=None)
    out.args = error.args
    return out


class EmptyWindowWarning(UserWarning):
    """A result is empty and its window lies wholly outside the data the client holds."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional extra is not installed; the message says which ``pip install`` fixes it."""


def require(module: str, extra: str) -> Any:
    """Import an optional dependency or raise an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{module} is needed for this; install it with: pip install 'helicone_nb[{extra}]'"
        ) from None
