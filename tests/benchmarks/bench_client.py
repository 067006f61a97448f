"""Paging and cache benchmark (issue 4).

Against ``helicone-nb serve`` on loopback with an injected per-request delay (100 ms at full
size), a window holding 20,000 sessions:

- cold helicone_nb pull vs the naive serial loop users write today
  (httpx + ``pd.DataFrame(resp.json()["data"])`` page after page). With the default four
  pages in flight and the count asked beside page 0 (nothing guessed before it answers, to
  spare Helicone's rate limit), 20 pages take 1 + ceil(19 / 4) = 6 round trips against the
  naive loop's 21: a ceiling of 3.5x before server time; concurrency=8 is reported too;
- warm (cached) pull vs cold (target 100x: a completed query is one cache entry);
- 100k cached sessions to a DataFrame;
- one JSON page to a typed DataFrame vs the untyped ``pd.DataFrame(json)``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from ..servers import served
from .harness import Figure, median_time

WINDOW_START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def _write_jsonl(path: Path, sessions: int) -> None:
    """One session = two requests a minute apart, spread over 20 days."""
    with path.open("w") as fh:
        for i in range(sessions):
            start = WINDOW_START + dt.timedelta(seconds=60 + i * 80)
            for j in range(2):
                t = start + dt.timedelta(seconds=30 * j)
                fh.write(
                    json.dumps(
                        {
                            "request_id": f"req-{i:07d}-{j}",
                            "request_created_at": t.isoformat().replace("+00:00", "Z"),
                            "request_user_id": f"user-{i % 300}",
                            "request_properties": {
                                "Helicone-Session-Id": f"sess-{i:07d}",
                                "Helicone-Session-Name": ("support-chat", "research-agent")[i % 2],
                            },
                            "model": "gpt-4o-mini",
                            "provider": "OPENAI",
                            "response_status": 200,
                            "delay_ms": 300 + (i * 7) % 900,
                            "prompt_tokens": 200 + i % 50,
                            "completion_tokens": 80 + i % 30,
                            "total_tokens": 280 + i % 80,
                            "cost": 0.0001 * (1 + i % 9),
                        }
                    )
                    + "\n"
                )


def _window(sessions: int) -> tuple[dt.datetime, dt.datetime]:
    return WINDOW_START, WINDOW_START + dt.timedelta(seconds=120 + sessions * 80)


def _naive(url: str, start: dt.datetime, end: dt.datetime, page: int) -> pd.DataFrame:
    """What users write today: a serial offset loop and an untyped DataFrame per page."""
    frames = []
    offset = 0
    with httpx.Client(headers={"Authorization": "Bearer bench"}, timeout=60) as http:
        while True:
            resp = http.post(
                f"{url}/v1/session/query",
                json={
                    "search": "",
                    "timezoneDifference": 0,
                    "filter": "all",
                    "timeFilter": {
                        "startTimeUnixMs": start.timestamp() * 1000,
                        "endTimeUnixMs": end.timestamp() * 1000,
                    },
                    "offset": offset,
                    "limit": page,
                },
            )
            rows = resp.json()["data"]
            frames.append(pd.DataFrame(rows))
            if len(rows) < page:
                break
            offset += page
    return pd.concat(frames, ignore_index=True)


def run(size: str) -> list[Figure]:
    from pydantic_core import from_json

    import helicone_nb as hnb
    from helicone_nb._frames import sessions_frame
    from helicone_nb.backend import Backend, InProcessTransport

    full = size == "full"
    sessions = 20_000 if full else 1_200
    delay_ms = 100 if full else 20
    page = 1000 if full else 100
    big = 100_000 if full else 3_000
    figures: list[Figure] = []
    name = "paging+cache"
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        jsonl = tmpdir / "requests.jsonl"
        _write_jsonl(jsonl, sessions)
        db = tmpdir / "bench.duckdb"
        backend = Backend(db)
        backend.ingest_jsonl(jsonl)
        backend.close()
        start, end = _window(sessions)
        serve_args = ("--db", str(db), "--delay-ms", str(delay_ms), "--log-level", "warning")
        with served(*serve_args, log=tmpdir / "serve.log") as url:
            t0 = time.perf_counter()
            naive = _naive(url, start, end, page)
            naive_s = time.perf_counter() - t0
            client = hnb.Client(
                "bench", base_url=url, cache=tmpdir / "cache", page_size=page, progress=False
            )
            t0 = time.perf_counter()
            cold = client.fetch_sessions(start, end)
            cold_s = time.perf_counter() - t0
            cold_requests = client.last_fetch.requests
            t0 = time.perf_counter()
            warm = client.fetch_sessions(start, end)
            first_warm_s = time.perf_counter() - t0
            assert client.last_fetch.requests == 0, "warm call went to the network"
            warm_s = median_time(lambda: client.fetch_sessions(start, end), 7)
            assert len(cold) == len(naive) == len(warm) == sessions, (len(cold), len(naive))
            client.close()
            wide = hnb.Client(
                "bench",
                base_url=url,
                cache=False,
                page_size=page,
                progress=False,
                concurrency=8,
            )
            t0 = time.perf_counter()
            assert len(wide.fetch_sessions(start, end)) == sessions
            wide_s = time.perf_counter() - t0
            wide.close()
        pages = -(-sessions // page)
        naive_trips = pages + (sessions % page == 0)  # it stops at the first short page
        trips = 1 + -(-(pages - 1) // 4)  # count beside page 0, then 4 pages at a time
        wide_trips = 1 + -(-(pages - 1) // 8)
        ceiling = naive_trips / trips
        figures += [
            Figure(
                name,
                f"naive serial loop, {sessions:,} sessions, {delay_ms} ms/request",
                naive_s,
                "s",
            ),
            Figure(name, f"cold helicone_nb pull ({cold_requests} requests)", cold_s, "s"),
            Figure(
                name,
                "cold speed-up vs naive",
                naive_s / cold_s,
                "x",
                ">= 4x",
                naive_s / cold_s >= 4,
            ),
            Figure(
                name,
                "cold speed-up ceiling (round trips)",
                ceiling,
                "x",
                f"{trips} vs {naive_trips}",
            ),
            Figure(name, "cold speed-up measured / ceiling", naive_s / cold_s / ceiling, "ratio"),
            Figure(name, "cold pull with concurrency=8 (not the default)", wide_s, "s"),
            Figure(name, "concurrency=8 speed-up vs naive", naive_s / wide_s, "x"),
            Figure(
                name,
                "concurrency=8 measured / ceiling",
                naive_s / wide_s / (naive_trips / wide_trips),
                "ratio",
                f"{wide_trips} round trips",
            ),
            Figure(name, "warm (cached) pull, first re-run", first_warm_s, "s"),
            Figure(name, "warm (cached) pull, median of 7 re-runs", warm_s, "s"),
            Figure(
                name,
                "warm speed-up vs cold",
                cold_s / warm_s,
                "x",
                ">= 100x",
                cold_s / warm_s >= 100,
            ),
        ]

        # 100k cached sessions to a DataFrame (cache filled through the in-process backend)
        jsonl_big = tmpdir / "big.jsonl"
        _write_jsonl(jsonl_big, big)
        backend = Backend(":memory:")
        backend.ingest_jsonl(jsonl_big)
        bstart, bend = _window(big)
        client = hnb.Client(
            "bench",
            base_url="http://bench.invalid",
            progress=False,
            transport=InProcessTransport(backend),
            cache=tmpdir / "cache-big",
        )
        client.fetch_sessions(bstart, bend)
        warm_big = median_time(lambda: client.fetch_sessions(bstart, bend), 5)
        assert client.last_fetch.requests == 0
        figures.append(
            Figure(
                name,
                f"{big:,} cached sessions to DataFrame",
                warm_big,
                "s",
                "< 0.5 s",
                warm_big < 0.5,
            )
        )

        # one 1000-row JSON page to a DataFrame: typed vs naive
        response = client._http.post(
            "/v1/session/query",
            json={
                "search": "",
                "timezoneDifference": 0,
                "filter": "all",
                "timeFilter": {
                    "startTimeUnixMs": bstart.timestamp() * 1000,
                    "endTimeUnixMs": bend.timestamp() * 1000,
                },
                "offset": 0,
                "limit": 1000,
            },
            headers={"Authorization": "Bearer bench"},
        )
        body = response.content
        reps = 200 if full else 20
        naive_page = median_time(lambda: pd.DataFrame(json.loads(body)["data"]), reps)
        typed_page = median_time(lambda: sessions_frame(from_json(body)["data"]), reps)
        client.close()
        backend.close()
        figures += [
            Figure(name, "1000-row JSON page -> naive untyped DataFrame", naive_page * 1e3, "ms"),
            Figure(name, "1000-row JSON page -> typed DataFrame", typed_page * 1e3, "ms"),
            Figure(
                name,
                "typed / naive page time",
                typed_page / naive_page,
                "ratio",
                "<= 1.0",
                typed_page / naive_page <= 1.0,
            ),
        ]
    return figures


def _main(argv: list[str]) -> Any:  # pragma: no cover - manual use
    from .harness import format_table

    print(format_table(run(argv[1] if len(argv) > 1 else "full")))


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv)
