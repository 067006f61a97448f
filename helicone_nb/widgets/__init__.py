"""Notebook widgets: filter controls that build the public filters, and a session explorer.

:class:`SessionFilters` is a panel of standard ipywidgets (time range, search, session name,
cost range, minimum requests, model, user, custom-property conditions). It builds its filter
with the public builder (``hnb.request``, ``hnb.session``, ``hnb.prop``, ``hnb.has_prop``), so
``.filter``, ``.query`` and ``.code`` say exactly what a hand-written call would send.

:class:`SessionExplorer` adds fetching (a button, and a debounced refresh on every change, in a
background thread so the kernel stays responsive), a summary, a sortable table of top sessions,
cost and latency plots, and the drill-down into one session's requests. ``explorer.df`` always
holds the DataFrame on screen, for the next cell.

Only standard ipywidgets are used (no front-end build), so both work in JupyterLab, VS Code and
Voila. ipywidgets and matplotlib are optional (``pip install 'helicone_nb[notebook]'``) and are
imported when a widget is created, never by ``import helicone_nb``.

:class:`Dashboard` puts a summary strip and "what changed" against the previous period above
the explorer (``helicone-nb dashboard`` serves it with Voila).

Inside the package: ``_query`` turns control values into a query (pure, no widgets),
``_panel`` is the filter panel, ``_render`` draws tables and plots (DataFrame in, HTML or PNG
out), ``_explorer`` holds the explorer and its threads, ``_table`` the interactive sessions table,
``_clickable`` the one non-standard widget (HTML that reports clicks), ``_metrics`` and
``_dashboard`` the dashboard, ``_base`` what they share.
"""

from __future__ import annotations

from ._dashboard import Dashboard
from ._explorer import SessionExplorer
from ._panel import PropertyRow, SessionFilters
from ._query import CUSTOM as CUSTOM
from ._query import PROPERTY_OPERATORS as PROPERTY_OPERATORS
from ._query import QUICK_RANGES as QUICK_RANGES
from ._render import SORT_KEYS as SORT_KEYS

__all__ = ["Dashboard", "PropertyRow", "SessionExplorer", "SessionFilters"]

# Documented (and doctested) as helicone_nb.widgets.X, where users import them from.
for _cls in (Dashboard, PropertyRow, SessionExplorer, SessionFilters):
    _cls.__module__ = __name__
del _cls
