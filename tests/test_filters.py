"""The filter builder, its wire form, the parser, and every refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import helicone_nb as hnb
from helicone_nb import ALL, FilterError, has_prop, parse_filter, prop, request, session
from helicone_nb._wire.columns import (
    OPERATORS,
    REQUEST_COLUMNS,
    REQUEST_TABLE,
    SESSION_COLUMNS,
    SESSION_TABLE,
)
from helicone_nb._wire.filters import Condition

SAMPLE: dict[str, Any] = {
    "text": "abc",
    "number": 1.5,
    "timestamp": "2025-01-31T10:00:00Z",
    "boolean": True,
}
WRONG: dict[str, Any] = {"text": 3, "number": "3", "timestamp": 17, "boolean": "true"}


def _all_columns() -> list[tuple[str, str, str]]:
    cols = [(REQUEST_TABLE, c, t) for c, t in REQUEST_COLUMNS.items()]
    cols += [(SESSION_TABLE, c, t) for c, t in SESSION_COLUMNS.items()]
    return cols


@pytest.mark.parametrize(("table", "column", "ctype"), _all_columns())
def test_every_column_every_operator_compiles_and_parses_back(
    table: str, column: str, ctype: str
) -> None:
    ns = request if table == REQUEST_TABLE else session
    col = ns.col(column)
    assert col.type == ctype
    for op in OPERATORS[ctype]:  # type: ignore[index]
        cond = getattr(col, op.replace("-", "_"))(SAMPLE[ctype])
        wire = cond.to_wire()
        value = wire[table][column][op]
        if ctype == "timestamp":
            assert value == "2025-01-31T10:00:00.000Z"
        else:
            assert value == SAMPLE[ctype]
        assert parse_filter(wire).to_wire() == wire


@pytest.mark.parametrize(("table", "column", "ctype"), _all_columns())
def test_wrong_value_type_is_refused_for_every_column(table: str, column: str, ctype: str) -> None:
    with pytest.raises(FilterError, match="expected"):
        Condition(table, column, "equals", WRONG[ctype])


@pytest.mark.parametrize(("table", "column", "ctype"), _all_columns())
def test_operators_outside_the_type_are_refused(table: str, column: str, ctype: str) -> None:
    all_ops = {op for ops in OPERATORS.values() for op in ops}
    for op in all_ops - set(OPERATORS[ctype]):  # type: ignore[index]
        with pytest.raises(FilterError, match="not valid for a"):
            Condition(table, column, op, SAMPLE[ctype])


def test_python_operators_map_to_helicone_operators() -> None:
    assert (request.latency > 5).operator == "gt"
    assert (request.latency >= 5).operator == "gte"
    assert (request.latency < 5).operator == "lt"
    assert (request.latency <= 5).operator == "lte"
    assert (request.model == "x").operator == "equals"
    assert (request.model != "x").operator == "not-equals"


def test_session_columns_accept_short_and_full_names() -> None:
    assert session.total_cost.name == "session_total_cost"
    assert session.col("session_total_cost").name == "session_total_cost"
    assert (session.total_cost > 1).to_wire() == {SESSION_TABLE: {"session_total_cost": {"gt": 1}}}


def test_costs_are_usd_on_the_wire() -> None:
    assert (request.cost > 0.002).to_wire() == {REQUEST_TABLE: {"cost": {"gt": 0.002}}}


def test_properties_and_property_key() -> None:
    assert (prop("environment") == "production").to_wire() == {
        REQUEST_TABLE: {"properties": {"environment": {"equals": "production"}}}
    }
    assert prop("env").contains("prod").to_wire() == {
        REQUEST_TABLE: {"properties": {"env": {"contains": "prod"}}}
    }
    assert has_prop("env").to_wire() == {REQUEST_TABLE: {"property_key": {"equals": "env"}}}
    with pytest.raises(FilterError, match="non-empty"):
        prop("")
    with pytest.raises(FilterError, match="not valid"):
        _ = prop("env") > "a"


def test_sentinels() -> None:
    assert request.user_id.is_null().to_wire() == {REQUEST_TABLE: {"user_id": {"equals": "null"}}}
    assert request.user_id.is_not_null().to_wire() == {
        REQUEST_TABLE: {"user_id": {"not-equals": "null"}}
    }
    assert request.user_id.is_empty().to_wire() == {
        REQUEST_TABLE: {"user_id": {"equals": "__empty__"}}
    }
    with pytest.raises(FilterError, match="sentinels do not apply inside properties"):
        prop("env").is_null()
    with pytest.raises(FilterError, match="only available on text"):
        request.latency.is_null()


def test_and_or_compile_to_a_binary_tree_with_one_condition_per_leaf() -> None:
    f = (request.model == "a") & (request.model == "b") & (prop("k") == "v")
    wire = f.to_wire()
    assert wire["operator"] == "and"
    assert wire["left"]["operator"] == "and"

    def leaves(node: Any) -> list[dict[str, Any]]:
        if isinstance(node, dict) and "operator" in node:
            return leaves(node["left"]) + leaves(node["right"])
        return [node]

    for leaf in leaves(wire):
        (table,) = leaf.values()
        assert len(table) == 1
        (ops,) = table.values()
        if "properties" in table:
            (ops,) = ops.values()
        assert len(ops) == 1
    assert (ALL & (request.model == "a")) == (request.model == "a")
    assert ((request.model == "a") | ALL) is ALL
    assert ALL.to_wire() == "all"


def test_or_of_same_level_is_fine_mixed_or_is_refused() -> None:
    ((request.model == "a") | (request.model == "b")).to_wire()
    ((session.total_cost > 1) | (session.total_requests > 5)).to_wire()
    with pytest.raises(FilterError, match="silently matches EVERYTHING"):
        (request.model == "a") | (session.total_cost > 1)
    with pytest.raises(FilterError, match="EVERYTHING"):
        ((request.model == "a") & (session.total_cost > 1)) | (request.model == "b")
    raw = {
        "left": {REQUEST_TABLE: {"model": {"equals": "a"}}},
        "operator": "or",
        "right": {SESSION_TABLE: {"session_total_cost": {"gt": 1}}},
    }
    with pytest.raises(FilterError, match="EVERYTHING"):
        parse_filter(raw)
    # session_tag is evaluated in both forms, so it may be OR-ed with request conditions
    ((request.model == "a") | (session.tag == "vip")).to_wire()


def test_and_of_levels_is_fine() -> None:
    f = (request.model == "a") & (session.total_cost > 1)
    assert f.levels == {"request", "session"}


def test_unknown_columns_and_tables_say_what_is_valid() -> None:
    with pytest.raises(FilterError, match=r"Did you mean 'model'"):
        request.modle  # noqa: B018
    with pytest.raises(FilterError, match=r"request-level column: use request\.cost"):
        session.cost  # noqa: B018
    with pytest.raises(FilterError, match=r"session-level column: use session\.total_cost"):
        request.total_cost  # noqa: B018
    with pytest.raises(FilterError, match="unknown filter table"):
        parse_filter({"requests": {"model": {"equals": "x"}}})
    with pytest.raises(FilterError, match="unknown request-level column"):
        parse_filter({REQUEST_TABLE: {"nope": {"equals": "x"}}})
    with pytest.raises(FilterError, match="not valid for a text column"):
        parse_filter({REQUEST_TABLE: {"model": {"gt": "x"}}})


def test_empty_and_multi_condition_leaves_are_refused() -> None:
    with pytest.raises(FilterError, match="500 on an empty"):
        parse_filter({REQUEST_TABLE: {}})
    with pytest.raises(FilterError, match="500 on an empty"):
        parse_filter({REQUEST_TABLE: {"model": {}}})
    with pytest.raises(FilterError, match="uses only the first column"):
        parse_filter({REQUEST_TABLE: {"model": {"equals": "a"}, "provider": {"equals": "b"}}})
    with pytest.raises(FilterError, match="uses only the first operator"):
        parse_filter({REQUEST_TABLE: {"latency": {"gt": 1, "lt": 2}}})
    with pytest.raises(FilterError, match="uses only the first property key"):
        parse_filter({REQUEST_TABLE: {"properties": {"a": {"equals": "1"}, "b": {"equals": "2"}}}})
    with pytest.raises(FilterError, match="uses only the first table"):
        parse_filter(
            {
                REQUEST_TABLE: {"model": {"equals": "a"}},
                SESSION_TABLE: {"session_tag": {"equals": "x"}},
            }
        )


def test_branch_shape_errors() -> None:
    with pytest.raises(FilterError, match="missing"):
        parse_filter({"left": "all", "operator": "and"})
    with pytest.raises(FilterError, match="'and' or 'or'"):
        parse_filter({"left": "all", "operator": "xor", "right": "all"})
    with pytest.raises(FilterError, match="unexpected keys"):
        parse_filter({"left": "all", "operator": "and", "right": "all", "x": 1})
    with pytest.raises(FilterError, match="only string filter is 'all'"):
        parse_filter("everything")
    with pytest.raises(FilterError, match="expected 'all' or an object"):
        parse_filter(3)


def test_helicone_ui_empty_leaf_and_all() -> None:
    assert parse_filter({}) is ALL
    assert parse_filter("all") is ALL
    assert hnb.Filter.from_wire({}) is ALL
    branch = {"left": {}, "operator": "and", "right": {REQUEST_TABLE: {"model": {"equals": "a"}}}}
    assert parse_filter(branch).to_wire() == {
        "left": "all",
        "operator": "and",
        "right": {REQUEST_TABLE: {"model": {"equals": "a"}}},
    }


def test_seed_doc_filters_parse() -> None:
    a = {REQUEST_TABLE: {"properties": {"Helicone-Session-Name": {"equals": "production-chat"}}}}
    b = {
        "left": {REQUEST_TABLE: {"properties": {"Helicone-Session-Name": {"contains": "support"}}}},
        "operator": "and",
        "right": {REQUEST_TABLE: {"cost": {"gt": 0.001}}},
    }
    for wire in (a, b):
        assert parse_filter(wire).to_wire() == wire


def test_numeric_strings_are_numbers_on_parse() -> None:
    assert parse_filter({REQUEST_TABLE: {"latency": {"gt": "250"}}}) == (request.latency > 250)
    with pytest.raises(FilterError, match="expected a number"):
        parse_filter({REQUEST_TABLE: {"latency": {"gt": "fast"}}})


def test_timestamps_naive_read_in_tz_and_strict_iso() -> None:
    c = request.request_created_at >= dt.datetime(2025, 1, 1, 12, 0)
    assert c.to_wire(tz="Europe/Berlin")[REQUEST_TABLE]["request_created_at"]["gte"] == (
        "2025-01-01T11:00:00.000Z"
    )
    assert c.to_wire()[REQUEST_TABLE]["request_created_at"]["gte"] == "2025-01-01T12:00:00.000Z"
    with pytest.raises(FilterError, match="strict ISO-8601"):
        _ = request.request_created_at > "yesterday"
    with pytest.raises(FilterError, match="strict ISO-8601"):
        _ = request.request_created_at > "01/02/2025"


def test_non_finite_and_bool_numbers_are_refused() -> None:
    with pytest.raises(FilterError, match="finite"):
        _ = request.cost > float("nan")
    with pytest.raises(FilterError, match="expected a number"):
        _ = request.cost > True


def test_filters_have_no_truth_value() -> None:
    with pytest.raises(TypeError, match="combine conditions with &"):
        bool(request.model == "a")


def test_to_python_rebuilds_the_same_filter() -> None:
    exprs = [
        (request.model == "gpt-4o") & (session.total_cost > 0.5),
        prop("env").contains("prod") | (prop("env") == "staging"),
        has_prop("x") & request.user_id.is_null() & request.user_id.is_empty(),
        request.cached == True,  # noqa: E712
        request.request_created_at >= "2025-01-01T00:00:00Z",
        ALL,
    ]
    for f in exprs:
        rebuilt = eval(f.to_python(), {"hnb": hnb})
        assert rebuilt.to_wire() == f.to_wire()


def test_as_filter_rejects_other_types() -> None:
    from helicone_nb._wire.filters import as_filter

    with pytest.raises(FilterError, match="builder expression"):
        as_filter(42)  # type: ignore[arg-type]
