"""Mirror benchmark (issue 12).

Against ``helicone-nb serve --demo`` with 1,000,000 requests and 100 ms injected per call
(smoke: 5,000 requests, 5 ms):

- first ``helicone-nb sync`` (default concurrency, a subprocess: wall time, calls, requests/s,
  peak RSS) vs the ``@helicone/export`` approach on the same server (REQUEST_API.md section 6:
  one window, newest first, serial offset pages of 1000 until an empty page, every row
  written as a JSONL line);
- a re-sync with nothing new: calls and seconds;
- on the synced mirror: a random session query (window and filter), p50 over 20, and
  ``fetch_requests`` of every row to a DataFrame; the same two for 10,000,000 requests
  (generated from the synced mirror, ten copies with new ids; full size only).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from ..servers import ROOT, served
from .harness import Figure, frame_megabytes, median_time

DEMO_START = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
DEMO_END = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
NAME = "mirror"


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _export(url: str, out: Path) -> tuple[float, int, int]:
    """The ``@helicone/export`` loop: (seconds, calls, rows written)."""
    body = {
        "filter": {
            "left": {"request_response_rmt": {"request_created_at": {"gte": _iso(DEMO_START)}}},
            "operator": "and",
            "right": {"request_response_rmt": {"request_created_at": {"lte": _iso(DEMO_END)}}},
        },
        "sort": {"created_at": "desc"},
        "limit": 1000,
        "isCached": False,
    }
    calls = rows = offset = 0
    t0 = time.perf_counter()
    with (
        httpx.Client(headers={"Authorization": "Bearer bench"}, timeout=600) as http,
        out.open("w") as fh,
    ):
        while True:
            resp = http.post(f"{url}/v1/request/query-clickhouse", json={**body, "offset": offset})
            calls += 1
            resp.raise_for_status()
            data = resp.json()["data"]
            if not data:
                break
            for row in data:
                fh.write(json.dumps(row) + "\n")
            rows += len(data)
            offset += 1000
    return time.perf_counter() - t0, calls, rows


def _sync_cli(url: str, path: Path) -> tuple[float, int, float, float]:
    """``helicone-nb sync`` in a subprocess: (seconds, calls, peak RSS in MiB, seconds it
    reports for itself, without the interpreter's start-up)."""
    env = {**os.environ, "HELICONE_API_KEY": "bench", "PYTHONPATH": str(ROOT)}
    args = [
        sys.executable,
        "-m",
        "helicone_nb.cli",
        "sync",
        "--db",
        str(path),
        "--base-url",
        url,
        "--start",
        DEMO_START.isoformat(),
        "--end",
        DEMO_END.isoformat(),
        "--quiet",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_bytes, err_bytes = b"", b""
    # read the pipes while waiting for this child alone (wait4 gives its own peak RSS)
    import threading

    def drain() -> None:
        nonlocal out_bytes, err_bytes
        assert proc.stdout is not None and proc.stderr is not None
        with proc.stdout, proc.stderr:
            out_bytes = proc.stdout.read()
            err_bytes = proc.stderr.read()

    reader = threading.Thread(target=drain)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    seconds = time.perf_counter() - t0
    out = out_bytes.decode()
    if proc.returncode != 0:
        raise AssertionError(f"sync failed: {err_bytes.decode()[-2000:]}")
    found = re.search(r"in ([\d,]+) calls, ([\d.]+) s", out)
    assert found is not None, out
    calls, own = int(found.group(1).replace(",", "")), float(found.group(2))
    return seconds, calls, usage.ru_maxrss / 1024, own


def _queries(client: object, rng: random.Random) -> list[tuple[object, ...]]:
    import helicone_nb as hnb

    out = []
    for _ in range(20):
        start = DEMO_START + dt.timedelta(minutes=rng.randrange(0, 80 * 24 * 60))
        end = start + dt.timedelta(hours=rng.choice([6, 24, 24 * 7, 24 * 30]))
        flt = rng.choice(
            [
                None,
                hnb.request.model == "gpt-4o-mini",
                hnb.session.total_cost > 0.01,
                hnb.prop("environment") == "production",
            ]
        )
        out.append((start, end, flt))
    return out


def _on_mirror(path: Path, label: str, figures: list[Figure], rows: int) -> None:
    from helicone_nb import Mirror

    mirror = Mirror(path)
    t0 = time.perf_counter()
    client = mirror.client()
    figures.append(
        Figure(NAME, f"{label}: load mirror into the engine", time.perf_counter() - t0, "s")
    )
    queries = iter(_queries(client, random.Random(7)))

    def one() -> None:
        start, end, flt = next(queries)
        client.fetch_sessions(start, end, filter=flt)

    p50 = median_time(one, 20)
    figures.append(
        Figure(
            NAME,
            f"{label}: random session query p50 of 20",
            p50 * 1000,
            "ms",
            "< 100 ms" if rows <= 1_000_000 else "report",
            p50 < 0.1 if rows <= 1_000_000 else None,
        )
    )
    t0 = time.perf_counter()
    df = client.fetch_requests(DEMO_START, DEMO_END)
    took = time.perf_counter() - t0
    assert len(df) == rows, (len(df), rows)
    figures.append(
        Figure(
            NAME,
            f"{label}: fetch_requests of all {rows:,} rows",
            took,
            "s",
            "< 2 s" if rows <= 1_000_000 else "report",
            took < 2 if rows <= 1_000_000 else None,
        )
    )
    if rows <= 1_000_000:
        mb = frame_megabytes(df)
        figures.append(
            Figure(
                NAME,
                f"{label}: that frame's memory (each object once)",
                mb,
                "MB",
                "< 400 MB" if rows == 1_000_000 else "",
                mb < 400 if rows == 1_000_000 else None,
            )
        )
    del df
    mirror.close()


def _generate_10x(source: Path, target: Path) -> int:
    """Ten copies of ``source`` with new request and session ids, written as a mirror.

    Generated, not synced: one DuckDB ``COPY`` into the day partitions (ids are unique by
    construction, so no merge), then a manifest naming the files.
    """
    from helicone_nb.mirror import _files
    from helicone_nb.mirror._manifest import PartitionFile, read_manifest, write_manifest

    manifest = read_manifest(source)
    assert manifest is not None
    files = _files.files_sql(source, manifest.files, manifest.columns)
    copies = " UNION ALL ".join(
        f"""SELECT * REPLACE (
                request_id || '-{k}' AS request_id,
                session_id || '-{k}' AS session_id,
                map_from_entries(list_transform(map_entries(properties), lambda e:
                    CASE WHEN e.key = 'Helicone-Session-Id'
                         THEN {{'key': e.key, 'value': e.value || '-{k}'}} ELSE e END))
                    AS properties)
            FROM {files}"""
        for k in range(10)
    )
    (target / "requests").mkdir(parents=True)
    con = _files.connect(target / ".tmp")
    con.execute("SET memory_limit = '8GB'")  # the generator's own budget, not the mirror's
    stats = con.execute(
        f"""COPY (SELECT *, strftime(request_created_at, '%Y-%m-%d') AS day FROM ({copies}))
            TO '{target / "requests"}' (FORMAT parquet, PARTITION_BY (day),
            FILENAME_PATTERN 'g000001-{{i}}', RETURN_STATS)"""
    ).fetchall()
    con.close()
    new = _files.new_manifest()
    new.generation = 1
    new.columns = dict(manifest.columns)
    for name, rows, size, *_ in stats:
        rel = Path(str(name)).relative_to(target).as_posix()
        day = rel.split("day=", 1)[1].split("/", 1)[0]
        new.partitions.setdefault(day, []).append(PartitionFile(rel, int(rows), int(size)))
    write_manifest(target, new)
    return new.rows


class _Figures(list[Figure]):
    """Figures, each also printed as it is measured (a long run that fails keeps them)."""

    def append(self, f: Figure) -> None:
        super().append(f)
        print(f"  {f.metric}: {f.value:,.3f} {f.unit} {f.target}", file=sys.stderr, flush=True)

    def extend(self, more: Iterable[Figure]) -> None:
        for f in more:
            self.append(f)


def run(size: str, *, export: bool = True) -> list[Figure]:
    """``HNB_BENCH_DIR=path`` keeps the server's data, the export and the mirrors there."""
    full = size == "full"
    requests = 1_000_000 if full else 5_000
    delay = "100" if full else "5"
    figures = _Figures()
    keep = os.environ.get("HNB_BENCH_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(keep or tmp)
        base.mkdir(parents=True, exist_ok=True)
        with served(
            "--demo",
            "--demo-requests",
            str(requests),
            "--delay-ms",
            delay,
            "--log-level",
            "warning",
        ) as url:
            export_s, export_calls, export_rows = (
                _export(url, base / "export.jsonl") if export else (float("nan"), 0, 0)
            )
            sync_s, sync_calls, rss, own_s = _sync_cli(url, base / "mirror")
            from helicone_nb import Client, Mirror

            client = Client("bench", base_url=url, cache=False)
            t0 = time.perf_counter()
            again = Mirror(base / "mirror").sync(client, end=DEMO_END)
            resync_s = time.perf_counter() - t0
            client.close()
        label = f"{requests:,} requests, {delay} ms/call"
        figures.extend(
            [
                Figure(NAME, f"{label}: @helicone/export loop", export_s, "s"),
                Figure(
                    NAME,
                    f"{label}: @helicone/export calls ({export_rows:,} rows)",
                    export_calls,
                    "calls",
                ),
                Figure(NAME, f"{label}: first sync (subprocess, concurrency 8)", sync_s, "s"),
                Figure(NAME, f"{label}: first sync as it reports itself (no start-up)", own_s, "s"),
                Figure(NAME, f"{label}: first sync calls", sync_calls, "calls"),
                Figure(NAME, f"{label}: first sync rate", requests / sync_s, "requests/s"),
                Figure(
                    NAME,
                    f"{label}: sync speed-up vs export",
                    export_s / sync_s,
                    "x",
                    ">= 4x",
                    export_s / sync_s >= 4 if full else None,
                ),
                Figure(NAME, f"{label}: sync peak RSS", rss, "MiB", "< 1024 MiB", rss < 1024),
                Figure(
                    NAME, f"{label}: re-sync, nothing new", resync_s, "s", "< 2 s", resync_s < 2
                ),
                Figure(
                    NAME, f"{label}: re-sync calls", again.calls, "calls", "a few", again.calls <= 5
                ),
            ]
        )
        _on_mirror(base / "mirror", f"{requests:,} synced", figures, requests)
        if full:
            big = _generate_10x(base / "mirror", base / "mirror10")
            _on_mirror(base / "mirror10", f"{big:,} generated", figures, big)
    return figures
