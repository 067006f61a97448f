"""The dashboard headlessly: its panels follow the explorer's filters; the command's checks.

The real-browser run (Voila, clicks, Ctrl-C) is in tests/test_browser.py.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb.cli import main
from helicone_nb.widgets import Dashboard

from .fakes import FakeHelicone, session_row


@pytest.fixture
def demo() -> Iterator[hnb.Client]:
    client = hnb.connect(demo=True)
    yield client
    client.close()


def _text(html_value: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html_value))


def test_strip_and_what_changed_follow_the_filters(demo: hnb.Client) -> None:
    dashboard = Dashboard(demo, debounce=0)
    assert dashboard.wait(timeout=60)
    df = dashboard.explorer.df
    metrics = dashboard.metrics
    assert metrics is not None and metrics.sessions == len(df) > 0
    assert metrics.cost == pytest.approx(float(df["total_cost"].sum()))
    assert metrics.requests == int(df["total_requests"].sum())
    # the previous period: the same filters over the 7 days before
    window = dashboard.explorer.filters.window()
    start, end = window[0] - (window[1] - window[0]), window[0]
    previous = demo.fetch_sessions(start, end)
    assert dashboard.previous is not None and dashboard.previous.sessions == len(previous)
    strip = _text(dashboard.strip.value)
    assert f"{len(df):,}" in strip and "vs the previous 7 days" in strip
    assert "this period" in dashboard.changes.value
    assert "Where the cost moved most, by model" in dashboard.changes.value

    dashboard.explorer.filters.name.value = "sql-copilot"
    assert dashboard.wait(timeout=60)
    named = dashboard.explorer.df
    assert set(named["session_name"]) == {"sql-copilot"}
    assert dashboard.metrics is not None and dashboard.metrics.sessions == len(named)
    prev_named = demo.fetch_sessions(start, end, name="sql-copilot")
    assert dashboard.previous is not None and dashboard.previous.sessions == len(prev_named)
    assert f"{len(named):,}" in _text(dashboard.strip.value)
    # request rows (the demo serves them): p95 of requests, error rate, By model
    requests = dashboard.requests
    assert requests is not None and set(requests["session_id"]) <= set(named["session_id"])
    assert len(requests) == int(named["total_requests"].sum())
    assert dashboard.metrics.latency_of == "requests"
    assert dashboard.metrics.error_rate == pytest.approx(float((requests["status"] >= 400).mean()))
    tabs = dashboard.explorer.tabs
    assert tabs.titles[-1] == "By model" and "Needs request rows" in dashboard.by_model.value
    tabs.selected_index = len(tabs.titles) - 1  # drawn when shown, like the plots
    for model in set(requests["model"]):
        assert f"<td>{model}</td>" in dashboard.by_model.value
    # what changed: where the cost moved, by model (request rows of both periods)
    assert "by model" in dashboard.changes.value and "hnb-movers-model" in dashboard.changes.value


def test_dashboard_over_a_mirror_shows_its_latest_week(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    jsonl, root = tmp_path / "demo.jsonl", tmp_path / "mirror"
    assert main(["demo", "--jsonl", str(jsonl), "--requests", "2000"]) == 0
    mirror = hnb.Mirror(root)
    mirror.import_jsonl(jsonl)
    last = mirror.data_range()[1]  # type: ignore[index]
    mirror.close()
    monkeypatch.setenv("HELICONE_NB_DASHBOARD_SOURCE", "mirror")
    monkeypatch.setenv("HELICONE_NB_DASHBOARD_MIRROR", str(root))
    dashboard = Dashboard.from_environment(debounce=0)
    assert dashboard.wait(timeout=60)
    assert f"mirror {root}" in dashboard.title.value
    window = dashboard.explorer.filters.window()
    assert window[1] == last.replace(second=0, microsecond=0) or window[1] <= last
    assert len(dashboard.explorer.df) > 0 and dashboard.metrics is not None
    assert dashboard.requests is not None and len(dashboard.requests) > 0
    assert "By model" in dashboard.explorer.tabs.titles


def test_metrics_from_request_rows() -> None:
    from helicone_nb.widgets._metrics import by_model_html, session_requests, window_metrics

    sessions = pd.DataFrame(
        {
            "session_id": ["a", "b"],
            "session_name": ["x", "y"],
            "created_at": pd.to_datetime(["2025-01-01", "2025-01-02"]).tz_localize("UTC"),
            "latest_request_created_at": pd.to_datetime(["2025-01-01", "2025-01-02"]).tz_localize(
                "UTC"
            ),
            "total_cost": [1.0, 2.0],
            "total_requests": pd.array([2, 2], dtype="Int64"),
            "total_tokens": pd.array([10, 10], dtype="Int64"),
            "prompt_tokens": pd.array([5, 5], dtype="Int64"),
            "completion_tokens": pd.array([5, 5], dtype="Int64"),
            "avg_latency": [100.0, 200.0],
            "duration_s": [1.0, 1.0],
            "user_ids": [["ann"], ["bob"]],
        }
    )
    requests = pd.DataFrame(
        {
            "session_id": ["a", "a", "b", "b", "zzz"],
            "model": ["m1", "m1", "m2", "m2", "m3"],
            "status": pd.array([200, 500, 200, 200, 500], dtype="Int64"),
            "latency_ms": [100.0, 100.0, 100.0, 1000.0, 5.0],
            "cost": [0.5, 0.5, 1.0, 1.0, 9.0],
            "total_tokens": pd.array([5, 5, 5, 5, 5], dtype="Int64"),
        }
    )
    shown = session_requests(requests, sessions)
    assert list(shown["session_id"]) == ["a", "a", "b", "b"]  # "zzz" is filtered out
    metrics = window_metrics(sessions, shown)
    assert metrics.error_rate == pytest.approx(0.25) and metrics.latency_of == "requests"
    assert metrics.p95_latency_ms == pytest.approx(865.0)
    table = by_model_html(shown)
    assert table.index("m2") < table.index("m1")  # the most expensive model first
    assert "50.0%" in table and "m3" not in table
    without = window_metrics(sessions)
    assert without.error_rate is None and without.latency_of == "session means"


def test_a_failing_previous_period_is_shown_in_place_and_keeps_the_rest() -> None:
    fake = FakeHelicone([session_row(i) for i in range(5)])
    client = hnb.Client(
        "sk-test", base_url="http://fake.test", transport=fake.transport, cache=False, retries=0
    )
    dashboard = Dashboard(client, debounce=0, auto=False)
    original = client.fetch_sessions
    calls: list[Any] = []

    def flaky(*args: Any, **kwargs: Any) -> pd.DataFrame:
        calls.append(kwargs.get("start"))
        if len(calls) > 1:
            raise hnb.UsageError("the previous period is on fire")
        return original(*args, **kwargs)

    client.fetch_sessions = flaky  # type: ignore[method-assign]
    dashboard.refresh()
    assert dashboard.wait(timeout=30)
    assert dashboard.metrics is not None and dashboard.metrics.sessions == 5
    assert "previous period could not be fetched" in dashboard.note.value
    assert "on fire" in dashboard.note.value and dashboard.previous is None


def test_dashboard_repr_and_display(demo: hnb.Client) -> None:
    dashboard = Dashboard(demo, auto=False)
    assert repr(dashboard).startswith("<Dashboard over <SessionExplorer")
    bundle = dashboard._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == (
        dashboard.widget.model_id
    )


# ---------------------------------------------------------------------------------------------
# The command's checks (before anything starts)
# ---------------------------------------------------------------------------------------------


def test_the_app_notebook_ships_in_the_package() -> None:
    from helicone_nb.cli.dashboard import app_notebook

    notebook = json.loads(app_notebook().read_text())
    source = "".join(notebook["cells"][0]["source"])
    assert "Dashboard.from_environment()" in source
    assert notebook["cells"][0]["outputs"] == []  # nothing stored, nothing leaked


def test_remote_hosts_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--demo", "--host", "0.0.0.0", "--no-browser"]) == 1
    assert "refusing to listen on 0.0.0.0" in capsys.readouterr().err


def test_no_source_and_no_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HELICONE_API_KEY", raising=False)
    assert main(["dashboard", "--no-browser"]) == 1
    assert "--demo, --mirror PATH, or set HELICONE_API_KEY" in capsys.readouterr().err
    assert main(["dashboard", "--mirror", "/nonexistent/mirror", "--no-browser"]) == 1
    assert "no mirror at /nonexistent/mirror" in capsys.readouterr().err


def test_a_port_in_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--demo", "--port", str(port), "--no-browser"]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_without_request_rows_what_changed_is_by_session_name(demo: hnb.Client) -> None:
    from helicone_nb.widgets._metrics import changes_html, previous_window, window_metrics

    now_window = (
        pd.Timestamp("2025-08-24", tz="UTC").to_pydatetime(),
        pd.Timestamp("2025-08-31", tz="UTC").to_pydatetime(),
    )
    before_window = previous_window(now_window)
    now_df = demo.fetch_sessions(*now_window)
    before_df = demo.fetch_sessions(*before_window)
    text = changes_html(
        window_metrics(now_df),
        window_metrics(before_df),
        (before_window, now_window),
        (before_df, now_df),
        None,
        "the previous 7 days",
    )
    assert "by session name" in text and "<td>code-review-agent</td>" in text
    assert "p95 latency" in text and "error rate" in text


@pytest.mark.parametrize("args", [["--demo"], []])
def test_the_voila_command_line(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key travels only in the environment; a live dashboard is not preheated (that
    would query Helicone before anyone looks)."""
    import subprocess

    from helicone_nb.cli import dashboard as command

    monkeypatch.setenv("HELICONE_API_KEY", "sk-helicone-NOT-ON-THE-COMMAND-LINE")
    seen: dict[str, Any] = {}

    class Exited:
        returncode = 3
        pid = 0

        def __init__(self, argv: list[str], **kwargs: Any) -> None:
            seen["argv"], seen["env"] = argv, kwargs["env"]

        def poll(self) -> int:
            return 3

    monkeypatch.setattr(subprocess, "Popen", Exited)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["dashboard", *args, "--no-browser", "--port", str(port)]) == 1
    assert "voila exited early (code 3)" in capsys.readouterr().err
    argv = seen["argv"]
    assert argv[1:3] == ["-m", "voila"] and argv[3] == str(command.app_notebook())
    assert not any("sk-helicone" in a for a in argv)
    assert ("--preheat_kernel=True" in argv) == (args == ["--demo"])
    source = seen["env"]["HELICONE_NB_DASHBOARD_SOURCE"]
    assert source == ("demo" if args else "live")
