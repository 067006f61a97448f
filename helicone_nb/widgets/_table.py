"""The interactive sessions table: click a header to sort, page through, click a row to open it.

The sort drop-down, the ascending box and the rows-per-page drop-down stay as keyboard-friendly
twins of the header clicks (a click sets them); the session picker of the drill-down lists the
rows of the page on screen.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._present.text import money
from ._base import ANY, WIDE, ipywidgets, plural
from ._clickable import clickable_html
from ._render import SORT_KEYS, sessions_html, sorted_sessions

if TYPE_CHECKING:
    import pandas as pd

#: Sort direction a header click starts with: the largest first, except for the start time.
_FIRST_ASCENDING = {"created_at": False}
PAGE_SIZES = (10, 25, 50, 100)


class SessionsTable:
    """The sessions table of the explorer and its controls (see :class:`SessionExplorer`)."""

    def __init__(self, lock: threading.RLock, on_open: Callable[[str], Any]) -> None:
        w = ipywidgets()
        self._lock = lock
        self._on_open = on_open
        self._df: pd.DataFrame | None = None
        self._syncing = False
        self.page = 0
        self.sort_by: Any = w.Dropdown(
            options=list(SORT_KEYS.items()),
            value="total_cost",
            description="sort by",
            style=WIDE,
            layout=w.Layout(width="220px"),
        )
        self.ascending: Any = w.Checkbox(
            value=False, description="ascending", indent=False, layout=w.Layout(width="110px")
        )
        self.rows: Any = w.Dropdown(
            options=list(PAGE_SIZES),
            value=25,
            description="rows",
            style=WIDE,
            layout=w.Layout(width="120px"),
        )
        self.prev_button: Any = w.Button(
            icon="chevron-left", tooltip="previous page", layout=w.Layout(width="40px")
        )
        self.next_button: Any = w.Button(
            icon="chevron-right", tooltip="next page", layout=w.Layout(width="40px")
        )
        self.table: Any = clickable_html(layout=w.Layout(width="100%"))
        self.session_picker: Any = w.Dropdown(
            options=[("(pick a session)", ANY)],
            value=ANY,
            description="session",
            style=WIDE,
            layout=w.Layout(width="560px"),
        )
        self.controls: Any = w.HBox(
            [self.sort_by, self.ascending, self.rows, self.prev_button, self.next_button]
        )
        for control in (self.sort_by, self.ascending, self.rows):
            control.observe(self._sort_changed, names="value")
        self.prev_button.on_click(lambda _button: self.turn(-1))
        self.next_button.on_click(lambda _button: self.turn(+1))
        self.table.on_click(self._clicked)
        self.session_picker.observe(self._picked, names="value")

    # -- actions ---------------------------------------------------------------------------

    def sort(self, key: str) -> None:
        """Sort by a :data:`SORT_KEYS` value: a new column starts descending (start time:
        newest first), the column already sorted by flips its direction."""
        if key not in SORT_KEYS.values():
            return
        with self._lock:
            if key == self.sort_by.value:
                self.ascending.value = not self.ascending.value
                return
            self._syncing = True
            try:
                self.sort_by.value = key
                self.ascending.value = _FIRST_ASCENDING.get(key, False)
            finally:
                self._syncing = False
            self.page = 0
            self.show()

    def turn(self, pages: int) -> None:
        """Go ``pages`` pages forward (negative: back), within the first and last page."""
        with self._lock:
            last = max(0, self._pages() - 1)
            page = min(max(0, self.page + pages), last)
            if page != self.page:
                self.page = page
                self.show()

    def _clicked(self, action: str, value: str) -> None:
        if action == "sort":
            self.sort(value)
        elif action == "open" and value:
            if any(v == value for _, v in self.session_picker.options):
                self._syncing = True
                try:
                    self.session_picker.value = value  # the picker shows the row opened
                finally:
                    self._syncing = False
            self._on_open(value)

    def _picked(self, change: dict[str, Any]) -> None:
        if self._syncing or not change["new"]:
            return
        self._on_open(change["new"])

    def _sort_changed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        with self._lock:
            self.page = 0
            self.show()

    # -- rendering -------------------------------------------------------------------------

    def _pages(self) -> int:
        total = 0 if self._df is None else len(self._df)
        return max(1, math.ceil(total / int(self.rows.value)))

    def show(self, df: pd.DataFrame | None = None) -> None:
        """Render ``df`` (a new result starts at the first page) or re-render the one shown."""
        if df is not None:
            self._df = df
            self.page = 0
        if self._df is None:
            return
        frame = self._df
        by, size = self.sort_by.value, self.rows.value
        first = self.page * size
        ranked = sorted_sessions(frame, by, first + size, self.ascending.value)
        top = ranked.iloc[first:].reset_index(drop=True)
        extra = None
        if by == "cost_per_request":
            extra = ("cost_per_request", "cost per request", money, True)
        caption = f"{len(top):,} of {plural(len(frame), 'session')}, by {self.sort_by.label}"
        if self._pages() > 1:
            caption += (
                f" · rows {first + 1:,}–{first + len(top):,}, page {self.page + 1:,} of "
                f"{self._pages():,}"
            )
        caption += " · click a header to sort, a row to open it"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self._pages() - 1
        self.table.value = (
            f"<div class='hnb-note' style='font-size:12px'>{html.escape(caption)}</div>"
            + sessions_html(
                top,
                extra=extra,
                sort=(by, self.ascending.value),
                row_action="open",
            )
        )
        options = [("(pick a session)", ANY)] + [
            (f"{sid} · {name or '(no name)'} · {money(cost)}", sid)
            for sid, name, cost in zip(
                top["session_id"].tolist(),
                top["session_name"].tolist(),
                top["total_cost"].tolist(),
                strict=True,
            )
        ]
        current = self.session_picker.value
        self._syncing = True
        try:
            self.session_picker.options = options
            self.session_picker.value = current if any(v == current for _, v in options) else ANY
        finally:
            self._syncing = False
