"""Reliability and security figures: faults injected and ridden out, fuzz cases, leaks.

``python -m tests.benchmarks --only reliability`` prints the table (full size: a few minutes);
the default test run includes the smoke size (seconds). Sections:

- **pulls at 30 %**: 20-page pulls (full: 20,000 sessions, 1000 a page) with 30 % of the query
  requests spoilt by mixed retryable faults (500/502/503/504, 429, drops, timeouts, truncated
  bodies), with the client's default RetryPolicy (backoff 0.01 s instead of 0.5 s: the retry
  count, 7 attempts a page, is the same; see ``tests/reliability/scenarios.FAST_DEFAULT``),
  then the same with the old default, ``max_retries=4``. Each pull either matches the
  fault-free frame or fails with a typed error, after which a fault-free re-run must fetch only
  the missing pages;
- **per kind**: each kind alone at 30 %, shape faults of every variant, new traffic shifting
  the pages of an open window (default concurrency);
- **fuzz**: mutated filter trees through the client's parser, fuzzed bodies through the server;
- **injection**: the SQL-injection corpus on every text column, property key and value;
- **leaks**: the sentinel key searched in reprs, errors, DEBUG logs, cache files, stored
  notebook outputs, widget state and the HTML report;
- **concurrency**: 8 clients x 100 queries (full: a real ``helicone-nb serve``).
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
import threading
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from .harness import Figure

NAME = "reliability"
_SIZES: dict[str, dict[str, int]] = {
    "smoke": {
        "sessions": 1000,
        "page": 50,
        "pulls": 3,
        "pulls_old": 0,
        "per_kind": 1,
        "fuzz": 300,
        "injection": 150,
        "clients": 4,
        "queries": 10,
    },
    "full": {
        "sessions": 20_000,
        "page": 1000,
        "pulls": 100,
        "pulls_old": 100,
        "per_kind": 10,
        "fuzz": 10_000,
        "injection": 0,  # 0: every probe
        "clients": 8,
        "queries": 100,
    },
}
#: The default before the reliability work: one 20-page pull in 21 failed at 30 % faults.
OLD_DEFAULT_RETRIES = 4


def _fig(metric: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> Figure:
    return Figure(NAME, metric, value, unit, target, ok)


# ------------------------------------------------------------------------------- pulls


def _pulls(
    backend: Any, clean: Any, n: int, page: int, retries: Any, seed0: int, injected: Counter[str]
) -> dict[str, float]:
    from helicone_nb.backend import FaultPlan
    from tests.reliability.scenarios import pull_with_faults

    completed = mismatches = broken = resumed = requests = 0
    for i in range(n):
        plan = FaultPlan(0.3, kinds="retryable", seed=seed0 + i, stall_s=0.3)
        with tempfile.TemporaryDirectory() as cache:
            result = pull_with_faults(
                backend, plan, clean, Path(cache), page_size=page, retries=retries, timeout=0.2
            )
        injected.update(plan.injected)
        completed += result.completed
        mismatches += bool(result.mismatch)
        broken += bool(result.problems)
        resumed += bool(result.resumed)
        requests += result.requests
    return {
        "completed": completed,
        "mismatches": mismatches,
        "broken": broken,
        "resumed": resumed,
        "requests": requests / max(n, 1),
    }


def _pull_figures(size: str, injected: Counter[str]) -> list[Figure]:
    from helicone_nb import RetryPolicy
    from tests.reliability.scenarios import FAST_DEFAULT, clean_frame, sessions_backend

    cfg = _SIZES[size]
    backend = sessions_backend(cfg["sessions"])
    clean = clean_frame(backend, cfg["page"])
    pages = -(-cfg["sessions"] // cfg["page"])
    figures = []
    runs = [(f"default retries ({FAST_DEFAULT.max_retries})", FAST_DEFAULT, cfg["pulls"], 1000)]
    if cfg["pulls_old"]:
        old = RetryPolicy(max_retries=OLD_DEFAULT_RETRIES, backoff=0.01)
        runs.append((f"old default ({OLD_DEFAULT_RETRIES})", old, cfg["pulls_old"], 5000))
    for label, policy, n, seed0 in runs:
        t0 = time.perf_counter()
        r = _pulls(backend, clean, n, cfg["page"], policy, seed0, injected)
        per_page = 0.3 ** (policy.max_retries + 1)
        exp = (1 - per_page) ** pages
        prefix = f"30% faults, {pages}-page pulls, {label}"
        figures += [
            _fig(f"{prefix}: pulls", n, "pulls"),
            _fig(
                f"{prefix}: completed",
                100 * r["completed"] / n,
                "%",
                f"expected {100 * exp:.1f}%",
                None,
            ),
            _fig(f"{prefix}: mismatches", r["mismatches"], "pulls", "0", r["mismatches"] == 0),
            _fig(
                f"{prefix}: failed pulls resumed exactly",
                r["resumed"],
                "pulls",
                f"{n - r['completed']:.0f} (all failed)",
                r["resumed"] == n - r["completed"],
            ),
            _fig(f"{prefix}: broken promises", r["broken"], "pulls", "0", r["broken"] == 0),
            _fig(f"{prefix}: HTTP requests per pull", r["requests"], "requests"),
            _fig(f"{prefix}: seconds", time.perf_counter() - t0, "s"),
        ]
    backend.close()
    return figures


def _kind_figures(size: str, injected: Counter[str]) -> list[Figure]:
    """Each kind alone at 30 %: how the pulls ended."""
    import pandas as pd

    import helicone_nb as hnb
    from helicone_nb.backend import FAULT_KINDS, FaultPlan
    from tests.reliability.scenarios import (
        WINDOW,
        clean_frame,
        client,
        pull_with_faults,
        sessions_backend,
    )

    cfg = _SIZES[size]
    backend = sessions_backend(1000)
    clean = clean_frame(backend, 50)
    figures = []
    for kind in FAULT_KINDS:
        if kind == "shift":
            continue
        outcomes: Counter[str] = Counter()
        for i in range(cfg["per_kind"]):
            plan = FaultPlan(0.3, kinds=[kind], seed=300 + i, retry_after=0.2, stall_s=0.3)
            with tempfile.TemporaryDirectory() as cache:
                r = pull_with_faults(backend, plan, clean, Path(cache), page_size=50, timeout=0.2)
            injected.update(plan.injected)
            if r.mismatch:
                outcomes["silently different frame"] += 1
            elif r.problems:
                outcomes["broken promise"] += 1
            elif r.completed:
                outcomes["equal"] += 1
            else:
                outcomes["typed error, resumed"] += 1
        bad = outcomes["silently different frame"] + outcomes["broken promise"]
        detail = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
        figures.append(
            _fig(f"kind {kind} at 30%: bad outcomes ({detail})", bad, "pulls", "0", bad == 0)
        )

    # new traffic between pages of an open window, default concurrency (4)
    outcomes = Counter()
    now = [pd.Timestamp(WINDOW[1]) - pd.Timedelta(minutes=10)]
    for i in range(cfg["per_kind"] * 4):
        plan = FaultPlan(0.3, kinds=["shift"], seed=700 + i, shift_rows=3)
        with tempfile.TemporaryDirectory() as cache:
            c = client(
                backend, hnb.PageCache(cache, clock=lambda: now[0].to_pydatetime()), page_size=50
            )
            backend.faults = plan
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", hnb.InconsistentPagesWarning)
                    df = c.fetch_sessions(*WINDOW)
            finally:
                backend.faults = None
        injected.update(plan.injected)
        dupes = bool(df.duplicated(subset=["session_id", "session_name"]).any())
        missed = len(set(clean["session_id"]) - set(df["session_id"]))
        if dupes:
            outcomes["duplicates"] += 1
        elif missed and not caught:
            outcomes["rows missed without a warning"] += 1
        elif missed:
            outcomes["rows missed, warned"] += 1
        else:
            outcomes["complete" + (", warned" if caught else "")] += 1
    silent = outcomes["rows missed without a warning"] + outcomes["duplicates"]
    detail = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    figures.append(
        _fig(
            f"kind shift (open window, concurrency 4): silent misses ({detail})",
            silent,
            "pulls",
            "0",
            silent == 0,
        )
    )
    backend.close()
    return figures


# ------------------------------------------------------------------------------- fuzz


def _fuzz_figures(size: str) -> list[Figure]:
    from tests.reliability import fuzz
    from tests.reliability.scenarios import KEY, sessions_backend

    n = _SIZES[size]["fuzz"]
    t0 = time.perf_counter()
    parser_cases = parser_failures = 0
    for seed in range(n):
        rng = random.Random(seed)
        tree = fuzz.valid_filter(rng)
        for node in (
            tree,
            fuzz.mutate(tree, rng),
            fuzz.must_422_filter(rng, tree),
            fuzz.random_json(rng),
        ):
            parser_cases += 1
            parser_failures += bool(fuzz.filter_outcome(node))
    backend = sessions_backend(200, api_key=KEY)
    auth = {"Authorization": f"Bearer {KEY}"}
    kinds: Counter[str] = Counter()
    server_failures = 0
    for seed in range(n):
        case = fuzz.case(random.Random(10**6 + seed))
        kinds[case.expect] += 1
        response = backend.handle("POST", case.route, auth, case.body)
        try:
            payload = json.loads(response.body)
        except ValueError:
            payload = None
        server_failures += bool(fuzz.answer_problem(case, response.status, payload))
    ok = backend.handle(
        "POST",
        fuzz.SESSIONS,
        auth,
        json.dumps(fuzz.valid_body(random.Random(0), fuzz.SESSIONS)).encode(),
    )
    backend.close()
    return [
        _fig("fuzz: filter trees through parse_filter", parser_cases, "cases"),
        _fig(
            "fuzz: parser failures (not FilterError, no round trip)",
            parser_failures,
            "cases",
            "0",
            parser_failures == 0,
        ),
        _fig(
            f"fuzz: bodies through the server ({kinds['valid']} valid, "
            f"{kinds['must_422']} must-422, {kinds['any']} arbitrary)",
            n,
            "cases",
        ),
        _fig(
            "fuzz: server failures (unhandled 500, 422 missed, wrong shape)",
            server_failures,
            "cases",
            "0",
            server_failures == 0,
        ),
        _fig(
            "fuzz: server still serving afterwards",
            float(ok.status == 200),
            "bool",
            "1",
            ok.status == 200,
        ),
        _fig("fuzz: seconds", time.perf_counter() - t0, "s"),
    ]


# ------------------------------------------------------------------------------- injection


def _injection_figures(size: str) -> list[Figure]:
    from helicone_nb.backend import Backend
    from tests.reliability import injection
    from tests.reliability.scenarios import KEY

    rows, tags = injection.corpus_rows()
    backend = Backend(api_key=KEY)
    injection.load(backend, rows, tags)
    before = injection.checksum(backend)
    probes = list(injection.probes(rows, tags))
    limit = _SIZES[size]["injection"]
    if limit:
        probes = injection.sample(probes)[:limit]
    t0 = time.perf_counter()
    wrong = injection.mismatches(backend, probes, {"Authorization": f"Bearer {KEY}"})
    intact = injection.checksum(backend) == before
    backend.close()
    return [
        _fig(
            f"SQL-injection corpus: queries ({len(injection.CORPUS)} values on every text "
            "column, property key and value)",
            len(probes),
            "queries",
        ),
        _fig("SQL-injection corpus: wrong answers", len(wrong), "queries", "0", not wrong),
        _fig("SQL-injection corpus: data intact (checksum)", float(intact), "bool", "1", intact),
        _fig("SQL-injection corpus: seconds", time.perf_counter() - t0, "s"),
    ]


# ------------------------------------------------------------------------------- leaks


def _leak_figures(size: str) -> list[Figure]:
    import helicone_nb as hnb
    from helicone_nb import IncompleteFetchError, RetryPolicy
    from helicone_nb.backend import Backend, FaultPlan
    from tests.reliability import secrets
    from tests.reliability.scenarios import KEY, WINDOW, client, sessions_backend

    places = Counter[str]()
    leaks = Counter[str]()
    backend = sessions_backend(100, api_key=KEY)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with tempfile.TemporaryDirectory() as cache:
            c = client(backend, cache, page_size=20)
            df = c.fetch_sessions(*WINDOW)
            c.fetch_session_requests(df["session_id"].iloc[0])
            texts = [repr(c), str(c), repr(c.cache), str(c.last_fetch), repr(backend)]
            for kind in ("503", "429", "drop", "timeout", "truncate", "shape"):
                backend.faults = FaultPlan(1.0, kinds=[kind], retry_after=0.01, stall_s=0.05)
                try:
                    client(
                        backend, retries=RetryPolicy(max_retries=1, backoff=0.001), timeout=0.02
                    ).fetch_sessions(*WINDOW)
                except IncompleteFetchError as exc:
                    texts += secrets.exception_texts(exc)
                finally:
                    backend.faults = None
            try:
                client(Backend(api_key="another")).fetch_sessions(*WINDOW)
            except IncompleteFetchError as exc:
                texts += secrets.exception_texts(exc)
            places["reprs and errors"] += len(texts)
            leaks["reprs and errors"] += sum(bool(secrets.leaks_in_text(t, KEY)) for t in texts)
            files = list(Path(cache).rglob("*"))
            places["cache files"] += len(files)
            leaks["cache files"] += len(secrets.leaks_in_files(files, KEY))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    log_text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in records)
    places["log records (DEBUG)"] += len(records)
    leaks["log records (DEBUG)"] += len(secrets.leaks_in_text(log_text, KEY))

    root_dir = Path(__file__).resolve().parents[2]
    notebooks = sorted((root_dir / "notebooks").glob("*.ipynb"))
    places["stored notebooks"] += len(notebooks)
    for path in notebooks:
        leaks["stored notebooks"] += len(
            secrets.notebook_output_leaks(json.loads(path.read_text()))
        )

    html = hnb.build_report(client(backend), *WINDOW, drill_down=size == "full")
    places["HTML report"] += 1
    leaks["HTML report"] += len(secrets.leaks_in_text(html, KEY))
    if size == "full":
        from helicone_nb.widgets import SessionExplorer

        explorer = SessionExplorer(client(backend), start=WINDOW[0], end=WINDOW[1], auto=False)
        frame = explorer.refresh()
        explorer.open_session(frame["session_id"].iloc[0])
        states = secrets.widget_states(explorer.widget)
        places["widget states"] += len(states)
        leaks["widget states"] += len(secrets.leaks_in_text(secrets.state_text(states), KEY))
    backend.close()
    total = sum(leaks.values())
    searched = ", ".join(f"{k} {v}" for k, v in places.items())
    return [_fig(f"leaks found (searched: {searched})", total, "leaks", "0", total == 0)]


# ------------------------------------------------------------------------------- concurrency


def _concurrency_figures(size: str) -> list[Figure]:
    import httpx

    from helicone_nb.backend import InProcessTransport, demo_backend
    from tests.reliability.scenarios import DEMO_BODY, KEY, demo_queries
    from tests.servers import served

    cfg = _SIZES[size]
    reference = demo_backend(3000, api_key=KEY)
    auth = {"Authorization": f"Bearer {KEY}"}
    first = reference.handle("POST", "/v1/session/query", auth, json.dumps(DEMO_BODY).encode())
    ids = [r["session_id"] for r in first.json()["data"]]
    plans = [demo_queries(random.Random(s), ids)[: cfg["queries"]] for s in range(cfg["clients"])]
    expected = [
        [
            json.loads(reference.handle("POST", p, auth, json.dumps(b).encode()).body)
            for p, b in plan
        ]
        for plan in plans
    ]
    wrong = Counter[str]()

    def drive(http: httpx.Client, i: int) -> None:
        for (path, body), want in zip(plans[i], expected[i], strict=True):
            try:
                got = http.post(path, json=body).json()
            except Exception:
                got = None
            if got != want:
                wrong["x"] += 1

    def burst(make: Any) -> float:
        t0 = time.perf_counter()
        threads = []
        for i in range(len(plans)):

            def work(i: int = i) -> None:
                with make() as http:
                    drive(http, i)

            threads.append(threading.Thread(target=work))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    total = sum(map(len, plans))
    if size == "full":
        with (
            tempfile.TemporaryDirectory() as tmp,
            served(
                "--demo",
                "--demo-requests",
                "3000",
                "--api-key",
                KEY,
                "--log-level",
                "warning",
                log=Path(tmp) / "serve.log",
            ) as url,
        ):
            seconds = burst(lambda: httpx.Client(base_url=url, headers=auth, timeout=60))
        where = "helicone-nb serve"
    else:
        seconds = burst(
            lambda: httpx.Client(
                base_url="http://h.test", headers=auth, transport=InProcessTransport(reference)
            )
        )
        where = "in process"
    reference.close()
    return [
        _fig(
            f"concurrency: {cfg['clients']} clients x {cfg['queries']} queries ({where})",
            total,
            "queries",
        ),
        _fig("concurrency: wrong answers", wrong["x"], "queries", "0", wrong["x"] == 0),
        _fig("concurrency: seconds", seconds, "s"),
    ]


# ------------------------------------------------------------------------------- run


def run(size: str) -> list[Figure]:
    import matplotlib

    matplotlib.use("Agg")
    injected: Counter[str] = Counter()
    figures = _pull_figures(size, injected)
    figures += _kind_figures(size, injected)
    from helicone_nb.backend import FAULT_KINDS

    for kind in FAULT_KINDS:
        figures.append(_fig(f"faults injected: {kind}", injected[kind], "faults"))
    figures.append(_fig("faults injected: all kinds", sum(injected.values()), "faults"))
    figures += _fuzz_figures(size)
    figures += _injection_figures(size)
    figures += _leak_figures(size)
    figures += _concurrency_figures(size)
    return figures
