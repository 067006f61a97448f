"""The mirror across processes: readers while a writer commits, and writers killed mid-write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from helicone_nb.backend import Backend, generate_demo
from helicone_nb.mirror import Mirror

ROOT = Path(__file__).resolve().parents[1]
ROWS = 2_000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two exports of the same requests; the second changes the model of every row."""
    base = tmp_path_factory.mktemp("exports")
    with Backend() as backend:
        backend.ingest_frame(generate_demo(ROWS, seed=11))
        backend.export_jsonl(base / "a.jsonl")
    rows = [json.loads(line) for line in (base / "a.jsonl").read_text().splitlines()]
    (base / "b.jsonl").write_text(
        "".join(json.dumps(dict(r, model="model-b")) + "\n" for r in rows)
    )
    return base / "a.jsonl", base / "b.jsonl"


def _writer(mirror: Path, *sources: Path, loops: int = 1) -> subprocess.Popen[bytes]:
    script = (
        "import sys\n"
        "from helicone_nb.mirror import Mirror\n"
        "m = Mirror(sys.argv[1])\n"
        f"for _ in range({loops}):\n"
        "    for src in sys.argv[2:]:\n"
        "        m.import_jsonl(src)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(mirror), *map(str, sources)],
        env=env,
        stderr=subprocess.PIPE,
    )


def _content(mirror: Path) -> pd.DataFrame:
    df = Mirror(mirror).sql("SELECT * EXCLUDE (properties) FROM requests ORDER BY request_id")
    return df.reset_index(drop=True)


def test_readers_see_whole_generations_while_another_process_writes(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    a, b = files
    path = tmp_path / "m"
    Mirror(path).import_jsonl(a)
    writer = _writer(path, b, a, loops=3)
    reader = Mirror(path)
    seen: set[tuple[int, int, int]] = set()
    try:
        while writer.poll() is None:
            df = reader.sql(
                "SELECT count(*) AS n, count(DISTINCT request_id) AS ids, "
                "count(DISTINCT model = 'model-b') AS kinds FROM requests"
            )
            seen.add((int(df.n[0]), int(df.ids[0]), int(df.kinds[0])))
            client = reader.client()
            assert client.count_sessions("2025-06-01", "2025-09-01").count > 0
    finally:
        _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err.decode()
    # every read saw one complete generation: all rows, one version each, never a mix
    assert seen == {(ROWS, ROWS, 1)}


@pytest.mark.parametrize("seed", range(4))
def test_a_writer_killed_at_any_moment_leaves_a_consistent_mirror(
    tmp_path: Path, files: tuple[Path, Path], seed: int
) -> None:
    a, b = files
    path = tmp_path / "m"
    Mirror(path).import_jsonl(a)
    before = _content(path)
    writer = _writer(path, b)
    time.sleep(0.3 + 0.4 * seed)  # from Python start-up to the manifest swap
    writer.send_signal(signal.SIGKILL)
    writer.communicate()
    after = _content(path)
    models = set(after.model)
    assert models in ({"model-b"}, set(before.model))  # the old or the new generation
    assert after.request_id.is_unique and len(after) == ROWS
    # the next write cleans up and ends identical to an uninterrupted one
    Mirror(path).import_jsonl(b)
    clean = tmp_path / "clean"
    Mirror(clean).import_jsonl(a)
    Mirror(clean).import_jsonl(b)
    pd.testing.assert_frame_equal(_content(path), _content(clean))
    leftovers = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.parquet"))
    named = sorted(
        f["path"]
        for fs in json.loads((path / "mirror.json").read_text())["partitions"].values()
        for f in fs
    )
    assert leftovers == named
