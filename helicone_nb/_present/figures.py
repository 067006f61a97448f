"""Figure to PNG: draw on a fresh matplotlib Figure (no pyplot, no global state)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from .._errors import require


def _fixed(
    figure: Any, size: tuple[float, float], margins: tuple[float, float, float, float]
) -> None:
    left, right, top, bottom = margins
    width, height = size
    figure.subplots_adjust(
        left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height
    )


def _png(figure: Any, dpi: int, compress_level: int = 6) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": compress_level})
    return buffer.getvalue()


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
        _fixed(figure, size, margins)
    draw(figure.add_subplot())
    return _png(figure, dpi)


class ReusedFigure:
    """One figure redrawn again and again (an interactive plot): PNG bytes like figure_png.

    Creating a Figure, its Axes and their tick objects is a good part of a small plot's cost;
    this keeps them and, before each ``draw(ax)``, removes what the last draw added (patches,
    lines, collections, texts, images, the legend) and forgets its data limits. The axes stay
    fixed by ``margins`` (inches) and the title is placed without the automatic search for the
    top tick labels (a second layout of the x axis per draw). Thread-safe: one draw at a time.
    A ``draw`` that adds twin axes or changes more than the artists above must not use it.
    """

    def __init__(
        self, size: tuple[float, float], *, dpi: int, margins: tuple[float, float, float, float]
    ) -> None:
        import threading

        self.size, self.dpi, self.margins = size, dpi, margins
        self._lock = threading.Lock()
        self._ax: Any = None

    def png(self, draw: Callable[[Any], Any]) -> bytes:
        """Call ``draw(ax)`` on the kept figure and return the PNG bytes."""
        require("matplotlib", "notebook")
        with self._lock:
            ax = self._ax
            if ax is None:
                from matplotlib.figure import Figure

                figure = Figure(figsize=self.size, dpi=self.dpi)
                _fixed(figure, self.size, self.margins)
                ax = self._ax = figure.add_subplot()
            else:
                for artist in [*ax.patches, *ax.lines, *ax.collections, *ax.texts, *ax.images]:
                    artist.remove()
                if ax.get_legend() is not None:
                    ax.get_legend().remove()
                ax.relim()
                ax.set_autoscale_on(True)  # the last draw's set_ylim(bottom=0) switched it off
            draw(ax)
            ax.set_title(ax.get_title(), y=1.0, fontsize=ax.title.get_fontsize())
            # zlib at its fastest level: the largest single cost of a redraw at level 6 (the
            # default), for a PNG shown once and replaced at the next change
            return _png(ax.figure, self.dpi, compress_level=1)


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
