"""Syncing a mirror from a Helicone-compatible server (the embedded backend; no network)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb.backend import Backend, FaultPlan, InProcessTransport, generate_demo
from helicone_nb.mirror import Mirror, MirrorError, MirrorOrganizationError, _files

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = 6_000
SEED = 21
START, END = "2025-06-01", "2025-09-01"


def _backend(**kwargs: object) -> Backend:
    backend = Backend(**kwargs)  # type: ignore[arg-type]
    backend.ingest_frame(generate_demo(REQUESTS, seed=SEED))
    return backend


def _client(backend: Backend, key: str = "key", **kwargs: object) -> hnb.Client:
    return hnb.Client(
        key,
        base_url="http://helicone.test",
        transport=InProcessTransport(backend),
        cache=False,
        retries=hnb.RetryPolicy(max_retries=8, backoff=0.01, max_backoff=0.05),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def server() -> Iterator[Backend]:
    with _backend() as backend:
        yield backend


@pytest.fixture(scope="module")
def clean(server: Backend, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clean") / "m"
    report = Mirror(path).sync(_client(server), START, END)
    assert report.complete and report.added == REQUESTS
    return path


def content(path: Path) -> pd.DataFrame:
    return Mirror(path).sql("SELECT * FROM requests ORDER BY request_id").reset_index(drop=True)


# -- answers ------------------------------------------------------------------------------


def test_a_synced_mirror_answers_random_session_queries_like_the_server(
    server: Backend, clean: Path
) -> None:
    remote, local = _client(server), Mirror(clean).client()
    rng = random.Random(12)
    base = pd.Timestamp("2025-06-02", tz="UTC")
    names = list(remote.session_names()["name"])
    assert names
    checked = 0
    for _ in range(15):
        start = base + pd.Timedelta(minutes=rng.randrange(0, 85 * 24 * 60))
        end = start + pd.Timedelta(hours=rng.choice([2, 24, 24 * 7, 24 * 40]))
        kwargs: dict[str, object] = {}
        if rng.random() < 0.3:
            kwargs["search"] = rng.choice(["a", "re", "7"])
        if rng.random() < 0.3:
            kwargs["name"] = rng.choice(names)
        if rng.random() < 0.4:
            kwargs["filter"] = rng.choice(
                [
                    hnb.request.model == "gpt-4o-mini",
                    hnb.request.status != 200,
                    hnb.session.total_cost > 0.01,
                    hnb.prop("environment") == "production",
                ]
            )
        expected = remote.fetch_sessions(start, end, **kwargs)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(local.fetch_sessions(start, end, **kwargs), expected)  # type: ignore[arg-type]
        assert local.count_sessions(start, end, **kwargs) == remote.count_sessions(  # type: ignore[arg-type]
            start, end, **kwargs
        )
        checked += len(expected)
    assert checked > 50
    pd.testing.assert_frame_equal(local.session_names("a"), remote.session_names("a"))
    sid = str(remote.fetch_sessions("2025-07-01", "2025-07-03")["session_id"][0])
    pd.testing.assert_frame_equal(
        local.fetch_session_requests(sid), remote.fetch_session_requests(sid)
    )
    pd.testing.assert_frame_equal(
        local.fetch_requests("2025-07-01", "2025-07-08"),
        remote.fetch_requests("2025-07-01", "2025-07-08"),
    )


def test_resync_with_nothing_new_costs_a_few_calls_and_says_so(
    server: Backend, clean: Path, tmp_path: Path
) -> None:
    import shutil

    path = tmp_path / "m"
    shutil.copytree(clean, path)
    report = Mirror(path).sync(_client(server), end=END)
    assert report.calls <= 3
    assert report.added == report.updated == 0
    assert str(report).startswith(f"mirror {path}: nothing new")
    pd.testing.assert_frame_equal(content(path), content(clean))


# -- late rows ----------------------------------------------------------------------------


def _late_rows(n: int, at: str, seed: int) -> pd.DataFrame:
    frame = generate_demo(1_000, seed=seed).head(n).copy()
    frame["request_created_at"] = pd.Timestamp(at) + pd.to_timedelta(range(n), unit="s")
    frame["request_id"] = [f"late-{seed}-{i:05d}" for i in range(n)]
    return frame


def test_late_rows_within_settle_and_rescan_are_picked_up(tmp_path: Path) -> None:
    with _backend() as backend:
        client = _client(backend)
        mirror = Mirror(tmp_path / "m")
        mirror.sync(client, START, "2025-08-20T12:00:00")
        # rows that arrive late: 20 minutes before the synced end (inside the 1 h settle),
        # new rows after it, and rows of last week (only a rescan sees them)
        backend.ingest_frame(_late_rows(5, "2025-08-20T11:40:00", 1))
        backend.ingest_frame(_late_rows(7, "2025-08-21T00:00:00", 2))
        backend.ingest_frame(_late_rows(3, "2025-08-14T00:00:00", 3))
        report = mirror.sync(client, end="2025-08-25")
        assert report.added >= 12
        ids = set(mirror.sql("SELECT request_id FROM requests").request_id)
        assert {f"late-1-{i:05d}" for i in range(5)} <= ids
        assert {f"late-2-{i:05d}" for i in range(7)} <= ids
        assert not {f"late-3-{i:05d}" for i in range(3)} & ids
        mirror.sync(client, end="2025-08-25", rescan="30d")
        ids = set(mirror.sql("SELECT request_id FROM requests").request_id)
        assert {f"late-3-{i:05d}" for i in range(3)} <= ids
        expected = backend.store.execute(
            "SELECT count(*) FROM requests WHERE request_created_at < '2025-08-25'"
        ).fetchone()
        assert (mirror.info().requests,) == expected


# -- faults, budgets, kills -----------------------------------------------------------------


def test_a_sync_under_30_percent_faults_ends_identical_to_a_clean_one(tmp_path: Path) -> None:
    # against quirks mode: 64-bit numbers as strings, ClickHouse timestamps, and unmerged
    # versions of scored requests, as production Helicone answers
    with _backend(quirks=True) as calm:
        Mirror(tmp_path / "clean").sync(_client(calm), START, END)
    plan = FaultPlan(
        0.3,
        kinds="500,502,503,504,429,drop,truncate,timeout",
        seed=4,
        retry_after=0.05,
        stall_s=0.3,
    )
    with _backend(faults=plan, quirks=True) as backend:
        report = Mirror(tmp_path / "m").sync(
            _client(backend, timeout=0.2, page_size=100), START, END
        )
    assert sum(plan.injected.values()) > 20
    assert report.complete
    pd.testing.assert_frame_equal(content(tmp_path / "m"), content(tmp_path / "clean"))


def test_max_calls_caps_a_run_and_the_next_continues(
    server: Backend, clean: Path, tmp_path: Path
) -> None:
    mirror = Mirror(tmp_path / "m")
    first = mirror.sync(_client(server), START, END, max_calls=6)
    assert first.budget_reached and not first.complete and first.calls <= 6
    assert "--max-calls reached" in str(first)
    assert mirror.info().sync_in_progress
    for _ in range(50):
        report = mirror.sync(_client(server), end=END, max_calls=6)
        if report.complete:
            break
    assert report.complete
    pd.testing.assert_frame_equal(content(tmp_path / "m"), content(clean))


_SYNC_SCRIPT = """
import sys
import helicone_nb as hnb
from helicone_nb.backend import Backend, InProcessTransport, generate_demo
from helicone_nb.mirror import Mirror, _sync
_sync.FLUSH_SECONDS = 0.05
backend = Backend(delay_s=0.01)
backend.ingest_frame(generate_demo({requests}, seed={seed}))
client = hnb.Client("key", base_url="http://helicone.test", transport=InProcessTransport(backend),
                    cache=False)
