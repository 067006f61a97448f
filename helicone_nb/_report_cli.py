"""``helicone-nb report`` and ``helicone-nb sessions`` (registered by ``helicone_nb.cli``).

Both read sessions from Helicone when ``HELICONE_API_KEY`` is set, and from the built-in demo
data with ``--demo`` or when no key is set (saying so on stderr). Without a window, the demo
data's whole period is used, or the last 30 days of real data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ._errors import MissingDependencyError, UsageError

_DEFAULT_SINCE = "30d"


def register(subparsers: Any) -> None:
    """Add the ``report`` and ``sessions`` subcommands to the ``helicone-nb`` parser."""
    report = subparsers.add_parser(
        "report",
        help="write a one-file HTML report (cost, latency, outliers, plots) of a time window",
        description="Fetch the sessions of a time window and write one self-contained HTML "
        "report: summary, cost over time, cost by session name and user, top sessions, "
        "outliers, latency, durations and the most expensive session step by step. Without "
        "HELICONE_API_KEY (or with --demo) it reports on the built-in demo data.",
    )
    _add_source_options(report)
    report.add_argument("-o", "--output", default="helicone-report.html", metavar="FILE",
                        help="where to write the HTML (default: %(default)s)")
    report.add_argument("--title", help="heading of the report")
    report.add_argument("--top", type=int, default=10, metavar="N",
                        help="rows in ranked tables and bars in ranked plots (default: 10)")
    report.add_argument("--no-drilldown", action="store_true",
                        help="do not fetch the most expensive session's requests")
    report.set_defaults(handler=run_report)

    sessions = subparsers.add_parser(
        "sessions",
        help="export the sessions DataFrame of a time window to .parquet or .csv",
        description="Fetch the sessions of a time window and write them to a file: .parquet "
        "(needs pyarrow) or .csv / .csv.gz (user_ids joined with ';').",
    )
    _add_source_options(sessions)
    sessions.add_argument("-o", "--output", required=True, metavar="FILE",
                          help="sessions.parquet, sessions.csv or sessions.csv.gz")
    sessions.set_defaults(handler=run_sessions)


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true",
                        help="use the built-in demo data (also the default without "
                        "HELICONE_API_KEY)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--start", metavar="TIME",
                      help="window start: 2025-01-31, 2025-01-31T10:00, 7d, ...")
    when.add_argument("--since", metavar="TIME",
                      help="window from TIME until now, e.g. 30d, 24h, 2w (default: 30d, or "
                      "the whole demo period)")
    parser.add_argument("--end", metavar="TIME", help="window end (with --start; default: now)")
    parser.add_argument("--tz", metavar="ZONE",
                        help="IANA time zone for inputs, days and shown times (default: UTC, "
                        "or the demo data's zone)")
    parser.add_argument("--search", default="", metavar="TEXT",
                        help="only sessions whose id or name contains TEXT")
    parser.add_argument("--name", metavar="NAME", help="only sessions with exactly this name")
    parser.add_argument("--filter", metavar="JSON", help="a Helicone filter as JSON")
    parser.add_argument("--max", type=int, dest="max_sessions", metavar="N",
                        help="stop after N sessions (the newest)")


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()


def _connect(args: argparse.Namespace) -> tuple[Any, bool]:
    """(client, is_demo)."""
    import helicone_nb

    key = os.environ.get("HELICONE_API_KEY", "").strip()
    if args.demo or not key:
        if not args.demo:
            print("helicone-nb: no HELICONE_API_KEY set, so this uses the built-in demo data "
                  "(synthetic); set HELICONE_API_KEY to use your own Helicone data.",
                  file=sys.stderr)
        return helicone_nb.connect(demo=True, quiet=True), True
    return helicone_nb.connect(key), False


def _demo_defaults(client: Any) -> tuple[Any, Any, str]:
    """The demo data's (start, end, zone): the client's ``demo_period``, else the backend's."""
    import importlib

    backend: Any = importlib.import_module("helicone_nb.backend")
    period = getattr(client, "demo_period", None)
    start, end = period if period else (backend.DEMO_START, backend.DEMO_END)
    return start, end, str(getattr(backend, "DEMO_TZ", "UTC"))


