"""Recipes of a requests frame (issue 13): cost, latency, errors, model mix, scores, prices."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from helicone_nb import recipes
from helicone_nb._errors import UsageError
from helicone_nb._frames import requests_frame, sessions_frame
from tests.test_recipes import ROWS

T0 = pd.Timestamp("2025-07-07 09:00", tz="UTC")  # a Monday


def wire(
    i: int,
    model: str,
    cost: float | None,
    *,
    day: int = 0,
    status: int | None = 200,
    latency: float | None = 500.0,
    ttft: float | None = None,
    session: str = "s1",
    name: str = "agent",
    path: str = "/step",
    user: str = "ann",
    prompt: int = 1000,
    completion: int = 100,
    provider: str = "OPENAI",
    props: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One request row as Helicone sends it."""
    properties = {
        "Helicone-Session-Id": session,
        "Helicone-Session-Name": name,
        "Helicone-Session-Path": path,
        **(props or {}),
    }
    t = T0 + pd.Timedelta(days=day, seconds=i)
    return {
        "request_id": f"r{i}",
        "request_created_at": t.isoformat(),
        "request_properties": properties,
        "request_user_id": user,
        "model": model,
        "provider": provider,
        "response_status": status,
        "delay_ms": latency,
        "time_to_first_token": ttft,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": cost,
    }


ROWS_REQ = [
    wire(0, "gpt-4o", 0.0035, props={"tier": "pro"}, ttft=100),
    wire(1, "gpt-4o", 0.0035, status=500, props={"tier": "pro"}, ttft=200),
    wire(2, "gpt-4o-mini", 0.00021, path="/step/tool", props={"tier": "free"}, latency=100),
    wire(3, "gpt-4o-mini", 0.00021, day=7, user="", status=None, latency=None),
    wire(4, "gpt-4o", 0.0035, day=7, session="s2", name="chat", user="bob", status=429),
    wire(
        5,
        "claude-3-5-haiku-20241022",
        0.0012,
        day=8,
        session="s2",
        name="chat",
        provider="ANTHROPIC",
        latency=2000,
        ttft=300,
    ),
]


@pytest.fixture
def req() -> pd.DataFrame:
    return requests_frame(ROWS_REQ, tz="UTC")


def test_cost_by_on_requests_every_kind_of_key(req: pd.DataFrame) -> None:
    total = float(req["cost"].sum())
    for by in (
        "model",
        "provider",
        "status",
        "session_path",
        "path",
        "user",
        "session_name",
        "tier",
        "day",
        "week",
        "status_class",
        ["week", "model"],
        ["model", "tier"],
    ):
        out = recipes.cost_by(req, by)
        assert out["total_cost"].sum() == pytest.approx(total), by  # totals reconcile
        assert int(out["requests"].sum()) == len(req), by
        assert out["share"].sum() == pytest.approx(1.0), by
    by_model = recipes.cost_by(req, "model")
    assert by_model.columns.tolist() == [
        "model",
        "requests",
        "total_tokens",
        "total_cost",
        "cost_per_1k_tokens",
        "share",
        "cumulative_share",
    ]
    assert by_model["model"].tolist() == ["gpt-4o", "claude-3-5-haiku-20241022", "gpt-4o-mini"]
    assert by_model["requests"].tolist() == [3, 1, 2]
    assert by_model["cost_per_1k_tokens"].iloc[0] == pytest.approx(0.0105 / 3.3)
    users = recipes.cost_by(req, "user")
    assert recipes.NO_USER in users["user"].tolist()
    tiers = recipes.cost_by(req, "tier")
    assert tiers["tier"].isna().sum() == 1  # requests without the property are one group
    weekly = recipes.cost_by(req, ["week", "model"])
    assert weekly["week"].tolist() == sorted(weekly["week"].tolist())  # time order
    assert weekly.iloc[0][["model", "requests"]].tolist() == ["gpt-4o", 2]
    top = recipes.cost_by(req, "model", top=1)
    assert top["model"].tolist() == ["gpt-4o", recipes.OTHER]
    overall = recipes.cost_by(req, None)
    assert len(overall) == 1 and overall["total_cost"].iloc[0] == pytest.approx(total)


def test_cost_by_lists_on_a_sessions_frame_and_user_is_refused_in_a_list() -> None:
    df = sessions_frame(ROWS, tz="UTC")
    out = recipes.cost_by(df, ["week", "session_name"])
    assert out["total_cost"].sum() == pytest.approx(df["total_cost"].sum())
    assert out.columns.tolist()[:3] == ["week", "session_name", "sessions"]
    with pytest.raises(UsageError, match="'user' cannot be combined"):
        recipes.cost_by(df, ["user", "week"])


