"""Wire rows -> typed pandas DataFrames, through ONE schema map per kind of row.

The user-facing tables of these columns are in README.md ("The sessions DataFrame" and "The
requests DataFrame"); keep both in step with the maps below (tests/test_frames.py checks it).
Conversion is column-wise and vectorised: a page of 1000 rows must not cost more than the naive
``pd.DataFrame(resp.json()["data"])`` users write today (benchmarked in tests/benchmarks).
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import ResponseFormatError
from ._wire.time import parse_server_timestamps

if TYPE_CHECKING:
    import pandas as pd

#: Sessions DataFrame: column -> (dtype, description). ``tz`` dtypes are filled in per call.
SESSION_SCHEMA: dict[str, tuple[str, str]] = {
    "session_id": ("string", "Helicone-Session-Id"),
    "session_name": ("string", "Helicone-Session-Name; '' when the requests carry none"),
    "created_at": ("datetime64[ns, tz]", "first in-window request, shown in the call's tz"),
    "latest_request_created_at": ("datetime64[ns, tz]", "last in-window request"),
    "duration_s": (
        "float64",
        "first request START to last request START, seconds (not to the last response: "
        "see drill-down)",
    ),
    "total_cost": ("float64", "USD, sum over the session's in-window requests"),
    "total_requests": ("Int64", "number of in-window requests"),
    "prompt_tokens": ("Int64", "sum of prompt tokens"),
    "completion_tokens": ("Int64", "sum of completion tokens"),
    "total_tokens": ("Int64", "prompt + completion tokens"),
    "avg_latency": ("float64", "ms, mean latency per request of this session (not weighted)"),
    "user_ids": ("object", "list of distinct user ids, '' (no user) removed"),
}

#: Session columns computed by the client, not sent by Helicone.
SESSION_DERIVED = ("duration_s",)
#: The 11 keys of Helicone's SessionResult (spec section 3), derived from the map above; the
#: pydantic row (``helicone_nb._wire.models.SessionResult``) is derived from it too.
SESSION_WIRE_FIELDS = tuple(c for c in SESSION_SCHEMA if c not in SESSION_DERIVED)

#: Requests DataFrame (drill-down into sessions): column -> (dtype, description).
REQUEST_SCHEMA: dict[str, tuple[str, str]] = {
    "request_id": ("string", "Helicone request id"),
    "session_id": ("string", "Helicone-Session-Id property"),
    "session_name": ("string", "Helicone-Session-Name property ('' when missing)"),
    "session_path": ("string", "Helicone-Session-Path property, e.g. '/plan/search' ('/' if none)"),
    "created_at": ("datetime64[ns, tz]", "request time, shown in the call's tz"),
    "user_id": ("string", "Helicone-User-Id ('' when missing)"),
    "model": ("string", "model used"),
    "provider": ("string", "provider, e.g. OPENAI"),
    "status": ("Int64", "HTTP status of the provider response"),
    "latency_ms": ("float64", "ms, request latency (Helicone's delay_ms)"),
    "time_to_first_token_ms": ("float64", "ms, streaming time to first token"),
    "prompt_tokens": ("Int64", "prompt tokens"),
    "completion_tokens": ("Int64", "completion tokens"),
    "total_tokens": ("Int64", "prompt + completion tokens"),
    "cost": ("float64", "USD"),
    "properties": ("object", "dict of the other custom properties (identical dicts are shared)"),
    "updated_at": (
        "datetime64[ns, tz]",
        "when this version of the row was written (NaT if not sent)",
    ),
    "response_created_at": ("datetime64[ns, tz]", "response time (NaT if not sent)"),
    "prompt_cache_read_tokens": ("Int64", "prompt tokens read from the provider's cache"),
    "prompt_cache_write_tokens": ("Int64", "prompt tokens written to the provider's cache"),
    "reasoning_tokens": ("Int64", "reasoning tokens (NA if not sent)"),
    "cache_hit": ("boolean", "served from Helicone's cache (cache_reference_id is a real id)"),
    "cache_enabled": ("boolean", "Helicone's cache was enabled for the request"),
    "prompt_id": ("string", "Helicone prompt id ('' when none)"),
    "prompt_version": ("string", "Helicone prompt version ('' when none)"),
    "target_url": ("string", "provider URL the request went to"),
    "country_code": ("string", "caller's country code"),
    "scores": ("object", "dict of score name -> int ({} when none)"),
    "feedback": ("boolean", "helicone-score-feedback as True/False, NA when not rated"),
}

SESSION_PROPERTY_KEYS = ("Helicone-Session-Id", "Helicone-Session-Name", "Helicone-Session-Path")


def _dtype(name: str, tz: _dt.tzinfo | str) -> Any:
    import pandas as pd

    dtype = name
    if dtype.startswith("datetime64"):
        return pd.DatetimeTZDtype(unit="ns", tz=tz)
    return dtype


def empty_frame(schema: Mapping[str, tuple[str, str]], tz: _dt.tzinfo | str) -> pd.DataFrame:
    """A zero-row frame that still has every column with its dtype."""
    import pandas as pd

    return pd.DataFrame(
        {col: pd.Series([], dtype=_dtype(dt, tz)) for col, (dt, _) in schema.items()}
    )


def _column(rows: Sequence[Mapping[str, Any]], field: str) -> list[Any]:
    try:
        return [row[field] for row in rows]
    except KeyError:
        raise ResponseFormatError(
            f"a session row has no {field!r} field; Helicone's SessionResult has exactly "
            f"{', '.join(SESSION_WIRE_FIELDS)}"
        ) from None
    except TypeError:
        raise ResponseFormatError("session rows must be JSON objects") from None


_NUMERIC_TYPES = {int, float, str, type(None)}


def _timestamps(values: list[Any], field: str, shift_minutes: float, tz: _dt.tzinfo | str) -> Any:
    if not set(map(type, values)) <= {str}:  # numbers would be read as epochs
        raise ResponseFormatError(f"field {field!r} holds a value that is not a timestamp")
    try:
        return parse_server_timestamps(values, shift_minutes=shift_minutes, tz=tz).as_unit("ns")
    except (ValueError, TypeError):
        raise ResponseFormatError(
            f"field {field!r} holds a value that is not a timestamp"
        ) from None


def _numeric(values: list[Any], field: str, dtype: str) -> Any:
    """Numbers (or numeric strings, or None) -> float64 ndarray or a nullable Int64 array."""
    import numpy as np
    import pandas as pd

    if not set(map(type, values)) <= _NUMERIC_TYPES:  # True would silently read as 1
        raise ResponseFormatError(f"field {field!r} holds a value that is not a number")
    try:
        arr = np.array(values, dtype=np.float64)  # also parses "7" (64-bit counts as strings)
    except (ValueError, TypeError):
        raise ResponseFormatError(f"field {field!r} holds a value that is not a number") from None
    if arr.ndim != 1:
        raise ResponseFormatError(f"field {field!r} holds a value that is not a number")
    if dtype == "Int64":
        mask = np.isnan(arr)
        ints = np.where(mask, 0, np.rint(arr)).astype(np.int64)
        return pd.arrays.IntegerArray(ints, mask)
    return arr


def _strings(values: list[Any], field: str) -> Any:
    import pandas as pd

    if not set(map(type, values)) <= {str}:
        raise ResponseFormatError(f"field {field!r} must be a string in every row")
    return pd.array(values, dtype="string")


def sessions_frame(
    rows: Sequence[Mapping[str, Any]],
    *,
    tz: _dt.tzinfo | str = "UTC",
    shift_minutes: float = 0,
) -> pd.DataFrame:
    """Session rows as Helicone sends them -> the typed sessions DataFrame.

    Counts sent as JSON strings are read as numbers, ISO and ClickHouse timestamps both become
    UTC instants (undoing ``shift_minutes`` of timezoneDifference) shown in ``tz``, and ``""`` is
    dropped from ``user_ids``.
    """
    import pandas as pd

    if not rows:
        return empty_frame(SESSION_SCHEMA, tz)
    cols = {field: _column(rows, field) for field in SESSION_WIRE_FIELDS}
    data: dict[str, Any] = {}
    data["session_id"] = _strings(cols["session_id"], "session_id")
    data["session_name"] = _strings(cols["session_name"], "session_name")
    for field in ("created_at", "latest_request_created_at"):
        data[field] = _timestamps(cols[field], field, shift_minutes, tz)

    data["duration_s"] = (data["latest_request_created_at"].asi8 - data["created_at"].asi8) / 1e9
    for field, (dtype, _) in SESSION_SCHEMA.items():
        if dtype in ("float64", "Int64") and field in cols:
            data[field] = _numeric(cols[field], field, dtype)
    user_ids = cols["user_ids"]
    if not set(map(type, user_ids)) <= {list} or not set(
        map(type, itertools.chain.from_iterable(user_ids))
    ) <= {str}:
        raise ResponseFormatError("field 'user_ids' must be a list of strings in every row")
    data["user_ids"] = [[u for u in ids if u] if "" in ids else ids for ids in user_ids]
    return pd.DataFrame(
        {col: _values(data[col]) for col in SESSION_SCHEMA},
        index=pd.RangeIndex(len(rows)),
        copy=False,
    )


def _values(v: Any) -> Any:
    import pandas as pd

    if isinstance(v, pd.Series | pd.Index):
        return v.array
    return v


def dedupe_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the first row of each (session_id, session_name) pair, in order."""
    if frame.empty:
        return frame
    keep = ~frame.duplicated(subset=["session_id", "session_name"], keep="first")
    if bool(keep.all()):
        return frame
    return frame.loc[keep].reset_index(drop=True)


