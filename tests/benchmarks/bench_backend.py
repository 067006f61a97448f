"""Embedded backend: demo generation, import, and the session query against plain pandas.

``full``: 1M demo requests (about 100k sessions). The session query (filter "all", the whole
period, limit 1000) goes through the whole request path (validation, SQL, JSON body), p50 over
several runs; in the same run plain pandas computes the same aggregation on the same rows
(already in memory): groups by (session id, name), sums, mean latency, distinct user lists,
sort by created_at DESC with session id as tie-breaker, first 1000. Both answers are compared
before any figure is reported. Also the import throughput of a Helicone export (JSONL), a page
of ``/v1/request/query-clickhouse`` the way a mirror asks for it (a whole-second ``[gte, lt)``
slice of about 1000 requests, limit 1000; default and ``quirks`` mode), and the demo generated
at 10x the size in chunks (``generate_demo_chunks``: the mirror benchmark's 10M requests).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from helicone_nb.backend import (
    DEMO_END,
    DEMO_START,
    Backend,
    generate_demo,
    generate_demo_chunks,
)

from .harness import Figure, median_time, timed

SIZES = {"smoke": (5_000, 2_000, 3), "full": (1_000_000, 200_000, 7)}
#: (requests, chunk) of the chunked generation figure.
CHUNKED = {"smoke": (20_000, 5_000), "full": (10_000_000, 1_000_000)}
BODY = json.dumps(
    {
        "search": "",
        "timeFilter": {
            "startTimeUnixMs": int(DEMO_START.timestamp() * 1000),
            "endTimeUnixMs": int(DEMO_END.timestamp() * 1000),
        },
        "timezoneDifference": 0,
        "filter": "all",
        "limit": 1000,
    }
).encode()
AUTH = {"authorization": "Bearer bench"}


def _query(backend: Backend) -> list[dict[str, Any]]:
    response = backend.handle("POST", "/v1/session/query", AUTH, BODY)
    assert response.status == 200, response.body[:500]
    return list(response.json()["data"])


def _pandas_sessions(frame: Any) -> Any:
    """The same aggregation as /v1/session/query, in plain pandas."""
    groups = frame.groupby(["session_id", "session_name"], sort=False)
    out = groups.agg(
        created_at=("request_created_at", "min"),
        latest_request_created_at=("request_created_at", "max"),
        cost=("cost", "sum"),
        total_requests=("request_id", "size"),
        prompt_tokens=("prompt_tokens", "sum"),
        completion_tokens=("completion_tokens", "sum"),
        avg_latency=("latency", "mean"),
        user_ids=("user_id", "unique"),
    ).reset_index()
    out["total_cost"] = out["cost"] / 1e9
    out["total_tokens"] = out["prompt_tokens"] + out["completion_tokens"]
    out = out.sort_values(["created_at", "session_id"], ascending=[False, True], kind="stable")
    return out.head(1000)


def run(size: str) -> list[Figure]:
    requests, export_rows, repeat = SIZES[size]
    full = size == "full"
    n = f"{requests:,}"
    figures: list[Figure] = []

    gen_s, frame = timed(lambda: generate_demo(requests, seed=0))
    figures.append(
        Figure(
            "backend",
            f"generate {n} demo requests",
            gen_s,
            "s",
            "< 10 s",
            gen_s < 10 if full else None,
        )
    )
    backend = Backend()
    import_s, _ = timed(lambda: backend.ingest_frame(frame))
    figures.append(
        Figure("backend", f"import {n} generated requests into the store", import_s, "s")
    )
    sessions = backend.session_count
    figures.append(Figure("backend", "sessions in the store", sessions, "sessions"))

    ours = _query(backend)  # warm up, and keep the answer to compare
    query_s = median_time(lambda: _query(backend), repeat)
    figures.append(
        Figure(
            "backend",
            f"session query p50 ({n} requests, limit 1000)",
            query_s * 1000,
            "ms",
            "< 1000 ms",
            query_s < 1.0 if full else None,
        )
    )

    rows = backend.store.execute(
        "SELECT request_id, session_id, session_name, request_created_at, cost, "
        "coalesce(prompt_tokens, 0) AS prompt_tokens, "
        "coalesce(completion_tokens, 0) AS completion_tokens, latency, user_id "
        "FROM requests WHERE session_id IS NOT NULL "
        "AND request_created_at > $start AND request_created_at < $end",
        {"start": DEMO_START.replace(tzinfo=None), "end": DEMO_END.replace(tzinfo=None)},
    ).df()
    expected = _pandas_sessions(rows)
    pandas_s = median_time(lambda: _pandas_sessions(rows), max(1, repeat // 2))
    got = [(r["session_id"], r["session_name"], r["total_requests"]) for r in ours]
    want = list(
        zip(
            expected["session_id"],
            expected["session_name"],
            expected["total_requests"],
            strict=True,
        )
    )
    if got != want:
        raise AssertionError("the backend and pandas disagree on the first 1000 sessions")
    figures.append(
        Figure("backend", "same aggregation in plain pandas, p50", pandas_s * 1000, "ms")
    )
    ratio = pandas_s / query_s
    figures.append(
        Figure(
            "backend",
            "pandas time / backend time",
            ratio,
            "x",
            ">= 5x",
            ratio >= 5 if full else None,
        )
    )

    figures.extend(_request_pages(backend, requests, repeat, full))

    source = backend if export_rows >= requests else Backend()
    if source is not backend:
        source.ingest_frame(generate_demo(export_rows, seed=1))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.jsonl"
        source.export_jsonl(path)
        megabytes = path.stat().st_size / 1e6
        target = Backend()
        t0 = time.perf_counter()
        report = target.ingest_jsonl(path)
        jsonl_s = time.perf_counter() - t0
        target.close()
    assert report.added == export_rows and not report.bad, report.summary()
    figures.append(
        Figure(
            "backend", f"JSONL import ({export_rows:,} requests, {megabytes:,.0f} MB)", jsonl_s, "s"
        )
    )
    figures.append(
        Figure("backend", "JSONL import throughput", export_rows / jsonl_s, "requests/s")
    )
    backend.close()

    total, chunk = CHUNKED[size]
    t0 = time.perf_counter()
    rows = sum(len(part) for part in generate_demo_chunks(total, chunk_requests=chunk))
    chunked_s = time.perf_counter() - t0
    assert rows == total
    figures.append(
        Figure(
            "backend",
            f"generate {total:,} demo requests in chunks of {chunk:,}",
            chunked_s,
            "s",
        )
    )
    return figures


def _request_pages(backend: Backend, requests: int, repeat: int, full: bool) -> list[Figure]:
    """p50 of one query-clickhouse page over a slice holding about 1000 requests."""
    row = backend.store.execute(
        "SELECT epoch(request_created_at)::BIGINT FROM requests ORDER BY request_created_at "
        "LIMIT 1 OFFSET $o",
        {"o": requests // 2},
    ).fetchone()
    assert row is not None
    start = int(row[0])
    seconds = max(1, int(1000 * (DEMO_END - DEMO_START).total_seconds() / requests))

    def iso(epoch: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))

    body = json.dumps(
        {
            "filter": {
                "left": {"request_response_rmt": {"request_created_at": {"gte": iso(start)}}},
                "operator": "and",
                "right": {
                    "request_response_rmt": {"request_created_at": {"lt": iso(start + seconds)}}
                },
            },
            "limit": 1000,
            "sort": {"created_at": "asc"},
        }
    ).encode()
    figures = []
    for quirks in (False, True):
        backend.quirks = quirks

        def page() -> int:
            answer = backend.handle("POST", "/v1/request/query-clickhouse", AUTH, body)
            assert answer.status == 201, answer.body[:300]
            return len(answer.json()["data"])

        rows = page()
        page_s = median_time(page, repeat)
        figures.append(
            Figure(
                "backend",
                f"request page p50 ({requests:,} requests, {rows} rows of a {seconds} s slice"
                f"{', quirks' if quirks else ''})",
                page_s * 1000,
                "ms",
                "< 100 ms",
                page_s < 0.1 if full else None,
            )
        )
    backend.quirks = False
    return figures
