"""``helicone-nb serve``: a local Helicone-compatible API over demo data or a DuckDB store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from ..backend import DEMO_DEFAULT_REQUESTS, DEMO_END, DEMO_START
from ._hosts import is_loopback

if TYPE_CHECKING:
    from ..backend import Backend, FaultPlan


def register(subparsers: Any) -> None:
    """Add ``serve`` to the ``helicone-nb`` parser."""
    serve = subparsers.add_parser(
        "serve",
        help="run a local Helicone-compatible API (demo data or a local mirror)",
        description="Serve Helicone's session API (/v1/session/query, /count, /name/query, "
        "/v1/request/query-clickhouse) from demo data or a store filled with "
        "'helicone-nb import'. Listens on loopback only unless --allow-remote is given.",
    )
    source = serve.add_mutually_exclusive_group()
    source.add_argument("--demo", action="store_true", help="serve the built-in demo data")
    source.add_argument(
        "--db",
        metavar="PATH",
        help="serve this mirror (filled by 'helicone-nb sync' or 'import'; a DuckDB store file "
        "of helicone_nb 0.1 works too)",
    )
    serve.add_argument(
        "--demo-requests",
        type=int,
        default=DEMO_DEFAULT_REQUESTS,
        metavar="N",
        help=f"size of the demo (default {DEMO_DEFAULT_REQUESTS:,})",
    )
    serve.add_argument("--demo-seed", type=int, default=0, metavar="SEED", help="demo seed")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8585, help="port (8585)")
    serve.add_argument(
        "--api-key", metavar="KEY", help="accept only this bearer key (default: any key)"
    )
    serve.add_argument(
        "--quirks",
        action="store_true",
        help="answer like production Helicone: counts as JSON strings, ClickHouse timestamps",
    )
    serve.add_argument(
        "--delay-ms", type=float, default=0.0, metavar="N", help="sleep N ms in every request"
    )
    serve.add_argument(
        "--faults",
        type=float,
        default=0.0,
        metavar="RATE",
        help="inject faults into this share of query requests, 0 to 1 (default 0: none)",
    )
    serve.add_argument(
        "--fault-kinds",
        default="retryable",
        metavar="LIST",
        help="comma-separated kinds: 500,502,503,504,429,drop,timeout,truncate,shape,shift, or "
        "'retryable' (the first eight; default) or 'all'",
    )
    serve.add_argument("--fault-seed", type=int, default=0, metavar="N", help="fault seed (0)")
    serve.add_argument(
        "--fault-stall",
        type=float,
        default=31.0,
        metavar="SECONDS",
        help="how long a 'timeout' fault stalls (31: past the client's default 30 s timeout)",
    )
    serve.add_argument(
        "--rate-limit",
        metavar="CALLS/SECONDS",
        help="Helicone's rate limit, e.g. 1000/300 (the free tier): RateLimit-* headers on "
        "every answer, 429 over the budget (default: no limit)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level; 'info' logs every request on stderr (default info)",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback (the server has no TLS)",
    )
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; print what is served on stderr, and the fault counts at the end."""
    from ..backend import demo_backend, serve

    if not is_loopback(args.host) and not args.allow_remote:
        raise UsageError(
            f"refusing to listen on {args.host}: the embedded server speaks plain HTTP (no TLS), "
            "so API keys and data would cross the network in clear text, and it is meant for "
            "local notebooks and tests. Use --host 127.0.0.1, or add --allow-remote if you "
            "really want other machines to reach it."
        )
    if args.delay_ms < 0:
        raise UsageError("--delay-ms must be >= 0")
    options: dict[str, Any] = {
        "api_key": args.api_key,
        "quirks": args.quirks,
        "delay_s": args.delay_ms / 1000,
        "faults": _fault_plan(args),
        "rate_limit": _rate_limit(args.rate_limit),
    }
    if args.db:
        backend, what = _store_backend(Path(args.db), options)
    elif args.demo:
        backend = demo_backend(args.demo_requests, args.demo_seed, **options)
        what = f"demo data ({DEMO_START:%Y-%m-%d} to {DEMO_END:%Y-%m-%d}, seed {args.demo_seed})"
    else:
        raise UsageError("say what to serve: --demo, or --db PATH (a store filled by 'import')")
    key = "only the key given with --api-key" if args.api_key else "any bearer key"
    limiter = backend.rate_limiter
    if limiter is not None:
        key += f", at most {limiter.limit:,} calls per {limiter.window_s:g} s"
    plan = backend.faults
    faults = (
        f", injecting faults into {plan.rate:.0%} of query requests "
        f"({','.join(plan.kinds)}; seed {plan.seed})"
        if plan is not None
        else ""
    )
    print(
        f"helicone-nb: serving {what}: {backend.request_count:,} requests, "
        f"{backend.session_count:,} sessions, on http://{args.host}:{args.port} "
        f"(accepting {key}{', quirks mode' if args.quirks else ''}{faults}); Ctrl+C stops it.",
        file=sys.stderr,
        flush=True,
    )

    def summary() -> None:
        if plan is not None:
            print(f"helicone-nb: {plan.summary()}", file=sys.stderr, flush=True)

    try:
        serve(backend, args.host, args.port, on_shutdown=summary, log_level=args.log_level)
    finally:
        backend.close()
    return 0


def _store_backend(path: Path, options: dict[str, Any]) -> tuple[Backend, str]:
    """A backend over the mirror at ``path`` (or a DuckDB store file of helicone_nb 0.1)."""
    from ..backend import Backend

    if path.is_file():
        return Backend(str(path), **options), f"store {path}"
    if not (path / "mirror.json").is_file():
        raise UsageError(
            f"no mirror at {path}: fill one with 'helicone-nb sync --db {path}' or "
            f"'helicone-nb import FILE.jsonl --db {path}', or serve --demo"
        )
    from ..mirror import Mirror

    return Mirror(path).backend(**options), f"mirror {path}"


def _fault_plan(args: argparse.Namespace) -> FaultPlan | None:
    """The FaultPlan that --faults, --fault-kinds, --fault-seed and --fault-stall ask for."""
    from ..backend import FaultPlan

    if not 0 <= args.faults <= 1:
        raise UsageError(f"--faults is a share of requests from 0 to 1, got {args.faults}")
    if args.faults == 0:
        return None
    try:
        return FaultPlan(args.faults, args.fault_kinds, args.fault_seed, stall_s=args.fault_stall)
    except ValueError as exc:
        raise UsageError(f"--fault-kinds / --fault-stall: {exc}") from None


def _rate_limit(text: str | None) -> tuple[int, float] | None:
    """The (calls, seconds) of ``--rate-limit CALLS/SECONDS``."""
    if text is None:
        return None
    from ..backend._ratelimit import parse_rate_limit

    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        raise UsageError(f"--rate-limit: {exc}") from None
