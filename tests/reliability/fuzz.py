"""Random and mutated inputs for the filter parser and the server, from a ``random.Random``.

One generator serves both the hypothesis tests (``st.randoms()`` hands them a seeded
generator, so failures shrink and replay) and the benchmark (a plain seeded loop that counts
cases). Every generated case carries the answer it must get:

- ``valid``: a body the client could send; the session routes must answer 200 (201 for
  requests), the request route 201 or Helicone's handled 500 for session-level columns;
- ``must_422``: an excess key, a missing required field, a wrong type, a bad enum or a body
  that is not a JSON object: Helicone's validator answers 422, so must the backend;
- ``any``: arbitrary mutations; any answer but an unhandled 500 (``"Internal Server
  Error"``), and the body must be Helicone's shape for its status.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from dataclasses import dataclass
from typing import Any, Literal

from helicone_nb import FilterError, parse_filter
from helicone_nb._wire.columns import (
    OPERATORS,
    REQUEST_COLUMNS,
    REQUEST_TABLE,
    SESSION_COLUMNS,
    SESSION_TABLE,
)

SESSIONS = "/v1/session/query"
COUNT = "/v1/session/count"
NAMES = "/v1/session/name/query"
REQUESTS = "/v1/request/query-clickhouse"
ROUTES = (SESSIONS, COUNT, NAMES, REQUESTS)

Expect = Literal["valid", "must_422", "any"]

_WINDOW = {"startTimeUnixMs": 1740787200000, "endTimeUnixMs": 1741564800000}
_REQUIRED = {
    SESSIONS: ("search", "timeFilter", "timezoneDifference", "filter"),
    COUNT: ("search", "timeFilter", "timezoneDifference", "filter"),
    NAMES: ("nameContains", "timezoneDifference"),
    REQUESTS: ("filter",),
}
_STRINGS = {
    SESSIONS: ("search", "nameEquals"),
    COUNT: ("search", "nameEquals"),
    NAMES: ("nameContains",),
    REQUESTS: (),
}
_NUMBERS = {
    SESSIONS: ("timezoneDifference", "offset", "limit"),
    COUNT: ("timezoneDifference", "offset", "limit"),
    NAMES: ("timezoneDifference",),
    REQUESTS: ("offset", "limit"),
}
_BOOLEANS = {
    SESSIONS: (),
    COUNT: (),
    NAMES: ("useInterquartile",),
    REQUESTS: ("isCached", "includeInputs", "isPartOfExperiment", "isScored"),
}
#: Values that are not a string / not a number (numeric strings ARE numbers to tsoa) / not a
#: boolean (the strings "true" and "false" ARE booleans to tsoa).
_NOT_STRING: tuple[Any, ...] = (5, 0.5, True, [], ["a"], {}, {"a": "b"})
_NOT_NUMBER: tuple[Any, ...] = ("abc", "", "1e", "0x10", True, [], [1], {}, "Infinity")
_NOT_BOOLEAN: tuple[Any, ...] = ("yes", 1, 0, [], {}, "TRUE1")
_NASTY_TEXT = (
    "",
    "'",
    '"',
    "%",
    "_",
    "\\",
    "\x00",
    "null",
    "__empty__",
    "' OR 1=1 --",
    "ﾟ∀ﾟ",
    "\u202eevil",
    "a" * 3000,
    "😀" * 10,
)
_KEYS = (
    "left",
    "right",
    "operator",
    REQUEST_TABLE,
    SESSION_TABLE,
    "properties",
    "property_key",
    "model",
    "equals",
    "contains",
    "gt",
    "session_total_cost",
    "all",
    "",
    "zz_bogus",
    "__proto__",
    "constructor",
)


# ------------------------------------------------------------------------------- values


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, small; containers thin out with depth."""
    pick = rng.randrange(10 if depth < 3 else 7)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 1, 7, 2**31, 2**63, -(2**70), 10**400 // 10**395])
    if pick == 3:
        return rng.choice([0.5, -0.0, 1e-9, 1e308, -2.5e-300])
    if pick in (4, 5, 6):
        return rng.choice(_NASTY_TEXT + _KEYS + ("all", "and", "or", "2025-03-01T00:00:00Z"))
    if pick in (7, 8):
        return {
            rng.choice(_KEYS + _NASTY_TEXT[:6]): random_json(rng, depth + 1)
            for _ in range(rng.randrange(3))
        }
    return [random_json(rng, depth + 1) for _ in range(rng.randrange(3))]


