"""Real browsers for tests and benchmarks: Debian's chromium (Playwright), servers on loopback.

Chromium comes from Debian (``apt-get install chromium``); nothing here runs ``playwright
install``. Every server is started in its own process group and stopped (with everything it
started) when the ``with`` block ends, also when the test inside fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 45_000


def require_or_skip(*modules: str, chromium: Path | None = None) -> None:
    """Skip (or, with HELICONE_NB_REQUIRE_BROWSER=1 as in CI, fail) when a piece is missing."""
    chromium = CHROMIUM if chromium is None else chromium
    wanted = [(f"{chromium} (apt-get install chromium)", chromium.exists())]
    wanted += [
        (f"{m} (pip install {m})", importlib.util.find_spec(m) is not None)
        for m in ("playwright", *modules)
    ]
    missing = [what for what, present in wanted if not present]
    if not missing:
        return
    reason = "the browser test needs " + ", ".join(missing)
    if os.environ.get("HELICONE_NB_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (HELICONE_NB_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def test_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a server under test: this checkout first, caches under ``tmp``."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "HELICONE_NB_CACHE_DIR": str(tmp / "cache"),
        "HELICONE_NB_PROGRESS": "0",
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        **extra,
    }
    env.pop("HELICONE_API_KEY", None)
    env.update(extra)
    return env


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], log: Path, seconds: float, what: str
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited early:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise AssertionError(
        f"{what} did not answer within {seconds:.0f} s:\n{log.read_text()[-3000:]}"
    )


def processes_with_env(marker: str) -> list[int]:
    """Pids whose environment holds ``marker`` (``NAME=value``): what a test started."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a process started with ``start_new_session=True`` and its whole group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def kill_leftovers(marker: str) -> list[int]:
    """Kill what still carries ``marker`` (after a failure); returns the pids found."""
    left = processes_with_env(marker)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


@contextlib.contextmanager
def chromium_page(
    viewport: tuple[int, int] = (1280, 1400), color_scheme: str = "light"
) -> Iterator[Any]:
    """A fresh chromium page that may only talk to loopback."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                color_scheme=color_scheme,  # type: ignore[arg-type]
            )
            context.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:"))
                    else route.abort()
                ),
            )
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def dashboard(tmp: Path, port: int, *args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """``helicone-nb dashboard ARGS --no-browser --port PORT``; stopped with Ctrl-C (SIGINT)."""
    log = tmp / "dashboard.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "helicone_nb.cli",
                "dashboard",
                *args,
                "--no-browser",
                "--port",
                str(port),
            ],
            cwd=tmp,
            env=test_env(tmp, **env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, proc, log, 60, "helicone-nb dashboard")
        yield proc
    finally:
        stop_group(proc, signal.SIGINT)
