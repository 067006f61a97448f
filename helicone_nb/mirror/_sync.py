"""``Mirror.sync``: pull what is new (plus a re-scan of the recent past) into the mirror.

A sync plans ranges from the manifest: the first sync pulls ``[start, end)``; later ones pull
what was never synced, the last ``settle`` before the synced end again (late rows: Helicone
ingests through queues with no bound on the lag), and on request the last ``rescan`` (late
scores, feedback and property changes re-insert rows with a newer ``updated_at``).

Progress is durable: every few seconds the rows of completed slices go to ``staging/`` and the
manifest records those slices, so a sync killed at any moment (SIGKILL included) continues
where it stopped, without fetching them again. At the end of every run (finished, stopped by
``max_calls`` or by an error) the staged rows are merged into the day partitions in one
commit; readers see that commit as a whole, or the previous one.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._client.requests import RateMeter, run_slices
from .._client.slices import Completed, Range
from .._errors import UsageError
from .._wire.time import relative_seconds, to_utc
from ._manifest import (
    MIRROR_BASE_URL,
    Manifest,
    MirrorError,
    MirrorOrganizationError,
    iso,
    merge_ranges,
    parse_iso,
    read_manifest,
    subtract_ranges,
    write_manifest,
)

if TYPE_CHECKING:
    from .._client.clients import Client

#: Staged rows are made durable at least this often (seconds) or every this many rows.
FLUSH_SECONDS = 5.0
FLUSH_ROWS = 50_000
DEFAULT_SETTLE = _dt.timedelta(hours=1)
DEFAULT_CONCURRENCY = 8
#: Say how many calls a sync expects when it is at least this large.
ANNOUNCE_CALLS = 100


@dataclass
class SyncReport:
    """What one sync run did."""

    path: str
    calls: int = 0
    requests: int = 0
    added: int = 0
    updated: int = 0
    seconds: float = 0.0
    expected_calls: int | None = None
    ranges: list[Range] = field(default_factory=list)
    remaining: list[Range] = field(default_factory=list)
    budget_reached: bool = False
    waited: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.remaining

    def __str__(self) -> str:
        if self.added == 0 and self.updated == 0 and self.complete:
            head = (
                f"nothing new: {self.calls} call(s) in {self.seconds:.1f} s "
                f"({self.requests:,} request(s) re-checked)"
            )
        else:
            head = (
                f"{self.requests:,} requests fetched in {self.calls:,} calls, "
                f"{self.seconds:.1f} s: {self.added:,} added, {self.updated:,} updated"
            )
        lines = [f"mirror {self.path}: {head}"]
        if self.waited >= 1:
            lines.append(f"  waited {self.waited:.0f} s for Helicone's rate limit")
        if self.remaining:
            why = "--max-calls reached" if self.budget_reached else "stopped early"
            left = sum((b - a).total_seconds() for a, b in self.remaining) / 86400
            lines.append(
                f"  {why}: {left:.1f} day(s) of the range are left; run the sync again to continue"
            )
        return "\n".join(lines)


def as_duration(value: Any, what: str) -> _dt.timedelta | None:
    """``"1h"``, ``"30d"``, a timedelta, or None."""
    if value is None or isinstance(value, _dt.timedelta):
        return value
    if isinstance(value, str):
        seconds = relative_seconds(value.strip())
        if seconds is not None and seconds >= 0:
            return _dt.timedelta(seconds=seconds)
    raise UsageError(f"{what} must be a duration such as '1h', '30d' or a timedelta, got {value!r}")


def plan(
    manifest: Manifest,
    start: Any,
    end: Any,
    *,
    settle: _dt.timedelta,
    rescan: _dt.timedelta | None,
    now: _dt.datetime,
) -> tuple[list[Range], _dt.datetime]:
    """The ranges to pull, and the end of the synced range after this sync."""
    stop = now if end is None else to_utc(end, _dt.UTC, now, "end")
    stop = min(stop.replace(microsecond=0), now)
    synced = merge_ranges(manifest.ranges)
    if start is None:
        if not synced and not (manifest.pending and manifest.pending.get("remaining")):
            raise UsageError(
                "the first sync of a mirror needs a start: e.g. start='90d' (the last 90 days), "
                "--since 90d, or --start 2025-01-01"
            )
        begin = synced[0][0] if synced else stop
    else:
        begin = to_utc(start, _dt.UTC, now, "start").replace(microsecond=0)
    if stop <= begin and start is not None:
        raise UsageError(
            f"end ({iso(stop)}) must be after start ({iso(begin)}); swap them or widen the range"
        )
    wanted: list[Range] = subtract_ranges([(begin, stop)], synced)
    if synced:
        synced_end = min(synced[-1][1], stop)
        wanted.append((max(begin, synced_end - settle), stop))
    if rescan is not None:
        wanted.append((max(begin, stop - rescan), stop))
    if manifest.pending:
        wanted.extend(
            (parse_iso(a), parse_iso(b)) for a, b in manifest.pending.get("remaining", [])
        )
    return merge_ranges(r for r in wanted if r[0] < r[1]), stop


def check_organisation(manifest: Manifest, client: Client, allow_new_key: bool) -> Manifest:
    """Refuse a client of another server or key; adopt them on a mirror that has none."""
    fingerprint = client._fingerprint
    if manifest.base_url is None:
        return replace(manifest, base_url=client.base_url, key_fingerprint=fingerprint)
    if manifest.base_url != client.base_url:
        raise MirrorOrganizationError(
            f"this mirror was synced from {manifest.base_url}, not {client.base_url}: one "
            "organisation per mirror. Sync into another directory, or pass the same "
            "region / base URL as before."
        )
    if manifest.key_fingerprint != fingerprint:
        if not allow_new_key:
            raise MirrorOrganizationError(
                "this mirror was synced with another API key (fingerprint "
                f"{(manifest.key_fingerprint or '')[:12]}...): one organisation per mirror. If "
                "this key belongs to the same organisation (a rotated key), pass "
                "allow_new_key=True (helicone-nb sync --new-key); otherwise sync into another "
                "directory."
            )
        return replace(manifest, key_fingerprint=fingerprint)
    return manifest


class _Stager:
    """Buffers completed slices and makes them durable in ``staging/`` plus the manifest.

    Writing happens in one background thread (in order), so the calls keep going while a
    batch is converted and written; at most two batches wait, then :meth:`add` waits.
    """

    def __init__(self, mirror_path: Path, manifest: Manifest, target: list[Range]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from ._files import connect

        self.root = mirror_path
        self.manifest = manifest
        pending = manifest.pending or {}
        self.staged: list[str] = list(pending.get("staging", []))
        self.done: list[Range] = [(parse_iso(a), parse_iso(b)) for a, b in pending.get("done", [])]
        self.target = target
        self.rows: list[dict[str, Any]] = []
        self.ranges: list[Range] = []
        self.last_flush = time.monotonic()
        self.fetched = 0
        self.staged_rows = int(pending.get("rows", 0))
        self._con = connect()
        self._seq = len(self.staged)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hnb-stager")
        self._jobs: list[Future[None]] = []

    def add(self, completed: Completed) -> None:
        self.rows.extend(completed.rows)
        self.ranges.append((completed.start, completed.end))
        self.fetched += len(completed.rows)
        if len(self.rows) >= FLUSH_ROWS or time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self._submit()

    def _submit(self) -> None:
        if not self.rows and not self.ranges:
            return
        rows, ranges = self.rows, self.ranges
        self.rows, self.ranges = [], []
        self.last_flush = time.monotonic()
        for job in [j for j in self._jobs if j.done()]:
            job.result()  # a failed write raises here
            self._jobs.remove(job)
        while len(self._jobs) >= 2:  # back-pressure: never more than two batches waiting
            self._jobs.pop(0).result()
        self._jobs.append(self._pool.submit(self._write, rows, ranges))

    def flush(self) -> None:
        """Write what is buffered and wait for every write (raises a write's error)."""
        self._submit()
        while self._jobs:
            self._jobs.pop(0).result()

    def _write(self, rows: list[dict[str, Any]], ranges: list[Range]) -> None:
        from ._rows import write_rows

        if rows:
            name = f"staging/s{self.manifest.generation + 1:06d}-{self._seq:05d}.parquet"
            self._seq += 1
            (self.root / "staging").mkdir(parents=True, exist_ok=True)
            tmp = self.root / (name + ".tmp")
            try:
                write_rows(self._con, _one_per_request(rows), tmp, _organization_id())
                os.replace(tmp, self.root / name)
            except BaseException as exc:
                tmp.unlink(missing_ok=True)
                from ._files import is_disk_full

                if is_disk_full(exc):
                    raise MirrorError(
                        f"the disk holding mirror {self.root} is full; the rows fetched so far "
                        "are kept and the next sync continues from them. Free some space and run "
                        "the sync again."
                    ) from exc
                raise
            self.staged.append(name)
            self.staged_rows += len(rows)
        if ranges:
            self.done = merge_ranges([*self.done, *ranges])
            self.manifest = replace(self.manifest, pending=self.pending())
            write_manifest(self.root, self.manifest)

    def pending(self) -> dict[str, Any]:
        remaining = subtract_ranges(self.target, self.done)
        return {
            "target": [[iso(a), iso(b)] for a, b in self.target],
            "done": [[iso(a), iso(b)] for a, b in self.done],
            "remaining": [[iso(a), iso(b)] for a, b in remaining],
            "staging": list(self.staged),
            "rows": self.staged_rows,
        }

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._con.close()


def _one_per_request(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from .._client.slices import version_key

    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        rid = row["request_id"]
        old = best.get(rid)
        if old is None or version_key(row) >= version_key(old):
            best[rid] = row
    return list(best.values())


def _organization_id() -> str:
    from ..backend import DEFAULT_ORGANIZATION_ID

    return DEFAULT_ORGANIZATION_ID


def sync(
    root: Path,
    client: Client | None,
    start: Any,
    end: Any,
    *,
    settle: Any = DEFAULT_SETTLE,
    rescan: Any = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_calls: int | None = None,
    progress: bool | None = None,
    allow_new_key: bool = False,
    say: Callable[[str], None] | None = None,
    now: _dt.datetime | None = None,
) -> SyncReport:
    """See :meth:`Mirror.sync`."""
    from .._client.clients import Client
    from ._files import new_manifest, publish, remove_leftovers, writer_lock

    settle_td = as_duration(settle, "settle") or _dt.timedelta(0)
    rescan_td = as_duration(rescan, "rescan")
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise UsageError(f"concurrency must be a positive integer, got {concurrency!r}")
    if max_calls is not None and (not isinstance(max_calls, int) or max_calls < 1):
        raise UsageError(f"max_calls must be a positive integer, got {max_calls!r}")
    now = (now or _dt.datetime.now(_dt.UTC)).replace(microsecond=0)
    own_client = client is None
    if client is None:
        client = Client(cache=False)
    if client.base_url == MIRROR_BASE_URL:
        raise UsageError(
            "sync pulls from Helicone: pass a Client of your organisation, not a mirror client"
        )
    report = SyncReport(str(root))
    started = time.monotonic()
    try:
        with writer_lock(root):
            manifest = read_manifest(root) or new_manifest()
            manifest = check_organisation(manifest, client, allow_new_key)
            remove_leftovers(root, manifest)
            target, _ = plan(manifest, start, end, settle=settle_td, rescan=rescan_td, now=now)
            report.ranges = target
            density = _density(manifest)
            stager = _Stager(root, manifest, target)
            todo = subtract_ranges(target, stager.done)
            budget = f" (capped at {max_calls:,} by --max-calls)" if max_calls else ""

            def estimate(calls: int) -> None:
                report.expected_calls = calls
                if say is not None and calls >= ANNOUNCE_CALLS:
                    say(
                        f"syncing {len(todo)} range(s): about {calls:,} calls expected"
                        f"{budget}; Helicone's free tier allows 1,000 calls per 5 minutes"
                    )

            meter = RateMeter(max_calls)
            try:
                run = run_slices(
                    client,
                    todo,
                    stager.add,
                    concurrency=concurrency,
                    max_calls=max_calls,
                    density=density,
                    progress=progress,
                    label="sync",
                    meter=meter,
                    on_estimate=estimate,
                )
                stager.flush()
            finally:
                stager.close()
            report.calls, report.requests = run.calls, stager.fetched
            report.budget_reached, report.waited = run.budget_reached, run.waited
            report.remaining = subtract_ranges(target, stager.done)
            if run.error is not None and run.slices == 0 and not stager.staged:
                raise run.error
            manifest = stager.manifest
            nxt, superseded, counts = _merge(root, manifest, stager.staged)
            report.added, report.updated = counts.get("added", 0), counts.get("updated", 0)
            report.seconds = time.monotonic() - started
            nxt = replace(
                nxt,
                ranges=merge_ranges([*manifest.ranges, *stager.done]),
                pending={"remaining": [[iso(a), iso(b)] for a, b in report.remaining]}
                if report.remaining
                else None,
                last_sync={
                    "finished_at": iso(_dt.datetime.now(_dt.UTC)),
                    "ranges": [[iso(a), iso(b)] for a, b in target],
                    "calls": report.calls,
                    "requests": report.requests,
                    "added": report.added,
                    "updated": report.updated,
                    "seconds": round(report.seconds, 2),
                    "complete": report.complete,
                },
            )
            publish(root, nxt, [*superseded, *stager.staged])
            if run.error is not None:
                raise MirrorError(
                    f"sync stopped after {report.calls:,} calls: {run.error}. The "
                    f"{report.requests:,} requests of the completed slices are saved; run the "
                    "sync again to continue."
                ) from run.error
    finally:
        if own_client:
            client.close()
    return report


def _merge(
    root: Path, manifest: Manifest, staged: list[str]
) -> tuple[Manifest, list[str], dict[str, int]]:
    from ._files import commit_staged

    if not staged:
        return replace(manifest, generation=manifest.generation + 1), [], {}
    return commit_staged(root, manifest, staged)


def _density(manifest: Manifest) -> float | None:
    """Requests per second seen so far (synced ranges and an interrupted sync's slices)."""
    pending = manifest.pending or {}
    spans = [*manifest.ranges, *((parse_iso(a), parse_iso(b)) for a, b in pending.get("done", []))]
    seconds = sum((b - a).total_seconds() for a, b in spans)
    rows = manifest.rows + int(pending.get("rows", 0))
    if seconds <= 0 or rows == 0:
        return None
    return rows / seconds
