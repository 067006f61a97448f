"""The request store: a DuckDB table of request rows typed like Helicone's ``request_response_rmt``.

Column names follow Helicone's ClickHouse table (spec section 4.1) so the filter compiler can map
a filter column to a store column through the fixed tables in :mod:`helicone_nb._wire.columns`.
``cost`` is integer nano-dollars, like Helicone. The session id, name and path are copies of the
``Helicone-Session-*`` properties, extracted once at ingest so session queries never touch the
properties map.

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

#: Bumped whenever the table layout changes; a file written by another version is refused.
SCHEMA_VERSION = "1"

#: Store columns in table order: name -> DuckDB type (with NOT NULL / DEFAULT where Helicone's
#: ClickHouse column is not nullable).
COLUMNS: dict[str, str] = {
    "request_id": "VARCHAR NOT NULL",
    "organization_id": "VARCHAR NOT NULL",
    "request_created_at": "TIMESTAMP NOT NULL",
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
    "total_tokens": "BIGINT",
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
    "session_id": "VARCHAR",
    "session_name": "VARCHAR NOT NULL DEFAULT ''",
    "session_path": "VARCHAR",
}

#: Columns an ingest source must provide; the session columns are derived from ``properties``.
SOURCE_COLUMNS = tuple(
    c for c in COLUMNS if c not in ("session_id", "session_name", "session_path")
)

_DDL = (
    "CREATE TABLE IF NOT EXISTS requests ("
    + ", ".join(f"{name} {ctype}" for name, ctype in COLUMNS.items())
    + ")",
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
