"""The session explorer in a real browser: Voila serves it, Playwright drives Debian's chromium.

Voila runs ``tests/fixtures/browser_explorer.ipynb`` (the explorer over the in-process demo data);
the test changes filters in the page and checks that the sessions table follows. It skips when
chromium, voila or playwright is missing, unless ``HELICONE_NB_REQUIRE_BROWSER=1`` (set by CI),
where it fails instead. Chromium comes from Debian (``apt-get install chromium``); this test
never runs ``playwright install``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .servers import free_port

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "tests" / "fixtures" / "browser_explorer.ipynb"
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

pytestmark = pytest.mark.browser


def _require_or_skip() -> None:
    missing = [
        what
        for what, present in (
            (f"{CHROMIUM} (apt-get install chromium)", CHROMIUM.exists()),
            ("voila (pip install voila)", importlib.util.find_spec("voila") is not None),
            (
                "playwright (pip install playwright)",
                importlib.util.find_spec("playwright") is not None,
            ),
        )
        if not present
    ]
    if not missing:
        return
    reason = "the browser test needs " + ", ".join(missing)
    if os.environ.get("HELICONE_NB_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (HELICONE_NB_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def _wait_for_server(
    host: str, port: int, proc: subprocess.Popen[bytes], log: Path, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"voila exited early:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.2)
    raise AssertionError(f"voila did not answer within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def _table_text(page: Any) -> str:
    text: str = page.locator("table.hnb-sessions").inner_text()
    return text


def _session_names(page: Any) -> set[str]:
    """The name column of the sessions table."""
    rows = page.locator("table.hnb-sessions tbody tr")
    return {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())}


def test_explorer_in_voila_follows_filter_changes(tmp_path: Path) -> None:
    _require_or_skip()
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "voila.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "HELICONE_NB_CACHE_DIR": str(tmp_path / "cache"),
        "HELICONE_NB_PROGRESS": "0",
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    env.pop("HELICONE_API_KEY", None)
    with log.open("wb") as sink:
        voila = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voila",
                str(NOTEBOOK),
                "--no-browser",
                "--Voila.ip=127.0.0.1",
                f"--port={port}",
                "--VoilaConfiguration.show_tracebacks=True",
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_server("127.0.0.1", port, voila, log, seconds=30)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1400})
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(url, timeout=TIMEOUT_MS)
                table = page.locator("table.hnb-sessions")
                expect(table).to_be_visible(timeout=TIMEOUT_MS)
                expect(table.locator("tbody tr").first).to_be_visible()
                status = page.locator(".widget-html", has_text="sessions from").first
                expect(status).to_be_visible()
                before = _table_text(page)
                assert _session_names(page) != {"sql-copilot"}, before

                # pick a session name: the table must show only that name
                name_box = page.locator(".widget-dropdown", has_text="session name")
                name_box.locator("select").select_option(label="sql-copilot")
                page.wait_for_function(
                    """() => {
                        const rows = document.querySelectorAll('table.hnb-sessions tbody tr');
                        return rows.length > 0 && [...rows].every(
                            r => r.querySelectorAll('td')[1].innerText === 'sql-copilot');
                    }""",
                    timeout=TIMEOUT_MS,
                )
                after_name = _table_text(page)
                assert after_name != before and _session_names(page) == {"sql-copilot"}

                # type a minimum cost: every row must cost at least that much
                cost_box = page.locator(".widget-text", has_text="cost from")
                cost_box.locator("input").fill("0.05")
                page.wait_for_function(
                    "before => document.querySelector('table.hnb-sessions').innerText !== before",
                    arg=after_name,
                    timeout=TIMEOUT_MS,
                )
                code = page.locator("pre", has_text="hnb.session.total_cost >= 0.05")
                expect(code).to_have_count(1)

                # an invalid cost: the inline message appears and the table stays as it is
                shown = _table_text(page)
                cost_box.locator("input").fill("lots")
                expect(page.get_by_text("is not a number", exact=False).first).to_be_visible()
                page.wait_for_timeout(1000)  # longer than the debounce: nothing may change
                assert _table_text(page) == shown
                # ... and the status line says that what is shown is out of date (issue 16)
                expect(page.get_by_text("Out of date", exact=False).first).to_be_visible()
                # no button label is cut ("cust…"), no table column is clipped (issue 16)
                cut = page.evaluate(
                    """() => [...document.querySelectorAll('.widget-toggle-button')]
                        .filter(b => b.scrollWidth > b.clientWidth + 1).map(b => b.innerText)"""
                )
                assert cut == [], cut
                clipped = page.evaluate(
                    """() => {
                        const table = document.querySelector('table.hnb-sessions');
                        const box = table.closest('.hnb-scroll');
                        const last = table.querySelector('th:last-child').getBoundingClientRect();
                        return box.scrollWidth > box.clientWidth + 1
                            || last.right > box.getBoundingClientRect().right + 1;
                    }"""
                )
                assert not clipped
                page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)

                # the plots tab draws both plots
                page.get_by_role("tab", name="Plots").click()
                page.wait_for_function(
                    """() => {
                        const imgs = [...document.querySelectorAll('.widget-image')];
                        return imgs.length >= 2 && imgs.slice(0, 2).every(
                            i => i.complete && i.naturalWidth > 300);
                    }""",
                    timeout=TIMEOUT_MS,
                )
                page.screenshot(path=str(tmp_path / "plots.png"), full_page=True)

                # the drill-down opens the selected session's path tree and requests
                page.get_by_role("tab", name="Drill-down").click()
                picker = (
                    page.locator(".widget-dropdown", has_text="session")
                    .filter(has=page.locator("option", has_text="(pick a session)"))
                    .locator("select")
                )
                session_id = picker.locator("option").nth(1).get_attribute("value") or ""
                picker.select_option(index=1)
                tree = page.locator("pre", has_text="path")
                expect(tree).to_contain_text(f"Session {session_id}"[:30])
                expect(page.locator("table.hnb-requests tbody tr").first).to_be_visible()
                page.screenshot(path=str(tmp_path / "drilldown.png"), full_page=True)
            finally:
                browser.close()
    finally:
        voila.terminate()
        try:
            voila.wait(timeout=15)
        except subprocess.TimeoutExpired:
            voila.kill()
            voila.wait(timeout=15)
    for shot in ("explorer.png", "plots.png", "drilldown.png"):
        assert (tmp_path / shot).stat().st_size > 10_000, shot


def test_missing_browser_skips_or_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("HELICONE_NB_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        _require_or_skip()
    monkeypatch.setenv("HELICONE_NB_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="HELICONE_NB_REQUIRE_BROWSER=1"):
        _require_or_skip()


# ---------------------------------------------------------------------------------------------
# helicone-nb dashboard (issue 14)
# ---------------------------------------------------------------------------------------------

SECRET = "sk-helicone-test-SECRET-7f3a9c2e"  # must never reach the page or the widget state


def test_dashboard_follows_filters_sorts_and_opens_rows(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from .browser import (
        chromium_page,
        dashboard,
        kill_leftovers,
        processes_with_env,
        require_or_skip,
    )

    require_or_skip("voila")
    port = free_port()
    marker = f"HELICONE_NB_CACHE_DIR={tmp_path / 'cache'}"
    frames: list[str] = []
    started = time.monotonic()
    try:
        with dashboard(tmp_path, port, "--demo", HELICONE_API_KEY=SECRET) as proc:
            with chromium_page() as page:
                page.on(
                    "websocket",
                    lambda ws: ws.on("framereceived", lambda frame: frames.append(str(frame))),
                )
                page.goto(f"http://127.0.0.1:{port}/", timeout=TIMEOUT_MS)
                table = page.locator("table.hnb-sessions")
                expect(table.locator("tbody tr").first).to_be_visible(timeout=60_000)
                first_table_s = time.monotonic() - started
                strip = page.locator(".hnb-strip")
                expect(strip).to_contain_text("vs the previous 7 days")
                before_strip = strip.inner_text()
                before = _table_text(page)

                # a filter: the table and the summary strip follow
                name_box = page.locator(".widget-dropdown", has_text="session name")
                name_box.locator("select").select_option(label="sql-copilot")
                page.wait_for_function(
                    """() => {
                        const rows = document.querySelectorAll('table.hnb-sessions tbody tr');
                        return rows.length > 0 && [...rows].every(
                            r => r.querySelectorAll('td')[1].innerText === 'sql-copilot');
                    }""",
                    timeout=TIMEOUT_MS,
                )
                assert _table_text(page) != before
                expect(strip).not_to_have_text(before_strip)

                # a header: sort by requests, most first
                table.locator("th", has_text="requests").click()
                expect(table.locator("th[aria-sort]")).to_contain_text("requests ▼")
                cells = table.locator("tbody tr td:nth-child(4)").all_inner_texts()
                counts = [int(c.replace(",", "")) for c in cells]
                assert counts == sorted(counts, reverse=True) and len(counts) > 1, counts

                # a row: its drill-down opens, showing that session
                row = table.locator("tbody tr").nth(1)
                session_id = row.get_attribute("data-hnb-value") or ""
                assert row.locator("td").first.get_attribute("title") == session_id
                row.click()
                drill = page.get_by_role("tab", name="Drill-down")
                expect(drill).to_have_attribute("aria-selected", "true")
                expect(page.locator("pre", has_text="path")).to_contain_text(
                    f"Session {session_id}"
                )
                expect(page.locator("table.hnb-requests tbody tr").first).to_be_visible()
                page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

                # request rows are available (the demo serves them): the By model tab
                page.get_by_role("tab", name="By model").click()
                models = page.locator("table.hnb-models tbody tr")
                expect(models.first).to_be_visible()
                assert models.count() >= 2
                html_text = page.content()
            assert proc.poll() is None
        assert proc.returncode == 0, (tmp_path / "dashboard.log").read_text()[-2000:]
        # Ctrl-C left nothing behind: no Voila, no kernel
        deadline = time.monotonic() + 10
        while processes_with_env(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_with_env(marker) == []
    finally:
        left = kill_leftovers(marker)
    assert left == []
    assert SECRET not in html_text and not any(SECRET in f for f in frames)
    assert len(frames) > 10  # the widget state did go through the websocket we watched
    log = (tmp_path / "dashboard.log").read_text()
    assert f"http://127.0.0.1:{port}/" in log and SECRET not in log
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    print(f"dashboard start to first rendered table: {first_table_s:.1f} s")
    assert first_table_s < 60


# ---------------------------------------------------------------------------------------------
# JupyterLab, light and dark (issue 14)
# ---------------------------------------------------------------------------------------------

NOTEBOOK_04 = ROOT / "notebooks" / "04-interactive-filtering.ipynb"
_EXPLORER = ".jp-OutputArea-output:has(> .jupyter-widgets):has(.widget-tab)"
_SETTINGS = {
    # nothing may leave loopback: no news, no update check (the page also aborts other hosts)
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _jupyter_lab(tmp: Path, port: int, token: str) -> subprocess.Popen[bytes]:
    from .browser import test_env

    root, home = tmp / "root", tmp / "home"
    config = home / "config"
    for folder in (root, home, config / "labconfig"):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTEBOOK_04, root / NOTEBOOK_04.name)
    for name, value in _SETTINGS.items():
        path = config / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/extensionmanager-extension": True}})
    )
    env = test_env(
        tmp,
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    with (tmp / "lab.log").open("wb") as sink:
        return subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _pick_name(page: Any, explorer: Any, name: str) -> None:
    """Choose a session name in the rendered explorer; wait until the table shows only it."""
    explorer.locator(".widget-dropdown:has(label:has-text('session name')) select").select_option(
        label=name
    )
    page.wait_for_function(
        """([selector, name]) => {
            const rows = document.querySelectorAll(selector + ' table.hnb-sessions tbody tr');
            return rows.length > 0 && [...rows].every(
                r => r.querySelectorAll('td')[1].innerText === name);
        }""",
        arg=[_EXPLORER, name],
        timeout=TIMEOUT_MS,
    )


def _note_colour(explorer: Any) -> str:
    colour: str = explorer.locator("table.hnb-sessions").evaluate(
        "t => getComputedStyle(t.parentElement.previousElementSibling).color"
    )
    return colour


def test_notebook_04_in_jupyterlab_light_and_dark(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from .browser import chromium_page, kill_leftovers, require_or_skip, stop_group

    require_or_skip("jupyterlab")
    port, token = free_port(), secrets.token_hex(16)
    marker = f"HELICONE_NB_CACHE_DIR={tmp_path / 'cache'}"
    lab = _jupyter_lab(tmp_path, port, token)
    try:
        from .browser import wait_for_port

        wait_for_port(port, lab, tmp_path / "lab.log", 60, "jupyter lab")
        with chromium_page(viewport=(1500, 2200)) as page:
            page.goto(
                f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK_04.name}?token={token}",
                timeout=60_000,
            )
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
            page.locator(".lm-MenuBar-item", has_text="Run").click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            explorer = page.locator(_EXPLORER)
            expect(explorer.locator("table.hnb-sessions tbody tr").first).to_be_visible(
                timeout=90_000
            )
            page.wait_for_function(
                """() => document.querySelector(
                        '.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'
                    && ![...document.querySelectorAll('.jp-InputPrompt')].some(
                        p => p.innerText.includes('*'))""",
                timeout=90_000,
            )
            names = set(
                explorer.locator("table.hnb-sessions tbody tr td:nth-child(2)").all_inner_texts()
            )
            assert len(names) == 1, names  # the notebook picked one name from code
            before = explorer.locator("table.hnb-sessions").inner_text()
            light_note = _note_colour(explorer)

            _pick_name(page, explorer, "sql-copilot")
            assert explorer.locator("table.hnb-sessions").inner_text() != before
            clipped = explorer.locator("table.hnb-sessions").evaluate(
                """t => {
                    const box = t.closest('.hnb-scroll');
                    const last = t.querySelector('th:last-child').getBoundingClientRect();
                    return last.right > box.getBoundingClientRect().right + 1
                        || box.scrollWidth > box.clientWidth + 1;
                }"""
            )
            assert not clipped  # the users column fits, no scrolling needed
            explorer.screenshot(path=str(tmp_path / "jupyterlab-light.png"))

            # once more in the dark theme
            page.locator(".lm-MenuBar-item", has_text="Settings").click()
            submenus = page.locator('.lm-Menu-item[data-type="submenu"]')
            submenus.filter(has_text=re.compile(r"^\s*Theme\s*$")).hover()
            page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
            expect(page.locator("body")).to_have_attribute(
                "data-jp-theme-name", "JupyterLab Dark", timeout=TIMEOUT_MS
            )
            shown = explorer.locator("table.hnb-sessions").inner_text()
            _pick_name(page, explorer, "research-agent")
            assert explorer.locator("table.hnb-sessions").inner_text() != shown
            dark_note = _note_colour(explorer)
            assert dark_note != light_note, (light_note, dark_note)  # follows the theme
            explorer.screenshot(path=str(tmp_path / "jupyterlab-dark.png"))
    finally:
        stop_group(lab)
        left = kill_leftovers(marker)  # the kernel runs in a session of its own
    assert left == []
    for shot in ("jupyterlab-light.png", "jupyterlab-dark.png"):
        assert (tmp_path / shot).stat().st_size > 10_000, shot
