"""The PostgreSQL engine's snapshot settings, read back from the server."""

from __future__ import annotations

from aquarium.engines import naming, postgres_engine


def test_a_snapshot_runs_its_statements_without_jit(
    pg: postgres_engine.PostgresEngine, pg_tenant: str
) -> None:
    # A cancel request waits for JIT compilation to finish: jobs must not compile.
    with pg.snapshot(pg_tenant) as snapshot:
        assert isinstance(snapshot, postgres_engine.PostgresSnapshot)
        shown = snapshot.conn.execute("SHOW jit").fetchone()
    assert shown == ("off",)


def test_jit_stays_off_after_the_data_query_guard(
    pg: postgres_engine.PostgresEngine, pg_tenant: str
) -> None:
    with pg.snapshot(pg_tenant) as snapshot:
        assert isinstance(snapshot, postgres_engine.PostgresSnapshot)
        schema = naming.schema_name(pg_tenant)
        snapshot.guard_dataquery(f'SELECT count(*) FROM "{schema}"."Account"')
        shown = snapshot.conn.execute("SHOW jit").fetchone()
    assert shown == ("off",)
