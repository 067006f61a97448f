"""Every plot renders with Agg, returns its Axes, and labels units and dates."""

from __future__ import annotations

import doctest
import io
import sys
from collections.abc import Callable, Iterator
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from helicone_nb import plots
from helicone_nb._errors import MissingDependencyError, UsageError
from helicone_nb._frames import SESSION_SCHEMA, empty_frame, requests_frame, sessions_frame
from tests.test_recipes import ROWS


@pytest.fixture
def df() -> pd.DataFrame:
    return sessions_frame(ROWS, tz="Europe/Berlin")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


PLOTS: dict[str, Callable[..., Any]] = {
    "cost_over_time": plots.plot_cost_over_time,
    "cost_by": plots.plot_cost_by,
    "cost_pareto": plots.plot_cost_pareto,
    "latency_distribution": plots.plot_latency_distribution,
    "latency_vs_tokens": plots.plot_latency_vs_tokens,
    "session_duration": plots.plot_session_duration,
}


def test_docstring_examples_run() -> None:
    result = doctest.testmod(plots, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted >= 20
    assert result.failed == 0


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_draws_on_the_given_axes_and_returns_it(df: pd.DataFrame, name: str) -> None:
    fig, ax = plt.subplots()
    out = PLOTS[name](df, ax=ax)
    assert out is ax
    fig.canvas.draw()
    assert "2025-01-06 to 2025-01-14 (Europe/Berlin)" in ax.get_title()


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_makes_a_figure_when_no_axes(df: pd.DataFrame, name: str) -> None:
    ax = PLOTS[name](df)
    assert ax.figure is not None
    ax.figure.canvas.draw()


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_on_empty_frame_says_no_data(name: str) -> None:
    ax = PLOTS[name](empty_frame(SESSION_SCHEMA, "UTC"))
    ax.figure.canvas.draw()
    assert any("no " in t.get_text() for t in ax.texts)
    assert "no data (UTC)" in ax.get_title()


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plots_are_deterministic_and_leave_rcparams_alone(df: pd.DataFrame, name: str) -> None:
    before = dict(matplotlib.rcParams)
    images = []
    for _ in range(2):
        ax = PLOTS[name](df)
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png", dpi=50)
        plt.close(ax.figure)
        images.append(buf.getvalue())
    assert images[0] == images[1]
    assert dict(matplotlib.rcParams) == before


def test_cost_over_time_labels(df: pd.DataFrame) -> None:
    ax = plots.plot_cost_over_time(df, "D", cumulative=True)
    assert ax.get_ylabel() == "Cost (USD)"
    assert ax.get_xlabel() == "Period start (Europe/Berlin)"
    assert ax.get_title().startswith("Cost per day, $5.00 in total")
    assert len(ax.patches) == 9  # 2025-01-06 .. 2025-01-14, empty days drawn as 0
    twin = ax.figure.axes[1]
    assert twin.get_ylabel() == "Running total (USD)"
    ax.figure.canvas.draw()
    assert ax.yaxis.get_major_formatter()(2.5, 0) == "$2.50"
    assert ax.yaxis.get_major_formatter()(1500, 0) == "$1,500"
    weekly = plots.plot_cost_over_time(df, "W")
    assert weekly.get_title().startswith("Cost per week")
    assert len(weekly.patches) == 2


def test_cost_over_time_dates_in_the_frames_zone() -> None:
    rows = [
        dict(
            ROWS[0],
            created_at="2025-01-06T23:30:00Z",
            latest_request_created_at="2025-01-06T23:30:00Z",
        )
    ]
    ax = plots.plot_cost_over_time(sessions_frame(rows, tz="Asia/Tokyo"), "D")
    ax.figure.canvas.draw()
    # 23:30 UTC is 08:30 on the 7th in Tokyo: the bar starts at Tokyo midnight of the 7th.
    formatter = ax.xaxis.get_major_formatter()
    assert "7" in formatter.format_data_short(ax.patches[0].get_x())
    assert "(Asia/Tokyo)" in ax.get_title()


def test_many_periods_use_a_step_line(df: pd.DataFrame) -> None:
    ax = plots.plot_cost_over_time(df, "h")
    assert len(ax.patches) == 1  # one StepPatch instead of ~190 bars


def test_cost_by_and_pareto_labels(df: pd.DataFrame) -> None:
    ax = plots.plot_cost_by(df, "session_name", top=1)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["plan", "(other)"]
    assert ax.get_xlabel() == "Cost (USD)"
    assert [t.get_text() for t in ax.texts] == ["$4.00  (80%)", "$1.00  (20%)"]
    users = plots.plot_cost_by(df, "user")
    assert "split equally" in users.get_title()
    assert "(no user)" in [t.get_text() for t in users.get_yticklabels()]
    pareto = plots.plot_cost_pareto(df, "session_name")
    assert [t.get_text() for t in pareto.get_xticklabels()] == ["plan", "(no name)", "chat"]
    share = pareto.figure.axes[1]
    assert share.get_ylabel() == "Cumulative share of cost"
    assert list(share.lines[0].get_ydata()) == pytest.approx([0.8, 0.9, 1.0])


def test_latency_distribution_markers(df: pd.DataFrame) -> None:
    ax = plots.plot_latency_distribution(df)
    assert ax.get_xlabel() == "Mean latency per session (ms)"
    assert ax.get_ylabel() == "Number of sessions"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["p50 = 400 ms", "p95 = 925 ms", "p99 = 985 ms"]
    ecdf = plots.plot_latency_distribution(df, kind="ecdf", log=True)
    assert ecdf.get_xscale() == "log"
    assert ecdf.get_ylabel() == "Share of sessions at or below"
    with pytest.raises(UsageError, match="kind"):
        plots.plot_latency_distribution(df, kind="violin")  # type: ignore[arg-type]


def _requests() -> pd.DataFrame:
    rows = [
        {
            "request_id": f"r{i}",
            "request_created_at": f"2025-01-06T10:00:0{i}Z",
            "request_properties": {"Helicone-Session-Id": "s1", "Helicone-Session-Path": "/a"},
            "delay_ms": 100 * (i + 1),
            "total_tokens": 50 * (i + 1),
            "cost": 0.01,
            "response_status": 200,
        }
        for i in range(5)
    ]
    return requests_frame(rows, tz="UTC")


def test_latency_plots_accept_a_requests_frame() -> None:
    req = _requests()
    ax = plots.plot_latency_distribution(req)
    assert ax.get_xlabel() == "Request latency (ms)"
    assert "5 requests" in ax.get_title()
    scatter = plots.plot_latency_vs_tokens(req)
    assert scatter.get_xlabel() == "Tokens per request"
    assert scatter.get_ylabel() == "Request latency (ms)"


def test_latency_vs_tokens_trend_line() -> None:
    rows = [
        dict(
            ROWS[0],
            session_id=f"s{i}",
            total_tokens=100 * (i + 1),
            total_requests=1,
            avg_latency=float(10 * i),
        )
        for i in range(40)
    ]
    ax = plots.plot_latency_vs_tokens(sessions_frame(rows))
    assert ax.get_legend() is not None
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "sessions",
        "median per token decile",
    ]


