"""Plots of a sessions (or requests) DataFrame, one matplotlib Axes each.

Every function takes ``ax=None`` (a new figure is made) or an existing Axes to draw on, and
returns the Axes. Nothing global is changed: no style sheets, no rcParams; colours, sizes and
formatters are set on the Axes only. Colours come from the Okabe-Ito palette, which stays
distinguishable with the common colour-vision deficiencies; markers and line styles differ too,
so the plots also read in grey. Dates are shown in the time zone of the frame, and titles say
what is plotted and over which dates. Drawing is deterministic (no jitter, no sampling), so a
notebook that renders these plots gives the same picture every run.

matplotlib is an optional dependency (``pip install 'helicone_nb[notebook]'``); it is imported
only when a plot is drawn.
"""

from __future__ import annotations

from ._plots.requests import (
    plot_change,
    plot_cost_by_model,
    plot_error_rate,
    plot_latency_ecdf,
)
from ._plots.sessions import (
    plot_cost_by,
    plot_cost_over_time,
    plot_cost_pareto,
    plot_latency_distribution,
    plot_latency_vs_tokens,
    plot_session_duration,
)
from ._present.style import OKABE_ITO

__all__ = [
    "OKABE_ITO",
    "plot_change",
    "plot_cost_by",
    "plot_cost_by_model",
    "plot_cost_over_time",
    "plot_cost_pareto",
    "plot_error_rate",
    "plot_latency_distribution",
    "plot_latency_ecdf",
    "plot_latency_vs_tokens",
    "plot_session_duration",
]

# The code lives in helicone_nb._plots; doctest (and help()) find the examples here.
__test__ = {name: obj for name, obj in list(globals().items()) if name in __all__ and callable(obj)}
