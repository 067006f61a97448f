"""Deterministic demo data: the organisation of ``_demo_org``, generated with numpy.

All randomness comes from one ``numpy.random.Generator`` seeded with ``seed``: the same
``(requests, seed)`` gives the same rows, bit for bit, on the same numpy version. Every step is
vectorised over all requests of an application at once (no Python loop per request or session).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import UsageError
from ._demo_org import (
    ANTHROPIC_INCIDENT,
    APPS,
    COST_SPIKE,
    DAYS,
    END_MS,
    FINE_TUNE,
    FINE_TUNE_SWITCH,
    FIRST_REQUEST,
    GEMINI_SLOWDOWN,
    INGEST_DELAY_S,
    LOOSE,
    MODEL_INDEX,
    NO_SESSION_SHARE,
    O3_SWITCH,
    SCORE_DELAY_S,
    SCORES,
    SPIKE_FEEDBACK_POSITIVE,
    STAFF_COUNTRIES,
    START_MS,
    App,
    Step,
    Users,
    hour_weights,
    make_users,
    model_array,
    ms,
    pick,
)
from ._demo_period import GENERATOR_VERSION as GENERATOR_VERSION  # the demo cache key's part
from ._demo_period import MAX_REQUESTS, MIN_REQUESTS

if TYPE_CHECKING:
    import pandas as pd

#: Every score key of the demo, in a fixed order (one ``score:<key>`` column each).
SCORE_KEYS = tuple(dict.fromkeys(s.key for s in SCORES))


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    """``n`` random version-4 UUID strings (object array), vectorised."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = digits[raw >> 4]
    hexed[:, 1::2] = digits[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        width = {0: 8, 9: 4, 14: 4, 19: 4, 24: 12}[dst]
        out[:, dst : dst + width] = hexed[:, src : src + width]
    return np.asarray(out.view("S36").ravel().astype("U36").astype(object))


def _split(total: int, shares: list[float]) -> list[int]:
    """Largest-remainder split of ``total`` by ``shares``."""
    raw = np.asarray(shares) / sum(shares) * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return [int(c) for c in counts]


def _lognormal(rng: np.random.Generator, median: np.ndarray[Any, Any], sigma: float) -> Any:
    return median * rng.lognormal(0.0, sigma, median.shape)


def generate_demo(requests: int, seed: int = 0) -> pd.DataFrame:
    """Generate the demo organisation's request rows, deterministically.

    Parameters
    ----------
    requests
        Number of requests, from 1,000 to 5,000,000 (about one session per 10 requests).
    seed
        Seed of the random generator; the same ``(requests, seed)`` gives the same rows.

    Returns
    -------
    pandas.DataFrame
        One row per request, sorted by ``request_created_at``. Columns are named like the
        store's (Helicone's ``request_response_rmt``: ``request_id``, ``request_created_at``,
        ``latency`` in ms, ``cost`` in integer nano-dollars, ...); each property is a column
        ``property:<name>`` holding None where the request has no such property, and each score
        a column ``score:<key>`` (nullable integers, NA where the request has no such score).
    """

    if not isinstance(requests, int) or not MIN_REQUESTS <= requests <= MAX_REQUESTS:
        raise UsageError(
            f"requests must be an integer from {MIN_REQUESTS:,} to {MAX_REQUESTS:,}, got "
            f"{requests!r}"
        )
    return _generate(requests, [seed])  # default_rng([seed]) is default_rng(seed)


def generate_demo_chunks(
    requests: int, seed: int = 0, *, chunk_requests: int = 1_000_000
) -> Iterator[pd.DataFrame]:
    """The demo at any size (e.g. 10,000,000 requests), as frames of ``chunk_requests`` rows.

    Each chunk is a demo organisation's traffic of its own over the same period (its own
    sessions, drawn from its own seed ``(seed, chunk number)``), so chunks never share a
    ``request_id`` or session id and memory stays that of one chunk. Same ``(requests, seed,
    chunk_requests)``, same rows. Each chunk is sorted by ``request_created_at``; the whole is
    not.
    """
    if not isinstance(requests, int) or requests < MIN_REQUESTS:
        raise UsageError(f"requests must be an integer of at least {MIN_REQUESTS:,}")
    if not isinstance(chunk_requests, int) or not MIN_REQUESTS <= chunk_requests <= MAX_REQUESTS:
        raise UsageError(
            f"chunk_requests must be an integer from {MIN_REQUESTS:,} to {MAX_REQUESTS:,}"
        )
    chunks = -(-requests // chunk_requests)
    sizes = [requests // chunks + (1 if i < requests % chunks else 0) for i in range(chunks)]
    for number, size in enumerate(sizes):
        yield _generate(size, [seed, number + 1])


def _generate(requests: int, seed: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # Scores, reasoning tokens and updated_at come from a second generator, so the rows drawn
    # from the first one stay what they were before those columns existed.
    later = np.random.default_rng([*seed, 1 << 20])
    users = make_users(rng)
    quotas = _split(requests, [a.share for a in APPS] + [NO_SESSION_SHARE])
    parts = [
        _app_requests(rng, later, app, quota, users)
        for app, quota in zip(APPS, quotas, strict=False)
    ]
    parts.append(_loose_requests(rng, quotas[-1], users))
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(cols["created_ms"], kind="stable")
    cols = {key: value[order] for key, value in cols.items()}
    return _frame(rng, later, cols)


def _scores(
    rng: np.random.Generator,
    app: App,
    k: np.ndarray[Any, Any],
    steps: np.ndarray[Any, Any],
    done: dict[str, np.ndarray[Any, Any]],
) -> dict[str, np.ndarray[Any, Any]]:
    """``score:<key>`` columns (float, NaN = no such score) for one application's requests."""
    quota = len(k)
    out = {f"score:{key}": np.full(quota, np.nan) for key in SCORE_KEYS}
    ok = done["status"] == 200
    for score in (s for s in SCORES if s.app == app.name):
        feedback = score.step == FIRST_REQUEST
        where = (k == 0) if feedback else ((steps == score.step) & ok)
        chosen = where & (rng.random(quota) < score.share)
        if score.low == 0 and score.high == 1:
            positive = np.full(quota, score.positive)
            if app.name == "support-chat" and feedback:
                created = done["created_ms"]
                spike = (created >= COST_SPIKE[0]) & (created < COST_SPIKE[1])
                positive = np.where(spike, SPIKE_FEEDBACK_POSITIVE, positive)
            values = (rng.random(quota) < positive).astype(float)
        else:
            values = rng.integers(score.low, score.high + 1, quota).astype(float)
        out[f"score:{score.key}"] = np.where(chosen, values, np.nan)
    return out


def _app_requests(
    rng: np.random.Generator,
    later: np.random.Generator,
    app: App,
    quota: int,
    users: dict[str, Users],
) -> dict[str, np.ndarray[Any, Any]]:
    """Sessions of one application totalling exactly ``quota`` requests."""
    mean = float(np.mean(app.lengths(rng, 2000)))
    lengths = app.lengths(rng, int(quota / mean * 1.3) + 16)
    while lengths.sum() < quota:
        lengths = np.concatenate([lengths, app.lengths(rng, int(quota / mean * 0.3) + 16)])
    ends = np.cumsum(lengths)
    count = int(np.searchsorted(ends, quota)) + 1  # sessions needed to reach the quota
    lengths = lengths[:count].copy()
    lengths[-1] -= int(ends[count - 1]) - quota
    lengths = lengths[lengths > 0]
    sessions = len(lengths)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    k = np.arange(quota) - first  # position in the session
    n = np.repeat(lengths, lengths)
    steps = app.step_of(k, n)

    # per session: start, user, environment
    hours = rng.choice(DAYS * 24, size=sessions, p=hour_weights(rng, app.profile))
    start = START_MS + hours * 3_600_000 + rng.integers(0, 3_600_000, sessions)
    if app.users == "none":
        user = np.full(sessions, "", dtype=object)
        country = pick(rng, STAFF_COUNTRIES, sessions)
        tier = np.full(sessions, None, dtype=object)
    else:
        pool = users[app.users]
        who = rng.choice(len(pool.ids), size=sessions, p=pool.weight / pool.weight.sum())
        user = pool.ids[who].copy()
        country = pool.country[who]
        tier = pool.tier[who]
        user[rng.random(sessions) < app.no_user] = ""
    environment = np.where(rng.random(sessions) < 0.08, "staging", "production").astype(object)
    release_ms = np.array([ms(t) for t, _ in app.versions])
    names = np.array([v for _, v in app.versions], dtype=object)
    version = names[np.searchsorted(release_ms, start, side="right") - 1]

    # per request
    step_model = np.array([MODEL_INDEX[s.model] for s in app.steps])
    model = step_model[steps]
    s_start = np.repeat(start, lengths)
    s_version = np.repeat(version, lengths)
    if app.name == "support-chat":
        answer = steps == 2
        spike = (s_start >= COST_SPIKE[0]) & (s_start < COST_SPIKE[1])
        model = np.where(
            answer & ((np.repeat(tier, lengths) == "enterprise") | spike),
            MODEL_INDEX["gpt-4o"],
            model,
        )
    elif app.name == "email-drafter":
        model = np.where(
            np.repeat(rng.random(sessions) < 0.4, lengths),
            MODEL_INDEX["claude-3-5-haiku-20241022"],
            model,
        )
    elif app.name == "sql-copilot":
        model = np.where(
            ((steps == 1) | (steps == 2)) & (s_start >= O3_SWITCH), MODEL_INDEX["o3-mini"], model
        )

    prompt_med = np.array([s.prompt for s in app.steps])[steps]
    if app.name == "support-chat":  # the conversation grows every turn
        prompt_med = prompt_med + 340.0 * (k // 2)
    prompt = np.maximum(1, _lognormal(rng, prompt_med, 0.45)).astype(np.int64)
    completion_med = np.array([s.completion for s in app.steps])[steps]
    completion = np.where(
        completion_med > 0, np.maximum(1, _lognormal(rng, completion_med, 0.5)), 0
    ).astype(np.int64)
    cache_read = np.zeros(quota, dtype=np.int64)
    if app.name == "code-review-agent":  # file reviews re-read the cached diff
        hit = (steps == 2) & (rng.random(quota) < 0.7)
        cache_read = np.where(hit, rng.integers(1800, 4200, quota), 0)

    if app.name == "email-drafter":  # 1.4.0 drafts with a fine-tune Helicone cannot price
        model = np.where(
            (model == MODEL_INDEX["gpt-4o-mini"]) & (s_start >= FINE_TUNE_SWITCH),
            MODEL_INDEX[FINE_TUNE],
            model,
        )
    done = _finish_requests(
        rng,
        app.steps,
        quota,
        lengths,
        steps,
        model,
        prompt,
        completion,
        cache_read,
        s_start,
        {
            "session_id": np.repeat(_uuids(rng, sessions), lengths),
            "session_name": np.full(quota, app.name or None, dtype=object),
            "path": np.array([s.path for s in app.steps], dtype=object)[steps],
            "file": np.where(
                np.isin(steps, (2, 3)) & (app.name == "code-review-agent"), (k - 2) // 2 + 1, 0
            ),
            "user_id": np.repeat(user, lengths),
            "country_code": np.repeat(country, lengths),
            "environment": np.repeat(environment, lengths),
            "app_version": s_version,
            "tier": np.repeat(tier, lengths),
        },
    )
    return {**done, **_scores(later, app, k, steps, done)}


def _finish_requests(
    rng: np.random.Generator,
    steps_table: tuple[Step, ...],
    quota: int,
    lengths: np.ndarray[Any, Any],
    steps: np.ndarray[Any, Any],
    model: np.ndarray[Any, Any],
    prompt: np.ndarray[Any, Any],
    completion: np.ndarray[Any, Any],
    cache_read: np.ndarray[Any, Any],
    s_start: np.ndarray[Any, Any],
    extra: dict[str, np.ndarray[Any, Any]],
) -> dict[str, np.ndarray[Any, Any]]:
    """Failures, latency, timestamps and cost for one application's requests."""
    provider = model_array("provider")[model]
    # failures: a steady 1.2%, plus the Anthropic incident
    fail_p = np.full(quota, 0.012)
    incident = (
        (provider == "ANTHROPIC")
        & (s_start >= ANTHROPIC_INCIDENT[0])
        & (s_start < ANTHROPIC_INCIDENT[1])
    )
    fail_p = np.where(incident, ANTHROPIC_INCIDENT[2], fail_p)
    failed = rng.random(quota) < fail_p
    status = np.where(
        failed, np.array([429, 500, 400])[rng.choice(3, quota, p=[0.55, 0.3, 0.15])], 200
    )
    status = np.where(incident & failed & (rng.random(quota) < 0.7), 500, status)
    prompt = np.where(failed, 0, prompt)
    completion = np.where(failed, 0, completion)
    cache_read = np.where(failed, 0, cache_read)

    # latency: lognormal around a median that grows with the tokens
    median = (
        model_array("base_ms")[model]
        + model_array("ms_per_output")[model] * completion
        + model_array("ms_per_1k_prompt")[model] * (prompt + cache_read) / 1000.0
    )
    slow_t0, slow_t1, slow_max = GEMINI_SLOWDOWN
    ramp = np.clip((s_start - slow_t0) / (slow_t1 - slow_t0), 0.0, 1.0)
    median = np.where(
        model == MODEL_INDEX["gemini-1.5-flash"], median * (1 + (slow_max - 1) * ramp), median
    )
    latency = _lognormal(rng, median, 0.32)
    latency = np.where(status == 429, rng.integers(60, 320, quota), latency)
    latency = np.where(status == 400, rng.integers(90, 260, quota), latency)
    latency = np.maximum(40, np.round(latency)).astype(np.int64)
    streaming = np.array([s.streaming for s in steps_table])[steps] & ~failed
    ttft_med = model_array("base_ms")[model] * 0.75
    ttft = np.minimum(latency, np.round(_lognormal(rng, ttft_med, 0.25)))
    ttft = np.where(streaming, ttft, np.nan)

    # timestamps: each step waits for the previous one, plus a think / orchestration pause
    think = _lognormal(rng, np.array([s.think_s for s in steps_table])[steps] * 1000.0, 0.7)
    gap = np.concatenate([[0], latency[:-1]]) + np.round(think).astype(np.int64) + 25
    first = np.cumsum(lengths) - lengths
    gap[first] = 0
    elapsed = np.cumsum(gap)
    offset = elapsed - np.repeat(elapsed[first], lengths)
    duration = offset[np.cumsum(lengths) - 1] + latency[np.cumsum(lengths) - 1]
    latest_start = END_MS - 1000 - duration  # keep every session inside the period
    s_start = np.minimum(s_start, np.repeat(latest_start, lengths))
    created = s_start + offset

    cost = (
        np.round(model_array("usd_in")[model] * 1000).astype(np.int64) * prompt
        + np.round(model_array("usd_out")[model] * 1000).astype(np.int64) * completion
        + np.round(model_array("usd_cache_read")[model] * 1000).astype(np.int64) * cache_read
    )  # nano-dollars: USD per 1M tokens * 1000 = nano-USD per token
    cost = np.where(model_array("priced")[model], cost, 0)  # Helicone records 0 when unknown
    return {
        "created_ms": created,
        "latency": latency,
        "ttft": ttft,
        "status": status,
        "model": model,
        "prompt": prompt,
        "completion": completion,
        "cache_read": cache_read,
        "cost": cost,
        **extra,
    }


def _loose_requests(
    rng: np.random.Generator, quota: int, users: dict[str, Users]
) -> dict[str, np.ndarray[Any, Any]]:
    """Requests sent outside any session (no Helicone-Session-Id): one-off gpt-4o-mini calls."""
    lengths = np.ones(quota, dtype=np.int64)
    steps = np.zeros(quota, dtype=np.int64)
    hours = rng.choice(DAYS * 24, size=quota, p=hour_weights(rng, "business"))
    start = START_MS + hours * 3_600_000 + rng.integers(0, 3_600_000, quota)
    pool = users["staff"]
    who = rng.choice(len(pool.ids), size=quota, p=pool.weight / pool.weight.sum())
    user = pool.ids[who].copy()
    user[rng.random(quota) < 0.3] = ""
    prompt = np.maximum(1, _lognormal(rng, np.full(quota, 500.0), 0.6)).astype(np.int64)
    completion = np.maximum(1, _lognormal(rng, np.full(quota, 120.0), 0.6)).astype(np.int64)
    return _finish_requests(
        rng,
        LOOSE,
        quota,
        lengths,
        steps,
        np.full(quota, MODEL_INDEX["gpt-4o-mini"]),
        prompt,
        completion,
        np.zeros(quota, dtype=np.int64),
        start,
        {
            "session_id": np.full(quota, None, dtype=object),
            "session_name": np.full(quota, None, dtype=object),
            "path": np.full(quota, None, dtype=object),
            "file": np.zeros(quota, dtype=np.int64),
            "user_id": user,
            "country_code": pool.country[who],
            "environment": np.where(rng.random(quota) < 0.1, "staging", "production").astype(
                object
            ),
            "app_version": np.full(quota, "tools-1.0", dtype=object),
            "tier": np.full(quota, None, dtype=object),
            **{f"score:{key}": np.full(quota, np.nan) for key in SCORE_KEYS},
        },
    )


def _frame(
    rng: np.random.Generator, later: np.random.Generator, c: dict[str, np.ndarray[Any, Any]]
) -> pd.DataFrame:
    import pandas as pd

    n = len(c["created_ms"])
    created = c["created_ms"].astype("datetime64[ms]")
    path = c["path"]
    has_file = c["file"] > 0
    if has_file.any():  # /review/file-3 and /review/file-3/lint
        files = c["file"][has_file]
        labels = np.array([f"file-{i}" for i in range(int(files.max()) + 1)], dtype=object)
        base = path[has_file]
        path = path.copy()
        path[has_file] = np.where(
            base == "/review/file", "/review/" + labels[files], "/review/" + labels[files] + "/lint"
        )
    model = c["model"]

    def per_model(attr: str) -> Any:  # a categorical column holding one attribute per model
        categories, codes = np.unique(model_array(attr), return_inverse=True)
        return pd.Categorical.from_codes(codes[model], pd.Index(categories.astype(object)))

    request_ids = _uuids(rng, n)
    responded = c["created_ms"] + c["latency"]
    # updated_at: Helicone stores the row a moment after the response; a score re-inserts it
    updated = responded + np.round(_lognormal(later, np.full(n, INGEST_DELAY_S * 1000), 0.8))
    score_cols = {f"score:{key}": c[f"score:{key}"] for key in SCORE_KEYS}
    scored = np.zeros(n, dtype=bool)
    for values in score_cols.values():
        scored |= ~np.isnan(values)
    delay = np.round(_lognormal(later, np.full(n, SCORE_DELAY_S * 1000), 1.2))
    updated = np.where(scored, np.maximum(updated, responded + delay), updated).astype(np.int64)
    share = model_array("reasoning_share")[model]
    noise = np.clip(share * later.lognormal(0.0, 0.15, n), 0.0, 0.95)
    reasoning = np.round(c["completion"] * noise).astype(np.int64)

    return pd.DataFrame(
        {
            "request_id": request_ids,
            "request_created_at": created,
            "updated_at": updated.astype("datetime64[ms]"),
            "response_created_at": created + c["latency"].astype("timedelta64[ms]"),
            "latency": c["latency"],
            "time_to_first_token": pd.arrays.IntegerArray(
                np.nan_to_num(c["ttft"]).astype(np.int64), np.isnan(c["ttft"])
            ),
            "status": c["status"].astype(np.int32),
            "model": per_model("name"),
            "request_model": per_model("name"),
            "response_model": per_model("response_model"),
            "provider": per_model("provider"),
            "user_id": c["user_id"],
            "country_code": c["country_code"],
            "target_url": per_model("target_url"),
            "request_path": per_model("path"),
            "prompt_tokens": c["prompt"],
            "completion_tokens": c["completion"],
            "prompt_cache_read_tokens": c["cache_read"],
            "prompt_cache_write_tokens": np.zeros(n, dtype=np.int64),
            "reasoning_tokens": reasoning,
            "total_tokens": c["prompt"] + c["completion"] + reasoning,  # as Helicone's row
            "cost": c["cost"],
            "property:Helicone-Session-Id": c["session_id"],
            "property:Helicone-Session-Name": c["session_name"],
            "property:Helicone-Session-Path": path,
            "property:environment": c["environment"],
            "property:app_version": c["app_version"],
            "property:tier": c["tier"],
            **{
                name: pd.arrays.IntegerArray(
                    np.nan_to_num(values).astype(np.int64), np.isnan(values)
                )
                for name, values in score_cols.items()
            },
        }
    )
