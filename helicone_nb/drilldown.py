"""Drill into one session: its path tree, its timeline, and a side-by-side comparison.

Helicone stores only a ``Helicone-Session-Path`` string per request (``"/plan/search"``); its
UI builds the session tree client-side, and so does this module, from the requests frame of
``Client.fetch_session_requests`` (columns in ``REQUEST_SCHEMA``). Paths are normalised:
a missing or empty path is ``"/"`` (the root), a missing leading slash is added, repeated and
trailing slashes are dropped. All requests with the same path are one node; a node's numbers
include its sub-paths, and the root's are the whole session's.
"""

from __future__ import annotations

from ._drilldown.timeline import plot_session_timeline
from ._drilldown.tree import SessionTree, TreeNode, compare_sessions, session_tree

__all__ = ["SessionTree", "TreeNode", "compare_sessions", "plot_session_timeline", "session_tree"]

# The code lives in helicone_nb._drilldown; doctest (and help()) find the examples here.
__test__ = {name: globals()[name] for name in __all__}
