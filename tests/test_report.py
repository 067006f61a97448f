"""The HTML report and the report/sessions commands, with a small fake client.

The fake client has the two methods the report uses (duck typing) and holds a fake API key,
so the tests can check the key never reaches the page.
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

import helicone_nb
from helicone_nb import cli, recipes, report
from helicone_nb._errors import ServerError, UsageError
from helicone_nb._frames import SESSION_SCHEMA, empty_frame, requests_frame, sessions_frame
from helicone_nb._present.text import money
from tests.test_drilldown import SESSION
from tests.test_recipes import ROWS

FAKE_KEY = "sk-helicone-FAKE-0123456789abcdef"
ENV_KEY = "sk-helicone-ENV-fedcba9876543210"
IMG = '<img src="data:image/png;base64,'


class FakeClient:
    """Serves hand-made frames; records what it was asked."""

    def __init__(
        self,
        rows: list[dict[str, Any]] | None = None,
        *,
        demo: bool = False,
        fail_requests: bool = False,
    ) -> None:
        self._api_key = FAKE_KEY
        self.api_key = FAKE_KEY
        self.rows = ROWS if rows is None else rows
        self.demo_period = (
            (_dt.datetime(2025, 1, 1, tzinfo=_dt.UTC), _dt.datetime(2025, 2, 1, tzinfo=_dt.UTC))
            if demo
            else None
        )
        self.fail_requests = fail_requests
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __repr__(self) -> str:  # a careless repr would leak the key: the report must not use it
        return f"FakeClient(api_key={self._api_key!r})"

    def fetch_sessions(self, start: Any, end: Any = None, **kwargs: Any) -> pd.DataFrame:
        self.calls.append(("fetch_sessions", (start, end), kwargs))
        return sessions_frame(self.rows, tz=kwargs.get("tz", "UTC"))

    def fetch_session_requests(self, session_id: str, **kwargs: Any) -> pd.DataFrame:
        self.calls.append(("fetch_session_requests", (session_id,), kwargs))
        if self.fail_requests:
            raise ServerError("boom", status_code=500, url="https://api.example/v1/request")
        return requests_frame(SESSION, tz=kwargs.get("tz", "UTC"))


@pytest.fixture
def env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", ENV_KEY)


@pytest.fixture(scope="module")
def built() -> tuple[FakeClient, str]:
    """One default report (the key also in the environment), shared by the checks below."""
    client = FakeClient()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HELICONE_API_KEY", ENV_KEY)
        page = report.build_report(client, "2025-01-01", "2025-02-01", tz="Europe/Berlin")
    return client, page


class RequestsClient(FakeClient):
    """A client that also has fetch_requests: the report adds the request-level sections."""

    def fetch_requests(self, start: Any, end: Any = None, **kwargs: Any) -> pd.DataFrame:
        from tests.test_recipes_requests import ROWS_REQ, wire

        self.calls.append(("fetch_requests", (start, end), kwargs))
        rows = [*ROWS_REQ, wire(9, "acme-llm-7b", 0.0, provider="ACME", day=8)]
        return requests_frame(rows, tz=kwargs.get("tz", "UTC"))


def test_report_request_sections_by_model_prices_what_changed() -> None:
    client = RequestsClient()
    page = report.build_report(client, "2025-07-01", "2025-07-16", tz="UTC")
    assert page.count(IMG) == 11
    for heading in ("By model", "Prices", "What changed"):
        assert f"<h2>{heading}</h2>" in page
    assert ("fetch_requests", ("2025-07-01", "2025-07-16"), {"tz": "UTC", "progress": False}) in (
        client.calls
    )
    assert '<tr><td>gpt-4o</td><td class="n">3</td><td class="n">$0.0105</td>' in page
    assert '<td class="n">66.7%</td>' in page  # gpt-4o's error rate: 500 and 429 of 3
    assert "1 request with tokens has no recorded cost" in page  # acme-llm-7b
    assert "The price list does not know acme-llm-7b" in page
    assert "the last 7 days against the 7 before" in page
    assert "Re-pricing check" in page
    short = report.build_report(client, "2025-07-07", "2025-07-16", tz="UTC")
    assert "the second half of the window against the first" in short


def test_report_without_fetch_requests_says_why(built: tuple[FakeClient, str]) -> None:
    _, page = built
    assert "Not shown: this client cannot fetch request rows" in page


def test_report_has_every_plot_and_section(built: tuple[FakeClient, str]) -> None:
    client, page = built
    assert page.startswith("<!DOCTYPE html>")
    assert page.count(IMG) == 7  # cost over time, Pareto, users, latency x2, duration, timeline
    for heading in (
        "Summary",
        "Cost over time",
        "Cost by session name",
        "Cost by user",
        "Top 10 sessions by cost",
        "Outliers",
        "Latency",
        "Session duration",
        "The most expensive session, step by step",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert "2025-01-01 00:00 to 2025-02-01 00:00" in page
    assert "(Europe/Berlin)" in page
    assert f"Generated by helicone_nb {helicone_nb.__version__}" in page
    assert "from the Helicone API" in page
    assert "Demo data" not in page
    assert "<td>$5.00</td>" in page  # total cost in the summary
    assert "split equally" in page
    # the drill-down is the most expensive session, in the report's window and zone
    assert client.calls[1] == (
        "fetch_session_requests",
        ("s2",),
        {"start": "2025-01-01", "end": "2025-02-01", "tz": "Europe/Berlin"},
    )
    assert "└── answer" in page
    assert not re.search(r"https?://", page)  # self-contained: no external resources


def test_report_never_contains_the_key(built: tuple[FakeClient, str]) -> None:
    _, page = built
    assert FAKE_KEY not in page
    assert ENV_KEY not in page
    assert "FakeClient" not in page
    assert "[redacted]" not in page  # nothing had to be redacted: the key is never read


def test_data_is_escaped_keys_in_data_redacted_and_demo_said(env_key: None) -> None:
    rows = [
        dict(ROWS[0], session_name=f"leak {FAKE_KEY}", user_ids=[ENV_KEY]),
        dict(ROWS[1], session_name="<script>alert(1)</script>"),
    ]
    page = report.build_report(FakeClient(rows, demo=True), "2025-01-01", "2025-02-01")
    assert FAKE_KEY not in page and ENV_KEY not in page
    assert "[redacted]" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Demo data.</b>" in page
    assert "built-in demo data (synthetic)" in page


def test_report_passes_options_to_the_client() -> None:
    client = FakeClient()
    flt = {"request_response_rmt": {"model": {"equals": "gpt-4o"}}}
    page = report.build_report(
        client,
        "7d",
        tz="UTC",
        filter=flt,
        search="pl",
        name="plan",
        max_sessions=3,
        title="Weekly <costs>",
        top=2,
        drill_down=False,
    )
    assert client.calls == [
        (
            "fetch_sessions",
            ("7d", None),
            {"tz": "UTC", "filter": flt, "search": "pl", "name": "plan", "max_sessions": 3},
        )
    ]
    assert "<h1>Weekly &lt;costs&gt;</h1>" in page
    assert "Restricted to: search “pl”, name = “plan”, a filter, at most 3 sessions." in page
    assert "The fetch stopped at max_sessions=3" in page
    assert "<h2>Top 2 sessions by cost</h2>" in page
    assert page.count(IMG) == 6


def test_empty_window() -> None:
    page = report.build_report(FakeClient([]), "2025-01-01", "2025-02-01")
    assert "No sessions in this window." in page
    assert "step by step" not in page
    assert page.count(IMG) == 6  # the plots say "no sessions"


def test_drilldown_failure_is_reported_not_raised() -> None:
    page = report.build_report(FakeClient(fail_requests=True), "2025-01-01", "2025-02-01")
    assert "Could not load the requests of session s2" in page
    assert "boom" in page
    assert page.count(IMG) == 6


def test_without_matplotlib_the_report_has_tables_and_a_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page = report.build_report(FakeClient(), "2025-01-01", "2025-02-01")
    assert IMG not in page
    assert "pip install 'helicone_nb[notebook]'" in page
    assert "<h2>Top 10 sessions by cost</h2>" in page


def test_bad_arguments() -> None:
    with pytest.raises(UsageError, match="fetch_sessions"):
        report.build_report(object(), "7d")
    with pytest.raises(UsageError, match="time zone"):
        report.build_report(FakeClient(), "7d", tz="Mars/Olympus")
    with pytest.raises(UsageError, match="top"):
        report.build_report(FakeClient(), "7d", top=0)


def test_write_report(tmp_path: Path) -> None:
    target = report.write_report(
        FakeClient(), "2025-01-01", "2025-02-01", path=tmp_path / "out" / "r.html", drill_down=False
    )
    assert target == (tmp_path / "out" / "r.html").resolve()
    assert target.read_text(encoding="utf-8").count(IMG) == 6
    with pytest.raises(UsageError, match="directory"):
        report.write_report(FakeClient(), "7d", path=tmp_path)


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Replace helicone_nb.connect with one that hands out FakeClients; records the calls."""
    calls: list[tuple[Any, ...]] = []

    def fake_connect(
        api_key: str | None = None, *, demo: bool | None = None, quiet: bool = False
    ) -> FakeClient:
        calls.append((api_key, demo))
        return FakeClient(demo=bool(demo))

    monkeypatch.setattr(helicone_nb, "connect", fake_connect)
    return calls


