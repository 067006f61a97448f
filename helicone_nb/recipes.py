"""Cost and latency recipes: a sessions DataFrame in, a NEW DataFrame out.

Every function here takes the sessions DataFrame returned by ``Client.fetch_sessions`` (see
``SESSION_SCHEMA`` in ``helicone_nb._frames``), never modifies it, and returns a new frame whose
columns and dtypes are the same whether or not there was any data. Each function only needs the
columns it uses, so a hand-made frame with those columns works too (the examples below do that).

Conventions shared by all recipes:

- A *session* is one row of the frame. Helicone groups by the pair (session_id, session_name),
  so a session id whose requests carry two names is two rows; ``summary`` also reports the number
  of distinct ids.
- ``avg_latency`` is a per-session MEAN (ms) over that session's requests. Averaging it over
  sessions gives every session the same weight; the mean latency of a *request* is estimated by
  weighting each session's mean by its ``total_requests`` (``mean_latency_ms`` columns). The
  percentiles (``session_p50_ms`` ...) are percentiles of per-session means, not of single
  requests: use the requests frame of ``fetch_session_requests`` for request-level latency.
- Percentiles use linear interpolation (numpy's default); missing values are skipped; a group
  with no values gets NaN.
- Time buckets (``by="day"``, ``cost_over_time``) are calendar periods in the frame's own time
  zone (the ``tz`` the frame was fetched with), labelled by the period START. A session is put
  in the bucket of its ``created_at`` (its first in-window request): the sessions endpoint does
  not say when within a session the money was spent.
- Per-user attribution (``by="user"``, ``cost_by_user``): a session's cost (and tokens and
  requests) is split EQUALLY among its distinct non-empty ``user_ids``; a session with no user is
  attributed to ``"(no user)"`` (``NO_USER``), so attributed costs add up to the total cost.
"""

from __future__ import annotations

from ._recipes.buckets import TIME_BUCKETS
from ._recipes.compare import CHANGE_METRICS, compare_periods
from ._recipes.grouping import NO_USER, OTHER
from ._recipes.prices import cost_gaps, price_list, reprice, what_if
from ._recipes.requests import (
    error_rate,
    model_mix,
    scores_by,
    session_breakdown,
    session_feedback,
)
from ._recipes.sessions import cost_by, cost_by_user, cost_over_time, summary
from ._recipes.stats import (
    DERIVED_METRICS,
    cost_per_1k_tokens,
    duration_stats,
    latency_by,
    outliers,
    top_sessions,
)

__all__ = [
    "CHANGE_METRICS",
    "DERIVED_METRICS",
    "NO_USER",
    "OTHER",
    "TIME_BUCKETS",
    "compare_periods",
    "cost_by",
    "cost_by_user",
    "cost_gaps",
    "cost_over_time",
    "cost_per_1k_tokens",
    "duration_stats",
    "error_rate",
    "latency_by",
    "model_mix",
    "outliers",
    "price_list",
    "reprice",
    "scores_by",
    "session_breakdown",
    "session_feedback",
    "summary",
    "top_sessions",
    "what_if",
]

# The functions live in helicone_nb._recipes; doctest (and help()) find their examples here.
__test__ = {name: obj for name, obj in list(globals().items()) if name in __all__ and callable(obj)}
