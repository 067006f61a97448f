"""``helicone-nb demo``: the demo data into a DuckDB store or a Helicone-style JSONL export."""

from __future__ import annotations

import argparse
from typing import Any

from ..backend import (
    DEMO_DEFAULT_REQUESTS,
    DEMO_END,
    DEMO_START,
    MAX_REQUESTS,
    MIN_REQUESTS,
)


def register(subparsers: Any) -> None:
    """Add ``demo`` to the ``helicone-nb`` parser."""
    parser = subparsers.add_parser(
        "demo",
        help="write the demo data to a DuckDB store or a Helicone-style JSONL export",
        description=f"Generate the deterministic demo organisation ({DEMO_START:%Y-%m-%d} to "
        f"{DEMO_END:%Y-%m-%d}) and write it out.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--db", metavar="PATH", help="DuckDB store to add the demo to")
    target.add_argument(
        "--jsonl", metavar="PATH", help="JSONL file to write (HeliconeRequest rows)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=DEMO_DEFAULT_REQUESTS,
        metavar="N",
        help=f"number of requests, {MIN_REQUESTS:,} to {MAX_REQUESTS:,}",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the demo; print how many requests were written."""
    from ..backend import Backend, demo_backend, generate_demo

    if args.db:
        with Backend(args.db) as backend:
            added = backend.ingest_frame(generate_demo(args.requests, args.seed))
            print(f"{args.db}: {added:,} demo requests added ({backend.request_count:,} stored)")
        return 0
    with demo_backend(args.requests, args.seed) as backend:
        rows = backend.export_jsonl(args.jsonl)
    print(f"{args.jsonl}: {rows:,} requests written (HeliconeRequest JSONL)")
    return 0
