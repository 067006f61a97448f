"""The one HTML table builder of the package: escaped cells, numbers right-aligned."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: A table column: (frame column, header, formatter) or (column, header, formatter, numeric).
#: Without the flag a column counts as numeric when its dtype is.
Column = tuple[str, str, Callable[[Any], str]] | tuple[str, str, Callable[[Any], str], bool]


def _attr(name: str, value: str, quote: str) -> str:
    return f" {name}={quote}{html.escape(value, quote=True)}{quote}" if value else ""


def html_table(
    df: pd.DataFrame,
    columns: Sequence[Column],
    *,
    table_class: str = "",
    numeric_class: str = "n",
    label_numeric_headers: bool = False,
    empty: str | None = '<p class="note">None.</p>',
    quote: str = '"',
) -> str:
    """An HTML table of ``df``, one formatter per column, every cell escaped.

    Columns missing from ``df`` are left out. Numeric cells get ``class=numeric_class`` (and
    their header too when ``label_numeric_headers``). An empty frame gives ``empty`` (a note)
    unless it is None, in which case the table is drawn with its header only.
    """
    import pandas as pd

    if df.empty and empty is not None:
        return empty
    spec: list[tuple[str, str, Callable[[Any], str], bool]] = []
    for column in columns:
        name, header, fmt = column[0], column[1], column[2]
        if name not in df.columns:
            continue
        numeric = (
            bool(column[3])
            if len(column) > 3
            else pd.api.types.is_numeric_dtype(df[name].dtype)
            and not pd.api.types.is_bool_dtype(df[name].dtype)
        )
        spec.append((name, header, fmt, numeric))
    head = "".join(
        f"<th{_attr('class', numeric_class if numeric and label_numeric_headers else '', quote)}>"
        f"{html.escape(header)}</th>"
        for _, header, _, numeric in spec
    )
    cells = [[fmt(v) for v in df[name].tolist()] for name, _, fmt, _ in spec]
    td = [f"<td{_attr('class', numeric_class if numeric else '', quote)}>" for *_, numeric in spec]
    body = "".join(
        "<tr>"
        + "".join(f"{td[j]}{html.escape(col[i])}</td>" for j, col in enumerate(cells))
        + "</tr>"
        for i in range(len(df))
    )
    return (
        f"<table{_attr('class', table_class, quote)}><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def key_value_table(
    rows: Sequence[tuple[str, str]],
    *,
    table_class: str = "",
    value_class: str = "",
    na: str = "–",
    quote: str = '"',
) -> str:
    """A two-column table: a header cell per key, its value beside it (escaped)."""
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td{_attr('class', value_class, quote)}>"
        f"{html.escape(v or na)}</td></tr>"
        for k, v in rows
    )
    return f"<table{_attr('class', table_class, quote)}><tbody>{body}</tbody></table>"
