"""Server settings: one pydantic-settings model; every field can come from ``AQUARIUM_<NAME>``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AQUARIUM_")

    #: where metadata (SQLite), billing data (DuckDB), result files and tenants.json live
    data_dir: Path = Path(".aquarium")
    #: address the HTTP server binds
    host: str = "127.0.0.1"
    #: port the HTTP server binds
    port: int = 8080
    #: worker threads running jobs; 0 = one per CPU; None with --no-workers
    workers: int = 0
    #: run no workers in this process (scale-out API nodes)
    no_workers: bool = False
    #: SQLAlchemy URL of the metadata store; empty = SQLite in the data dir
    metadata_url: str = ""
    #: seconds between retention sweeps (expired files and jobs)
    purge_interval_s: float = Field(default=60.0, gt=0)
    #: largest accepted request body, bytes (Zuora-shaped bodies are small)
    max_body_bytes: int = 1024 * 1024
    #: scale of the demo tenant's data generated on a first start
    demo_scale: float = 1.0
    #: DuckDB's memory budget (buffer pool and operators), e.g. "160MB"; empty = DuckDB's default
    duckdb_memory_limit: str = "160MB"
    #: DuckDB worker threads; 0 = DuckDB's default (one per core). The default, 1, keeps a
    #: core for the API and lets a cancel stop a statement in ~0.1 s instead of ~0.5 s (DuckDB
    #: lets every thread finish its running task first), at ~35% less export throughput.
    duckdb_threads: int = Field(default=1, ge=0)
    #: hosts a job's notifyUrl may call: names (``hooks.example.com``, ``*.example.com``),
    #: addresses or networks (``10.0.0.0/8``). Empty = any host whose addresses are all
    #: public; private, loopback and link-local addresses are refused unless listed here.
    #: From the environment as JSON: ``AQUARIUM_NOTIFY_ALLOWED_HOSTS='["127.0.0.1"]'``.
    notify_allowed_hosts: list[str] = Field(default_factory=list)
    #: seconds a Job Finder (web UI) session lasts without a request; each page view renews it
    web_session_idle_s: int = Field(default=8 * 3600, gt=0)
    #: log level
    log_level: str = "info"
