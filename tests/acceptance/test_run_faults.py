"""Run faults of the test-control API over real HTTP (issue 16): ``fail``, ``latency`` and
``hang`` on AQuA jobs, report runs and Data Query jobs, matched by partner, project and query.

Each test waits for what it needs by polling the firing log and the run's status, never by a
clock: a hang or a ten-minute latency is only ever ended by a DELETE or a time limit here.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquarium import client
from tests import tenants_setup
from tests.acceptance import dataquery_support as dq
from tests.acceptance import support
from tests.acceptance.conftest import DEMO_PARTNERS

CONTROL = "/aquarium/api/v1/control"
REPORTS = "/api/rest/v1"
REPORT = "Accounts by status"  # a demo report: small, quick
LONG_MS = 600_000  # the longest latency: no test here waits it out
RELOADED_S = 0.75  # the server reloads tenants' settings every 0.25 s (server.TENANTS_POLL_S)
REPORT_TERMINAL = {"COMPLETED", "ERROR", "INVALID", "CANCELLED"}
#: A hanging run holds its worker: one each for a hanging AQuA job, report run and Data Query
#: job, and one more for what runs meanwhile.
WORKERS = 4


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("run-faults") / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.set_partners(data_dir, "demo", DEMO_PARTNERS)
    server = support.start_server(
        "run-faults",
        data_dir,
        demo_scale=0.05,
        workers=WORKERS,
        env={"AQUARIUM_TEST_CONTROL": "1"},
    )
    yield from support.serving(server)


@pytest.fixture
def demo(fault_server: support.RunningServer) -> Iterator[httpx.Client]:
    """demo/demo, an administrator of its tenant; the tenant's rules cleared."""
    with httpx.Client(base_url=fault_server.base_url, auth=support.DEMO_AUTH) as client:
        assert client.delete(CONTROL + "/faults").status_code == 204
        yield client
        assert client.delete(CONTROL + "/faults").status_code == 204


def _add(client: httpx.Client, rule: dict[str, Any]) -> dict[str, Any]:
    response = client.post(CONTROL + "/faults", json=rule)
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()
    return added


