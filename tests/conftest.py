from __future__ import annotations

import os
from pathlib import Path

import pytest

# Progress bars off for the whole run (also inherited by notebook kernels under nbval).
os.environ["HELICONE_NB_PROGRESS"] = "0"


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's key, base URL or cache."""
    for var in ("HELICONE_API_KEY", "HELICONE_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HELICONE_NB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def spec_missing(path: Path) -> None:
    """Skip a test whose Helicone spec file is not beside the repo; in CI, fail instead.

    CI clones the repo with ``shared/`` beside it, so a missing spec there means the
    conformance tests would silently run nothing.
    """
    message = f"{path} is not beside the repo (shared/spec/)"
    if os.environ.get("CI"):
        pytest.fail(message + ": CI must have shared/ beside the clone")
    pytest.skip(message)
