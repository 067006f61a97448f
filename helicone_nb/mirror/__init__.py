"""A local mirror of a Helicone organisation's request log, answered with Helicone's semantics.

``helicone-nb sync --db PATH`` (or :meth:`Mirror.sync`) copies request rows (metadata, not
bodies) into a directory of Hive-partitioned Parquet files, one per day, that DuckDB, Spark or
ClickHouse read without helicone_nb. :meth:`Mirror.client` answers every session query from
it in process; :meth:`Mirror.sql` runs SQL over it, also under Helicone's HQL table name
``request_response_rmt``.

Modules: ``_manifest`` (the manifest: which files are the mirror, atomic swaps),
``_files`` (the Parquet files: columns, commit, the writer lock), ``_rows`` (API rows to the
mirror's columns), ``_sync`` (incremental, resumable sync), ``_hql`` (the HQL view),
``_local`` (the client answered from a mirror), ``_mirror`` (the :class:`Mirror` class).
"""

from __future__ import annotations

from ._manifest import (
    MIRROR_BASE_URL,
    MirrorCorruptError,
    MirrorError,
    MirrorOrganizationError,
    NotAMirrorError,
)
from ._mirror import Mirror, MirrorInfo

__all__ = [
    "MIRROR_BASE_URL",
    "Mirror",
    "MirrorCorruptError",
    "MirrorError",
    "MirrorInfo",
    "MirrorOrganizationError",
    "NotAMirrorError",
]
