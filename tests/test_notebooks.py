"""The bundled notebooks: public API only, a parameters cell, stored outputs, linked from README.

Re-running every notebook and comparing each text output with the stored one is nbval's job (it
runs in the default ``pytest`` command, see ``[tool.pytest.ini_options]``; the kernels get the test
environment from ``tests/notebook_tools.py``). These tests read the files without a kernel and
check what nbval cannot: that a reader who copies a cell only copies public API, that each
notebook can be parameterised, and that the stored file shows its results (tables, text and PNG
plots) when it is opened on a code host. ``python -m tests.notebook_tools`` re-executes them.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .notebook_tools import NOTEBOOKS, ROOT, bundled_notebooks

EXPECTED = [
    "01-quickstart",
    "02-cost-analysis",
    "03-latency-analysis",
    "04-interactive-filtering",
    "05-session-drilldown",
    "06-models-and-prices",
]
PUBLIC_MODULES = {
    "helicone_nb",
    "helicone_nb.recipes",
    "helicone_nb.plots",
    "helicone_nb.drilldown",
    "helicone_nb.widgets",
    "helicone_nb.report",
}
IGNORE_TAG = "nbval-ignore-output"
# Methods whose result, as a cell's last expression, is displayed (heuristic for "shows output").
DISPLAYED_METHODS = {"head", "tail", "round", "to_frame", "describe"}


def _load(path: Path) -> dict[str, Any]:
    notebook: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return notebook


def _source(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _code_cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def _tree(cell: dict[str, Any]) -> ast.Module:
    # notebooks here use no IPython magics, so every cell is plain Python
    return ast.parse(_source(cell))


def _tags(cell: dict[str, Any]) -> list[str]:
    tags: list[str] = cell.get("metadata", {}).get("tags", [])
    return tags


@pytest.fixture(params=EXPECTED)
def notebook(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(NOTEBOOKS / f"{request.param}.ipynb")


def test_the_bundled_notebooks_are_the_five_of_the_issue() -> None:
    assert [p.stem for p in bundled_notebooks()] == EXPECTED


def test_pytest_runs_the_notebooks_under_strict_nbval() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    options = options["ini_options"]
    assert "notebooks" in options["testpaths"]
    flags = options["addopts"].split()
    assert "--nbval" in flags and "--nbval-lax" not in flags
    assert "tests.notebook_tools" in flags  # the kernels' environment
    sanitize = flags[flags.index("--nbval-sanitize-with") + 1]
    assert (ROOT / sanitize).is_file()


# -- public API only ---------------------------------------------------------------------------


class _PublicAPIChecker(ast.NodeVisitor):
    """Collects every use of helicone_nb that a reader could not copy from the public API."""

    def __init__(self) -> None:
        self.modules: dict[str, ModuleType] = {}  # local name -> public helicone_nb module
        self.problems: list[str] = []

    def _module(self, name: str) -> ModuleType | None:
        if name.split(".")[0] != "helicone_nb":
            return None
        if name not in PUBLIC_MODULES:
            self.problems.append(f"imports the non-public module {name}")
            return None
        return importlib.import_module(name)

    def _exported(self, module: ModuleType, name: str) -> bool:
        exported = name in getattr(module, "__all__", ())
        if not exported:
            self.problems.append(f"uses {module.__name__}.{name}, which is not in its __all__")
        return exported

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            module = self._module(alias.name)
            if module is not None:
                if alias.asname:
                    self.modules[alias.asname] = module
                else:
                    self.modules[alias.name.split(".")[0]] = importlib.import_module("helicone_nb")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = self._module(node.module or "") if node.level == 0 else None
        if module is None:
            return
        for alias in node.names:
            if self._exported(module, alias.name):
                value = getattr(module, alias.name)
                if isinstance(value, ModuleType):
                    self.modules[alias.asname or alias.name] = value

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_") and not node.attr.startswith("__"):
            self.problems.append(f"uses the private attribute .{node.attr}")
        chain: list[str] = []
        base: ast.expr = node
        while isinstance(base, ast.Attribute):
            chain.insert(0, base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in self.modules:
            value: Any = self.modules[base.id]
            for name in chain:
                if not isinstance(value, ModuleType):
                    break
                if not self._exported(value, name):
                    break
                value = getattr(value, name)
        # visit the innermost expression only: the chain has been checked as a whole
        self.generic_visit(base)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr", "hasattr"):
            for arg in node.args[1:2]:
                if isinstance(arg, ast.Constant) and str(arg.value).startswith("_"):
                    self.problems.append(f"{node.func.id}() of the private name {arg.value!r}")
        self.generic_visit(node)


def test_notebooks_use_only_public_api(notebook: dict[str, Any]) -> None:
    checker = _PublicAPIChecker()
    for cell in _code_cells(notebook):
        checker.visit(_tree(cell))
    assert checker.modules, "the notebook does not import helicone_nb"
    assert checker.problems == []


def test_the_public_api_check_catches_private_use() -> None:
    checker = _PublicAPIChecker()
    checker.visit(
        ast.parse(
            "import helicone_nb as hnb\n"
            "from helicone_nb._client import Client\n"
            "from helicone_nb import recipes, _frames\n"
            "import helicone_nb.backend\n"
            "hnb._connect\n"
            "recipes._check_frame\n"
            "client._http\n"
            "getattr(hnb, '_cache')\n"
            "hnb.recipes.cost_by, hnb.request.model, recipes.summary\n"
        )
    )
    assert checker.problems == [
        "imports the non-public module helicone_nb._client",
        "uses helicone_nb._frames, which is not in its __all__",
        "imports the non-public module helicone_nb.backend",
        "uses the private attribute ._connect",
        "uses helicone_nb._connect, which is not in its __all__",
        "uses the private attribute ._check_frame",
        "uses helicone_nb.recipes._check_frame, which is not in its __all__",
        "uses the private attribute ._http",
        "getattr() of the private name '_cache'",
    ]


# -- structure ---------------------------------------------------------------------------------


def test_a_title_then_the_parameters_cell(notebook: dict[str, Any]) -> None:
    cells = notebook["cells"]
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# ")
    parameters = cells[1]
    assert parameters["cell_type"] == "code" and "parameters" in _tags(parameters)
    tree = _tree(parameters)
    assert all(isinstance(s, ast.Assign) for s in tree.body), "parameters: assignments only"
    names = {t.id for s in tree.body for t in s.targets if isinstance(t, ast.Name)}  # type: ignore[attr-defined]
    assert {"TZ", "START", "END"} <= names
    assert parameters["outputs"] == []


def test_the_kernel_is_the_default_python3(notebook: dict[str, Any]) -> None:
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def test_markdown_explains_each_step(notebook: dict[str, Any]) -> None:
    run: list[str] = []  # the code cells since the last markdown cell
    for cell in notebook["cells"]:
        run = [*run, _source(cell)] if cell["cell_type"] == "code" else []
        assert len(run) <= 2, "three code cells without a word between them:\n" + run[0][:200]


def test_outputs_are_ignored_only_for_widget_views(notebook: dict[str, Any]) -> None:
    for cell in _code_cells(notebook):
        ignored = IGNORE_TAG in _tags(cell) or "NBVAL_IGNORE_OUTPUT" in _source(cell)
        if ignored:
            assert re.search(r"Session(Filters|Explorer)\(", _source(cell)), _source(cell)


# -- stored outputs ----------------------------------------------------------------------------


def _shows_output(tree: ast.Module) -> bool:
    """Whether a cell prints, displays or plots, or ends with an expression that is displayed."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("print", "display", "show"):
                return True
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr):
        return False
    value = last.value
    if isinstance(value, ast.Call):
        return isinstance(value.func, ast.Attribute) and value.func.attr in DISPLAYED_METHODS
    return not isinstance(value, ast.Constant)


