"""The wire contract, no I/O, shared by the client shell and the embedded backend.

- :mod:`.columns`: the column catalog (tables, column types, operators; spec 4.1, 4.2)
- :mod:`.filters`: the filter tree, its validation, its wire form and the wire parser
- :mod:`.builder`: ``request`` / ``session`` / ``prop`` / ``has_prop``, the public builder
- :mod:`.models`: pydantic models of request bodies and response rows
- :mod:`.time`: time windows in, true UTC instants out
"""
