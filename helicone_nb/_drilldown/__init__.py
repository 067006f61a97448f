"""The implementation of ``helicone_nb.drilldown`` (private).

- ``tree``: ``TreeNode``, ``SessionTree``, ``session_tree``, ``compare_sessions``.
- ``timeline``: ``plot_session_timeline``.
"""
