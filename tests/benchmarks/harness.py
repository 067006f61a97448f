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


def frame_megabytes(frame: Any) -> float:
    """Bytes a frame holds, each Python object counted once: pandas' deep memory_usage counts
    a dict shared by many rows (``properties``, ``scores``), or a string shared by many rows
    of a ``string`` column, once per row."""
    import sys

    total = 0
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object:
            objects = values.tolist()
        elif str(values.dtype) == "string" and hasattr(values.array, "_ndarray"):
            objects = values.array._ndarray.tolist()
        else:
            total += int(values.memory_usage(deep=True, index=False))
            continue
        total += 8 * len(values)  # the pointers
        seen: dict[int, int] = {}
        for value in objects:
            if id(value) not in seen:
                seen[id(value)] = (
                    sys.getsizeof(value)
                    + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in value.items())
                    if isinstance(value, dict)
                    else sys.getsizeof(value)
                )
        total += sum(seen.values())
    return total / 1e6
