"""The implementation of ``helicone_nb.report`` (private; shared with the CLI).

- ``build``: fetch, run the recipes, draw, assemble the page (``build``, ``ReportResult``,
  ``window_text``, ``fetch_kwargs``).
"""