def test_unknown_by_says_what_to_use(req: pd.DataFrame) -> None:
    with pytest.raises(UsageError, match=r"cannot group by 'colour'.*model.*tier.*\['week'"):
        recipes.cost_by(req, "colour")
    with pytest.raises(UsageError, match="twice"):
        recipes.cost_by(req, ["model", "model"])
    with pytest.raises(UsageError, match="list of names"):
        recipes.cost_by(req, [])


def test_latency_by_true_request_percentiles(req: pd.DataFrame) -> None:
    out = recipes.latency_by(req, "model")
    assert out.columns.tolist() == [
        "model",
        "requests",
        "mean_latency_ms",
        "latency_p50_ms",
        "latency_p90_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "streamed",
        "ttft_p50_ms",
        "ttft_p90_ms",
        "ttft_p95_ms",
        "ttft_p99_ms",
    ]
    row = out.set_index("model").loc["gpt-4o"]
    lat = np.array([500.0, 500.0, 500.0])
    assert row["latency_p95_ms"] == pytest.approx(np.quantile(lat, 0.95))
    assert row["ttft_p50_ms"] == pytest.approx(150.0) and row["streamed"] == 2
    mini = out.set_index("model").loc["gpt-4o-mini"]  # one latency missing: skipped
    assert mini["requests"] == 2 and mini["latency_p50_ms"] == pytest.approx(100.0)
    rng = np.random.default_rng(3)
    big = pd.DataFrame(
        {
            "model": rng.choice(["a", "b", "c"], 5000),
            "cost": 0.0,
            "latency_ms": rng.lognormal(6, 1, 5000),
        }
    )
    got = recipes.latency_by(big, "model", percentiles=(0.5, 0.99)).set_index("model")
    for model, part in big.groupby("model"):
        expected = np.quantile(part["latency_ms"], [0.5, 0.99])
        assert got.loc[model, ["latency_p50_ms", "latency_p99_ms"]].tolist() == pytest.approx(
            expected
        )


def test_error_rate_counts_missing_status_as_failed(req: pd.DataFrame) -> None:
    out = recipes.error_rate(req)
    assert out[["requests", "failed", "2xx", "4xx", "5xx", "no_status"]].iloc[0].tolist() == [
        6,
        3,
        3,
        1,
        1,
        1,
    ]
    assert out["error_rate"].iloc[0] == pytest.approx(0.5)
    by_day = recipes.error_rate(req, "day")
    assert by_day["day"].tolist() == sorted(by_day["day"].tolist())
    assert int(by_day["failed"].sum()) == 3


def test_model_mix_and_session_breakdown(req: pd.DataFrame) -> None:
    mix = recipes.model_mix(req, "session_name")
    for _, part in mix.groupby("session_name"):
        assert part["cost_share"].sum() == pytest.approx(1.0)
        assert part["request_share"].sum() == pytest.approx(1.0)
    with pytest.raises(UsageError, match="not 'model'"):
        recipes.model_mix(req, "model")
    parts = recipes.session_breakdown(req, "model")
    assert parts["session_id"].tolist()[:2] == ["s1", "s1"]  # s1 (0.0107) before s2 (0.0047)
    assert parts.groupby("session_id")["cost_share"].sum().tolist() == pytest.approx([1, 1])
    paths = recipes.session_breakdown(req, "session_path")
    assert set(paths["session_path"]) == {"/step", "/step/tool"}


def _scored() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": ["r1", "r2", "r3", "r4"],
            "session_id": ["s1", "s1", "s2", "s2"],
            "created_at": [T0 + pd.Timedelta(minutes=m) for m in (0, 1, 0, 1)],
            "model": ["a", "a", "b", "b"],
            "cost": [0.1, 0.1, 0.2, 0.2],
            "scores": [
                {"helicone-score-feedback": 1, "accuracy": 90},
                {"accuracy": 70},
                {"helicone-score-feedback": 0},
                {"helicone-score-feedback": 1},
            ],
        }
    )


