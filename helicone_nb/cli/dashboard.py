"""``helicone-nb dashboard``: the dashboard app (a bundled notebook) served by Voila.

The app notebook ships inside the package (``helicone_nb/app/dashboard.ipynb``). This command
checks its options, starts Voila on that notebook in its own process group with a private
Jupyter runtime directory, prints the URL once the page answers, and on Ctrl-C (or SIGTERM)
stops Voila and every kernel it started: no process is left behind. The API key is passed to
the kernel only through the environment (``HELICONE_API_KEY``), never on a command line or into
the page.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._errors import UsageError
from ._hosts import is_loopback

#: How long Voila may take to answer before the command gives up (seconds).
START_TIMEOUT_S = 60.0


def register(subparsers: Any) -> None:
    """Add ``dashboard`` to the ``helicone-nb`` parser."""
    parser = subparsers.add_parser(
        "dashboard",
        help="open the dashboard (summary, what changed, sessions, drill-down) in a browser",
        description="Serve the helicone_nb dashboard with Voila: a summary strip, what changed "
        "against the previous period, the interactive sessions table, plots, drill-down and "
        "(with request rows) a By-model view. Data: --demo, --mirror PATH, or your Helicone "
        "organisation through HELICONE_API_KEY. Listens on loopback only unless --allow-remote.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--demo", action="store_true", help="the built-in demo data")
    source.add_argument("--mirror", metavar="PATH", help="a local mirror ('helicone-nb sync')")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8866, help="port (8866)")
    parser.add_argument(
        "--no-browser", action="store_true", help="print the URL but do not open a browser"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback (the dashboard has no login and no TLS)",
    )
    parser.set_defaults(handler=run)


def app_notebook() -> Path:
    """The bundled app notebook (package data)."""
    from importlib.resources import files

    path = Path(str(files("helicone_nb") / "app" / "dashboard.ipynb"))
    if not path.is_file():
        raise UsageError(f"the dashboard app notebook is missing from the package ({path})")
    return path


def _source(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """What to show (for the message) and the environment that tells the app notebook."""
    from ..app import MIRROR_ENV, SOURCE_ENV

    if args.demo:
        return "the demo data", {SOURCE_ENV: "demo"}
    if args.mirror:
        path = Path(args.mirror).expanduser().resolve()
        if not path.exists():
            raise UsageError(f"no mirror at {args.mirror}: create one with 'helicone-nb sync'")
        return f"the mirror at {path}", {SOURCE_ENV: "mirror", MIRROR_ENV: str(path)}
    if os.environ.get("HELICONE_API_KEY"):
        return "your Helicone organisation (HELICONE_API_KEY)", {SOURCE_ENV: "live"}
    raise UsageError(
        "say what to show: --demo, --mirror PATH, or set HELICONE_API_KEY for your own data"
    )


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port"
            ) from None


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


_RUN_ENV = "HELICONE_NB_DASHBOARD_RUN"  # inherited by Voila and every kernel it starts


def _processes_of(run_id: str) -> list[int]:
    """Process ids started for this dashboard run: their environment carries ``run_id``
    (Linux /proc; elsewhere [] and Voila's own shutdown is relied on)."""
    marker = f"{_RUN_ENV}={run_id}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return [pid for pid in found if pid != os.getpid()]


def _stop(voila: subprocess.Popen[bytes], run_id: str) -> None:
    """Stop Voila (it shuts its kernels down), then anything of ours still running."""
    if voila.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(voila.pid, signal.SIGTERM)
        try:
            voila.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(voila.pid, signal.SIGKILL)
            voila.wait(timeout=10)
    # kernels run in sessions of their own: find them by the environment they inherited
    for pid in _processes_of(run_id):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while _processes_of(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in _processes_of(run_id):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the dashboard like Ctrl-C does (a service manager, a test)."""

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until Ctrl-C; print its URL on stdout once it answers."""
    import importlib.util

    from ..app import SOURCE_ENV

    if not is_loopback(args.host) and not args.allow_remote:
        raise UsageError(
            f"refusing to listen on {args.host}: the dashboard shows your Helicone data without "
            "a login or TLS. Use --host 127.0.0.1, or add --allow-remote if other machines "
            "should reach it."
        )
    for module, extra in (("voila", "dashboard"), ("ipywidgets", "notebook")):
        if importlib.util.find_spec(module) is None:
            raise UsageError(f"the dashboard needs {module}: pip install 'helicone_nb[{extra}]'")
    what, source_env = _source(args)
    notebook = app_notebook()
    _check_port(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{args.port}/"
    with tempfile.TemporaryDirectory(prefix="helicone-nb-dashboard-") as runtime:
        env = {
            **os.environ,
            **source_env,
            "JUPYTER_RUNTIME_DIR": runtime,
            _RUN_ENV: runtime,
            "JUPYTER_PLATFORM_DIRS": "1",
            "HELICONE_NB_PROGRESS": "0",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        command = [
            sys.executable,
            "-m",
            "voila",
            str(notebook),
            "--no-browser",
            f"--Voila.ip={args.host}",
            f"--port={args.port}",
            "--VoilaConfiguration.show_tracebacks=False",
            "--Voila.log_level=ERROR",
        ]
        if source_env[SOURCE_ENV] != "live":
            # local data: the notebook runs before the first visit (and again for the next
            # one). Not with a live key, where that would query Helicone unasked.
            command += ["--preheat_kernel=True", "--pool_size=1"]
        print(f"helicone-nb: starting the dashboard over {what} ...", file=sys.stderr, flush=True)
        with _sigterm_as_interrupt():
            log = Path(runtime) / "voila.log"  # kept out of the terminal: kernels are chatty
            with log.open("wb") as sink:
                voila = subprocess.Popen(
                    command,
                    env=env,
                    cwd=runtime,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                deadline = time.monotonic() + START_TIMEOUT_S
                while not _answers(args.host, args.port):
                    if voila.poll() is not None:
                        raise UsageError(
                            f"voila exited early (code {voila.returncode}):\n"
                            + log.read_text(errors="replace")[-2000:]
                        )
                    if time.monotonic() > deadline:
                        raise UsageError(f"voila did not answer within {START_TIMEOUT_S:.0f} s")
                    time.sleep(0.1)
                print(url, flush=True)
                print("helicone-nb: dashboard running; Ctrl-C stops it.", file=sys.stderr)
                if not args.no_browser:
                    import webbrowser

                    webbrowser.open(url)
                voila.wait()
                raise UsageError(
                    f"voila stopped by itself (code {voila.returncode}):\n"
                    + log.read_text(errors="replace")[-2000:]
                )
            except KeyboardInterrupt:
                print("helicone-nb: stopping the dashboard ...", file=sys.stderr, flush=True)
                return 0
            finally:
                _stop(voila, runtime)