def test_session_duration(df: pd.DataFrame) -> None:
    ax = plots.plot_session_duration(df)
    assert ax.get_xlabel() == "Session duration (s)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["p50 = 20 s", "p90 = 51 s"]
    logged = plots.plot_session_duration(df, log=True)
    # issue 15: the title said "(1 of 0 s not shown)"; it now says what was left out
    assert "Session duration, 3 of 4 sessions (1 lasting 0 s left out of the log axis)" in (
        logged.get_title()
    )


def test_session_duration_log_title_counts_what_is_shown() -> None:
    """Issue 15 item 6: 321 zero-length sessions among 400 read "(321 of 0 s not shown)"."""
    rows = [dict(ROWS[0], session_id=f"s{i}") for i in range(400)]
    df = sessions_frame(rows)
    df["duration_s"] = [0.0] * 321 + [float(s) for s in range(1, 80)]
    title = plots.plot_session_duration(df, log=True).get_title()
    assert title.startswith(
        "Session duration, 79 of 400 sessions (321 lasting 0 s left out of the log axis)"
    )
    assert "of 0 s not shown" not in title


def test_bad_frame_and_missing_matplotlib(df: pd.DataFrame, monkeypatch: Any) -> None:
    with pytest.raises(UsageError, match="avg_latency"):
        plots.plot_latency_distribution(pd.DataFrame({"x": [1]}))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"helicone_nb\[notebook\]"):
        plots.plot_cost_by(df)


