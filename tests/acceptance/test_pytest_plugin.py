"""The pytest plugin (``aquarium.testing.plugin``) as its users run it: a real pytest process
over a test file of theirs, a real server made from a template, reset between tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aquarium.testing import server as test_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

USERS_TESTS = """
import time

import httpx


def _job(aquarium, query="select Id from Account"):
    body = {"format": "csv", "version": "1.0",
            "queries": [{"name": "q", "query": query, "type": "zoqlexport"}]}
    with aquarium.http(timeout=30) as http:
        job = http.post("/v1/batch-query/", json=body).json()
        for _ in range(600):
            found = http.get(f"/v1/batch-query/jobs/{job['id']}").json()
            if found["status"] in ("completed", "aborted", "cancelled"):
                return found
            time.sleep(0.05)
    raise AssertionError("the job did not end")


def test_1_a_job_completes(aquarium):
    assert _job(aquarium)["status"] == "completed"
    assert aquarium.requests.list(), "the requests are recorded"


def test_2_rules_are_armed(aquarium):
    assert aquarium.requests.list() == [], "reset before the test: nothing seen yet"
    assert aquarium.client.jobs().jobs == (), "the job of the test before is gone"
    aquarium.faults.http(503, endpoint="GET /v1/batch-query/jobs/*", count=50)
    with aquarium.http() as http:
        assert http.get("/v1/batch-query/jobs/whatever").status_code == 503


def test_3_the_rules_of_the_test_before_are_gone(aquarium):
    assert aquarium.faults.list() == []
    with aquarium.http() as http:
        assert http.get("/v1/batch-query/jobs/whatever").status_code != 503


def test_4_abort_batch(aquarium):
    aquarium.faults.abort_batch(1, "disk on fire")
    found = _job(aquarium)
    assert found["status"] == "aborted"
    assert "Disk on fire." in found["batches"][0]["message"]


def test_5_the_clock_moves(aquarium):
    moved = aquarium.clock.advance(days=4)
    assert moved["offsetSeconds"] >= 4 * 86400 - 5


def test_6_real_time_again(aquarium):
    assert abs(aquarium.clock.show()["offsetSeconds"]) < 5
"""


def _pytest(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:xdist", "-q"]
    command += ["--rootdir", str(where), "-o", "cache_dir=.cache", *args]
    return subprocess.run(
        command, check=False, cwd=where, capture_output=True, text=True, timeout=380
    )


def test_a_users_tests_get_a_server_reset_between_tests(tmp_path: Path) -> None:
    (tmp_path / "test_integration.py").write_text(textwrap.dedent(USERS_TESTS))
    # Named explicitly, as the command line does, and by the entry point alone.
    explicit = _pytest(tmp_path, "-p", "aquarium.testing.plugin", "test_integration.py")
    assert explicit.returncode == 0, explicit.stdout + explicit.stderr
    assert "6 passed" in explicit.stdout
    template = tmp_path / ".cache" / "d" / "aquarium-template-0.05"
    assert (template / test_server.MADE_MARKER).exists(), "the template is made once and kept"
    made_log = (template / test_server.LOG_NAME).read_text()
    assert made_log.count("generating the demo tenant") == 1

    by_entry_point = _pytest(tmp_path, "test_integration.py")
    assert by_entry_point.returncode == 0, by_entry_point.stdout + by_entry_point.stderr
    assert "6 passed" in by_entry_point.stdout
    reused_log = (template / test_server.LOG_NAME).read_text()
    assert reused_log == made_log, "the second session copied the template, not remade it"


def test_a_template_of_ones_own_and_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "test_one.py").write_text(
        "def test_it(aquarium):\n    assert aquarium.client.jobs() is not None\n"
    )
    mine = test_server.ensure_template(tmp_path / "mine", scale=0.02)
    done = _pytest(tmp_path, "--aquarium-template", str(mine), "test_one.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / ".cache" / "d").exists(), "no template of its own was made"
    missing = _pytest(tmp_path, "--aquarium-template", str(tmp_path / "nowhere"), "test_one.py")
    assert missing.returncode != 0
    assert "no such directory" in missing.stdout + missing.stderr
