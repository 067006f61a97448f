"""Session tree, timeline and comparison on small hand-made sessions."""

from __future__ import annotations

import doctest
import itertools
import math
from collections.abc import Iterator
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from helicone_nb import drilldown
from helicone_nb._errors import UsageError
from helicone_nb._frames import REQUEST_SCHEMA, empty_frame, requests_frame, sessions_frame
from helicone_nb.drilldown import compare_sessions, plot_session_timeline, session_tree
from tests.test_recipes import ROWS


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def request(
    i: int,
    path: str | None,
    second: float,
    latency: float | None,
    cost: float | None,
    status: int | None = 200,
    session: str = "s1",
    name: str = "agent",
) -> dict[str, Any]:
    props = {"Helicone-Session-Id": session, "Helicone-Session-Name": name}
    if path is not None:
        props["Helicone-Session-Path"] = path
    t = pd.Timestamp("2025-01-06 10:00:00", tz="UTC") + pd.Timedelta(seconds=second)
    return {
        "request_id": f"r{i}",
        "request_created_at": t.isoformat(),
        "request_properties": props,
        "delay_ms": latency,
        "cost": cost,
        "response_status": status,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
    }


SESSION = [
    request(0, "/plan", 0, 800, 0.002),
    request(1, "/plan/search", 2, 400, 0.001),
    request(2, "plan/search/", 3, 600, 0.001, status=500),  # same path, written differently
    request(3, "/answer", 9, 1500, 0.004),
    request(4, None, 12, 100, 0.0005),  # no path: the root
    request(5, "/plan//search", 4, 500, 0.001),
]


@pytest.fixture
def req() -> pd.DataFrame:
    return requests_frame(SESSION, tz="Europe/Berlin")


def test_docstring_examples_run() -> None:
    result = doctest.testmod(drilldown, verbose=False)
    assert result.attempted >= 15
    assert result.failed == 0


def test_tree_text(req: pd.DataFrame) -> None:
    text = str(session_tree(req))
    assert text == "\n".join(
        [
            'Session s1 "agent" · 6 requests · $0.0095 · 1 failed · '
            "2025-01-06 11:00:00 to 11:00:12 (Europe/Berlin) · "
            "spans 12.1 s (first start to last end)",
            "path            requests     cost  mean latency  failed",
            "/                      6  $0.0095        650 ms       1",
            "├── plan               4  $0.0050        575 ms       1",
            "│   └── search         3  $0.0030        500 ms       1",
            "└── answer             1  $0.0040      1,500 ms",
        ]
    )
    assert session_tree(req).render() == text


def test_tree_never_prints_e_notation() -> None:
    """Issue 15 item 6: a tiny cost printed as $3.7e-05 in the tree."""
    rows = [request(0, "/a", 0, 100, 0.000037), request(1, "/b", 1, 100, 0.0045)]
    text = session_tree(requests_frame(rows)).render()
    assert "$0.000037" in text and "$0.0045" in text
    assert "e-0" not in text and "e+0" not in text


def test_header_and_timeline_state_the_true_span() -> None:
    """Issue 15 item 8: a session whose last call took 64 s spans 71.9 s, not 7.9 s."""
    rows = [request(0, "/plan", 0, 1000, 0.01), request(1, "/answer", 7.9, 64_000, 0.02)]
    req = requests_frame(rows)
    tree = session_tree(req)
    assert tree.span_s == pytest.approx(71.9)
    assert tree.header().endswith(
        "2025-01-06 10:00:00 to 10:01:11 (UTC) · spans 71.9 s (first start to last end)"
    )
    assert "spans 71.9 s" in plot_session_timeline(req).get_title()


def _many_paths(n: int = 63) -> pd.DataFrame:
    """A 63-request agent session with a deep, wide path tree (what smeared in JupyterLab)."""
    rows = []
    for i in range(n):
        step = f"/step{i % 9}"
        path = (
            step
            if i % 3 == 0
            else f"{step}/tool{i % 7}"
            if i % 3 == 1
            else (f"{step}/tool{i % 7}/call{i}")
        )
        rows.append(request(i, path, i * 1.5, 800 + 10 * i, 0.001))
    return requests_frame(rows)


