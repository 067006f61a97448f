"""``HeliconeRequest`` rows (as the API sends them) -> the mirror's columns, vectorised.

Column by column: every store column of the embedded backend is filled from the wire field of
the same name, or from the aliases below (``delay_ms`` -> ``latency``, USD ``cost`` -> nano-USD,
...), and converted by its DuckDB type, so a column the backend adds (``updated_at``,
``scores``, ``reasoning_tokens``) is mirrored without a change here. 64-bit numbers may be JSON
strings or numbers; timestamps ISO-8601 or ClickHouse text (UTC). Bodies are not copied.
"""

from __future__ import annotations

import itertools
import json
import operator
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._frames import SESSION_PROPERTY_KEYS
from ._files import BODY_COLUMNS, VERSION_COLUMN, copy_to, literal, quote, store_columns

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

#: Store column -> wire fields to read it from, first non-empty wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "latency": ("delay_ms",),
    "status": ("response_status",),
    "user_id": ("request_user_id", "user_id"),
    "properties": ("request_properties", "properties"),
    "cost": ("cost", "costUSD"),
    "model": ("model", "request_model", "response_model"),
}
#: Store columns derived from ``properties`` (like the backend's ingest).
_SESSION = dict(
    zip(("session_id", "session_name", "session_path"), SESSION_PROPERTY_KEYS, strict=True)
)


