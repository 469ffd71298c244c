"""Issue 11, defect 6: an engine's own words ("Binder Error", "Out of Memory Error (152.5
MiB/152.5 MiB used)", "Python Conversion Failure") never reach a client. The engines turn their
exceptions into the error tree's at one boundary (``duckdb_engine.engine_errors``,
``postgres_engine._errors_mapped``): the client reads what failed in its terms, the engine's
words stay in ``engine_text`` for the log.
"""

from __future__ import annotations

import duckdb
import pytest

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.engines import base, duckdb_engine, naming, postgres_engine
from aquarium.zoql import check, lower, translate
from tests.integration.conftest import NOW, TIME_ZONE

ENGINE_WORDS = ("Error", "MiB", "Conversion", "Binder", "Catalog", "LINE 1")


@pytest.mark.parametrize(
    ("raised", "kind", "words"),
    [
        (
            duckdb.BinderException(
                "Binder Error: Cannot compare values of type DECIMAL(18,4) and type BIGNUM"
            ),
            errors.QueryFailed,
            base.ENGINE_FAILED,
        ),
        (
            duckdb.OutOfMemoryException(
                "Out of Memory Error: failed to allocate data of size 32.0 KiB "
                "(152.5 MiB/152.5 MiB used)"
            ),
            errors.EngineOutOfMemory,
            base.OUT_OF_MEMORY,
        ),
        (
            duckdb.ConversionException("Python Conversion Failure: value out of range"),
            errors.QueryFailed,
            base.ENGINE_FAILED,
        ),
        (duckdb.CatalogException("Catalog Error: Table with name Refund does not exist!\nLINE 1"),
         errors.QueryFailed, base.ENGINE_FAILED),
    ],
)  # fmt: skip
def test_duckdbs_words_stay_out_of_what_a_client_reads(
    raised: duckdb.Error, kind: type[errors.QueryFailed], words: str
) -> None:
    with pytest.raises(kind) as caught, duckdb_engine.engine_errors():
        raise raised
    described = caught.value.describe()
    assert described == f"{errors.QueryFailed.message} {words}."
    assert not any(word in described for word in ENGINE_WORDS)
    assert caught.value.engine_text == str(raised).splitlines()[0]
    assert caught.value.__cause__ is raised


def test_an_interrupt_is_an_interrupt() -> None:
    with pytest.raises(errors.QueryInterrupted), duckdb_engine.engine_errors():
        raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")


def _lowered(dialect: str, tenant: str, text: str) -> lower.LoweredQuery:
    context = check.Context(catalog=model.default(), time_zone=TIME_ZONE, now=NOW)
    options = lower.Options(dialect=dialect, schema=naming.schema_name(tenant))
    return translate.translate(text, context=context, options=options)


def test_a_failing_statement_on_duckdb(duck: duckdb_engine.DuckDbEngine) -> None:
    broken = _lowered("duckdb", "acme", "select Id from Account")
    broken = lower.LoweredQuery(
        sql=broken.sql.replace('"Account"."Id"', '"Account"."NoSuchColumn"'),
        headers=broken.headers,
        header_in_sql=broken.header_in_sql,
        session_time_zone=broken.session_time_zone,
    )
    with duck.snapshot("acme") as snapshot, pytest.raises(errors.QueryFailed) as caught:
        snapshot.fetch(broken)
    assert caught.value.describe() == errors.QueryFailed(base.ENGINE_FAILED).describe()
    assert "NoSuchColumn" in (caught.value.engine_text or "")


@pytest.mark.postgres
def test_a_failing_statement_on_postgresql(
    pg: postgres_engine.PostgresEngine, pg_tenant: str
) -> None:
    broken = _lowered("postgres", pg_tenant, "select Id from Account")
    broken = lower.LoweredQuery(
        sql=broken.sql.replace('"Account"."Id"', '"Account"."NoSuchColumn"'),
        headers=broken.headers,
        header_in_sql=broken.header_in_sql,
        session_time_zone=broken.session_time_zone,
    )
    with pg.snapshot(pg_tenant) as snapshot, pytest.raises(errors.QueryFailed) as caught:
        snapshot.fetch(broken)
    assert caught.value.describe() == errors.QueryFailed(base.ENGINE_FAILED).describe()
    assert "NoSuchColumn" in (caught.value.engine_text or "")


def test_the_operator_reads_the_engines_words() -> None:
    """The CLI and its local endpoints serve the server's owner: they add the engine's words."""
    failed = errors.QueryFailed(base.ENGINE_FAILED, engine_text="Binder Error: x")
    assert errors.operator_words(failed) == f"{failed.describe()} (engine: Binder Error: x)"
    assert errors.operator_words(errors.InvalidJobId()) == errors.InvalidJobId().describe()
