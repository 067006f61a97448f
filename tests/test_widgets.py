"""Headless tests of the notebook widgets: set control values, assert what would be sent.

Most tests run against the embedded demo backend behind a transport that counts requests, so
"nothing is sent" is checked where requests leave the client. Fault tests use a small
``httpx.MockTransport``.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb import has_prop, prop, request, session
from helicone_nb.widgets import PROPERTY_OPERATORS, SessionExplorer, SessionFilters

from .fakes import FakeHelicone, session_row, status

SESSIONS = "/v1/session/query"
PNG = b"\x89PNG"


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


class Counting(httpx.BaseTransport):
    """Passes requests on and records each one (path and JSON body)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def handle_request(self, req: httpx.Request) -> httpx.Response:
        with self._lock:
            self.sent.append((req.url.path, json.loads(req.read() or b"{}")))
        return self.inner.handle_request(req)

    def paths(self) -> list[str]:
        with self._lock:
            return [p for p, _ in self.sent]


@pytest.fixture(scope="module")
def backend() -> Any:
    from helicone_nb.backend import demo_backend

    # in memory: a module-scoped fixture runs before the per-test cache directory is set
    return demo_backend(cache=False)


@pytest.fixture
def transport(backend: Any) -> Counting:
    from helicone_nb.backend import InProcessTransport

    return Counting(InProcessTransport(backend))


@pytest.fixture
def demo(transport: Counting) -> Iterator[hnb.Client]:
    """The demo data like ``hnb.connect(demo=True)``, without the page cache (to count)."""
    from helicone_nb.backend import DEMO_END, DEMO_START

    client = hnb.Client("demo", base_url="http://demo.test", transport=transport, cache=False)
    client.demo_period = (DEMO_START, DEMO_END)
    yield client
    client.close()


def explorer_for(client: hnb.Client, **kwargs: Any) -> SessionExplorer:
    kwargs.setdefault("auto", False)
    return SessionExplorer(client, **kwargs)


def fake_client(fake: FakeHelicone) -> hnb.Client:
    return hnb.Client(
        "sk-test", base_url="http://fake.test", transport=fake.transport, cache=False, retries=0
    )


def run_code(code: str, client: hnb.Client) -> pd.DataFrame:
    namespace: dict[str, Any] = {"client": client}
    exec(code, namespace)
    result: pd.DataFrame = namespace["df"]
    return result


# ---------------------------------------------------------------------------------------------
# Optional dependency
# ---------------------------------------------------------------------------------------------


def test_import_helicone_nb_loads_neither_ipywidgets_nor_matplotlib() -> None:
    code = (
        "import sys, helicone_nb, helicone_nb.widgets\n"
        "bad = [m for m in ('ipywidgets', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_ipywidgets_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(hnb.MissingDependencyError, match=r"pip install 'helicone_nb\[notebook\]'"):
        SessionFilters()


# ---------------------------------------------------------------------------------------------
# SessionFilters: controls -> filter, query, code
# ---------------------------------------------------------------------------------------------


def test_defaults_are_the_last_7_days_and_no_filter() -> None:
    filters = SessionFilters()
    assert filters.range.value == "7d" and filters.valid and filters.message.value == ""
    assert filters.query == {
        "start": "7d",
        "end": None,
        "tz": "UTC",
        "search": "",
        "name": None,
        "filter": "all",
    }
    assert filters.filter == hnb.ALL
    assert filters.code == (
        "import helicone_nb as hnb\n\ndf = client.fetch_sessions(\n"
        "    start='7d',\n    tz='UTC',\n)\n"
    )
    json.dumps(filters.query)  # JSON-serialisable as documented


@pytest.mark.parametrize(
    ("control", "text", "expected"),
    [
        ("model", "gpt-4o", request.model == "gpt-4o"),
        ("user", " alice ", request.user_id == "alice"),
        ("cost_min", "0.05", session.total_cost >= 0.05),
        ("cost_min", "$1", session.total_cost >= 1.0),
        ("cost_max", "2.5", session.total_cost <= 2.5),
        ("min_requests", "3", session.total_requests >= 3),
    ],
)
def test_each_control_builds_the_public_builder_condition(
    control: str, text: str, expected: hnb.Filter
) -> None:
    filters = SessionFilters()
    getattr(filters, control).value = text
    assert filters.filter == expected
    assert filters.query["filter"] == expected.to_wire()
    assert f"filter={expected.to_python()}," in filters.code


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("equals", prop("environment") == "prod"),
        ("not equals", prop("environment") != "prod"),
        ("contains", prop("environment").contains("prod")),
        ("does not contain", prop("environment").not_contains("prod")),
        ("like", prop("environment").like("prod")),
        ("ilike", prop("environment").ilike("prod")),
        ("is set", has_prop("environment")),
    ],
)
def test_property_row_operators(operator: str, expected: hnb.Filter) -> None:
    filters = SessionFilters()
    row = filters.add_property("environment", operator, "prod")
    assert row.value.disabled == (operator == "is set")
    assert filters.filter.to_wire() == expected.to_wire()
    assert set(PROPERTY_OPERATORS) >= {operator}


