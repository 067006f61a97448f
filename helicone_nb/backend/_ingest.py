"""Loading request rows into the store: Helicone export JSONL, and generated DataFrames.

JSONL lines are the ``HeliconeRequest`` rows that ``@helicone/export`` writes and
``/v1/request/query-clickhouse`` returns. Python only splits the file into lines (so every bad
line keeps its line number); parsing, type checks and conversion run in DuckDB, a chunk of lines
at a time, so a million-line export imports in seconds. Rows are keyed by ``request_id``:
re-importing a file adds nothing.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._requests import BODY_PLACEHOLDER  # an empty body as query-clickhouse sends it
from ._store import COLUMNS, SOURCE_COLUMNS, Store, quote_ident

if TYPE_CHECKING:
    import pandas as pd

CHUNK_LINES = 100_000
PROPERTY_PREFIX = "property:"


@dataclass(frozen=True)
class BadLine:
    """A line that was skipped, with its 1-based line number and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did: ``read`` = ``added`` + ``duplicates`` + ``len(bad)``."""

    path: str
    read: int = 0
    added: int = 0
    duplicates: int = 0
    bad: list[BadLine] = field(default_factory=list)

    def summary(self, max_bad: int = 20) -> str:
        """A few lines for a terminal: the counts, then the first ``max_bad`` bad lines."""
        lines = [
            f"{self.path}: {self.read:,} lines read, {self.added:,} requests added, "
            f"{self.duplicates:,} skipped as already imported, {len(self.bad):,} bad"
        ]
        for bad in self.bad[:max_bad]:
            lines.append(f"  line {bad.line}: {bad.reason}")
        if len(self.bad) > max_bad:
            lines.append(f"  ... and {len(self.bad) - max_bad:,} more bad lines")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# JSON key -> (store column, SQL type) for the numeric fields of a HeliconeRequest.
_NUMBERS: dict[str, tuple[str, str]] = {
    "delay_ms": ("latency", "BIGINT"),
    "time_to_first_token": ("time_to_first_token", "BIGINT"),
    "response_status": ("status", "INTEGER"),
    "prompt_tokens": ("prompt_tokens", "BIGINT"),
    "completion_tokens": ("completion_tokens", "BIGINT"),
    "prompt_cache_read_tokens": ("prompt_cache_read_tokens", "BIGINT"),
    "prompt_cache_write_tokens": ("prompt_cache_write_tokens", "BIGINT"),
    "total_tokens": ("total_tokens", "BIGINT"),
    "reasoning_tokens": ("reasoning_tokens", "BIGINT"),
    "prompt_audio_tokens": ("prompt_audio_tokens", "BIGINT"),
    "completion_audio_tokens": ("completion_audio_tokens", "BIGINT"),
}
# JSON key -> store column for text fields taken as they are (numbers become their text).
_TEXTS: dict[str, str] = {
    "response_id": "response_id",
    "request_model": "request_model",
    "response_model": "response_model",
    "country_code": "country_code",
    "target_url": "target_url",
    "cache_reference_id": "cache_reference_id",
    "request_referrer": "request_referrer",
}
_TIMESTAMPS = ("request_created_at", "response_created_at", "updated_at")
_OTHERS = (
    "request_id",
    "organization_id",
    "costUSD",
    "cache_enabled",
    "model",
    "provider",
    "request_user_id",
    "user_id",
    "request_path",
    "request_body",
    "response_body",
    "prompt_id",
    "prompt_version",
    "storage_location",
    "ai_gateway_body_mapping",
)
# Every field the importer reads, parsed ONCE per line with json_transform: objects stay JSON,
# everything else becomes the text of its value (numbers and booleans included), so type
# problems can be reported with the offending value.
_STRUCTURE = json.dumps(
    {
        **{key: "VARCHAR" for key in (*_TIMESTAMPS, *_NUMBERS, "cost", *_TEXTS, *_OTHERS)},
        "request_properties": "JSON",
        "properties": "JSON",
        "scores": "JSON",
        "asset_ids": "JSON",
    }
)


def _ts(raw: str) -> str:
    """Timestamp text (ISO-8601 or ClickHouse text, read as UTC) or epoch milliseconds."""
    return (
        f"CASE WHEN regexp_full_match({raw}, '-?[0-9]{{1,15}}') "
        f"THEN make_timestamp_ms(TRY_CAST({raw} AS BIGINT)) "
        f"ELSE TRY_CAST(TRY_CAST({raw} AS TIMESTAMPTZ) AS TIMESTAMP) END"
    )


def _build_parse_sql() -> str:
    """SQL turning ``_chunk(line_no, line)`` into typed store columns plus a ``reason``."""
    raw: list[str] = ["line_no", "kind", "f"]
    for key in _TIMESTAMPS:
        raw.append(f"{_ts(f'f.{key}')} AS {key}_ts")
    for key in _NUMBERS:
        raw.append(f"TRY_CAST(f.{key} AS DOUBLE) AS {key}_num")
    raw.append("coalesce(f.cost, f.costUSD) AS cost_raw")
    raw.append("TRY_CAST(coalesce(f.cost, f.costUSD) AS DOUBLE) AS cost_num")
    raw.append("coalesce(f.request_properties, f.properties) AS props_json")

    def bad_number(key: str, sql_type: str) -> str:
        num = f"{key}_num"
        return (
            f"WHEN f.{key} IS NOT NULL AND ({num} IS NULL OR NOT isfinite({num}) "
            f"OR TRY_CAST(round({num}) AS {sql_type}) IS NULL) "
            f"THEN '{key} is not a number: ' || left(f.{key}, 60)"
        )

    reasons = [
        "WHEN kind IS NULL THEN 'not valid JSON'",
        "WHEN kind != 'OBJECT' THEN 'not a JSON object (one HeliconeRequest per line)'",
        "WHEN coalesce(f.request_id, '') = '' THEN 'missing request_id'",
        "WHEN f.request_created_at IS NULL THEN 'missing request_created_at'",
        "WHEN request_created_at_ts IS NULL THEN "
        "'request_created_at is not a timestamp: ' || left(f.request_created_at, 60)",
        "WHEN f.response_created_at IS NOT NULL AND response_created_at_ts IS NULL THEN "
        "'response_created_at is not a timestamp: ' || left(f.response_created_at, 60)",
        *(bad_number(key, sql_type) for key, (_, sql_type) in _NUMBERS.items()),
        "WHEN cost_raw IS NOT NULL AND (cost_num IS NULL OR NOT isfinite(cost_num) "
        "OR TRY_CAST(round(cost_num * 1e9) AS BIGINT) IS NULL) "
        "THEN 'cost is not a number of USD: ' || left(cost_raw, 60)",
        "WHEN props_json IS NOT NULL AND json_type(props_json) != 'NULL' AND "
        "TRY_CAST(props_json AS MAP(VARCHAR, VARCHAR)) IS NULL "
        "THEN 'request_properties is not an object of strings'",
        "WHEN f.updated_at IS NOT NULL AND updated_at_ts IS NULL THEN "
        "'updated_at is not a timestamp: ' || left(f.updated_at, 60)",
        "WHEN f.scores IS NOT NULL AND json_type(f.scores) NOT IN ('NULL', 'OBJECT') "
        "THEN 'scores is not an object of numbers'",
        "WHEN f.scores IS NOT NULL AND json_type(f.scores) = 'OBJECT' AND len(list_filter("
        "map_values(TRY_CAST(f.scores AS MAP(VARCHAR, VARCHAR))), lambda v: v IS NOT NULL AND "
        "TRY_CAST(v AS DOUBLE) IS NULL AND v NOT IN ('true', 'false'))) > 0 "
        "THEN 'scores is not an object of numbers'",
        "WHEN f.cache_enabled IS NOT NULL AND TRY_CAST(f.cache_enabled AS BOOLEAN) IS NULL "
        "THEN 'cache_enabled is not a boolean: ' || left(f.cache_enabled, 20)",
    ]
    typed = {
        "request_id": "f.request_id",
        "organization_id": "coalesce(f.organization_id, $org)",
        "request_created_at": "request_created_at_ts",
        "updated_at": "coalesce(updated_at_ts, response_created_at_ts, request_created_at_ts)",
        "response_created_at": "response_created_at_ts",
        **{
            col: f"TRY_CAST(round({key}_num) AS {sql_type})"
            for key, (col, sql_type) in _NUMBERS.items()
        },
        **{  # NOT NULL DEFAULT 0 in the store (Int64 DEFAULT 0 in ClickHouse)
            col: f"coalesce(TRY_CAST(round({key}_num) AS BIGINT), 0)"
            for key in ("reasoning_tokens", "prompt_audio_tokens", "completion_audio_tokens")
            for col in (_NUMBERS[key][0],)
        },
        # The row's total_tokens (prompt + completion + reasoning, REQUEST_API section 2); when
        # missing, computed that way.
        "total_tokens": "coalesce(TRY_CAST(round(total_tokens_num) AS BIGINT), CASE WHEN "
        "prompt_tokens_num IS NULL AND completion_tokens_num IS NULL THEN NULL ELSE "
        "coalesce(TRY_CAST(round(prompt_tokens_num) AS BIGINT), 0) "
        "+ coalesce(TRY_CAST(round(completion_tokens_num) AS BIGINT), 0) "
        "+ coalesce(TRY_CAST(round(reasoning_tokens_num) AS BIGINT), 0) END)",
        **{col: f"f.{key}" for key, col in _TEXTS.items()},
        "status": "coalesce(TRY_CAST(round(response_status_num) AS INTEGER), 0)",
        "model": "coalesce(nullif(f.model, ''), f.request_model, f.response_model, '')",
        "provider": "coalesce(f.provider, '')",
        "user_id": "coalesce(f.request_user_id, f.user_id, '')",
        "request_path": "coalesce(f.request_path, '')",
        "cost": "TRY_CAST(round(cost_num * 1e9) AS BIGINT)",
        "threat": "NULL::BOOLEAN",
        "cache_enabled": "coalesce(TRY_CAST(f.cache_enabled AS BOOLEAN), false)",
        "is_passthrough_billing": "false",
        "cached": "false",
        "request_body": "coalesce(nullif(f.request_body, $placeholder), '')",
        "response_body": "coalesce(nullif(f.response_body, $placeholder), '')",
        "prompt_id": "coalesce(f.prompt_id, '')",
        "prompt_version": "coalesce(f.prompt_version, '')",
        "storage_location": "coalesce(f.storage_location, 's3')",
        "ai_gateway_body_mapping": "coalesce(f.ai_gateway_body_mapping, '')",
        "assets": "coalesce(TRY_CAST(f.asset_ids AS VARCHAR[]), [])",
        # Score values: numbers, numeric strings (64-bit as strings) or booleans (1/0).
        "scores": "map_from_entries(list_transform(list_filter(map_entries(coalesce("
        "TRY_CAST(f.scores AS MAP(VARCHAR, VARCHAR)), MAP {})), lambda e: e.value IS NOT NULL), "
        "lambda e: {'key': e.key, 'value': CASE e.value WHEN 'true' THEN 1 WHEN 'false' THEN 0 "
        "ELSE CAST(round(CAST(e.value AS DOUBLE)) AS BIGINT) END}))",
        "node_id": "NULL::VARCHAR",
        "job_id": "NULL::VARCHAR",
        # ClickHouse maps hold strings only: entries with a JSON null value are dropped.
        "properties": "map_from_entries(list_filter(map_entries(coalesce("
        "TRY_CAST(props_json AS MAP(VARCHAR, VARCHAR)), MAP {})), lambda e: e.value IS NOT NULL))",
    }
    assert set(typed) == set(SOURCE_COLUMNS), set(SOURCE_COLUMNS) ^ set(typed)
    return f"""
        WITH kinds AS (
            SELECT line_no, line, CASE WHEN json_valid(line) THEN json_type(line) END AS kind
            FROM _chunk
        ), parsed AS (
            SELECT line_no, kind,
                   CASE WHEN kind = 'OBJECT' THEN json_transform(line, '{_STRUCTURE}') END AS f
            FROM kinds
        ), fields AS (
            SELECT {", ".join(raw)} FROM parsed
        )
        SELECT line_no,
               CASE {" ".join(reasons)} END AS reason,
               {", ".join(f"{expr} AS {col}" for col, expr in typed.items())}
        FROM fields
    """


_PARSE_SQL = _build_parse_sql()


def _lines(path: Path, bad: list[BadLine]) -> Iterator[tuple[int, str]]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad.append(BadLine(number, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"))
                continue
            yield number, text.lstrip("\ufeff").strip()


def ingest_jsonl(store: Store, path: str | Path, organization_id: str) -> ImportReport:
    """Import a Helicone export (JSONL of ``HeliconeRequest`` rows) into ``store``."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        from .._errors import UsageError

        raise UsageError(f"no such file: {path}")
    report = ImportReport(str(path))
    undecodable: list[BadLine] = []
    chunk: list[tuple[int, str]] = []

    def flush() -> None:
        if not chunk:
            return
        frame = pd.DataFrame(chunk, columns=["line_no", "line"])
        with store.write_lock:
            cur = store.cursor()
            cur.register("_chunk", frame)
            try:
                cur.execute(
                    f"CREATE OR REPLACE TEMP TABLE _parsed AS {_PARSE_SQL}",
                    {"org": organization_id, "placeholder": BODY_PLACEHOLDER},
                )
            finally:
                cur.unregister("_chunk")
            bad_rows = cur.execute(
                "SELECT line_no, reason FROM _parsed WHERE reason IS NOT NULL ORDER BY line_no"
            ).fetchall()
            report.bad.extend(BadLine(int(n), str(r)) for n, r in bad_rows)
            added = store.insert_from(
                "SELECT * FROM _parsed WHERE reason IS NULL", order_by="line_no"
            )
            cur.execute("DROP TABLE _parsed")
        report.read += len(chunk)
        report.added += added
        report.duplicates += len(chunk) - len(bad_rows) - added
        chunk.clear()

    for item in _lines(path, undecodable):
        chunk.append(item)
        if len(chunk) >= CHUNK_LINES:
            flush()
    flush()
    report.read += len(undecodable)
    report.bad = sorted([*report.bad, *undecodable], key=lambda b: b.line)
    return report