def test_cli_report_demo_defaults_to_the_demo_period(
    connect: list[tuple[Any, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("HELICONE_API_KEY", raising=False)
    out = tmp_path / "report.html"
    assert cli.main(["report", "-o", str(out), "--tz", "UTC"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == str(out.resolve())
    assert lines[1] == (
        "4 sessions, 10 requests, $5.00 from 2025-01-01 00:00 to 2025-02-01 00:00 (UTC) [demo data]"
    )
    assert "no HELICONE_API_KEY set" in captured.err
    assert connect == [(None, True)]
    assert out.read_text(encoding="utf-8").count(IMG) == 7


def test_cli_report_with_key_uses_it_and_since(
    connect: list[tuple[Any, ...]],
    tmp_path: Path,
    env_key: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "r.html"
    assert (
        cli.main(
            [
                "report",
                "--since",
                "30d",
                "-o",
                str(out),
                "--no-drilldown",
                "--top",
                "3",
                "--title",
                "Mine",
            ]
        )
        == 0
    )
    assert connect == [(ENV_KEY, None)]
    page = out.read_text(encoding="utf-8")
    assert ENV_KEY not in page and FAKE_KEY not in page
    assert "<h1>Mine</h1>" in page and "step by step" not in page
    assert capsys.readouterr().out.splitlines()[1].endswith("(UTC)")


def test_cli_errors(
    connect: list[tuple[Any, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(["report", "--demo", "--end", "2025-01-02", "-o", str(tmp_path / "r.html")]) == 1
    )
    assert "--end needs --start" in capsys.readouterr().err
    assert cli.main(["report", "--demo", "--filter", "{nope", "-o", str(tmp_path / "r.html")]) == 1
    assert "--filter must be a Helicone filter as JSON" in capsys.readouterr().err
    assert cli.main(["sessions", "--demo", "-o", str(tmp_path / "s.xlsx")]) == 1
    assert ".parquet, .csv or .csv.gz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["report", "--start", "2025-01-01", "--since", "7d"])


def test_cli_sessions_csv(
    connect: list[tuple[Any, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.csv"
    code = cli.main(
        [
            "sessions",
            "--demo",
            "--start",
            "2025-01-01",
            "--end",
            "2025-02-01",
            "--search",
            "pl",
            "--name",
            "plan",
            "--max",
            "5",
            "--filter",
            '{"request_response_rmt": {"model": {"equals": "gpt-4o"}}}',
            "-o",
            str(out),
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(out.resolve())
    assert lines[1].startswith("4 sessions, 12 columns, $5.00 in total")
    back = pd.read_csv(out, keep_default_na=False)
    assert back.columns.tolist() == list(SESSION_SCHEMA)
    assert back["user_ids"].tolist() == ["ann", "ann;bob", "", "cy"]
    assert back["total_cost"].sum() == pytest.approx(5.0)


def test_cli_sessions_parquet_needs_pyarrow(
    connect: list[tuple[Any, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert cli.main(["sessions", "--demo", "-o", str(tmp_path / "s.parquet")]) == 1
    err = capsys.readouterr().err
    assert "pip install pyarrow" in err and "s.csv" in err


def test_empty_export_keeps_the_header(tmp_path: Path) -> None:
    from helicone_nb.cli.sessions import write_sessions

    path = tmp_path / "empty.csv"
    write_sessions(empty_frame(SESSION_SCHEMA, "UTC"), path)
    assert path.read_text().strip() == ",".join(SESSION_SCHEMA)


# --- end to end on the built-in demo data ------------------------------------------------------


def test_demo_report_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`helicone-nb report` with no key: the real demo client, backend, recipes and plots."""
    from helicone_nb.backend import DEMO_END, DEMO_START, DEMO_TZ

    out = tmp_path / "report.html"
    assert cli.main(["report", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "no HELICONE_API_KEY set" in captured.err
    path_line, summary_line = captured.out.splitlines()
    assert path_line == str(out.resolve())
    df = helicone_nb.connect(demo=True, quiet=True).fetch_sessions(DEMO_START, DEMO_END, tz=DEMO_TZ)
    assert len(df) > 100
    s = recipes.summary(df).iloc[0]
    first = DEMO_START.astimezone(_zone(DEMO_TZ))
    last = DEMO_END.astimezone(_zone(DEMO_TZ))
    assert summary_line == (
        f"{int(s['sessions']):,} sessions, {int(s['requests']):,} requests, "
        f"{money(s['total_cost'])} from {first:%Y-%m-%d %H:%M} to "
        f"{last:%Y-%m-%d %H:%M} ({DEMO_TZ}) [demo data]"
    )
    page = out.read_text(encoding="utf-8")
    # 7 session plots, and since issue 13: cost by model, latency by model, error rate, change
    assert page.count(IMG) == 11
    assert "<b>Demo data.</b>" in page
    assert "└── " in page  # the most expensive session's tree
    for heading in ("By model", "Prices", "What changed"):
        assert f"<h2>{heading}</h2>" in page
    # the July support-chat model change: 3.8.0 (2025-07-21) routes answers to gpt-4o
    shifts = page[page.index("Largest week-over-week shifts") :]
    body = shifts.index("<tbody><tr>")
    first_row = shifts[body : shifts.index("</tr>", body)]
    assert "2025-07-21" in first_row and "support-chat" in first_row and "gpt-4o" in first_row
    requests = helicone_nb.connect(demo=True, quiet=True).fetch_requests(
        DEMO_START, DEMO_END, tz=DEMO_TZ, progress=False
    )
    tokens = requests["prompt_tokens"].fillna(0) + requests["completion_tokens"].fillna(0)
    unpriced = int(((tokens > 0) & ~(requests["cost"].fillna(0) > 0)).sum())
    if unpriced:  # the demo's slice of requests Helicone could not price
        assert f"{unpriced:,} requests with tokens have no recorded cost" in page
    else:
        assert "None: every request with tokens has a recorded cost" in page


def test_demo_sessions_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.csv.gz"
    assert (
        cli.main(
            [
                "sessions",
                "--demo",
                "--start",
                "2025-07-01",
                "--end",
                "2025-07-08",
                "--name",
                "support-chat",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    back = pd.read_csv(out, keep_default_na=False)
    assert len(back) > 0 and set(back["session_name"]) == {"support-chat"}
    assert capsys.readouterr().out.splitlines()[1].startswith(f"{len(back):,} sessions")


def _zone(name: str) -> _dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_docstring_examples_run() -> None:
    import doctest

    result = doctest.testmod(report, verbose=False)
    assert result.attempted >= 8
    assert result.failed == 0


def test_parquet_export_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from helicone_nb.cli.sessions import write_sessions

    path = tmp_path / "s.parquet"
    df = sessions_frame(ROWS, tz="Europe/Berlin")
    write_sessions(df, path)
    back = pd.read_parquet(path)
    assert back["session_id"].tolist() == df["session_id"].tolist()
    assert [list(u) for u in back["user_ids"]] == df["user_ids"].tolist()
    assert back["created_at"].tolist() == df["created_at"].tolist()