def _overlaps(ax: Any) -> int:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = (
        FigureCanvasAgg(ax.figure)
        if not hasattr(ax.figure.canvas, "get_renderer")
        else (ax.figure.canvas)
    )
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = sorted(
        (
            t.get_window_extent(renderer)
            for t in ax.get_yticklabels()
            if t.get_visible() and t.get_text()
        ),
        key=lambda b: b.y0,
    )
    return sum(1 for a, b in itertools.pairwise(boxes) if a.y1 > b.y0 + 0.5)


def test_timeline_labels_do_not_smear_on_a_fixed_small_figure() -> None:
    """Issue 16: the explorer draws the timeline at 9 x 3.2 in; 40+ path labels overlapped."""
    from matplotlib.figure import Figure

    req = _many_paths()
    assert len(list(session_tree(req).walk())) > 40
    fig = Figure(figsize=(9, 3.2), dpi=80, layout="constrained")
    ax = plot_session_timeline(req, ax=fig.add_subplot())
    assert _overlaps(ax) == 0
    labelled = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(labelled) >= 5  # thinned, not emptied
    assert "below depth" in ax.get_title()  # deep paths grouped on their parent's row
    # 40 top-level paths cannot be grouped: the labels shrink, then every k-th row is labelled
    wide = requests_frame([request(i, f"/tool{i:02d}", i, 500, 0.001) for i in range(40)])
    fig = Figure(figsize=(9, 3.2), dpi=80, layout="constrained")
    ax = plot_session_timeline(wide, ax=fig.add_subplot())
    assert _overlaps(ax) == 0
    labelled = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert 5 <= len(labelled) < 41 and labelled[0] == "/"
    assert "labelled" in ax.get_ylabel()


def test_timeline_grows_with_its_rows_and_groups_deep_paths() -> None:
    req = _many_paths()
    ax = plot_session_timeline(req)
    assert _overlaps(ax) == 0
    assert ax.figure.get_figheight() >= 0.4 * len(ax.get_yticks()) + 1.6  # room per row
    wide = requests_frame([request(i, f"/tool{i:02d}", i, 500, 0.001) for i in range(40)])
    tall = plot_session_timeline(wide)
    assert tall.figure.get_figheight() > 16 and _overlaps(tall) == 0
    assert all(t.get_text() for t in tall.get_yticklabels())  # every row labelled
    assert all(t.get_fontsize() >= 6 for t in ax.get_yticklabels())
    top = plot_session_timeline(req, max_depth=1)
    labels = [t.get_text() for t in top.get_yticklabels()]
    assert labels == ["/", *[f"/step{i}" for i in range(9)]]
    assert sum(len(p.get_paths()) for p in top.collections) + len(top.patches) >= 63
    with pytest.raises(UsageError, match="max_depth"):
        plot_session_timeline(req, max_depth=0)


def test_tree_nodes_and_frame(req: pd.DataFrame) -> None:
    tree = session_tree(req)
    search = tree.find("plan/search/")
    assert (search.path, search.depth, search.requests, search.own_requests) == (
        "/plan/search",
        2,
        3,
        3,
    )
    assert search.mean_latency_ms == pytest.approx(500.0)
    assert search.max_latency_ms == 600.0
    assert tree.root.own_requests == 1 and tree.root.own_cost == pytest.approx(0.0005)
    frame = tree.to_frame()
    assert frame["path"].tolist() == ["/", "/plan", "/plan/search", "/answer"]
    assert frame["requests"].tolist() == [6, 4, 3, 1]
    assert frame["own_requests"].tolist() == [1, 1, 3, 1]
    assert frame["failed"].tolist() == [1, 1, 1, 0]
    assert frame["cost"].tolist() == pytest.approx([0.0095, 0.005, 0.003, 0.004])
    assert frame["first_start"].iloc[2] == pd.Timestamp("2025-01-06 10:00:02", tz="UTC")
    assert frame["last_end"].iloc[0] == pd.Timestamp("2025-01-06 10:00:12.1", tz="UTC")
    assert str(frame["first_start"].dtype) == "datetime64[ns, Europe/Berlin]"
    assert repr(tree) == "<SessionTree 4 paths, 6 requests, $0.0095>"
    with pytest.raises(KeyError):
        tree.find("/nope")


