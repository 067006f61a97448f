"""Shared figure type and table printer for the benchmarks.

Each ``bench_*.py`` module in this folder defines ``run(size: str) -> list[Figure]`` where
``size`` is ``"smoke"`` (seconds, part of the default test run) or ``"full"`` (the sizes the
issues name). ``python -m tests.benchmarks`` runs them all and prints one table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Figure:
    benchmark: str
    metric: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time over ``repeat`` runs (seconds) and the last result."""
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return samples[len(samples) // 2]


def format_table(figures: list[Figure]) -> str:
    header = ("benchmark", "metric", "value", "unit", "target", "ok")
    rows = [
        (
            f.benchmark,
            f.metric,
            f"{f.value:,.3f}" if abs(f.value) < 1000 else f"{f.value:,.0f}",
            f.unit,
            f.target,
            "" if f.ok is None else ("yes" if f.ok else "NO"),
        )
        for f in figures
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    sep = "-+-".join("-" * w for w in widths)
    body = [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, sep, *body])
