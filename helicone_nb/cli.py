"""The ``helicone-nb`` command line.

Each feature area registers its own subcommands through a ``register(subparsers)`` function in
its module, so this file stays a dispatcher:

- ``helicone_nb.backend._cli``: ``serve``, ``import``, ``demo``
- ``helicone_nb._report_cli``: ``report``, ``sessions``
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

_COMMAND_MODULES = ("helicone_nb.backend._cli", "helicone_nb._report_cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helicone-nb",
        description="Helicone sessions as DataFrames, reports, and a local Helicone-compatible "
        "server with demo data.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that feature area is not built (yet)
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ._errors import HeliconeError

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


if __name__ == "__main__":
    raise SystemExit(main())