def test_everything_together_is_and_with_or_only_among_property_rows() -> None:
    filters = SessionFilters()
    filters.model.value = "gpt-4o"
    filters.user.value = "alice"
    filters.cost_min.value = "0.01"
    filters.cost_max.value = "1"
    filters.min_requests.value = "2"
    assert filters.combine.layout.display == "none"  # one row or none: nothing to combine
    filters.add_property("environment", "equals", "production")
    filters.add_property("tier", "equals", "enterprise")
    assert filters.combine.layout.display == ""
    filters.combine.value = "or"
    expected = (
        (request.model == "gpt-4o")
        & (request.user_id == "alice")
        & ((prop("environment") == "production") | (prop("tier") == "enterprise"))
        & (session.total_requests >= 2)
        & (session.total_cost >= 0.01)
        & (session.total_cost <= 1.0)
    )
    assert filters.filter == expected
    assert filters.query["filter"] == expected.to_wire()
    # the code string rebuilds exactly this filter with the public names
    assert eval(filters.filter.to_python(), {"hnb": hnb}) == expected


def test_property_rows_can_be_removed_and_half_typed_rows_are_skipped() -> None:
    filters = SessionFilters()
    first = filters.add_property("environment", "equals", "production")
    half = filters.add_property("tier")  # no value yet: not a condition
    assert filters.filter == (prop("environment") == "production")
    half.value.value = "pro"
    assert filters.filter == (prop("environment") == "production") & (prop("tier") == "pro")
    filters.remove_property(first)
    assert filters.properties == (half,)
    assert filters.filter == (prop("tier") == "pro")
    half.remove.click()
    assert filters.properties == () and filters.filter == hnb.ALL
    filters.add_button.click()
    assert len(filters.properties) == 1 and filters.filter == hnb.ALL


def test_search_and_name_go_to_their_own_arguments() -> None:
    filters = SessionFilters()
    filters.search.value = "supp"
    assert filters.query["search"] == "supp" and filters.query["filter"] == "all"
    assert "search='supp'" in filters.code


def test_custom_window_from_the_pickers_switches_to_custom() -> None:
    filters = SessionFilters(tz="Europe/Berlin")
    filters.start_picker.value = _dt.datetime(2025, 7, 1, 9, 30)
    assert filters.range.value == "custom"
    filters.end_picker.value = _dt.datetime(2025, 7, 8)
    assert filters.query["start"] == "2025-07-01T09:30"
    assert filters.query["end"] == "2025-07-08T00:00"
    assert filters.query["tz"] == "Europe/Berlin"
    assert filters.window() == (
        _dt.datetime(2025, 7, 1, 7, 30, tzinfo=_dt.UTC),
        _dt.datetime(2025, 7, 7, 22, 0, tzinfo=_dt.UTC),
    )
    filters.end_picker.value = None  # open end: until now
    assert filters.query["end"] is None and filters.valid


def test_quick_pick_fills_the_pickers_without_leaving_the_quick_pick() -> None:
    filters = SessionFilters(start="30d")
    assert filters.range.value == "30d" and filters.query["start"] == "30d"
    span = filters.end_picker.value - filters.start_picker.value
    assert span == _dt.timedelta(days=30)
    filters.range.value = "custom"  # the pickers keep the window just shown
    assert filters.query["start"] == filters.start_picker.value.isoformat(timespec="minutes")


def test_time_zones_are_iana_names() -> None:
    from zoneinfo import ZoneInfo

    assert SessionFilters(tz=ZoneInfo("Asia/Tokyo")).query["tz"] == "Asia/Tokyo"
    assert SessionFilters(tz=_dt.UTC).query["tz"] == "UTC"
    with pytest.raises(hnb.UsageError, match="IANA time zone name"):
        SessionFilters(tz=_dt.timezone(_dt.timedelta(hours=2)))
    with pytest.raises(hnb.UsageError, match="unknown time zone"):
        SessionFilters(tz="Mars/Olympus")


def test_initial_absolute_window_is_custom_in_the_zone() -> None:
    filters = SessionFilters(start="2025-07-01", end="2025-07-08", tz="America/New_York")
    assert filters.range.value == "custom"
    assert (filters.query["start"], filters.query["end"]) == (
        "2025-07-01T00:00",
        "2025-07-08T00:00",
    )


def test_quick_picks_are_anchored_to_the_demo_period(demo: hnb.Client) -> None:
    filters = SessionFilters(demo, tz="Europe/Berlin")
    assert (filters.query["start"], filters.query["end"]) == (
        "2025-08-24T02:00",
        "2025-08-31T02:00",
    )
    filters.range.value = "24h"
    assert filters.window() == (
        _dt.datetime(2025, 8, 30, tzinfo=_dt.UTC),
        _dt.datetime(2025, 8, 31, tzinfo=_dt.UTC),
    )
    filters.tz_picker.value = "UTC"
    assert filters.start_picker.value == _dt.datetime(2025, 8, 30)


