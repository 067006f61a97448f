"""Two OS processes pulling the same queries through one cache directory, against one server."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import httpx

import helicone_nb as hnb
from helicone_nb import RetryPolicy
from helicone_nb.backend import InProcessTransport, demo_backend

from ..servers import ROOT
from . import cache_worker
from .conftest import DEMO_REQUESTS, Server
from .scenarios import KEY, cache_problems, frame_difference


def test_two_processes_on_one_cache_write_no_corrupt_entry_and_agree(
    server: Server, tmp_path: Path
) -> None:
    cache = tmp_path / "shared-cache"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HELICONE_NB_PROGRESS": "0"}
    env.pop("HELICONE_API_KEY", None)
    outs = [tmp_path / f"frames-{i}.pickle" for i in range(2)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.cache_worker",
                server.url,
                KEY,
                str(cache),
                str(go),
                str(out),
                str(seed),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for seed, out in enumerate(outs)
    ]
    time.sleep(0.5)  # both interpreters are importing; start them together
    go.touch()
    for proc in procs:
        output = proc.communicate(timeout=120)[0].decode(errors="replace")
        assert proc.returncode == 0, output
    first, second = (pickle.loads(out.read_bytes()) for out in outs)

    # the fault-free reference: the same demo data in process, no cache
    reference = demo_backend(DEMO_REQUESTS, api_key=KEY)
    with hnb.Client(
        KEY, base_url="http://ref.test", transport=InProcessTransport(reference), cache=False
    ) as c:
        expected = {
            name: c.fetch_sessions(*cache_worker.WINDOW, **kwargs)
            for name, kwargs in cache_worker.QUERIES.items()
        }
    for name in cache_worker.QUERIES:
        assert len(expected[name]) > 0, name
        assert frame_difference(first[name], expected[name]) == "", name
        assert frame_difference(second[name], expected[name]) == "", name

    assert cache_problems(cache) == []
    assert not list(cache.rglob(".tmp-*"))
    pages = sum(1 for _ in cache.rglob("*.page"))
    assert pages >= sum(-(-len(f) // cache_worker.PAGE_SIZE) for f in expected.values())

    # every query is answered from the cache alone: a server that always fails is never asked
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"not from the cache: {request.content[:200]!r}")

    with hnb.Client(
        KEY,
        base_url=server.url,  # the cache keys include the base URL
        transport=httpx.MockTransport(refuse),
        cache=cache,
        page_size=cache_worker.PAGE_SIZE,
        retries=RetryPolicy(max_retries=0),
    ) as c:
        for name, kwargs in cache_worker.QUERIES.items():
            frame = c.fetch_sessions(*cache_worker.WINDOW, **kwargs)
            assert frame_difference(frame, expected[name]) == "", name
            assert c.last_fetch.requests == 0
    reference.close()
