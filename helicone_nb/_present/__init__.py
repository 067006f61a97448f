"""Private helpers shared by the data layer (recipes, plots, drill-down, report, widgets).

Nothing here is public API; every module of the package may import these names.

- ``checks``: argument and frame checks, numeric column helpers (``float_values``, ``ratio``).
- ``text``: how numbers, money, durations and times are written; the ONE dollar formatter
  (``money``) and the demo-data notice.
- ``html``: the one HTML table builder (escaped cells, right-aligned numbers).
- ``figures``: drawing on a fresh matplotlib Figure and returning PNG bytes or a data URI.
- ``style``: the plot style (Okabe-Ito colours, axes, tick formatters, titles, zones).

Heavy imports (pandas, numpy, matplotlib) happen inside the functions that need them.
"""
