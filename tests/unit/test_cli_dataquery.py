"""``aquarium dq ...`` without a server: usage errors that never reach the network, and the
commands over a fake server (httpx.MockTransport) for what a real one makes hard to arrange:
the exact lines, exit codes and Ctrl-C while waiting. The real server: tests/acceptance."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from aquarium import cli, client
from aquarium.cli import client_dataquery, client_view
from aquarium.cli import common as cli_common
from aquarium.client import dataquery
from tests.unit import test_client_dataquery as wire

URL = "http://aquarium.test"
CREDENTIALS = ["--url", URL, "--user", "demo", "--password", "demo"]
JOB_ID = wire.JOB_ID

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for name in cli_common.config.ENV_BY_KEY.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_common.config, "DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    return CliRunner()


def serve(monkeypatch: pytest.MonkeyPatch, handler: Handler) -> list[httpx.Request]:
    """Make every client of the commands talk to ``handler``; returns the requests it gets."""
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    transport = httpx.MockTransport(recording)
    fake = functools.partial(client.Client, transport=transport, sleep=lambda s: None)
    monkeypatch.setattr(cli_common.client, "Client", fake)
    return seen


def statuses(*documents: dict[str, Any]) -> Handler:
    """GETs answer the documents in turn (the last one again and again); a DELETE cancels."""
    answers = list(documents)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(200, json={"data": wire.job("cancelled")})
        if request.method == "POST":
            return httpx.Response(200, json={"data": wire.job("accepted")})
        document = answers.pop(0) if len(answers) > 1 else answers[0]
        return httpx.Response(200, json={"data": document})

    return handler


@pytest.mark.parametrize(
    "args",
    [
        ["dq", "submit"],
        ["dq", "submit", "select 1", "--file", "q.sql"],
        ["dq", "submit", "   "],
        ["dq", "submit", "--file", "missing.sql"],
        ["dq", "submit", "select 1", "--format", "parquet"],
        ["dq", "submit", "select 1", "--format", "dsv"],
        ["dq", "submit", "select 1", "--format", "dsv", "--separator", "||"],
        ["dq", "submit", "select 1", "--separator", ";"],
        ["dq", "submit", "select 1", "--compression", "bzip2"],
        ["dq", "submit", "select 1", "--encryption-key-file", "missing.pem"],
        ["dq", "list", "--status", "running"],
        ["dq", "list", "--page-size", "1001"],
        ["dq", "status"],
    ],
)
def test_usage_errors_exit_2_before_any_request(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    seen = serve(monkeypatch, statuses(wire.job()))
    assert runner.invoke(cli.app, [*args, *CREDENTIALS]).exit_code == 2
    assert seen == []


def test_a_private_key_file_is_a_usage_error_naming_the_file(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = serve(monkeypatch, statuses(wire.job()))
    key = tmp_path / "key.pem"
    key.write_bytes(wire.pem("PRIVATE KEY", wire.SPKI))
    args = ["dq", "submit", "select 1", "--encryption-key-file", str(key), *CREDENTIALS]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2 and "private key" in result.output and seen == []


def test_submit_sends_the_options_as_zuoras_body(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = serve(monkeypatch, statuses(wire.job()))
    (tmp_path / "q.sql").write_text("\n  select accountnumber from account\n", "utf-8")
    (tmp_path / "key.pem").write_bytes(wire.PUBLIC_PEM)
    args = ["dq", "submit", "--file", str(tmp_path / "q.sql"), "--format", "DSV"]
    args += ["--separator", "|", "--compression", "zip", "--read-deleted"]
    args += ["--encryption-key-file", str(tmp_path / "key.pem"), "--json", *CREDENTIALS]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    (request,) = seen
    assert json.loads(request.content) == {
        "query": "select accountnumber from account",
        "outputFormat": "DSV",
        "compression": "ZIP",
        "output": {"target": "S3"},
        "columnSeparator": "|",
        "readDeleted": True,
        "encryptionKey": wire.SPKI_BASE64,
    }
    assert json.loads(result.stdout) == {"job": wire.job("accepted"), "file": None}


def test_a_failed_job_shows_its_error_message_in_one_line_and_exits_1(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = wire.job("failed", errorMessage="line 1:8: Column 'x' cannot be resolved")
    serve(monkeypatch, statuses(wire.job("in_progress"), failed))
    result = runner.invoke(
        cli.app, ["dq", "submit", "select x from account", "--wait", *CREDENTIALS]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: query job {JOB_ID} failed: line 1:8: Column 'x' cannot be resolved"
    )
    assert "Traceback" not in result.output


def test_ctrl_c_while_waiting_asks_then_cancels_on_the_server_and_exits_130(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    polls = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            polls.append(request)
            if len(polls) == 2:
                raise KeyboardInterrupt
        return statuses(wire.job("in_progress"))(request)

    seen = serve(monkeypatch, handler)
    result = runner.invoke(
        cli.app, ["dq", "submit", "select 1", "--wait", *CREDENTIALS], input="y\n"
    )
    assert result.exit_code == 130
    assert f"Cancel query job {JOB_ID} on the server? [y/N]" in result.stderr
    assert f"query job {JOB_ID} cancelled" in result.stderr
    assert [r.method for r in seen] == ["POST", "GET", "GET", "DELETE"]


def test_no_answer_to_the_question_leaves_the_job_running(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            raise KeyboardInterrupt
        return statuses(wire.job())(request)

    seen = serve(monkeypatch, handler)
    result = runner.invoke(cli.app, ["dq", "submit", "select 1", "--wait", *CREDENTIALS], input="")
    assert result.exit_code == 130
    assert f"query job {JOB_ID} keeps running on the server" in result.stderr
    assert "DELETE" not in [r.method for r in seen]


@pytest.mark.parametrize(
    ("status", "document", "code", "line"),
    [
        (
            404,
            {"code": 1001, "message": f"No such query: {JOB_ID}"},
            4,
            f"error: not found: No such query: {JOB_ID}",
        ),
        (
            400,
            {
                "code": 1003,
                "message": f"Query job {JOB_ID} is not in accepted or in_progress status",
            },
            1,
            f"error: Query job {JOB_ID} is not in accepted or in_progress status (1003)",
        ),
    ],
)
def test_a_refused_cancel_is_one_line_with_the_servers_message(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    document: dict[str, Any],
    code: int,
    line: str,
) -> None:
    serve(monkeypatch, wire.answering(status, document))
    result = runner.invoke(cli.app, ["dq", "cancel", JOB_ID, *CREDENTIALS])
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", line + "\n")


def test_download_of_a_job_still_running_exits_1_saying_so(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, statuses(wire.job("in_progress")))
    result = runner.invoke(cli.app, ["dq", "download", JOB_ID, *CREDENTIALS])
    assert result.exit_code == 1
    assert result.stderr == f"error: query job {JOB_ID} is in_progress: it has no result file\n"


def test_an_output_ending_in_a_slash_is_a_directory_made_for_the_file(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    serve(monkeypatch, wire.FakeStore(wire.job("completed")))
    args = ["dq", "submit", "select 1", "--output", f"{tmp_path}/new/", "--json", *CREDENTIALS]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    saved = tmp_path / "new" / f"{JOB_ID}_24921638725108715.jsonl"
    assert json.loads(result.stdout)["file"] == str(saved)
    assert saved.read_bytes() == wire.DATA


def test_download_into_a_directory_takes_the_servers_file_name(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    serve(monkeypatch, wire.FakeStore(wire.job("completed")))
    args = ["dq", "download", JOB_ID, "-o", str(tmp_path), "--json", *CREDENTIALS]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    saved = tmp_path / f"{JOB_ID}_24921638725108715.jsonl"
    assert json.loads(result.stdout) == {"file": str(saved)}
    assert saved.read_bytes() == wire.DATA


def test_progress_off_a_terminal_is_one_line_per_status(capsys: pytest.CaptureFixture[str]) -> None:
    progress = client_view.DataQueryProgress()
    with progress:
        for status in ["accepted", "accepted", "in_progress", "in_progress", "completed"]:
            progress.update(dataquery.parse_job(wire.job(status)))
    assert capsys.readouterr().err.splitlines() == [
        f"query job {JOB_ID}: accepted",
        f"query job {JOB_ID}: in_progress",
        f"query job {JOB_ID}: completed",
    ]
    after_submit = client_view.DataQueryProgress(shown="accepted")  # told by the submit
    with after_submit:
        for status in ["accepted", "in_progress"]:
            after_submit.update(dataquery.parse_job(wire.job(status)))
    assert capsys.readouterr().err.splitlines() == [f"query job {JOB_ID}: in_progress"]


def test_the_list_shows_every_job_in_the_servers_order(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    newer = wire.job("in_progress", id="0c8b2c2a-7c36-4f5e-bb43-7a8ee2d46b39", query="show tables")
    serve(monkeypatch, wire.answering(200, {"data": [newer, wire.job("completed")]}))
    result = runner.invoke(cli.app, ["dq", "list", *CREDENTIALS])
    assert result.exit_code == 0, result.output
    assert result.stdout.index(newer["id"]) < result.stdout.index(JOB_ID)
    assert "show tables" in result.stdout and "24,516" in result.stdout


def test_read_sql_takes_the_argument_or_the_file_stripped(tmp_path: Path) -> None:
    path = tmp_path / "q.sql"
    path.write_text("\nselect 1\n\n", "utf-8")
    assert client_dataquery.read_sql(None, path) == "select 1"
    assert client_dataquery.read_sql(" show tables ", None) == "show tables"