def _firings(client: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(CONTROL + "/faults/log").json()["firings"]
    return [firing for firing in found if firing["jobId"] == run_id]


def _until_fired(client: httpx.Client, run_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The run's firings once there are ``count`` of them (the run is then in its fault)."""
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while len(fired := _firings(client, run_id)) < count:
        assert time.monotonic() < deadline, f"no firing for {run_id}"
        time.sleep(support.POLL_INTERVAL_S)
    return fired


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["success"] is True, document
    return document["response"]


def _start_report(client: httpx.Client) -> str:
    found = _ok(client.get(f"{REPORTS}/reports/search", params={"query": REPORT}))
    [report] = [r for r in found["reports"] if r["name"] == REPORT]
    started = _ok(client.post(f"{REPORTS}/reports/{report['id']}/reportrun?viewType=Summary"))
    run_id: str = started["reportRunId"]
    return run_id


def _report_run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while (run := _ok(client.get(f"{REPORTS}/reportruns/{run_id}")))["status"] not in (
        REPORT_TERMINAL
    ):
        assert time.monotonic() < deadline, run
        time.sleep(support.POLL_INTERVAL_S)
    found: dict[str, Any] = run
    return found


# -- fail ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["QUERYDATA", "PROCESSINGDATA"])
def test_a_report_run_failed_in_a_phase_ends_in_error(demo: httpx.Client, phase: str) -> None:
    rule = _add(
        demo,
        {
            "match": {"kind": "report", "query": "^Accounts by"},
            "action": {"type": "fail", "phase": phase, "message": "Simulated outage"},
            "count": 1,
        },
    )
    run_id = _start_report(demo)
    run = _report_run(demo, run_id)
    assert run["status"] == "ERROR"
    assert run["errorMessage"] == "Simulated outage"
    [firing] = _firings(demo, run_id)
    assert (firing["ruleId"], firing["action"], firing["phase"]) == (rule["id"], "fail", phase)
    assert _report_run(demo, _start_report(demo))["status"] == "COMPLETED"  # used up


def test_a_data_query_job_failed_with_a_message(demo: httpx.Client) -> None:
    _add(
        demo,
        {
            "match": {"kind": "dataquery", "query": "(?i)from account"},
            "action": {"type": "fail", "phase": "in_progress", "message": "Simulated outage"},
            "durationSeconds": 3600,
        },
    )
    failed = dq.fail(demo, dq.body("select count(*) as n from account", "CSV"))
    assert failed["errorMessage"] == "Simulated outage"
    # Another query does not match the rule.
    assert dq.run(demo, dq.body("select 1 as one", "CSV"))["outputRows"] == 1


def test_an_abort_matched_by_partner_project_and_query(demo: httpx.Client) -> None:
    project = f"faults-{uuid.uuid4().hex[:8]}"
    _add(
        demo,
        {
            "match": {
                "kind": "aqua", "partner": DEMO_PARTNERS[1], "project": project,
                "query": "from Invoice",
            },
            "action": {"type": "abort", "batch": 1, "message": "Simulated outage"},
            "durationSeconds": 3600,
        },
    )  # fmt: skip
    stateful = {"partner": DEMO_PARTNERS[1], "project": project}
    other = {"partner": DEMO_PARTNERS[1], "project": project + "-other"}
    invoices = support.stateless("select Id from Invoice", version="1.1")
    accounts = support.stateless("select Id from Account", version="1.1")
    aborted = support.wait_for_job(demo, support.submit_ok(demo, invoices | stateful)["id"])
    assert aborted["status"] == "aborted"
    assert aborted["batches"][0]["message"].endswith("Simulated outage.")
    assert support.run_job(demo, accounts | stateful)["status"] == "completed"  # another query
    assert support.run_job(demo, invoices | other)["status"] == "completed"  # another project
    assert support.run_job(demo, support.stateless("select Id from Invoice"))  # stateless


# -- latency ---------------------------------------------------------------------------------------


def test_latency_before_each_batch_then_the_job_completes(demo: httpx.Client) -> None:
    rule = _add(
        demo,
        {"match": {"kind": "aqua"}, "action": {"type": "latency", "milliseconds": 50}, "count": 1},
    )
    done = support.run_job(
        demo, support.stateless("select Id from Account", "select Id from Invoice")
    )
    fired = _firings(demo, done["id"])
    assert [(f["ruleId"], f["action"], f["batch"]) for f in fired] == [
        (rule["id"], "latency", 1),
        (rule["id"], "latency", 2),
    ]


def test_a_cancel_during_a_latency_stops_each_kind_at_once(demo: httpx.Client) -> None:
    for kind in ("aqua", "report", "dataquery"):
        _add(
            demo,
            {"match": {"kind": kind}, "action": {"type": "latency", "milliseconds": LONG_MS},
             "count": 1},
        )  # fmt: skip
    job = support.submit_ok(demo, support.stateless("select Id from Account"))
    run_id = _start_report(demo)
    query = dq.submit(demo, dq.body("select 1 as one", "CSV"))
    for one in (job["id"], run_id, query["id"]):
        _until_fired(demo, one)
    assert demo.delete(f"/v1/batch-query/jobs/{job['id']}").json()["status"] == "cancelled"
    assert support.wait_for_job(demo, job["id"])["status"] == "cancelled"
    _ok(demo.delete(f"{REPORTS}/reportruns/{run_id}"))
    assert _report_run(demo, run_id)["status"] == "CANCELLED"
    demo.delete(f"/query/jobs/{query['id']}")
    assert dq.wait(demo, query["id"])["queryStatus"] == "cancelled"


# -- hang ------------------------------------------------------------------------------------------


def test_a_hanging_job_of_each_kind_stays_running_until_cancelled(demo: httpx.Client) -> None:
    for kind in ("aqua", "report", "dataquery"):
        _add(demo, {"match": {"kind": kind}, "action": {"type": "hang"}, "count": 1})
    job = support.submit_ok(demo, support.stateless("select Id from Account"))
    run_id = _start_report(demo)
    query = dq.submit(demo, dq.body("select 1 as one", "CSV"))
    for one in (job["id"], run_id, query["id"]):
        _until_fired(demo, one)
    assert support.get_job(demo, job["id"])["status"] == "executing"
    assert _ok(demo.get(f"{REPORTS}/reportruns/{run_id}"))["status"] == "QUERYDATA"
    assert dq.get(demo, query["id"])["queryStatus"] == "in_progress"

    assert demo.delete(f"/v1/batch-query/jobs/{job['id']}").json()["status"] == "cancelled"
    cancelled = support.wait_for_job(demo, job["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["batches"][0]["status"] == "cancelled"
    _ok(demo.delete(f"{REPORTS}/reportruns/{run_id}"))
    assert _report_run(demo, run_id)["status"] == "CANCELLED"
    demo.delete(f"/query/jobs/{query['id']}")
    assert dq.wait(demo, query["id"])["queryStatus"] == "cancelled"
    # Used up (count 1): the next of each runs to its end.
    assert support.run_job(demo, support.stateless("select Id from Account"))
    assert _report_run(demo, _start_report(demo))["status"] == "COMPLETED"
    assert dq.run(demo, dq.body("select 1 as one", "CSV"))["outputRows"] == 1


def test_a_hanging_job_still_meets_its_time_limit(
    fault_server: support.RunningServer, demo: httpx.Client
) -> None:
    _add(demo, {"match": {"kind": "dataquery"}, "action": {"type": "hang"}, "count": 1})
    _add(demo, {"match": {"kind": "aqua"}, "action": {"type": "hang"}, "count": 1})
    before = tenants_setup.load(fault_server.data_dir)["demo"].limits
    tenants_setup.set_limits(
        fault_server.data_dir, "demo", data_query_time_limit_s=1, query_time_limit_s=1
    )
    time.sleep(RELOADED_S)
    try:
        failed = dq.fail(demo, dq.body("select 1 as one", "CSV"))
        assert failed["errorMessage"] == "Query exceeded the maximum time limit of 1.00s"
        job = support.submit_ok(demo, support.stateless("select Id from Account"))
        aborted = support.wait_for_job(demo, job["id"])
        assert aborted["status"] == "aborted"
        assert aborted["batches"][0]["message"] == "The query exceeded maximum processing time."
    finally:
        tenants_setup.set_limits(
            fault_server.data_dir, "demo",
            data_query_time_limit_s=before.data_query_time_limit_s,
            query_time_limit_s=before.query_time_limit_s,
        )  # fmt: skip
        time.sleep(RELOADED_S)


# -- the clients -------------------------------------------------------------------------------


def test_the_python_client(fault_server: support.RunningServer, demo: httpx.Client) -> None:
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    with client.Client(fault_server.base_url, credentials) as aquarium_client:
        faults = aquarium_client.control.faults
        failing = faults.fail("report", "PROCESSINGDATA", "Simulated outage", query="Accounts")
        slow = faults.latency(20, "aqua", partner=DEMO_PARTNERS[1], project="p", count=2)
        hanging = faults.hang("dataquery", query="(?i)from invoice", duration_s=60)
        assert (failing["match"], failing["action"], failing["count"]) == (
            {"kind": "report", "query": "Accounts"},
            {"type": "fail", "phase": "PROCESSINGDATA", "message": "Simulated outage"},
            1,
        )
        assert (slow["match"], slow["action"], slow["count"]) == (
            {"kind": "aqua", "partner": DEMO_PARTNERS[1], "project": "p"},
            {"type": "latency", "milliseconds": 20},
            2,
        )
        assert (hanging["match"], hanging["action"], hanging["durationSeconds"]) == (
            {"kind": "dataquery", "query": "(?i)from invoice"},
            {"type": "hang"},
            60,
        )
        run_id = _start_report(demo)
        assert _report_run(demo, run_id)["errorMessage"] == "Simulated outage"
        [firing] = faults.log()
        assert (firing["ruleId"], firing["jobId"], firing["phase"]) == (
            failing["id"], run_id, "PROCESSINGDATA",
        )  # fmt: skip
        with pytest.raises(client.ClientError, match=r"match\.query"):
            faults.hang("aqua", query="[")


def _cli(server: support.RunningServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return support.control_cli(server, home, "fault", "add", *args)


@pytest.mark.slow
@pytest.mark.timeout(240)  # 3 CLI processes, each a Python start: a minute on a busy machine
def test_the_cli(fault_server: support.RunningServer, demo: httpx.Client, tmp_path: Path) -> None:
    hang = _cli(
        fault_server, tmp_path, "--kind", "aqua", "--hang", "--partner", DEMO_PARTNERS[1],
        "--project", "p", "--query", "Account", "--json",
    )  # fmt: skip
    assert hang.returncode == 0, hang.stderr
    assert json.loads(hang.stdout)["match"] == {
        "kind": "aqua", "partner": DEMO_PARTNERS[1], "project": "p", "query": "Account",
    }  # fmt: skip
    fail = _cli(
        fault_server, tmp_path, "--kind", "dataquery", "--fail-phase", "in_progress",
        "--message", "Simulated outage", "--latency-ms", "5",
    )  # fmt: skip
    assert fail.returncode != 0 and "give one of" in fail.stderr
    assert "Traceback" not in fail.stderr
    refused = _cli(fault_server, tmp_path, "--kind", "aqua", "--fail-phase", "QUERYDATA",
                   "--message", "x")  # fmt: skip
    assert refused.returncode != 0 and "'match.kind'" in refused.stderr
    assert "Traceback" not in refused.stderr
    [listed] = demo.get(CONTROL + "/faults").json()["faults"]
    assert listed["action"] == {"type": "hang"}


# -- refused rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (
            {"match": {"kind": "aqua", "query": "(unclosed"}, "action": {"type": "hang"}},
            "match.query",
        ),
        (
            {
                "match": {"kind": "aqua"},
                "action": {"type": "fail", "phase": "QUERYDATA", "message": "x"},
            },
            "match.kind",
        ),
        (
            {"match": {"kind": "report"}, "action": {"type": "latency", "milliseconds": -1}},
            "action.milliseconds",
        ),
    ],
)
def test_a_bad_run_rule_is_a_400_naming_the_field(
    demo: httpx.Client, rule: dict[str, Any], field: str
) -> None:
    response = demo.post(CONTROL + "/faults", json={**rule, "count": 1})
    assert response.status_code == 400, response.text
    assert f"'{field}'" in response.text
