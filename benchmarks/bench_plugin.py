"""The pytest plugin's per-test overhead (issue 16): what the ``aquarium`` fixture does before
each test (``TestServer.reset``: rules, requests and clock cleared, active runs cancelled, the
``pytest-start`` snapshot restored), beside the plain way to start each test from the same data:
stop the server, copy the template afresh and start a new one.

Each reset follows an AQuA job (so there is something to undo); the job is not timed.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from aquarium.testing import server as test_server
from benchmarks.bench_aqua import WORK

SCALE = 0.05  # the plugin's default demo tenant
RESETS = 20
RESTARTS = 5


def _job(server: test_server.TestServer) -> None:
    job = server.client.submit(["select Id from Account"])
    server.client.wait(job.id)


def run() -> str:
    template = test_server.ensure_template(WORK / f"plugin-template-{SCALE:g}", scale=SCALE)
    resets: list[float] = []
    restarts: list[float] = []
    with tempfile.TemporaryDirectory(dir=WORK) as scratch:
        with test_server.running(template, Path(scratch) / "reset") as server:
            for _ in range(RESETS):
                _job(server)
                began = time.perf_counter()
                server.reset()
                resets.append(time.perf_counter() - began)
        for trial in range(RESTARTS):
            where = Path(scratch) / f"restart-{trial}"
            began = time.perf_counter()
            started = test_server.TestServer.start(template, where)
            restarts.append(time.perf_counter() - began)
            started.stop()
            shutil.rmtree(where, ignore_errors=True)
    reset_s, restart_s = statistics.median(resets), statistics.median(restarts)
    return "\n".join(
        [
            f"## The pytest plugin's per-test overhead (scale {SCALE:g})",
            "",
            "| before each test | median | max | vs a fresh server |",
            "|---|---|---|---|",
            f"| `aquarium` fixture: reset (snapshot restored) | {reset_s * 1000:.0f} ms "
            f"({RESETS}) | {max(resets) * 1000:.0f} ms | {reset_s / restart_s:.2f}x |",
            f"| reference: copy the template, start a server | {restart_s * 1000:.0f} ms "
            f"({RESTARTS}) | {max(restarts) * 1000:.0f} ms | 1x |",
            "",
        ]
    )
