"""The package's layout rules (issue 11): no import cycles, no use of another module's privates.

Both are read from the source with ``ast`` (nothing is imported):

- an import cycle is a cycle among module-level imports between helicone_nb modules (imports
  inside functions are lazy loads and do not count; ``if TYPE_CHECKING:`` imports do count,
  since a cycle there still ties the two modules together);
- a private import is ``from helicone_nb.x import _name`` or ``x._name`` (``x`` an imported
  helicone_nb module) from another module, where ``_name`` is not itself a module: a name with
  a leading underscore belongs to its module. Private MODULES (``_wire``, ``backend._store``)
  are the shared homes for such helpers and may be imported freely.

``ALLOWED_PRIVATE`` lists modules that still break the second rule; each area's owner empties its
entries (an entry no longer needed is harmless, so landings in any order keep this test green).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "helicone_nb"

#: module -> the private names it may still take from other modules (to be emptied).
ALLOWED_PRIVATE: dict[str, set[str]] = {}
#: Import cycles still allowed, as sorted tuples of module names (to be emptied).
ALLOWED_CYCLES: set[tuple[str, ...]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` inside ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


def _top_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements run at import time: the module body and its if/try blocks."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If):
            stack.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            stack.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                stack.extend(handler.body)


def _imports(module: str, tree: ast.Module) -> set[str]:
    """helicone_nb modules that ``module`` imports at import time."""
    out: set[str] = set()
    for node in _top_level(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    out.add(sub)
                elif base in MODULES:
                    out.add(base)
    out.discard(module)
    return out


def _private_uses(module: str, tree: ast.Module) -> set[str]:
    """``other.module:_name`` for every private name ``module`` takes from another module."""
    found: set[str] = set()
    aliases: dict[str, str] = {}  # local name -> helicone_nb module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES:
                    aliases[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0]
                    )
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node.level, node.module)
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in MODULES:
                    aliases[a.asname or a.name] = sub
                elif (
                    base in MODULES
                    and a.name.startswith("_")
                    and not a.name.startswith("__")
                    and base != module
                ):
                    found.add(f"{base}:{a.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            owner = aliases[node.value.id]
            if owner != module and f"{owner}.{node.attr}" not in MODULES:
                found.add(f"{owner}:{node.attr}")
    return found


def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[tuple[str, ...]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(tuple(sorted(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_import_cycles() -> None:
    trees = _trees()
    # A package's __init__ importing its own submodules is how a package re-exports: importing a
    # submodule runs the parent __init__ first, so that edge is not a cycle between layers.
    graph = {
        name: {m for m in _imports(name, tree) if name not in _parents(m)}
        for name, tree in trees.items()
    }
    cycles = set(_cycles(graph))
    assert cycles - ALLOWED_CYCLES == set(), "import cycles: " + "; ".join(
        " <-> ".join(c) for c in sorted(cycles - ALLOWED_CYCLES)
    )
    assert ALLOWED_CYCLES - cycles == set(), "fixed cycles to drop from ALLOWED_CYCLES"


def test_no_private_names_across_modules() -> None:
    trees = _trees()
    uses = {name: _private_uses(name, tree) for name, tree in trees.items()}
    unexpected = {
        name: sorted(found - ALLOWED_PRIVATE.get(name, set()))
        for name, found in uses.items()
        if found - ALLOWED_PRIVATE.get(name, set())
    }
    assert unexpected == {}, "another module's private names in use (move them to a shared "
    "private module, or make them public there)"


def test_the_rules_see_what_they_should() -> None:
    """The readers find a known private use and a known cycle in hand-made modules."""
    tree = ast.parse("from helicone_nb import report\nx = report._money(1)\n")
    assert _private_uses("helicone_nb.cli.report", tree) == {"helicone_nb.report:_money"}
    tree = ast.parse("from ..backend._store import Store, _utc\n")
    assert _private_uses("helicone_nb.cli.serve", tree) == {"helicone_nb.backend._store:_utc"}
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [("a", "b")]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_parses(name: str) -> None:
    ast.parse(MODULES[name].read_text(encoding="utf-8"))