class _Columns:
    """The rows' fields as lists, read lazily. Helicone's rows all carry the same keys, so
    the keys of the first row are read from every row in one ``itemgetter`` pass; if a row
    lacks one of them, every field is read with ``dict.get`` instead."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.rows = rows
        self.lists: dict[str, list[Any]] = {}
        keys = list(rows[0]) if rows else []
        if len(keys) > 1:  # (itemgetter of one key gives the value, not a tuple)
            try:
                table = zip(*map(operator.itemgetter(*keys), rows), strict=True)
                self.lists = {k: list(col) for k, col in zip(keys, table, strict=True)}
            except (KeyError, TypeError):
                self.lists = {}

    def get(self, field: str) -> list[Any]:
        found = self.lists.get(field)
        if found is None:
            found = self.lists[field] = [r.get(field) for r in self.rows]
        return found


def _values(rows: _Columns, column: str) -> list[Any]:
    fields = ALIASES.get(column, (column,))
    out = rows.get(fields[0])
    for f in fields[1:]:  # first non-empty field wins (else the last field's value)
        missing = [i for i, v in enumerate(out) if v is None or v == ""]
        if not missing:
            break
        out = list(out)
        other = rows.get(f)
        for i in missing:
            out[i] = other[i]
    return out


def _numbers(values: list[Any], integer: bool, scale: float = 1.0) -> Any:
    import numpy as np
    import pandas as pd

    if set(map(type, values)) <= {int, float, str, type(None)}:  # the usual case: vectorised
        arr: Any = pd.Series(values, dtype=object)
    else:  # booleans, objects: not numbers
        arr = np.array(
            [
                v if isinstance(v, int | float | str) and not isinstance(v, bool) else np.nan
                for v in values
            ],
            dtype=object,
        )
    nums = np.asarray(pd.to_numeric(arr, errors="coerce"), dtype="float64") * scale
    if not integer:
        return nums
    mask = np.isnan(nums)
    return pd.arrays.IntegerArray(np.where(mask, 0, np.rint(nums)).astype("int64"), mask)


def _times(values: list[Any]) -> Any:
    import pandas as pd

    text = [v if isinstance(v, str) else None for v in values]
    return pd.to_datetime(
        pd.Series(text, dtype="object"), utc=True, format="ISO8601", errors="coerce"
    ).array


def _bools(values: list[Any]) -> Any:
    import pandas as pd

    def one(v: Any) -> bool | None:
        if v is None or isinstance(v, bool):
            return v
        return str(v).strip().lower() in ("true", "1")

    return pd.array([one(v) for v in values], dtype="boolean")


def _texts(values: list[Any]) -> list[str | None]:
    if set(map(type, values)) <= {str, type(None)}:  # the usual case: as they are
        return values
    return [
        v
        if isinstance(v, str) or v is None
        else json.dumps(v)
        if isinstance(v, dict | list)
        else str(v)
        for v in values
    ]


#: Map values DuckDB's JSON cast turns into the same text as ``json.dumps`` would.
_SCALARS = (str, int, float, bool)


def _maps(values: list[Any]) -> list[str]:
    from pydantic_core import to_json

    if set(map(type, values)) <= {dict} and set(
        map(type, itertools.chain.from_iterable(map(dict.values, values)))
    ) <= set(_SCALARS):  # the usual case, checked for the whole batch: Rust's serializer
        return [to_json(d).decode() for d in values]
    out = []
    for d in values:
        if not isinstance(d, dict):
            out.append("{}")
        elif all(type(v) in _SCALARS for v in d.values()):
            out.append(to_json(d).decode())
        else:
            out.append(
                json.dumps(
                    {
                        str(k): v if isinstance(v, str) else json.dumps(v)
                        for k, v in d.items()
                        if v is not None
                    }
                )
            )
    return out


def rows_sql(rows: Sequence[dict[str, Any]]) -> tuple[pd.DataFrame, str]:
    """The rows as a DataFrame of raw columns (``_rows``), and a query typing them."""
    import pandas as pd
    from pydantic_core import to_json

    data: dict[str, Any] = {}
    select: list[str] = []
    outer: list[str] = []
    fields = _Columns(rows)
    for name, ctype, default in store_columns():
        if name in BODY_COLUMNS:
            continue
        fallback = default if default is not None else "NULL"
        if name in _SESSION:
            expr = f"properties[{literal(_SESSION[name])}]"
            if name == "session_name":
                expr = f"coalesce({expr}, '')"
            outer.append(f"CAST({expr} AS {ctype}) AS {quote(name)}")
            continue
        outer.append(quote(name))
        if name == "organization_id":
            select.append(f"CAST($org AS VARCHAR) AS {quote(name)}")
            continue
        values = _values(fields, name)
        upper = ctype.upper()
        if upper.startswith("MAP"):
            data[name] = _maps(values)
            expr = f"CAST(CAST({quote(name)} AS JSON) AS {ctype})"
        elif upper.startswith("TIMESTAMP"):
            data[name] = _times(values)
            expr = f"CAST({quote(name)} AS {ctype})"
        elif upper in ("BIGINT", "INTEGER", "SMALLINT", "HUGEINT", "UBIGINT"):
            data[name] = _numbers(values, True, 1e9 if name == "cost" else 1.0)
            expr = f"CAST({quote(name)} AS {ctype})"
        elif upper in ("DOUBLE", "FLOAT", "REAL") or upper.startswith("DECIMAL"):
            data[name] = _numbers(values, False)
            expr = f"CAST({quote(name)} AS {ctype})"
        elif upper == "BOOLEAN":
            data[name] = _bools(values)
            expr = quote(name)
        elif upper.endswith("[]"):
            data[name] = [to_json(v).decode() if isinstance(v, list) else None for v in values]
            expr = f"CAST(CAST({quote(name)} AS JSON) AS {ctype})"
        else:
            data[name] = _texts(values)
            expr = f"CAST({quote(name)} AS {ctype})"
        if name == VERSION_COLUMN:  # a row sent without one: as old as the request itself
            expr = f"coalesce({expr}, CAST(request_created_at AS {ctype}))"
        elif default is not None:
            expr = f"coalesce({expr}, {fallback})"
        select.append(f"{expr} AS {quote(name)}")
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    return frame, f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(select)} FROM _rows)"


def write_rows(
    con: duckdb.DuckDBPyConnection,
    rows: Sequence[dict[str, Any]],
    target: Path,
    organization_id: str,
) -> None:
    """Write ``rows`` (one per request) as one Parquet file with the mirror's columns."""
    frame, query = rows_sql(rows)
    con.register("_rows", frame)
    try:
        copy_to(
            con,
            f"COPY ({query}) TO {literal(str(target))} (FORMAT parquet)",
            {"org": organization_id},
        )
    finally:
        con.unregister("_rows")