def _value(rng: random.Random, ctype: str) -> Any:
    if ctype == "text":
        return rng.choice((*_NASTY_TEXT[:12], "gpt-4o", "app-1", "sess-000001", "user-1"))
    if ctype == "number":
        return rng.choice([0, 1, 2.5, -3, 1000, 0.002, 1e12])
    if ctype == "timestamp":
        moment = dt.datetime(2025, 3, 1, tzinfo=dt.UTC) + dt.timedelta(
            seconds=rng.randrange(-86400, 86400 * 9)
        )
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(1000):03d}Z"
    return rng.choice([True, False])


# ------------------------------------------------------------------------------- filters


def valid_leaf(rng: random.Random, level: str) -> dict[str, Any]:
    """One condition the client's builder would also write (one column, one operator)."""
    if level == "request":
        kind = rng.randrange(6)
        if kind == 0:
            op = rng.choice(OPERATORS["text"])
            key = rng.choice(["environment", "Helicone-Session-Name", "x'] --", "é", " "])
            return {REQUEST_TABLE: {"properties": {key: {op: _value(rng, "text")}}}}
        if kind == 1:
            return {REQUEST_TABLE: {"property_key": {"equals": rng.choice(["environment", "%"])}}}
        column = rng.choice(sorted(REQUEST_COLUMNS))
        ctype = REQUEST_COLUMNS[column]
        table = REQUEST_TABLE
    else:
        column = rng.choice(sorted(SESSION_COLUMNS))
        ctype = SESSION_COLUMNS[column]
        table = SESSION_TABLE
    op = rng.choice(OPERATORS[ctype])
    return {table: {column: {op: _value(rng, ctype)}}}


