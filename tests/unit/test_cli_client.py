"""The command-line client's own logic, without a server: exit codes, messages, ``--file``,
JSON output, and usage errors that never reach the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aquarium import cli, client
from aquarium.cli import client_aqua as cli_client_aqua
from aquarium.cli import client_view as view
from aquarium.cli import common as cli_client
from aquarium.client import models

URL = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (client.NotAuthenticated("User is not authorized."), 3),
        (client.NotFound("Invalid Job Id."), 4),
        (client.ServerUnreachable("cannot reach"), 5),
        (client.ConfigError("no credentials"), 2),
        (client.Refused("90005", "There is a syntax error"), 1),
        (client.TimedOut("still executing"), 1),
        (client.ClientError("unexpected answer"), 1),
    ],
)
def test_every_client_error_has_its_documented_exit_code(
    error: client.ClientError, code: int
) -> None:
    assert cli_client.exit_code_for(error) == code


def test_a_refused_login_says_so_and_leaks_nothing_the_server_said() -> None:
    line = cli_client.error_line(client.NotAuthenticated("User demo has no such password"), URL)
    assert line.startswith("error: authentication failed at " + URL)
    assert "demo" not in line and "\n" not in line


def test_a_refusal_shows_the_servers_message_and_code() -> None:
    line = cli_client.error_line(client.Refused("90005", "There is a syntax error."), URL)
    assert line == "error: There is a syntax error. (90005)"


def test_a_query_file_holds_one_query_per_line_or_a_json_body(tmp_path: Path) -> None:
    lines = tmp_path / "queries.zoql"
    lines.write_text("select Id from Account\n\n  select Id from Invoice  \n", "utf-8")
    assert cli_client_aqua.read_query_file(lines) == (
        ["select Id from Account", "select Id from Invoice"],
        None,
    )
    body = tmp_path / "body.json"
    body.write_text('{"format": "csv", "queries": [{"query": "select Id from Account"}]}')
    assert cli_client_aqua.read_query_file(body) == (
        [],
        {"format": "csv", "queries": [{"query": "select Id from Account"}]},
    )


@pytest.mark.parametrize("text", ["", "\n\n", "{not json", "{}}"])
def test_an_unusable_query_file_is_a_usage_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "q"
    path.write_text(text, "utf-8")
    with pytest.raises(typer.BadParameter):
        cli_client_aqua.read_query_file(path)


def test_json_output_is_the_wire_document_with_camel_case_keys() -> None:
    job = models.parse_job(
        {
            "id": "j" * 32,
            "status": "completed",
            "format": "CSV",
            "version": "1.0",
            "batches": [
                {
                    "batchId": "b" * 32,
                    "name": "q",
                    "query": "select Id from Account",
                    "status": "completed",
                    "recordCount": 3,
                    "fileId": "f" * 32,
                }
            ],
        }
    )
    document = json.loads(json.dumps(view.jsonable({"job": job, "files": [Path("a/q.csv")]})))
    assert document["job"]["status"] == "completed"
    batch = document["job"]["batches"][0]
    assert (batch["batchId"], batch["fileId"], batch["recordCount"]) == ("b" * 32, "f" * 32, 3)
    assert "file_id" not in json.dumps(document)
    assert document["files"] == ["a/q.csv"]


def test_a_result_made_in_code_prints_camel_case_keys_too() -> None:
    progress = models.Progress(
        batches=2, batches_done=1, rows_written=10, bytes_written=99, elapsed_ms=5
    )
    assert view.jsonable(progress) == {
        "batches": 2,
        "batchesDone": 1,
        "rowsWritten": 10,
        "bytesWritten": 99,
        "elapsedMs": 5,
    }


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for name in cli_client.config.ENV_BY_KEY.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_client.config, "DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    return CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["aqua", "submit", "--user", "u", "--password", "p"],
        ["aqua", "submit", "-q", "select Id from Account", "--file", "x", "--user", "u"],
        ["aqua", "submit", "-q", "select Id from Account", "--partner", "p"],
        ["aqua", "submit", "-q", "select Id from Account", "--format", "parquet"],
        ["report", "run", "r", "--view", "Pivot"],
        ["aqua", "status"],
        ["aqua", "download", "../etc", "--user", "u", "--password", "p"],
    ],
)
def test_usage_errors_exit_2_before_any_request(runner: CliRunner, args: list[str]) -> None:
    assert runner.invoke(cli.app, [*args, "--url", URL]).exit_code == 2


def test_no_credentials_anywhere_exit_2_with_the_ways_to_give_them(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["aqua", "status", "x" * 32, "--url", URL])
    assert result.exit_code == 2
    assert "no credentials" in result.output and "AQUARIUM_USER" in result.output


def test_a_bad_config_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "client.toml"
    path.write_text("user = ", "utf-8")
    result = runner.invoke(cli.app, ["report", "list", "--config", str(path)])
    assert result.exit_code == 2 and "not valid TOML" in result.output


def test_progress_off_a_terminal_is_one_line_per_change(capsys: pytest.CaptureFixture[str]) -> None:
    def poll(status: str, record_count: int) -> client.Job:
        batch = {
            "batchId": "b" * 32,
            "name": "invoices",
            "query": "select * from InvoiceItem",
            "status": status,
            "recordCount": record_count,
        }
        return models.parse_job(
            {"id": "j" * 32, "status": "executing", "format": "CSV", "batches": [batch]}
        )

    def detail(rows: int) -> models.JobDetail:
        return models.parse_job_detail(
            {
                "id": "j" * 32,
                "kind": "aqua",
                "status": "executing",
                "batches": [{"id": "b" * 32, "status": "executing", "rowsWritten": rows}],
            }
        )

    progress = view.JobProgress()
    with progress:
        progress.update(poll("pending", 0), None)
        progress.update(poll("executing", 0), detail(0))
        progress.update(poll("executing", 0), detail(0))
        progress.update(poll("executing", 0), detail(52000))
        progress.update(poll("completed", 120000), detail(120000))
    assert capsys.readouterr().err.splitlines() == [
        f"job {'j' * 32} batch invoices: pending, 0 rows",
        f"job {'j' * 32} batch invoices: executing, 0 rows",
        f"job {'j' * 32} batch invoices: executing, 52,000 rows",
        f"job {'j' * 32} batch invoices: completed, 120,000 rows",
    ]
