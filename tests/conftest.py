"""Shared fixtures: tiers marked by directory; PostgreSQL found or skipped (never under CI); each
test's report kept on its item (``rep_setup``, ``rep_call``), and servers' logs printed with a
failure."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_DSN = os.environ.get("AQUARIUM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TIER_BY_DIRECTORY = {
    "unit": "unit",
    "integration": "integration",
    "acceptance": "acceptance",
    "fuzz": "fuzz",
    "browser": "browser",
}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _server_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A failing test prints the tail of the log of every server it was using."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        from tests.acceptance import support

        for running in support.RUNNING:
            print(f"\n===== log of server '{running.name}' ({running.log_path}) =====")
            print(running.log_tail())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, taken from the directory it lives in."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for directory, marker in TIER_BY_DIRECTORY.items():
            if directory in parts:
                item.add_marker(getattr(pytest.mark, marker))


def _postgres_reason() -> str | None:
    """Why PostgreSQL can't be used, or ``None`` when it answers."""
    import psycopg

    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_DSN} is not reachable: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The DSN of a reachable PostgreSQL; skips (or fails under CI=true) when there is none."""
    reason = _postgres_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return PG_DSN


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh tenant name whose PostgreSQL schema is dropped after the test."""
    import psycopg
    from psycopg import sql

    from aquarium.engines import naming, postgres_dataquery

    tenant = f"t{uuid.uuid4().hex[:12]}"
    yield tenant
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(naming.schema_name(tenant))
            )
        )
        postgres_dataquery.drop_role(conn, tenant)  # made by a snapshot, if any
