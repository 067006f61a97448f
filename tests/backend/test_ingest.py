"""Importing Helicone export JSONL: tolerant parsing, bad lines by number, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helicone_nb._errors import UsageError
from helicone_nb.backend import Backend, BadLine, demo_backend

from .helpers import at, post, req, sessions, write_jsonl


def test_numbers_as_strings_clickhouse_timestamps_and_missing_fields(tmp_path: Path) -> None:
    lines = [
        {
            "request_id": "a",
            "request_created_at": "2025-01-31 10:00:00.250",  # ClickHouse text, UTC
            "request_properties": {"Helicone-Session-Id": "s", "Helicone-Session-Name": "n"},
            "delay_ms": "120",
            "prompt_tokens": "7",
            "completion_tokens": 3,
            "total_tokens": "10",
            "cost": "0.0005",
            "response_status": "200",
            "request_user_id": None,
        },
        {"request_id": "b", "request_created_at": "2025-01-31T12:00:00+02:00"},  # bare minimum
        {"request_id": "c", "request_created_at": 1738317600000, "properties": {"k": "v"}},
    ]
    backend = Backend()
    report = backend.ingest_jsonl(write_jsonl(tmp_path / "x.jsonl", lines))
    assert (report.read, report.added, report.duplicates, report.bad) == (3, 3, 0, [])
    rows = backend.store.execute(
        "SELECT request_id, request_created_at, latency, prompt_tokens, completion_tokens, "
        "total_tokens, cost, status, user_id, model, session_id, session_name, properties "
        "FROM requests ORDER BY request_id"
    ).fetchall()
    a, b, c = rows
    assert a[1].isoformat() == "2025-01-31T10:00:00.250000"
    assert a[2:10] == (120, 7, 3, 10, 500_000, 200, "", "")
    assert a[10:12] == ("s", "n")
    assert b[1].isoformat() == "2025-01-31T10:00:00"  # offset converted to UTC
    assert b[2:] == (None, None, None, None, None, 0, "", "", None, "", {})
    assert c[1].isoformat() == "2025-01-31T10:00:00"  # epoch milliseconds
    assert c[12] == {"k": "v"}


def test_bad_lines_are_reported_with_numbers_and_reasons(tmp_path: Path) -> None:
    good = json.dumps(req("ok", 0, "s"))
    path = tmp_path / "mixed.jsonl"
    lines = [
        good,
        "{not json",
        "",
        "[1, 2]",
        json.dumps({"request_created_at": at(0)}),
        json.dumps({"request_id": "x"}),
        json.dumps({"request_id": "y", "request_created_at": "last tuesday"}),
        json.dumps(req("z", 0, "s", latency="slow")),
        json.dumps(req("w", 0, "s", cost="free")),
        json.dumps({**req("v", 0, "s"), "request_properties": ["a"]}),
        json.dumps(req("ok2", 1, "s")),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe bad bytes\n")
    backend = Backend()
    report = backend.ingest_jsonl(path)
    assert report.added == 2 and report.read == 11 and report.duplicates == 0
    reasons = {bad.line: bad.reason for bad in report.bad}
    assert sorted(reasons) == [2, 4, 5, 6, 7, 8, 9, 10, 12]
    assert reasons[2] == "not valid JSON"
    assert reasons[4].startswith("not a JSON object")
    assert reasons[5] == "missing request_id"
    assert reasons[6] == "missing request_created_at"
    assert reasons[7] == "request_created_at is not a timestamp: last tuesday"
    assert reasons[8] == "delay_ms is not a number: slow"
    assert reasons[9] == "cost is not a number of USD: free"
    assert reasons[10] == "request_properties is not an object of strings"
    assert reasons[12].startswith("not valid UTF-8")
    text = report.summary()
    assert "11 lines read, 2 requests added" in text and "line 7: request_created_at" in text
    assert BadLine(2, "not valid JSON") in report.bad


def test_reimport_is_idempotent_and_duplicates_inside_a_file_keep_the_first(
    tmp_path: Path,
) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [req("a", 0, "s", cost=1.0), req("b", 1, "s"), req("a", 2, "s", cost=9.0)],
    )
    backend = Backend()
    first = backend.ingest_jsonl(path)
    assert (first.read, first.added, first.duplicates) == (3, 2, 1)
    again = backend.ingest_jsonl(path)
    assert (again.read, again.added, again.duplicates) == (3, 0, 3)
    assert backend.request_count == 2
    (row,) = sessions(backend)
    assert row["total_cost"] == pytest.approx(1.0 + 0.001)  # the first "a" was kept


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        Backend().ingest_jsonl(tmp_path / "nope.jsonl")


def test_export_then_import_round_trips_the_requests(tmp_path: Path) -> None:
    source = demo_backend(1_000, seed=3, cache=False)
    for quirks in (False, True):
        source.quirks = quirks
        path = tmp_path / f"export-{quirks}.jsonl"
        assert source.export_jsonl(path) == 1_000
        copy = Backend()
        report = copy.ingest_jsonl(path)
        assert (report.added, report.bad) == (1_000, [])
        columns = (
            "request_id, request_created_at, response_created_at, latency, time_to_first_token, "
            "status, model, provider, user_id, country_code, target_url, prompt_tokens, "
            "completion_tokens, prompt_cache_read_tokens, total_tokens, cost, properties, "
            "session_id, session_name, session_path"
        )
        query = f"SELECT {columns} FROM requests ORDER BY request_id"
        assert copy.store.execute(query).fetchall() == source.store.execute(query).fetchall()


def test_imported_requests_answer_session_and_request_queries(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [req("1", 0, "s", "chat", path="/a"), req("2", 1, "s", "chat", path="/a/b")],
    )
    backend = Backend()
    backend.ingest_jsonl(path)
    assert sessions(backend)[0]["total_requests"] == 2
    body = {
        "filter": {"request_response_rmt": {"properties": {"Helicone-Session-Id": {"equals": "s"}}}}
    }
    rows = post(backend, "/v1/request/query-clickhouse", body).json()["data"]
    assert sorted(r["request_properties"]["Helicone-Session-Path"] for r in rows) == ["/a", "/a/b"]


def test_a_file_store_keeps_its_data(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with Backend(db) as backend:
        backend.ingest_jsonl(write_jsonl(tmp_path / "f.jsonl", [req("1", 0, "s")]))
        backend.add_tag("s", "kept")
    with Backend(db) as reopened:
        assert reopened.request_count == 1
        assert reopened.store.get_tag("s") == "kept"
