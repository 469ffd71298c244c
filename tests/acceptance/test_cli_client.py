"""``aquarium aqua ...`` / ``aquarium report ...`` as a user runs them: a subprocess against a real
server, checked against plain HTTP. Also Ctrl-C while waiting (on the scale-1 server, whose jobs
run long enough to interrupt) and the Python client's resumable download.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

import aquarium
from aquarium import client
from aquarium.client import files
from tests.acceptance import support

# The code under test, also in the subprocesses (a worktree's src beats the installed package).
SOURCE_DIR = str(Path(aquarium.__file__).resolve().parents[1])
CLI_TIMEOUT_S = 120.0
SLOW_QUERY = "select * from InvoiceItem"
SLOW_QUERY_COPIES = 10  # so that the job is still running when the test interrupts it
ROWS_SO_FAR = re.compile(r": (executing|completed), [1-9][0-9,]* rows$")  # a progress line
WORKERS = 2  # of every server support.start_server starts
EXIT_FAILED, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 1, 3, 4, 5, 130


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory, so that no real ``~/.config/aquarium/client.toml`` is read."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def cli_env(home: Path, **settings: str) -> dict[str, str]:
    return support.hermetic_env(PYTHONPATH=SOURCE_DIR, HOME=str(home), **settings)


def demo_env(server: support.RunningServer, home: Path) -> dict[str, str]:
    return cli_env(
        home, AQUARIUM_URL=server.base_url, AQUARIUM_USER="demo", AQUARIUM_PASSWORD="demo"
    )


def run_cli(
    args: Sequence[str], env: dict[str, str], *, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aquarium", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def ok_json(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON document a successful ``--json`` command printed (and nothing else)."""
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def one_error_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def finished_job(demo: httpx.Client) -> dict[str, Any]:
    """A completed two-query job, submitted over plain HTTP."""
    return support.run_job(
        demo, support.stateless("select Id, Name from Account", "select Id from Invoice")
    )


# -- AQuA ------------------------------------------------------------------------------------------


def test_submit_wait_download_saves_the_files_the_api_serves(
    server: support.RunningServer, demo: httpx.Client, home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "results"
    done = run_cli(
        [
            "aqua",
            "submit",
            "--query",
            "select AccountNumber, Name, Balance from Account",
            "--query",
            "select InvoiceNumber, Amount from Invoice",
            "--name",
            "cli",
            "--wait",
            "--download",
            str(target),
            "--json",
        ],
        demo_env(server, home),
    )
    answer = ok_json(done)
    job = answer["job"]
    assert job["status"] == "completed" and job["name"] == "cli"
    assert [b["status"] for b in job["batches"]] == ["completed", "completed"]
    assert answer["files"] == [str(target / "query0.csv"), str(target / "query1.csv")]
    for batch, path in zip(job["batches"], answer["files"], strict=True):
        direct = support.download(demo, batch["fileId"]).content
        assert Path(path).read_bytes() == direct
        assert len(support.parse_csv(direct)) == batch["recordCount"] + 1
    assert f"job {job['id']} batch query0: completed" in done.stderr


def test_submit_from_a_file_of_queries_without_waiting(
    server: support.RunningServer, demo: httpx.Client, home: Path, tmp_path: Path
) -> None:
    queries = tmp_path / "export.zoql"
    queries.write_text("select Id from Account\nselect Id from Payment\n", "utf-8")
    answer = ok_json(
        run_cli(
            ["aqua", "submit", "--file", str(queries), "--format", "gzip", "--json"],
            demo_env(server, home),
        )
    )
    assert answer["files"] == []
    assert answer["job"]["format"] == "GZIP"
    done = support.wait_for_job(demo, answer["job"]["id"])
    assert [b["query"] for b in done["batches"]] == [
        "select Id from Account",
        "select Id from Payment",
    ]


def test_a_refused_query_exits_1_with_zuoras_message(
    server: support.RunningServer, home: Path
) -> None:
    done = run_cli(["aqua", "submit", "-q", "select Nope from Account"], demo_env(server, home))
    line = one_error_line(done, EXIT_FAILED)
    assert "line 1, column 8: unknown field 'Nope' on Account (90005)" in line


def test_status_shows_the_job_as_the_api_does(
    server: support.RunningServer, home: Path, finished_job: dict[str, Any]
) -> None:
    env = demo_env(server, home)
    status = ok_json(run_cli(["aqua", "status", finished_job["id"], "--json"], env))
    assert (status["id"], status["status"]) == (finished_job["id"], "completed")
    assert status["batches"] == finished_job["batches"]  # the wire's document, camelCase
    table = run_cli(["aqua", "status", finished_job["id"]], env)
    assert table.returncode == 0
    assert (
        finished_job["id"] in table.stdout and finished_job["batches"][0]["fileId"] in table.stdout
    )


def test_download_by_job_id_or_by_file_id(
    server: support.RunningServer,
    demo: httpx.Client,
    home: Path,
    tmp_path: Path,
    finished_job: dict[str, Any],
) -> None:
    env = demo_env(server, home)
    by_job = ok_json(
        run_cli(["aqua", "download", finished_job["id"], "--to", str(tmp_path), "--json"], env)
    )
    file_id = finished_job["batches"][1]["fileId"]
    assert by_job["files"] == [str(tmp_path / "q0.csv"), str(tmp_path / "q1.csv")]
    by_file = ok_json(run_cli(["aqua", "download", file_id, "--to", str(tmp_path), "--json"], env))
    assert by_file["files"] == [str(tmp_path / f"{file_id}.csv")]  # the suffix of its type
    direct = support.download(demo, file_id).content
    assert (
        (tmp_path / "q1.csv").read_bytes() == direct == (tmp_path / f"{file_id}.csv").read_bytes()
    )


def test_cancel_of_a_finished_job_exits_1_with_zuoras_refusal(
    server: support.RunningServer, home: Path, finished_job: dict[str, Any]
) -> None:
    done = run_cli(["aqua", "cancel", finished_job["id"]], demo_env(server, home))
    assert one_error_line(done, EXIT_FAILED) == (
        "error: Invalid Job Id for job cancellation. (90003)"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["aqua", "status", "0" * 32],
        ["aqua", "cancel", "0" * 32],
        ["aqua", "download", "0" * 32],
        ["report", "cancel", "0" * 32],
        ["report", "export", "0" * 32, "out.tsv"],
        ["report", "run", "0" * 32],
    ],
)
def test_unknown_ids_exit_4(
    server: support.RunningServer, home: Path, tmp_path: Path, args: list[str]
) -> None:
    line = one_error_line(run_cli(args, demo_env(server, home), cwd=tmp_path), EXIT_NOT_FOUND)
    assert line.startswith("error: not found: ")
    assert not (tmp_path / "out.tsv").exists()