print("syncing", flush=True)
Mirror(sys.argv[1]).sync(client, "{start}", "{end}", concurrency=2)
print("done", flush=True)
"""


@pytest.mark.parametrize("kill_after", [0.2, 0.7, 1.5])
def test_a_sync_killed_at_any_moment_resumes_and_ends_identical(
    server: Backend, clean: Path, tmp_path: Path, kill_after: float
) -> None:
    path = tmp_path / "m"
    script = _SYNC_SCRIPT.format(requests=REQUESTS, seed=SEED, start=START, end=END)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"syncing"
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    pending = None
    if (path / "mirror.json").exists():
        info = Mirror(path).info()  # readable: the last completed state
        manifest = json.loads((path / "mirror.json").read_text())
        pending = manifest.get("pending")
        assert info.requests in (0, REQUESTS) or info.sync_in_progress
    report = Mirror(path).sync(_client(server), START, END)
    assert report.complete
    if pending:  # the rows of completed slices were not pulled again
        assert report.requests <= REQUESTS - pending.get("rows", 0)
    pd.testing.assert_frame_equal(content(path), content(clean))
    assert not (path / "staging").exists() or not any((path / "staging").iterdir())


# -- bad input ------------------------------------------------------------------------------


def test_one_organisation_per_mirror(server: Backend, clean: Path) -> None:
    before = (clean / "mirror.json").read_text()
    with pytest.raises(MirrorOrganizationError, match="another API key"):
        Mirror(clean).sync(_client(server, key="other-key"), end=END)
    other = hnb.Client(
        "key", base_url="http://other.test", transport=InProcessTransport(server), cache=False
    )
    with pytest.raises(MirrorOrganizationError, match=r"synced from http://helicone\.test"):
        Mirror(clean).sync(other, end=END)
    assert (clean / "mirror.json").read_text() == before
    assert "key" not in json.loads(before)["key_fingerprint"]


def test_bad_ranges_are_refused_before_any_request(server: Backend, tmp_path: Path) -> None:
    with pytest.raises(hnb.UsageError, match="first sync of a mirror needs a start"):
        Mirror(tmp_path / "a").sync(_client(server))
    with pytest.raises(hnb.UsageError, match="must be after start"):
        Mirror(tmp_path / "b").sync(_client(server), "2025-08-01", "2025-07-01")
    with pytest.raises(hnb.UsageError, match="settle must be a duration"):
        Mirror(tmp_path / "c").sync(_client(server), START, END, settle="soon")
    assert not (tmp_path / "a" / "mirror.json").exists()


def test_a_full_disk_while_staging_keeps_what_was_fetched(
    server: Backend, clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helicone_nb.mirror import _rows

    real = _files.copy_to
    calls = {"n": 0}

    def full(con: object, sql: str, params: object = None) -> list[tuple[object, ...]]:
        calls["n"] += 1
        if calls["n"] >= 3:
            raise OSError(28, "No space left on device")
        return real(con, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(_rows, "copy_to", full)
    monkeypatch.setattr("helicone_nb.mirror._sync.FLUSH_SECONDS", 0.0)
    mirror = Mirror(tmp_path / "m")
    with pytest.raises(MirrorError, match=r"disk .* is full"):
        mirror.sync(_client(server), START, END)
    monkeypatch.setattr(_rows, "copy_to", real)
    report = mirror.sync(_client(server), START, END)
    assert report.complete
    pd.testing.assert_frame_equal(content(tmp_path / "m"), content(clean))


def test_reinserted_versions_are_picked_up_by_a_rescan(tmp_path: Path) -> None:
    with _backend(quirks=True) as backend:
        client = _client(backend)
        mirror = Mirror(tmp_path / "m")
        mirror.sync(client, START, "2025-08-31")
        ids = [
            str(r[0])
            for r in backend.store.execute(
                "SELECT request_id FROM requests WHERE request_created_at > '2025-08-20' "
                "ORDER BY request_id LIMIT 5"
            ).fetchall()
        ]
        old = str(
            backend.store.execute(
                "SELECT request_id FROM requests WHERE request_created_at < '2025-07-01' "
                "ORDER BY request_id LIMIT 1"
            ).fetchone()[0]  # type: ignore[index]
        )
        for rid in ids:  # late scores, feedback and a property change
            backend.update_request(rid, scores={"quality": 7}, feedback=True)
        backend.update_request(old, properties={"reviewed": "yes"})
        plain = mirror.sync(client, end="2025-08-31")  # settle only: not old enough to see them
        assert plain.updated == 0
        report = mirror.sync(client, end="2025-08-31", rescan="30d")
        assert report.updated == len(ids) and report.added == 0
        rows = mirror.sql(
            "SELECT request_id, scores, properties FROM requests WHERE request_id IN "
            f"({', '.join(repr(i) for i in [*ids, old])})"
        ).set_index("request_id")
        for rid in ids:
            assert rows.loc[rid, "scores"]["quality"] == 7
            assert rows.loc[rid, "scores"]["helicone-score-feedback"] == 1
        assert "reviewed" not in rows.loc[old, "properties"]  # older than the rescan window
        mirror.sync(client, START, "2025-08-31", rescan="120d")
        props = mirror.sql(f"SELECT properties FROM requests WHERE request_id = '{old}'")
        assert props.properties[0]["reviewed"] == "yes"
        # the mirror answers like the server, versions and all
        local = mirror.client()
        for window in (("2025-08-01", "2025-08-31"), ("2025-06-01", "2025-07-01")):
            pd.testing.assert_frame_equal(
                local.fetch_sessions(*window), client.fetch_sessions(*window)
            )
        assert mirror.info().requests == backend.request_count
