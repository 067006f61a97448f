"""Wire rows -> typed DataFrames through one schema map."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from helicone_nb import REQUEST_SCHEMA, SESSION_SCHEMA, ResponseFormatError
from helicone_nb._frames import dedupe_sessions, empty_frame, requests_frame, sessions_frame

from .fakes import session_row

README = Path(__file__).resolve().parents[1] / "README.md"


def _check_dtypes(df: pd.DataFrame, schema: dict[str, tuple[str, str]], tz: str) -> None:
    assert list(df.columns) == list(schema)
    for col, (dtype, _) in schema.items():
        if dtype.startswith("datetime64"):
            assert isinstance(df[col].dtype, pd.DatetimeTZDtype), col
            assert str(df[col].dt.tz) == tz
        elif dtype == "string":
            assert isinstance(df[col].dtype, pd.StringDtype), col
        else:
            assert str(df[col].dtype) == dtype, col


def test_sessions_frame_types_every_column() -> None:
    rows = [session_row(i) for i in range(3)]
    rows[1]["total_requests"] = "7"
    rows[2]["created_at"] = "2025-01-01 00:02:00.000"
    df = sessions_frame(rows, tz="Europe/Berlin")
    _check_dtypes(df, SESSION_SCHEMA, "Europe/Berlin")
    assert df["total_requests"].tolist() == [1, 7, 3]
    assert df["created_at"][2] == pd.Timestamp("2025-01-01T00:02:00Z")
    assert df["user_ids"][0] == ["user-0"]  # "" removed
    assert df["duration_s"][0] == pytest.approx(30.5)


def test_timezone_difference_is_undone() -> None:
    row = session_row(
        0, created_at="2025-01-01 05:30:00", latest_request_created_at="2025-01-01T05:31:00Z"
    )
    df = sessions_frame([row], tz="UTC", shift_minutes=330)
    assert df["created_at"][0] == pd.Timestamp("2025-01-01T00:00:00Z")
    assert df["latest_request_created_at"][0] == pd.Timestamp("2025-01-01T00:01:00Z")


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_empty_frames_have_every_column_and_dtype(tz: str) -> None:
    _check_dtypes(sessions_frame([], tz=tz), SESSION_SCHEMA, tz)
    _check_dtypes(requests_frame([], tz=tz), REQUEST_SCHEMA, tz)
    _check_dtypes(empty_frame(SESSION_SCHEMA, tz), SESSION_SCHEMA, tz)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("total_cost", "cheap", "not a number"),
        ("created_at", "yesterday", "not a timestamp"),
        ("session_id", 5, "must be a string"),
        ("user_ids", "u1", "must be a list"),
    ],
)
def test_bad_rows_raise_response_format_error(field: str, value: object, message: str) -> None:
    row = session_row(0)
    row[field] = value
    with pytest.raises(ResponseFormatError, match=message):
        sessions_frame([row])


def test_missing_field_is_named() -> None:
    row = session_row(0)
    del row["avg_latency"]
    with pytest.raises(ResponseFormatError, match="no 'avg_latency' field"):
        sessions_frame([row])
    with pytest.raises(ResponseFormatError, match="JSON objects"):
        sessions_frame([["not", "a", "dict"]])  # type: ignore[list-item]


def test_dedupe_on_id_and_name_keeps_first() -> None:
    rows = [session_row(0), session_row(0), session_row(0, name="other"), session_row(1)]
    df = dedupe_sessions(sessions_frame(rows))
    assert list(zip(df.session_id, df.session_name, strict=True)) == [
        ("sess-00000", "support-chat"),
        ("sess-00000", "other"),
        ("sess-00001", "support-chat"),
    ]


def test_requests_frame_reads_export_rows() -> None:
    rows = [
        {
            "request_id": "r1",
            "request_created_at": "2025-01-01T00:00:00.000Z",
            "request_user_id": None,
            "request_properties": {
                "Helicone-Session-Id": "s1",
                "Helicone-Session-Path": "/plan",
                "environment": "prod",
            },
            "model": "gpt-4o",
            "provider": "OPENAI",
            "response_status": "200",
            "delay_ms": "812",
            "prompt_tokens": "10",
            "completion_tokens": 5,
            "total_tokens": 15,
            "cost": "0.00012",
        },
        {"request_id": "r2", "request_created_at": "2025-01-01 00:00:01"},
    ]
    df = requests_frame(rows, tz="Europe/Berlin")
    _check_dtypes(df, REQUEST_SCHEMA, "Europe/Berlin")
    assert df["latency_ms"][0] == 812.0 and df["cost"][0] == pytest.approx(0.00012)
    assert df["status"][0] == 200 and pd.isna(df["status"][1])
    assert df["properties"][0] == {"environment": "prod"}
    assert df["session_path"].tolist() == ["/plan", "/"]
    assert df["session_name"][0] == "" and df["user_id"][0] == ""


def test_requests_frame_reads_the_extended_columns() -> None:
    full = {
        "request_id": "r1",
        "request_created_at": "2025-01-01T00:00:00.000Z",
        "request_properties": {"Helicone-Session-Id": "s1", "env": "prod"},
        "updated_at": "2025-01-03T00:00:00.000Z",
        "response_created_at": "2025-01-01T00:00:01.500Z",
        "prompt_cache_read_tokens": "100",
        "prompt_cache_write_tokens": 7,
        "reasoning_tokens": "3",
        "cache_reference_id": "8d1e2c1a-0000-4000-8000-000000000001",
        "cache_enabled": True,
        "prompt_id": "p-1",
        "prompt_version": "v2",
        "target_url": "https://api.openai.com/v1/chat/completions",
        "country_code": "DE",
        "scores": {"helicone-score-feedback": "1", "accuracy": 80},
    }
    unscored = dict(
        full,
        request_id="r2",
        cache_reference_id="00000000-0000-0000-0000-000000000000",
        cache_enabled=False,
        scores={"helicone-score-feedback": 0},
        request_properties={"Helicone-Session-Id": "s1", "env": "prod"},
    )
    bare = {"request_id": "r3", "request_created_at": "2025-01-01T00:00:02Z"}
    df = requests_frame([full, unscored, bare], tz="UTC")
    _check_dtypes(df, REQUEST_SCHEMA, "UTC")
    assert df["updated_at"][0] == pd.Timestamp("2025-01-03T00:00:00Z")
    assert df["response_created_at"][0] == pd.Timestamp("2025-01-01T00:00:01.5Z")
    assert pd.isna(df["updated_at"][2]) and pd.isna(df["response_created_at"][2])
    assert df["prompt_cache_read_tokens"].tolist()[:2] == [100, 100]
    assert df["prompt_cache_write_tokens"][0] == 7 and df["reasoning_tokens"][0] == 3
    assert pd.isna(df["reasoning_tokens"][2])
    assert df["cache_hit"].tolist() == [True, False, pd.NA]
    assert df["cache_enabled"].tolist() == [True, False, pd.NA]
    assert df["prompt_id"][0] == "p-1" and df["prompt_version"][0] == "v2"
    assert df["country_code"][0] == "DE" and pd.isna(df["country_code"][2])
    assert df["target_url"][0].startswith("https://api.openai.com")
    assert df["scores"].tolist() == [
        {"helicone-score-feedback": 1, "accuracy": 80},
        {"helicone-score-feedback": 0},
        {},
    ]
    assert df["feedback"].tolist() == [True, False, pd.NA]
    # identical property dicts are one object (memory of big frames)
    assert df["properties"][0] is df["properties"][1]


@pytest.mark.parametrize(
    ("field", "value"),
    [("scores", ["x"]), ("scores", {"a": "high"}), ("cache_enabled", "yes"), ("updated_at", 5)],
)
def test_bad_extended_fields_raise_response_format_error(field: str, value: object) -> None:
    row = {"request_id": "r1", "request_created_at": "2025-01-01T00:00:00Z", field: value}
    with pytest.raises(ResponseFormatError, match=field):
        requests_frame([row])


def test_readme_documents_every_column() -> None:
    text = README.read_text()
    for schema in (SESSION_SCHEMA, REQUEST_SCHEMA):
        for col, (dtype, _) in schema.items():
            assert re.search(rf"\|\s*`{col}`\s*\|\s*`{re.escape(dtype)}`", text), (col, dtype)