def test_tree_with_missing_numbers_and_several_sessions() -> None:
    rows = [
        request(0, "/a", 0, None, None, status=None),
        request(1, "/a", 1, 200, 0.5, session="s2"),
    ]
    tree = session_tree(requests_frame(rows))
    a = tree.find("/a")
    assert (a.requests, a.failed, a.cost, a.mean_latency_ms) == (2, 0, 0.5, 200.0)
    assert tree.render().splitlines()[0].startswith("2 sessions · 2 requests · $0.50")


def test_tree_of_empty_frame() -> None:
    tree = session_tree(empty_frame(REQUEST_SCHEMA, "UTC"))
    assert tree.root.requests == 0
    lines = tree.render().splitlines()
    assert lines[0] == "No session · 0 requests · $0.0000"
    assert lines[2].split() == ["/", "0", "$0.0000", "-"]


def test_tree_refuses_a_sessions_frame() -> None:
    with pytest.raises(UsageError, match="fetch_session_requests"):
        session_tree(sessions_frame(ROWS))
    with pytest.raises(UsageError, match="requests DataFrame"):
        session_tree("s1")  # type: ignore[arg-type]


def test_timeline(req: pd.DataFrame) -> None:
    fig, ax = plt.subplots()
    out = plot_session_timeline(req, ax=ax)
    assert out is ax
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["/", "/plan", "/plan/search", "/answer"]
    assert ax.get_xlabel() == "Seconds since the first request (s)"
    title = ax.get_title()
    assert 'session s1 "agent"' in title
    assert "started 2025-01-06 11:00:00 (Europe/Berlin), 6 requests, 1 failed" in title
    bars = [p for p in ax.patches]
    assert len(bars) == 6
    failed = [p for p in bars if p.get_hatch()]
    assert len(failed) == 1
    assert failed[0].get_x() == pytest.approx(3.0)  # starts 3 s after the first request
    assert failed[0].get_width() == pytest.approx(0.6)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "request (start to start + latency)",
        "failed (status >= 400), X at its start",
    ]
    assert [list(line.get_xdata()) for line in ax.lines] == [[3.0]]  # the X of the failure


def test_timeline_limits_paths_and_handles_empty(req: pd.DataFrame) -> None:
    ax = plot_session_timeline(req, max_paths=2)
    assert len(ax.get_yticklabels()) == 2
    assert "2 more paths not shown" in ax.get_title()
    empty = plot_session_timeline(empty_frame(REQUEST_SCHEMA, "UTC"))
    assert "no requests" in empty.get_title()
    no_latency = requests_frame([request(0, "/a", 0, None, 0.1)])
    ax2 = plot_session_timeline(no_latency)
    assert len(ax2.lines) == 1  # a tick at the start instead of a bar
    with pytest.raises(UsageError, match="max_paths"):
        plot_session_timeline(req, max_paths=0)


def test_compare_sessions(req: pd.DataFrame) -> None:
    other = requests_frame(
        [
            request(0, "/plan", 0, 600, 0.002),
            request(1, "/review", 1, 300, 0.003, status=429),
        ]
    )
    out = compare_sessions(req, other, labels=("before", "after"))
    assert out["path"].tolist() == ["/", "/plan", "/plan/search", "/answer", "/review"]
    assert out["requests_before"].tolist() == [6, 4, 3, 1, 0]
    assert out["requests_after"].tolist() == [2, 1, 0, 0, 1]
    assert out["failed_after"].tolist() == [1, 0, 0, 0, 1]
    assert out["cost_diff"].tolist() == pytest.approx([-0.0045, -0.003, -0.003, -0.004, 0.003])
    assert out["latency_diff_ms"].iloc[0] == pytest.approx(450.0 - 650.0)
    assert math.isnan(out["latency_diff_ms"].iloc[2])
    assert str(out["requests_after"].dtype) == "Int64"


def test_compare_with_an_empty_session(req: pd.DataFrame) -> None:
    out = compare_sessions(req, empty_frame(REQUEST_SCHEMA, "UTC"))
    assert out["requests_b"].tolist() == [0, 0, 0, 0]
    assert out["cost_diff"].iloc[0] == pytest.approx(-0.0095)
    with pytest.raises(UsageError, match="labels"):
        compare_sessions(req, req, labels=("x", "x"))
