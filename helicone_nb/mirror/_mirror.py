"""``Mirror``: a local copy of an organisation's request log, and what it answers.

A mirror is a directory of Parquet files (see ``_files``) named by a manifest. Readers never
lock anything: each read opens its own in-memory DuckDB over the files of the current
manifest, so a notebook can query while ``helicone-nb sync`` writes from another process and
sees the last completed sync.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._manifest import (
    Manifest,
    MirrorError,
    iso,
    read_manifest,
    subtract_ranges,
    utc,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from .._client.clients import Client
    from ..backend import Backend, ImportReport
    from ._local import MirrorClient
    from ._sync import SyncReport

T = TypeVar("T")

_READ_ATTEMPTS = 5


@dataclass(frozen=True)
class MirrorInfo:
    """What a mirror holds (``Mirror.info()``)."""

    path: str
    generation: int
    requests: int
    days: int
    bytes: int
    first_request: _dt.datetime | None
    last_request: _dt.datetime | None
    synced_ranges: list[tuple[_dt.datetime, _dt.datetime]]
    base_url: str | None
    last_sync: dict[str, Any] | None
    sync_in_progress: bool

    def __str__(self) -> str:
        lines = [
            f"mirror {self.path}: {self.requests:,} requests over {self.days} day(s), "
            f"{self.bytes / 1e6:,.1f} MB (generation {self.generation})"
        ]
        if self.first_request is not None and self.last_request is not None:
            lines.append(f"  requests from {iso(self.first_request)} to {iso(self.last_request)}")
        for start, end in self.synced_ranges:
            lines.append(f"  synced [{iso(start)}, {iso(end)})")
        if self.base_url:
            lines.append(f"  from {self.base_url}")
        if self.last_sync:
            lines.append(
                "  last sync finished "
                + str(self.last_sync.get("finished_at", "?"))
                + f": {self.last_sync.get('calls', 0):,} calls, "
                f"{self.last_sync.get('added', 0):,} added, "
                f"{self.last_sync.get('updated', 0):,} updated"
            )
        if self.sync_in_progress:
            lines.append("  a sync was interrupted or is running; the next sync continues it")
        return "\n".join(lines)


class Mirror:
    """A local mirror of a Helicone organisation's request log (metadata, no bodies).

    Parameters
    ----------
    path
        The mirror directory. It is created by the first :meth:`sync` or :meth:`import_jsonl`;
        an existing directory must be a mirror or empty.

    Examples
    --------
    >>> import helicone_nb as hnb
    >>> m = hnb.Mirror("~/helicone-mirror")                 # doctest: +SKIP
    >>> m.sync(start="90d")                                 # doctest: +SKIP
    >>> m.sql("SELECT model, count(*) FROM requests GROUP BY 1")   # doctest: +SKIP
    >>> client = m.client()                                 # doctest: +SKIP
    >>> client.fetch_sessions("7d")                         # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        read_manifest(self.path)  # refuse a file or a foreign directory right away
        self._loaded: tuple[int, Backend] | None = None

    def __repr__(self) -> str:
        return f"<Mirror {self.path}>"

    # -- reading ---------------------------------------------------------------------------

    def _manifest(self) -> Manifest:
        from ._files import check_files, corrupt_error, load_manifest_or_fail

        for _ in range(_READ_ATTEMPTS):
            manifest = load_manifest_or_fail(self.path)
            bad = check_files(self.path, manifest)
            if bad is None:
                return manifest
            again = read_manifest(self.path)
            if again is not None and again.generation != manifest.generation:
                continue  # a writer swapped generations meanwhile: read the new one
            full = self.path / bad.path
            detail = (
                f"has {full.stat().st_size:,} bytes but the manifest says {bad.bytes:,} "
                "(truncated or half-written)"
                if full.exists()
                else "is missing"
            )
            raise corrupt_error(self.path, bad, detail)
        raise MirrorError(f"mirror {self.path} keeps changing under the reader; try again")

    def _read(self, work: Callable[[Manifest], T]) -> T:
        """Run ``work`` on a consistent generation, retrying when a writer replaced it."""
        import duckdb

        from ._files import corrupt_error

        for attempt in range(_READ_ATTEMPTS):
            manifest = self._manifest()
            try:
                return work(manifest)
            except (duckdb.IOException, duckdb.InvalidInputException, FileNotFoundError) as exc:
                again = read_manifest(self.path)
                if again is not None and again.generation != manifest.generation:
                    time.sleep(0.01 * attempt)
                    continue
                bad = next((f for f in manifest.files if f.path in str(exc)), None)
                if bad is None:
                    raise
                raise corrupt_error(
                    self.path, bad, f"cannot be read ({str(exc).splitlines()[0]})"
                ) from exc
        raise MirrorError(f"mirror {self.path} keeps changing under the reader; try again")

    def _connection(self, manifest: Manifest) -> duckdb.DuckDBPyConnection:
        from ._files import connect, files_sql, mirror_columns
        from ._hql import hql_select

        columns = manifest.columns or mirror_columns()
        con = connect()
        con.execute(
            f"CREATE VIEW requests AS SELECT * FROM {files_sql(self.path, manifest.files, columns)}"
        )
        con.execute(f"CREATE VIEW request_response_rmt AS {hql_select(columns, 'requests')}")
        return con

    def sql(self, query: str, params: Any = None) -> pd.DataFrame:
        """Run a DuckDB SQL query over the mirror; returns a DataFrame.

        Two views: ``requests`` (the mirror's columns: the embedded backend's request
        columns, ``cost`` in nano-USD, ``latency`` in ms, session id/name/path split out of
        ``properties``) and ``request_response_rmt`` (Helicone's HQL table, its column names
        and types), so HQL queries run locally without HQL's row caps. Times are UTC.
        """
        if not isinstance(query, str) or not query.strip():
            raise MirrorError("query must be a non-empty SQL string")

        def run(manifest: Manifest) -> pd.DataFrame:
            con = self._connection(manifest)
            try:
                return con.execute(query, params).df()
            finally:
                con.close()

        return self._read(run)

    def info(self) -> MirrorInfo:
        """What the mirror holds: requests, days, size, synced ranges, the last sync."""

        def run(manifest: Manifest) -> MirrorInfo:
            first = last = None
            if manifest.files:
                con = self._connection(manifest)
                try:
                    row = con.execute(
                        "SELECT min(request_created_at), max(request_created_at) FROM requests"
                    ).fetchone()
                finally:
                    con.close()
                if row is not None and row[0] is not None:
                    first, last = utc(row[0]), utc(row[1])
            return MirrorInfo(
                path=str(self.path),
                generation=manifest.generation,
                requests=manifest.rows,
                days=len(manifest.partitions),
                bytes=sum(f.bytes for f in manifest.files),
                first_request=first,
                last_request=last,
                synced_ranges=list(manifest.ranges),
                base_url=manifest.base_url,
                last_sync=manifest.last_sync,
                sync_in_progress=manifest.pending is not None,
            )

        return self._read(run)

    def backend(self, **options: Any) -> Backend:
        """The embedded backend holding the mirror's rows in memory.

        Without ``options`` it is loaded once per generation and shared by :meth:`client`;
        ``options`` (``api_key``, ``quirks``, ``delay_s``, ``faults``: see
        :class:`~helicone_nb.backend.Backend`) give a new one, e.g. for ``helicone-nb serve``.
        """
        from ..backend import Backend
        from ._files import files_sql, quote, select_list, store_columns

        def load(manifest: Manifest) -> Backend:
            loaded = self._loaded
            if not options and loaded is not None and loaded[0] == manifest.generation:
                return loaded[1]
            columns = manifest.columns
            wanted = list(store_columns())
            backend = Backend(**options)
            store = backend.store
            try:
                with store.write_lock:
                    store.execute(
                        f"INSERT INTO requests ({', '.join(quote(n) for n, _, _ in wanted)}) "
                        f"SELECT {select_list(columns, wanted)} "
                        f"FROM {files_sql(self.path, manifest.files, columns)}"
                    )
                    store.version += 1
            except BaseException:
                backend.close()
                raise
            if not options:
                if self._loaded is not None:
                    self._loaded[1].close()
                self._loaded = (manifest.generation, backend)
            return backend

        return self._read(load)

    def client(self, **kwargs: Any) -> MirrorClient:
        """A :class:`~helicone_nb.Client` answered in process from this mirror.

        ``fetch_sessions``, ``count_sessions``, ``session_names``, ``fetch_session_requests``
        (the whole session unless a window is given) and ``fetch_requests`` keep Helicone's
        semantics; they are answered by the embedded engine over the mirror's rows, without
        network, cache or rate limit. The rows are those of the last completed sync when this
        is called; call it again after a sync to see new rows.
        """
        from ._local import MirrorClient

        backend = self.backend()
        manifest = self._manifest()
        kwargs.setdefault("cache", False)
        if "base_url" in kwargs or "region" in kwargs:
            raise MirrorError("base_url / region do not apply to a mirror client")
        name = f"mirror-{manifest.key_fingerprint or 'local'}-{manifest.generation}"
        return MirrorClient(self, backend, name, **kwargs)

    def data_range(self) -> tuple[_dt.datetime, _dt.datetime] | None:
        """``(first, last)`` request time held by the mirror, None when it is empty."""
        info = self.info()
        if info.first_request is None or info.last_request is None:
            return None
        return info.first_request, info.last_request

    def export_parquet(self, directory: str | os.PathLike[str]) -> Path:
        """Copy the mirror's data to ``directory`` as Hive-partitioned Parquet (``day=...``).

        The copy is one consistent generation; other engines read it as is, e.g. DuckDB
        ``read_parquet('DIR/**/*.parquet', hive_partitioning = true)``. Returns the directory.
        """
        target = Path(directory).expanduser()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise MirrorError(f"{target} exists and is not an empty directory; give a new path")

        def copy(manifest: Manifest) -> Path:
            target.mkdir(parents=True, exist_ok=True)
            try:
                for f in manifest.files:
                    dest = target / Path(f.path).relative_to("requests")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self.path / f.path, dest)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
            return target

        return self._read(copy)

    # -- writing ---------------------------------------------------------------------------

    def sync(
        self,
        client: Client | None = None,
        start: Any = None,
        end: Any = None,
        *,
        settle: Any = "1h",
        rescan: Any = None,
        concurrency: int = 8,
        max_calls: int | None = None,
        progress: bool | None = None,
        allow_new_key: bool = False,
        say: Callable[[str], None] | None = None,
    ) -> SyncReport:
        """Pull new request rows from Helicone into the mirror (metadata only, no bodies).

        Parameters
        ----------
        client
            A :class:`~helicone_nb.Client` of the organisation; default ``Client()`` (key
            from ``$HELICONE_API_KEY``). One organisation per mirror: a client of another
            server or key is refused.
        start, end
            The first sync needs ``start`` (``"90d"``, ``"2025-01-01"``, a datetime); later
            syncs continue from where the mirror ends. ``end`` defaults to now.
        settle
            Pull this much before the synced end again (rows arrive late), default ``"1h"``.
        rescan
            Also pull the last ``rescan`` again (``"30d"``): picks up late scores, feedback
            and property changes.
        concurrency
            Calls in flight at once.
        max_calls
            Stop after this many calls; the next sync continues.
        progress
            Show a progress bar (default: when interactive).
        allow_new_key
            Accept a different key for the same server (a rotated key of the same org).
        say
            Called with a line of text before a large sync (how many calls it expects).

        Returns a :class:`SyncReport`. A sync killed at any moment loses nothing completed:
        the next one continues.
        """
        from ._sync import sync

        return sync(
            self.path,
            client,
            start,
            end,
            settle=settle,
            rescan=rescan,
            concurrency=concurrency,
            max_calls=max_calls,
            progress=progress,
            allow_new_key=allow_new_key,
            say=say,
        )

    def import_jsonl(self, source: str | os.PathLike[str]) -> ImportReport:
        """Add a Helicone export (JSONL of ``HeliconeRequest`` rows) to the mirror.

        Per request the row with the greatest ``updated_at`` wins (within one file: the first
        line). Bodies are not copied. Bad lines are skipped and reported.
        """
        from ._files import (
            commit_staged,
            new_manifest,
            publish,
            remove_leftovers,
            stage_jsonl,
            writer_lock,
        )

        source_path = Path(source).expanduser()
        with writer_lock(self.path):
            manifest = read_manifest(self.path) or new_manifest()
            remove_leftovers(self.path, manifest)
            if manifest.pending is not None:
                raise MirrorError(
                    f"mirror {self.path} has an unfinished sync; run the sync again to finish "
                    "it before importing"
                )
            name = f"import-{manifest.generation + 1:06d}"
            report, staged = stage_jsonl(self.path, source_path, name)
            if staged is None:
                return report
            try:
                nxt, superseded, counts = commit_staged(self.path, manifest, [staged])
                nxt.imports = [
                    *manifest.imports,
                    {
                        "file": str(source_path),
                        "at": iso(_now()),
                        "lines": report.read,
                        "added": counts["added"],
                        "updated": counts["updated"],
                    },
                ]
                publish(self.path, nxt, [*superseded, staged])
            finally:
                (self.path / staged).unlink(missing_ok=True)
            # what the mirror gained: requests it held already count as already imported
            report.duplicates = report.read - len(report.bad) - counts["added"]
            report.added = counts["added"]
        return report

    def repair(self) -> list[str]:
        """Drop the days whose files are missing or unreadable; returns those days.

        Their rows leave the mirror and their time leaves the synced ranges, so the next
        sync pulls them again. Nothing else changes.
        """
        import duckdb

        from ._files import connect, publish, writer_lock
        from ._manifest import parse_iso

        with writer_lock(self.path):
            manifest = read_manifest(self.path)
            if manifest is None:
                raise MirrorError(f"no mirror at {self.path}")
            bad_days = []
            con = connect()
            for day, files in manifest.partitions.items():
                for f in files:
                    full = self.path / f.path
                    try:
                        if full.stat().st_size != f.bytes:
                            raise OSError("size")
                        con.execute(f"SELECT count(*) FROM read_parquet('{full}')").fetchone()
                    except (OSError, duckdb.Error):
                        bad_days.append(day)
                        break
            con.close()
            if not bad_days:
                return []
            nxt = Manifest(**manifest.__dict__)
            nxt.generation += 1
            nxt.partitions = {d: f for d, f in manifest.partitions.items() if d not in bad_days}
            cut = [
                (parse_iso(f"{d}T00:00:00Z"), parse_iso(f"{d}T00:00:00Z") + _dt.timedelta(days=1))
                for d in bad_days
            ]
            nxt.ranges = subtract_ranges(manifest.ranges, cut)
            publish(self.path, nxt, [f.path for d in bad_days for f in manifest.partitions[d]])
            return bad_days

    def close(self) -> None:
        """Free the in-memory copy loaded by :meth:`client` (the files are untouched)."""
        if self._loaded is not None:
            self._loaded[1].close()
            self._loaded = None


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)
