"""Every setting from each of its three places (an option typed to ``aquarium serve``, the
environment, the TOML config file), and which one wins; serve's options are checked through
the command line itself, on a command that only shows what it got."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from aquarium import settings
from aquarium.cli import server

#: Per setting: a value other than the default as (Python value, environment text, TOML text,
#: command-line arguments).
SAMPLES: dict[str, tuple[Any, str, str, list[str]]] = {
    "data_dir": (Path("/srv/aq"), "/srv/aq", '"/srv/aq"', ["--data-dir", "/srv/aq"]),
    "host": ("0.0.0.0", "0.0.0.0", '"0.0.0.0"', ["--host", "0.0.0.0"]),
    "port": (9000, "9000", "9000", ["--port", "9000"]),
    "workers": (3, "3", "3", ["--workers", "3"]),
    "no_workers": (True, "true", "true", ["--no-workers"]),
    "metadata_url": (
        "postgresql+psycopg://a@b/c",
        "postgresql+psycopg://a@b/c",
        '"postgresql+psycopg://a@b/c"',
        ["--metadata-url", "postgresql+psycopg://a@b/c"],
    ),
    "database_url": (
        "postgresql://a@b/c",
        "postgresql://a@b/c",
        '"postgresql://a@b/c"',
        ["--database-url", "postgresql://a@b/c"],
    ),
    "results_url": (
        "memory://results",
        "memory://results",
        '"memory://results"',
        ["--results-url", "memory://results"],
    ),
    "test_control": (True, "1", "true", ["--test-control"]),
    "purge_interval_s": (2.5, "2.5", "2.5", ["--purge-interval-s", "2.5"]),
    "max_body_bytes": (2048, "2048", "2048", ["--max-body-bytes", "2048"]),
    "demo_scale": (0.05, "0.05", "0.05", ["--demo-scale", "0.05"]),
    "duckdb_memory_limit": ("1GB", "1GB", '"1GB"', ["--duckdb-memory-limit", "1GB"]),
    "duckdb_scan_memory_limit": (
        "256MB",
        "256MB",
        '"256MB"',
        ["--duckdb-scan-memory-limit", "256MB"],
    ),
    "duckdb_build_memory_limit": (
        "4GB",
        "4GB",
        '"4GB"',
        ["--duckdb-build-memory-limit", "4GB"],
    ),
    "duckdb_threads": (4, "4", "4", ["--duckdb-threads", "4"]),
    "duckdb_export_ranges": (True, "true", "true", ["--duckdb-export-ranges"]),
    "notify_allowed_hosts": (
        ["10.0.0.0/8", "*.example.com"],
        '["10.0.0.0/8", "*.example.com"]',
        '["10.0.0.0/8", "*.example.com"]',
        ["--notify-allowed-hosts", "10.0.0.0/8", "--notify-allowed-hosts", "*.example.com"],
    ),
    "web_session_idle_s": (60, "60", "60", ["--web-session-idle-s", "60"]),
    "data_file_link_s": (600, "600", "600", ["--data-file-link-s", "600"]),
    "log_level": ("debug", "debug", '"debug"', ["--log-level", "debug"]),
    "concurrency": (4, "4", "4", ["--concurrency", "4"]),
    "heartbeat_s": (1.5, "1.5", "1.5", ["--heartbeat-s", "1.5"]),
    "stale_after_s": (12.0, "12", "12", ["--stale-after-s", "12"]),
}


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in os.environ:
        if name.startswith(settings.ENV_PREFIX):
            monkeypatch.delenv(name)


def _shown_app() -> typer.Typer:
    """A command with serve's options that prints the settings it was given."""
    app = typer.Typer()

    @app.command()
    @server.with_settings(server.SERVE_SETTINGS)
    def show(settings: settings.Settings) -> None:
        typer.echo(settings.model_dump_json())

    return app


