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
- **Unpriced model**: email-drafter 1.4.0 (2025-08-25) drafts with a fine-tuned gpt-4o-mini that
  Helicone cannot price: those requests have tokens but cost 0.
- **Scores and feedback**: session feedback (``helicone-score-feedback`` 1/0) on the first request
  of a share of support-chat, research-agent and email-drafter sessions, numeric scores
  (``helpfulness``, ``accuracy``, ``relevance``) and a boolean one (``sql-valid-hcone-bool``) on
  given steps; support-chat feedback is better during the gpt-4o spike.
- **Reasoning tokens**: o3-mini spends most of its completion tokens reasoning.

Every request has an ``updated_at`` a moment after its response (Helicone's ingestion), or, when
it carries scores, when the last score arrived (a score re-inserts the row).

The generator itself is ``_demo``; this module holds the organisation it draws from: models and
prices, applications and their steps, the events above, users, and the traffic rhythm.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ._demo_period import DEMO_END, DEMO_START, DEMO_TZ
from ._store import FEEDBACK_KEY

START_MS = int(DEMO_START.timestamp() * 1000)
END_MS = int(DEMO_END.timestamp() * 1000)
DAYS = (DEMO_END - DEMO_START).days


def ms(text: str) -> int:
    """Epoch milliseconds of an ISO time (UTC)."""
    return int(_dt.datetime.fromisoformat(text).replace(tzinfo=_dt.UTC).timestamp() * 1000)


# --------------------------------------------------------------------------------------------
# Models: list prices (USD per 1M tokens) and a latency model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    name: str
    response_model: str
    provider: str
    usd_in: float  # per 1M prompt tokens
    usd_out: float  # per 1M completion tokens
    usd_cache_read: float  # per 1M cached prompt tokens read
    base_ms: float  # median latency of a minimal call
    ms_per_output: float  # per generated token
    ms_per_1k_prompt: float
    priced: bool = True  # False: Helicone does not know the model and records cost 0
    reasoning_share: float = 0.0  # median share of the completion tokens spent reasoning

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


FINE_TUNE = "ft:gpt-4o-mini-2024-07-18:acme:email-drafter:B7xk2Lq9"
# fmt: off
MODELS = (*(Model(*row) for row in (
    # name, response model, provider, USD per 1M tokens: in, out, cache read;
    # latency: base ms, ms per output token, ms per 1k prompt tokens
    ("gpt-4o", "gpt-4o-2024-08-06", "OPENAI", 2.50, 10.00, 1.25, 420, 11.0, 25),
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "OPENAI", 0.15, 0.60, 0.075, 330, 8.0, 12),
    ("o3-mini", "o3-mini-2025-01-31", "OPENAI", 1.10, 4.40, 0.55, 2400, 9.0, 30, True, 0.7),
    ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022", "ANTHROPIC",
     3.00, 15.00, 0.30, 650, 13.0, 30),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022", "ANTHROPIC",
     0.80, 4.00, 0.08, 420, 7.5, 15),
    ("gemini-1.5-flash", "gemini-1.5-flash-002", "GOOGLE", 0.075, 0.30, 0.01875, 280, 4.5, 10),
    ("text-embedding-3-small", "text-embedding-3-small", "OPENAI", 0.02, 0.0, 0.0, 110, 0.0, 4),
)),
    # email-drafter's fine-tune (from 1.4.0): list price $0.30 / $1.20, unknown to Helicone
    Model(FINE_TUNE, FINE_TUNE, "OPENAI", 0.30, 1.20, 0.15, 330, 8.0, 12, priced=False),
)
# fmt: on
MODEL_INDEX = {m.name: i for i, m in enumerate(MODELS)}


def model_array(attr: str) -> np.ndarray[Any, Any]:
    return np.array([getattr(m, attr) for m in MODELS])


# --------------------------------------------------------------------------------------------
# Applications: steps (session path, model, token sizes, think time before the step)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    path: str
    model: str
    prompt: float  # median prompt tokens
    completion: float  # median completion tokens
    think_s: float  # median pause before this step (user or orchestration)
    streaming: bool = True


@dataclass(frozen=True)
class App:
    name: str  # Helicone-Session-Name ("" = none sent)
    share: float  # share of all requests
    steps: tuple[Step, ...]
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
    Step("/classify", "gpt-4o-mini", 320, 10, 0.0, streaming=False),
    Step("/answer/retrieve", "text-embedding-3-small", 60, 0, 20.0, streaming=False),
    Step("/answer", "gpt-4o-mini", 1400, 170, 0.05),
)


