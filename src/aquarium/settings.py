"""Server settings: one pydantic-settings model, each field from three places.

For every field, the first of these that names it wins:

1. an option of ``aquarium serve`` the user typed (``--port 9000``): :func:`load` gets only
   those, never the command's defaults;
2. the environment, ``AQUARIUM_<NAME>`` (``AQUARIUM_PORT=9000``; lists as JSON:
   ``AQUARIUM_NOTIFY_ALLOWED_HOSTS='["10.0.0.0/8"]'``);
3. the TOML config file named by ``--config FILE`` or ``AQUARIUM_CONFIG`` (keys are the field
   names: ``port = 9000``);

then the field's default. The commands that read or change a data dir (``query``, ``datagen``,
``tenant`` ...) find ``data_dir`` the same way, without the serve-only options.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic
from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from aquarium import storage
from aquarium.engines import memory_gate

ENV_PREFIX = "AQUARIUM_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class SettingsError(Exception):
    """Settings that cannot be used: one line naming the setting (or the file) and why."""


class Settings(BaseSettings):
    """What ``aquarium serve`` runs with (``aquarium serve --help`` lists the same)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    config: Path | None = Field(
        default=None,
        description="TOML file holding any of these settings (keys: the setting names).",
    )
    data_dir: Path = Field(
        default=Path(".aquarium"),
        description="Where metadata, billing data, result files and tenants live.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port the HTTP server binds.")
    workers: int = Field(
        default=0, ge=0, description="Worker threads running jobs; 0 = one per CPU."
    )
    no_workers: bool = Field(
        default=False, description="Serve the API only; workers run elsewhere (scale-out)."
    )
    metadata_url: str = Field(
        default="", description="SQLAlchemy URL of the metadata store; empty = SQLite in DATA_DIR."
    )
    database_url: str = Field(
        default="",
        description="PostgreSQL URL of a scale-out deployment: metadata, billing data and the "
        "job queue; empty = embedded (SQLite and DuckDB in DATA_DIR).",
    )
    results_url: str = Field(
        default="",
        description="Where result files go: an fsspec URL (file:///shared/results, "
        "s3://bucket/prefix); empty = DATA_DIR/results.",
    )
    concurrency: int = Field(
        default=0, ge=0, description="Runs one worker process executes at once; 0 = one per CPU."
    )
    heartbeat_s: float = Field(
        default=5.0, gt=0, description="Seconds between a worker's heartbeats for its runs."
    )
    stale_after_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds without a heartbeat after which a run's worker counts as lost and "
        "the run starts again elsewhere.",
    )
    purge_interval_s: float = Field(
        default=60.0, gt=0, description="Seconds between retention sweeps (files and jobs)."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Largest accepted request body, in bytes."
    )
    demo_scale: float = Field(
        default=1.0, gt=0, description="Scale of the demo tenant's data made on a first start."
    )
    # 384MB: on two threads a summary report's GROUP BY ran 2.5x slower in 160MB (the default
    # before issue 15), a plain CSV export 1.3x. Not in force while only paced scans run.
    duckdb_memory_limit: str = Field(
        default="384MB",
        description="DuckDB's memory budget, e.g. 384MB; empty = DuckDB's default. While only "
        "plain exports that a packager paces run, the scan budget is in force instead.",
    )
    # A scan keeps the table's blocks in DuckDB's buffer pool up to the budget; an export that
    # gzip (one thread) paces gains nothing from them (memory_gate.Budget).
    duckdb_scan_memory_limit: str = Field(
        default="",
        description="DuckDB's memory budget while only plain exports (one object's rows, no "
        "join, grouping or sort) that a packager paces (gzip, zip, segments, PGP) run, e.g. "
        "160MB; empty = 80MB per DuckDB thread, and never more than --duckdb-memory-limit.",
    )
    # Zuora gives a Data Query 2 GB of memory (reference dataquery.md 9). Under the 384MB working
    # budget the monthly group-by of InvoiceItem at scale 50 spilled 323 MiB to disk; through the
    # server it completed in 2.0 s under 2GB against 2.5 s under 384MB (memory_gate.py).
    duckdb_build_memory_limit: str = Field(
        default="2GB",
        description="DuckDB's memory budget while a statement that builds a hash table or a "
        "sort runs (a join, grouping, DISTINCT or ORDER BY: reports, Data Query aggregates), "
        "e.g. 2GB; empty = --duckdb-memory-limit, and never less than it.",
    )
    # The default, every core: an export at DuckDB's own speed, and a cancel stops it in about
    # 0.1 s (p95 through the server, docs/benchmarks.md); 1 keeps a core free for the API.
    duckdb_threads: int = Field(
        default=0, ge=0, description="DuckDB worker threads; 0 = one per core."
    )
    # Off by default: about 30% slower on a quiet machine, but a cancel's wait stays bounded by
    # one short statement however busy the machine (engines/ranged_copy.py).
    duckdb_export_ranges: bool = Field(
        default=False,
        description=(
            "Export a one-object query as short rowid-ranged statements side by side, so a "
            "cancel waits for one of them (slower than one statement)."
        ),
    )
    # Empty = any host whose addresses are all public; private, loopback and link-local
    # addresses are refused unless listed.
    notify_allowed_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Hosts a job's notifyUrl may call: names (*.example.com), addresses or networks "
            "(10.0.0.0/8); repeat the option for more."
        ),
    )
    web_session_idle_s: int = Field(
        default=8 * 3600,
        gt=0,
        description="Seconds a web UI session lasts without a request (each page renews it).",
    )
    data_file_link_s: int = Field(
        default=3600,
        gt=0,
        description="Seconds a Data Query job's dataFile link works (each GET of the job makes a "
        "new one).",
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    # Off by default, and never to be on for a server holding real data: whoever administers a
    # tenant can then make the server fail that tenant's requests (docs/security.md).
    test_control: bool = Field(
        default=False,
        description="Switch on the test-control API (fault rules, requests seen, a movable "
        "clock per tenant) for testing integrations; never on a production server.",
    )

    @pydantic.field_validator(
        "duckdb_memory_limit", "duckdb_scan_memory_limit", "duckdb_build_memory_limit"
    )
    @classmethod
    def _memory_size(cls, value: str) -> str:
        if value.strip():
            try:
                size = memory_gate.bytes_of(value)
            except ValueError:
                size = 0
            if size <= 0:
                raise ValueError("a memory size is a number and a unit, like 384MB or 1GiB")
        return value.strip()

    @pydantic.field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if value and scheme not in POSTGRES_SCHEMES:
            raise ValueError("a scale-out deployment needs a PostgreSQL URL (postgresql://...)")
        return value

    @property
    def scale_out(self) -> bool:
        """Whether this is a node of a scale-out deployment (``database_url`` is set)."""
        return bool(self.database_url)

    @pydantic.field_validator("results_url")
    @classmethod
    def _known_storage_protocol(cls, value: str) -> str:
        # Checked here, at startup, rather than at the first published file.
        if value:
            storage.check_results_url(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: options typed (init arguments), environment, config file.
        return (init_settings, env_settings, ConfigFileSource(settings_cls))


class ConfigFileSource(PydanticBaseSettingsSource):
    """The TOML file named by the ``config`` setting of the sources before it (option or
    environment); no file named, no values."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ reads the whole file at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        named = self.current_state.get("config")
        return {} if named in (None, "") else read_config_file(Path(named))


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML config file; :class:`SettingsError` naming the file when it is
    missing, not TOML, or holds a key that is no setting."""
    try:
        document = tomllib.loads(path.expanduser().read_text("utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read the config file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"the config file {path} is not valid TOML: {exc}") from None
    known = set(Settings.model_fields) - {"config"}
    unknown = sorted(set(document) - known)
    if unknown:
        raise SettingsError(
            f"unknown setting(s) {', '.join(unknown)} in {path}; known: {', '.join(sorted(known))}"
        )
    return document


def load(given: Mapping[str, Any] | None = None) -> Settings:
    """The settings, ``given`` (options the user typed) first, then environment, then file.

    Raises :class:`SettingsError` with one line naming what is wrong and where it may come from.
    """
    try:
        return Settings(**dict(given or {}))
    except pydantic.ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def _one_line(exc: pydantic.ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        hint = f"--{name.replace('_', '-')}, {ENV_PREFIX}{name.upper()} or the config file"
        problems.append(f"{name}: {error['msg']} (got {error.get('input')!r}; from {hint})")
    return "invalid setting " + "; ".join(problems)
