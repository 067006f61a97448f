"""``helicone-nb import``: a Helicone export (JSONL) into a DuckDB store."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``import`` to the ``helicone-nb`` parser."""
    parser = subparsers.add_parser(
        "import",
        help="import a Helicone export (JSONL) into a DuckDB store",
        description="Import the JSONL that @helicone/export writes (one HeliconeRequest per "
        "line) into a DuckDB store. Bad lines are skipped and listed with their line numbers; "
        "requests already in the store are skipped, so re-importing a file adds nothing.",
    )
    parser.add_argument("file", metavar="FILE.jsonl", help="the export to import")
    parser.add_argument("--db", required=True, metavar="PATH", help="DuckDB store (created if new)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Import the file; print the import report and the store's size."""
    from ..backend import Backend

    with Backend(args.db) as backend:
        report = backend.ingest_jsonl(args.file)
        print(report.summary())
        print(f"{args.db}: {backend.request_count:,} requests stored")
    return 0
