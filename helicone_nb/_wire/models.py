"""Pydantic models of Helicone's wire format (spec sections 2, 3 and 5).

Request bodies are strict (``extra="forbid"``, like Helicone's 422 validation) so a body the
client builds is exactly what Helicone accepts. Response models are lenient where production
Helicone is known to vary: 64-bit counts may arrive as JSON strings, timestamps as ISO-8601 or
ClickHouse text, and ``user_ids`` may contain ``""``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from .._frames import SESSION_SCHEMA, SESSION_WIRE_FIELDS
from .filters import parse_filter

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50

SESSIONS_PATH = "/v1/session/query"
COUNT_PATH = "/v1/session/count"
NAMES_PATH = "/v1/session/name/query"
REQUESTS_PATH = "/v1/request/query-clickhouse"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON body as sent (aliases, optional fields left out when unset)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class TimeFilter(_Strict):
    """``timeFilter``: the window every request must fall in, strictly, in epoch milliseconds."""

    start_ms: float = Field(alias="startTimeUnixMs")
    end_ms: float = Field(alias="endTimeUnixMs")


def _check_filter(value: Any) -> Any:
    parse_filter(value)  # raises FilterError (a ValueError) with a precise message
    return value


class SessionQueryParams(_Strict):
    """Body of ``POST /v1/session/query`` (and ``/v1/session/count``)."""

    search: str = ""
    time_filter: TimeFilter = Field(alias="timeFilter")
    name_equals: str | None = Field(default=None, alias="nameEquals")
    timezone_difference: float = Field(default=0, alias="timezoneDifference", ge=-1440, le=1440)
    filter: Any = "all"
    offset: int | None = Field(default=None, ge=0)
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)

    _validate_filter = field_validator("filter")(_check_filter)


#: Wire type of each sessions-frame dtype (timestamps arrive as text, see the module docstring).
_WIRE_TYPES: dict[str, Any] = {
    "string": str,
    "datetime64[ns, tz]": str,
    "float64": float,
    "Int64": int,
    "object": list[str],
}

#: One row of ``/v1/session/query``: one (session_id, session_name) pair. Derived from the ONE
#: schema map (``helicone_nb._frames.SESSION_SCHEMA`` / ``SESSION_WIRE_FIELDS``).
_SESSION_FIELDS: dict[str, Any] = {
    field: (_WIRE_TYPES[SESSION_SCHEMA[field][0]], ...) for field in SESSION_WIRE_FIELDS
}
SessionResult: type[BaseModel] = create_model(
    "SessionResult",
    __config__=ConfigDict(extra="ignore"),
    __doc__="One row of ``/v1/session/query``: one (session_id, session_name) pair.",
    **_SESSION_FIELDS,
)


class Envelope(BaseModel):
    """Helicone's ``{"data": ..., "error": ...}`` result wrapper."""

    model_config = ConfigDict(extra="allow")

    data: Any = None
    error: str | None = None


class SessionsAggregateMetrics(BaseModel):
    """Body of ``/v1/session/count``'s data (``avg_latency`` is total latency per session)."""

    model_config = ConfigDict(extra="ignore")

    count: int
    total_cost: float
    avg_cost: float
    avg_latency: float
    avg_requests: float

    def __getitem__(self, name: str) -> Any:
        """``metrics["count"]`` as well as ``metrics.count``."""
        if name not in type(self).model_fields:
            raise KeyError(name)
        return getattr(self, name)


class SessionNameQueryParams(_Strict):
    """Body of ``POST /v1/session/name/query``."""

    name_contains: str = Field(default="", alias="nameContains")
    timezone_difference: float = Field(default=0, alias="timezoneDifference")
    time_filter: TimeFilter | None = Field(default=None, alias="timeFilter")
    filter: Any = None
    p_size: Literal["p50", "p75", "p95", "p99", "p99.9"] | None = Field(default=None, alias="pSize")
    use_interquartile: bool | None = Field(default=None, alias="useInterquartile")


class SessionNameResult(BaseModel):
    """One row of ``/v1/session/name/query`` (``session_count`` may be a string)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    created_at: str
    last_used: str
    first_used: str
    session_count: float
    avg_latency: float


def _ascending() -> dict[str, Literal["asc", "desc"]]:
    return {"created_at": "asc"}


class RequestQueryParams(_Strict):
    """Body of ``POST /v1/request/query-clickhouse`` (success status is 201)."""

    filter: Any = "all"
    offset: int = 0
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    sort: dict[str, Literal["asc", "desc"]] = Field(default_factory=_ascending)
    is_cached: bool = Field(default=False, alias="isCached")


class HeliconeRequest(BaseModel):
    """One request row as ``/v1/request/query-clickhouse`` and ``@helicone/export`` write it.

    Only the fields helicone_nb uses are declared; everything else is kept as extra.
    64-bit numbers may arrive as strings, ``cost`` is USD and ``delay_ms`` is the latency.
    """

    model_config = ConfigDict(extra="allow")

    request_id: str
    request_created_at: str
    request_user_id: str | None = None
    request_properties: dict[str, str] | None = None
    request_model: str | None = None
    model: str | None = None
    provider: str | None = None
    response_status: float | None = None
    response_created_at: str | None = None
    delay_ms: float | None = None
    time_to_first_token: float | None = None
    prompt_tokens: float | None = None
    completion_tokens: float | None = None
    total_tokens: float | None = None
    prompt_cache_read_tokens: float | None = None
    prompt_cache_write_tokens: float | None = None
    cost: float | None = None
    country_code: str | None = None
    target_url: str | None = None
