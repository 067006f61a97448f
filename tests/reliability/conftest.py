"""One real ``helicone-nb serve`` subprocess for the reliability tests that need a socket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..servers import served
from .scenarios import KEY

DEMO_REQUESTS = 3000


@dataclass(frozen=True)
class Server:
    """A running ``helicone-nb serve --demo --api-key KEY --log-level debug``."""

    url: str
    log: Path  # everything the server printed (uvicorn at debug level)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "serve.log"
    args = ["--demo", "--demo-requests", str(DEMO_REQUESTS), "--api-key", KEY]
    with served(*args, "--log-level", "debug", log=log) as url:
        yield Server(url, log)
