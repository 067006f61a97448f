"""``demo_backend``: a Backend loaded with demo data, cached on disk between kernels.

Generating a large demo takes seconds, so from :data:`CACHE_FROM_REQUESTS` requests up the
generated store is kept as a DuckDB file in the ``demo`` folder of the package's cache directory
(the client's page cache uses the same one: ``$HELICONE_NB_CACHE_DIR`` or the platform's),
keyed by seed, size, generator version and the numpy and DuckDB versions. The file is written
under a temporary name and renamed into place, so a crash or a second process never sees half a
file. Smaller demos generate faster than a file can be written, so they are never cached.

A cache file is only ever read: the backend copies it into its own database, so tags added to
one demo never leak into the next. When the cache directory is not writable the demo is
generated in memory every time.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from .._client.cache import default_cache_dir
from ._backend import Backend
from ._demo import generate_demo
from ._demo_period import DEMO_DEFAULT_REQUESTS, GENERATOR_VERSION
from ._store import SOURCE_COLUMNS, Store

#: Demos of at least this many requests are cached on disk.
CACHE_FROM_REQUESTS = 200_000


def _cache_file(requests: int, seed: int) -> Path:
    versions = f"v{GENERATOR_VERSION}-np{np.__version__}-duckdb{duckdb.__version__}"
    return default_cache_dir() / "demo" / f"demo-{versions}-seed{seed}-n{requests}.duckdb"


def _write_cache(target: Path, requests: int, seed: int) -> bool:
    """Generate the demo into ``target`` atomically; False when the directory is not writable."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    except OSError:
        return False
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # DuckDB wants to create the file itself
    try:
        staging = Backend(tmp)
        try:
            staging.ingest_frame(generate_demo(requests, seed))
            staging.store.execute("CHECKPOINT")
        finally:
            staging.close()
        os.replace(tmp, target)
        return True
    except OSError:
        return False
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _copy_from(backend: Backend, source: Path) -> None:
    store: Store = backend.store
    cols = ", ".join(SOURCE_COLUMNS)
    with store.write_lock:
        cur = store.cursor()
        cur.execute("ATTACH ? AS demo_cache (READ_ONLY)", [str(source)])
        try:
            store.insert_from(f"SELECT {cols} FROM demo_cache.requests")
        finally:
            cur.execute("DETACH demo_cache")


def demo_backend(
    requests: int = DEMO_DEFAULT_REQUESTS,
    seed: int = 0,
    *,
    cache: bool = True,
    **backend_kwargs: Any,
) -> Backend:
    """A :class:`Backend` holding the deterministic demo organisation.

    Parameters
    ----------
    requests
        Number of demo requests (1,000 to 5,000,000).
    seed
        Seed of the generator; same ``(requests, seed)``, same data.
    cache
        Reuse (and keep) large demos in the user's cache directory (``$HELICONE_NB_CACHE_DIR``
        overrides it). False: always generate in memory.
    **backend_kwargs
        Passed to :class:`Backend` (``db``, ``api_key``, ``quirks``, ``delay_s``, ...).

    Examples
    --------
    >>> from helicone_nb.backend import demo_backend, DEMO_START, DEMO_END
    >>> b = demo_backend(2_000, cache=False)
    >>> b.request_count
    2000
    """
    backend = Backend(**backend_kwargs)
    target = _cache_file(requests, seed) if cache and requests >= CACHE_FROM_REQUESTS else None
    try:
        if target is not None and (target.exists() or _write_cache(target, requests, seed)):
            try:
                _copy_from(backend, target)
                return backend
            except duckdb.Error:  # a damaged cache file: drop it, generate in memory below
                with contextlib.suppress(OSError):
                    target.unlink()
        backend.ingest_frame(generate_demo(requests, seed))
        return backend
    except BaseException:
        backend.close()
        raise
