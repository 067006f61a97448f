"""Execute the bundled notebooks and store their outputs; the pytest plugin for their kernels.

Storing outputs, from the repository root::

    .venv/bin/python -m tests.notebook_tools                   # every notebooks/[0-9]*.ipynb
    .venv/bin/python -m tests.notebook_tools 02-cost-analysis  # one (name with or without .ipynb)

Each notebook runs top to bottom in a fresh ``python3`` kernel of this interpreter, in the
``notebooks/`` folder, with the same environment as under ``pytest --nbval``: no
``HELICONE_API_KEY`` / ``HELICONE_BASE_URL`` (so the demo data), no progress bars, and an empty
page cache of its own. Outputs are written back in place, without timing metadata, widget state or
widget views (a stored view without its state only shows an error; its text form stays), and with
consecutive prints of a cell merged into one stream output, so that re-running an unchanged
notebook leaves the file unchanged.

Under ``pytest --nbval`` this module is a plugin (``-p tests.notebook_tools`` in pyproject's
pytest options): nbval starts one kernel per notebook, which inherits ``os.environ`` as it is
when the notebook's first cell is set up. :func:`pytest_runtest_setup` gives that moment the
environment above (with one page cache for the whole run), whatever the command line collects,
so ``pytest notebooks/`` alone behaves like the full run, and the developer's key never reaches
a notebook.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def bundled_notebooks() -> list[Path]:
    """The notebooks shipped to users, ``notebooks/NN-*.ipynb`` (``_*.ipynb`` are test fixtures)."""
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def notebook_environment(cache_dir: str) -> dict[str, str]:
    """``os.environ`` as notebook kernels see it under test: demo data, no progress bars."""
    hidden = ("HELICONE_API_KEY", "HELICONE_BASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env["HELICONE_NB_PROGRESS"] = "0"
    env["HELICONE_NB_CACHE_DIR"] = cache_dir
    return env


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(path: Path, *, timeout: int = 600) -> float:
    """Run ``path`` top to bottom and store its outputs in place; returns the seconds taken."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with (
        tempfile.TemporaryDirectory(prefix="helicone-nb-notebooks-") as cache_dir,
        _environment(notebook_environment(cache_dir)),
    ):
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            record_timing=False,
            store_widget_state=False,
        )
        started = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - started
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _stable_outputs(cell.outputs)
    nbformat.write(nb, path)
    return seconds


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _stable_outputs(outputs: list[Any]) -> list[Any]:
    """Outputs without widget views, consecutive stream outputs of one stream merged."""
    stable: list[Any] = []
    for output in outputs:
        output.get("data", {}).pop(WIDGET_VIEW, None)
        previous = stable[-1] if stable else None
        if (
            output["output_type"] == "stream"
            and previous is not None
            and previous["output_type"] == "stream"
            and previous["name"] == output["name"]
        ):
            previous["text"] += output["text"]
        else:
            stable.append(output)
    return stable


# -- the pytest plugin ---------------------------------------------------------------------------

_run_cache: tempfile.TemporaryDirectory[str] | None = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    """Set up notebook cells (and so start their kernel) in the notebooks' environment."""
    global _run_cache
    if item.path.suffix != ".ipynb":
        return (yield)
    if _run_cache is None:
        _run_cache = tempfile.TemporaryDirectory(prefix="helicone-nb-nbval-")
    with _environment(notebook_environment(_run_cache.name)):
        return (yield)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _run_cache
    if _run_cache is not None:
        _run_cache.cleanup()
        _run_cache = None


# -- the command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all bundled ones)")
    args = parser.parse_args(argv)
    paths = (
        [NOTEBOOKS / (n if n.endswith(".ipynb") else f"{n}.ipynb") for n in args.names]
        if args.names
        else bundled_notebooks()
    )
    for path in paths:
        if not path.exists():
            print(f"no such notebook: {path}", file=sys.stderr)
            return 2
        seconds = execute(path)
        print(f"{path.relative_to(ROOT)}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
