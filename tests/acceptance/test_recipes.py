"""The recipes of docs/testing-your-integration.md run as written (issue 16), each in a Python
process of its own, against one server of this module started with test control; each test
then checks, on the server's side, that the recipe did what it says.

"a stateful session across a restart" starts (and restarts) a server of its own over a copy of
the pytest plugin's template data dir, as a user of the recipe would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquarium.testing import server as test_server
from tests import tenants_setup
from tests.acceptance import recipes, support

CONTROL = "/aquarium/api/v1/control"
#: A hanging run holds its worker: one each for a hanging AQuA job, report run and Data Query
#: job, and one more for what runs meanwhile.
WORKERS = 4
# Retention is swept by a clock's advance; the server's own sweep waits an hour, so a file
# gone after an advance was removed by it.
PURGE_INTERVAL_S = "3600"
RECIPE_TIMEOUT_S = 240  # a recipe is a Python start and several runs: slow on a busy machine


@pytest.fixture(scope="module")
def recipe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("recipes") / "data"
    tenants_setup.ensure_demo(data_dir)
    env = {"AQUARIUM_TEST_CONTROL": "1", "AQUARIUM_PURGE_INTERVAL_S": PURGE_INTERVAL_S}
    server = support.start_server("recipes", data_dir, demo_scale=0.05, workers=WORKERS, env=env)
    yield from support.serving(server)


@pytest.fixture
def demo(recipe_server: support.RunningServer) -> Iterator[httpx.Client]:
    """demo/demo, an administrator of its tenant: no rules, no requests seen; after the test
    no rules and real time again (whatever a failing recipe left)."""
    with httpx.Client(base_url=recipe_server.base_url, auth=support.DEMO_AUTH) as client:
        assert client.delete(CONTROL + "/faults").status_code == 204
        assert client.delete(CONTROL + "/requests").status_code == 204
        yield client
        assert client.delete(CONTROL + "/faults").status_code == 204
        assert client.post(CONTROL + "/clock", json={"action": "reset"}).status_code == 200


def _run(title: str, base_url: str | None, home: Path) -> list[str]:
    """The recipe's output lines, once it ran to its end."""
    done = recipes.run(title, base_url, home)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return done.stdout.splitlines()


def _firings(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(CONTROL + "/faults/log").json()["firings"]
    return found


def _real_time(client: httpx.Client) -> bool:
    clock = client.get(CONTROL + "/clock").json()
    return clock["frozen"] is False and clock["offsetSeconds"] == 0


@pytest.mark.timeout(RECIPE_TIMEOUT_S)
def test_retry_on_429(
    recipe_server: support.RunningServer, demo: httpx.Client, tmp_path: Path
) -> None:
    assert _run("retry on 429", recipe_server.base_url, tmp_path)[-1] == (
        "completed COMPLETED completed"
    )
    rules = demo.get(CONTROL + "/faults").json()["faults"]
    assert sorted(rule["match"]["endpoint"] for rule in rules) == [
        "GET /api/rest/v1/reportruns/*",
        "GET /query/jobs/*",
        "GET /v1/batch-query/jobs/*",
    ]
    assert [rule["fired"] for rule in rules] == [2, 2, 2]


@pytest.mark.parametrize(
    "path", ["/v1/batch-query/jobs/", "/api/rest/v1/reportruns/", "/query/jobs/"]
)
def test_the_429_the_retry_recipe_meets_is_the_same_on_each_kinds_poll(
    demo: httpx.Client, path: str
) -> None:
    rule = {"match": {"endpoint": f"GET {path}*"}, "count": 1,
            "action": {"type": "http", "status": 429, "retryAfterSeconds": 3}}  # fmt: skip
    assert demo.post(CONTROL + "/faults", json=rule).status_code == 201
    limited = demo.get(path + "0" * 32)
    assert limited.status_code == 429
    assert limited.json() == {
        "message": "You have exceeded the rate limit of API requests for this tenant. "
        "Retry after 3 seconds."
    }
    assert (limited.headers["Retry-After"], limited.headers["RateLimit-Reset"]) == ("3", "3")
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert limited.headers["RateLimit-Limit"] == (
        "50000, 50000;w=60, 2250000;w=3600, 27000000;w=86400"
    )
    # The rule is used up: the route answers (an unknown id: AQuA's 200 90002, the others 404).
    assert demo.get(path + "0" * 32).status_code in (200, 404)


@pytest.mark.timeout(RECIPE_TIMEOUT_S)
def test_cancel_while_running(
    recipe_server: support.RunningServer, demo: httpx.Client, tmp_path: Path
) -> None:
    assert _run("cancel while running", recipe_server.base_url, tmp_path)[-1] == (
        "cancelled all three"
    )
    assert sorted(firing["action"] for firing in _firings(demo)) == ["hang"] * 3


@pytest.mark.timeout(RECIPE_TIMEOUT_S)
def test_a_run_that_fails_part_way(
    recipe_server: support.RunningServer, demo: httpx.Client, tmp_path: Path
) -> None:
    assert _run("a run that fails part-way", recipe_server.base_url, tmp_path)[-1] == (
        "aborted ERROR failed"
    )
    fired = sorted((f["action"], f["phase"], f.get("batch")) for f in _firings(demo))
    assert fired == [
        ("abort", "batch", 2),
        ("fail", "PROCESSINGDATA", None),
        ("fail", "in_progress", None),
    ]


@pytest.mark.timeout(RECIPE_TIMEOUT_S)
def test_an_expired_file(
    recipe_server: support.RunningServer, demo: httpx.Client, tmp_path: Path
) -> None:
    report_said, query_said = _run("an expired file", recipe_server.base_url, tmp_path)[-2:]
    assert "are no longer kept (results are kept 3 days)" in report_said
    assert query_said == "This query result is no longer kept: run the query again."
    files = [
        seen["status"]
        for seen in demo.get(CONTROL + "/requests", params={"limit": 1000}).json()["requests"]
        if seen["path"].startswith("/v1/files/")
    ]
    assert files == [200, 404]
    assert _real_time(demo)


@pytest.mark.timeout(RECIPE_TIMEOUT_S)
def test_a_job_aborted_by_the_time_limit(
    recipe_server: support.RunningServer, demo: httpx.Client, tmp_path: Path
) -> None:
    report_said, query_said = _run(
        "a job aborted by the time limit", recipe_server.base_url, tmp_path
    )[-2:]
    assert report_said == "The report run exceeded its maximum processing time of 3,600 seconds."
    assert query_said == "Query exceeded the maximum time limit of 3600.00s"
    assert sorted(firing["action"] for firing in _firings(demo)) == ["hang"] * 3
    assert _real_time(demo)


@pytest.mark.slow
@pytest.mark.timeout(RECIPE_TIMEOUT_S + 60)  # two server starts inside the recipe
def test_a_stateful_session_across_a_restart(aquarium_template: Path, tmp_path: Path) -> None:
    # The recipe makes its template in its directory unless one is there: the plugin's, here.
    (tmp_path / "aquarium-template").symlink_to(aquarium_template, target_is_directory=True)
    template_log = (aquarium_template / test_server.LOG_NAME).read_bytes()
    assert _run("a stateful session across a restart", None, tmp_path)[-1] == (
        "incremental across the restart, a full load once stale"
    )
    # It ran on copies: no server started on the template itself.
    assert (aquarium_template / test_server.LOG_NAME).read_bytes() == template_log