def test_session_names_fill_the_drop_down(demo: hnb.Client) -> None:
    filters = SessionFilters(demo)
    labels = [label for label, _ in filters.name.options]
    assert labels[0] == "(any)"
    assert {"support-chat", "sql-copilot", "research-agent"} <= set(labels)
    filters.name.value = "support-chat"
    assert filters.query["name"] == "support-chat" and "name='support-chat'" in filters.code


def test_session_names_failing_is_a_note_not_an_error() -> None:
    fake = FakeHelicone()
    fake.fault_paths.add("/v1/session/name/query")
    fake.fault_always = status(500, {"data": None, "error": "names are down"})
    filters = SessionFilters(fake_client(fake))
    assert filters.valid and [v for _, v in filters.name.options] == [""]
    assert "Session names could not be loaded" in filters.message.value
    assert "names are down" in filters.message.value


def test_on_change_is_called_for_every_change_and_can_be_removed() -> None:
    filters = SessionFilters()
    seen: list[bool] = []

    def callback(f: SessionFilters) -> None:
        seen.append(f.valid)

    filters.on_change(callback)
    filters.model.value = "gpt-4o"
    filters.cost_min.value = "x"
    filters.on_change(callback, remove=True)
    filters.cost_min.value = ""
    assert seen == [True, False]


INVALID: list[tuple[Callable[[SessionFilters], None], str]] = [
    (lambda f: setattr(f.cost_min, "value", "abc"), "minimum cost: 'abc' is not a number"),
    (lambda f: setattr(f.cost_max, "value", "1e999"), "maximum cost: '1e999' is not a finite"),
    (lambda f: setattr(f.cost_min, "value", "-1"), "minimum cost cannot be negative"),
    (
        lambda f: (setattr(f.cost_min, "value", "2"), setattr(f.cost_max, "value", "1")),
        "the minimum $2 is above the maximum $1",
    ),
    (lambda f: setattr(f.min_requests, "value", "-1"), "minimum requests cannot be negative"),
    (lambda f: setattr(f.min_requests, "value", "2.5"), "'2.5' is not a whole number"),
    (
        lambda f: (
            setattr(f.start_picker, "value", _dt.datetime(2025, 7, 9)),
            setattr(f.end_picker, "value", _dt.datetime(2025, 7, 1)),
        ),
        "time range: end (2025-07-01T00:00:00+00:00) must be after start",
    ),
    (lambda f: setattr(f.start_picker, "value", None), "pick a start date and time"),
    (lambda f: f.add_property("", "equals", "x"), "property condition 1: give the property name"),
]


@pytest.mark.parametrize(("change", "message"), INVALID)
def test_invalid_input_shows_a_message_and_sends_nothing(
    change: Callable[[SessionFilters], None],
    message: str,
    demo: hnb.Client,
    transport: Counting,
) -> None:
    explorer = explorer_for(demo)
    before = len(transport.sent)
    change(explorer.filters)
    filters = explorer.filters
    assert not filters.valid
    assert message in (filters.error or "")
    assert message.replace("'", "&#x27;") in filters.message.value
    assert "Nothing is sent" in filters.message.value
    for attribute in ("filter", "query", "code"):
        with pytest.raises(hnb.UsageError, match=re.escape(message)):
            getattr(filters, attribute)
    explorer.refresh()  # the button / refresh() refuse too
    assert len(transport.sent) == before
    assert "Not fetched" in explorer.status.value
    assert "Traceback" not in explorer.status.value


def test_auto_refresh_sends_nothing_for_invalid_input(
    demo: hnb.Client, transport: Counting
) -> None:
    explorer = explorer_for(demo, auto=True, debounce=0)
    assert explorer.wait(timeout=30)
    shown = explorer.df
    before = len(transport.sent)
    explorer.filters.cost_min.value = "abc"
    explorer.filters.min_requests.value = "-2"
    assert explorer.wait(timeout=30)
    assert len(transport.sent) == before and explorer.df is shown
    assert "is not a number" in explorer.filters.message.value
    assert "is not a number" in explorer.code_view.value  # instead of the code


def test_filters_repr_is_short_and_display_is_the_widget() -> None:
    filters = SessionFilters()
    assert repr(filters) == "<SessionFilters 7d (UTC), filter=hnb.ALL>"
    bundle = filters._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == filters.widget.model_id and bundle["text/plain"] == repr(filters)


# ---------------------------------------------------------------------------------------------
# SessionExplorer: fetching, code equivalence, errors, drill-down
# ---------------------------------------------------------------------------------------------


