"""Real ``helicone-nb serve`` subprocesses on loopback, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(*args: str, log: Path | None = None) -> Iterator[str]:
    """Run ``helicone-nb serve ARGS`` in a subprocess; yield its base URL; stop it.

    Its output goes to ``log`` (a temporary file when None) and is shown if it fails to
    start. The server sees no API key or base URL from this environment and caches under
    the log's folder.
    """
    with contextlib.ExitStack() as stack:
        if log is None:
            log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "serve.log"
        port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("HELICONE_API_KEY", "HELICONE_BASE_URL")
        }
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env["HELICONE_NB_CACHE_DIR"] = str(log.parent / "server-cache")
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "helicone_nb.cli", "serve", "--port", str(port), *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise AssertionError(
                        f"server exited with {proc.returncode}: {log.read_text()[-2000:]}"
                    )
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), 0.2),
                ):
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("server did not start within 60 s")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