def test_list_pages_through_the_tenants_jobs_newest_first(
    server: support.RunningServer, demo: httpx.Client, home: Path
) -> None:
    env = demo_env(server, home)
    older = support.run_job(demo, support.stateless("select Id from Account"))
    newer = support.run_job(demo, support.stateless("select Id from Invoice"))
    first = ok_json(run_cli(["aqua", "list", "--limit", "1", "--json"], env))
    assert [j["id"] for j in first["jobs"]] == [newer["id"]]
    assert first["jobs"][0]["kind"] == "aqua" and first["jobs"][0]["status"] == "completed"
    assert first["jobs"][0]["progress"]["rowsWritten"] == newer["batches"][0]["recordCount"]
    assert first["nextCursor"]
    second = ok_json(
        run_cli(["aqua", "list", "--limit", "1", "--cursor", first["nextCursor"], "--json"], env)
    )
    assert [j["id"] for j in second["jobs"]] == [older["id"]]
    finished = ok_json(run_cli(["aqua", "list", "--status", "finished", "--json"], env))
    assert {j["status"] for j in finished["jobs"]} <= {"completed", "aborted", "cancelled"}
    table = run_cli(["aqua", "list", "--limit", "1"], env)
    assert table.returncode == 0 and newer["id"] in table.stdout
    assert "--cursor" in table.stderr


# -- connection and credentials --------------------------------------------------------------------


def test_a_wrong_password_exits_3_saying_only_that_authentication_failed(
    server: support.RunningServer, home: Path, finished_job: dict[str, Any]
) -> None:
    env = cli_env(home, AQUARIUM_URL=server.base_url, AQUARIUM_USER="demo")
    for args in (
        ["aqua", "status", finished_job["id"], "--password", "wrong"],
        ["report", "list", "--password", "wrong", "--json"],
        ["aqua", "status", finished_job["id"], "--client-id", "nobody", "--client-secret", "x"],
    ):
        line = one_error_line(run_cli(args, env), EXIT_AUTH)
        assert line == (
            f"error: authentication failed at {server.base_url}: check the user and password "
            "(or the OAuth client id and secret)"
        )


def test_an_unreachable_server_exits_5(home: Path) -> None:
    url = f"http://127.0.0.1:{support.free_port()}"
    env = cli_env(home, AQUARIUM_USER="demo", AQUARIUM_PASSWORD="demo")
    line = one_error_line(run_cli(["aqua", "list", "--url", url], env), EXIT_UNREACHABLE)
    assert line.startswith(f"error: cannot reach {url}")