def concat_frames(
    frames: Iterable[pd.DataFrame], schema: Mapping[str, tuple[str, str]], tz: _dt.tzinfo | str
) -> pd.DataFrame:
    """Concatenate typed page frames, keeping every dtype (also when there are none)."""
    import pandas as pd

    parts = [f for f in frames if len(f)]
    if not parts:
        return empty_frame(schema, tz)
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    return pd.concat(parts, ignore_index=True)


#: Helicone's cache_reference_id of a request that was not a cache hit.
NO_CACHE_REFERENCE = "00000000-0000-0000-0000-000000000000"
FEEDBACK_SCORE = "helicone-score-feedback"

#: requests column -> HeliconeRequest field, for the plain numeric columns
_REQUEST_NUMBERS = {
    "status": "response_status",
    "latency_ms": "delay_ms",
    "time_to_first_token_ms": "time_to_first_token",
    "prompt_tokens": "prompt_tokens",
    "completion_tokens": "completion_tokens",
    "total_tokens": "total_tokens",
    "cost": "cost",
    "prompt_cache_read_tokens": "prompt_cache_read_tokens",
    "prompt_cache_write_tokens": "prompt_cache_write_tokens",
    "reasoning_tokens": "reasoning_tokens",
}
#: requests column -> HeliconeRequest field, for optional text (NA when not sent)
_REQUEST_TEXTS = {
    "prompt_id": "prompt_id",
    "prompt_version": "prompt_version",
    "target_url": "target_url",
    "country_code": "country_code",
}


