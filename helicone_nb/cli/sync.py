"""``helicone-nb sync``: copy an organisation's request log (metadata) into a local mirror."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``sync`` to the ``helicone-nb`` parser."""
    parser = subparsers.add_parser(
        "sync",
        help="mirror your Helicone request log into local Parquet files (incremental)",
        description="Pull request rows (metadata, not bodies) from Helicone into a local mirror "
        "directory: Parquet files by day that helicone_nb, DuckDB, Spark or ClickHouse read. "
        "The first sync needs --start or --since; later syncs pull only what is new, plus the "
        "last --settle again (late rows). The key comes from HELICONE_API_KEY. A killed sync "
        "continues where it stopped.",
    )
    parser.add_argument("--db", required=True, metavar="PATH", help="mirror directory")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--start", metavar="TIME", help="first request time: 2025-01-01, 90d, ...")
    when.add_argument("--since", metavar="TIME", help="same as --start, e.g. 90d")
    parser.add_argument("--end", metavar="TIME", help="last request time (default: now)")
    parser.add_argument(
        "--settle",
        default="1h",
        metavar="DURATION",
        help="pull this much before the synced end again, for late rows (default 1h)",
    )
    parser.add_argument(
        "--rescan",
        metavar="DURATION",
        help="also pull the last DURATION again (late scores, feedback, property changes), "
        "e.g. 30d",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--region", choices=["us", "eu"], help="Helicone region (default: from key)")
    where.add_argument(
        "--base-url", metavar="URL", help="a self-hosted Helicone, or helicone-nb serve"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="calls in flight (default 8)"
    )
    parser.add_argument(
        "--max-calls",
        type=int,
        metavar="N",
        help="stop after N calls; the next sync continues (for a small rate limit)",
    )
    parser.add_argument(
        "--new-key",
        action="store_true",
        help="accept a different key for the same organisation (a rotated key)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Sync; print what the sync did."""
    from .._client.clients import Client
    from .._errors import ConfigurationError
    from ..mirror import Mirror

    if not os.environ.get("HELICONE_API_KEY", "").strip():
        raise ConfigurationError(
            "set HELICONE_API_KEY to the key of the organisation to mirror (a key with "
            "write permission: Helicone's query endpoints are POST requests)"
        )
    mirror = Mirror(args.db)
    client = Client(region=args.region, base_url=args.base_url, cache=False)
    try:
        report = mirror.sync(
            client,
            args.start or args.since,
            args.end,
            settle=args.settle,
            rescan=args.rescan,
            concurrency=args.concurrency,
            max_calls=args.max_calls,
            progress=False if args.quiet else None,
            allow_new_key=args.new_key,
            say=lambda text: print(text, file=sys.stderr),
        )
    finally:
        client.close()
    print(report)
    return 0
