"""Opt-in check against the real Helicone API. Never runs in CI or by default.

Run with: HELICONE_LIVE_KEY=sk-... HELICONE_NB_LIVE=1 pytest -m live tests/test_live.py
(add HELICONE_BASE_URL for self-hosted Helicone or an EU key for the EU region).
"""

from __future__ import annotations

import os

import pytest

import helicone_nb as hnb

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("HELICONE_NB_LIVE") == "1" and os.environ.get("HELICONE_LIVE_KEY")),
        reason="live test: set HELICONE_NB_LIVE=1 and HELICONE_LIVE_KEY to run against Helicone",
    ),
]


def test_live_sessions_last_day(tmp_path: object) -> None:
    key = os.environ["HELICONE_LIVE_KEY"]
    client = hnb.Client(key, cache=False, progress=False)
    df = client.fetch_sessions("24h", max_sessions=50)
    assert list(df.columns) == list(hnb.SESSION_SCHEMA)
    assert key not in repr(client)
    metrics = client.count_sessions("24h")
    assert metrics.count >= 0
