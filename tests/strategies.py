"""Hypothesis strategies for filter trees (shared by the property tests)."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from helicone_nb._wire.builder import has_prop
from helicone_nb._wire.columns import (
    OPERATORS,
    REQUEST_COLUMNS,
    REQUEST_TABLE,
    SESSION_COLUMNS,
    SESSION_TABLE,
)
from helicone_nb._wire.filters import Condition, Filter

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_values = {
    "text": _text,
    "number": st.one_of(
        st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    ),
    "timestamp": st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.UTC),
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    "boolean": st.booleans(),
}


@st.composite
def conditions(draw: st.DrawFn, level: str | None = None) -> Condition:
    lvl = level or draw(st.sampled_from(["request", "session"]))
    if lvl == "request":
        kind = draw(st.sampled_from(["column", "column", "properties", "property_key"]))
        if kind == "properties":
            op = draw(st.sampled_from(OPERATORS["text"]))
            key = draw(_text.filter(bool))
            return Condition(REQUEST_TABLE, "properties", op, draw(_text), key)
        if kind == "property_key":
            return has_prop(draw(_text.filter(bool)))
        column = draw(st.sampled_from(sorted(REQUEST_COLUMNS)))
        ctype = REQUEST_COLUMNS[column]
        table = REQUEST_TABLE
    else:
        column = draw(st.sampled_from(sorted(c for c in SESSION_COLUMNS if c != "session_tag")))
        ctype = SESSION_COLUMNS[column]
        table = SESSION_TABLE
    op = draw(st.sampled_from(OPERATORS[ctype]))
    return Condition(table, column, op, draw(_values[ctype]))


@st.composite
def filters(draw: st.DrawFn, max_leaves: int = 6) -> Filter:
    """Valid trees: AND of anything; OR only within one level."""

    def tree(level: str | None, budget: int) -> Filter:
        if budget <= 1 or draw(st.booleans()):
            return draw(conditions(level))
        op = draw(st.sampled_from(["and", "or"]))
        if op == "or":
            lvl = level or draw(st.sampled_from(["request", "session"]))
            return tree(lvl, budget // 2) | tree(lvl, budget // 2)
        return tree(level, budget // 2) & tree(level, budget // 2)

    return tree(None, max_leaves)
