"""``helicone-nb import``: a Helicone export (JSONL) into a local mirror."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``import`` to the ``helicone-nb`` parser."""
    parser = subparsers.add_parser(
        "import",
        help="import a Helicone export (JSONL) into a local mirror",
        description="Import the JSONL that @helicone/export writes (one HeliconeRequest per "
        "line) into a local mirror directory: the same Parquet store 'helicone-nb sync' "
        "writes, served by 'helicone-nb serve --db PATH'. Bad lines are skipped and listed "
        "with their line numbers; per request the row with the greatest updated_at is kept, "
        "so re-importing a file changes nothing. Bodies are not copied.",
    )
    parser.add_argument("file", metavar="FILE.jsonl", help="the export to import")
    parser.add_argument(
        "--db", required=True, metavar="PATH", help="mirror directory (created if new)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Import the file; print the import report and the mirror's size."""
    from ..mirror import Mirror

    mirror = Mirror(args.db)
    report = mirror.import_jsonl(args.file)
    print(report.summary())
    print(f"{args.db}: {mirror.info().requests:,} requests stored")
    return 0
