"""Recipes, plots and the report on a large synthetic sessions frame.

The frame is random but seeded (numpy default_rng(7)), built through ``sessions_frame`` like
real pages; it exists only to time the code, never to show numbers to users.
"""

from __future__ import annotations

from typing import Any

from .harness import Figure, frame_megabytes, timed

_SIZES = {"smoke": 5_000, "full": 100_000}
_TARGET_S = 1.0  # per recipe, at the full size


def _frame(n: int) -> Any:
    import numpy as np
    import pandas as pd

    from helicone_nb._frames import sessions_frame

    rng = np.random.default_rng(7)
    start = pd.Timestamp("2025-01-01", tz="UTC").value // 10**9
    created = start + rng.integers(0, 90 * 86_400, n)
    duration = rng.exponential(120, n).astype(int)
    requests = rng.integers(1, 40, n)
    tokens = requests * rng.integers(100, 4_000, n)
    names = np.array(["research-agent", "support-chat", "code-review", "sql-copilot", ""])
    users = [f"user{i}" for i in range(500)]
    user_pick = rng.integers(0, 500, (n, 2))
    n_users = rng.integers(0, 3, n)
    rows = [
        {
            "session_id": f"s{i}",
            "session_name": str(names[i % len(names)]),
            "created_at": pd.Timestamp(int(created[i]), unit="s", tz="UTC").isoformat(),
            "latest_request_created_at": pd.Timestamp(
                int(created[i] + duration[i]), unit="s", tz="UTC"
            ).isoformat(),
            "total_cost": float(tokens[i]) * 2e-6,
            "total_requests": int(requests[i]),
            "prompt_tokens": int(tokens[i] * 0.8),
            "completion_tokens": int(tokens[i]) - int(tokens[i] * 0.8),
            "total_tokens": int(tokens[i]),
            "avg_latency": float(300 + tokens[i] / requests[i] * 0.5),
            "user_ids": [users[j] for j in user_pick[i, : n_users[i]]],
        }
        for i in range(n)
    ]
    return sessions_frame(rows, tz="Europe/Berlin")


def _cost_over_time_0_1(df: Any, freq: str) -> Any:
    """The 0.1 algorithm of ``cost_over_time`` (grouping by per-row Timestamp labels), kept
    only to time the "before" of the headroom figure against the current implementation."""
    import pandas as pd

    from helicone_nb._present.checks import float_values
    from helicone_nb._recipes.buckets import bucket, period_bins, to_offset

    times = df["created_at"]
    bins = period_bins(times, to_offset(freq, "cost_over_time"))
    keys = bucket(times, bins)
    frame = pd.DataFrame(
        {
            "_key": keys.to_numpy(),
            "total_cost": float_values(df["total_cost"]),
            "total_requests": df["total_requests"].astype("Int64").to_numpy(),
            "total_tokens": df["total_tokens"].astype("Int64").to_numpy(),
        }
    ).astype({"total_requests": "Int64", "total_tokens": "Int64"})
    g = frame[frame["_key"].notna()].groupby("_key", sort=True)
    index = pd.DatetimeIndex(bins)
    return g["total_cost"].sum(min_count=0).reindex(index).fillna(0.0)