def _serve(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(_shown_app(), list(args), env=env)
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def _expected(name: str) -> Any:
    value = SAMPLES[name][0]
    return str(value) if isinstance(value, Path) else value


def test_every_setting_has_a_sample_and_a_default_that_differs() -> None:
    assert set(SAMPLES) == set(settings.Settings.model_fields) - {"config"}
    defaults = settings.Settings()
    for name, (value, *_) in SAMPLES.items():
        assert getattr(defaults, name) != value, name


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_setting_from_the_environment(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"AQUARIUM_{name.upper()}", SAMPLES[name][1])
    assert getattr(settings.load(), name) == SAMPLES[name][0]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_setting_from_the_config_file(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "aquarium.toml"
    path.write_text(f"{name} = {SAMPLES[name][2]}\n", "utf-8")
    assert getattr(settings.load({"config": path}), name) == SAMPLES[name][0]
    monkeypatch.setenv("AQUARIUM_CONFIG", str(path))
    assert getattr(settings.load(), name) == SAMPLES[name][0]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_setting_from_an_option_of_serve(name: str) -> None:
    shown = _serve(*SAMPLES[name][3])
    assert shown[name] == _expected(name)
    defaults = json.loads(settings.Settings().model_dump_json())
    assert {k: v for k, v in shown.items() if k != name} == {
        k: v for k, v in defaults.items() if k != name
    }


def test_database_url_makes_a_scale_out_node_and_takes_only_postgresql() -> None:
    shown = _serve("--database-url", "postgresql://a@b/c")
    assert shown["database_url"] == "postgresql://a@b/c" and shown["metadata_url"] == ""
    assert settings.load({"database_url": "postgresql://a@b/c"}).scale_out
    assert not settings.load().scale_out
    with pytest.raises(settings.SettingsError, match="needs a PostgreSQL URL"):
        settings.load({"database_url": "sqlite:///x.db"})


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/shared/results", "names no storage protocol"),
        ("nosuchfs://bucket/x", "unknown storage protocol 'nosuchfs'"),
    ],
)
def test_a_results_url_that_cannot_be_used_is_one_line(url: str, words: str) -> None:
    with pytest.raises(settings.SettingsError, match=words) as raised:
        settings.load({"results_url": url})
    assert "results_url" in str(raised.value) and "\n" not in str(raised.value)
    result = CliRunner().invoke(_shown_app(), [], env={"AQUARIUM_RESULTS_URL": url})
    assert result.exit_code == 2 and words in result.stderr


def test_an_option_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    path = tmp_path / "aquarium.toml"
    path.write_text('port = 7000\nhost = "10.1.1.1"\nlog_level = "error"\n', "utf-8")
    env = {"AQUARIUM_CONFIG": str(path), "AQUARIUM_PORT": "9000", "AQUARIUM_HOST": "10.2.2.2"}
    shown = _serve("--port", "9100", env=env)
    assert (shown["port"], shown["host"], shown["log_level"]) == (9100, "10.2.2.2", "error")
    assert shown["config"] == str(path)


def test_an_option_not_typed_leaves_the_environment_alone() -> None:
    # The bug this guards against: serve passed its own defaults to Settings, so
    # AQUARIUM_PORT=9000 aquarium serve bound 8080.
    assert _serve(env={"AQUARIUM_PORT": "9000"})["port"] == 9000


def test_an_option_typed_with_the_default_value_still_wins() -> None:
    assert _serve("--port", "8080", env={"AQUARIUM_PORT": "9000"})["port"] == 8080


def test_config_from_the_option_beats_aquarium_config(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("port = 7001\n", "utf-8")
    (tmp_path / "b.toml").write_text("port = 7002\n", "utf-8")
    env = {"AQUARIUM_CONFIG": str(tmp_path / "a.toml")}
    assert _serve("--config", str(tmp_path / "b.toml"), env=env)["port"] == 7002
    assert _serve(env=env)["port"] == 7001


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("port = ", "is not valid TOML"),
        ("prot = 9000\n", "unknown setting(s) prot"),
        ("config = 'other.toml'\n", "unknown setting(s) config"),
        ('port = "high"\n', "invalid setting port"),
        ("port = 70000\n", "invalid setting port"),
    ],
)
def test_an_unusable_config_file_is_one_line_and_exit_2(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "aquarium.toml"
    path.write_text(text, "utf-8")
    result = CliRunner().invoke(_shown_app(), ["--config", str(path)])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and words in line


def test_a_missing_config_file_and_a_bad_environment_value_name_themselves(
    tmp_path: Path,
) -> None:
    with pytest.raises(settings.SettingsError, match="cannot read the config file"):
        settings.load({"config": tmp_path / "absent.toml"})
    result = CliRunner().invoke(_shown_app(), [], env={"AQUARIUM_WORKERS": "many"})
    assert result.exit_code == 2
    assert "AQUARIUM_WORKERS" in result.stderr and "'many'" in result.stderr


@pytest.mark.parametrize(
    "name", ["duckdb_memory_limit", "duckdb_scan_memory_limit", "duckdb_build_memory_limit"]
)
@pytest.mark.parametrize("size", ["banana", "0MB", "12", "-5MB"])
def test_a_memory_size_that_is_none_is_one_line_and_exit_2(name: str, size: str) -> None:
    """Refused at start with the setting's name, not by DuckDB's parser as a server fault."""
    with pytest.raises(settings.SettingsError, match="like 384MB or 1GiB") as raised:
        settings.load({name: size})
    assert name in str(raised.value) and "\n" not in str(raised.value)
    result = CliRunner().invoke(_shown_app(), [], env={f"AQUARIUM_{name.upper()}": size})
    assert result.exit_code == 2 and "like 384MB or 1GiB" in result.stderr


@pytest.mark.parametrize("size", ["384MB", "1.5 GiB", " 200mb ", ""])
def test_a_memory_size_is_taken_as_written(size: str) -> None:
    assert (
        settings.load({"duckdb_scan_memory_limit": size}).duckdb_scan_memory_limit == size.strip()
    )
