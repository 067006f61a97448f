"""Run every benchmark and print one table: ``python -m tests.benchmarks [--size smoke|full]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from .harness import Figure, format_table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks")
    parser.add_argument("--size", choices=["smoke", "full"], default="full")
    parser.add_argument("--only", help="run only benchmark modules whose name contains this")
    args = parser.parse_args()
    figures: list[Figure] = []
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not info.name.startswith("bench_") or (args.only and args.only not in info.name):
            continue
        module = importlib.import_module(f"tests.benchmarks.{info.name}")
        print(f"running {info.name} ({args.size}) ...", file=sys.stderr, flush=True)
        figures.extend(module.run(args.size))
    print(format_table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