def run(size: str) -> list[Figure]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helicone_nb import plots, recipes, report

    n = _SIZES[size]
    df = _frame(n)
    full = size == "full"
    figures: list[Figure] = []
    cases = {
        "summary": lambda: recipes.summary(df),
        "cost_by session_name top 10": lambda: recipes.cost_by(df, "session_name", top=10),
        "cost_by user top 10": lambda: recipes.cost_by(df, "user", top=10),
        "cost_by day": lambda: recipes.cost_by(df, "day"),
        "cost_over_time hourly": lambda: recipes.cost_over_time(df, "h"),
        "latency_by session_id": lambda: recipes.latency_by(df, "session_id"),
        "outliers by session_name": lambda: recipes.outliers(df, by="session_name"),
        "top_sessions cost_per_request": lambda: recipes.top_sessions(df, "cost_per_request"),
    }
    for name, fn in cases.items():
        seconds, _ = timed(fn, repeat=2)
        figures.append(
            Figure(
                "recipes",
                f"{name}, {n:,} sessions",
                seconds,
                "s",
                f"< {_TARGET_S:g} s" if full else "",
                (seconds < _TARGET_S) if full else None,
            )
        )
    # Issue 11 headroom: cost_over_time hourly, the 0.1 algorithm ("before") and now ("after").
    before, old = timed(lambda: _cost_over_time_0_1(df, "h"), repeat=2)
    after, new = timed(lambda: recipes.cost_over_time(df, "h"), repeat=3)
    assert abs(float(old.sum()) - float(new["total_cost"].sum())) < 1e-6 * float(old.sum())
    figures.append(
        Figure("recipes", f"cost_over_time hourly BEFORE (0.1), {n:,} sessions", before, "s")
    )
    figures.append(
        Figure(
            "recipes",
            f"cost_over_time hourly AFTER, {n:,} sessions",
            after,
            "s",
            "< 0.5 s" if full else "",
            (after < 0.5) if full else None,
        )
    )
    seconds, ax = timed(lambda: plots.plot_latency_vs_tokens(df))
    plt.close(ax.figure)
    figures.append(Figure("recipes", f"plot_latency_vs_tokens, {n:,} sessions", seconds, "s"))

    class _Client:
        def fetch_sessions(self, start: Any, end: Any = None, **kwargs: Any) -> Any:
            return df

        def fetch_session_requests(self, session_id: str, **kwargs: Any) -> Any:
            from helicone_nb._frames import REQUEST_SCHEMA, empty_frame

            return empty_frame(REQUEST_SCHEMA, "Europe/Berlin")

    seconds, page = timed(
        lambda: report.build_report(_Client(), "2025-01-01", "2025-04-01", tz="Europe/Berlin")
    )
    figures.append(
        Figure(
            "recipes",
            f"build_report, {n:,} sessions",
            seconds,
            "s",
            "< 10 s" if full else "",
            (seconds < 10) if full else None,
        )
    )
    figures.append(Figure("recipes", "report size", len(page) / 1e6, "MB"))
    return figures + run_requests(size)


# -- issue 13: recipes of a requests frame, on the demo generator's requests -------------------

_REQUEST_SIZES = {"smoke": 20_000, "full": 1_000_000}


def requests_frame_from_demo(n: int, *, categorical: bool) -> Any:
    """The typed requests frame (REQUEST_SCHEMA) of ``n`` demo requests, built column-wise from
    the demo generator (what ``fetch_requests`` returns, without paging a million rows through
    the in-process server). ``properties`` dicts are shared per distinct combination, as the
    mirror's reader does. ``categorical``: model / provider / session name / path as category."""
    import numpy as np
    import pandas as pd

    from helicone_nb._frames import REQUEST_SCHEMA
    from helicone_nb.backend._demo import generate_demo

    d = generate_demo(n)
    tz = "Europe/Berlin"
    when = pd.to_datetime(d["request_created_at"]).dt.tz_localize("UTC").dt.tz_convert(tz)
    keys = d[["property:environment", "property:app_version", "property:tier"]].astype(object)
    combos, codes = np.unique(keys.fillna("").to_numpy(dtype=str), axis=0, return_inverse=True)
    shared = np.empty(len(combos), dtype=object)
    shared[:] = [
        {k: v for k, v in zip(("environment", "app_version", "tier"), c, strict=True) if v}
        for c in combos
    ]
    empty: dict[str, int] = {}
    text = "category" if categorical else "string"
    frame = pd.DataFrame(
        {
            "request_id": d["request_id"].astype("string"),
            "session_id": d["property:Helicone-Session-Id"].astype("string"),
            "session_name": d["property:Helicone-Session-Name"].fillna("").astype(text),
            "session_path": d["property:Helicone-Session-Path"].fillna("/").astype(text),
            "created_at": when.astype(pd.DatetimeTZDtype(unit="ns", tz=tz)),
            "user_id": d["user_id"].fillna("").astype("string"),
            "model": d["model"].astype(str).astype(text),
            "provider": d["provider"].astype(str).astype(text),
            "status": d["status"].astype("Int64"),
            "latency_ms": d["latency"].astype("float64"),
            "time_to_first_token_ms": d["time_to_first_token"]
            .astype("Float64")
            .to_numpy(dtype="float64", na_value=np.nan),
            "prompt_tokens": d["prompt_tokens"].astype("Int64"),
            "completion_tokens": d["completion_tokens"].astype("Int64"),
            "total_tokens": d["total_tokens"].astype("Int64"),
            "cost": d["cost"].to_numpy(dtype="float64") / 1e9,
            "properties": shared[codes.ravel()],
            "prompt_cache_read_tokens": d["prompt_cache_read_tokens"].astype("Int64"),
            "prompt_cache_write_tokens": d["prompt_cache_write_tokens"].astype("Int64"),
            "scores": np.full(n, empty, dtype=object),
            "feedback": pd.array([pd.NA] * n, dtype="boolean"),
        }
    )
    return frame[[c for c in REQUEST_SCHEMA if c in frame.columns]]


