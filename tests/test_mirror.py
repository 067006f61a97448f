"""The mirror store: format, readers, the engine over a mirror, bad input (no network)."""

from __future__ import annotations

import dataclasses
import errno
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb.backend import Backend, InProcessTransport, generate_demo
from helicone_nb.mirror import (
    Mirror,
    MirrorCorruptError,
    MirrorError,
    NotAMirrorError,
    _files,
)

DEMO_REQUESTS = 3_000


@pytest.fixture(scope="module")
def demo_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "export.jsonl"
    with Backend() as backend:
        backend.ingest_frame(generate_demo(DEMO_REQUESTS, seed=3))
        backend.export_jsonl(path)
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[Backend]:
    with Backend() as backend:
        backend.ingest_frame(generate_demo(DEMO_REQUESTS, seed=3))
        yield backend


@pytest.fixture(scope="module")
def mirror_path(tmp_path_factory: pytest.TempPathFactory, demo_jsonl: Path) -> Path:
    path = tmp_path_factory.mktemp("m") / "mirror"
    Mirror(path).import_jsonl(demo_jsonl)
    return path


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# -- format -------------------------------------------------------------------------------


def test_layout_is_hive_parquet_by_day_readable_without_helicone_nb(mirror_path: Path) -> None:
    manifest = json.loads((mirror_path / "mirror.json").read_text())
    assert manifest["format"] == "helicone_nb.mirror"
    assert manifest["rows"] == DEMO_REQUESTS
    days = sorted(p.name for p in (mirror_path / "requests").iterdir())
    assert days and all(d.startswith("day=") for d in days)
    assert days == [f"day={d}" for d in manifest["partitions"]]
    # a plain glob read (any engine) sees exactly one version per request
    con = duckdb.connect()
    n, ids, day_ok = con.execute(
        f"SELECT count(*), count(DISTINCT request_id), "
        f"bool_and(strftime(request_created_at, '%Y-%m-%d') = CAST(day AS VARCHAR)) "
        f"FROM read_parquet('{mirror_path}/requests/*/*.parquet', hive_partitioning = true)"
    ).fetchone()  # type: ignore[misc]
    assert n == ids == DEMO_REQUESTS and day_ok
    # bodies are not copied
    cols = {
        r[0]
        for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{mirror_path}/requests/*/*.parquet')"
        ).fetchall()
    }
    assert "request_body" not in cols and "response_body" not in cols


def test_no_key_is_ever_stored(tmp_path: Path, demo_jsonl: Path) -> None:
    mirror = Mirror(tmp_path / "m")
    mirror.import_jsonl(demo_jsonl)
    assert "sk-" not in (tmp_path / "m" / "mirror.json").read_text()


def test_info_and_sql(mirror_path: Path, server: Backend) -> None:
    mirror = Mirror(mirror_path)
    info = mirror.info()
    assert info.requests == DEMO_REQUESTS and info.days >= 80
    assert "requests over" in str(info)
    df = mirror.sql("SELECT count(*) AS n, sum(cost) AS nano FROM request_response_rmt")
    expected = server.store.execute("SELECT count(*), sum(cost) FROM requests").fetchone()
    assert (int(df.n[0]), int(df.nano[0])) == expected
    # HQL column names (REQUEST_API 5.1)
    cols = set(mirror.sql("SELECT * FROM request_response_rmt LIMIT 1").columns)
    assert {
        "latency",
        "status",
        "user_id",
        "properties",
        "scores",
        "cache_reference_id",
        "prompt_cache_read_tokens",
        "storage_location",
        "assets",
    } <= cols
    by_model = mirror.sql(
        "SELECT model, count(*) AS n FROM request_response_rmt GROUP BY 1 ORDER BY 1"
    )
    assert int(by_model.n.sum()) == DEMO_REQUESTS
    with pytest.raises(MirrorError, match="non-empty"):
        mirror.sql("  ")


def test_export_parquet(mirror_path: Path, tmp_path: Path) -> None:
    out = Mirror(mirror_path).export_parquet(tmp_path / "out")
    n = (
        duckdb.connect()
        .execute(
            f"SELECT count(DISTINCT request_id) FROM read_parquet('{out}/*/*.parquet', "
            "hive_partitioning = true)"
        )
        .fetchone()
    )
    assert n == (DEMO_REQUESTS,)
    with pytest.raises(MirrorError, match="not an empty directory"):
        Mirror(mirror_path).export_parquet(out)


# -- the engine over a mirror -------------------------------------------------------------


def _server_client(backend: Backend) -> hnb.Client:
    return hnb.Client(
        "test", base_url="http://server.test", transport=InProcessTransport(backend), cache=False
    )


