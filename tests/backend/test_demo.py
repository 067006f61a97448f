"""The demo organisation: deterministic, anchored, realistic, cached."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from helicone_nb._errors import UsageError
from helicone_nb.backend import (
    DEMO_DEFAULT_REQUESTS,
    DEMO_END,
    DEMO_START,
    DEMO_TZ,
    _demo_cache,
    demo_backend,
    generate_demo,
)
from helicone_nb.backend._demo_org import FINE_TUNE

from .helpers import post


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return generate_demo(20_000, seed=0)


def test_period_constants() -> None:
    assert dt.datetime(2025, 6, 2, tzinfo=dt.UTC) == DEMO_START
    assert dt.timedelta(days=90) == DEMO_END - DEMO_START
    assert ZoneInfo(DEMO_TZ)
    assert 20_000 <= DEMO_DEFAULT_REQUESTS <= 50_000


def test_same_seed_same_rows_other_seed_other_rows(demo: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(generate_demo(20_000, seed=0), demo)
    other = generate_demo(20_000, seed=1)
    assert not other["request_id"].equals(demo["request_id"])


@pytest.mark.parametrize("size", [999, 5_000_001, 2.5])
def test_size_is_checked(size: float) -> None:
    with pytest.raises(UsageError, match="1,000 to 5,000,000"):
        generate_demo(size)  # type: ignore[arg-type]


def test_exact_size_inside_the_fixed_period(demo: pd.DataFrame) -> None:
    assert len(demo) == 20_000 and demo["request_id"].is_unique
    start, end = DEMO_START.replace(tzinfo=None), DEMO_END.replace(tzinfo=None)
    assert demo["request_created_at"].min() > start
    assert demo["response_created_at"].max() < end
    assert demo["request_created_at"].is_monotonic_increasing


def test_applications_users_and_sessions(demo: pd.DataFrame) -> None:
    names = demo["property:Helicone-Session-Name"].fillna("<none>")
    assert set(names) == {
        "support-chat",
        "code-review-agent",
        "research-agent",
        "email-drafter",
        "sql-copilot",
        "<none>",
    }
    sessions = demo["property:Helicone-Session-Id"].dropna()
    assert 1_500 <= sessions.nunique() <= 3_000  # about one session per 10 requests
    loose = demo["property:Helicone-Session-Id"].isna()
    assert 0.01 < loose.mean() < 0.04  # requests outside any session
    unnamed = demo["property:Helicone-Session-Name"].isna() & ~loose
    assert unnamed.any()  # sessions without a name
    assert demo["user_id"].nunique() > 200
    assert (demo.loc[~loose, "user_id"] == "").any()  # sessions without a user
    for prop in ("property:environment", "property:app_version"):
        assert demo[prop].notna().all()
    assert set(demo["property:environment"]) == {"production", "staging"}


def test_session_paths_form_trees(demo: pd.DataFrame) -> None:
    review = demo[demo["property:Helicone-Session-Name"] == "code-review-agent"]
    first = review.groupby("property:Helicone-Session-Id")["property:Helicone-Session-Path"].first()
    assert (first == "/plan").mean() > 0.95
    paths = set(review["property:Helicone-Session-Path"])
    assert {
        "/plan",
        "/plan/read-diff",
        "/review/file-1",
        "/review/file-1/lint",
        "/summarise",
    } <= paths
    research = set(
        demo.loc[
            demo["property:Helicone-Session-Name"] == "research-agent",
            "property:Helicone-Session-Path",
        ]
    )
    assert {"/plan", "/plan/search", "/plan/search/summarise", "/answer"} <= research


def test_costs_are_list_prices(demo: pd.DataFrame) -> None:
    prices = {  # USD per 1M tokens: in, out, cache read
        "gpt-4o": (2.50, 10.00, 1.25),
        "gpt-4o-mini": (0.15, 0.60, 0.075),
        "claude-3-5-sonnet-20241022": (3.00, 15.00, 0.30),
        "claude-3-5-haiku-20241022": (0.80, 4.00, 0.08),
        "gemini-1.5-flash": (0.075, 0.30, 0.01875),
        "text-embedding-3-small": (0.02, 0.0, 0.0),
        "o3-mini": (1.10, 4.40, 0.55),
    }
    priced = demo[demo["model"].astype(str) != FINE_TUNE]  # the unpriced slice: see below
    assert set(priced["model"].astype(str)) == set(prices)
    p = priced["model"].astype(str).map(prices)
    usd = (
        priced["prompt_tokens"] * p.str[0]
        + priced["completion_tokens"] * p.str[1]
        + priced["prompt_cache_read_tokens"] * p.str[2]
    ) / 1e6
    np.testing.assert_allclose(priced["cost"] / 1e9, usd, rtol=1e-9, atol=1e-12)
    assert set(demo["provider"].astype(str)) == {"OPENAI", "ANTHROPIC", "GOOGLE"}


def test_a_fine_tune_helicone_cannot_price(demo: pd.DataFrame) -> None:
    tuned = demo[demo["model"].astype(str) == FINE_TUNE]
    assert len(tuned) > 20
    assert (tuned["cost"] == 0).all()
    assert (tuned.loc[tuned["status"] == 200, "prompt_tokens"] > 0).all()
    assert set(tuned["property:Helicone-Session-Name"]) == {"email-drafter"}
    assert set(tuned["property:app_version"]) == {"1.4.0"}
    assert tuned["request_created_at"].min() >= pd.Timestamp("2025-08-25 08:00")


def test_scores_and_feedback(demo: pd.DataFrame) -> None:
    feedback = demo["score:helicone-score-feedback"]
    rated = demo[feedback.notna()]
    assert 0.01 < len(rated) / len(demo) < 0.1
    assert set(rated["score:helicone-score-feedback"]) == {0, 1}
    assert 0.6 < rated["score:helicone-score-feedback"].mean() < 0.95
    # session feedback sits on the session's first request
    first = demo.groupby("property:Helicone-Session-Id")["request_created_at"].transform("min")
    assert (rated["request_created_at"] == first[rated.index]).all()
    assert set(rated["property:Helicone-Session-Name"]) == {
        "support-chat",
        "research-agent",
        "email-drafter",
    }
    assert demo["score:accuracy"].dropna().between(40, 100).all()
    assert set(demo["score:sql-valid-hcone-bool"].dropna()) == {0, 1}
    scored = demo.filter(like="score:").notna().any(axis=1)
    # a score re-inserts the row later; every row is stored after its response
    assert (demo["updated_at"] >= demo["response_created_at"]).all()
    lag = demo["updated_at"] - demo["response_created_at"]
    assert lag[scored].median() > 10 * lag[~scored].median()


def test_o3_mini_reasons(demo: pd.DataFrame) -> None:
    o3 = demo[(demo["model"] == "o3-mini") & (demo["status"] == 200)]
    assert (o3["reasoning_tokens"] > 0).mean() > 0.9
    assert (o3["reasoning_tokens"] < o3["completion_tokens"]).all()
    assert (demo.loc[demo["model"] != "o3-mini", "reasoning_tokens"] == 0).all()


def test_failures_have_no_completion(demo: pd.DataFrame) -> None:
    failed = demo[demo["status"] != 200]
    assert set(failed["status"]) == {400, 429, 500}
    assert 0.005 < len(failed) / len(demo) < 0.05
    assert (failed["completion_tokens"] == 0).all() and (failed["cost"] == 0).all()


def test_latency_grows_with_tokens(demo: pd.DataFrame) -> None:
    ok = demo[(demo["status"] == 200) & (demo["model"] == "gpt-4o")]
    assert np.corrcoef(ok["completion_tokens"], np.log(ok["latency"]))[0, 1] > 0.3
    assert (demo["latency"] > 0).all()


def test_weekly_and_daily_rhythm(demo: pd.DataFrame) -> None:
    local = demo["request_created_at"].dt.tz_localize("UTC").dt.tz_convert(DEMO_TZ)
    internal = demo["property:Helicone-Session-Name"].isin(["code-review-agent", "sql-copilot"])
    weekday = local[internal].dt.day_of_week
    assert (weekday < 5).mean() > 0.85
    hour = local[internal].dt.hour
    assert ((hour >= 8) & (hour < 18)).mean() > 0.7


def test_the_cost_spike_and_the_latency_regression_are_there(demo: pd.DataFrame) -> None:
    chat = demo[demo["property:Helicone-Session-Path"] == "/answer"]
    spike = chat["property:app_version"] == "3.8.0"
    assert spike.any()
    assert (
        chat.loc[spike, "cost"].mean()
        > 4 * chat.loc[chat["property:app_version"] == "3.7.0", "cost"].mean()
    )
    gemini = demo[(demo["model"] == "gemini-1.5-flash") & (demo["status"] == 200)]
    per_token = gemini["latency"] / (gemini["completion_tokens"] + 100)
    early = per_token[gemini["request_created_at"] < "2025-07-15"].median()
    late = per_token[gemini["request_created_at"] > "2025-08-17"].median()
    assert late > 1.35 * early


def test_demo_backend_serves_the_demo() -> None:
    backend = demo_backend(2_000, seed=0, cache=False, quirks=True)
    assert backend.request_count == 2_000
    body = {
        "search": "",
        "timeFilter": {
            "startTimeUnixMs": DEMO_START.timestamp() * 1000,
            "endTimeUnixMs": DEMO_END.timestamp() * 1000,
        },
        "timezoneDifference": 0,
        "filter": "all",
        "limit": 1000,
    }
    rows = post(backend, "/v1/session/query", body).json()["data"]
    assert len(rows) == backend.session_count
    assert isinstance(rows[0]["total_requests"], str)  # quirks passed through


def test_large_demos_are_cached_atomically_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_NB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(_demo_cache, "CACHE_FROM_REQUESTS", 1_000)
    first = demo_backend(1_500, seed=4)
    files = list((tmp_path / "cache" / "demo").iterdir())
    assert [f.suffix for f in files] == [".duckdb"]  # no temporary file left behind
    first.add_tag(
        first.store.execute("SELECT any_value(session_id) FROM requests").fetchone()[0], "t"
    )

    def no_generation(*args: object) -> None:
        raise AssertionError("the cached demo should have been used")

    monkeypatch.setattr(_demo_cache, "generate_demo", no_generation)
    second = demo_backend(1_500, seed=4)
    assert second.request_count == 1_500
    assert second.store.execute("SELECT count(*) FROM session_tags").fetchone() == (0,)
    query = "SELECT * FROM requests ORDER BY request_id"
    assert first.store.execute(query).fetchall() == second.store.execute(query).fetchall()


def test_a_damaged_cache_file_is_replaced_by_fresh_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_NB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_demo_cache, "CACHE_FROM_REQUESTS", 1_000)
    target = _demo_cache._cache_file(1_200, 0)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not a database")
    assert demo_backend(1_200).request_count == 1_200
    assert not target.exists()


def test_an_unwritable_cache_dir_falls_back_to_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache dir should be")
    monkeypatch.setenv("HELICONE_NB_CACHE_DIR", str(blocker))
    monkeypatch.setattr(_demo_cache, "CACHE_FROM_REQUESTS", 1_000)
    assert demo_backend(1_000).request_count == 1_000


def test_chunks_give_any_size_with_distinct_ids() -> None:
    from helicone_nb.backend import generate_demo_chunks

    chunks = list(generate_demo_chunks(5_000, seed=2, chunk_requests=2_000))
    assert [len(c) for c in chunks] == [1_667, 1_667, 1_666]
    ids = pd.concat([c["request_id"] for c in chunks])
    assert ids.is_unique
    again = list(generate_demo_chunks(5_000, seed=2, chunk_requests=2_000))
    pd.testing.assert_frame_equal(chunks[1], again[1])
    with pytest.raises(UsageError, match="chunk_requests"):
        next(generate_demo_chunks(5_000, chunk_requests=10))