def run_requests(size: str) -> list[Figure]:
    import pandas as pd

    from helicone_nb import recipes

    n = _REQUEST_SIZES[size]
    full = size == "full"
    figures: list[Figure] = []
    req: Any = None
    for categorical in (False, True):
        req = requests_frame_from_demo(n, categorical=categorical)
        kind = "category" if categorical else "string"
        deep = req.memory_usage(deep=True).sum() / 1e6
        mb = frame_megabytes(req)
        figures.append(
            Figure(
                "requests",
                f"frame memory (pandas deep: shared dicts counted per "
                f"row), {n:,} requests, {kind} model/provider/name/path",
                deep,
                "MB",
            )
        )
        figures.append(
            Figure(
                "requests",
                f"frame memory (each object once), {n:,} requests, {kind} model/provider/name/path",
                mb,
                "MB",
                "< 400 MB" if full else "",
                (mb < 400) if full else None,
            )
        )
    end = req["created_at"].max()
    week = pd.Timedelta(days=7)
    cases = {
        "cost_by model": lambda: recipes.cost_by(req, "model"),
        "cost_by [week, model]": lambda: recipes.cost_by(req, ["week", "model"]),
        "cost_by custom property (environment)": lambda: recipes.cost_by(req, "environment"),
        "latency_by model (p50/p90/p95/p99, TTFT)": lambda: recipes.latency_by(req, "model"),
        "error_rate [day, provider]": lambda: recipes.error_rate(req, ["day", "provider"]),
        "model_mix session_name": lambda: recipes.model_mix(req, "session_name"),
        "session_breakdown model": lambda: recipes.session_breakdown(req, "model"),
        "scores_by model": lambda: recipes.scores_by(req, "model"),
        "cost_gaps": lambda: recipes.cost_gaps(req),
        "what_if gpt-4o -> gpt-4o-mini": lambda: recipes.what_if(
            req, swap={"gpt-4o": "gpt-4o-mini"}
        ),
        "compare_periods by [session_name, model]": lambda: recipes.compare_periods(
            req,
            before=(end - 2 * week, end - week),
            after=(end - week, end),
            by=["session_name", "model"],
        ),
    }
    for name, fn in cases.items():
        seconds, _ = timed(fn, repeat=2)
        figures.append(
            Figure(
                "requests",
                f"{name}, {n:,} requests",
                seconds,
                "s",
                "< 1 s" if full else "",
                (seconds < 1.0) if full else None,
            )
        )
    seconds, _ = timed(lambda: recipes.reprice(req), repeat=2)
    figures.append(
        Figure(
            "requests",
            f"reprice, {n:,} requests",
            seconds,
            "s",
            "< 2 s" if full else "",
            (seconds < 2.0) if full else None,
        )
    )
    return figures
