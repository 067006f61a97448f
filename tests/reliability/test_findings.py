"""What the reliability work found in the client and the backend, kept as regression tests.

Each was a failing (strict xfail) test first; all are fixed. (The misshapen-body findings are
in ``test_shapes.py``.)
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

import helicone_nb as hnb
from helicone_nb import RetryPolicy
from helicone_nb.cli import main

from ..fakes import FakeHelicone, session_row
from .scenarios import KEY, WINDOW

FAST = RetryPolicy(max_retries=3, backoff=0.001, max_backoff=0.002)


def test_the_default_retries_make_a_20_page_pull_at_30_percent_faults_reliable() -> None:
    """At 30 % faults a page fails when all its attempts fail: 0.3 ** attempts.

    With 5 attempts (the default 4 retries) one 20-page pull in 21 fails (measured: see the
    benchmark); 7 attempts bring it below one in 200.
    """
    attempts = RetryPolicy().max_retries + 1
    assert (1 - 0.3**attempts) ** 20 >= 0.995


def test_the_report_and_sessions_commands_close_their_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[bool] = []
    original = hnb.Client.close

    def close(self: hnb.Client) -> None:
        closed.append(True)
        original(self)

    monkeypatch.setattr(hnb.Client, "close", close)
    assert main(["sessions", "--demo", "-o", str(tmp_path / "s.csv")]) == 0
    assert closed


def test_rows_moved_between_pages_are_warned_about_even_when_the_numbers_agree() -> None:
    """A row seen twice proves rows moved down between requests: some may have been missed."""
    rows = [session_row(i) for i in range(5)] + [session_row(4)]  # one row moved down a page
    fake = FakeHelicone(rows, count=False)
    c = hnb.Client(KEY, transport=fake.transport, cache=False, retries=FAST, page_size=3)
    with pytest.warns(hnb.InconsistentPagesWarning, match="1 duplicates removed"):
        c.fetch_sessions(*WINDOW)


def test_a_one_page_result_costs_two_requests() -> None:
    """Page 0 and the count: Helicone's rate limit is 1,000 requests per 5 minutes."""
    fake = FakeHelicone([session_row(i) for i in range(10)])
    c = hnb.Client(KEY, transport=fake.transport, cache=False, retries=FAST)  # concurrency 4
    assert len(c.fetch_sessions(*WINDOW)) == 10
    assert len(fake.requests) == 2


def test_read_ahead_pages_send_nothing_after_the_call_returns() -> None:
    fake = FakeHelicone([session_row(i) for i in range(150)], count=False)

    def slow_errors_past_page_1(request: httpx.Request) -> httpx.Response | None:
        if json.loads(request.content).get("offset", 0) > 100:
            time.sleep(0.2)
            return httpx.Response(503, json={"data": None, "error": "busy"})
        return None

    fake.fault_always = slow_errors_past_page_1
    with tempfile.TemporaryDirectory() as cache:
        c = hnb.Client(KEY, transport=fake.transport, cache=cache, retries=FAST, page_size=100)
        assert len(c.fetch_sessions(*WINDOW)) == 150  # page 1 is short: done
        sent = len(fake.requests)
        time.sleep(0.6)  # the read-ahead pages past it answer 503 and would retry
        assert len(fake.requests) == sent


def test_ingest_frame_takes_an_organization_id_column() -> None:
    from helicone_nb.backend import Backend

    frame = pd.DataFrame(
        {
            "request_id": ["r1"],
            "request_created_at": [pd.Timestamp("2025-03-01")],
            "organization_id": ["org-from-the-frame"],
            "property:Helicone-Session-Id": ["s1"],
        }
    )
    with Backend() as backend:
        assert backend.ingest_frame(frame) == 1
        row = backend.store.execute("SELECT organization_id FROM requests").fetchone()
        assert row == ("org-from-the-frame",)
