"""HTML that reports clicks: the one widget here that is not a standard ipywidget.

ipywidgets' ``HTML`` cannot tell the kernel that something in it was clicked, so the sessions
table (sort by a header, open a row) is an ``anywidget`` (a few lines of plain JavaScript sent
with the widget, no front-end build) that shows its ``value`` like ``HTML`` does and sends
``{"action": ..., "value": ...}`` when an element carrying ``data-hnb-action`` is clicked or
activated with Enter or Space. Python renders and escapes all of the HTML, as for ``HTML``.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any

from .._errors import require

_ESM = """
function render({ model, el }) {
  const draw = () => { el.innerHTML = model.get("value"); };
  const fire = (event) => {
    const target = event.target.closest("[data-hnb-action]");
    if (!target || !el.contains(target)) return;
    event.preventDefault();
    model.send({ action: target.dataset.hnbAction, value: target.dataset.hnbValue ?? "" });
  };
  draw();
  model.on("change:value", draw);
  el.addEventListener("click", fire);
  el.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") fire(event);
  });
}
export default { render };
"""

Handler = Callable[[str, str], Any]


def action_attrs(action: str, value: str) -> str:
    """The attributes that make an element report ``(action, value)`` when clicked."""
    return (
        f" data-hnb-action='{html.escape(action)}' data-hnb-value='{html.escape(value)}'"
        " tabindex='0'"
    )


@functools.cache
def _widget_class() -> Any:
    base: Any = require("anywidget", "notebook").AnyWidget
    import traitlets

    class ClickableHTML(base):  # type: ignore[misc]
        """HTML (``value``) whose ``data-hnb-action`` elements call :meth:`on_click` handlers."""

        _esm = _ESM
        value = traitlets.Unicode("").tag(sync=True)

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._handlers: list[Handler] = []
            self.on_msg(self._received)

        def on_click(self, handler: Handler) -> None:
            """Call ``handler(action, value)`` for every click the page reports."""
            self._handlers.append(handler)

        def click(self, action: str, value: str = "") -> None:
            """Act as if the element with this action and value had been clicked."""
            for handler in list(self._handlers):
                handler(action, value)

        def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
            if isinstance(content, dict):
                self.click(str(content.get("action", "")), str(content.get("value", "")))

    return ClickableHTML


def clickable_html(**kwargs: Any) -> Any:
    """A new :class:`ClickableHTML` widget (anywidget is imported on first use)."""
    return _widget_class()(**kwargs)
