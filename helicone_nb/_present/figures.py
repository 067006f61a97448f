"""Figure to PNG: draw on a fresh matplotlib Figure (no pyplot, no global state)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from .._errors import require


def figure_png(
    draw: Callable[[Any], Any],
    size: tuple[float, float],
    *,
    dpi: int = 100,
    margins: tuple[float, float, float, float] | None = None,
) -> bytes:
    """Call ``draw(ax)`` on a new Figure and return the PNG bytes.

    The figure uses constrained layout, unless ``margins`` (left, right, top, bottom, in
    inches) fix the axes in place: much faster (constrained layout measures every text again
    on each draw), for plots redrawn interactively whose labels have a known size.
    """
    require("matplotlib", "notebook")
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=dpi, layout=None if margins else "constrained")
    if margins is not None:
        left, right, top, bottom = margins
        width, height = size
        figure.subplots_adjust(
            left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height
        )
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
