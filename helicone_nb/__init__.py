"""helicone_nb: Helicone sessions straight into typed pandas DataFrames.

>>> import helicone_nb as hnb
>>> client = hnb.connect()            # your org with HELICONE_API_KEY, else built-in demo data
>>> df = client.fetch_sessions("7d", filter=hnb.request.model == "gpt-4o")  # doctest: +SKIP
"""

from . import drilldown, plots, recipes, report, widgets
from ._client.cache import CacheInfo, PageCache, default_cache_dir
from ._client.clients import AsyncClient, Client, FetchStats
from ._client.connect import connect
from ._client.retry import RetryPolicy
from ._errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    EmptyWindowWarning,
    FilterError,
    HeliconeError,
    IncompleteFetchError,
    InconsistentPagesWarning,
    MissingDependencyError,
    RateLimitError,
    RequestValidationError,
    ResponseFormatError,
    ServerError,
    TimeoutError,
    TransportError,
    UsageError,
)
from ._frames import REQUEST_SCHEMA, SESSION_SCHEMA
from ._version import __version__
from ._wire.builder import Column, has_prop, prop, request, session
from ._wire.filters import ALL, And, Condition, Filter, Or, parse_filter
from .drilldown import SessionTree, compare_sessions, plot_session_timeline, session_tree
from .mirror import Mirror, MirrorError
from .recipes import (
    compare_periods,
    cost_by,
    cost_by_user,
    cost_gaps,
    cost_over_time,
    cost_per_1k_tokens,
    duration_stats,
    error_rate,
    latency_by,
    model_mix,
    outliers,
    price_list,
    reprice,
    scores_by,
    session_breakdown,
    session_feedback,
    summary,
    top_sessions,
    what_if,
)
from .report import build_report, write_report
from .widgets import SessionExplorer, SessionFilters

__all__ = [
    "ALL",
    "REQUEST_SCHEMA",
    "SESSION_SCHEMA",
    "APIError",
    "APIStatusError",
    "And",
    "AsyncClient",
    "AuthenticationError",
    "CacheInfo",
    "Client",
    "Column",
    "Condition",
    "ConfigurationError",
    "EmptyWindowWarning",
    "FetchStats",
    "Filter",
    "FilterError",
    "HeliconeError",
    "IncompleteFetchError",
    "InconsistentPagesWarning",
    "Mirror",
    "MirrorError",
    "MissingDependencyError",
    "Or",
    "PageCache",
    "RateLimitError",
    "RequestValidationError",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "SessionExplorer",
    "SessionFilters",
    "SessionTree",
    "TimeoutError",
    "TransportError",
    "UsageError",
    "__version__",
    "build_report",
    "compare_periods",
    "compare_sessions",
    "connect",
    "cost_by",
    "cost_by_user",
    "cost_gaps",
    "cost_over_time",
    "cost_per_1k_tokens",
    "default_cache_dir",
    "drilldown",
    "duration_stats",
    "error_rate",
    "has_prop",
    "latency_by",
    "model_mix",
    "outliers",
    "parse_filter",
    "plot_session_timeline",
    "plots",
    "price_list",
    "prop",
    "recipes",
    "report",
    "reprice",
    "request",
    "scores_by",
    "session",
    "session_breakdown",
    "session_feedback",
    "session_tree",
    "summary",
    "top_sessions",
    "what_if",
    "widgets",
    "write_report",
]
