"""``helicone-nb sync`` against a real ``helicone-nb serve`` on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import helicone_nb as hnb
from helicone_nb.cli import main
from helicone_nb.mirror import Mirror

from .servers import ROOT, served

DEMO = "4000"


def _cli(*args: str, key: str | None = "k") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HELICONE_API_KEY"}
    if key is not None:
        env["HELICONE_API_KEY"] = key
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "helicone_nb.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sync_command_against_serve(tmp_path: Path) -> None:
    path = tmp_path / "m"
    with served("--demo", "--demo-requests", DEMO, "--log-level", "warning") as url:
        first = _cli(
            "sync",
            "--db",
            str(path),
            "--base-url",
            url,
            "--since",
            "2025-06-01",
            "--end",
            "2025-09-01",
            "--quiet",
        )
        assert first.returncode == 0, first.stderr
        assert f"{int(DEMO):,} added" in first.stdout
        again = _cli("sync", "--db", str(path), "--base-url", url, "--end", "2025-09-01", "--quiet")
        assert again.returncode == 0, again.stderr
        assert "nothing new" in again.stdout
        other = _cli("sync", "--db", str(path), "--base-url", url, "--quiet", key="other")
        assert other.returncode == 1 and "another API key" in other.stderr
        # the served data and the mirror agree
        remote = hnb.Client("k", base_url=url, cache=False)
        local = Mirror(path).client()
        for window in (("2025-06-10", "2025-06-20"), ("2025-07-01", "2025-08-15")):
            a = remote.fetch_sessions(*window)
            b = local.fetch_sessions(*window)
            assert a.equals(b)
        remote.close()
    manifest = json.loads((path / "mirror.json").read_text())
    assert manifest["rows"] == int(DEMO)
    assert len(manifest["key_fingerprint"]) == 32  # a one-way fingerprint, never the key


def test_sync_needs_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "--db", str(tmp_path / "m"), "--since", "7d"]) == 1
    assert "HELICONE_API_KEY" in capsys.readouterr().err


def test_import_serve_and_report_on_a_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helicone_nb.backend import Backend, generate_demo

    export = tmp_path / "export.jsonl"
    with Backend() as backend:
        backend.ingest_frame(generate_demo(2_000, seed=5))
        backend.export_jsonl(export)
    path = tmp_path / "m"
    assert main(["import", str(export), "--db", str(path)]) == 0
    assert "2,000 requests added" in capsys.readouterr().out
    assert main(["import", str(export), "--db", str(path)]) == 0
    assert "0 requests added, 2,000 skipped as already imported" in capsys.readouterr().out
    assert (path / "mirror.json").is_file()  # the one local store format
    out = tmp_path / "report.html"
    assert main(["report", "--mirror", str(path), "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000
    with served("--db", str(path), "--log-level", "warning") as url:
        client = hnb.Client("k", base_url=url, cache=False)
        local = Mirror(path).client()
        assert client.fetch_sessions("2025-06-01", "2025-09-01").equals(
            local.fetch_sessions("2025-06-01", "2025-09-01")
        )
        client.close()
