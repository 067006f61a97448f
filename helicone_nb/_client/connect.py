"""``connect()``: a client for your Helicone data, or for the built-in demo data without a key."""

from __future__ import annotations

import os
from typing import Any

from .clients import Client

DEMO_BASE_URL = "http://demo.helicone-nb.invalid"


def connect(
    api_key: str | None = None,
    *,
    demo: bool | None = None,
    demo_requests: int | None = None,
    demo_seed: int = 0,
    quiet: bool = False,
    mirror: str | os.PathLike[str] | None = None,
    **client_kwargs: Any,
) -> Client:
    """A ready :class:`Client`: your Helicone org when a key is configured, else demo data.

    Parameters
    ----------
    api_key
        Helicone API key; default ``$HELICONE_API_KEY``.
    demo
        True: always use the built-in demo data (a deterministic 90-day org served by the
        embedded Helicone-compatible backend, in process, no network). None (default): demo
        data only when no key is configured, saying so in one line.
    demo_requests, demo_seed
        Size and seed of the generated demo data.
    quiet
        Do not print the one-line notice when falling back to demo data.
    mirror
        A local mirror directory (``helicone-nb sync --db PATH``): a client answered in
        process from it (see :meth:`helicone_nb.Mirror.client`); no key needed.
    **client_kwargs
        Passed to :class:`Client` (``region``, ``base_url``, ``cache``, ``concurrency``, ...).

    Examples
    --------
    >>> import helicone_nb as hnb
    >>> client = hnb.connect(demo=True, quiet=True)
    >>> client.demo_period[0].isoformat()
    '2025-06-02T00:00:00+00:00'

    On demo data, relative windows (``"30d"``, ``"now"``) count back from the end of the demo
    period, and an empty result for a window outside it warns with the period.
    """
    if mirror is not None:
        if demo:
            raise TypeError("give either demo=True or mirror=PATH, not both")
        from ..mirror import Mirror

        return Mirror(mirror).client(**client_kwargs)
    key = api_key if api_key is not None else os.environ.get("HELICONE_API_KEY", "")
    if demo is None:
        demo = not key.strip()
        announce = not quiet
    else:
        announce = False
    if not demo:
        return Client(key, **client_kwargs)
    from ..backend import (
        DEMO_DEFAULT_REQUESTS,
        DEMO_END,
        DEMO_START,
        GENERATOR_VERSION,
        InProcessTransport,
        demo_backend,
    )

    size = demo_requests or DEMO_DEFAULT_REQUESTS
    backend = demo_backend(size, seed=demo_seed)
    if "base_url" in client_kwargs or "region" in client_kwargs:
        raise TypeError("base_url / region do not apply to the demo data")
    # relative windows ("30d", "now") count back from the end of the demo period, and an empty
    # answer for a window outside it says where the data is
    client_kwargs.setdefault("data_range", (DEMO_START, DEMO_END))
    client_kwargs.setdefault("now", DEMO_END)
    client = Client(
        # the "key" names the demo data, so cached pages of another generator are never reused
        f"demo-v{GENERATOR_VERSION}-{demo_seed}-{size}",
        base_url=DEMO_BASE_URL,
        transport=InProcessTransport(backend),
        **client_kwargs,
    )
    client.demo_period = (DEMO_START, DEMO_END)
    if announce:
        print(demo_notice(size))
    return client


def demo_notice(size: int) -> str:
    """The one line ``connect()`` prints when it falls back to the demo data."""
    from ..backend import DEMO_END, DEMO_START

    in_sessions = size - size // 50  # the demo, like real traffic, has 2% of calls outside
    return (
        f"helicone_nb: no HELICONE_API_KEY set, so this is the built-in demo data "
        f"({DEMO_START:%Y-%m-%d} to {DEMO_END:%Y-%m-%d}, {size:,} requests, {in_sessions:,} of "
        "them in sessions: 2% carry no session id, as in real traffic); relative windows such "
        f"as '30d' count back from {DEMO_END:%Y-%m-%d}. Set HELICONE_API_KEY to query your own "
        "Helicone data."
    )
