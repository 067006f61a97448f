"""The spec's text comparisons in plain Python: the independent oracle the backend's SQL is
checked against (tests/backend/test_property.py, tests/reliability/injection.py)."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=4096)
def _like_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.S | (re.I if insensitive else 0))


def like(text: str, pattern: str, insensitive: bool) -> bool:
    """SQL LIKE: % any run, _ one character, no escape character."""
    return _like_regex(pattern, insensitive).fullmatch(text) is not None


def text_matches(op: str, actual: str | None, value: str, sentinels: bool) -> bool:
    """A text leaf (spec 4): the "null" / "__empty__" sentinels apply to plain columns only."""
    if sentinels and value == "null" and op in ("equals", "not-equals"):
        return (actual is None) == (op == "equals")
    if sentinels and value == "__empty__" and op == "equals":
        return actual == ""
    if actual is None:  # SQL NULL: no comparison holds
        return False
    return {
        "equals": lambda: actual == value,
        "not-equals": lambda: actual != value,
        "like": lambda: like(actual, value, False),
        "ilike": lambda: like(actual, value, True),
        "contains": lambda: like(actual, f"%{value}%", True),
        "not-contains": lambda: not like(actual, f"%{value}%", True),
    }[op]()
