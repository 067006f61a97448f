"""The mirror's manifest: one small JSON file that says which Parquet files ARE the mirror.

Every change to a mirror writes new files first and then replaces ``mirror.json`` atomically
(write a temporary file, fsync, ``os.replace``), so a reader always sees one complete
generation and a sync killed at any moment leaves the previous manifest (or the new one) in
place, never half of one. Files no manifest names are leftovers of a killed write; the next
writer deletes them.

Times in the manifest are UTC ISO-8601 strings with whole seconds; ranges are ``[start, end)``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._client.slices import merge_ranges, subtract_ranges
from .._errors import HeliconeError, UsageError

#: The base URL a mirror client reports (nothing is sent anywhere).
MIRROR_BASE_URL = "http://mirror.helicone-nb.invalid"
MANIFEST_NAME = "mirror.json"
FORMAT_NAME = "helicone_nb.mirror"
#: Bumped when the layout changes incompatibly; a mirror of another version is refused.
FORMAT_VERSION = 1

Range = tuple[_dt.datetime, _dt.datetime]

__all__ = ["merge_ranges", "subtract_ranges"]  # re-exported for the mirror's modules


class MirrorError(HeliconeError):
    """A mirror cannot be read or written; the message says what to do. Nothing was changed."""


class NotAMirrorError(MirrorError, UsageError):
    """The path is not a helicone_nb mirror (no ``mirror.json``), or not a usable one."""


class MirrorCorruptError(MirrorError):
    """A file the manifest names is missing, truncated or not Parquet."""


class MirrorOrganizationError(MirrorError, UsageError):
    """The key or server given is not the one this mirror was synced from."""


def utc(value: _dt.datetime) -> _dt.datetime:
    """``value`` as an aware UTC datetime (naive values are read as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


def iso(value: _dt.datetime) -> str:
    """``2025-06-02T10:00:00Z``."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> _dt.datetime:
    return utc(_dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


@dataclass
class PartitionFile:
    """One Parquet file of the mirror: path relative to the mirror, rows and size in bytes."""

    path: str
    rows: int
    bytes: int


@dataclass
class Manifest:
    """What ``mirror.json`` holds. ``generation`` grows by one with every committed change."""

    generation: int = 0
    base_url: str | None = None
    key_fingerprint: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    #: day (``YYYY-MM-DD``) -> the files holding that day's requests (one version per request)
    partitions: dict[str, list[PartitionFile]] = field(default_factory=dict)
    #: ``[start, end)`` ranges of request_created_at fully synced from the server
    ranges: list[Range] = field(default_factory=list)
    #: a sync under way: its target ranges, completed slices and staged files (None when idle)
    pending: dict[str, Any] | None = None
    #: summary of the last completed sync (or import)
    last_sync: dict[str, Any] | None = None
    imports: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = ""

    @property
    def rows(self) -> int:
        return sum(f.rows for files in self.partitions.values() for f in files)

    @property
    def files(self) -> list[PartitionFile]:
        return [f for day in sorted(self.partitions) for f in self.partitions[day]]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "generation": self.generation,
            "created_at": self.created_at,
            "base_url": self.base_url,
            "key_fingerprint": self.key_fingerprint,
            "columns": self.columns,
            "rows": self.rows,
            "ranges": [[iso(a), iso(b)] for a, b in self.ranges],
            "last_sync": self.last_sync,
            "pending": self.pending,
            "imports": self.imports,
            "partitions": {
                day: [asdict(f) for f in files] for day, files in sorted(self.partitions.items())
            },
        }

    @classmethod
    def from_json(cls, data: Any, where: Path) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise NotAMirrorError(f"{where} is not a helicone_nb mirror manifest")
        if data.get("version") != FORMAT_VERSION:
            raise NotAMirrorError(
                f"{where} is a mirror of format version {data.get('version')!r}; this "
                f"helicone_nb reads version {FORMAT_VERSION}. Upgrade helicone_nb, or sync "
                "into a new directory."
            )
        try:
            return cls(
                generation=int(data["generation"]),
                base_url=data.get("base_url"),
                key_fingerprint=data.get("key_fingerprint"),
                columns=dict(data.get("columns") or {}),
                partitions={
                    str(day): [
                        PartitionFile(str(f["path"]), int(f["rows"]), int(f["bytes"]))
                        for f in files
                    ]
                    for day, files in (data.get("partitions") or {}).items()
                },
                ranges=[(parse_iso(a), parse_iso(b)) for a, b in data.get("ranges") or []],
                pending=data.get("pending"),
                last_sync=data.get("last_sync"),
                imports=list(data.get("imports") or []),
                created_at=str(data.get("created_at") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MirrorCorruptError(
                f"{where} is damaged ({type(exc).__name__}: {exc}); restore it from a backup "
                "or sync into a new directory"
            ) from None


def read_manifest(root: Path) -> Manifest | None:
    """The manifest of the mirror at ``root``; None when ``root`` holds no mirror yet.

    Raises :class:`NotAMirrorError` for a file, or a non-empty directory without a manifest.
    """
    if root.exists() and not root.is_dir():
        raise NotAMirrorError(
            f"{root} is a file, not a mirror directory; give a directory path (it is created "
            "by the first sync or import)"
        )
    path = root / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if root.is_dir() and any(p.name not in _OWN_NAMES for p in root.iterdir()):
            raise NotAMirrorError(
                f"{root} is not a helicone_nb mirror (no {MANIFEST_NAME}) and is not empty; "
                "give a new or empty directory"
            ) from None
        return None
    try:
        data = json.loads(text)
    except ValueError:
        raise MirrorCorruptError(
            f"{path} is not valid JSON; restore it from a backup or sync into a new directory"
        ) from None
    return Manifest.from_json(data, path)


#: Names a writer may create before the first manifest (a new mirror being written).
_OWN_NAMES = frozenset({MANIFEST_NAME, "requests", "staging", ".lock", ".tmp"})


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Replace ``mirror.json`` atomically (the file is complete or unchanged, never half)."""
    path = root / MANIFEST_NAME
    tmp = root / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    data = json.dumps(manifest.to_json(), indent=1, sort_keys=False).encode("utf-8")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable (POSIX); harmless where directories cannot be opened
        fd = os.open(root, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
