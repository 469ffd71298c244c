"""DuckDB and PostgreSQL give byte-identical CSV for the same ZOQL over the same generated data."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from aquarium.catalog import model
from aquarium.engines import base, duckdb_engine, naming, postgres_engine
from aquarium.zoql import ast, check, lower, translate
from tests import zoql_fixtures
from tests.integration.conftest import NOW, TIME_ZONE
from tests.strategies import zoql_queries

pytestmark = pytest.mark.postgres


def _csv(
    engine: base.QueryEngine,
    tenant: str,
    text: str,
    dialect: ast.Dialect,
    path: Path,
    *,
    labels: bool = False,
    utc: bool = False,
) -> tuple[str, list[str]]:
    context = check.Context(catalog=model.default(), time_zone=TIME_ZONE, now=NOW)
    options = lower.Options(
        dialect=engine.dialect, schema=naming.schema_name(tenant), use_labels=labels, utc=utc
    )
    lowered = translate.translate(text, context=context, options=options, dialect=dialect)
    with engine.snapshot(tenant) as snapshot:
        rows = snapshot.copy_csv(lowered, path, base.CsvOptions(null="NULL"))
    header, *lines = path.read_text("utf-8").split("\n")
    assert lines[-1] == ""
    assert len(lines) - 1 == rows
    return header, lines[:-1]


def _both(
    duck: duckdb_engine.DuckDbEngine,
    pg: postgres_engine.PostgresEngine,
    pg_tenant: str,
    text: str,
    dialect: ast.Dialect,
    tmp_path: Path,
    **options: bool,
) -> None:
    duck_header, duck_lines = _csv(duck, "acme", text, dialect, tmp_path / "d.csv", **options)
    pg_header, pg_lines = _csv(pg, pg_tenant, text, dialect, tmp_path / "p.csv", **options)
    assert duck_header == pg_header
    # Without a total order the engines may return rows in different orders.
    assert sorted(duck_lines) == sorted(pg_lines)


def _fixture_queries() -> list[tuple[ast.Dialect, str]]:
    # limit without a total order picks any rows: those statements can differ per engine.
    return [
        (dialect, text)
        for dialect, text in zoql_fixtures.valid_queries()
        if dialect is ast.Dialect.ZOQL or " limit " not in text.lower()
    ]


@pytest.mark.parametrize(("dialect", "text"), _fixture_queries())
def test_every_fixture_query_runs_identically_on_both_engines(
    duck: duckdb_engine.DuckDbEngine,
    pg: postgres_engine.PostgresEngine,
    pg_tenant: str,
    dialect: ast.Dialect,
    text: str,
    tmp_path: Path,
) -> None:
    _both(duck, pg, pg_tenant, text, dialect, tmp_path)


@pytest.mark.parametrize("labels", [False, True])
@pytest.mark.parametrize("utc", [False, True])
def test_header_styles_and_utc_agree(
    duck: duckdb_engine.DuckDbEngine,
    pg: postgres_engine.PostgresEngine,
    pg_tenant: str,
    tmp_path: Path,
    labels: bool,
    utc: bool,
) -> None:
    text = "select Id, Name, CreatedDate, Balance, AutoPay, BillToContact.City from Account"
    _both(duck, pg, pg_tenant, text, ast.Dialect.EXPORT, tmp_path, labels=labels, utc=utc)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=zoql_queries(model.default()))
def test_generated_queries_agree(
    duck: duckdb_engine.DuckDbEngine,
    pg: postgres_engine.PostgresEngine,
    pg_tenant: str,
    tmp_path: Path,
    query: str,
) -> None:
    _both(duck, pg, pg_tenant, query, ast.Dialect.EXPORT, tmp_path)
