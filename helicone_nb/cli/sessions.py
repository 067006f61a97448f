"""``helicone-nb sessions``: the sessions DataFrame of a time window, as .parquet or .csv."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .._errors import MissingDependencyError, UsageError
from . import _source


def register(subparsers: Any) -> None:
    """Add ``sessions`` to the ``helicone-nb`` parser."""
    parser = subparsers.add_parser(
        "sessions",
        help="export the sessions DataFrame of a time window to .parquet or .csv",
        description="Fetch the sessions of a time window and write them to a file: .parquet "
        "(needs pyarrow) or .csv / .csv.gz (user_ids joined with ';').",
    )
    _source.add_source_options(parser)
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="sessions.parquet, sessions.csv or sessions.csv.gz",
    )
    parser.set_defaults(handler=run)


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


def run(args: argparse.Namespace) -> int:
    """Export the sessions DataFrame, print the path and a one-line summary."""
    target = Path(args.output).expanduser().resolve()
    _export_format(target)
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name such as sessions.csv")
    from .._present.text import money
    from .._report.build import window_text

    client, demo = _source.connect(args)
    try:
        start, end, tz = _source.window(args, client, demo)
        df = client.fetch_sessions(start, end, tz=tz, **_source.fetch_options(args))
        target.parent.mkdir(parents=True, exist_ok=True)
        write_sessions(df, target)
        print(target)
        print(
            f"{len(df):,} sessions, {len(df.columns)} columns, "
            f"{money(float(df['total_cost'].sum()))} in total, from "
            f"{window_text(start, end, tz)} ({tz})" + (" [demo data]" if demo else "")
        )
        _source.empty_demo_hint(client, demo, len(df))
        return 0
    finally:
        _source.close(client)
