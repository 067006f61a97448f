"""Property-based round trips of the filter builder and the wire parser."""

from __future__ import annotations

import json

from hypothesis import given, settings

from helicone_nb import parse_filter

from .strategies import filters


@settings(max_examples=300, deadline=None)
@given(filters())
def test_builder_wire_parser_round_trip(f) -> None:  # type: ignore[no-untyped-def]
    wire = f.to_wire()
    again = parse_filter(json.loads(json.dumps(wire)))
    assert again.to_wire() == wire


@settings(max_examples=200, deadline=None)
@given(filters())
def test_every_leaf_has_exactly_one_condition(f) -> None:  # type: ignore[no-untyped-def]
    def walk(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict) and "operator" in node:
            walk(node["left"])
            walk(node["right"])
            return
        (body,) = node.values()
        ((column, ops),) = body.items()
        if column == "properties":
            ((_, ops),) = ops.items()
        assert len(ops) == 1

    walk(f.to_wire())