def requests_frame(
    rows: Sequence[Mapping[str, Any]], *, tz: _dt.tzinfo | str = "UTC"
) -> pd.DataFrame:
    """``HeliconeRequest`` rows (query-clickhouse / export JSONL) -> the typed requests frame.

    Fields a server does not send become NA (NaT for times). Identical ``properties`` and
    ``scores`` dicts are one shared object (a 1M-row frame repeats a few hundred distinct
    ones): copy a cell's dict before changing it.
    """
    import pandas as pd

    if not rows:
        return empty_frame(REQUEST_SCHEMA, tz)
    try:
        props = [r.get("request_properties") or r.get("properties") or {} for r in rows]
        if not set(map(type, props)) <= {dict}:
            raise ResponseFormatError("request_properties must be an object of strings")
        ids = [r["request_id"] for r in rows]
        if not set(map(type, ids)) <= {str}:
            raise ResponseFormatError("field 'request_id' must be a string in every row")
        data: dict[str, Any] = {
            "request_id": ids,
            "session_id": [p.get("Helicone-Session-Id", "") for p in props],
            "session_name": [p.get("Helicone-Session-Name", "") for p in props],
            "session_path": [p.get("Helicone-Session-Path", "/") or "/" for p in props],
            "user_id": [r.get("request_user_id") or "" for r in rows],
            "model": [r.get("model") or r.get("request_model") or "" for r in rows],
            "provider": [str(r.get("provider") or "") for r in rows],
        }
        created = [r["request_created_at"] for r in rows]
        optional = {
            field: [r.get(field) for r in rows]
            for field in (
                *_REQUEST_NUMBERS.values(),
                *_REQUEST_TEXTS.values(),
                "updated_at",
                "response_created_at",
                "cache_reference_id",
                "cache_enabled",
                "scores",
            )
        }
    except KeyError as exc:
        raise ResponseFormatError(f"a request row has no {exc.args[0]!r} field") from None
    except (TypeError, AttributeError):
        raise ResponseFormatError("request rows must be JSON objects") from None
    data["created_at"] = _timestamps(created, "request_created_at", 0, tz)
    for field in ("updated_at", "response_created_at"):
        data[field] = _optional_timestamps(optional[field], field, tz)
    for col, field in _REQUEST_NUMBERS.items():
        data[col] = _numeric(optional[field], field, REQUEST_SCHEMA[col][0])
    for col, field in _REQUEST_TEXTS.items():
        data[col] = _optional_strings(optional[field], field)
    data["properties"] = _interned(
        {k: v for k, v in p.items() if k not in SESSION_PROPERTY_KEYS} for p in props
    )
    scores = [_scores(v) for v in optional["scores"]]
    data["feedback"] = pd.array(
        [None if FEEDBACK_SCORE not in sc else bool(sc[FEEDBACK_SCORE]) for sc in scores],
        dtype="boolean",
    )
    data["scores"] = _interned(scores)
    data["cache_hit"] = pd.array(
        [
            None if ref is None else bool(ref) and ref != NO_CACHE_REFERENCE
            for ref in optional["cache_reference_id"]
        ],
        dtype="boolean",
    )
    enabled = optional["cache_enabled"]
    if not set(map(type, enabled)) <= {bool, type(None)}:
        raise ResponseFormatError("field 'cache_enabled' must be a boolean in every row")
    data["cache_enabled"] = pd.array(enabled, dtype="boolean")
    for col in (
        "request_id",
        "session_id",
        "session_name",
        "session_path",
        "user_id",
        "model",
        "provider",
    ):
        data[col] = pd.array(data[col], dtype="string")
    return pd.DataFrame(
        {col: _values(data[col]) for col in REQUEST_SCHEMA}, index=pd.RangeIndex(len(rows))
    )