def test_credentials_from_a_config_file_named_or_in_the_default_place(
    server: support.RunningServer, home: Path, tmp_path: Path, finished_job: dict[str, Any]
) -> None:
    settings = f'url = "{server.base_url}"\nuser = "demo"\npassword = "demo"\n'
    named = tmp_path / "aquarium.toml"
    named.write_text(settings, "utf-8")
    args = ["aqua", "status", finished_job["id"], "--json"]
    assert ok_json(run_cli([*args, "--config", str(named)], cli_env(home)))["status"] == (
        "completed"
    )
    default = home / ".config" / "aquarium" / "client.toml"
    default.parent.mkdir(parents=True)
    default.write_text(settings, "utf-8")
    assert ok_json(run_cli(args, cli_env(home)))["id"] == finished_job["id"]
    # The environment wins over the file.
    wrong = cli_env(home, AQUARIUM_PASSWORD="wrong")
    assert run_cli(args, wrong).returncode == EXIT_AUTH


def test_oauth_client_credentials_from_options(
    server: support.RunningServer, home: Path, finished_job: dict[str, Any]
) -> None:
    client_id, secret = support.DEMO_CLIENT
    done = run_cli(
        [
            "aqua",
            "status",
            finished_job["id"],
            "--url",
            server.base_url,
            "--client-id",
            client_id,
            "--client-secret",
            secret,
            "--json",
        ],
        cli_env(home),
    )
    assert ok_json(done)["id"] == finished_job["id"]


# -- Reporting -------------------------------------------------------------------------------------


def report_id(server: support.RunningServer, home: Path, name: str) -> str:
    found = ok_json(run_cli(["report", "list", name, "--json"], demo_env(server, home)))
    matches = [r["id"] for r in found if r["name"] == name]
    assert len(matches) == 1, found
    return str(matches[0])


def test_report_run_wait_export_then_runs_export_and_cancel(
    server: support.RunningServer, demo: httpx.Client, home: Path, tmp_path: Path
) -> None:
    env = demo_env(server, home)
    every = ok_json(run_cli(["report", "list", "--json"], env))
    assert "Open invoices" in {r["name"] for r in every}

    detail = tmp_path / "open-invoices.tsv"
    ran = ok_json(
        run_cli(
            [
                *("report", "run", report_id(server, home, "Open invoices"), "--wait"),
                *("--export", str(detail), "--json"),
            ],
            env,
        )
    )
    run = ran["run"]
    assert run["status"] == "COMPLETED" and ran["file"] == str(detail)
    direct = demo.get(f"/api/rest/v1/reportruns/export/{run['id']}")
    assert detail.read_bytes()[:2] == b"\xff\xfe"
    assert detail.read_bytes() == direct.content
    assert len(detail.read_bytes()[2:].decode("utf-16-le").splitlines()) == run["rowCount"] + 1

    runs = ok_json(run_cli(["report", "runs", "--status", "completed", "--json"], env))
    assert run["id"] in {r["id"] for r in runs["elements"]}
    assert {r["status"] for r in runs["elements"]} == {"COMPLETED"}

    page = ok_json(
        run_cli(["report", "data", run["id"], "--offset", "2", "--page-size", "3", "--json"], env)
    )
    direct_page = demo.get(
        f"/api/rest/v1/reportruns/reportdata/{run['id']}", params={"offset": 2, "pageSize": 3}
    )
    assert page == direct_page.json()["response"]
    assert (page["offset"], page["size"], page["total"]) == (2, 3, run["rowCount"])
    table = run_cli(["report", "data", run["id"], "--page-size", "2"], env)
    assert table.returncode == 0 and "--offset 3" in table.stderr

    summary = ok_json(
        run_cli(
            [
                *("report", "run", report_id(server, home, "Accounts by status")),
                *("--view", "Summary", "--wait", "--json"),
            ],
            env,
        )
    )["run"]
    pivoted = tmp_path / "pivoted.tsv"
    saved = ok_json(
        run_cli(["report", "export", summary["id"], str(pivoted), "--pivoted", "--json"], env)
    )
    assert saved == {"file": str(pivoted)}
    crosstab = demo.get(f"/api/rest/v1/reportruns/export/{summary['id']}?pivoted=true")
    assert pivoted.read_bytes() == crosstab.content and crosstab.content[:2] == b"\xff\xfe"

    refused = one_error_line(run_cli(["report", "cancel", run["id"]], env), EXIT_FAILED)
    assert refused == (
        f"error: The report run {run['id']} is already COMPLETED and cannot be canceled. "
        "(ZAN-USAGE-REST-ERROR)"
    )


# -- on the scale-1 server: cancel, Ctrl-C ---------------------------------------------------------


@pytest.fixture(scope="module")
def big(big_server: support.RunningServer) -> httpx.Client:
    return big_server.client()


