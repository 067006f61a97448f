"""Helicone's rate limit: a fixed window per organization, with ``RateLimit-*`` headers.

Helicone (``valhalla/jawn/src/middleware/ratelimitter.ts``, REQUEST_API section 4) runs
express-rate-limit with ``standardHeaders: true``: every answer carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (whole seconds until the window resets); over the
limit the answer is 429 ``{"error": "Too many requests, please try again later."}`` with a
``Retry-After``. The embedded backend holds one organization, so there is one window.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

TOO_MANY = "Too many requests, please try again later."


def parse_rate_limit(text: str) -> tuple[int, float]:
    """``"1000/300"`` (calls per seconds) -> ``(1000, 300.0)``; ``ValueError`` if malformed."""
    calls, sep, seconds = text.partition("/")
    try:
        limit, window = int(calls), float(seconds) if sep else 300.0
    except ValueError:
        raise ValueError(f"a rate limit is CALLS/SECONDS, e.g. 1000/300; got {text!r}") from None
    if limit < 1 or not (math.isfinite(window) and window > 0):
        raise ValueError(f"a rate limit needs CALLS >= 1 and SECONDS > 0; got {text!r}")
    return limit, window


class RateLimiter:
    """``limit`` calls per ``window_s`` seconds (a fixed window that starts with its first call).

    Parameters
    ----------
    limit, window_s
        The budget, e.g. 1000 calls per 300 s (Helicone's free tier).
    clock
        Seconds, monotonic (tests pass a fake clock).
    """

    def __init__(
        self, limit: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"need limit >= 1 and window_s > 0, got {limit!r}, {window_s!r}")
        self.limit = limit
        self.window_s = float(window_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._start: float | None = None
        self._used = 0
        #: Calls refused with 429 so far.
        self.refused = 0

    def take(self) -> tuple[bool, dict[str, str]]:
        """Count one call: (allowed, the ``RateLimit-*`` headers to send with the answer)."""
        with self._lock:
            now = self._clock()
            if self._start is None or now >= self._start + self.window_s:
                self._start, self._used = now, 0
            self._used += 1
            allowed = self._used <= self.limit
            if not allowed:
                self.refused += 1
            reset = max(math.ceil(self._start + self.window_s - now), 0)
            headers = {
                "ratelimit-limit": str(self.limit),
                "ratelimit-remaining": str(max(self.limit - self._used, 0)),
                "ratelimit-reset": str(reset),
                "ratelimit-policy": f"{self.limit};w={math.ceil(self.window_s)}",
            }
            if not allowed:
                headers["retry-after"] = str(reset)
            return allowed, headers