def valid_filter(rng: random.Random, budget: int = 6, level: str | None = None) -> Any:
    """A tree the client accepts: AND of anything, OR only within one level."""
    if budget <= 1 or rng.random() < 0.4:
        if level is None and rng.random() < 0.1:
            return rng.choice(["all", {}])
        return valid_leaf(rng, level or rng.choice(["request", "session"]))
    operator = rng.choice(["and", "or"])
    if operator == "or":
        level = level or rng.choice(["request", "session"])
    return {
        "left": valid_filter(rng, budget // 2, level),
        "operator": operator,
        "right": valid_filter(rng, budget // 2, level),
    }


def _nodes(tree: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value in the tree, root first as (None, None)."""
    out: list[tuple[Any, Any]] = [(None, None)]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in list(node):
                out.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                out.append((node, i))
                walk(item)

    walk(tree)
    return out


def mutate(tree: Any, rng: random.Random, rounds: int = 3) -> Any:
    """Arbitrary damage to a JSON tree: replace, delete, add, rename, wrap, deepen."""
    tree = copy.deepcopy(tree)
    for _ in range(rng.randrange(1, rounds + 1)):
        nodes = _nodes(tree)
        container, key = rng.choice(nodes)
        current = tree if container is None else container[key]
        action = rng.randrange(7)
        if action == 0:
            new: Any = random_json(rng)
        elif action == 1 and isinstance(current, dict) and current:
            current.pop(rng.choice(list(current)))
            new = current
        elif action == 2 and isinstance(current, dict):
            current[rng.choice(_KEYS)] = random_json(rng)
            new = current
        elif action == 3 and isinstance(current, dict) and current:
            old = rng.choice(list(current))
            current[rng.choice(_KEYS)] = current.pop(old)
            new = current
        elif action == 4:
            new = rng.choice([[current], {"left": current, "operator": "and", "right": "all"}])
        elif action == 5:
            new = current
            for _ in range(rng.choice([10, 150, 260])):
                new = {"left": new, "operator": rng.choice(["and", "or"]), "right": "all"}
        else:
            new = rng.choice([str(current)[:50], None, 0, "all", {}])
        if container is None:
            tree = new
        else:
            container[key] = new
    return tree


def filter_outcome(node: Any) -> str:
    """'' when the client parser accepts ``node`` with a round trip, or refuses it cleanly."""
    try:
        parsed = parse_filter(node)
    except FilterError:
        return ""
    except Exception as exc:  # anything else is a bug
        return f"parse_filter raised {type(exc).__name__}: {exc}"[:300]
    try:
        wire = parsed.to_wire()
        again = parse_filter(json.loads(json.dumps(wire))).to_wire()
    except Exception as exc:
        return f"the accepted filter does not round-trip: {type(exc).__name__}: {exc}"[:300]
    if again != wire:
        return f"round trip changed the filter: {wire!r:.150} -> {again!r:.150}"
    return ""


def must_422_filter(rng: random.Random, tree: Any) -> Any:
    """Break one node of a valid filter so tsoa's validator must refuse it."""
    tree = copy.deepcopy(tree)
    leaves: list[dict[str, Any]] = []
    branches: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict) and "operator" in node:
            branches.append(node)
            walk(node["left"])
            walk(node["right"])
        elif isinstance(node, dict) and node:
            leaves.append(node)

    walk(tree)
    if not leaves:
        tree = valid_leaf(rng, "request")
        leaves = [tree]
    how = rng.randrange(6 if branches else 5)
    leaf = rng.choice(leaves)
    ((_table, columns),) = leaf.items()
    ((column, ops),) = columns.items()
    target = ops if column != "properties" else next(iter(ops.values()))
    if how == 0:
        columns["zz_bogus_column"] = {"equals": "x"}
    elif how == 1:
        target["zz_bogus_operator"] = 1
    elif how == 2:
        leaf["zz_bogus_table"] = {"model": {"equals": "x"}}
    elif how == 3:
        op = next(iter(target))
        ctype = (
            "text"
            if column in ("properties", "property_key")
            else (REQUEST_COLUMNS | SESSION_COLUMNS).get(column, "text")
        )
        wrong = {
            "text": _NOT_STRING,
            "number": ("abc", [], {}, True),
            "timestamp": ("yesterday", 5, "2025-13-45", {}),
            "boolean": _NOT_BOOLEAN,
        }[ctype]
        target[op] = rng.choice(wrong)
    elif how == 4:
        op = next(iter(target))
        target["zz_" + op] = target.pop(op)
    else:
        branch = rng.choice(branches)
        if rng.random() < 0.5:
            branch["operator"] = rng.choice(["xor", "AND", "", "not"])
        else:
            branch["zz_bogus"] = True
    return tree


# ------------------------------------------------------------------------------- bodies


@dataclass
class Case:
    """One request to send, and what must come back."""

    route: str
    body: bytes
    expect: Expect
    mutation: str


def valid_body(rng: random.Random, route: str) -> dict[str, Any]:
    if route in (SESSIONS, COUNT):
        body: dict[str, Any] = {
            "search": rng.choice(["", "", "app", "sess-0000", "%", "_"]),
            "timeFilter": dict(_WINDOW),
            "timezoneDifference": rng.choice([0, 0, 60, -90, "30"]),
            "filter": valid_filter(rng),
        }
        if rng.random() < 0.5:
            body["offset"] = rng.choice([0, 10, "5", 2.5, -1])
            body["limit"] = rng.choice([1, 50, 1000, 5000, 0, -1, "20"])
        if rng.random() < 0.3:
            body["nameEquals"] = rng.choice(["", "app-1", "nope"])
        return body
    if route == NAMES:
        body = {"nameContains": rng.choice(["", "app", "%"]), "timezoneDifference": 0}
        if rng.random() < 0.5:
            body["timeFilter"] = dict(_WINDOW)
        if rng.random() < 0.3:
            body["filter"] = valid_filter(rng)
        return body
    body = {"filter": valid_filter(rng, level="request")}
    if rng.random() < 0.7:
        body.update(offset=rng.choice([0, 3]), limit=rng.choice([1, 10, 1000]))
        body["sort"] = {"created_at": rng.choice(["asc", "desc"])}
        body["isCached"] = rng.choice([False, "false"])
    return body


def case(rng: random.Random) -> Case:
    """One fuzz case: a third valid, a third that must be 422, a third arbitrary."""
    route = rng.choice(ROUTES)
    body = valid_body(rng, route)
    roll = rng.random()
    if roll < 0.25:
        return Case(route, json.dumps(body).encode(), "valid", "valid")
    if roll < 0.65:
        return _must_422(rng, route, body)
    how = rng.randrange(4)
    if how == 0:
        raw = json.dumps(mutate(body, rng)).encode()
        return Case(route, raw, "any", "mutated body")
    if how == 1 and "filter" in body:
        body["filter"] = mutate(body["filter"], rng)
        return Case(route, json.dumps(body).encode(), "any", "mutated filter")
    if how == 2:
        text = json.dumps(body).encode()
        cut = rng.randrange(len(text) + 1)
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(8)))
        return Case(route, text[:cut] + noise, "any", "cut and noise")
    raw = rng.choice([b"[" * 5000, b'{"a":' * 3000, b"\xff\xfe\x00", b"1e99999", b"NaN"])
    return Case(route, raw, "any", "hostile bytes")