@pytest.mark.xdist_group("acceptance-big-server")
def test_cancel_of_a_running_job(
    big_server: support.RunningServer, big: httpx.Client, home: Path
) -> None:
    submitted = support.submit_ok(big, support.stateless(*[SLOW_QUERY] * SLOW_QUERY_COPIES))
    answer = ok_json(
        run_cli(["aqua", "cancel", submitted["id"], "--json"], demo_env(big_server, home))
    )
    assert (answer["id"], answer["status"]) == (submitted["id"], "cancelled")
    assert support.get_job(big, submitted["id"])["status"] == "cancelled"


@pytest.mark.xdist_group("acceptance-big-server")
def test_cancel_of_a_report_run_in_progress(
    big_server: support.RunningServer, big: httpx.Client, home: Path
) -> None:
    env = demo_env(big_server, home)
    report = report_id(big_server, home, "Invoices by month and currency")
    # The server's workers (support.start_server: 2) run AQuA jobs and report runs alike; while
    # slow jobs hold every one of them, a new report run waits in STARTED.
    blockers = [
        support.submit_ok(big, support.stateless(*[SLOW_QUERY] * SLOW_QUERY_COPIES))["id"]
        for _ in range(WORKERS)
    ]
    try:
        for job_id in blockers:
            support.wait_for_job(big, job_id, lambda doc: doc["status"] != "submitted")
        started = big.post(f"/api/rest/v1/reports/{report}/reportrun?viewType=Summary")
        run_id = started.json()["response"]["reportRunId"]
        done = run_cli(["report", "cancel", run_id, "--json"], env)
        assert ok_json(done) == {"id": run_id, "message": "The report run has been canceled"}
        run = big.get(f"/api/rest/v1/reportruns/{run_id}").json()["response"]
        assert run["status"] == "CANCELLED"
    finally:
        for job_id in blockers:
            big.delete(f"/v1/batch-query/jobs/{job_id}")


@pytest.mark.xdist_group("acceptance-big-server")
def test_ctrl_c_while_waiting_asks_and_cancels_the_job_on_the_server(
    big_server: support.RunningServer, big: httpx.Client, home: Path
) -> None:
    queries = [arg for _ in range(SLOW_QUERY_COPIES) for arg in ("--query", SLOW_QUERY)]
    with subprocess.Popen(
        [sys.executable, "-m", "aquarium", "aqua", "submit", *queries, "--wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=support.sigint_as_default,  # noqa: PLW1509 (it only resets a signal)
        env=demo_env(big_server, home),
    ) as process:
        assert process.stdin is not None and process.stderr is not None
        try:
            seen = []
            job_id = None
            for line in process.stderr:
                seen.append(line)
                if found := re.match(r"job ([0-9a-f]{32}) ", line):
                    job_id = found.group(1)
                if ROWS_SO_FAR.search(line):
                    break
            assert job_id is not None and ROWS_SO_FAR.search(seen[-1]), "".join(seen)

            process.send_signal(signal.SIGINT)
            process.stdin.write("y\n")
            process.stdin.close()
            rest = process.stderr.read()
            assert process.wait(timeout=CLI_TIMEOUT_S) == EXIT_INTERRUPTED, rest
        finally:
            if process.poll() is None:
                process.kill()
    assert f"Cancel job {job_id} on the server? [y/N]" in rest
    assert f"job {job_id} cancelled" in rest
    assert support.get_job(big, job_id)["status"] == "cancelled"


DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_python_example_in_the_docs_runs(
    server: support.RunningServer, home: Path, tmp_path: Path
) -> None:
    # The first example; the Data Query one runs in test_client_dataquery.py.
    example = re.findall(r"```python\n(.*?)```", DOCS.read_text("utf-8"), re.DOTALL)[0]
    script = example.replace(client.DEFAULT_URL, server.base_url)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=cli_env(home),
        cwd=tmp_path,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "completed"
    assert (tmp_path / "out" / "query0.csv.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "open-invoices.tsv").read_bytes()[:2] == b"\xff\xfe"


# -- the Python client -----------------------------------------------------------------------------


class RecordingTransport(httpx.HTTPTransport):
    """A real transport that remembers the ``Range`` header of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.ranges.append(request.headers.get("range"))
        return super().handle_request(request)


def test_the_client_resumes_a_truncated_download_with_range(
    server: support.RunningServer, demo: httpx.Client, tmp_path: Path, finished_job: dict[str, Any]
) -> None:
    file_id = finished_job["batches"][1]["fileId"]
    direct = support.download(demo, file_id).content
    target = tmp_path / "invoices.csv"
    transport = RecordingTransport()
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    with client.Client(server.base_url, credentials, transport=transport) as api:
        api.download(file_id, target)
        assert target.read_bytes() == direct
        half = len(direct) // 2
        files.part_path(target).write_bytes(target.read_bytes()[:half])
        target.unlink()
        api.download(file_id, target)
    assert target.read_bytes() == direct
    assert not files.part_path(target).exists()
    assert transport.ranges == [None, f"bytes={half}-"]
