"""The ``helicone-nb`` command line: one static argparse tree, one module per command.

Each command module has ``register(subparsers)``, which adds its subcommand and options and
sets ``handler``, and a ``run(args)`` handler that does the work. Modules import only argparse
and light constants at the top; pandas, DuckDB, the client and the server are imported inside
``run``, so ``helicone-nb --help`` stays fast. A new command is one module here and one line in
:data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import dashboard, demo, import_, report, serve, sessions, sync

#: The subcommands, in the order ``--help`` lists them.
COMMANDS = (serve, import_, demo, report, sessions, dashboard, sync)


def build_parser() -> argparse.ArgumentParser:
    """The ``helicone-nb`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="helicone-nb",
        description="Helicone sessions as DataFrames, reports, and a local Helicone-compatible "
        "server with demo data.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``helicone-nb`` with ``argv`` (default: the process's arguments); returns the exit code.

    0 success, 1 a helicone_nb error (printed on stderr without a traceback), 2 a usage error
    of the command line itself, 130 interrupted.
    """
    from .._errors import HeliconeError

    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except HeliconeError as exc:
        print(f"helicone-nb: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("helicone-nb: interrupted", file=sys.stderr)
        return 130
