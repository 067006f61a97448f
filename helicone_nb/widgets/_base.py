"""What the widget modules share: the lazy ipywidgets import, display bundles, CSS, small texts."""

from __future__ import annotations

import datetime as _dt
import html
from typing import Any

from .._errors import HeliconeError, UsageError, require
from .._wire.time import check_tz
from ._query import wall_clock

ANY = ""  # drop-down value meaning "no selection" (ipywidgets treats None as "no option")
WIDE = {"description_width": "initial"}
# The mimetype payload ipywidgets 8 puts in a widget's display bundle.
VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
# Colours come from JupyterLab's theme variables (light and dark), with the 0.1.0 colours as
# fallbacks where no theme sets them (Voila's default page, VS Code).
CSS = (
    "<style>"
    ".hnb-table{border-collapse:collapse;font-size:12px;margin:4px 0;"
    "color:var(--jp-ui-font-color1,inherit)}"
    ".hnb-table th,.hnb-table td{padding:3px 8px;line-height:1.4;"
    "border-bottom:1px solid var(--jp-border-color2,rgba(128,128,128,.3));"
    "text-align:left;white-space:nowrap}"
    ".hnb-table th{font-weight:600}"
    ".hnb-table td.num,.hnb-table th.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".hnb-table td.hnb-wrap{white-space:normal;min-width:10em;max-width:22em}"
    ".hnb-table th.hnb-sortable{cursor:pointer;user-select:none}"
    ".hnb-table th.hnb-sortable:hover,.hnb-table tr.hnb-row:hover td{"
    "background:var(--jp-layout-color2,rgba(128,128,128,.12))}"
    ".hnb-table tr.hnb-row{cursor:pointer}"
    ".hnb-table [data-hnb-action]:focus-visible{outline:2px solid var(--jp-brand-color1,#1976d2)}"
    ".hnb-scroll{overflow-x:auto;max-width:100%}"
    ".hnb-error{color:var(--jp-error-color1,#b00020);white-space:pre-wrap}"
    ".hnb-note{color:var(--jp-ui-font-color2,#666)}"
    ".hnb-stale{color:var(--jp-warn-color0,#8a5a00)}"
    "</style>"
)


def ipywidgets() -> Any:
    """The ipywidgets module, or :class:`MissingDependencyError` with the install hint."""
    return require("ipywidgets", "notebook")


def widget_bundle(widget: Any, text: str) -> dict[str, Any]:
    """A display bundle that shows ``widget`` without serialising its traits into a repr."""
    return {
        "text/plain": text,
        VIEW_MIMETYPE: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id},
    }


def pre(text: str) -> str:
    """Preformatted text; inline style, since widget HTML has its own font and line height."""
    return (
        "<pre class='hnb-pre' style='font-family:var(--jp-code-font-family,monospace);"
        "font-size:12px;line-height:1.35;margin:4px 0;white-space:pre;overflow-x:auto'>"
        f"{html.escape(text)}</pre>"
    )


def note(text: str) -> str:
    """A grey note (escaped)."""
    return f"{CSS}<span class='hnb-note'>{html.escape(text)}</span>"


def error(text: str) -> str:
    """A red message (escaped)."""
    return f"{CSS}<span class='hnb-error'>{html.escape(text)}</span>"


def describe_error(exc: BaseException) -> str:
    """The message of a library error; the type and message of anything else."""
    if isinstance(exc, HeliconeError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def plural(count: int, noun: str) -> str:
    """'1 session', '1,234 sessions'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def fmt_window(window: tuple[_dt.datetime, _dt.datetime], tz: str) -> str:
    """'2025-08-24 00:00 to 2025-08-31 00:00 (UTC)'."""
    zone = check_tz(tz)
    first, last = (wall_clock(t, zone) for t in window)
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} ({tz})"


def zone_name(tz: str | _dt.tzinfo) -> str:
    """The IANA name of ``tz`` (the zone drop-down lists names, and the code repeats it)."""
    zone = check_tz(tz)
    if zone is _dt.UTC:
        return "UTC"
    key = getattr(zone, "key", None)
    if not isinstance(key, str):
        raise UsageError(
            f"the widgets need an IANA time zone name such as 'Europe/Berlin', got {tz!r}"
        )
    return key


def zone_options(current: str) -> list[str]:
    """UTC first, then every IANA zone (and ``current`` if the system list lacks it)."""
    import zoneinfo

    names = sorted(zoneinfo.available_timezones() - {"UTC"})
    return ["UTC", *([current] if current not in names and current != "UTC" else []), *names]