def test_every_cell_was_run_once_top_to_bottom(notebook: dict[str, Any]) -> None:
    counts = [cell["execution_count"] for cell in _code_cells(notebook)]
    assert counts == list(range(1, len(counts) + 1))


def test_cells_that_show_something_have_stored_outputs(notebook: dict[str, Any]) -> None:
    for cell in _code_cells(notebook):
        if _shows_output(_tree(cell)):
            assert cell["outputs"], f"no stored output for:\n{_source(cell)}"


def test_no_errors_warnings_or_volatile_text_in_stored_outputs(notebook: dict[str, Any]) -> None:
    for cell in _code_cells(notebook):
        for output in cell["outputs"]:
            assert output["output_type"] != "error", _source(cell)
            assert output.get("name") != "stderr", f"{_source(cell)}\n{output.get('text')}"
            text = json.dumps({k: v for k, v in output.get("data", {}).items() if "image" not in k})
            text += json.dumps(output.get("text", ""))
            assert not re.search(r"/tmp/|\bat 0x[0-9a-f]+|ipykernel_\d+", text), _source(cell)


def test_plots_are_stored_as_png(notebook: dict[str, Any]) -> None:
    plotting = [c for c in _code_cells(notebook) if "plt.show()" in _source(c)]
    for cell in plotting:
        assert any("image/png" in o.get("data", {}) for o in cell["outputs"]), _source(cell)
    if not _source(notebook["cells"][0]).startswith("# Interactive"):  # plots in its widgets
        assert plotting, "no plot in an analysis notebook"


# -- README ------------------------------------------------------------------------------------


def test_readme_links_each_notebook_with_a_line_on_what_it_answers() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in EXPECTED:
        link = re.search(rf"\[[^\]]+\]\(notebooks/{re.escape(name)}\.ipynb\)[^\n]*", readme)
        assert link, f"README does not link notebooks/{name}.ipynb"
        assert len(link.group(0)) > len(f"[{name}](notebooks/{name}.ipynb)") + 20, link.group(0)
