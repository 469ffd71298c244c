"""Admission on a scale-out API node (PostgreSQL metadata): submits that race each other, as
they do across several API nodes, never take more places than the tenant's limit; each takes
its tenant's turn (``runs_repo.lock_tenant``), where SQLite's single writer did it for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest

from aquarium import datagen, server
from aquarium.domain import dataquery_errors, errors
from aquarium.settings import Settings
from tests import tenants_setup
from tests.integration import test_store_migrations as store_support
from tests.integration.test_runner_support import PRINCIPAL, SEED, TENANT, body

pytestmark = pytest.mark.postgres
RACERS = 8
LIMIT = 3


@pytest.fixture(scope="module")
def node(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Server]:
    """An API node without workers: what is submitted stays waiting."""
    with store_support.pg_database(pg_dsn) as url:
        data_dir = tmp_path_factory.mktemp("admission")
        datagen.generate_into(
            data_dir, TENANT, scale=0.02, seed=SEED, engine="postgres", dsn=url, metadata_url=url
        )
        built = server.build(Settings(data_dir=data_dir, database_url=url, no_workers=True))
        tenants_setup.set_limits(
            built, TENANT, max_stateless_jobs=LIMIT, max_queued_data_queries=LIMIT
        )
        built.tenants.refresh()
        try:
            yield built
        finally:
            built.stop()


def _race(submit: Callable[[], Any], refused: type[Exception]) -> list[str]:
    """``submit`` from :data:`RACERS` threads at once: the outcomes, "ok" or "refused"."""
    start = Barrier(RACERS, timeout=30)

    def one(_: int) -> str:
        start.wait()
        try:
            submit()
        except refused:
            return "refused"
        return "ok"

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def test_racing_aqua_submits_take_no_more_than_the_limit(node: server.Server) -> None:
    outcomes = _race(
        lambda: node.services.aqua.submit(PRINCIPAL, body("select Id from Account")),
        errors.TooManyJobs,
    )
    assert sorted(outcomes) == ["ok"] * LIMIT + ["refused"] * (RACERS - LIMIT)


def test_racing_data_query_submits_take_no_more_than_the_queue(node: server.Server) -> None:
    assert node.services.data_queries is not None
    queries = node.services.data_queries
    request = {
        "query": "select 1 as one",
        "outputFormat": "CSV",
        "compression": "NONE",
        "output": {"target": "S3"},
    }
    outcomes = _race(
        lambda: queries.submit(PRINCIPAL, request, "http://node"),
        dataquery_errors.DataQueryQueueFull,
    )
    assert sorted(outcomes) == ["ok"] * LIMIT + ["refused"] * (RACERS - LIMIT)


def test_racing_submits_with_one_key_make_one_data_query(node: server.Server) -> None:
    assert node.services.data_queries is not None
    queries = node.services.data_queries
    tenants_setup.set_limits(node, TENANT, max_queued_data_queries=LIMIT + 10)
    node.tenants.refresh()  # the queue has room again (the test before filled it)
    request = {
        "query": "select 2 as two",
        "outputFormat": "CSV",
        "compression": "NONE",
        "output": {"target": "S3"},
    }
    start = Barrier(RACERS, timeout=30)

    def one(_: int) -> str:
        start.wait()
        return str(queries.submit(PRINCIPAL, request, "http://node", "key-1")["id"])

    with ThreadPoolExecutor(RACERS) as pool:
        ids = list(pool.map(one, range(RACERS)))
    assert len(set(ids)) == 1, ids


def test_the_retention_sweep_runs_on_a_scale_out_node(node: server.Server) -> None:
    """Files, runs and deleted billing rows past retention, on PostgreSQL (nothing is old
    enough here: the sweep must run through, not fail every minute)."""
    node.purge_once()