def _window(args: argparse.Namespace, client: Any, demo: bool) -> tuple[Any, Any, str]:
    if args.end and not args.start:
        raise UsageError("--end needs --start (or use --since for 'until now')")
    if args.max_sessions is not None and args.max_sessions < 1:
        raise UsageError(f"--max must be a positive number, got {args.max_sessions}")
    demo_start = demo_end = None
    tz = args.tz
    if demo:
        demo_start, demo_end, demo_tz = _demo_defaults(client)
        tz = tz or demo_tz
    tz = tz or "UTC"
    if args.since:
        return args.since, None, tz
    if args.start:
        return args.start, args.end, tz
    if demo:
        return demo_start, demo_end, tz
    return _DEFAULT_SINCE, None, tz


def _filter(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--filter must be a Helicone filter as JSON, e.g. "
            f"'{{\"request_response_rmt\": {{\"model\": {{\"equals\": \"gpt-4o\"}}}}}}': {exc}"
        ) from None
    return value


def _fetch_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "filter": _filter(args.filter),
        "search": args.search,
        "name": args.name,
        "max_sessions": args.max_sessions,
    }


def _empty_demo_hint(client: Any, demo: bool, rows: int) -> None:
    if demo and rows == 0:
        start, end, _ = _demo_defaults(client)
        print(f"helicone-nb: no sessions in that window; the demo data covers {start:%Y-%m-%d} "
              f"to {end:%Y-%m-%d} (leave out --start/--since to use all of it).", file=sys.stderr)


def run_report(args: argparse.Namespace) -> int:
    """``helicone-nb report``: write the HTML report, print its absolute path and a summary."""
    from . import report

    if args.top < 1:
        raise UsageError(f"--top must be a positive number, got {args.top}")
    target = Path(args.output).expanduser().resolve()
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name such as report.html")
    client, demo = _connect(args)
    try:
        start, end, tz = _window(args, client, demo)
        result = report._build(client, start, end, tz=tz, title=args.title, top=args.top,
                               drill_down=not args.no_drilldown, **_fetch_options(args))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(result.html, encoding="utf-8")
        s = result.summary.iloc[0]
        window = report._window_text(start, end, tz)
        print(target)
        print(f"{int(s['sessions']):,} sessions, {int(s['requests']):,} requests, "
              f"{report._money(s['total_cost'])} from {window} ({tz})"
              + (" [demo data]" if demo else ""))
        if not result.plots_drawn:
            print("helicone-nb: matplotlib is not installed, so the report has no plots; "
                  "pip install 'helicone_nb[notebook]'", file=sys.stderr)
        _empty_demo_hint(client, demo, int(s["sessions"]))
        return 0
    finally:
        _close(client)


def _export_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    raise UsageError(
        f"cannot tell the format of {path.name!r}: use a .parquet, .csv or .csv.gz file name"
    )


def write_sessions(df: Any, path: Path) -> None:
    """Write a sessions frame to .parquet (pyarrow) or .csv (user_ids joined with ';')."""
    fmt = _export_format(path)
    if fmt == "parquet":
        import importlib

        try:
            importlib.import_module("pyarrow")
        except ImportError:
            raise MissingDependencyError(
                "writing .parquet needs pyarrow: pip install pyarrow; or write CSV instead "
                f"(-o {path.with_suffix('.csv').name})"
            ) from None
        df.to_parquet(path, index=False)
        return
    out = df.copy()
    out["user_ids"] = [";".join(ids) for ids in out["user_ids"]]
    out.to_csv(path, index=False)


def run_sessions(args: argparse.Namespace) -> int:
    """``helicone-nb sessions``: export the sessions DataFrame, print the path and a summary."""
    target = Path(args.output).expanduser().resolve()
    _export_format(target)
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name such as sessions.csv")
    from . import report

    client, demo = _connect(args)
    try:
        start, end, tz = _window(args, client, demo)
        df = client.fetch_sessions(
            start, end, tz=tz,
            **report._fetch_kwargs(**_fetch_options(args)),
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        write_sessions(df, target)
        print(target)
        print(f"{len(df):,} sessions, {len(df.columns)} columns, "
              f"{report._money(float(df['total_cost'].sum()))} in total, from "
              f"{report._window_text(start, end, tz)} ({tz})" + (" [demo data]" if demo else ""))
        _empty_demo_hint(client, demo, len(df))
        return 0
    finally:
        _close(client)
