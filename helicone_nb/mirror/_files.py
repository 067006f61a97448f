"""The mirror's Parquet files: the column set, reading a generation, and committing a new one.

Layout of a mirror directory::

    mirror.json                              the manifest (which files are the mirror)
    requests/day=YYYY-MM-DD/gNNNNNN-0.parquet one file per day, one version per request
    staging/                                 rows of a sync under way (not yet the mirror)
    .lock                                    held by the one writer (sync / import)
    .tmp/                                    DuckDB spill space of the writer

Every file is written by DuckDB itself (``COPY ... TO ... (FORMAT parquet)``). A commit merges
new rows into the days they touch, keeping per ``request_id`` the row with the greatest
``updated_at`` (Helicone's own rule; a newer write wins a tie), writes each touched day as a
whole new file, swaps the manifest, and only then deletes the files it replaced. A reader that
listed a file just before it was deleted retries with the new manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import functools
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ._manifest import (
    Manifest,
    MirrorCorruptError,
    MirrorError,
    PartitionFile,
    read_manifest,
    write_manifest,
)

if TYPE_CHECKING:
    from ..backend import ImportReport

#: Request and response bodies are not copied (metadata only); readers see ``''``.
BODY_COLUMNS = ("request_body", "response_body")
#: The order of versions of one request: the greatest ``updated_at`` wins (if the store has it).
VERSION_COLUMN = "updated_at"
WRITER_MEMORY = "512MB"
#: Rows per ``COPY`` of a commit (whole days): sorted in memory under ``WRITER_MEMORY``.
COMMIT_ROWS = 150_000


@functools.cache
def store_columns() -> tuple[tuple[str, str, str | None], ...]:
    """(name, DuckDB type, default SQL or None) of every column of the backend's request table.

    Read from the embedded backend's own table, so a column the backend adds is mirrored
    without a change here.
    """
    from ..backend import Backend

    with Backend() as backend:
        rows = backend.store.execute(
            "SELECT column_name, data_type, column_default FROM information_schema.columns "
            "WHERE table_name = 'requests' ORDER BY ordinal_position"
        ).fetchall()
    return tuple((str(n), str(t), None if d is None else str(d)) for n, t, d in rows)


def mirror_columns() -> dict[str, str]:
    """The columns the mirror stores: the backend's request columns without the bodies."""
    return {name: ctype for name, ctype, _ in store_columns() if name not in BODY_COLUMNS}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(tmp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB (never a shared database file, so no lock between processes)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if tmp_dir is not None:
        con.execute(f"SET memory_limit = {literal(WRITER_MEMORY)}")
        con.execute(f"SET temp_directory = {literal(str(tmp_dir))}")
        con.execute("SET preserve_insertion_order = false")
    return con


def select_list(available: dict[str, str], wanted: Sequence[tuple[str, str, str | None]]) -> str:
    """``col, ...`` for ``wanted`` columns; ones the files lack become their default (or NULL)."""
    parts = []
    for name, ctype, default in wanted:
        if name in available:
            parts.append(quote(name))
        else:
            parts.append(
                f"CAST({default if default is not None else 'NULL'} AS {ctype}) AS {quote(name)}"
            )
    return ", ".join(parts)


def files_sql(root: Path, files: Sequence[PartitionFile], columns: dict[str, str]) -> str:
    """A relation over ``files`` with exactly the ``columns`` (typed; no ``day`` column)."""
    if not files:
        cols = ", ".join(f"CAST(NULL AS {t}) AS {quote(n)}" for n, t in columns.items())
        return f"(SELECT {cols} WHERE false)"
    paths = ", ".join(literal(str(root / f.path)) for f in files)
    return (
        f"(SELECT {', '.join(quote(n) for n in columns)} FROM read_parquet([{paths}], "
        "union_by_name = true, hive_partitioning = false))"
    )


def check_files(root: Path, manifest: Manifest) -> PartitionFile | None:
    """The first file the manifest names that is missing or has another size, else None."""
    for f in manifest.files:
        try:
            if (root / f.path).stat().st_size != f.bytes:
                return f
        except FileNotFoundError:
            return f
    return None


def corrupt_error(root: Path, f: PartitionFile, detail: str) -> MirrorCorruptError:
    day = f.path.split("day=", 1)[-1].split("/", 1)[0]
    return MirrorCorruptError(
        f"mirror {root}: {f.path} {detail}. The other days are fine: run "
        f"helicone_nb.Mirror({str(root)!r}).repair() to drop day {day} (the next sync pulls it "
        "again), or restore the file from a backup"
    )


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "no space left" in text or "disk quota" in text


# ------------------------------------------------------------------------------------------
# The writer
# ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Hold the mirror's writer lock (one sync or import at a time; readers never lock).

    The lock is an OS file lock: a killed writer (SIGKILL included) releases it.
    """
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
            raise MirrorError(
                f"mirror {root} is being written by {holder} (a sync or import); wait for it to "
                "finish. Reading the mirror meanwhile is fine."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def remove_leftovers(root: Path, manifest: Manifest | None) -> int:
    """Delete files no manifest names (a killed write's); returns how many. Writer lock held."""
    keep = {f.path for f in manifest.files} if manifest else set()
    if manifest and manifest.pending:
        keep.update(manifest.pending.get("staging", []))
    removed = 0
    for sub in ("requests", "staging"):
        base = root / sub
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*"), reverse=True):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in keep:
                path.unlink(missing_ok=True)
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    shutil.rmtree(root / ".tmp", ignore_errors=True)
    for stray in root.glob(".mirror.json.*.tmp"):
        stray.unlink(missing_ok=True)
    return removed


def copy_to(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one ``COPY ... TO`` (the one place Parquet files are written; tests make it fail)."""
    return con.execute(sql, params).fetchall()


def commit(
    root: Path,
    manifest: Manifest,
    con: duckdb.DuckDBPyConnection,
    new_files: Sequence[str],
) -> tuple[Manifest, list[str], dict[str, int]]:
    """Merge the rows of the staged Parquet ``new_files`` into the mirror's day partitions.

    Returns the next manifest (not yet written), the files it supersedes (delete them after
    writing it) and counts ``{"added", "updated", "unchanged"}``. On any failure the files
    written so far are deleted and the mirror is unchanged.
    """
    columns = manifest.columns or mirror_columns()
    wanted = [(n, t, d) for n, t, d in store_columns() if n in columns]
    col_list = ", ".join(quote(n) for n in columns)
    generation = manifest.generation + 1
    staged = ", ".join(literal(str(root / p)) for p in new_files)
    staged_select = select_list(_file_columns(con, root, new_files), wanted)
    # `_seq` orders the staged rows (a later file wins a tie): file index and row number,
    # computed per row rather than by a window over every (wide) row
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _new AS SELECT {staged_select}, "
        f"list_position([{staged}], filename) * 4294967296 + file_row_number AS _seq "
        f"FROM read_parquet([{staged}], union_by_name = true, filename = true, "
        "file_row_number = true)"
    )
    new_days = {
        str(d)
        for (d,) in con.execute(
            "SELECT DISTINCT strftime(request_created_at, '%Y-%m-%d') FROM _new"
        ).fetchall()
    }
    old_files = manifest.files
    moved_days: set[str] = set()
    if old_files:  # days holding an older version of an incoming request (it may change day)
        ids = files_sql(
            root, old_files, {"request_id": "VARCHAR", "request_created_at": "TIMESTAMP"}
        )
        moved_days = {
            str(d)
            for (d,) in con.execute(
                f"SELECT DISTINCT strftime(request_created_at, '%Y-%m-%d') "
                f"FROM {ids} o "
                "WHERE request_id IN (SELECT request_id FROM _new)"
            ).fetchall()
        }
    touched = sorted(new_days | moved_days)
    old_touched = [f for day in touched for f in manifest.partitions.get(day, [])]
    old_sql = files_sql(root, old_touched, columns)
    row = con.execute("SELECT count(DISTINCT request_id) FROM _new").fetchone()
    received = int(row[0]) if row else 0
    if old_touched:
        added, updated = _changes(con, old_sql, columns)
    else:  # nothing stored on these days: every request is new
        added, updated = received, 0

    def both(where: str = "true") -> str:
        """The stored rows of the touched days and the staged ones (``_seq`` 0: stored)."""
        return f"""(
            SELECT {col_list}, 0::BIGINT AS _seq FROM {old_sql} WHERE {where}
            UNION ALL BY NAME
            SELECT {col_list}, _seq FROM _new WHERE {where}
        )"""

    day = "strftime(request_created_at, '%Y-%m-%d')"
    (root / "requests").mkdir(parents=True, exist_ok=True)
    stats: list[tuple[Any, ...]] = []
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _losers AS {_losers_sql(both(), columns)}")
        days = con.execute(f"SELECT {day} AS d, count(*) FROM {both()} GROUP BY d ORDER BY d")
        # a few days per COPY: each sorts in memory (one COPY of everything spills, 7x slower)
        for k, (first, last) in enumerate(_batches(days.fetchall(), COMMIT_ROWS)):
            # the days' filter inside each side, where it reaches the Parquet statistics
            inside = (
                f"request_created_at >= CAST({literal(first)} AS DATE) "
                f"AND request_created_at < CAST({literal(last)} AS DATE) + 1"
            )
            stats += copy_to(
                con,
                f"""COPY (
                    SELECT {col_list}, {day} AS day FROM {both(inside)} b
                    ANTI JOIN _losers USING (request_id, _seq)
                    ORDER BY day, request_created_at, request_id
                ) TO {literal(str(root / "requests"))} (FORMAT parquet, PARTITION_BY (day),
                FILENAME_PATTERN 'g{generation:06d}-{k}-{{i}}', OVERWRITE_OR_IGNORE,
                RETURN_STATS)""",
            )
        con.execute("DROP TABLE _losers")
    except BaseException as exc:
        for path in (root / "requests").glob(f"day=*/g{generation:06d}-*"):
            path.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise MirrorError(
                f"the disk holding mirror {root} is full; nothing was changed (the rows fetched "
                "so far are kept in staging/ and the next sync continues from them). Free some "
                "space and run the sync again."
            ) from exc
        if isinstance(exc, duckdb.Error):
            _raise_if_corrupt(root, old_touched, exc)
        raise
    partitions = {d: list(fs) for d, fs in manifest.partitions.items() if d not in touched}
    for name, rows, size, *_rest in stats:
        rel = Path(str(name)).resolve().relative_to(root.resolve()).as_posix()
        day = rel.split("day=", 1)[1].split("/", 1)[0]
        partitions.setdefault(day, []).append(PartitionFile(rel, int(rows), int(size)))
    nxt = dataclasses.replace(
        manifest,
        generation=generation,
        columns=dict(columns),
        partitions=dict(sorted(partitions.items())),
    )
    written = {f.path for fs in partitions.values() for f in fs}
    superseded = [f.path for f in old_touched if f.path not in written]
    con.execute("DROP VIEW _new")
    return nxt, superseded, {"added": added, "updated": updated, "received": received}


def _losers_sql(relation: str, columns: dict[str, str]) -> str:
    """``(request_id, _seq)`` of the rows of ``relation`` that lose to another row of their
    request: the greatest version wins, then the greatest ``_seq``. It ranks three narrow
    columns of the requests seen more than once; the wide rows are then filtered by an
    anti-join (a window over every wide row is what made a 1M-row commit take 30 s)."""
    ranked = quote(VERSION_COLUMN) + ", " if VERSION_COLUMN in columns else ""
    order = quote(VERSION_COLUMN) + " DESC NULLS LAST, " if VERSION_COLUMN in columns else ""
    return f"""
        SELECT request_id, _seq FROM (
            SELECT request_id, {ranked} _seq FROM {relation} b
            WHERE request_id IN (
                SELECT request_id FROM {relation} d GROUP BY request_id HAVING count(*) > 1
            )
        )
        QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY {order} _seq DESC) > 1
    """


def _batches(days: Sequence[tuple[Any, ...]], rows: int) -> list[tuple[str, str]]:
    """``(first, last)`` day of consecutive runs of ``(day, count)`` of about ``rows`` rows."""
    out: list[tuple[str, str]] = []
    run: list[str] = []
    size = 0
    for day, count in days:
        if run and size + int(count) > rows:
            out.append((run[0], run[-1]))
            run, size = [], 0
        run.append(str(day))
        size += int(count)
    if run:
        out.append((run[0], run[-1]))
    return out


def _changes(
    con: duckdb.DuckDBPyConnection, old_sql: str, columns: dict[str, str]
) -> tuple[int, int]:
    """(requests added, requests whose stored row changes) when ``_new`` is merged."""
    cols = ", ".join(quote(c) for c in columns)

    def packed(alias: str) -> str:
        return (
            "struct_pack(" + ", ".join(f"{quote(c)} := {alias}.{quote(c)}" for c in columns) + ")"
        )

    newer = (
        f"coalesce(n.{quote(VERSION_COLUMN)} >= o.{quote(VERSION_COLUMN)}, true)"
        if VERSION_COLUMN in columns
        else "true"
    )
    row = con.execute(
        f"""
        WITH n AS (
            SELECT {cols} FROM _new ANTI JOIN ({_losers_sql("_new", columns)})
            USING (request_id, _seq)
        ),
        o AS (SELECT {cols} FROM {old_sql})
        SELECT count(*) FILTER (WHERE o.request_id IS NULL),
               count(*) FILTER (WHERE o.request_id IS NOT NULL AND {newer}
                                AND {packed("n")} IS DISTINCT FROM {packed("o")})
        FROM n LEFT JOIN o USING (request_id)
        """
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _file_columns(
    con: duckdb.DuckDBPyConnection, root: Path, files: Sequence[str]
) -> dict[str, str]:
    if not files:
        return {}
    staged = ", ".join(literal(str(root / p)) for p in files)
    rows = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet([{staged}], union_by_name = true)"
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _raise_if_corrupt(root: Path, files: Sequence[PartitionFile], exc: BaseException) -> None:
    bad = next((f for f in files if f.path in str(exc)), None)
    if bad is not None:
        raise corrupt_error(root, bad, f"cannot be read ({str(exc).splitlines()[0]})") from exc


def publish(root: Path, manifest: Manifest, superseded: Sequence[str]) -> None:
    """Write ``manifest`` (the commit point), then delete the files it no longer names."""
    try:
        write_manifest(root, manifest)
    except BaseException as exc:
        for f in manifest.files:  # the new generation's files: nobody names them now
            if f.path.split("/")[-1].startswith(f"g{manifest.generation:06d}-"):
                (root / f.path).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise MirrorError(
                f"the disk holding mirror {root} is full; nothing was changed. Free some space "
                "and run the sync again."
            ) from exc
        raise
    for rel in superseded:
        with contextlib.suppress(OSError):
            (root / rel).unlink()
    for day_dir in (root / "requests").glob("day=*"):
        with contextlib.suppress(OSError):
            if not any(day_dir.iterdir()):
                day_dir.rmdir()


def load_manifest_or_fail(root: Path) -> Manifest:
    manifest = read_manifest(root)
    if manifest is None:
        raise MirrorError(
            f"no mirror at {root} yet: create it with `helicone-nb sync --db {root}` or "
            f"`helicone-nb import FILE.jsonl --db {root}` (or Mirror(...).sync())"
        )
    return manifest


def stage_jsonl(root: Path, source: Path, name: str) -> tuple[ImportReport, str | None]:
    """Parse a JSONL file of ``HeliconeRequest`` rows into ``staging/<name>.parquet``.

    The embedded backend's importer does the parsing (one parser for import, serve and the
    mirror); within the file the first line of a request wins. Returns the import report and
    the staged file (relative to ``root``), or None when no row was added.
    """
    from ..backend import Backend

    with Backend() as backend:
        report = backend.ingest_jsonl(source)
        if report.added == 0:
            return report, None
        columns = mirror_columns()
        available = {n: t for n, t, _ in store_columns()}
        wanted = [(n, t, d) for n, t, d in store_columns() if n in columns]
        rel = f"staging/{name}.parquet"
        (root / "staging").mkdir(parents=True, exist_ok=True)
        tmp = root / f"staging/.{name}.parquet.tmp"
        try:
            copy_to(
                backend.store.cursor(),
                f"COPY (SELECT {select_list(available, wanted)} FROM requests) "
                f"TO {literal(str(tmp))} (FORMAT parquet)",
            )
            os.replace(tmp, root / rel)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if is_disk_full(exc):
                raise MirrorError(
                    f"the disk holding mirror {root} is full; nothing was changed. Free some "
                    "space and run it again."
                ) from exc
            raise
    return report, rel


def commit_staged(
    root: Path, manifest: Manifest, staged: Sequence[str]
) -> tuple[Manifest, list[str], dict[str, int]]:
    """:func:`commit` with its own private DuckDB (spilling under ``.tmp/``)."""
    tmp = root / ".tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    con = connect(tmp)
    try:
        return commit(root, manifest, con, staged)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def new_manifest() -> Manifest:
    """The manifest of a mirror being created."""
    import datetime as _dt

    from ._manifest import iso

    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    return Manifest(generation=0, columns=mirror_columns(), created_at=iso(now))
