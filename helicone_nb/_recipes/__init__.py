"""The implementation of ``helicone_nb.recipes`` (private; import from ``helicone_nb.recipes``).

- ``buckets``: time buckets in the frame's zone.
- ``grouping``: group keys (columns, users, time buckets, lists of them) and group tables.
- ``sessions``: summary and cost recipes of a sessions frame.
- ``stats``: latency, duration, cost per token, rankings and outliers.
- ``keys``: group keys of a requests frame (columns, properties, time buckets, lists).
- ``requests``: recipes of a requests frame (cost, latency, errors, model mix, scores).
- ``pricebook`` / ``prices``: price lookups (genai-prices, a user's table) and the price checks.
- ``compare``: ``compare_periods``.
"""
