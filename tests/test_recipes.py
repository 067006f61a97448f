"""Recipes against hand-computed expectations on small frames (and empty / NA frames)."""

from __future__ import annotations

import copy
import doctest
import math
from typing import Any

import pandas as pd
import pytest

from helicone_nb import recipes
from helicone_nb._errors import UsageError
from helicone_nb._frames import SESSION_SCHEMA, empty_frame, sessions_frame


def session(
    sid: str,
    name: str,
    start: str,
    seconds: float,
    cost: float,
    requests: int,
    tokens: int,
    latency: float | None,
    users: list[str],
) -> dict[str, Any]:
    begin = pd.Timestamp(start)
    end = begin + pd.Timedelta(seconds=seconds)
    return {
        "session_id": sid,
        "session_name": name,
        "created_at": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "latest_request_created_at": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "total_cost": cost,
        "total_requests": requests,
        "prompt_tokens": tokens // 2,
        "completion_tokens": tokens - tokens // 2,
        "total_tokens": tokens,
        "avg_latency": latency,
        "user_ids": users,
    }


ROWS = [
    # id, name, start (UTC), duration s, cost $, requests, tokens, mean latency ms, users
    session("s1", "plan", "2025-01-06 10:00:00", 60, 1.0, 4, 400, 500.0, ["ann"]),
    session("s2", "plan", "2025-01-06 23:30:00", 10, 3.0, 2, 2000, 1000.0, ["ann", "bob"]),
    session("s3", "chat", "2025-01-08 12:00:00", 0, 0.5, 1, 100, 200.0, []),
    session("s4", "", "2025-01-14 08:00:00", 30, 0.5, 3, 500, 300.0, ["", "cy"]),
]


@pytest.fixture
def df() -> pd.DataFrame:
    return sessions_frame(ROWS, tz="UTC")


@pytest.fixture
def empty() -> pd.DataFrame:
    return empty_frame(SESSION_SCHEMA, "Europe/Berlin")


