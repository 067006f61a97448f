"""The project's promises: README commands, CI script, public API, docs."""

from __future__ import annotations

import re
from pathlib import Path

import helicone_nb as hnb

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_the_two_commands_each_making_a_venv() -> None:
    demo, tests = (b.strip() for b in _bash_blocks(README)[:2])
    for cmd in (demo, tests):
        assert cmd.startswith("python3 -m venv ")
        assert "\n" not in cmd
    assert "report --demo" in demo
    assert "pytest" in tests
    assert README.index(demo) < 1500  # it opens the README


def test_ci_runs_exactly_the_readme_test_command() -> None:
    tests = _bash_blocks(README)[1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [line.strip() for line in ci.splitlines()]
    assert tests in lines
    assert "set -euo pipefail" in ci  # a failing test fails CI


def test_ci_runs_exactly_the_readme_style_check() -> None:
    dev = README[README.index("## Development") :]
    style = next(b.strip() for b in _bash_blocks(dev) if "ruff format --check" in b)
    for tool in ("ruff check .", "ruff format --check .", "mypy"):
        assert tool in style
    assert style.startswith(".venv-test/bin/")  # the venv the README test command made
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [line.strip() for line in ci.splitlines()]
    assert style in lines
    assert lines.index(style) > max(i for i, line in enumerate(lines) if "pytest" in line)


def test_all_is_honest() -> None:
    for name in hnb.__all__:
        assert hasattr(hnb, name), name
    public = {n for n in dir(hnb) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(hnb, n)).__name__ == "module"}
    assert public - modules - set(hnb.__all__) == set()


def test_fixed_public_names_exist() -> None:
    import inspect

    assert inspect.isclass(hnb.Client) and inspect.isclass(hnb.AsyncClient)
    sig = inspect.signature(hnb.Client.fetch_sessions)
    for param in ("start", "end", "search", "name", "filter", "tz"):
        assert param in sig.parameters
    assert sig.parameters["search"].default == "" and sig.parameters["tz"].default == "UTC"
    assert inspect.iscoroutinefunction(hnb.AsyncClient.fetch_sessions)
    assert callable(hnb.connect)
    for method in ("fetch_sessions", "fetch_session_requests", "count_sessions", "session_names"):
        assert inspect.iscoroutinefunction(getattr(hnb.AsyncClient, method)), method
        sync = inspect.signature(getattr(hnb.Client, method))
        asyn = inspect.signature(getattr(hnb.AsyncClient, method))
        assert list(sync.parameters) == list(asyn.parameters), method
