"""The request store: a DuckDB table of request rows typed like Helicone's ``request_response_rmt``.

Column names follow Helicone's ClickHouse table (spec section 4.1) so the filter compiler can map
a filter column to a store column through the fixed tables in :mod:`helicone_nb._wire.columns`.
``cost`` is integer nano-dollars, like Helicone. The session id, name and path are copies of the
``Helicone-Session-*`` properties, extracted once at ingest so session queries never touch the
properties map.

Versions (Helicone's ``ReplacingMergeTree(updated_at)``): a request can have several physical
rows with the same ``request_id`` (a score, feedback or property change re-inserts the whole row
with a newer ``updated_at``; ClickHouse merges them some time later). The store keeps the latest
version of each request in :data:`REQUESTS_TABLE`, which the session engine reads (one row per
request: Helicone's double counting from unmerged parts is never copied), and every older version
in :data:`VERSIONS_TABLE`; the request route reads both, as Helicone reads unmerged parts.

Writing: :meth:`Store.insert_from` adds requests not stored yet (imports: re-importing adds
nothing); :meth:`Store.insert_versions` writes new versions of any request. Both take a SQL
relation with the :data:`SOURCE_COLUMNS`. :data:`COLUMNS` is the single definition of the columns
(other writers, such as a mirror's Parquet files, read it).

DuckDB connections are not safe to share between threads, so every thread gets its own cursor
(a cheap second connection to the same database); writes are serialised by a lock.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb

from .._errors import UsageError

SESSION_ID_KEY = "Helicone-Session-Id"
SESSION_NAME_KEY = "Helicone-Session-Name"
SESSION_PATH_KEY = "Helicone-Session-Path"
#: The score key of Helicone's feedback (1 = positive, 0 = negative).
FEEDBACK_KEY = "helicone-score-feedback"

#: Bumped whenever the table layout changes; a file written by another version is refused.
SCHEMA_VERSION = "2"
#: The table of current rows: the latest version (greatest ``updated_at``) of each request.
REQUESTS_TABLE = "requests"
#: Older physical versions of requests (same columns): what ClickHouse keeps until it merges.
VERSIONS_TABLE = "request_versions"

#: Store columns in table order: name -> DuckDB type (with NOT NULL / DEFAULT where Helicone's
#: ClickHouse column is not nullable).
COLUMNS: dict[str, str] = {
    "request_id": "VARCHAR NOT NULL",
    "organization_id": "VARCHAR NOT NULL",
    "request_created_at": "TIMESTAMP NOT NULL",
    # when this version was written (the ReplacingMergeTree version; ClickHouse: DEFAULT now())
    "updated_at": "TIMESTAMP NOT NULL DEFAULT CAST(now() AS TIMESTAMP)",
    "response_id": "VARCHAR",
    "response_created_at": "TIMESTAMP",
    "latency": "BIGINT",
    "time_to_first_token": "BIGINT",
    "status": "INTEGER NOT NULL DEFAULT 0",
    "model": "VARCHAR NOT NULL DEFAULT ''",
    "request_model": "VARCHAR",
    "response_model": "VARCHAR",
    "provider": "VARCHAR NOT NULL DEFAULT ''",
    "user_id": "VARCHAR NOT NULL DEFAULT ''",
    "country_code": "VARCHAR",
    "target_url": "VARCHAR",
    "request_path": "VARCHAR NOT NULL DEFAULT ''",
    "prompt_tokens": "BIGINT",
    "completion_tokens": "BIGINT",
    "prompt_cache_read_tokens": "BIGINT",
    "prompt_cache_write_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT NOT NULL DEFAULT 0",
    "prompt_audio_tokens": "BIGINT NOT NULL DEFAULT 0",
    "completion_audio_tokens": "BIGINT NOT NULL DEFAULT 0",
    "total_tokens": "BIGINT",  # the row's: prompt + completion + reasoning (sessions add p + c)
    "cost": "BIGINT",
    "threat": "BOOLEAN",
    "cache_enabled": "BOOLEAN NOT NULL DEFAULT false",
    "is_passthrough_billing": "BOOLEAN NOT NULL DEFAULT false",
    "cached": "BOOLEAN NOT NULL DEFAULT false",
    "cache_reference_id": "VARCHAR",
    "request_body": "VARCHAR NOT NULL DEFAULT ''",
    "response_body": "VARCHAR NOT NULL DEFAULT ''",
    "prompt_id": "VARCHAR NOT NULL DEFAULT ''",
    "prompt_version": "VARCHAR NOT NULL DEFAULT ''",
    "request_referrer": "VARCHAR",
    "node_id": "VARCHAR",
    "job_id": "VARCHAR",
    "properties": "MAP(VARCHAR, VARCHAR) NOT NULL",
    "scores": "MAP(VARCHAR, BIGINT) NOT NULL DEFAULT MAP {}",
    "assets": "VARCHAR[] NOT NULL DEFAULT []",
    "storage_location": "VARCHAR NOT NULL DEFAULT 's3'",
    "ai_gateway_body_mapping": "VARCHAR NOT NULL DEFAULT ''",
    "session_id": "VARCHAR",
    "session_name": "VARCHAR NOT NULL DEFAULT ''",
    "session_path": "VARCHAR",
}

#: Columns an ingest source must provide; the session columns are derived from ``properties``.
SOURCE_COLUMNS = tuple(
    c for c in COLUMNS if c not in ("session_id", "session_name", "session_path")
)

_TABLE_COLUMNS = ", ".join(f"{name} {ctype}" for name, ctype in COLUMNS.items())
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {REQUESTS_TABLE} ({_TABLE_COLUMNS})",
    f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} ({_TABLE_COLUMNS})",
    "CREATE TABLE IF NOT EXISTS session_tags ("
    "session_id VARCHAR PRIMARY KEY, tag VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
)


def quote_ident(name: str) -> str:
    """A DuckDB identifier literal for ``name`` (used for internal staging names only)."""
    return '"' + name.replace('"', '""') + '"'


def _utc(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # Per connection: timestamp text with an offset converts to UTC, naive text reads as UTC,
    # whatever the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    return con


class Store:
    """A DuckDB database holding request rows and session tags.

    Parameters
    ----------
    db
        A file path, or ``":memory:"`` for an in-memory store.
    """

    def __init__(self, db: str | Path = ":memory:") -> None:
        self.path = str(db)
        self._con = _utc(duckdb.connect(self.path))
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self.write_lock = threading.RLock()
        #: Bumped by every write; cached query results of older versions are never used.
        self.version = 0
        with self.write_lock:
            for statement in _DDL:
                self._con.execute(statement)
            row = self._con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                self._con.execute("INSERT INTO meta VALUES ('schema', ?)", [SCHEMA_VERSION])
            elif row[0] != SCHEMA_VERSION:
                raise UsageError(
                    f"{self.path} was written by a different helicone_nb store version "
                    f"(schema {row[0]}, this version reads {SCHEMA_VERSION}); re-import it into "
                    "a new file"
                )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's own connection to the database."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = _utc(self._con.cursor())
            self._local.cursor = cur
            with self._cursors_lock:
                self._cursors.append(cur)
        return cur

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        """Run one statement on this thread's cursor."""
        return self.cursor().execute(sql, params)

    def count(self) -> int:
        """Number of stored requests."""
        row = self.execute("SELECT count(*) FROM requests").fetchone()
        assert row is not None
        return int(row[0])

    def insert_from(self, relation_sql: str, params: Any = None, *, order_by: str = "") -> int:
        """Insert the rows of ``relation_sql`` (all :data:`SOURCE_COLUMNS`), skipping known ids.

        ``relation_sql`` is SQL written by this package (a staging table or view); its
        ``properties`` column is a ``MAP(VARCHAR, VARCHAR)``. Rows whose ``request_id`` is
        already stored, or repeats an earlier row of the same batch (the first one by
        ``order_by``, a column of the relation, wins), are skipped. Returns the number of rows
        added.
        """
        cols = ", ".join(SOURCE_COLUMNS)
        all_params = {
            "sid_key": SESSION_ID_KEY,
            "name_key": SESSION_NAME_KEY,
            "path_key": SESSION_PATH_KEY,
            **(params or {}),
        }
        with self.write_lock:
            # Fast path (bulk loads): check the id column alone before deduplicating whole rows.
            row = self.execute(
                f"""
                WITH src AS (SELECT request_id FROM ({relation_sql}))
                SELECT (SELECT count(*) = count(DISTINCT request_id) FROM src)
                       AND NOT EXISTS (SELECT 1 FROM src JOIN requests r USING (request_id))
                """,
                params or None,
            ).fetchone()
            if row is not None and row[0]:
                source = f"({relation_sql}) AS s"
            else:
                window_order = f"ORDER BY {quote_ident(order_by)}" if order_by else ""
                source = f"""(
                    SELECT *, row_number() OVER (PARTITION BY request_id {window_order}) AS _dup
                    FROM ({relation_sql}) AS src
                ) AS s
                WHERE _dup = 1
                  AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.request_id = s.request_id)"""
            sql = f"""
                INSERT INTO requests ({cols}, session_id, session_name, session_path)
                SELECT {cols},
                       properties[$sid_key],
                       coalesce(properties[$name_key], ''),
                       properties[$path_key]
                FROM {source}
            """
            inserted = self.execute(sql, all_params).fetchone()
            self.version += 1
            return int(inserted[0]) if inserted else 0

    def insert_versions(self, relation_sql: str, params: Any = None) -> int:
        """Write the rows of ``relation_sql`` (all :data:`SOURCE_COLUMNS`) as request versions.

        Per ``request_id``, the version with the greatest ``updated_at`` among the stored one
        and the new ones becomes the current row (the stored one moves to the versions table);
        every other new row is kept as an older version. A new version whose ``updated_at``
        equals the current one's does not replace it. Returns the number of rows written.
        """
        cols = ", ".join(SOURCE_COLUMNS)
        all_params = {
            "sid_key": SESSION_ID_KEY,
            "name_key": SESSION_NAME_KEY,
            "path_key": SESSION_PATH_KEY,
            **(params or {}),
        }
        with self.write_lock:
            cur = self.cursor()
            cur.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE _incoming AS
                SELECT {cols},
                       properties[$sid_key] AS session_id,
                       coalesce(properties[$name_key], '') AS session_name,
                       properties[$path_key] AS session_path,
                       row_number() OVER (PARTITION BY request_id ORDER BY updated_at DESC) AS _rank
                FROM ({relation_sql})
                """,
                all_params,
            )
            try:
                cur.execute(
                    f"""
                    CREATE OR REPLACE TEMP TABLE _winners AS
                    SELECT i.* FROM _incoming i LEFT JOIN {REQUESTS_TABLE} r USING (request_id)
                    WHERE i._rank = 1 AND (r.request_id IS NULL OR i.updated_at > r.updated_at)
                    """
                )
                every = ", ".join(COLUMNS)
                cur.execute(
                    f"""
                    INSERT INTO {VERSIONS_TABLE}
                    SELECT * FROM {REQUESTS_TABLE}
                    WHERE request_id IN (SELECT request_id FROM _winners);
                    DELETE FROM {REQUESTS_TABLE}
                    WHERE request_id IN (SELECT request_id FROM _winners);
                    INSERT INTO {REQUESTS_TABLE} SELECT {every} FROM _winners;
                    INSERT INTO {VERSIONS_TABLE}
                    SELECT {every} FROM _incoming i
                    WHERE NOT (i._rank = 1 AND i.request_id IN (SELECT request_id FROM _winners));
                    """
                )
                row = cur.execute("SELECT count(*) FROM _incoming").fetchone()
            finally:
                cur.execute("DROP TABLE IF EXISTS _incoming; DROP TABLE IF EXISTS _winners")
            self.version += 1
            return int(row[0]) if row else 0

    def set_tag(self, session_id: str, tag: str) -> None:
        """Set (or replace) the tag of a session."""
        with self.write_lock:
            self.execute("INSERT OR REPLACE INTO session_tags VALUES (?, ?)", [session_id, tag])
            self.version += 1

    def get_tag(self, session_id: str) -> str | None:
        """The tag of a session, or None."""
        row = self.execute(
            "SELECT tag FROM session_tags WHERE session_id = ?", [session_id]
        ).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        """Close every cursor and the database."""
        with self._cursors_lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
        self._con.close()