def test_scores_by_and_session_feedback() -> None:
    out = recipes.scores_by(_scored(), "model").set_index(["model", "score"])
    assert out.loc[("a", "accuracy"), ["scored", "mean"]].tolist() == [2, 80.0]
    fb = out.loc[("b", "helicone-score-feedback")]
    assert (fb["scored"], fb["positive_share"]) == (2, 0.5)
    sessions = pd.DataFrame({"session_id": ["s1", "s2", "s3"], "total_cost": [0.2, 0.4, 0.0]})
    joined = recipes.session_feedback(sessions, _scored())
    assert joined["feedback"].tolist()[:2] == [True, False]  # the FIRST request's feedback
    assert pd.isna(joined["feedback"].iloc[2])
    assert joined["first_request_id"].tolist()[:2] == ["r1", "r3"]
    with_column = (
        _scored()
        .drop(columns="scores")
        .assign(feedback=pd.array([True, None, False, True], dtype="boolean"))
    )
    assert recipes.scores_by(with_column)["positive_share"].iloc[0] == pytest.approx(2 / 3)


def test_wrong_frame_kind_and_missing_columns(req: pd.DataFrame) -> None:
    sessions = sessions_frame(ROWS)
    for fn in (recipes.error_rate, recipes.reprice, recipes.cost_gaps, recipes.scores_by):
        with pytest.raises(UsageError, match="takes a requests frame"):
            fn(sessions)
    with pytest.raises(UsageError, match="'status'"):
        recipes.error_rate(req.drop(columns="status"))
    with pytest.raises(UsageError, match="takes a pandas DataFrame"):
        recipes.model_mix([1, 2])  # type: ignore[arg-type]


# -- prices ------------------------------------------------------------------------------------


def test_reprice_uses_genai_prices_and_your_table(req: pd.DataFrame) -> None:
    out = recipes.reprice(req)
    gpt4o = out[out["model"] == "gpt-4o"]
    # gpt-4o list price: $2.50 in, $10 out per 1M tokens: 1000 in + 100 out = $0.0035
    assert gpt4o["repriced_cost"].tolist() == pytest.approx([0.0035] * 3)
    assert set(out["price_source"]) == {"genai-prices"}
    mine = recipes.reprice(req, prices={"gpt-4o": {"input": 5.0, "output": 20.0}})
    assert mine.loc[mine["model"] == "gpt-4o", "repriced_cost"].tolist() == pytest.approx(
        [0.007] * 3
    )
    assert set(mine.loc[mine["model"] == "gpt-4o", "price_source"]) == {"your prices"}


def test_reprice_agrees_with_genai_prices_calc_price_including_cache_tokens() -> None:
    """The vectorised prices equal genai_prices.calc_price, whose input_tokens include the
    cache read/write tokens (Helicone's prompt_tokens do not)."""
    from genai_prices import Usage, calc_price

    df = pd.DataFrame(
        {
            "model": [
                "gpt-4o",
                "claude-3-5-sonnet-20241022",
                "gemini-1.5-flash",
                "gemini-1.5-flash",
            ],
            "provider": ["OPENAI", "ANTHROPIC", "GOOGLE", "GOOGLE"],
            "created_at": [T0] * 4,
            "prompt_tokens": [1000, 2000, 5000, 150_000],  # the last one crosses a price tier
            "completion_tokens": [200, 300, 400, 1000],
            "prompt_cache_read_tokens": [500, 4000, 0, 0],
            "prompt_cache_write_tokens": [0, 1000, 0, 0],
            "cost": [0.0] * 4,
        }
    )
    got = recipes.reprice(df)["repriced_cost"].tolist()
    when = T0.to_pydatetime()
    for i, row in df.iterrows():
        usage = Usage(
            input_tokens=int(
                row["prompt_tokens"]
                + row["prompt_cache_read_tokens"]
                + row["prompt_cache_write_tokens"]
            ),
            cache_read_tokens=int(row["prompt_cache_read_tokens"]),
            cache_write_tokens=int(row["prompt_cache_write_tokens"]),
            output_tokens=int(row["completion_tokens"]),
        )
        provider = {"OPENAI": "openai", "ANTHROPIC": "anthropic", "GOOGLE": "google"}
        expected = calc_price(
            usage, row["model"], provider_id=provider[row["provider"]], genai_request_timestamp=when
        )
        assert got[int(str(i))] == pytest.approx(float(expected.total_price)), row["model"]