def _optional_timestamps(values: list[Any], field: str, tz: _dt.tzinfo | str) -> Any:
    """Timestamps where a row may lack one (None -> NaT)."""
    if None not in values:
        return _timestamps(values, field, 0, tz)
    if not set(map(type, values)) <= {str, type(None)}:
        raise ResponseFormatError(f"field {field!r} holds a value that is not a timestamp")
    try:
        return parse_server_timestamps(values, shift_minutes=0, tz=tz).as_unit("ns")
    except (ValueError, TypeError):
        raise ResponseFormatError(
            f"field {field!r} holds a value that is not a timestamp"
        ) from None


def _optional_strings(values: list[Any], field: str) -> Any:
    import pandas as pd

    if not set(map(type, values)) <= {str, type(None)}:
        raise ResponseFormatError(f"field {field!r} must be a string in every row")
    return pd.array(values, dtype="string")


def _scores(value: Any) -> dict[str, int]:
    """Helicone's scores map (values may be 64-bit strings) as ``{name: int}``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ResponseFormatError("field 'scores' must be an object of numbers")
    try:
        return {str(k): int(v) for k, v in value.items() if not isinstance(v, bool)}
    except (TypeError, ValueError):
        raise ResponseFormatError("field 'scores' must be an object of numbers") from None


def _interned(dicts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dicts, with equal ones replaced by one shared object (memory of big frames)."""
    seen: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    out = []
    for d in dicts:
        key = tuple(d.items())
        try:
            out.append(seen.setdefault(key, d))
        except TypeError:  # an unhashable value: keep the dict as it is
            out.append(d)
    return out
