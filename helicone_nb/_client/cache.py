"""On-disk page cache: re-running a cell costs nothing, and a pull that died resumes.

Each entry is one page of one canonical query (or that query's count), stored as a pickle of
the typed page frame so the warm path is a file read plus ``pickle.loads``. Keys are SHA-256
digests of the canonical query (resolved absolute window, the filter's wire form, page offset
and size), the base URL and a one-way fingerprint of the API key: two organisations never share
an entry and the key itself never touches disk.

Freshness: a window that ended more than ``settle`` ago (Helicone's ingestion lag, default one
hour) cannot change any more and is kept until cleared; a window reaching into the last
``settle`` gets a short time-to-live (``ttl``, default five minutes).

Safety: the directory is created 0700 and files 0600; writes go to a temporary file that is
renamed into place, so a crash or two kernels writing at once never leave a torn entry; an
entry that cannot be read is deleted and fetched again. Entries are pickles: point the cache
only at a directory that you alone can write.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import os
import pickle
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import UsageError

_FORMAT = 1
_SUFFIX = ".page"
#: How many decoded entries ``get(..., keep=True)`` keeps in memory.
KEPT = 8


def default_cache_dir() -> Path:
    """``$HELICONE_NB_CACHE_DIR``, else the platform's user cache directory + helicone_nb."""
    env = os.environ.get("HELICONE_NB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "helicone_nb"


@dataclass(frozen=True)
class CacheInfo:
    """What :meth:`PageCache.info` reports."""

    directory: Path
    entries: int
    bytes: int
    oldest: _dt.datetime | None

    def __str__(self) -> str:
        oldest = self.oldest.isoformat(timespec="seconds") if self.oldest else "-"
        return (
            f"{self.entries} entries, {self.bytes / 1e6:.1f} MB in {self.directory} "
            f"(oldest {oldest})"
        )


class PageCache:
    """Pages and counts of session / request queries, on disk.

    Parameters
    ----------
    directory
        Where entries live; default :func:`default_cache_dir`.
    settle
        A window that ended longer ago than this is immutable and cached indefinitely.
    ttl
        Time-to-live of entries whose window reaches into the last ``settle``.
    clock
        Returns the current time as an aware datetime (tests pass a fake clock).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        settle: _dt.timedelta = _dt.timedelta(hours=1),
        ttl: _dt.timedelta = _dt.timedelta(minutes=5),
        clock: Callable[[], _dt.datetime] | None = None,
    ) -> None:
        self.directory = Path(directory).expanduser() if directory else default_cache_dir()
        self.settle = settle
        self.ttl = ttl
        #: the current time, as an aware datetime (freshness of entries, open windows)
        self.clock: Callable[[], _dt.datetime] = clock or (lambda: _dt.datetime.now(_dt.UTC))
        self._ready = False
        self.hits = 0
        self.misses = 0
        # decoded entries read with keep=True, while their file is unchanged (see get)
        self._kept: OrderedDict[str, tuple[tuple[int, int, int], float | None, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PageCache({str(self.directory)!r})"

    def _root(self) -> Path:
        root = self.directory / f"v{_FORMAT}"
        if not self._ready:
            for d in (self.directory, root):
                d.mkdir(mode=0o700, parents=True, exist_ok=True)
                with contextlib.suppress(OSError):
                    os.chmod(d, 0o700)
            self._ready = True
        return root

    def _path(self, key: str) -> Path:
        if len(key) < 8 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("cache keys are hex digests")
        return self._root() / key[:2] / (key + _SUFFIX)

    def expiry_for(self, window_end: _dt.datetime | None) -> float | None:
        """Epoch seconds at which an entry for a window ending at ``window_end`` expires."""
        now = self.clock()
        if window_end is not None and window_end <= now - self.settle:
            return None
        return (now + self.ttl).timestamp()

    def get(self, key: str, *, keep: bool = False) -> Any:
        """The cached value, or None when missing, expired or unreadable.

        ``keep=True``: also keep the decoded value in memory (the last :data:`KEPT` such
        entries) and hand the same object back while the entry's file is unchanged (same
        inode, size and modification time: another process rewriting or deleting it is
        noticed). The caller must not change a kept value; the whole result of a completed
        query is read this way, and copied before it is returned.
        """
        path = self._path(key)
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                signature = (st.st_ino, st.st_size, st.st_mtime_ns)
                if keep:
                    with self._lock:
                        kept = self._kept.get(key)
                    if kept is not None and kept[0] == signature:
                        return self._fresh(kept[1], kept[2])
                raw = fh.read()
        except OSError:  # missing (FileNotFoundError) or unreadable
            self.misses += 1
            return None
        collecting = gc.isenabled()
        # a page holds thousands of small lists (user_ids) and dicts (properties): created
        # with the collector running, they trigger full passes over the notebook's whole heap,
        # which cost more than reading the entry (nothing in an entry makes reference cycles)
        gc.disable()
        try:
            fmt, expires, value = pickle.loads(raw)
            if fmt != _FORMAT:
                raise ValueError("old format")
        except Exception:  # a torn or foreign file: never fatal, fetch again
            with contextlib.suppress(OSError):
                path.unlink()
            self.misses += 1
            return None
        finally:
            if collecting:
                gc.enable()
        if keep:
            with self._lock:
                self._kept[key] = (signature, expires, value)
                self._kept.move_to_end(key)
                while len(self._kept) > KEPT:
                    self._kept.popitem(last=False)
        return self._fresh(expires, value)

    def _fresh(self, expires: float | None, value: Any) -> Any:
        if expires is not None and expires <= self.clock().timestamp():
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any, window_end: _dt.datetime | None) -> None:
        """Store ``value`` atomically. Failures to write are ignored (the cache is optional)."""
        path = self._path(key)
        with self._lock:
            self._kept.pop(key, None)
        payload = pickle.dumps(
            (_FORMAT, self.expiry_for(window_end), value), protocol=pickle.HIGHEST_PROTOCOL
        )
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=_SUFFIX)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return

    def _entries(self) -> list[Path]:
        root = self.directory / f"v{_FORMAT}"
        if not root.is_dir():
            return []
        return [p for p in root.glob(f"*/*{_SUFFIX}") if not p.name.startswith(".tmp-")]

    def info(self) -> CacheInfo:
        """Number of entries, bytes on disk and the oldest entry's time."""
        entries = 0
        size = 0
        oldest: float | None = None
        for p in self._entries():
            try:
                st = p.stat()
            except OSError:
                continue
            entries += 1
            size += st.st_size
            oldest = st.st_mtime if oldest is None else min(oldest, st.st_mtime)
        when = _dt.datetime.fromtimestamp(oldest, _dt.UTC) if oldest is not None else None
        return CacheInfo(self.directory, entries, size, when)

    def clear(self, older_than: _dt.timedelta | str | None = None) -> int:
        """Delete entries (all, or those written more than ``older_than`` ago); return count.

        ``older_than`` is a timedelta or a relative string such as ``"7d"`` or ``"12h"``.
        """
        cutoff: float | None = None
        if older_than is not None:
            if isinstance(older_than, str):
                from .._wire.time import relative_seconds

                seconds = relative_seconds(older_than)
                if seconds is None:
                    raise UsageError(
                        f"older_than={older_than!r}: use a timedelta or a string like '7d', '12h'"
                    )
                older_than = _dt.timedelta(seconds=seconds)
            if not isinstance(older_than, _dt.timedelta):
                raise UsageError("older_than must be a timedelta, a string like '7d', or None")
            cutoff = self.clock().timestamp() - older_than.total_seconds()
        removed = 0
        for p in self._entries():
            try:
                if cutoff is None or p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
            except OSError:
                continue
        return removed