def test_reprice_matches_recorded_cost_on_the_demo_data() -> None:
    """Issue 13: on rows Helicone priced, reprice agrees with the recorded cost within 1%.

    Checked per model for every model of the demo org: gpt-4o, gpt-4o-mini, o3-mini,
    claude-3-5-haiku, gemini-1.5-flash, text-embedding-3-small, and claude-3-5-sonnet when the
    frame carries the cache-read column (its demo sessions read prompt caches)."""
    import helicone_nb as hnb
    from helicone_nb._recipes.prices import reprice_summary
    from helicone_nb.backend import DEMO_END, DEMO_START, DEMO_TZ

    client = hnb.connect(demo=True, quiet=True, demo_requests=3000)
    sessions = client.fetch_sessions(DEMO_START, DEMO_END, tz=DEMO_TZ)
    ids = sessions.groupby("session_name").head(4)["session_id"].tolist()
    req = pd.concat([client.fetch_session_requests(i, tz=DEMO_TZ) for i in ids], ignore_index=True)
    summary = reprice_summary(recipes.reprice(req)).set_index("model")
    checked = [
        "gpt-4o",
        "gpt-4o-mini",
        "o3-mini",
        "claude-3-5-haiku-20241022",
        "gemini-1.5-flash",
        "text-embedding-3-small",
    ]
    if "prompt_cache_read_tokens" in req.columns:
        checked.append("claude-3-5-sonnet-20241022")
    for model in checked:
        if model in summary.index and summary.loc[model, "checked"] > 0:
            assert abs(summary.loc[model, "relative_difference"]) < 0.01, model
    assert (summary["checked"] > 0).sum() >= 5


def test_cost_gaps_find_unpriced_rows_and_unknown_models() -> None:
    rows = [
        wire(0, "gpt-4o", 0.0035),
        wire(1, "gpt-4o", 0.0),  # Helicone could not price it: tokens but $0
        wire(2, "gpt-4o", None),  # no cost at all
        wire(3, "acme-llm-7b", 0.0, provider="ACME", prompt=5000),  # unknown to the price list
        wire(4, "gpt-4o-mini", 0.0, prompt=0, completion=0),  # no tokens: not a gap
    ]
    gaps = recipes.cost_gaps(requests_frame(rows))
    assert gaps["model"].tolist() == ["gpt-4o", "acme-llm-7b"]
    first = gaps.iloc[0]
    assert (first["unpriced_requests"], first["unpriced_tokens"]) == (2, 2200)
    assert first["estimated_missing_cost"] == pytest.approx(0.007)
    assert first["missing_cost_share"] == pytest.approx(0.007 / 0.0105)
    unknown = gaps.iloc[1]
    assert not unknown["price_known"] and pd.isna(unknown["estimated_missing_cost"])
    assert unknown["token_share"] == pytest.approx(5100 / (3 * 1100 + 5100))
    priced = recipes.cost_gaps(
        requests_frame(rows), prices={"acme-llm-7b": {"input": 0.2, "output": 0.2}}
    )
    assert priced.set_index("model").loc["acme-llm-7b", "estimated_missing_cost"] == (
        pytest.approx(5100 * 0.2 / 1e6)
    )


