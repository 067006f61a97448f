"""Smoke-size run of every benchmark: they must run and produce figures (no timing asserts)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

from .harness import format_table

_MODULES = sorted(
    m.name
    for m in pkgutil.iter_modules([str(Path(__file__).parent)])
    if m.name.startswith("bench_")
)


@pytest.mark.benchmark
@pytest.mark.parametrize("name", _MODULES)
def test_benchmark_smoke(name: str) -> None:
    module = importlib.import_module(f"tests.benchmarks.{name}")
    figures = module.run("smoke")
    assert figures, f"{name} produced no figures"
    for fig in figures:
        assert fig.value == fig.value, f"{name}: {fig.metric} is NaN"
    print(format_table(figures))
