"""The demo organisation's period and size limits (no numpy: the CLI reads these for its help)."""

from __future__ import annotations

import datetime as _dt

#: Bump when the generated rows change (it is part of the demo cache key).
GENERATOR_VERSION = 2
DEMO_START = _dt.datetime(2025, 6, 2, tzinfo=_dt.UTC)  # a Monday
DEMO_END = _dt.datetime(2025, 8, 31, tzinfo=_dt.UTC)
DEMO_TZ = "Europe/Berlin"
DEMO_DEFAULT_REQUESTS = 50_000
MIN_REQUESTS = 1_000
MAX_REQUESTS = 5_000_000