def test_what_if_swaps_models_at_list_prices(req: pd.DataFrame) -> None:
    out = recipes.what_if(req, swap={"gpt-4o": "gpt-4o-mini"})
    row = out.iloc[0]
    assert (row["model"], row["swap_to"], row["requests"]) == ("gpt-4o", "gpt-4o-mini", 3)
    assert row["what_if_cost"] == pytest.approx(3 * (1000 * 0.15 + 100 * 0.6) / 1e6)
    assert out["model"].tolist()[-1] == "(total)"
    cross = recipes.what_if(req, swap={"gpt-4o": "claude-3-5-haiku-20241022"})
    assert cross["what_if_cost"].iloc[0] == pytest.approx(3 * (1000 * 0.8 + 100 * 4) / 1e6)
    with pytest.raises(UsageError, match="no requests of"):
        recipes.what_if(req, swap={"gpt-5": "gpt-4o"})
    with pytest.raises(UsageError, match="no price for"):
        recipes.what_if(req, swap={"gpt-4o": "acme-llm-7b"})
    with pytest.raises(UsageError, match="non-empty dict"):
        recipes.what_if(req, swap={})


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"m": {"input": 2.5e-6, "output": 1e-5}}, r"looks like USD per token.*write 2\.5"),
        ({"m": {"input": -1.0, "output": 1.0}}, "not negative"),
        ({"m": {"input": 1.0}}, "needs output"),
        ({"m": {"input": 1.0, "output": 2.0, "per": "1M"}}, "unknown key"),
        ({"m": {"input": "2.5", "output": 1.0}}, "must be a number"),
        ({"m": {"input": 1e6, "output": 1.0}}, "implausible"),
        ([("m", 1.0)], "must be a dict"),
        ({"m": 2.5}, r"must be a dict like \{'input'"),
    ],
)
def test_bad_price_tables_say_what_to_change(req: pd.DataFrame, prices: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        recipes.reprice(req, prices=prices)


def test_price_list_names_the_prices_used(req: pd.DataFrame) -> None:
    out = recipes.price_list(req).set_index("model")
    assert out.loc["gpt-4o", ["input", "output", "cache_read"]].tolist() == [2.5, 10.0, 1.25]
    assert out.loc["claude-3-5-haiku-20241022", "priced_as"].startswith("claude-3-5-haiku")
    assert out["price_source"].eq("genai-prices").all()


# -- what changed ----------------------------------------------------------------------------


def test_compare_periods_on_requests(req: pd.DataFrame) -> None:
    week1 = ("2025-07-07", "2025-07-14")
    week2 = ("2025-07-14", "2025-07-21")
    out = recipes.compare_periods(req, before=week1, after=week2, by="model")
    assert out["model"].tolist()[0] == "gpt-4o"  # the largest dollar change first
    rows = out.set_index("model")
    assert rows.loc["claude-3-5-haiku-20241022", "status"] == "new"
    assert rows.loc["gpt-4o", "cost_before"] == pytest.approx(0.007)
    assert rows.loc["gpt-4o", "cost_after"] == pytest.approx(0.0035)
    assert rows.loc["gpt-4o", "cost_change_pct"] == pytest.approx(-0.5)
    assert rows.loc["gpt-4o", "error_rate_before"] == pytest.approx(0.5)
    assert rows.loc["gpt-4o", "sessions_before"] == 1
    for metric in recipes.CHANGE_METRICS:
        assert {
            f"{metric}_before",
            f"{metric}_after",
            f"{metric}_change",
            f"{metric}_change_pct",
        } <= set(out.columns)
    whole = recipes.compare_periods(req, before=week1, after=week2)
    assert whole["cost_change"].iloc[0] == pytest.approx(out["cost_change"].sum())
    gone = recipes.compare_periods(req, before=week1, after=week2, by="tier")
    assert "gone" in gone["status"].tolist()
    relative = recipes.compare_periods(req, before=("14d", "7d"), after=("7d", "now"))
    assert int(relative["requests_after"].iloc[0]) == 3  # days 7-8, the frame's last week


def test_compare_periods_on_sessions() -> None:
    df = sessions_frame(ROWS, tz="UTC")
    out = recipes.compare_periods(
        df,
        before=("2025-01-06", "2025-01-13"),
        after=("2025-01-13", "2025-01-20"),
        by="session_name",
    )
    assert out["cost_change"].sum() == pytest.approx(0.5 - 4.5)
    assert out["error_rate_before"].isna().all()  # sessions carry no status


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        (("2025-07-07", "2025-07-15"), ("2025-07-14", "2025-07-21"), "overlap"),
        (("2025-06-01", "2025-06-08"), ("2025-07-14", "2025-07-21"), "before period .* holds no"),
        (("2025-07-14", "2025-07-07"), ("2025-07-14", "2025-07-21"), "before: end .* after start"),
        ("2025-07-07", ("2025-07-14", "2025-07-21"), r"\(start, end\) pair"),
    ],
)
def test_compare_periods_bad_periods(
    req: pd.DataFrame, before: Any, after: Any, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        recipes.compare_periods(req, before=before, after=after)


def test_your_prices_without_cache_prices_keep_the_databases_cache_prices() -> None:
    df = pd.DataFrame(
        {
            "model": ["gpt-4o"],
            "provider": ["OPENAI"],
            "prompt_tokens": [0],
            "completion_tokens": [0],
            "prompt_cache_read_tokens": [1_000_000],
            "cost": [0.0],
        }
    )
    listed = recipes.price_list(df, prices={"gpt-4o": {"input": 2.0, "output": 8.0}})
    assert listed[["input", "cache_read", "price_source"]].iloc[0].tolist() == [
        2.0,
        1.25,
        "your prices",
    ]
    out = recipes.reprice(df, prices={"gpt-4o": {"input": 2.0, "output": 8.0}})
    assert out["repriced_cost"].iloc[0] == pytest.approx(1.25)
    explicit = recipes.reprice(
        df, prices={"gpt-4o": {"input": 2.0, "output": 8.0, "cache_read": 0.5}}
    )
    assert explicit["repriced_cost"].iloc[0] == pytest.approx(0.5)
