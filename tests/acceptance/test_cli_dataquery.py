"""``aquarium dq ...`` as a user runs it: a subprocess against a real server, checked against
plain HTTP (``/query/jobs`` and the job's ``dataFile`` link, fetched without credentials)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance import support
from tests.acceptance.test_cli_client import (
    CLI_TIMEOUT_S,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    demo_env,
    ok_json,
    one_error_line,
    run_cli,
)

BALANCES = "select accountnumber, balance from account"
#: Runs far longer than any test waits: a cross join of invoiceitem with itself, twice, counted
#: with a condition no plan can skip.
LONG_QUERY = (
    "select count(*) from invoiceitem a cross join invoiceitem b cross join invoiceitem c "
    "where a.chargeamount + b.chargeamount + c.chargeamount > -1"
)
ACTIVE = frozenset({"accepted", "in_progress"})
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory, so that no real ``~/.config/aquarium/client.toml`` is read."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def submit_query(demo: httpx.Client, query: str, **options: Any) -> dict[str, Any]:
    body = {
        "query": query,
        "outputFormat": "CSV",
        "compression": "NONE",
        "output": {"target": "S3"},
    }
    response = demo.post("/query/jobs", json={**body, **options})
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["data"]
    assert job["queryStatus"] == "accepted", job
    return job


def get_query(demo: httpx.Client, job_id: str) -> dict[str, Any]:
    response = demo.get(f"/query/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["data"]
    return job


def wait_query(demo: httpx.Client, job_id: str, until: frozenset[str]) -> dict[str, Any]:
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while (job := get_query(demo, job_id))["queryStatus"] not in until:
        assert time.monotonic() < deadline, f"query job {job_id} stayed {job['queryStatus']}"
        time.sleep(support.POLL_INTERVAL_S)
    return job


def run_query(demo: httpx.Client, query: str, **options: Any) -> dict[str, Any]:
    job = submit_query(demo, query, **options)
    return wait_query(demo, job["id"], frozenset({"completed", "failed", "cancelled"}))


def without_credentials(url: str) -> bytes:
    response = httpx.get(url, timeout=30.0)
    assert response.status_code == 200, response.text
    return response.content


def test_submit_wait_output_saves_the_file_the_data_file_link_serves(
    server: support.RunningServer, home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "balances.csv"
    args = ["dq", "submit", BALANCES, "--wait", "--output", str(target), "--json"]
    answer = ok_json(run_cli(args, demo_env(server, home)))
    job = answer["job"]
    assert UUID.fullmatch(job["id"]) and job["queryStatus"] == "completed"
    assert answer["file"] == str(target)
    saved = target.read_bytes()
    assert saved == without_credentials(job["dataFile"])
    lines = saved.decode("utf-8").splitlines()
    assert lines[0] == "accountnumber,balance"
    assert len(lines) - 1 == job["outputRows"] > 0


def test_show_tables_as_json_lines_lists_the_account_table(
    server: support.RunningServer, home: Path, tmp_path: Path
) -> None:
    args = ["dq", "submit", "SHOW TABLES", "--format", "json", "--wait", "-o", str(tmp_path)]
    done = run_cli([*args, "--json"], demo_env(server, home))
    saved = Path(ok_json(done)["file"])
    assert saved.parent == tmp_path
    rows = [json.loads(line) for line in saved.read_text("utf-8").splitlines() if line]
    assert any("account" in row.values() for row in rows), rows[:5]


def test_a_failing_query_shows_its_error_message_and_exits_1(
    server: support.RunningServer, home: Path
) -> None:
    done = run_cli(["dq", "submit", "select x from account", "--wait"], demo_env(server, home))
    assert done.returncode == EXIT_FAILED, done.stderr
    last = done.stderr.splitlines()[-1]
    assert re.fullmatch(
        rf"error: query job {UUID.pattern} failed: .*'x' cannot be resolved.*", last
    )
    assert "Traceback" not in done.stderr
    job_id = re.search(UUID, last)
    assert job_id is not None
    download = run_cli(["dq", "download", job_id.group(0)], demo_env(server, home))
    assert "cannot be resolved" in one_error_line(download, EXIT_FAILED)


def test_status_cancel_and_unknown_ids_answer_as_the_api_does(
    server: support.RunningServer, demo: httpx.Client, home: Path
) -> None:
    env = demo_env(server, home)
    finished = run_query(demo, BALANCES)
    shown = ok_json(run_cli(["dq", "status", finished["id"], "--json"], env))
    assert shown == get_query(demo, finished["id"]) | {"dataFile": shown["dataFile"]}
    refused = one_error_line(run_cli(["dq", "cancel", finished["id"]], env), EXIT_FAILED)
    assert refused == (
        f"error: Query job {finished['id']} is not in accepted or in_progress status (1003)"
    )
    unknown = "00000000-0000-0000-0000-000000000000"
    for command in ("status", "cancel", "download"):
        line = one_error_line(run_cli(["dq", command, unknown], env), EXIT_NOT_FOUND)
        assert line == f"error: not found: No such query: {unknown}"


def test_cancel_of_a_long_query(
    server: support.RunningServer, demo: httpx.Client, home: Path
) -> None:
    job = submit_query(demo, LONG_QUERY)
    try:
        wait_query(demo, job["id"], frozenset({"in_progress"}))
        answer = ok_json(run_cli(["dq", "cancel", job["id"], "--json"], demo_env(server, home)))
    finally:
        demo.delete(f"/query/jobs/{job['id']}")  # never leave it holding a worker
    assert (answer["id"], answer["queryStatus"]) == (job["id"], "cancelled")
    after = get_query(demo, job["id"])
    assert after["queryStatus"] == "cancelled" and "dataFile" not in after


def test_list_shows_the_jobs_newest_first(
    server: support.RunningServer, demo: httpx.Client, home: Path
) -> None:
    env = demo_env(server, home)
    older = run_query(demo, "select accountnumber from account limit 1")
    newer = run_query(demo, "select accountnumber from account limit 2")
    listed = ok_json(run_cli(["dq", "list", "--json"], env))
    ids = [job["id"] for job in listed]
    assert ids[:2] == [newer["id"], older["id"]]
    created = [job["createdOn"] for job in listed]
    assert created == sorted(created, reverse=True)
    completed = ok_json(
        run_cli(["dq", "list", "--status", "completed", "--page-size", "1", "--json"], env)
    )
    assert [job["id"] for job in completed] == [newer["id"]]
    table = run_cli(["dq", "list"], env)
    assert table.returncode == 0, table.stderr
    assert table.stdout.index(newer["id"]) < table.stdout.index(older["id"])


def test_ctrl_c_while_waiting_asks_and_cancels_the_job_on_the_server(
    server: support.RunningServer, demo: httpx.Client, home: Path
) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "aquarium", "dq", "submit", LONG_QUERY, "--wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=support.sigint_as_default,  # noqa: PLW1509 (it only resets a signal)
        env=demo_env(server, home),
    ) as process:
        assert process.stdin is not None and process.stderr is not None
        try:
            seen = []
            for line in process.stderr:
                seen.append(line)
                if line.endswith(": in_progress\n"):
                    break
            found = re.match(rf"query job ({UUID.pattern}): in_progress", seen[-1])
            assert found is not None, "".join(seen)
            process.send_signal(signal.SIGINT)
            process.stdin.write("y\n")
            process.stdin.close()
            rest = process.stderr.read()
            assert process.wait(timeout=CLI_TIMEOUT_S) == EXIT_INTERRUPTED, rest
        finally:
            if process.poll() is None:
                process.kill()
            for line in seen:  # never leave the job holding a worker
                if started := re.match(rf"query job ({UUID.pattern}) ", line):
                    demo.delete(f"/query/jobs/{started.group(1)}")
    job_id = found.group(1)
    assert f"Cancel query job {job_id} on the server? [y/N]" in rest
    assert f"query job {job_id} cancelled" in rest
    assert get_query(demo, job_id)["queryStatus"] == "cancelled"


@pytest.mark.parametrize(
    ("args", "suffix"),
    [
        (["--compression", "gzip"], b"\x1f\x8b"),
        (["--format", "dsv", "--separator", "|"], b"acc"),
    ],
)
def test_formats_and_compression_reach_the_file(
    server: support.RunningServer, home: Path, tmp_path: Path, args: list[str], suffix: bytes
) -> None:
    target = tmp_path / "out"
    done = run_cli(
        ["dq", "submit", BALANCES, *args, "-o", str(target), "--json"], demo_env(server, home)
    )
    job = ok_json(done)["job"]
    data = target.read_bytes()
    assert data.startswith(suffix) and data == without_credentials(job["dataFile"])
    if "dsv" in args:
        assert data.decode("utf-8").splitlines()[0] == "accountnumber|balance"