def test_mirror_client_answers_like_the_server(mirror_path: Path, server: Backend) -> None:
    remote = _server_client(server)
    local = Mirror(mirror_path).client()
    rng = random.Random(5)
    day = pd.Timestamp("2025-06-02", tz="UTC")
    names = sorted(remote.session_names()["name"])
    for _ in range(12):
        start = day + pd.Timedelta(hours=rng.randrange(0, 80 * 24))
        end = start + pd.Timedelta(hours=rng.choice([1, 6, 24, 24 * 10]))
        kwargs: dict[str, object] = {}
        if rng.random() < 0.3:
            kwargs["search"] = rng.choice(["a", "re", "1"])
        if rng.random() < 0.3:
            kwargs["name"] = rng.choice(names)
        if rng.random() < 0.3:
            kwargs["filter"] = hnb.request.model == "gpt-4o-mini"
        a = remote.fetch_sessions(start, end, **kwargs)  # type: ignore[arg-type]
        b = local.fetch_sessions(start, end, **kwargs)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(a, b)
        assert remote.count_sessions(start, end, **kwargs) == local.count_sessions(  # type: ignore[arg-type]
            start, end, **kwargs
        )
    pd.testing.assert_frame_equal(remote.session_names("a"), local.session_names("a"))
    sid = remote.fetch_sessions("2025-07-01", "2025-07-02")["session_id"][0]
    pd.testing.assert_frame_equal(
        remote.fetch_session_requests(sid), local.fetch_session_requests(sid)
    )


# -- upserts ------------------------------------------------------------------------------


def test_reimport_keeps_one_version_newest_wins(tmp_path: Path, demo_jsonl: Path) -> None:
    rows = _lines(demo_jsonl)[:200]
    mirror = Mirror(tmp_path / "m")
    mirror.import_jsonl(_write(tmp_path / "a.jsonl", rows))
    changed = [dict(r, model="changed-model") for r in rows[:50]]
    mirror.import_jsonl(_write(tmp_path / "b.jsonl", changed))
    df = mirror.sql("SELECT request_id, model FROM requests")
    assert len(df) == 200 and df.request_id.is_unique
    assert (df.model == "changed-model").sum() == 50
    # at rest a glob sees one version per request (superseded files were deleted)
    n = (
        duckdb.connect()
        .execute(f"SELECT count(*) FROM read_parquet('{tmp_path}/m/requests/*/*.parquet')")
        .fetchone()
    )
    assert n == (200,)


# -- bad input ----------------------------------------------------------------------------


def test_not_a_mirror(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotAMirrorError, match="is a file"):
        Mirror(tmp_path / "file")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "notes.txt").write_text("x")
    with pytest.raises(NotAMirrorError, match="not a helicone_nb mirror"):
        Mirror(tmp_path / "dir")
    with pytest.raises(MirrorError, match=r"no mirror at .* yet"):
        Mirror(tmp_path / "new").sql("SELECT 1")
    assert isinstance(NotAMirrorError("x"), hnb.UsageError)