def test_code_reproduces_the_explorer_dataframe(demo: hnb.Client) -> None:
    explorer = explorer_for(demo, tz="Europe/Berlin")
    filters = explorer.filters
    filters.range.value = "30d"
    filters.name.value = "support-chat"
    filters.min_requests.value = "3"
    filters.cost_min.value = "0.002"
    filters.add_property("tier", "equals", "enterprise")
    filters.add_property("app_version", "contains", "3.8")
    filters.combine.value = "or"
    df = explorer.refresh()
    assert explorer.error is None and len(df) > 0, explorer.status.value
    assert df is explorer.df
    assert (df["session_name"] == "support-chat").all()
    assert (df["total_requests"] >= 3).all() and (df["total_cost"] >= 0.002).all()
    assert str(df["created_at"].dt.tz) == "Europe/Berlin"
    pd.testing.assert_frame_equal(run_code(explorer.code, demo), explorer.df)
    pd.testing.assert_frame_equal(demo.fetch_sessions(**explorer.query), explorer.df)
    assert f"{len(df):,} sessions" in explorer.status.value


def test_the_explorer_sends_what_the_code_sends(demo: hnb.Client, transport: Counting) -> None:
    explorer = explorer_for(demo)
    explorer.filters.model.value = "gpt-4o"
    explorer.filters.search.value = "a"
    explorer.refresh()

    def queries() -> list[dict[str, Any]]:
        """The distinct queries sent (how many pages are read ahead depends on timing)."""
        bodies = {
            json.dumps(
                {k: v for k, v in body.items() if k not in ("offset", "limit")}, sort_keys=True
            )
            for path, body in transport.sent
            if path == SESSIONS
        }
        return [json.loads(body) for body in sorted(bodies)]

    sent = queries()
    transport.sent.clear()
    run_code(explorer.code, demo)
    assert queries() == sent and len(sent) == 1
    assert sent[0]["filter"] == (request.model == "gpt-4o").to_wire()
    assert sent[0]["search"] == "a"


def test_auto_refresh_is_debounced_into_one_fetch(demo: hnb.Client, transport: Counting) -> None:
    explorer = explorer_for(demo, auto=True, debounce=0.2)
    assert explorer.wait(timeout=30)
    first = explorer.df
    assert len(first) > 0
    transport.sent.clear()
    for text in ("s", "su", "sup", "supp"):
        explorer.filters.search.value = text
    assert explorer.busy
    assert explorer.wait(timeout=30)
    # one fetch (one count, its pages read ahead), for the last text only
    assert transport.paths().count("/v1/session/count") == 1
    assert {body["search"] for path, body in transport.sent if path == SESSIONS} == {"supp"}
    assert len(explorer.df) < len(first)


def test_auto_off_fetches_only_on_the_button(demo: hnb.Client, transport: Counting) -> None:
    transport.sent.clear()
    explorer = explorer_for(demo, auto=False)
    explorer.filters.model.value = "gpt-4o"
    explorer.wait()
    assert SESSIONS not in transport.paths()
    assert "Press Fetch" in explorer.status.value and explorer.df.empty
    assert list(explorer.df.columns) == list(hnb.SESSION_SCHEMA)
    explorer.fetch_button.click()  # fetches in the background
    assert explorer.wait(timeout=30)
    assert len(explorer.df) > 0 and SESSIONS in transport.paths()
    shown = explorer.df
    explorer.filters.model.value = "gpt-4o-mini"
    assert explorer.wait(timeout=30) and explorer.df is shown
    explorer.debounce = 0
    explorer.auto.value = True  # catches up with the change made while it was off
    assert explorer.wait(timeout=30)
    assert explorer.df is not shown and transport.sent[-1][1]["filter"] == (
        (request.model == "gpt-4o-mini").to_wire()
    )


def _rows_for(search: str) -> list[dict[str, Any]]:
    return [session_row(i, name=search) for i in range(3 if search == "slow" else 5)]


def test_a_newer_request_supersedes_a_slower_older_one() -> None:
    release = threading.Event()

    def handler(req: httpx.Request) -> httpx.Response:
        body = json.loads(req.content)
        if req.url.path == "/v1/session/count":
            return httpx.Response(500, json={"data": None, "error": "no count"})
        if req.url.path != SESSIONS:
            return httpx.Response(200, json={"data": [], "error": None})
        if body["search"] == "slow":
            release.wait(10)
        return httpx.Response(200, json={"data": _rows_for(body["search"]), "error": None})

    client = hnb.Client(
        "sk-test",
        base_url="http://fake.test",
        cache=False,
        retries=0,
        transport=httpx.MockTransport(handler),
    )
    explorer = explorer_for(client)
    explorer.filters.search.value = "slow"
    explorer.refresh(wait=False)
    explorer.filters.search.value = "fast"
    explorer.refresh(wait=False)
    deadline = _dt.datetime.now() + _dt.timedelta(seconds=10)
    while len(explorer.df) != 5 and _dt.datetime.now() < deadline:
        threading.Event().wait(0.01)
    release.set()  # now the older, slower answer arrives: it must lose
    assert explorer.wait(timeout=30)
    assert len(explorer.df) == 5 and set(explorer.df["session_name"]) == {"fast"}