def test_time_bucket_bars_label_the_rest_as_other(df: pd.DataFrame) -> None:
    ax = plots.plot_cost_by(df, "day", top=1)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2025-01-07", "(other)"]
    assert ax.patches[1].get_facecolor()[:3] == pytest.approx((0.4, 0.4, 0.4))  # grey


# -- requests frame plots (issue 13) -----------------------------------------------------------


def _requests() -> pd.DataFrame:
    from tests.test_recipes_requests import ROWS_REQ

    return requests_frame(ROWS_REQ, tz="Europe/Berlin")


REQUEST_PLOTS: dict[str, Callable[..., Any]] = {
    "cost_by_model": plots.plot_cost_by_model,
    "latency_ecdf": plots.plot_latency_ecdf,
    "error_rate": plots.plot_error_rate,
}


@pytest.mark.parametrize("name", sorted(REQUEST_PLOTS))
def test_request_plots_draw_on_the_given_axes(name: str) -> None:
    fig, ax = plt.subplots()
    assert REQUEST_PLOTS[name](_requests(), ax=ax) is ax
    fig.canvas.draw()
    assert "(Europe/Berlin)" in ax.get_title()


@pytest.mark.parametrize("name", sorted(REQUEST_PLOTS))
def test_request_plots_refuse_a_sessions_frame(df: pd.DataFrame, name: str) -> None:
    with pytest.raises(UsageError, match="requests frame"):
        REQUEST_PLOTS[name](df)


def test_cost_by_model_bars_and_ecdf_lines() -> None:
    req = _requests()
    ax = plots.plot_cost_by_model(req)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "gpt-4o" and ax.get_xlabel() == "Cost (USD)"
    assert ax.texts[0].get_text().startswith("$0.0105  (")
    ecdf = plots.plot_latency_ecdf(req, top=2)
    assert len(ecdf.lines) == 2  # the two models with the most requests
    assert ecdf.get_xscale() == "log"
    assert [t.get_text().split(" (")[0] for t in ecdf.get_legend().get_texts()] == [
        "gpt-4o",
        "gpt-4o-mini",
    ]
    with pytest.raises(UsageError, match="at most 8"):
        plots.plot_latency_ecdf(req, top=9)


def test_error_rate_plot_per_day_and_group() -> None:
    req = _requests()
    ax = plots.plot_error_rate(req, "day", by="model")
    assert len(ax.lines) == 3 and ax.get_legend() is not None
    assert "3 of 6 requests failed" in ax.get_title()
    assert ax.get_xlabel() == "Period start (Europe/Berlin)"
    with pytest.raises(UsageError, match="freq"):
        plots.plot_error_rate(req, "fortnight")


def test_plot_change_diverging_bars() -> None:
    from helicone_nb.recipes import compare_periods

    table = compare_periods(
        _requests(),
        before=("2025-07-07", "2025-07-14"),
        after=("2025-07-14", "2025-07-21"),
        by="model",
    )
    ax = plots.plot_change(table)
    texts = [t.get_text() for t in ax.texts]
    assert any("(new)" in t for t in texts)
    assert "2025-07-07 00:00 to 2025-07-14 00:00 vs" in ax.get_title()
    assert "(Europe/Berlin)" in ax.get_title()
    colours = {p.get_facecolor()[:3] for p in ax.patches}
    assert len(colours) == 2  # increases and decreases differ
    rate = plots.plot_change(table, "error_rate")
    assert rate.get_xlabel() == "error rate: after - before"
    with pytest.raises(UsageError, match="metric must be one of"):
        plots.plot_change(table, "vibes")
    with pytest.raises(UsageError, match="compare_periods"):
        plots.plot_change(pd.DataFrame({"x": [1]}))
