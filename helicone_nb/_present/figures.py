"""Figure to PNG: draw on a fresh matplotlib Figure (no pyplot, no global state)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from .._errors import require


def figure_png(draw: Callable[[Any], Any], size: tuple[float, float], *, dpi: int = 100) -> bytes:
    """Call ``draw(ax)`` on a new constrained-layout Figure and return the PNG bytes."""
    require("matplotlib", "notebook")
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=dpi, layout="constrained")
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