def test_server_error_is_shown_in_the_widget_and_keeps_the_previous_frame() -> None:
    fake = FakeHelicone()
    client = fake_client(fake)
    explorer = explorer_for(client)
    explorer.refresh()
    assert len(explorer.df) == 10 and explorer.error is None
    fake.fault_always = status(500, {"data": None, "error": "ClickHouse is on fire"})
    explorer.filters.search.value = "x"
    df = explorer.refresh()
    assert len(df) == 10  # the previous result stays
    assert explorer.error is not None and "ClickHouse is on fire" in explorer.error
    text = explorer.status.value
    assert "Could not fetch sessions" in text and "ClickHouse is on fire" in text
    assert "previous result" in text and "Traceback" not in text
    fake.fault_always = None
    explorer.refresh()
    assert explorer.error is None and "Could not" not in explorer.status.value


def test_authentication_error_reads_like_one() -> None:
    fake = FakeHelicone()
    fake.fault_always = status(401, {"data": None, "error": "Unauthorized"})
    explorer = explorer_for(fake_client(fake))
    explorer.refresh()
    assert explorer.error is not None and "HTTP 401" in explorer.error
    assert "Could not fetch sessions" in explorer.status.value


def test_an_unexpected_exception_is_shown_too() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise RuntimeError("the transport broke")

    client = hnb.Client(
        "sk-test",
        base_url="http://fake.test",
        cache=False,
        retries=0,
        transport=httpx.MockTransport(handler),
    )
    explorer = explorer_for(client)
    explorer.refresh(wait=False)  # in a thread: nothing may escape it
    assert explorer.wait(timeout=30)
    assert explorer.error == "unexpected RuntimeError: the transport broke"
    assert "the transport broke" in explorer.status.value


