"""How numbers, money, durations and times are written, everywhere in the package.

``money`` is the ONE dollar formatter: tables, text trees, titles, bar labels, widget cells and
axis ticks all go through it, so a column never mixes ``$0.004`` with ``$0.0045`` and a tiny
cost never turns into e-notation (``$3.7e-05`` is written ``$0.000037``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

#: What a missing value looks like in tables and reports.
NA = "–"


def missing(value: Any) -> bool:
    """True for None, NaN, NaT and pd.NA (which refuses ``bool()``)."""
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):
        return True


def money_decimals(value: float) -> int:
    """Decimals ``money`` uses for ``value`` when none are given.

    $1 and more: cents (2). Below $1: 4 decimals, so sub-dollar amounts in one column line up
    ($0.0040, $0.0450, $0.5000). Below $0.0001: as many as two significant digits need
    (at most 12), in plain decimals.
    """
    a = abs(float(value))
    if a >= 1:
        return 2
    if a == 0 or a >= 0.0001:
        return 4
    return min(12, 1 - math.floor(math.log10(a)))


def money(value: Any, decimals: int | None = None, *, na: str = NA) -> str:
    """US dollars: ``$1,234.50``, ``$0.0450``, ``$0.000037``; never e-notation.

    Parameters
    ----------
    value : number or missing
        The amount (USD).
    decimals : int, optional
        Fixed decimals (axis ticks pass the decimals their tick spacing needs); by default
        ``money_decimals(value)``.
    na : str
        Text for a missing value.
    """
    if missing(value):
        return na
    v = float(value)
    if abs(v) < 1e-10:  # float noise of sums and differences (1e-17), not money
        v = 0.0
    if math.isinf(v):
        return "-$∞" if v < 0 else "$∞"
    d = money_decimals(v) if decimals is None else max(0, int(decimals))
    text = f"${abs(v):,.{d}f}"
    negative = v < 0 and text.strip("$0.,") != ""
    return f"-{text}" if negative else text


def integer(value: Any, *, na: str = NA) -> str:
    """``12,345``."""
    return na if missing(value) else f"{int(value):,}"


def number(unit: str = "", digits: int = 0, *, na: str = NA) -> Callable[[Any], str]:
    """A formatter writing ``1,234.5 ms``-style numbers with ``digits`` decimals and a unit."""

    def fmt(value: Any) -> str:
        return na if missing(value) else f"{float(value):,.{digits}f}{unit}"

    return fmt


def ms(value: Any, *, na: str = NA) -> str:
    """Milliseconds: ``1,234 ms``."""
    return na if missing(value) else f"{float(value):,.0f} ms"


def seconds(value: Any, *, na: str = NA) -> str:
    """A duration: ``12.3 s``, or minutes from 120 s up (``4.5 min``)."""
    if missing(value):
        return na
    s = float(value)
    return f"{s:,.1f} s" if s < 120 else f"{s / 60:,.1f} min"


def percent(value: Any, digits: int = 1, *, na: str = NA) -> str:
    """A fraction as a percentage: 0.125 -> ``12.5%``."""
    return na if missing(value) else f"{float(value):.{digits}%}"


def timestamp(value: Any, *, na: str = NA) -> str:
    """``2025-07-01 12:00:00`` (in the value's own zone)."""
    return na if missing(value) else f"{value:%Y-%m-%d %H:%M:%S}"


def cell(value: Any, *, na: str = NA, empty: str = "(no name)") -> str:
    """Any value as table text: lists joined by commas, times as ``timestamp``."""
    import numpy as np

    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(v) for v in value) or na
    if missing(value):
        return na
    if isinstance(value, str) and value == "":
        return empty
    if hasattr(value, "strftime"):
        return timestamp(value)
    return str(value)


def demo_notice(
    program: str,
    *,
    period: tuple[Any, Any] | None = None,
    requests: int | None = None,
    sessions_note: str = "",
) -> str:
    """The one line printed when helicone_nb falls back to its built-in demo data.

    ``program`` is ``"helicone_nb"`` (the library) or ``"helicone-nb"`` (the CLI).
    """
    facts = []
    if period is not None:
        facts.append(f"{period[0]:%Y-%m-%d} to {period[1]:%Y-%m-%d}")
    if requests is not None:
        facts.append(f"{requests:,} requests{sessions_note}")
    detail = f" ({', '.join(facts)})" if facts else " (synthetic)"
    return (
        f"{program}: no HELICONE_API_KEY set, so this is the built-in demo data{detail}; set "
        "HELICONE_API_KEY to query your own Helicone data."
    )


#: The banner of a page or widget built from the demo data: (bold lead, text).
DEMO_BANNER = (
    "Demo data.",
    "These are the synthetic, deterministic sessions of helicone_nb's built-in demo backend, "
    "not real traffic. Set HELICONE_API_KEY to report on your own Helicone organisation.",
)