def _must_422(rng: random.Random, route: str, body: dict[str, Any]) -> Case:
    options = ["excess key", "missing field", "not an object"]
    if _STRINGS[route]:
        options.append("not a string")
    if _NUMBERS[route]:
        options.append("not a number")
    if _BOOLEANS[route]:
        options.append("not a boolean")
    if "timeFilter" in body:
        options.append("timeFilter excess")
    if "filter" in body and body["filter"] not in ("all", {}):
        options += ["bad filter", "bad filter"]
    how = rng.choice(options)
    if how == "excess key":
        body[rng.choice(["foo", "Search", "time_filter", "__proto__", "filters"])] = 1
    elif how == "missing field":
        body.pop(rng.choice(_REQUIRED[route]), None)
    elif how == "not an object":
        raw = rng.choice([b"[]", b"null", b"5", b'"all"', b"", b"{nope", b"\xff"])
        return Case(route, raw, "must_422", how)
    elif how == "not a string":
        body[rng.choice(_STRINGS[route])] = rng.choice(_NOT_STRING)
    elif how == "not a number":
        body[rng.choice(_NUMBERS[route])] = rng.choice(_NOT_NUMBER)
    elif how == "not a boolean":
        body[rng.choice(_BOOLEANS[route])] = rng.choice(_NOT_BOOLEAN)
    elif how == "timeFilter excess":
        body["timeFilter"][rng.choice(["start", "endTimeUnixMS", "tz"])] = 1
    else:
        body["filter"] = must_422_filter(rng, body["filter"])
    return Case(route, json.dumps(body).encode(), "must_422", how)


def answer_problem(case: Case, status: int, payload: Any) -> str:
    """'' when ``status`` and ``payload`` are what ``case`` must get."""
    unhandled = isinstance(payload, dict) and payload.get("message") == "Internal Server Error"
    if unhandled:
        return f"unhandled 500: {payload.get('details')!r:.200}"
    if case.expect == "must_422" and status != 422:
        return f"expected 422 for {case.mutation}, got {status}: {json.dumps(payload)[:200]}"
    if case.expect == "valid":
        ok = {SESSIONS: (200,), COUNT: (200,), NAMES: (200,), REQUESTS: (201, 500)}[case.route]
        if status not in ok:
            return f"a valid body got {status}: {json.dumps(payload)[:200]}"
    if status == 422:
        if not (
            isinstance(payload, dict)
            and payload.get("message") == "Validation Failed"
            and isinstance(payload.get("details"), dict)
            and payload["details"]
        ):
            return f"422 without Helicone's Validation Failed body: {payload!r:.200}"
    elif status in (200, 201):
        if not (isinstance(payload, dict) and set(payload) == {"data", "error"}):
            return f"{status} without the data/error envelope: {payload!r:.200}"
        if payload["error"] is not None:
            return f"{status} with an error: {payload['error']!r:.200}"
    elif status == 500:
        if not (
            isinstance(payload, dict)
            and payload.get("data") is None
            and isinstance(payload.get("error"), str)
        ):
            return f"500 that is not Helicone's handled-error envelope: {payload!r:.200}"
    else:
        return f"unexpected status {status}"
    return ""