def test_docstring_examples_run() -> None:
    result = doctest.testmod(recipes, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted >= 30
    assert result.failed == 0


def test_recipes_never_mutate_their_input(df: pd.DataFrame) -> None:
    before = df.copy(deep=True)
    users_before = copy.deepcopy(df["user_ids"].tolist())
    recipes.summary(df)
    recipes.cost_by(df, "user", top=1)
    recipes.cost_by(df, "day", top=1)
    recipes.cost_by_user(df, top=1)
    recipes.cost_over_time(df, "W")
    recipes.latency_by(df, "user")
    recipes.duration_stats(df, "week")
    recipes.cost_per_1k_tokens(df, "user")
    recipes.top_sessions(df, "cost_per_request")
    recipes.outliers(df, "cost_per_1k_tokens")
    pd.testing.assert_frame_equal(df, before)
    assert df["user_ids"].tolist() == users_before


# --- summary ---------------------------------------------------------------------------------


def test_summary_hand_computed(df: pd.DataFrame) -> None:
    s = recipes.summary(df)
    assert len(s) == 1
    row = s.iloc[0]
    assert (row["sessions"], row["session_ids"], row["users"], row["requests"]) == (4, 4, 3, 10)
    assert row["total_cost"] == pytest.approx(5.0)
    assert row["cost_per_session_mean"] == pytest.approx(1.25)
    # costs sorted 0.5, 0.5, 1, 3: linear interpolation
    assert row["cost_per_session_p50"] == pytest.approx(0.75)
    assert row["cost_per_session_p90"] == pytest.approx(2.4)
    assert row["cost_per_session_p99"] == pytest.approx(2.94)
    assert row["total_tokens"] == 3000
    assert row["prompt_tokens"] + row["completion_tokens"] == 3000
    assert row["cost_per_1k_tokens"] == pytest.approx(5.0 / 3.0)
    assert row["mean_latency_ms"] == pytest.approx((4 * 500 + 2 * 1000 + 200 + 3 * 300) / 10)
    assert row["session_latency_p50_ms"] == pytest.approx(400.0)
    assert row["session_latency_p90_ms"] == pytest.approx(850.0)
    assert row["duration_p50_s"] == pytest.approx(20.0)
    assert row["duration_p90_s"] == pytest.approx(51.0)
    assert row["start"] == pd.Timestamp("2025-01-06 10:00:00", tz="UTC")
    assert row["end"] == pd.Timestamp("2025-01-14 08:00:30", tz="UTC")
    assert str(s["sessions"].dtype) == "Int64"


def test_summary_empty_frame(empty: pd.DataFrame) -> None:
    s = recipes.summary(empty)
    row = s.iloc[0]
    assert (row["sessions"], row["requests"], row["users"], row["total_tokens"]) == (0, 0, 0, 0)
    assert row["total_cost"] == 0.0
    assert math.isnan(row["cost_per_session_p50"])
    assert math.isnan(row["mean_latency_ms"])
    assert math.isnan(row["cost_per_1k_tokens"])
    assert pd.isna(row["start"])
    assert str(s["start"].dtype) == "datetime64[ns, Europe/Berlin]"


def test_summary_skips_missing_latency(df: pd.DataFrame) -> None:
    rows = [*ROWS[:3], session("s4", "", "2025-01-14 08:00:00", 30, 0.5, 3, 500, None, [])]
    s = recipes.summary(sessions_frame(rows)).iloc[0]
    assert s["mean_latency_ms"] == pytest.approx((4 * 500 + 2 * 1000 + 200) / 7)
    assert s["session_latency_p50_ms"] == pytest.approx(500.0)


# --- cost_by ---------------------------------------------------------------------------------


def test_cost_by_session_name(df: pd.DataFrame) -> None:
    out = recipes.cost_by(df, "session_name")
    assert out["session_name"].tolist() == ["plan", "", "chat"]  # tie at $0.5: by key
    assert out["sessions"].tolist() == [2, 1, 1]
    assert out["requests"].tolist() == [6, 3, 1]
    assert out["total_cost"].tolist() == pytest.approx([4.0, 0.5, 0.5])
    assert out["share"].tolist() == pytest.approx([0.8, 0.1, 0.1])
    assert out["cumulative_share"].tolist() == pytest.approx([0.8, 0.9, 1.0])
    assert str(out["session_name"].dtype) == "string"


def test_cost_by_top_adds_other_row(df: pd.DataFrame) -> None:
    out = recipes.cost_by(df, "session_name", top=1)
    assert out["session_name"].tolist() == ["plan", recipes.OTHER]
    assert out["sessions"].tolist() == [2, 2]
    assert out["requests"].tolist() == [6, 4]
    assert out["total_cost"].tolist() == pytest.approx([4.0, 1.0])
    assert out["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    # top larger than the number of groups: no OTHER row
    assert recipes.OTHER not in recipes.cost_by(df, "session_name", top=10)["session_name"].tolist()


def test_cost_by_day_uses_the_frames_time_zone(df: pd.DataFrame) -> None:
    utc = recipes.cost_by(df, "day")
    assert utc["day"].tolist() == [
        pd.Timestamp("2025-01-06", tz="UTC"),
        pd.Timestamp("2025-01-08", tz="UTC"),
        pd.Timestamp("2025-01-14", tz="UTC"),
    ]
    assert utc["total_cost"].tolist() == pytest.approx([4.0, 0.5, 0.5])
    # In Tokyo (UTC+9) s2 (23:30 UTC) falls on the 7th; days are listed in time order (issue 15:
    # this test used to expect the 7th first, because it cost more).
    tokyo = recipes.cost_by(sessions_frame(ROWS, tz="Asia/Tokyo"), "day")
    assert tokyo["day"].tolist()[:2] == [
        pd.Timestamp("2025-01-06", tz="Asia/Tokyo"),
        pd.Timestamp("2025-01-07", tz="Asia/Tokyo"),
    ]
    assert tokyo["total_cost"].tolist()[:2] == pytest.approx([1.0, 3.0])


def test_time_buckets_are_ordered_by_time_not_cost() -> None:
    """Issue 15 item 6: cost_by(df, "week") listed the most expensive week first."""
    rows = [
        dict(
            ROWS[0],
            session_id="a",
            created_at="2025-01-06T10:00:00Z",
            latest_request_created_at="2025-01-06T10:00:00Z",
            total_cost=1.0,
        ),
        dict(
            ROWS[0],
            session_id="b",
            created_at="2025-01-14T10:00:00Z",
            latest_request_created_at="2025-01-14T10:00:00Z",
            total_cost=9.0,
        ),
        dict(
            ROWS[0],
            session_id="c",
            created_at="2025-01-21T10:00:00Z",
            latest_request_created_at="2025-01-21T10:00:00Z",
            total_cost=5.0,
        ),
    ]
    df = sessions_frame(rows)
    for by in ("week", "day", "month", "year", "hour"):
        out = recipes.cost_by(df, by)
        keys = out[by].tolist()
        assert keys == sorted(keys), by
    weeks = recipes.cost_by(df, "week")
    assert weeks["total_cost"].tolist() == pytest.approx([1.0, 9.0, 5.0])
    assert weeks["cumulative_share"].tolist() == pytest.approx([1 / 15, 10 / 15, 1.0])
    top = recipes.cost_by(df, "week", top=2)  # the cut is by cost, the order by time
    assert top["week"].tolist()[:2] == [
        pd.Timestamp("2025-01-13", tz="UTC"),
        pd.Timestamp("2025-01-20", tz="UTC"),
    ]
    assert pd.isna(top["week"].iloc[2]) and top["total_cost"].iloc[2] == pytest.approx(1.0)


def test_user_split_makes_user_ids_distinct() -> None:
    """Issue 16: a session listing ann twice is split between two users, not three shares."""
    # a hand-made frame: the recipe itself must make the ids distinct
    df = sessions_frame(ROWS[:1])
    df["user_ids"] = pd.Series([["ann", "ann", "bob"]], dtype=object)
    df["total_cost"], df["total_requests"], df["total_tokens"] = 3.0, 4, 400
    out = recipes.cost_by_user(df)
    assert dict(zip(out["user"], out["total_cost"], strict=True)) == {"ann": 1.5, "bob": 1.5}
    assert out["attributed_requests"].tolist() == pytest.approx([2.0, 2.0])
    assert out["attributed_tokens"].tolist() == pytest.approx([200.0, 200.0])
    by_user = recipes.cost_by(df, "user")
    assert by_user["total_cost"].tolist() == pytest.approx([1.5, 1.5])
    assert int(recipes.summary(df)["users"].iloc[0]) == 2


def test_cost_by_week_starts_monday_and_top_other_is_nat(df: pd.DataFrame) -> None:
    out = recipes.cost_by(df, "week")
    assert out["week"].tolist() == [
        pd.Timestamp("2025-01-06", tz="UTC"),
        pd.Timestamp("2025-01-13", tz="UTC"),
    ]
    assert out["total_cost"].tolist() == pytest.approx([4.5, 0.5])
    top = recipes.cost_by(df, "day", top=1)
    assert len(top) == 2 and pd.isna(top["day"].iloc[1])
    assert top["total_cost"].tolist() == pytest.approx([4.0, 1.0])


def test_cost_by_any_column_and_numeric_key_other(df: pd.DataFrame) -> None:
    out = recipes.cost_by(df, "total_requests", top=2)
    assert out["total_requests"].tolist() == [2, 4, recipes.OTHER]
    assert out["total_cost"].tolist() == pytest.approx([3.0, 1.0, 1.0])


def test_cost_by_user_equal_split(df: pd.DataFrame) -> None:
    out = recipes.cost_by_user(df)
    assert out["user"].tolist() == ["ann", "bob", recipes.NO_USER, "cy"]
    assert out["total_cost"].tolist() == pytest.approx([2.5, 1.5, 0.5, 0.5])
    assert out["sessions"].tolist() == [2, 1, 1, 1]
    assert out["shared_sessions"].tolist() == [1, 1, 0, 0]
    assert out["requests"].tolist() == [6, 2, 1, 3]
    assert out["attributed_requests"].tolist() == pytest.approx([5.0, 1.0, 1.0, 3.0])
    assert out["attributed_tokens"].tolist() == pytest.approx([1400.0, 1000.0, 100.0, 500.0])
    assert out["share"].sum() == pytest.approx(1.0)
    assert out["total_cost"].sum() == pytest.approx(df["total_cost"].sum())


def test_cost_by_user_top_counts_each_session_once(df: pd.DataFrame) -> None:
    out = recipes.cost_by_user(df, top=1)
    assert out["user"].tolist() == ["ann", recipes.OTHER]
    other = out.iloc[1]
    assert (other["sessions"], other["shared_sessions"], other["requests"]) == (3, 1, 6)
    assert other["attributed_requests"] == pytest.approx(5.0)
    assert other["attributed_tokens"] == pytest.approx(1600.0)
    assert other["total_cost"] == pytest.approx(2.5)


def test_cost_by_user_without_unattributed(df: pd.DataFrame) -> None:
    out = recipes.cost_by_user(df, include_unattributed=False)
    assert out["user"].tolist() == ["ann", "bob", "cy"]
    assert out["share"].tolist() == pytest.approx([2.5 / 4.5, 1.5 / 4.5, 0.5 / 4.5])


def test_cost_by_user_via_cost_by(df: pd.DataFrame) -> None:
    out = recipes.cost_by(df, "user", top=2)
    assert out.columns.tolist() == [
        "user",
        "sessions",
        "requests",
        "total_cost",
        "share",
        "cumulative_share",
    ]
    assert out["user"].tolist() == ["ann", "bob", recipes.OTHER]
    assert out["total_cost"].tolist() == pytest.approx([2.5, 1.5, 1.0])


def test_cost_by_zero_total_gives_nan_share() -> None:
    rows = [session("a", "x", "2025-01-01", 0, 0.0, 1, 0, 1.0, [])]
    out = recipes.cost_by(sessions_frame(rows))
    assert math.isnan(out["share"].iloc[0])


@pytest.mark.parametrize("by", ["session_name", "user", "day", "week", "month", "session_id"])
def test_cost_by_empty_frame_keeps_columns(empty: pd.DataFrame, by: str) -> None:
    out = recipes.cost_by(empty, by, top=3)
    assert len(out) == 0
    assert out.columns.tolist() == [
        by,
        "sessions",
        "requests",
        "total_cost",
        "share",
        "cumulative_share",
    ]
    assert str(out["sessions"].dtype) == "Int64"
    assert str(out["total_cost"].dtype) == "float64"


def test_cost_by_bad_arguments(df: pd.DataFrame) -> None:
    with pytest.raises(UsageError, match=r"'day'.*session_name"):
        recipes.cost_by(df, "nope")
    with pytest.raises(UsageError, match="by='user'"):
        recipes.cost_by(df, "user_ids")
    with pytest.raises(UsageError, match="top must be a positive integer"):
        recipes.cost_by(df, top=0)
    with pytest.raises(UsageError, match="'total_requests'"):
        recipes.cost_by(df[["session_name", "total_cost"]])
    with pytest.raises(UsageError, match="takes a pandas DataFrame"):
        recipes.cost_by([1, 2, 3])  # type: ignore[arg-type]


# --- cost_over_time --------------------------------------------------------------------------


def test_cost_over_time_daily_fills_gaps(df: pd.DataFrame) -> None:
    out = recipes.cost_over_time(df, "D")
    assert len(out) == 9
    assert out["period"].iloc[0] == pd.Timestamp("2025-01-06", tz="UTC")
    assert out["period"].iloc[-1] == pd.Timestamp("2025-01-14", tz="UTC")
    expected = [4.0, 0, 0.5, 0, 0, 0, 0, 0, 0.5]
    assert out["total_cost"].tolist() == pytest.approx(expected)
    assert out["sessions"].tolist() == [2, 0, 1, 0, 0, 0, 0, 0, 1]
    assert out["requests"].tolist() == [6, 0, 1, 0, 0, 0, 0, 0, 3]
    assert out["total_tokens"].tolist() == [2400, 0, 100, 0, 0, 0, 0, 0, 500]
    assert out["cumulative_cost"].iloc[-1] == pytest.approx(5.0)
    assert str(out["period"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize(
    ("freq", "periods", "costs"),
    [
        ("W", ["2025-01-06", "2025-01-13"], [4.5, 0.5]),
        ("week", ["2025-01-06", "2025-01-13"], [4.5, 0.5]),
        ("MS", ["2025-01-01"], [5.0]),
        ("ME", ["2025-01-01"], [5.0]),
        ("M", ["2025-01-01"], [5.0]),
        ("W-SUN", ["2025-01-06", "2025-01-13"], [4.5, 0.5]),
        (
            "2D",
            ["2025-01-06", "2025-01-08", "2025-01-10", "2025-01-12", "2025-01-14"],
            [4.0, 0.5, 0.0, 0.0, 0.5],
        ),
    ],
)
def test_cost_over_time_frequencies_label_period_start(
    df: pd.DataFrame, freq: str, periods: list[str], costs: list[float]
) -> None:
    out = recipes.cost_over_time(df, freq)
    assert out["period"].tolist() == [pd.Timestamp(p, tz="UTC") for p in periods]
    assert out["total_cost"].tolist() == pytest.approx(costs)


def test_cost_over_time_hourly(df: pd.DataFrame) -> None:
    first_day = df[df["created_at"] < pd.Timestamp("2025-01-07", tz="UTC")]
    out = recipes.cost_over_time(first_day, "h")
    assert len(out) == 14  # 10:00 .. 23:00
    assert out["total_cost"].iloc[0] == 1.0 and out["total_cost"].iloc[-1] == 3.0
    assert out["total_cost"].iloc[1:-1].sum() == 0


def test_cost_over_time_days_across_dst() -> None:
    rows = [
        session("a", "x", "2025-03-29 11:00", 0, 1.0, 1, 10, 1.0, []),  # 12:00 CET
        session("b", "x", "2025-03-30 10:00", 0, 2.0, 1, 10, 1.0, []),  # 12:00 CEST
        session("c", "x", "2025-03-30 22:30", 0, 4.0, 1, 10, 1.0, []),  # 00:30 CEST on the 31st
    ]
    out = recipes.cost_over_time(sessions_frame(rows, tz="Europe/Berlin"), "D")
    assert [str(p) for p in out["period"]] == [
        "2025-03-29 00:00:00+01:00",
        "2025-03-30 00:00:00+01:00",
        "2025-03-31 00:00:00+02:00",
    ]
    assert out["total_cost"].tolist() == [1.0, 2.0, 4.0]


def test_cost_over_time_empty_and_bad_freq(df: pd.DataFrame, empty: pd.DataFrame) -> None:
    out = recipes.cost_over_time(empty, "D")
    assert len(out) == 0
    assert str(out["period"].dtype) == "datetime64[ns, Europe/Berlin]"
    assert str(out["requests"].dtype) == "Int64"
    with pytest.raises(UsageError, match=r"not a time frequency.*'D'"):
        recipes.cost_over_time(df, "fortnight")
    with pytest.raises(UsageError, match="positive"):
        recipes.cost_over_time(df, "-1D")


# --- latency / duration / tokens -------------------------------------------------------------


def test_latency_by_name_weights_by_requests(df: pd.DataFrame) -> None:
    out = recipes.latency_by(df, "session_name")
    assert out["session_name"].tolist() == ["", "chat", "plan"]
    plan = out.iloc[2]
    assert (plan["sessions"], plan["requests"]) == (2, 6)
    assert plan["mean_latency_ms"] == pytest.approx((4 * 500 + 2 * 1000) / 6)
    assert plan["session_p50_ms"] == pytest.approx(750.0)
    assert plan["session_p90_ms"] == pytest.approx(950.0)
    assert plan["session_max_ms"] == pytest.approx(1000.0)
    assert out["mean_latency_ms"].tolist()[:2] == pytest.approx([300.0, 200.0])


def test_latency_by_user_and_overall(df: pd.DataFrame) -> None:
    out = recipes.latency_by(df, "user", percentiles=(0.5, 0.999))
    assert out["user"].tolist() == [recipes.NO_USER, "ann", "bob", "cy"]
    assert "session_p99.9_ms" in out.columns
    assert out.loc[out["user"] == "ann", "mean_latency_ms"].item() == pytest.approx(4000 / 6)
    overall = recipes.latency_by(df, None)
    assert len(overall) == 1 and "session_name" not in overall.columns
    assert overall["mean_latency_ms"].item() == pytest.approx(510.0)


def test_latency_by_skips_na() -> None:
    rows = [
        session("a", "x", "2025-01-01", 0, 1.0, 3, 10, None, []),
        session("b", "x", "2025-01-01", 0, 1.0, 1, 10, 100.0, []),
    ]
    out = recipes.latency_by(sessions_frame(rows), "session_name")
    assert (out["sessions"].item(), out["requests"].item()) == (2, 4)
    assert out["mean_latency_ms"].item() == pytest.approx(100.0)
    assert out["session_p50_ms"].item() == pytest.approx(100.0)


def test_latency_and_duration_empty(empty: pd.DataFrame) -> None:
    assert len(recipes.latency_by(empty)) == 0
    overall = recipes.latency_by(empty, None)
    assert len(overall) == 1 and overall["sessions"].item() == 0
    assert math.isnan(overall["mean_latency_ms"].item())
    dur = recipes.duration_stats(empty)
    assert len(dur) == 1 and dur["sessions"].item() == 0 and math.isnan(dur["p50_s"].item())
    assert len(recipes.duration_stats(empty, "day")) == 0
    with pytest.raises(UsageError, match="between 0 and 1"):
        recipes.latency_by(empty, percentiles=(50,))


def test_duration_stats(df: pd.DataFrame) -> None:
    out = recipes.duration_stats(df)
    assert out.columns.tolist() == ["sessions", "mean_s", "p50_s", "p90_s", "p99_s", "max_s"]
    row = out.iloc[0]
    assert (row["sessions"], row["mean_s"], row["p50_s"], row["max_s"]) == (4, 25.0, 20.0, 60.0)
    assert row["p90_s"] == pytest.approx(51.0)
    by_name = recipes.duration_stats(df, "session_name")
    assert by_name.set_index("session_name")["mean_s"].to_dict() == {
        "": 30.0,
        "chat": 0.0,
        "plan": 35.0,
    }


def test_cost_per_1k_tokens(df: pd.DataFrame) -> None:
    overall = recipes.cost_per_1k_tokens(df)
    assert overall["cost_per_1k_tokens"].item() == pytest.approx(5.0 / 3.0)
    assert overall["total_tokens"].item() == 3000
    by_name = recipes.cost_per_1k_tokens(df, "session_name").set_index("session_name")
    assert by_name["cost_per_1k_tokens"].to_dict() == pytest.approx(
        {"": 1.0, "chat": 5.0, "plan": 4000 / 2400}
    )
    by_user = recipes.cost_per_1k_tokens(df, "user").set_index("user")
    assert by_user.loc["ann", "total_tokens"] == pytest.approx(1400.0)
    assert by_user.loc["ann", "cost_per_1k_tokens"] == pytest.approx(2.5 / 1.4)
    zero = sessions_frame([session("a", "x", "2025-01-01", 0, 1.0, 1, 0, 1.0, [])])
    assert math.isnan(recipes.cost_per_1k_tokens(zero)["cost_per_1k_tokens"].item())


# --- top_sessions / outliers -----------------------------------------------------------------


def test_top_sessions(df: pd.DataFrame) -> None:
    assert recipes.top_sessions(df, "total_cost", n=2)["session_id"].tolist() == ["s2", "s1"]
    low = recipes.top_sessions(df, "total_cost", n=2, ascending=True)
    assert low["session_id"].tolist() == ["s3", "s4"]  # tie kept in input order
    derived = recipes.top_sessions(df, "cost_per_request", n=2)
    assert derived["session_id"].tolist() == ["s2", "s3"]
    assert derived["cost_per_request"].tolist() == pytest.approx([1.5, 0.5])
    assert recipes.top_sessions(df, "duration_s", n=1)["session_id"].item() == "s1"
    assert len(recipes.top_sessions(df, n=0)) == 0
    assert recipes.top_sessions(df, n=100).shape == (4, len(SESSION_SCHEMA))


def test_top_sessions_na_last_and_errors() -> None:
    rows = [
        session("a", "x", "2025-01-01", 0, 1.0, 1, 10, None, []),
        session("b", "x", "2025-01-01", 0, 1.0, 1, 10, 5.0, []),
    ]
    assert recipes.top_sessions(sessions_frame(rows), "avg_latency")["session_id"].tolist() == [
        "b",
        "a",
    ]
    frame = sessions_frame(rows)
    with pytest.raises(UsageError, match="is not numeric"):
        recipes.top_sessions(frame, "session_name")
    with pytest.raises(UsageError, match=r"is not a column.*cost_per_request"):
        recipes.top_sessions(frame, "cost_usd")
    with pytest.raises(UsageError, match="non-negative integer"):
        recipes.top_sessions(frame, n=-1)


def _cost_frame(costs: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "session_id": [f"s{i}" for i in range(len(costs))],
            "total_cost": pd.array(costs, dtype="float64"),
        }
    )


def test_outliers_mad() -> None:
    out = recipes.outliers(_cost_frame([1.0, 1.1, 0.9, 1.0, 1.2, 9.0, 0.0]))
    # median 1.0, |dev| sorted 0 0 .1 .1 .2 1 8 -> MAD .1
    assert out["session_id"].tolist() == ["s5", "s6"]
    assert out["robust_z"].tolist() == pytest.approx([0.6745 * 80, -0.6745 * 10])
    high = recipes.outliers(_cost_frame([1.0, 1.1, 0.9, 1.0, 1.2, 9.0, 0.0]), side="high")
    assert high["session_id"].tolist() == ["s5"]
    low = recipes.outliers(_cost_frame([1.0, 1.1, 0.9, 1.0, 1.2, 9.0, 0.0]), side="low")
    assert low["session_id"].tolist() == ["s6"]


def test_outliers_mad_zero_falls_back_to_mean_absolute_deviation() -> None:
    out = recipes.outliers(_cost_frame([1.0, 1.0, 1.0, 1.0, 5.0]))
    assert out["session_id"].tolist() == ["s4"]
    assert out["robust_z"].item() == pytest.approx(4.0 / (1.253314 * 0.8))
    assert len(recipes.outliers(_cost_frame([2.0, 2.0, 2.0]))) == 0


def test_outliers_na_log_and_empty(empty: pd.DataFrame) -> None:
    frame = _cost_frame([None, 1.0, 1.1, 0.9, 1.0, 1.2, 9.0])
    out = recipes.outliers(frame)
    assert out["session_id"].tolist() == ["s6"]
    logged = recipes.outliers(_cost_frame([10.0, 11.0, 9.0, 10.0, 12.0, 1000.0, 0.0]), log=True)
    assert logged["session_id"].tolist() == ["s5"]  # 0.0 has no log: no score
    none = recipes.outliers(empty, "avg_latency")
    assert len(none) == 0 and "robust_z" in none.columns
    with pytest.raises(UsageError, match="side"):
        recipes.outliers(frame, side="up")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="threshold"):
        recipes.outliers(frame, threshold=0)


def test_outliers_within_groups() -> None:
    frame = _cost_frame([1.0, 1.1, 0.9, 1.0, 1.2, 9.0, 9.0, 9.5, 8.5, 9.0, 9.2, 9.1, 50.0])
    frame["session_name"] = ["cheap"] * 6 + ["dear"] * 6 + ["alone"]
    overall = recipes.outliers(frame, side="high")
    assert overall["session_id"].tolist() == ["s12"]  # 9.0 is not unusual overall ...
    grouped = recipes.outliers(frame, side="high", by="session_name")
    # ... but is for a "cheap" session; 50.0 is alone in its group, so it scores 0.
    assert grouped["session_id"].tolist() == ["s5"]
    assert grouped["median"].item() == pytest.approx(1.05)
    assert grouped["robust_z"].item() == pytest.approx(0.6745 * 7.95 / 0.1)
    with pytest.raises(UsageError, match="by='user' is not supported"):
        recipes.outliers(frame, by="user")
    with pytest.raises(UsageError, match="cannot group by"):
        recipes.outliers(frame, by="model")


def test_outliers_median_column(empty: pd.DataFrame) -> None:
    out = recipes.outliers(_cost_frame([1.0, 1.1, 0.9, 1.0, 1.2, 9.0]), log=True)
    assert out["median"].item() == pytest.approx(1.05)
    assert recipes.outliers(empty, by="day").columns.tolist()[-2:] == ["median", "robust_z"]


@pytest.mark.parametrize("module_name", ["recipes", "plots", "drilldown", "report"])
def test_every_public_function_is_documented_with_an_example(module_name: str) -> None:
    import importlib
    import inspect

    module = importlib.import_module(f"helicone_nb.{module_name}")
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Parameters" in doc, f"{module_name}.{name}"
            assert "Examples" in doc, f"{module_name}.{name}"