def test_corrupted_partition_is_a_clear_error_and_repair_drops_the_day(
    tmp_path: Path, demo_jsonl: Path
) -> None:
    mirror = Mirror(tmp_path / "m")
    mirror.import_jsonl(demo_jsonl)
    manifest = json.loads((tmp_path / "m" / "mirror.json").read_text())
    day, files = next(iter(manifest["partitions"].items()))
    victim = tmp_path / "m" / files[0]["path"]
    victim.write_bytes(victim.read_bytes()[: files[0]["bytes"] // 2])  # half-written
    with pytest.raises(MirrorCorruptError, match=f"{day}.*repair"):
        mirror.sql("SELECT count(*) FROM requests")
    before = (tmp_path / "m" / "mirror.json").read_text()
    with pytest.raises(MirrorCorruptError):
        mirror.client()
    assert (tmp_path / "m" / "mirror.json").read_text() == before  # left as it was
    assert mirror.repair() == [day]
    n = mirror.sql("SELECT count(*) AS n FROM requests").n[0]
    assert n == DEMO_REQUESTS - files[0]["rows"]


def test_garbage_with_the_right_size_is_reported(tmp_path: Path, demo_jsonl: Path) -> None:
    mirror = Mirror(tmp_path / "m")
    mirror.import_jsonl(demo_jsonl)
    manifest = json.loads((tmp_path / "m" / "mirror.json").read_text())
    f = next(iter(manifest["partitions"].values()))[0]
    (tmp_path / "m" / f["path"]).write_bytes(b"x" * f["bytes"])
    with pytest.raises(MirrorCorruptError, match="cannot be read"):
        mirror.sql("SELECT sum(cost) FROM requests")


def test_full_disk_leaves_the_mirror_as_it_was(
    tmp_path: Path, demo_jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _lines(demo_jsonl)
    mirror = Mirror(tmp_path / "m")
    mirror.import_jsonl(_write(tmp_path / "a.jsonl", rows[:1000]))
    before = (tmp_path / "m" / "mirror.json").read_text()
    files_before = sorted(p for p in (tmp_path / "m").rglob("*") if p.is_file())
    real_copy = _files.copy_to
    calls = {"n": 0}

    def full(
        con: duckdb.DuckDBPyConnection, sql: str, params: object = None
    ) -> list[tuple[object, ...]]:
        calls["n"] += 1
        if calls["n"] == 2:  # staging succeeds, the partition write hits a full disk
            real_copy(con, sql, params)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(con, sql, params)

    monkeypatch.setattr(_files, "copy_to", full)
    with pytest.raises(MirrorError, match=r"disk .* is full; nothing was changed"):
        mirror.import_jsonl(_write(tmp_path / "b.jsonl", rows[1000:2000]))
    assert (tmp_path / "m" / "mirror.json").read_text() == before
    assert sorted(p for p in (tmp_path / "m").rglob("*") if p.is_file()) == files_before
    monkeypatch.setattr(_files, "copy_to", real_copy)
    mirror.import_jsonl(tmp_path / "b.jsonl")
    assert mirror.info().requests == 2000


def test_one_writer_at_a_time(tmp_path: Path, demo_jsonl: Path) -> None:
    mirror = Mirror(tmp_path / "m")
    with (
        _files.writer_lock(tmp_path / "m"),
        pytest.raises(MirrorError, match="being written by pid"),
    ):
        mirror.import_jsonl(demo_jsonl)


def test_mirror_fetch_requests_fast_path_equals_the_paged_one(mirror_path: Path) -> None:
    client = Mirror(mirror_path).client()
    for start, end, tz, top in (
        ("2025-06-01", "2025-09-01", "UTC", None),
        ("2025-07-01T10:00:00.5", "2025-07-09", "Europe/Berlin", 25),
    ):
        fast = client.fetch_requests(start, end, tz=tz, max_requests=top)
        paged = hnb.Client.fetch_requests(client, start, end, tz=tz, max_requests=top, cache=False)
        assert len(fast) > 0
        pd.testing.assert_frame_equal(fast, paged)
    filtered = client.fetch_requests("2025-06-01", "2025-09-01", filter=hnb.request.status != 200)
    assert (filtered.status != 200).all() and len(filtered) > 0


@pytest.mark.parametrize("case", ["collision", "too many keys"])
def test_fast_path_maps_fall_back_to_exact_matching(
    mirror_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Two maps taken for one by their hash (planted: every map hashes alike, the reverse
    hash differs), or more map keys than hashed: each row still gets its own map."""
    from helicone_nb.mirror import _local

    client = Mirror(mirror_path).client()
    expected = client.fetch_requests("2025-06-01", "2025-09-01")
    real = _local._map_plan

    def planted(expr: str, keys: list[str], exclude: set[str]) -> Any:
        plan = real(expr, keys, exclude)
        if case == "collision":
            return dataclasses.replace(plan, hash="42::UBIGINT")
        monkeypatch.setattr(_local, "_MAP_KEYS_MAX", 0)
        return real(expr, keys, exclude)

    monkeypatch.setattr(_local, "_map_plan", planted)
    got = client.fetch_requests("2025-06-01", "2025-09-01")
    pd.testing.assert_frame_equal(got, expected)
    assert got.properties.map(len).nunique() > 1


def test_connect_mirror(mirror_path: Path) -> None:
    client = hnb.connect(mirror=mirror_path)
    assert client.count_sessions("2025-06-01", "2025-09-01").count > 0
    with pytest.raises(TypeError, match="not both"):
        hnb.connect(demo=True, mirror=mirror_path)
    served = Mirror(mirror_path).backend(api_key="local", quirks=True)
    assert served.request_count == DEMO_REQUESTS and served.quirks


def test_an_empty_window_outside_the_mirror_warns_with_its_range(mirror_path: Path) -> None:
    client = Mirror(mirror_path).client()
    with pytest.warns(hnb.EmptyWindowWarning, match="outside the data this client holds"):
        assert client.fetch_sessions("2024-01-01", "2024-02-01").empty
    with pytest.warns(hnb.EmptyWindowWarning, match="no requests"):
        assert client.fetch_requests("2024-01-01", "2024-02-01").empty
