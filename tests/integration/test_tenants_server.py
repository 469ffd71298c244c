"""Tenants as a server sees them: the directory reloads when the generation moves, a running
server takes up a change another process made, and the server secret."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from aquarium import datagen, server
from aquarium.domain import errors
from aquarium.engines import naming
from aquarium.services import auth
from aquarium.settings import Settings
from aquarium.store import tenants_repo
from tests.acceptance import support as acceptance
from tests.integration import test_store_migrations as support
from tests.integration.test_report_definitions import AppClient

store = support.store
engine = support.engine
SECRET = b"s" * 32
PICKUP_BOUND_S = 30.0  # generous: the server polls every TENANTS_POLL_S
POLL_S = 0.05


def test_the_directory_reloads_only_when_the_generation_moves(engine: sa.Engine) -> None:
    directory = server.TenantDirectory(engine, SECRET)
    assert directory.tenant("demo") is None and directory.refresh() is False
    first = directory.authenticator
    assert first.basic("demo", "demo") is None
    with engine.begin() as conn:
        tenants_repo.ensure_demo(conn)
    assert directory.tenant("demo") is None, "requests read the snapshot, never the database"
    assert directory.refresh() is True
    demo = directory.tenant("demo")
    assert demo is not None and demo.user("demo") is not None
    second = directory.authenticator
    assert second is not first and second.basic("demo", "demo") is not None
    assert directory.refresh() is False
    assert directory.authenticator is second, "its cache of checked secrets lives on"
    with engine.begin() as conn:
        tenants_repo.set_limits(conn, "demo", {"max_report_runs": 2})
    assert directory.refresh() is True
    reloaded = directory.tenant("demo")
    assert reloaded is not None and reloaded.limits.max_report_runs == 2


def test_the_watcher_takes_up_a_change_and_stops(engine: sa.Engine) -> None:
    directory = server.TenantDirectory(engine, SECRET, poll_s=0.01)
    directory.start()
    try:
        with engine.begin() as conn:
            tenants_repo.add_tenant(conn, "acme", time_zone="UTC")
        _wait_for(lambda: directory.tenant("acme") is not None, "the watcher to reload")
    finally:
        directory.stop()
    with engine.begin() as conn:
        tenants_repo.add_tenant(conn, "globex", time_zone="UTC")
    assert directory.tenant("globex") is None  # stopped: nobody reloads behind the test's back


@pytest.fixture(scope="module")
def billing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo tenant's billing data, so a server build need not generate it."""
    data_dir = tmp_path_factory.mktemp("billing")
    datagen.generate_into(data_dir, tenants_repo.DEMO_TENANT, scale=0.02, seed=1)
    return data_dir / naming.DUCKDB_FILE


@pytest.fixture(params=support.BACKENDS)
def running(
    request: pytest.FixtureRequest, billing_file: Path, tmp_path: Path
) -> Iterator[tuple[server.Server, str | None]]:
    """A started server whose metadata is SQLite in its data dir, or a new PostgreSQL database."""
    shutil.copyfile(billing_file, tmp_path / naming.DUCKDB_FILE)
    with contextlib.ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url = stack.enter_context(support.pg_database(request.getfixturevalue("pg_dsn")))
        built = server.build(
            Settings(data_dir=tmp_path, metadata_url=url or "", no_workers=True, demo_scale=0.02)
        )
        built.start()
        try:
            yield built, url
        finally:
            built.stop()


def test_a_running_server_takes_up_a_user_added_by_another_process(
    running: tuple[server.Server, str | None],
) -> None:
    built, url = running
    client = AppClient(built.app())
    newcomer = httpx.BasicAuth("newcomer", "arrived")
    assert client.get("/v1/describe", auth=httpx.BasicAuth("demo", "demo")).status_code == 200
    assert client.get("/v1/describe", auth=newcomer).status_code == 401

    command = [sys.executable, "-m", "aquarium", "user", "add", "newcomer", "--tenant", "demo",
               "--password", "arrived", "--data-dir", str(built.settings.data_dir)]  # fmt: skip
    done = subprocess.run(
        command + (["--database-url", url] if url else []),
        capture_output=True,
        text=True,
        env=acceptance.hermetic_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "user newcomer added to tenant demo"

    _wait_for(
        lambda: client.get("/v1/describe", auth=newcomer).status_code == 200,
        "the server to accept the new user",
    )


def test_the_server_secret_is_created_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    secret = auth.load_or_create_secret(data_dir)
    assert len(secret) == 32
    assert auth.load_or_create_secret(data_dir) == secret
    path = data_dir / auth.SECRET_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in data_dir.iterdir()) == [auth.SECRET_FILE]


def test_a_short_server_secret_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / auth.SECRET_FILE).write_bytes(b"short")
    with pytest.raises(errors.TenantsFileError, match=r"(?i)5 bytes"):
        auth.load_or_create_secret(tmp_path)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after :data:`PICKUP_BOUND_S` (never a timing
    assertion: the bound only ends a test that would otherwise hang)."""
    deadline = time.monotonic() + PICKUP_BOUND_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {PICKUP_BOUND_S} s for {what}")
        time.sleep(POLL_S)