def _chat_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.where(k == 0, 0, np.where(k % 2 == 1, 1, 2))


# code-review-agent: /plan, /plan/read-diff, per file /review/file-N and its /lint, /summarise
_REVIEW = (
    Step("/plan", "claude-3-5-sonnet-20241022", 2400, 280, 0.0, streaming=False),
    Step("/plan/read-diff", "claude-3-5-haiku-20241022", 5200, 380, 0.4, streaming=False),
    Step("/review/file", "claude-3-5-sonnet-20241022", 3300, 420, 0.6),
    Step("/review/file/lint", "claude-3-5-haiku-20241022", 1400, 140, 0.3, streaming=False),
    Step("/summarise", "claude-3-5-sonnet-20241022", 4800, 560, 0.5),
)


def _review_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    middle = np.where((k - 2) % 2 == 0, 2, 3)
    return np.where(k == 0, 0, np.where(k == 1, 1, np.where(k == n - 1, 4, middle)))


# research-agent: /plan, loops of /plan/search and /plan/search/summarise, /answer
_RESEARCH = (
    Step("/plan", "gpt-4o", 750, 240, 0.0),
    Step("/plan/search", "gpt-4o-mini", 380, 70, 0.9, streaming=False),
    Step("/plan/search/summarise", "gemini-1.5-flash", 5600, 330, 0.3),
    Step("/answer", "gpt-4o", 3900, 760, 0.4),
)


def _research_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    loop = np.where((k - 1) % 2 == 0, 1, 2)
    return np.where(k == 0, 0, np.where((k == n - 1) & (n > 2), 3, loop))


# email-drafter: /draft then /draft/revise
_EMAIL = (
    Step("/draft", "gpt-4o-mini", 650, 320, 0.0),
    Step("/draft/revise", "gpt-4o-mini", 1100, 300, 45.0),
)


def _email_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.where(k == 0, 0, 1)


# sql-copilot: /schema, /generate, /generate/fix retries, /explain
_SQL = (
    Step("/schema", "gpt-4o-mini", 2900, 45, 0.0, streaming=False),
    Step("/generate", "gpt-4o", 2500, 210, 0.2),
    Step("/generate/fix", "gpt-4o", 2900, 190, 6.0),
    Step("/explain", "gpt-4o-mini", 620, 240, 1.5),
)


def _sql_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.where(k == 0, 0, np.where(k == 1, 1, np.where((k == n - 1) & (n > 2), 3, 2)))


# nightly batch: unnamed sessions of /classify calls
_BATCH = (Step("/classify", "gemini-1.5-flash", 900, 20, 0.15, streaming=False),)


