"""Deterministic demo data: a 90-day Helicone organisation, generated with numpy.

The organisation (zone :data:`DEMO_TZ`) runs five LLM applications, each a session name:

==================  =======================================================================
support-chat        customer chat: classify, then turns of retrieve (embeddings) + answer;
                    gpt-4o-mini, gpt-4o for enterprise customers
code-review-agent   plan, read the diff, review + lint each file, summarise; Claude models
research-agent      plan, then search / summarise loops, then answer; gpt-4o, gpt-4o-mini,
                    gemini-1.5-flash
email-drafter       draft, then revisions; gpt-4o-mini or claude-3-5-haiku
sql-copilot         schema, generate, fix retries, explain; gpt-4o (o3-mini from 1.5.0)
==================  =======================================================================

plus nightly classification batches that send no ``Helicone-Session-Name`` (their sessions have
name ``""``) and a few requests outside any session. Every request carries the properties
``environment`` and ``app_version`` (support-chat also ``tier``); the session path
(``Helicone-Session-Path``) forms a tree per session. Prices are the providers' list prices
per token, latencies are lognormal and grow with the tokens generated, traffic follows a
weekly and a daily rhythm in the organisation's zone and grows over the period.

Things the analyses should find (all inside the fixed period):

- **Cost spike**: support-chat 3.8.0 (2025-07-21 10:00 UTC) routes every answer to gpt-4o
  instead of gpt-4o-mini; 3.8.1 (2025-07-29 16:00 UTC) rolls it back.
- **Latency regression**: gemini-1.5-flash slows down gradually from 2025-07-28, up to 1.8x
  by the end of the period (research-agent summaries and the nightly batches).
- **Provider incident**: 2025-07-08 13:00-16:30 UTC, a third of Anthropic calls fail
  (500 / 429), hitting code-review-agent.
- **Model switch**: sql-copilot 1.5.0 (2025-08-04) generates SQL with o3-mini: cheaper, slower.
- **Summer dip**: internal tools see less traffic 2025-08-04..2025-08-15.

All randomness comes from one ``numpy.random.Generator`` seeded with ``seed``: the same
``(requests, seed)`` gives the same rows, bit for bit, on the same numpy version.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from .._errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

#: Bump when the generated rows change (it is part of the demo cache key).
GENERATOR_VERSION = 1
DEMO_START = _dt.datetime(2025, 6, 2, tzinfo=_dt.UTC)  # a Monday
DEMO_END = _dt.datetime(2025, 8, 31, tzinfo=_dt.UTC)
DEMO_TZ = "Europe/Berlin"
DEMO_DEFAULT_REQUESTS = 50_000
MIN_REQUESTS = 1_000
MAX_REQUESTS = 5_000_000

_START_MS = int(DEMO_START.timestamp() * 1000)
_END_MS = int(DEMO_END.timestamp() * 1000)
_DAYS = (DEMO_END - DEMO_START).days


def _ms(text: str) -> int:
    return int(_dt.datetime.fromisoformat(text).replace(tzinfo=_dt.UTC).timestamp() * 1000)


# --------------------------------------------------------------------------------------------
# Models: list prices (USD per 1M tokens) and a latency model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    name: str
    response_model: str
    provider: str
    usd_in: float  # per 1M prompt tokens
    usd_out: float  # per 1M completion tokens
    usd_cache_read: float  # per 1M cached prompt tokens read
    base_ms: float  # median latency of a minimal call
    ms_per_output: float  # per generated token
    ms_per_1k_prompt: float

    @property
    def path(self) -> str:
        if self.provider == "ANTHROPIC":
            return "/v1/messages"
        if self.provider == "GOOGLE":
            return f"/v1beta/models/{self.name}:generateContent"
        return "/v1/embeddings" if "embedding" in self.name else "/v1/chat/completions"

    @property
    def target_url(self) -> str:
        host = {
            "OPENAI": "https://api.openai.com",
            "ANTHROPIC": "https://api.anthropic.com",
            "GOOGLE": "https://generativelanguage.googleapis.com",
        }[self.provider]
        return host + self.path


# fmt: off
_MODELS = tuple(_Model(*row) for row in (
    # name, response model, provider, USD per 1M tokens: in, out, cache read;
    # latency: base ms, ms per output token, ms per 1k prompt tokens
    ("gpt-4o", "gpt-4o-2024-08-06", "OPENAI", 2.50, 10.00, 1.25, 420, 11.0, 25),
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "OPENAI", 0.15, 0.60, 0.075, 330, 8.0, 12),
    ("o3-mini", "o3-mini-2025-01-31", "OPENAI", 1.10, 4.40, 0.55, 2400, 9.0, 30),
    ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022", "ANTHROPIC",
     3.00, 15.00, 0.30, 650, 13.0, 30),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022", "ANTHROPIC",
     0.80, 4.00, 0.08, 420, 7.5, 15),
    ("gemini-1.5-flash", "gemini-1.5-flash-002", "GOOGLE", 0.075, 0.30, 0.01875, 280, 4.5, 10),
    ("text-embedding-3-small", "text-embedding-3-small", "OPENAI", 0.02, 0.0, 0.0, 110, 0.0, 4),
))
# fmt: on
_M = {m.name: i for i, m in enumerate(_MODELS)}


def _model_array(attr: str) -> np.ndarray[Any, Any]:
    return np.array([getattr(m, attr) for m in _MODELS])


# --------------------------------------------------------------------------------------------
# Applications: steps (session path, model, token sizes, think time before the step)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    path: str
    model: str
    prompt: float  # median prompt tokens
    completion: float  # median completion tokens
    think_s: float  # median pause before this step (user or orchestration)
    streaming: bool = True


@dataclass(frozen=True)
class _App:
    name: str  # Helicone-Session-Name ("" = none sent)
    share: float  # share of all requests
    steps: tuple[_Step, ...]
    profile: str  # traffic rhythm: "business", "customer" or "nightly"
    users: str  # user pool: "customers" or "staff"
    no_user: float  # share of sessions without a user
    versions: tuple[tuple[str, str], ...]  # (release time UTC, app_version)
    lengths: Callable[[np.random.Generator, int], np.ndarray[Any, Any]]  # session lengths
    step_of: Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], np.ndarray[Any, Any]]


def _geometric(rng: np.random.Generator, size: int, mean: float) -> np.ndarray[Any, Any]:
    """Counts >= 0 with the given mean."""
    return rng.geometric(1.0 / (mean + 1.0), size) - 1


# support-chat: /classify, then turns of /answer/retrieve + /answer
_CHAT = (
    _Step("/classify", "gpt-4o-mini", 320, 10, 0.0, streaming=False),
    _Step("/answer/retrieve", "text-embedding-3-small", 60, 0, 20.0, streaming=False),
    _Step("/answer", "gpt-4o-mini", 1400, 170, 0.05),
)


def _chat_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.where(k == 0, 0, np.where(k % 2 == 1, 1, 2))


# code-review-agent: /plan, /plan/read-diff, per file /review/file-N and its /lint, /summarise
_REVIEW = (
    _Step("/plan", "claude-3-5-sonnet-20241022", 2400, 280, 0.0, streaming=False),
    _Step("/plan/read-diff", "claude-3-5-haiku-20241022", 5200, 380, 0.4, streaming=False),
    _Step("/review/file", "claude-3-5-sonnet-20241022", 3300, 420, 0.6),
    _Step("/review/file/lint", "claude-3-5-haiku-20241022", 1400, 140, 0.3, streaming=False),
    _Step("/summarise", "claude-3-5-sonnet-20241022", 4800, 560, 0.5),
)


def _review_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    middle = np.where((k - 2) % 2 == 0, 2, 3)
    return np.where(k == 0, 0, np.where(k == 1, 1, np.where(k == n - 1, 4, middle)))


# research-agent: /plan, loops of /plan/search and /plan/search/summarise, /answer
_RESEARCH = (
    _Step("/plan", "gpt-4o", 750, 240, 0.0),
    _Step("/plan/search", "gpt-4o-mini", 380, 70, 0.9, streaming=False),
    _Step("/plan/search/summarise", "gemini-1.5-flash", 5600, 330, 0.3),
    _Step("/answer", "gpt-4o", 3900, 760, 0.4),
)


def _research_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    loop = np.where((k - 1) % 2 == 0, 1, 2)
    return np.where(k == 0, 0, np.where((k == n - 1) & (n > 2), 3, loop))


# email-drafter: /draft then /draft/revise
_EMAIL = (
    _Step("/draft", "gpt-4o-mini", 650, 320, 0.0),
    _Step("/draft/revise", "gpt-4o-mini", 1100, 300, 45.0),
)


def _email_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.where(k == 0, 0, 1)


# sql-copilot: /schema, /generate, /generate/fix retries, /explain
_SQL = (
    _Step("/schema", "gpt-4o-mini", 2900, 45, 0.0, streaming=False),
    _Step("/generate", "gpt-4o", 2500, 210, 0.2),
    _Step("/generate/fix", "gpt-4o", 2900, 190, 6.0),
    _Step("/explain", "gpt-4o-mini", 620, 240, 1.5),
)


def _sql_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.where(k == 0, 0, np.where(k == 1, 1, np.where((k == n - 1) & (n > 2), 3, 2)))


# nightly batch: unnamed sessions of /classify calls
_BATCH = (_Step("/classify", "gemini-1.5-flash", 900, 20, 0.15, streaming=False),)


def _batch_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.zeros_like(k)


_APPS = (
    _App(
        name="support-chat",
        share=0.34,
        steps=_CHAT,
        profile="customer",
        users="customers",
        no_user=0.03,
        versions=(
            ("2025-05-01", "3.6.2"),
            ("2025-07-01T09:00", "3.7.0"),
            ("2025-07-21T10:00", "3.8.0"),
            ("2025-07-29T16:00", "3.8.1"),
        ),
        lengths=lambda rng, size: 1 + 2 * (1 + _geometric(rng, size, 4.0)),
        step_of=_chat_steps,
    ),
    _App(
        name="code-review-agent",
        share=0.20,
        steps=_REVIEW,
        profile="business",
        users="staff",
        no_user=0.15,  # CI runs
        versions=(
            ("2025-05-01", "0.9.4"),
            ("2025-06-23T08:00", "0.10.0"),
            ("2025-08-11T08:00", "0.11.0"),
        ),
        lengths=lambda rng, size: 3 + 2 * (1 + _geometric(rng, size, 4.5)),
        step_of=_review_steps,
    ),
    _App(
        name="research-agent",
        share=0.23,
        steps=_RESEARCH,
        profile="business",
        users="staff",
        no_user=0.10,  # scheduled reports
        versions=(("2025-05-01", "2.1.0"), ("2025-07-14T08:00", "2.2.0")),
        lengths=lambda rng, size: 2 + 2 * (1 + _geometric(rng, size, 5.5)),
        step_of=_research_steps,
    ),
    _App(
        name="email-drafter",
        share=0.05,
        steps=_EMAIL,
        profile="business",
        users="staff",
        no_user=0.0,
        versions=(("2025-05-01", "1.2.0"), ("2025-07-07T08:00", "1.3.0")),
        lengths=lambda rng, size: 1 + _geometric(rng, size, 1.6),
        step_of=_email_steps,
    ),
    _App(
        name="sql-copilot",
        share=0.13,
        steps=_SQL,
        profile="business",
        users="staff",
        no_user=0.02,
        versions=(("2025-05-01", "1.4.1"), ("2025-08-04T08:00", "1.5.0")),
        lengths=lambda rng, size: 3 + _geometric(rng, size, 2.5),
        step_of=_sql_steps,
    ),
    _App(
        name="",  # nightly batches send no Helicone-Session-Name
        share=0.03,
        steps=_BATCH,
        profile="nightly",
        users="none",
        no_user=1.0,
        versions=(("2025-05-01", "batch-2025.05"), ("2025-07-01T00:00", "batch-2025.07")),
        lengths=lambda rng, size: 1 + _geometric(rng, size, 24.0),
        step_of=_batch_steps,
    ),
)
_NO_SESSION_SHARE = 0.02
_LOOSE = (_Step("", "gpt-4o-mini", 500, 120, 0.0),)  # one-off calls outside any session

_COST_SPIKE = (_ms("2025-07-21T10:00"), _ms("2025-07-29T16:00"))
_GEMINI_SLOWDOWN = (_ms("2025-07-28T00:00"), _END_MS, 1.8)
_ANTHROPIC_INCIDENT = (_ms("2025-07-08T13:00"), _ms("2025-07-08T16:30"), 0.33)
_O3_SWITCH = _ms("2025-08-04T08:00")
_SUMMER = (_ms("2025-08-04T00:00"), _ms("2025-08-16T00:00"), 0.7)

# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------

# fmt: off
_FIRST = (
    "anna", "ben", "carla", "david", "elif", "felix", "greta", "hannah", "ivan", "julia",
    "karim", "lena", "marco", "nora", "oskar", "paula", "quentin", "rosa", "samir", "tina",
    "uwe", "vera", "wei", "xenia", "yusuf", "zoe", "amir", "bianca", "chen", "dana",
)
_LAST = (
    "schmidt", "nguyen", "kowalski", "silva", "meyer", "okafor", "rossi", "novak", "haddad",
    "berg", "tanaka", "fischer", "costa", "weber", "dubois", "yilmaz", "larsen", "kim",
)
# fmt: on
_STAFF = 160
_CUSTOMERS = 480
# fmt: off
_CUSTOMER_COUNTRIES = (
    ("US", 0.28), ("DE", 0.14), ("GB", 0.10), ("IN", 0.08), ("FR", 0.07), ("BR", 0.05),
    ("CA", 0.05), ("NL", 0.04), ("ES", 0.04), ("JP", 0.03), ("AU", 0.03), ("SE", 0.02),
    ("PL", 0.02), ("IT", 0.02), ("MX", 0.02), ("KR", 0.01),
)
# fmt: on
_STAFF_COUNTRIES = (("DE", 0.62), ("PL", 0.14), ("PT", 0.09), ("US", 0.10), ("GB", 0.05))
_TIERS = (("free", 0.6), ("pro", 0.3), ("enterprise", 0.1))


@dataclass(frozen=True)
class _Users:
    ids: np.ndarray[Any, Any]  # object array of user ids
    country: np.ndarray[Any, Any]  # object array of country codes
    weight: np.ndarray[Any, Any]  # activity weight
    tier: np.ndarray[Any, Any]  # object array (customers) or None


def _pick(rng: np.random.Generator, table: tuple[tuple[str, float], ...], size: int) -> Any:
    names = np.array([t[0] for t in table], dtype=object)
    p = np.array([t[1] for t in table])
    return names[rng.choice(len(table), size=size, p=p / p.sum())]


def _users(rng: np.random.Generator) -> dict[str, _Users]:
    combos = [f"{f}.{last}" for f in _FIRST for last in _LAST]
    order = rng.permutation(len(combos))[:_STAFF]
    staff_ids = np.array([f"{combos[i]}@acme.dev" for i in order], dtype=object)
    customer_ids = np.array(
        [f"cus_{x:06x}" for x in rng.choice(16**6, size=_CUSTOMERS, replace=False)], dtype=object
    )
    return {
        "staff": _Users(
            staff_ids,
            _pick(rng, _STAFF_COUNTRIES, _STAFF),
            rng.pareto(1.6, _STAFF) + 0.2,
            np.full(_STAFF, None, dtype=object),
        ),
        "customers": _Users(
            customer_ids,
            _pick(rng, _CUSTOMER_COUNTRIES, _CUSTOMERS),
            rng.pareto(1.2, _CUSTOMERS) + 0.1,
            _pick(rng, _TIERS, _CUSTOMERS),
        ),
    }


# --------------------------------------------------------------------------------------------
# Traffic rhythm
# --------------------------------------------------------------------------------------------

# fmt: off
_HOURLY = {  # relative intensity by local hour 0..23
    "business": (0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.45, 0.85, 1.0, 1.0, 0.95,
                 0.6, 0.85, 1.0, 0.95, 0.85, 0.6, 0.35, 0.2, 0.15, 0.1, 0.06, 0.03),
    "customer": (0.12, 0.07, 0.05, 0.04, 0.05, 0.08, 0.2, 0.4, 0.65, 0.85, 0.95, 1.0,
                 0.95, 0.95, 1.0, 0.95, 0.9, 0.85, 0.85, 0.9, 0.85, 0.65, 0.4, 0.22),
    "nightly": (0, 0, 1.0, 1.0, 0.6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
}
_WEEKDAY = {  # Monday .. Sunday
    "business": (1.0, 1.05, 1.05, 1.0, 0.85, 0.12, 0.08),
    "customer": (1.0, 1.0, 0.98, 0.97, 0.9, 0.62, 0.58),
    "nightly": (1, 1, 1, 1, 1, 1, 1),
}
# fmt: on


def _hour_weights(rng: np.random.Generator, profile: str) -> np.ndarray[Any, Any]:
    """Weight of each UTC hour of the period for one traffic profile."""
    zone = ZoneInfo(DEMO_TZ)
    hours = _DAYS * 24
    starts = _START_MS + np.arange(hours, dtype=np.int64) * 3_600_000
    offsets = [_dt.datetime.fromtimestamp(s / 1000, tz=zone).utcoffset() for s in starts[::24]]
    offset_h = np.repeat([int(o.total_seconds() // 3600) if o else 0 for o in offsets], 24)
    local_hour = (np.arange(hours) + offset_h) % 24
    day = (np.arange(hours) + offset_h) // 24  # local day index (period starts on a Monday)
    weekday = day % 7
    w = np.asarray(_HOURLY[profile])[local_hour] * np.asarray(_WEEKDAY[profile])[weekday]
    w = w * (1.0 + 0.35 * np.arange(hours) / hours)  # adoption grows over the period
    w = w * np.repeat(rng.lognormal(0.0, 0.12, _DAYS + 1), 24)[:hours]  # day-to-day noise
    if profile == "business":
        summer = (starts >= _SUMMER[0]) & (starts < _SUMMER[1])
        w = np.where(summer, w * _SUMMER[2], w)
    return np.asarray(w / w.sum())


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


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
        ``property:<name>`` holding None where the request has no such property.
    """

    if not isinstance(requests, int) or not MIN_REQUESTS <= requests <= MAX_REQUESTS:
        raise UsageError(
            f"requests must be an integer from {MIN_REQUESTS:,} to {MAX_REQUESTS:,}, got "
            f"{requests!r}"
        )
    rng = np.random.default_rng(seed)
    users = _users(rng)
    quotas = _split(requests, [a.share for a in _APPS] + [_NO_SESSION_SHARE])
    parts = [
        _app_requests(rng, app, quota, users) for app, quota in zip(_APPS, quotas, strict=False)
    ]
    parts.append(_loose_requests(rng, quotas[-1], users))
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(cols["created_ms"], kind="stable")
    cols = {key: value[order] for key, value in cols.items()}
    return _frame(rng, cols)


