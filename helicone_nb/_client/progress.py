"""The progress bar of a pull: pages, rows and cache hits, shown only when interactive."""

from __future__ import annotations

import os
import time
from typing import Any


class Progress:
    """A tqdm bar (pages, sessions, cache hits) that appears only when interactive."""

    def __init__(self, enabled: bool | None, kind: str) -> None:
        self._bar: Any = None
        self.hits = 0
        self.rows = 0
        self.kind = kind
        if enabled is None:
            enabled = interactive()
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=None, unit="page", desc=f"{kind}", delay=0.5, leave=False, dynamic_ncols=True
            )
        self._started = time.monotonic()

    def set_total(self, pages: int | None) -> None:
        if self._bar is not None and pages is not None:
            self._bar.total = pages
            self._bar.refresh()

    def page(self, rows: int, cached: bool) -> None:
        self.rows += rows
        self.hits += cached
        if self._bar is not None:
            self._bar.set_postfix_str(
                f"{self.rows:,} {self.kind}, {self.hits} cached", refresh=False
            )
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def interactive() -> bool:
    """True in a Jupyter kernel or a terminal; False under CI, pipes and tests."""
    import sys

    flag = os.environ.get("HELICONE_NB_PROGRESS")
    if flag is not None:
        return flag.strip().lower() not in ("0", "false", "no", "off", "")
    if os.environ.get("CI"):
        return False
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
