"""``helicone-nb report``: one self-contained HTML report of a time window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._errors import UsageError
from . import _source


def register(subparsers: Any) -> None:
    """Add ``report`` to the ``helicone-nb`` parser."""
    parser = subparsers.add_parser(
        "report",
        help="write a one-file HTML report (cost, latency, outliers, plots) of a time window",
        description="Fetch the sessions of a time window and write one self-contained HTML "
        "report: summary, cost over time, cost by session name and user, top sessions, "
        "outliers, latency, durations and the most expensive session step by step. Without "
        "HELICONE_API_KEY (or with --demo) it reports on the built-in demo data.",
    )
    _source.add_source_options(parser)
    parser.add_argument(
        "-o",
        "--output",
        default="helicone-report.html",
        metavar="FILE",
        help="where to write the HTML (default: %(default)s)",
    )
    parser.add_argument("--title", help="heading of the report")
    parser.add_argument(
        "--top",
        type=int,
        default=10,
        metavar="N",
        help="rows in ranked tables and bars in ranked plots (default: 10)",
    )
    parser.add_argument(
        "--no-drilldown",
        action="store_true",
        help="do not fetch the most expensive session's requests",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the HTML report, print its absolute path and a one-line summary."""
    from .._present.text import money
    from .._report.build import build, window_text

    if args.top < 1:
        raise UsageError(f"--top must be a positive number, got {args.top}")
    target = Path(args.output).expanduser().resolve()
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name such as report.html")
    client, demo = _source.connect(args)
    try:
        start, end, tz = _source.window(args, client, demo)
        result = build(
            client,
            start,
            end,
            tz=tz,
            title=args.title,
            top=args.top,
            drill_down=not args.no_drilldown,
            **_source.fetch_options(args),
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(result.html, encoding="utf-8")
        s = result.summary.iloc[0]
        window = window_text(start, end, tz)
        print(target)
        print(
            f"{int(s['sessions']):,} sessions, {int(s['requests']):,} requests, "
            f"{money(s['total_cost'])} from {window} ({tz})" + (" [demo data]" if demo else "")
        )
        if not result.plots_drawn:
            print(
                "helicone-nb: matplotlib is not installed, so the report has no plots; "
                "pip install 'helicone_nb[notebook]'",
                file=sys.stderr,
            )
        _source.empty_demo_hint(client, demo, int(s["sessions"]))
        return 0
    finally:
        _source.close(client)