def _app_requests(
    rng: np.random.Generator, app: _App, quota: int, users: dict[str, _Users]
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
    hours = rng.choice(_DAYS * 24, size=sessions, p=_hour_weights(rng, app.profile))
    start = _START_MS + hours * 3_600_000 + rng.integers(0, 3_600_000, sessions)
    if app.users == "none":
        user = np.full(sessions, "", dtype=object)
        country = _pick(rng, _STAFF_COUNTRIES, sessions)
        tier = np.full(sessions, None, dtype=object)
    else:
        pool = users[app.users]
        who = rng.choice(len(pool.ids), size=sessions, p=pool.weight / pool.weight.sum())
        user = pool.ids[who].copy()
        country = pool.country[who]
        tier = pool.tier[who]
        user[rng.random(sessions) < app.no_user] = ""
    environment = np.where(rng.random(sessions) < 0.08, "staging", "production").astype(object)
    release_ms = np.array([_ms(t) for t, _ in app.versions])
    names = np.array([v for _, v in app.versions], dtype=object)
    version = names[np.searchsorted(release_ms, start, side="right") - 1]

    # per request
    step_model = np.array([_M[s.model] for s in app.steps])
    model = step_model[steps]
    s_start = np.repeat(start, lengths)
    s_version = np.repeat(version, lengths)
    if app.name == "support-chat":
        answer = steps == 2
        spike = (s_start >= _COST_SPIKE[0]) & (s_start < _COST_SPIKE[1])
        model = np.where(
            answer & ((np.repeat(tier, lengths) == "enterprise") | spike), _M["gpt-4o"], model
        )
    elif app.name == "email-drafter":
        model = np.where(
            np.repeat(rng.random(sessions) < 0.4, lengths), _M["claude-3-5-haiku-20241022"], model
        )
    elif app.name == "sql-copilot":
        model = np.where(
            ((steps == 1) | (steps == 2)) & (s_start >= _O3_SWITCH), _M["o3-mini"], model
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

    return _finish_requests(
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


def _finish_requests(
    rng: np.random.Generator,
    steps_table: tuple[_Step, ...],
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
    provider = _model_array("provider")[model]
    # failures: a steady 1.2%, plus the Anthropic incident
    fail_p = np.full(quota, 0.012)
    incident = (
        (provider == "ANTHROPIC")
        & (s_start >= _ANTHROPIC_INCIDENT[0])
        & (s_start < _ANTHROPIC_INCIDENT[1])
    )
    fail_p = np.where(incident, _ANTHROPIC_INCIDENT[2], fail_p)
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
        _model_array("base_ms")[model]
        + _model_array("ms_per_output")[model] * completion
        + _model_array("ms_per_1k_prompt")[model] * (prompt + cache_read) / 1000.0
    )
    slow_t0, slow_t1, slow_max = _GEMINI_SLOWDOWN
    ramp = np.clip((s_start - slow_t0) / (slow_t1 - slow_t0), 0.0, 1.0)
    median = np.where(model == _M["gemini-1.5-flash"], median * (1 + (slow_max - 1) * ramp), median)
    latency = _lognormal(rng, median, 0.32)
    latency = np.where(status == 429, rng.integers(60, 320, quota), latency)
    latency = np.where(status == 400, rng.integers(90, 260, quota), latency)
    latency = np.maximum(40, np.round(latency)).astype(np.int64)
    streaming = np.array([s.streaming for s in steps_table])[steps] & ~failed
    ttft_med = _model_array("base_ms")[model] * 0.75
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
    latest_start = _END_MS - 1000 - duration  # keep every session inside the period
    s_start = np.minimum(s_start, np.repeat(latest_start, lengths))
    created = s_start + offset

    cost = (
        np.round(_model_array("usd_in")[model] * 1000).astype(np.int64) * prompt
        + np.round(_model_array("usd_out")[model] * 1000).astype(np.int64) * completion
        + np.round(_model_array("usd_cache_read")[model] * 1000).astype(np.int64) * cache_read
    )  # nano-dollars: USD per 1M tokens * 1000 = nano-USD per token
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
    rng: np.random.Generator, quota: int, users: dict[str, _Users]
) -> dict[str, np.ndarray[Any, Any]]:
    """Requests sent outside any session (no Helicone-Session-Id): one-off gpt-4o-mini calls."""
    lengths = np.ones(quota, dtype=np.int64)
    steps = np.zeros(quota, dtype=np.int64)
    hours = rng.choice(_DAYS * 24, size=quota, p=_hour_weights(rng, "business"))
    start = _START_MS + hours * 3_600_000 + rng.integers(0, 3_600_000, quota)
    pool = users["staff"]
    who = rng.choice(len(pool.ids), size=quota, p=pool.weight / pool.weight.sum())
    user = pool.ids[who].copy()
    user[rng.random(quota) < 0.3] = ""
    prompt = np.maximum(1, _lognormal(rng, np.full(quota, 500.0), 0.6)).astype(np.int64)
    completion = np.maximum(1, _lognormal(rng, np.full(quota, 120.0), 0.6)).astype(np.int64)
    return _finish_requests(
        rng,
        _LOOSE,
        quota,
        lengths,
        steps,
        np.full(quota, _M["gpt-4o-mini"]),
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
        },
    )


def _frame(rng: np.random.Generator, c: dict[str, np.ndarray[Any, Any]]) -> pd.DataFrame:
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
        categories, codes = np.unique(_model_array(attr), return_inverse=True)
        return pd.Categorical.from_codes(codes[model], pd.Index(categories.astype(object)))

    return pd.DataFrame(
        {
            "request_id": _uuids(rng, n),
            "request_created_at": created,
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
            "total_tokens": c["prompt"] + c["completion"],
            "cost": c["cost"],
            "property:Helicone-Session-Id": c["session_id"],
            "property:Helicone-Session-Name": c["session_name"],
            "property:Helicone-Session-Path": path,
            "property:environment": c["environment"],
            "property:app_version": c["app_version"],
            "property:tier": c["tier"],
        }
    )
