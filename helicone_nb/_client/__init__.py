"""The client shell: everything between a method call and the bytes on the wire.

- :mod:`.retry`: the retry policy and the no-I/O request generator (status -> exception)
- :mod:`.base`: ``BaseClient``: configuration, request building, cache keys (no I/O)
- :mod:`.paging`: the paged query, page planning, the no-I/O page and count flows, finishing
  (dedupe, warnings, ``IncompleteFetchError``)
- :mod:`.scheduler`: ``Pull``, the one scheduler (count first, offsets, salvage, re-count)
- :mod:`.cache`: the on-disk page cache
- :mod:`.progress`: the progress bar
- :mod:`.clients`: ``Client`` / ``AsyncClient``, the send loops (submit / wait / cancel)
- :mod:`.connect`: ``connect()``
"""
