"""Where an API key could leak, and how to look for it (shared with the benchmark)."""

from __future__ import annotations

import base64
import json
import re
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: An API-key-looking token: ``sk-`` then at least 16 key characters (placeholders such as
#: ``sk-helicone-...`` and ``sk-local`` are too short to match).
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_-]{16,}")


def encodings(key: str) -> list[bytes]:
    """The forms a key could be stored in: text, UTF-16, base64 (also of "Bearer key"), hex."""
    raw = key.encode()
    return [
        raw,
        key.encode("utf-16-le"),
        base64.b64encode(raw),
        base64.b64encode(b"Bearer " + raw),
        raw.hex().encode(),
        # the distinctive middle of the key, in case something truncates or masks the ends
        raw[len(raw) // 4 : 3 * len(raw) // 4],
    ]


def leaks_in_bytes(data: bytes, key: str) -> list[str]:
    """How ``key`` shows up in ``data`` (empty when it does not)."""
    found = []
    for form in encodings(key):
        if form in data:
            found.append(form[:12].decode("latin-1") + "...")
    return found


def leaks_in_text(text: str, key: str) -> list[str]:
    return leaks_in_bytes(text.encode("utf-8", "surrogatepass"), key)


def leaks_in_files(paths: Iterable[Path], key: str) -> list[str]:
    found = []
    for path in paths:
        if path.is_file():
            for how in leaks_in_bytes(path.read_bytes(), key):
                found.append(f"{path.name}: {how}")
        if key in path.name:
            found.append(f"file name {path.name}")
    return found


def exception_texts(exc: BaseException) -> list[str]:
    """Every way an exception is shown: str, repr, the traceback, and its attributes."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(vars(current))]
        for value in vars(current).values():
            if hasattr(value, "to_string"):
                texts.append(value.to_string())
        current = current.__cause__ or current.__context__
    return texts


def notebook_output_leaks(notebook: dict[str, Any], key: str | None = None) -> list[str]:
    """Key-looking tokens (and ``key``) in the outputs and metadata of a notebook."""
    found = []
    for i, cell in enumerate(notebook.get("cells", [])):
        text = json.dumps([cell.get("outputs", []), cell.get("metadata", {})])
        found += [f"cell {i}: {m}" for m in KEY_PATTERN.findall(text)]
        if key is not None:
            found += [f"cell {i}: {how}" for how in leaks_in_text(text, key)]
    meta = json.dumps(notebook.get("metadata", {}))  # widget state lives here
    found += [f"metadata: {m}" for m in KEY_PATTERN.findall(meta)]
    if key is not None:
        found += [f"metadata: {how}" for how in leaks_in_text(meta, key)]
    return found


def widget_states(*roots: Any) -> list[dict[str, Any]]:
    """``get_state()`` of every live widget and of every widget reachable from ``roots``."""
    import warnings

    from ipywidgets import Widget

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        live = list(Widget.widgets.values())
    stack = [*live, *roots]
    seen: dict[str, Any] = {}
    while stack:
        widget = stack.pop()
        if not isinstance(widget, Widget) or widget.model_id in seen:
            continue
        seen[widget.model_id] = widget
        for name in widget.keys:
            value = getattr(widget, name)
            stack.extend(value if isinstance(value, list | tuple) else [value])
    return [w.get_state() for w in seen.values()]


def state_text(states: list[dict[str, Any]]) -> str:
    def default(value: Any) -> str:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).decode("latin-1")
        return repr(value)

    return json.dumps(states, default=default)
