"""What ``report`` and ``sessions`` share: where sessions come from, and which window.

Both read sessions from Helicone when ``HELICONE_API_KEY`` is set, and from the built-in demo
data with ``--demo`` or when no key is set (saying so on stderr). Without a window, the demo
data's whole period is used, or the last 30 days of real data.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
from typing import Any

from .._errors import UsageError

DEFAULT_SINCE = "30d"


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """``--demo``, the window (``--start/--end`` or ``--since``, ``--tz``) and the filters."""
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the built-in demo data (also the default without HELICONE_API_KEY)",
    )
    parser.add_argument(
        "--mirror",
        metavar="PATH",
        help="read a local mirror (filled by 'helicone-nb sync --db PATH') instead of Helicone",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--start", metavar="TIME", help="window start: 2025-01-31, 2025-01-31T10:00, 7d, ..."
    )
    when.add_argument(
        "--since",
        metavar="TIME",
        help="window from TIME until now, e.g. 30d, 24h, 2w (default: 30d, or the whole demo "
        "period)",
    )
    parser.add_argument("--end", metavar="TIME", help="window end (with --start; default: now)")
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone for inputs, days and shown times (default: UTC, or the demo data's "
        "zone)",
    )
    parser.add_argument(
        "--search", default="", metavar="TEXT", help="only sessions whose id or name contains TEXT"
    )
    parser.add_argument("--name", metavar="NAME", help="only sessions with exactly this name")
    parser.add_argument("--filter", metavar="JSON", help="a Helicone filter as JSON")
    parser.add_argument(
        "--max",
        type=int,
        dest="max_sessions",
        metavar="N",
        help="stop after N sessions (the newest)",
    )


def close(client: Any) -> None:
    """Close ``client`` if it can be closed."""
    closer = getattr(client, "close", None)
    if callable(closer):
        closer()


def connect(args: argparse.Namespace) -> tuple[Any, bool]:
    """(client, is_demo): Helicone with ``HELICONE_API_KEY``, else the demo data."""
    import helicone_nb

    if getattr(args, "mirror", None):
        if args.demo:
            raise UsageError("give either --demo or --mirror PATH, not both")
        from ..mirror import Mirror

        return Mirror(args.mirror).client(), False
    key = os.environ.get("HELICONE_API_KEY", "").strip()
    if args.demo or not key:
        if not args.demo:
            print(
                "helicone-nb: no HELICONE_API_KEY set, so this uses the built-in demo data "
                "(synthetic); set HELICONE_API_KEY to use your own Helicone data.",
                file=sys.stderr,
            )
        return helicone_nb.connect(demo=True, quiet=True), True
    return helicone_nb.connect(key), False


def demo_defaults(client: Any) -> tuple[Any, Any, str]:
    """The demo data's (start, end, zone): the client's ``demo_period``, else the backend's."""
    from ..backend import DEMO_END, DEMO_START, DEMO_TZ

    period = getattr(client, "demo_period", None)
    start, end = period if period else (DEMO_START, DEMO_END)
    return start, end, DEMO_TZ


def window(args: argparse.Namespace, client: Any, demo: bool) -> tuple[Any, Any, str]:
    """(start, end, zone) the options ask for, with the defaults described above."""
    if args.end and not args.start:
        raise UsageError("--end needs --start (or use --since for 'until now')")
    if args.max_sessions is not None and args.max_sessions < 1:
        raise UsageError(f"--max must be a positive number, got {args.max_sessions}")
    demo_start = demo_end = None
    tz = args.tz
    if demo:
        demo_start, demo_end, demo_tz = demo_defaults(client)
        tz = tz or demo_tz
    tz = tz or "UTC"
    if args.since:
        return args.since, None, tz
    if args.start:
        return args.start, args.end, tz
    if demo:
        return demo_start, demo_end, tz
    mirror = getattr(client, "mirror", None)
    if mirror is not None:  # offline data: the last 30 days the mirror holds
        span = mirror.data_range()
        if span is not None:
            end = span[1].replace(microsecond=0) + _dt.timedelta(seconds=1)
            return end - _dt.timedelta(days=30), end, tz
    return DEFAULT_SINCE, None, tz


def _filter(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            "--filter must be a Helicone filter as JSON, e.g. "
            f'\'{{"request_response_rmt": {{"model": {{"equals": "gpt-4o"}}}}}}\': {exc}'
        ) from None


def fetch_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``fetch_sessions`` options the command line set (unset ones left out)."""
    from .._report.build import fetch_kwargs

    return fetch_kwargs(
        filter=_filter(args.filter),
        search=args.search,
        name=args.name,
        max_sessions=args.max_sessions,
    )


def empty_demo_hint(client: Any, demo: bool, rows: int) -> None:
    """On stderr: an empty demo window and the period the demo data covers."""
    if demo and rows == 0:
        start, end, _ = demo_defaults(client)
        print(
            f"helicone-nb: no sessions in that window; the demo data covers {start:%Y-%m-%d} "
            f"to {end:%Y-%m-%d} (leave out --start/--since to use all of it).",
            file=sys.stderr,
        )