def _batch_steps(k: np.ndarray[Any, Any], n: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.zeros_like(k)


APPS = (
    App(
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
    App(
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
    App(
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
    App(
        name="email-drafter",
        share=0.05,
        steps=_EMAIL,
        profile="business",
        users="staff",
        no_user=0.0,
        versions=(
            ("2025-05-01", "1.2.0"),
            ("2025-07-07T08:00", "1.3.0"),
            ("2025-08-25T08:00", "1.4.0"),
        ),
        lengths=lambda rng, size: 1 + _geometric(rng, size, 1.6),
        step_of=_email_steps,
    ),
    App(
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
    App(
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
NO_SESSION_SHARE = 0.02
LOOSE = (Step("", "gpt-4o-mini", 500, 120, 0.0),)  # one-off calls outside any session

COST_SPIKE = (ms("2025-07-21T10:00"), ms("2025-07-29T16:00"))
GEMINI_SLOWDOWN = (ms("2025-07-28T00:00"), END_MS, 1.8)
ANTHROPIC_INCIDENT = (ms("2025-07-08T13:00"), ms("2025-07-08T16:30"), 0.33)
O3_SWITCH = ms("2025-08-04T08:00")
FINE_TUNE_SWITCH = ms("2025-08-25T08:00")
SUMMER = (ms("2025-08-04T00:00"), ms("2025-08-16T00:00"), 0.7)

# --------------------------------------------------------------------------------------------
# Scores and feedback (Helicone's ``scores`` map, REQUEST_API section 2)
# --------------------------------------------------------------------------------------------

#: ``Score.step`` for the session's first request (where Helicone keeps session feedback).
FIRST_REQUEST = -1


@dataclass(frozen=True)
class Score:
    app: str  # session name
    step: int  # index into the app's steps, or FIRST_REQUEST
    key: str  # score key; boolean scores end in "-hcone-bool" (values 1/0)
    share: float  # share of those requests (successful ones) that are scored
    low: int = 0  # value range, inclusive (feedback: 0/1)
    high: int = 1
    positive: float = 0.0  # feedback and boolean scores: share of 1s


SCORES = (
    Score("support-chat", FIRST_REQUEST, FEEDBACK_KEY, 0.22, positive=0.80),
    Score("support-chat", 2, "helpfulness", 0.10, 1, 5),
    Score("code-review-agent", 4, "accuracy", 0.35, 40, 100),
    Score("research-agent", FIRST_REQUEST, FEEDBACK_KEY, 0.15, positive=0.70),
    Score("research-agent", 3, "relevance", 0.30, 1, 5),
    Score("email-drafter", FIRST_REQUEST, FEEDBACK_KEY, 0.35, positive=0.74),
    Score("sql-copilot", 1, "sql-valid-hcone-bool", 0.50, positive=0.86),
)
#: Feedback on support-chat is better while 3.8.0 answers with gpt-4o (the cost spike).
SPIKE_FEEDBACK_POSITIVE = 0.90
#: Median delay from a response to the score or feedback that re-inserts the row (seconds).
SCORE_DELAY_S = 900.0
#: Median delay from a response to Helicone storing the row (seconds): ``updated_at``.
INGEST_DELAY_S = 2.0

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
STAFF_COUNTRIES = (("DE", 0.62), ("PL", 0.14), ("PT", 0.09), ("US", 0.10), ("GB", 0.05))
_TIERS = (("free", 0.6), ("pro", 0.3), ("enterprise", 0.1))


@dataclass(frozen=True)
class Users:
    ids: np.ndarray[Any, Any]  # object array of user ids
    country: np.ndarray[Any, Any]  # object array of country codes
    weight: np.ndarray[Any, Any]  # activity weight
    tier: np.ndarray[Any, Any]  # object array (customers) or None


def pick(rng: np.random.Generator, table: tuple[tuple[str, float], ...], size: int) -> Any:
    names = np.array([t[0] for t in table], dtype=object)
    p = np.array([t[1] for t in table])
    return names[rng.choice(len(table), size=size, p=p / p.sum())]


def make_users(rng: np.random.Generator) -> dict[str, Users]:
    combos = [f"{f}.{last}" for f in _FIRST for last in _LAST]
    order = rng.permutation(len(combos))[:_STAFF]
    staff_ids = np.array([f"{combos[i]}@acme.dev" for i in order], dtype=object)
    customer_ids = np.array(
        [f"cus_{x:06x}" for x in rng.choice(16**6, size=_CUSTOMERS, replace=False)], dtype=object
    )
    return {
        "staff": Users(
            staff_ids,
            pick(rng, STAFF_COUNTRIES, _STAFF),
            rng.pareto(1.6, _STAFF) + 0.2,
            np.full(_STAFF, None, dtype=object),
        ),
        "customers": Users(
            customer_ids,
            pick(rng, _CUSTOMER_COUNTRIES, _CUSTOMERS),
            rng.pareto(1.2, _CUSTOMERS) + 0.1,
            pick(rng, _TIERS, _CUSTOMERS),
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


def hour_weights(rng: np.random.Generator, profile: str) -> np.ndarray[Any, Any]:
    """Weight of each UTC hour of the period for one traffic profile."""
    zone = ZoneInfo(DEMO_TZ)
    hours = DAYS * 24
    starts = START_MS + np.arange(hours, dtype=np.int64) * 3_600_000
    offsets = [_dt.datetime.fromtimestamp(s / 1000, tz=zone).utcoffset() for s in starts[::24]]
    offset_h = np.repeat([int(o.total_seconds() // 3600) if o else 0 for o in offsets], 24)
    local_hour = (np.arange(hours) + offset_h) % 24
    day = (np.arange(hours) + offset_h) // 24  # local day index (period starts on a Monday)
    weekday = day % 7
    w = np.asarray(_HOURLY[profile])[local_hour] * np.asarray(_WEEKDAY[profile])[weekday]
    w = w * (1.0 + 0.35 * np.arange(hours) / hours)  # adoption grows over the period
    w = w * np.repeat(rng.lognormal(0.0, 0.12, DAYS + 1), 24)[:hours]  # day-to-day noise
    if profile == "business":
        summer = (starts >= SUMMER[0]) & (starts < SUMMER[1])
        w = np.where(summer, w * SUMMER[2], w)
    return np.asarray(w / w.sum())
