"""What every command shares: options added by a decorator, the data dir's precedence, the one
error line, and ``main()``, which ends any failure in one line, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from aquarium import cli, datagen
from aquarium.cli import common, data, local
from aquarium.domain import errors
from aquarium.services import bulk_load
from aquarium.store import tenants_repo
from aquarium.zoql import parse
from tests import tenants_setup


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("AQUARIUM_"):
            monkeypatch.delenv(name)


# -- options injected into commands ----------------------------------------------------------------


def _connection_app(seen: list[Any]) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @common.with_connection
    def status(
        job_id: str,
        options: common.Options = common.NO_OPTIONS,
        as_json: common.Json = False,
    ) -> None:
        """Show a job."""
        seen.append((job_id, options, as_json))

    return app


def test_connection_options_are_typed_after_the_command_and_arrive_as_one_value() -> None:
    seen: list[Any] = []
    args = ["j1", "--url", "http://x", "--user", "u", "--password", "p", "--json"]
    result = CliRunner().invoke(_connection_app(seen), args)
    assert result.exit_code == 0, result.output
    assert seen == [("j1", common.Options(url="http://x", user="u", password="p"), True)]


def test_connection_options_are_listed_in_help_where_the_parameter_stood() -> None:
    result = CliRunner().invoke(_connection_app([]), ["--help"])
    names = ["--url", "--user", "--password", "--client-id", "--client-secret", "--config"]
    positions = [result.output.index(name) for name in [*names, "--json"]]
    assert positions == sorted(positions)
    assert "_context" not in result.output and "Options(" not in result.output


def test_every_client_command_takes_the_same_connection_options() -> None:
    import typer.main

    group = typer.main.get_command(cli.app)
    for kind in ("aqua", "report"):
        sub = group.commands[kind]  # type: ignore[attr-defined]
        for name, command in sub.commands.items():
            options = {o for p in command.params for o in p.opts}
            assert {"--url", "--user", "--password", "--client-id", "--config"} <= options, name


def test_injecting_into_a_parameter_that_is_not_there_is_a_programming_error() -> None:
    def command(job_id: str) -> None: ...

    with pytest.raises(TypeError, match="no parameter 'options'"):
        common.with_connection(command)


# -- the data dir ----------------------------------------------------------------------------------


def test_the_data_dir_comes_from_the_option_else_the_environment_else_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    by_file, by_env, by_option = tmp_path / "f", tmp_path / "e", tmp_path / "o"
    config = tmp_path / "aquarium.toml"
    config.write_text(f'data_dir = "{by_file}"\n', "utf-8")
    monkeypatch.setenv("AQUARIUM_CONFIG", str(config))
    assert runner.invoke(cli.app, ["tenant", "add", "a"]).exit_code == 0
    monkeypatch.setenv("AQUARIUM_DATA_DIR", str(by_env))
    assert runner.invoke(cli.app, ["tenant", "add", "b"]).exit_code == 0
    assert (
        runner.invoke(cli.app, ["tenant", "add", "c", "--data-dir", str(by_option)]).exit_code == 0
    )
    assert sorted(tenants_setup.load(by_file)) == ["a"]
    assert sorted(tenants_setup.load(by_env)) == ["b"]
    assert sorted(tenants_setup.load(by_option)) == ["c"]


# -- one line per error ----------------------------------------------------------------------------


def test_a_zoql_error_is_its_line_and_its_caret_excerpt(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(errors.ZoqlError) as caught:
        parse.parse("select from Account", parse.ast.Dialect.EXPORT)
    exit_ = common.fail(caught.value)
    lines = capsys.readouterr().err.splitlines()
    assert exit_.exit_code == 1
    assert lines[0] == f"error: {caught.value.describe()}"
    assert lines[1:] == caught.value.position.excerpt.splitlines()  # type: ignore[union-attr]


def test_a_lock_held_by_an_older_server_says_what_to_do() -> None:
    lock = duckdb.IOException(
        'IO Error: Could not set lock on file "/d/billing.duckdb": Conflicting lock is held '
        "in /usr/bin/python3 (PID 4242) by user me. See also https://duckdb.org/docs"
    )
    line = data.locked(Path("/d"), lock)
    assert "a server seems to be running on /d (process 4242)" in line
    assert "stop it, or restart it with this release's 'aquarium serve'" in line
    assert "another server seems to be running" in data.locked(Path("/d"), lock, serving=True)
    assert data.locked(Path("/d"), duckdb.IOException("IO Error: disk full")) == (
        "IO Error: disk full"
    )


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected failure\nsecond line")


def _denied(*args: Any, **kwargs: Any) -> Any:
    raise PermissionError(13, "Permission denied", "/data/metadata.sqlite3")


def _interrupted(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


# (where the failure is injected, the command) -- one of each kind of command
COMMANDS = [
    (datagen, "generate_into", ["datagen", "--scale", "0.01"]),
    (local, "find", ["query", "select Id from Account"]),
    (local, "find", ["simulate"]),
    (bulk_load, "load_directory", ["load", "--tenant", "acme", "."]),
    (tenants_repo, "all_tenants", ["tenant", "list"]),
    (tenants_repo, "add_tenant", ["tenant", "add", "acme"]),
    (common, "connection", ["aqua", "status", "x" * 32]),
    (common, "connection", ["report", "list"]),
]


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        cli.main(args)
    out, err = capsys.readouterr()
    code = ended.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.mark.parametrize(("module", "name", "args"), COMMANDS)
def test_an_unexpected_error_in_any_command_is_one_line_and_exit_70(
    module: Any,
    name: str,
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(module, name, _boom)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, _, err = _main(args, capsys)
    assert code == common.EXIT_INTERNAL
    (line,) = err.splitlines()
    assert line.startswith("error: unexpected RuntimeError: injected failure (a bug in Aquarium")
    assert "AQUARIUM_DEBUG=1" in line and "Traceback" not in err
    (saved,) = tmp_path.glob("aquarium-error-*.txt")
    assert str(saved) in line
    assert "Traceback" in saved.read_text() and "injected failure" in saved.read_text()


def test_with_aquarium_debug_the_traceback_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tenants_repo, "all_tenants", _boom)
    monkeypatch.setenv("AQUARIUM_DEBUG", "1")
    code, _, err = _main(["tenant", "list", "--data-dir", str(tmp_path)], capsys)
    assert code == common.EXIT_INTERNAL
    assert "Traceback" in err and "RuntimeError: injected failure" in err


def test_an_operating_system_error_is_itself_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tenants_repo, "all_tenants", _denied)
    code, _, err = _main(["tenant", "list", "--data-dir", str(tmp_path)], capsys)
    assert (code, err) == (1, "error: Permission denied: /data/metadata.sqlite3\n")


def test_ctrl_c_is_one_word_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tenants_repo, "all_tenants", _interrupted)
    code, _, err = _main(["tenant", "list", "--data-dir", str(tmp_path)], capsys)
    assert code == common.EXIT_INTERRUPTED and "Traceback" not in err


def test_success_and_usage_errors_pass_through_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["--help"], capsys)[0] == 0
    assert _main(["query"], capsys)[0] == 2
