"""One OS process of the shared-cache test: pull a list of queries through one cache directory.

``python -m tests.reliability.cache_worker URL KEY CACHE_DIR GO_FILE OUT_FILE SEED``: wait until
``GO_FILE`` exists (so both processes start together), run :data:`QUERIES` in a seeded order,
several times, every other round with ``refresh=True`` (so entries are rewritten while the other
process reads them), and pickle ``{query name: DataFrame}`` of the last round to ``OUT_FILE``.
"""

from __future__ import annotations

import pickle
import random
import sys
import time
from pathlib import Path
from typing import Any

#: name -> keyword arguments of fetch_sessions (the demo period, small pages: many entries).
QUERIES: dict[str, dict[str, Any]] = {
    "all": {},
    "support": {"search": "support"},
    "gpt-4o": {"filter": {"request_response_rmt": {"model": {"equals": "gpt-4o"}}}},
    "sql-copilot": {"name": "sql-copilot"},
    "costly": {"filter": {"sessions_request_response_rmt": {"session_total_cost": {"gt": 0.01}}}},
    "berlin": {"tz": "Europe/Berlin", "search": "agent"},
}
WINDOW = ("2025-06-02T00:00:00Z", "2025-09-01T00:00:00Z")
PAGE_SIZE = 20
ROUNDS = 3


def run(url: str, key: str, cache: str, seed: int) -> dict[str, Any]:
    import helicone_nb as hnb

    order = list(QUERIES)
    random.Random(seed).shuffle(order)
    frames: dict[str, Any] = {}
    with hnb.Client(key, base_url=url, cache=cache, page_size=PAGE_SIZE, progress=False) as c:
        for round_ in range(ROUNDS):
            for name in order:
                frames[name] = c.fetch_sessions(*WINDOW, refresh=round_ % 2 == 1, **QUERIES[name])
    return frames


def main(argv: list[str]) -> int:
    url, key, cache, go_file, out_file, seed = argv
    deadline = time.monotonic() + 60
    while not Path(go_file).exists():
        if time.monotonic() > deadline:
            return 2
        time.sleep(0.01)
    frames = run(url, key, cache, int(seed))
    Path(out_file).write_bytes(pickle.dumps(frames))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