_DEFAULT_RE = re.compile(r"DEFAULT (.+)$")
SCORE_PREFIX = "score:"


def _map_of(
    frame: pd.DataFrame, prefix: str, value_type: str, params: dict[str, Any], name: str
) -> str:
    """A ``MAP(VARCHAR, value_type)`` built from the frame's ``<prefix><key>`` columns."""
    entries = []
    for i, col in enumerate(c for c in frame.columns if str(c).startswith(prefix)):
        params[f"{name}{i}"] = str(col)[len(prefix) :]
        entries.append(f"{{'k': ${name}{i}, 'v': CAST({quote_ident(str(col))} AS {value_type})}}")
    if not entries:
        return f"MAP {{}}::MAP(VARCHAR, {value_type})"
    return f"map_from_entries(list_filter([{', '.join(entries)}], lambda e: e.v IS NOT NULL))"


def ingest_frame(
    store: Store,
    frame: pd.DataFrame,
    organization_id: str,
    *,
    versions: bool = False,
    updated_at: _dt.datetime | None = None,
) -> int:
    """Insert a DataFrame of request rows (the shape :func:`generate_demo` returns).

    Columns are named like the store's (see ``_store.COLUMNS``); ``properties`` is spread over
    columns named ``property:<name>`` (None = the request has no such property) and ``scores``
    over columns named ``score:<key>`` (integers, missing = no such score). Missing columns take
    the store's default (or NULL); ``organization_id`` defaults to the backend's, ``updated_at``
    to ``updated_at`` if given, else the response time (or the request time).

    ``versions=False`` adds only requests not stored yet (:meth:`Store.insert_from`);
    ``versions=True`` writes every row as a version (:meth:`Store.insert_versions`): a row of a
    stored request with a newer ``updated_at`` replaces it. Returns the number of rows written.
    """
    present = set(frame.columns)
    select: list[str] = []
    params: dict[str, Any] = {}
    for col in SOURCE_COLUMNS:
        if col in ("properties", "scores"):
            continue
        if col in present:
            select.append(f"{quote_ident(col)} AS {col}")
        elif col == "organization_id":
            params["org"] = organization_id  # only when used: DuckDB refuses unused parameters
            select.append("$org AS organization_id")
        elif col == "updated_at":
            if updated_at is not None:
                params["updated_at"] = updated_at
                select.append("$updated_at::TIMESTAMP AS updated_at")
            elif "response_created_at" in present:
                select.append("coalesce(response_created_at, request_created_at) AS updated_at")
            else:
                select.append("request_created_at AS updated_at")
        else:
            m = _DEFAULT_RE.search(COLUMNS[col])
            sql_type = COLUMNS[col].split(" NOT NULL")[0].split(" DEFAULT")[0]
            select.append(f"CAST({m.group(1) if m else 'NULL'} AS {sql_type}) AS {col}")
    select.append(_map_of(frame, PROPERTY_PREFIX, "VARCHAR", params, "k") + " AS properties")
    select.append(_map_of(frame, SCORE_PREFIX, "BIGINT", params, "s") + " AS scores")
    relation = f"SELECT {', '.join(select)} FROM _frame"
    with store.write_lock:
        cur = store.cursor()
        cur.register("_frame", frame)
        try:
            if versions:
                return store.insert_versions(relation, params)
            return store.insert_from(relation, params)
        finally:
            cur.unregister("_frame")