def test_summary_and_sortable_table(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.refresh()
    df = explorer.df
    assert f"<td class='num'>{len(df):,}</td>" in explorer.summary.value
    from helicone_nb._present.text import money  # the one dollar formatter of the package

    assert money(float(df["total_cost"].sum())) in explorer.summary.value
    explorer.rows.value = 10
    explorer.sort_by.value = "total_requests"
    explorer.ascending.value = True
    ids = [v for _, v in explorer.session_picker.options][1:]
    expected = hnb.recipes.top_sessions(df, "total_requests", 10, ascending=True)
    assert ids == expected["session_id"].tolist()
    assert explorer.table.value.index(ids[0]) < explorer.table.value.index(ids[1])
    assert f"10 of {len(df):,} sessions, by requests" in explorer.table.value
    explorer.sort_by.value = "created_at"
    ids = [v for _, v in explorer.session_picker.options][1:]
    assert ids == df.sort_values("created_at", kind="mergesort")["session_id"].head(10).tolist()
    explorer.sort_by.value = "cost_per_request"
    assert "cost per request" in explorer.table.value


def test_table_escapes_html_in_names() -> None:
    fake = FakeHelicone([session_row(0, name="<b>bold</b> & co")])
    explorer = explorer_for(fake_client(fake))
    explorer.refresh()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in explorer.table.value
    assert "<b>bold</b>" not in explorer.table.value


def test_plots_are_drawn_when_their_tab_is_open(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.refresh()
    assert bytes(explorer.cost_plot.value) == b""  # not drawn while hidden
    explorer.tabs.selected_index = 1
    assert explorer.wait(timeout=30)
    first = bytes(explorer.cost_plot.value)
    assert first.startswith(PNG) and bytes(explorer.latency_plot.value).startswith(PNG)
    explorer.filters.name.value = "sql-copilot"
    explorer.refresh()  # with the tab open, a new result is drawn at once
    assert bytes(explorer.cost_plot.value).startswith(PNG)
    assert bytes(explorer.cost_plot.value) != first


def test_drill_down_shows_the_requests_that_make_up_the_row(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.filters.model.value = "gpt-4o-mini"  # request-level: the drill-down applies it
    explorer.refresh()
    options = explorer.session_picker.options
    assert options[0] == ("(pick a session)", "") and len(options) > 1
    session_id = options[1][1]
    explorer.session_picker.value = session_id  # opens it in the background
    assert explorer.wait(timeout=30)
    requests = explorer.selected_requests
    assert explorer.selected_session == session_id and len(requests) > 0
    assert (requests["session_id"] == session_id).all()
    assert (requests["model"] == "gpt-4o-mini").all()
    row = explorer.df.set_index("session_id").loc[session_id]
    assert len(requests) == row["total_requests"]
    assert requests["cost"].sum() == pytest.approx(row["total_cost"])
    assert f"Session {session_id}" in explorer.tree.value
    assert explorer.requests_table.value.count("<tr>") == len(requests) + 1  # + the header
    assert explorer.requests_table.value.count("gpt-4o-mini") == len(requests)
    assert bytes(explorer.timeline.value).startswith(PNG)
    assert explorer.open_session(session_id) is explorer.selected_requests


def test_drill_down_error_is_shown() -> None:
    fake = FakeHelicone()
    explorer = explorer_for(fake_client(fake))
    explorer.refresh()
    fake.faults.append(status(500, {"data": None, "error": "requests unavailable"}))
    explorer.open_session("sess-00001")
    assert "Could not open sess-00001" in explorer.drill_status.value
    assert "requests unavailable" in explorer.drill_status.value
    assert explorer.selected_requests.empty


def test_drill_down_before_any_fetch_says_so(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.open_session("abc")
    assert "fetch sessions first" in explorer.drill_status.value


def test_explorer_repr_is_cheap_and_display_is_the_widget(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    assert repr(explorer) == "<SessionExplorer 0 sessions, idle>"
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == (
        explorer.widget.model_id
    )


def test_explorer_connects_by_itself_without_a_client(capsys: pytest.CaptureFixture[str]) -> None:
    explorer = SessionExplorer(auto=False)  # no key in the environment: the demo data
    assert explorer.client.demo_period is not None
    assert "demo data" in capsys.readouterr().out
    explorer.refresh()
    assert len(explorer.df) > 0
    explorer.client.close()


def test_negative_debounce_is_refused(demo: hnb.Client) -> None:
    with pytest.raises(hnb.UsageError, match="debounce"):
        SessionExplorer(demo, debounce=-1)


def test_a_change_that_does_not_change_the_query_sends_nothing(
    demo: hnb.Client, transport: Counting
) -> None:
    explorer = explorer_for(demo, auto=True, debounce=0.2)
    assert explorer.wait(timeout=30)
    before = len(transport.sent)
    explorer.filters.add_property()  # an empty row is no condition
    explorer.filters.model.value = "gpt-4o"
    explorer.filters.model.value = ""  # back to what is shown, within the debounce
    explorer.filters.load_names()  # same names, same selection
    assert explorer.wait(timeout=30)
    assert transport.paths()[before:] == ["/v1/session/name/query"]


def test_an_empty_result_reads_well(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.filters.search.value = "no-such-session"
    explorer.tabs.selected_index = 1
    df = explorer.refresh()
    assert explorer.wait(timeout=30)
    assert df.empty and list(df.columns) == list(hnb.SESSION_SCHEMA)
    assert "0 sessions from" in explorer.status.value and explorer.error is None
    assert "– / – / –" in explorer.summary.value
    assert explorer.table.value.count("<tr>") == 1  # the header only
    assert bytes(explorer.cost_plot.value).startswith(PNG) and explorer.plot_note.value == ""
    assert explorer.session_picker.options == (("(pick a session)", ""),)


def test_docstring_examples() -> None:
    import doctest

    from helicone_nb import widgets

    result = doctest.testmod(widgets, verbose=False)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------------------------
# The values-to-query step, without widgets
# ---------------------------------------------------------------------------------------------


def test_values_to_query_is_pure_and_needs_no_ipywidgets() -> None:
    code = (
        "import sys\n"
        "sys.modules['ipywidgets'] = None\n"
        "from helicone_nb.widgets._query import FilterValues, PropertyValues, build_query\n"
        "state = build_query(FilterValues(range='30d', model='gpt-4o', properties=("
        "PropertyValues('tier', 'equals', 'pro'), PropertyValues('env', 'is set')), "
        "combine='or'))\n"
        "assert state.error is None and state.start == '30d', state\n"
        "print(state.filter.to_python())\n"
        "assert 'ipywidgets' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == (
        "((hnb.request.model == 'gpt-4o') & ((hnb.prop('tier') == 'pro') | hnb.has_prop('env')))"
    )


def test_values_to_query_covers_every_control() -> None:
    from helicone_nb.widgets._query import FilterValues, PropertyValues, build_query

    values = FilterValues(
        range="custom",
        start=_dt.datetime(2025, 7, 1, 9, 30),
        end=_dt.datetime(2025, 7, 8),
        tz="Europe/Berlin",
        search="supp",
        name="support-chat",
        model=" gpt-4o ",
        user="alice",
        cost_min="$0.01",
        cost_max="1",
        min_requests="2",
        properties=(PropertyValues("environment", "equals", "production"),),
    )
    state = build_query(values)
    assert state.error is None
    expected = (
        (request.model == "gpt-4o")
        & (request.user_id == "alice")
        & (prop("environment") == "production")
        & (session.total_requests >= 2)
        & (session.total_cost >= 0.01)
        & (session.total_cost <= 1.0)
    )
    assert state.filter == expected
    assert state.request_filter == (
        (request.model == "gpt-4o")
        & (request.user_id == "alice")
        & (prop("environment") == "production")
    )
    assert state.query() == {
        "start": "2025-07-01T09:30",
        "end": "2025-07-08T00:00",
        "tz": "Europe/Berlin",
        "search": "supp",
        "name": "support-chat",
        "filter": expected.to_wire("Europe/Berlin"),
    }
    assert "name='support-chat'" in state.code() and "search='supp'" in state.code()


def test_values_to_query_anchors_quick_picks_and_reports_errors() -> None:
    from helicone_nb.widgets._query import FilterValues, PropertyValues, build_query

    anchor = _dt.datetime(2025, 8, 31, tzinfo=_dt.UTC)
    state = build_query(FilterValues(range="24h", tz="Europe/Berlin"), anchor)
    assert (state.start, state.end) == ("2025-08-30T02:00", "2025-08-31T02:00")
    assert build_query(FilterValues(range="7d")).start == "7d"  # relative without an anchor
    for values, message in [
        (FilterValues(cost_min="2", cost_max="1"), "the minimum $2 is above the maximum $1"),
        (FilterValues(range="custom"), "pick a start date and time"),
        (FilterValues(properties=(PropertyValues("", "equals", "x"),)), "give the property name"),
        (FilterValues(properties=(PropertyValues("k", "near", "x"),)), "unknown operator"),
    ]:
        state = build_query(values)
        assert state.error is not None and message in state.error, (values, state.error)


def test_a_filter_change_redraws_only_the_plot_on_screen(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.refresh()
    explorer.tabs.selected_index = 1  # opening the Plots tab draws both
    assert explorer.wait(timeout=30)
    latency = bytes(explorer.latency_plot.value)
    explorer.filters.name.value = "sql-copilot"
    explorer.refresh()
    assert bytes(explorer.latency_plot.value) == latency  # not on screen: not drawn yet
    explorer.plot_tabs.selected_index = 1  # shown: drawn for the result on screen
    assert explorer.wait(timeout=30)
    assert bytes(explorer.latency_plot.value).startswith(PNG)
    assert bytes(explorer.latency_plot.value) != latency


def test_values_to_query_docstring_examples() -> None:
    import doctest

    from helicone_nb.widgets import _query

    result = doctest.testmod(_query, verbose=False)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------------------------
# What JupyterLab showed (issue 16) and the interactive table (issue 14)
# ---------------------------------------------------------------------------------------------


def test_invalid_input_says_the_result_shown_is_stale(demo: hnb.Client) -> None:
    explorer = explorer_for(demo, auto=True, debounce=0)
    assert explorer.wait(timeout=30)
    shown = explorer.status.value
    assert "sessions from" in shown and "Out of date" not in shown
    explorer.filters.cost_min.value = "lots"
    status = explorer.status.value
    assert "Not fetched" in status and "is not a number" in status
    assert "Out of date" in status and "previous result" in status
    explorer.filters.cost_min.value = ""  # back to the filters of the result shown
    assert explorer.wait(timeout=30)
    assert explorer.status.value == shown


def test_with_auto_off_a_change_says_the_result_is_stale(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.refresh()
    explorer.filters.model.value = "gpt-4o"
    assert "Out of date" in explorer.status.value and "Press Fetch" in explorer.status.value
    explorer.refresh()
    assert "Out of date" not in explorer.status.value


def test_widget_html_colours_follow_the_jupyterlab_theme(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.refresh()
    explorer.filters.cost_min.value = "x"
    html_values = [
        explorer.status.value,
        explorer.summary.value,
        explorer.table.value,
        explorer.filters.message.value,
    ]
    colours = re.findall(r"color:([^;}]+)", "".join(html_values))
    assert colours, "no colours at all?"
    for colour in colours:
        assert colour.startswith("var(--jp-") or colour == "inherit", colour
    css = explorer.status.value
    assert "var(--jp-ui-font-color2,#666)" in css and "var(--jp-error-color1,#b00020)" in css


def test_custom_range_button_is_wide_enough_for_its_label() -> None:
    filters = SessionFilters()
    width = int(filters.range.style.button_width.removesuffix("px"))
    longest = max(len(label) for label in filters.range._options_labels)
    assert width >= 11 * longest + 12  # 11 px per character at 13 px plus the padding


def test_users_column_shows_the_first_users_and_how_many_more() -> None:
    row = session_row(0, name="many")
    row["user_ids"] = [f"user-{i}@example.com" for i in range(7)]
    explorer = explorer_for(fake_client(FakeHelicone([row])))
    explorer.refresh()
    cell = re.search(r"<td class='hnb-wrap'>([^<]*)</td>", explorer.table.value)
    assert cell is not None
    assert cell.group(1) == "user-0@example.com, user-1@example.com, user-2@example.com +4 more"


def test_clicking_a_header_sorts_and_a_second_click_flips(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    df = explorer.refresh()
    assert "data-hnb-action='sort' data-hnb-value='total_cost'" in explorer.table.value
    assert "aria-sort='descending'" in explorer.table.value
    explorer.table.click("sort", "total_requests")
    assert (explorer.sort_by.value, explorer.ascending.value) == ("total_requests", False)
    top = hnb.recipes.top_sessions(df, "total_requests", 25)
    assert [v for _, v in explorer.session_picker.options][1:] == top["session_id"].tolist()
    explorer.table.click("sort", "total_requests")
    assert explorer.ascending.value is True
    assert "requests ▲" in explorer.table.value
    explorer.table.click("sort", "session_name")  # not a sort key: nothing happens
    assert explorer.sort_by.value == "total_requests"


def test_paging_through_the_table(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    df = explorer.refresh()
    explorer.rows.value = 10
    ranked = hnb.recipes.top_sessions(df, "total_cost", len(df))["session_id"].tolist()

    def shown() -> list[str]:
        return [v for _, v in explorer.session_picker.options][1:]

    assert shown() == ranked[:10] and explorer.sessions.prev_button.disabled
    explorer.sessions.next_button.click()
    assert shown() == ranked[10:20]
    assert f"rows 11–20, page 2 of {-(-len(df) // 10):,}" in explorer.table.value
    explorer.sessions.turn(10_000)  # past the end: the last page
    assert shown() == ranked[(len(ranked) - 1) // 10 * 10 :]
    assert explorer.sessions.next_button.disabled
    explorer.sort_by.value = "total_requests"  # a new order starts at the first page
    assert explorer.sessions.page == 0
    explorer.sessions.next_button.click()
    explorer.refresh()  # a new result starts at the first page too
    assert explorer.sessions.page == 0


def test_clicking_a_row_opens_its_drill_down(demo: hnb.Client) -> None:
    explorer = explorer_for(demo)
    explorer.refresh()
    session_id = [v for _, v in explorer.session_picker.options][3]
    assert f"data-hnb-action='open' data-hnb-value='{session_id}'" in explorer.table.value
    explorer.table.click("open", session_id)
    assert explorer.tabs.selected_index == 2
    assert explorer.wait(timeout=30)
    assert explorer.selected_session == session_id
    assert (explorer.selected_requests["session_id"] == session_id).all()
    assert f"Session {session_id}" in explorer.tree.value


def test_kept_plot_figures_draw_exactly_what_fresh_ones_draw(demo: hnb.Client) -> None:
    """The Plots tab redraws kept figures (faster); each image must equal a fresh drawing."""
    import io

    import numpy as np
    from PIL import Image

    from helicone_nb import plots
    from helicone_nb._present.figures import figure_png
    from helicone_nb.widgets._render import plot_figures, plot_freq, plot_png

    explorer = explorer_for(demo)
    views = []
    for name, window in (("", "30d"), ("sql-copilot", "7d"), ("", "90d"), ("support-chat", "24h")):
        explorer.filters.name.value = name
        explorer.filters.range.value = window
        explorer.refresh()
        views.append(explorer._view)
    figures = plot_figures()
    margins = (0.95, 0.15, 0.15, 0.55)

    def pixels(png: bytes) -> Any:
        return np.asarray(Image.open(io.BytesIO(png)))

    def untitled(plot: Callable[[Any], Any]) -> Callable[[Any], None]:
        def draw(ax: Any) -> None:
            plot(ax)
            ax.set_title("")

        return draw

    for view in views:  # large, small, larger, tiny: limits must follow every time
        df = view.df
        freq = plot_freq(*view.window)
        fresh = {
            "cost": figure_png(
                untitled(lambda ax, df=df, freq=freq: plots.plot_cost_over_time(df, freq, ax=ax)),
                (9, 3.1),
                dpi=80,
                margins=margins,
            ),
            "latency": figure_png(
                untitled(lambda ax, df=df: plots.plot_latency_distribution(df, ax=ax)),
                (8, 3.1),
                dpi=80,
                margins=margins,
            ),
        }
        for key, expected in fresh.items():
            image, title, note = plot_png(view, key, figures)
            assert note == "" and "hnb-plot-title" in title
            assert (pixels(image) == pixels(expected)).all(), (key, len(df))
    cost_title = plot_png(views[0], "cost", figures)[1]
    assert "Cost per day" in cost_title and "<br>" in cost_title  # two lines, as HTML


def test_a_slow_fetch_shows_how_long_it_has_been_running() -> None:
    release = threading.Event()

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/v1/session/count":
            return httpx.Response(200, json={"data": 5, "error": None})
        if req.url.path != SESSIONS:  # the session names
            return httpx.Response(200, json={"data": [], "error": None})
        release.wait(10)
        return httpx.Response(200, json={"data": _rows_for("x"), "error": None})

    client = hnb.Client(
        "sk-test",
        base_url="http://fake.test",
        cache=False,
        retries=0,
        transport=httpx.MockTransport(handler),
    )
    explorer = explorer_for(client)
    explorer.refresh(wait=False)
    deadline = _dt.datetime.now() + _dt.timedelta(seconds=10)
    while "Fetching sessions" not in explorer.status.value or " s</span>" not in (
        explorer.status.value
    ):
        assert _dt.datetime.now() < deadline, explorer.status.value
        threading.Event().wait(0.05)
    assert re.search(r"Fetching sessions from .*… \d+ s</span>", explorer.status.value)
    release.set()
    assert explorer.wait(timeout=30)
    assert "5 sessions from" in explorer.status.value  # the ticker stopped with the fetch
    threading.Event().wait(0.7)
    assert "Fetching" not in explorer.status.value
