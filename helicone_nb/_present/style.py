"""The plot style shared by plots, drill-down, report and widgets: colours, axes, formatters.

Nothing global is changed: no style sheets, no rcParams; everything is set on the Axes.
matplotlib is imported only inside the functions that draw.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from .._errors import require
from .text import money, money_decimals

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes

#: Okabe & Ito's colour-blind-safe palette, most distinct colours first.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE = OKABE_ITO[:6]
GREY = "#666666"
#: Line styles and markers that keep series apart in grey print too.
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def pyplot() -> Any:
    """matplotlib.pyplot, or an install hint."""
    require("matplotlib", "notebook")
    import matplotlib.pyplot as plt

    return plt


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the Axes of a new constrained-layout pyplot figure."""
    if ax is not None:
        return ax
    plt = pyplot()
    _, new = plt.subplots(figsize=figsize, layout="constrained")
    result: Axes = new
    return result


def style(ax: Axes, grid_axis: Literal["x", "y", "both"] = "y") -> None:
    """Light grid behind the data, no top or right spine."""
    ax.grid(True, axis=grid_axis, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def no_data(ax: Axes, message: str = "no sessions in this data") -> None:
    """A grey note in the middle of an empty plot."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color=GREY)


def tz_of(series: pd.Series[Any]) -> _dt.tzinfo | None:
    """The zone of a tz-aware datetime column (None for naive)."""
    import pandas as pd

    dtype = series.dtype
    return dtype.tz if isinstance(dtype, pd.DatetimeTZDtype) else None


def tz_name(tz: _dt.tzinfo | None) -> str:
    """An IANA-style name of a zone; UTC spelt ``UTC``."""
    if tz is None:
        return "UTC"
    name = str(getattr(tz, "key", None) or tz)
    return "UTC" if name in ("UTC", "utc", "UTC+00:00") else name


def span_text(df: pd.DataFrame) -> str:
    """'2025-01-06 to 2025-01-14 (Europe/Berlin)' for the data's first and last time."""
    start_col = "created_at"
    end_col = (
        "latest_request_created_at" if "latest_request_created_at" in df.columns else ("created_at")
    )
    if start_col not in df.columns:
        return ""
    tz = tz_name(tz_of(df[start_col]))
    if len(df) == 0 or df[start_col].isna().all():
        return f"no data ({tz})"
    first = df[start_col].min()
    last = df[end_col].max()
    a, b = f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"
    return f"{a} ({tz})" if a == b else f"{a} to {b} ({tz})"


def title(ax: Axes, what: str, df: pd.DataFrame) -> None:
    """``what`` over a second line naming the data's dates and zone."""
    span = span_text(df)
    ax.set_title(f"{what}\n{span}" if span else what, fontsize=11)


def _tick_decimals(value: float) -> int:
    """Decimals one dollar tick needs on its own: none from $10 up, else cents or more."""
    v = abs(value)
    if v == 0 or (v >= 10 and v == round(v)):
        return 0
    if v < 0.0001:
        return money_decimals(v)
    for d in range(2, 7):
        if abs(round(v, d) - v) <= 1e-12 * max(1.0, v):
            return d
    return 6


def _money_formatter() -> Any:
    from matplotlib.ticker import Formatter

    class MoneyFormatter(Formatter):
        """Dollar ticks through ``money``, one number of decimals for the ticks of an axis."""

        def __init__(self) -> None:
            self.decimals: int | None = None

        def set_locs(self, locs: Sequence[float]) -> None:
            values = [float(v) for v in locs if math.isfinite(v)]
            self.decimals = max((_tick_decimals(v) for v in values), default=None)

        def __call__(self, x: float, pos: Any = None) -> str:
            own = _tick_decimals(x)
            if own == 0 and abs(x) >= 10:
                return money(x, 0)
            d = own if self.decimals is None else max(own, self.decimals)
            return "$0" if x == 0 and d == 0 else money(x, d)

    return MoneyFormatter()


def usd_axis(axis: Any) -> None:
    """Dollar tick labels (``$0.50``, ``$1,500``) on a matplotlib axis."""
    axis.set_major_formatter(_money_formatter())


def plain_log_axis(axis: Any) -> None:
    """Log-scale ticks as plain numbers (1,000 rather than 10^3)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.6g}"))
    axis.set_minor_formatter(NullFormatter())


def percent_axis(axis: Any, decimals: int = 0) -> None:
    """Fractions shown as percentages."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))


def date_axis(axis: Any, tz: _dt.tzinfo | None) -> None:
    """Concise date ticks in the data's zone."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=tz)  # type: ignore[no-untyped-call]
    axis.set_major_locator(locator)
    axis.set_major_formatter(
        mdates.ConciseDateFormatter(locator, tz=tz)  # type: ignore[no-untyped-call]
    )


def as_utc_naive(values: pd.Series[Any]) -> np.ndarray[Any, Any]:
    """tz-aware times -> naive UTC datetime64 (matplotlib's own convention)."""
    import pandas as pd

    s = pd.Series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[ns]")


def short(label: Any, width: int = 28) -> str:
    """A label for a tick: missing, empty and long values made readable."""
    import pandas as pd

    if label is None or (not isinstance(label, str) and pd.isna(label)):
        return "(missing)"
    if isinstance(label, pd.Timestamp):
        return f"{label:%Y-%m-%d}" if label == label.normalize() else f"{label:%Y-%m-%d %H:%M}"
    text = str(label)
    if text == "":
        return "(no name)"
    return text if len(text) <= width else text[: width - 1] + "…"


def percentile_lines(
    ax: Axes, values: np.ndarray[Any, Any], unit: str, markers: Sequence[tuple[float, str, str]]
) -> None:
    """Vertical lines at the given percentiles, labelled with their values in a legend."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return
    for p, colour, linestyle in markers:
        q = float(np.quantile(finite, p))
        label = f"p{p * 100:g} = {q:,.0f} {unit}" if q >= 10 else f"p{p * 100:g} = {q:.3g} {unit}"
        ax.axvline(q, color=colour, linestyle=linestyle, linewidth=1.8, label=label)
    ax.legend(frameon=False, fontsize=9)
