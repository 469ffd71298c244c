"""The DuckDB engine's three budgets (``memory_gate.Budget``) on a real database: a plain export
that a slower reader paces (a pipe into a packager) runs under the scan budget; a plain one that
nothing paces and a bulk write under the working budget; an export, Parquet copy, fetch or Data
Query statement that joins, groups or sorts under the building budget; the limit falls back
to the working budget once they end. Each statement reads the limit in force while it runs
(``current_setting('memory_limit')`` in its own SELECT), written to its file or fetched."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from aquarium.engines import base, duckdb_engine, naming
from aquarium.zoql import lower

BUILDING, WORKING, SCAN = "1GB", "384MB", "200MB"
# how DuckDB writes them back
BUILDING_SEEN, WORKING_SEEN, SCAN_SEEN = "953.6 MiB", "366.2 MiB", "190.7 MiB"
SCHEMA = naming.schema_name("acme")
SETTING = "current_setting('memory_limit') AS m"


def opened(duck_dir: Path, tmp_path: Path, **options: object) -> duckdb_engine.DuckDbEngine:
    """An engine on a copy of the shared test data (the limit is the whole database's)."""
    copy = tmp_path / naming.DUCKDB_FILE
    shutil.copyfile(duck_dir / naming.DUCKDB_FILE, copy)
    return duckdb_engine.DuckDbEngine(copy, **options)  # type: ignore[arg-type]


@pytest.fixture
def engine(duck_dir: Path, tmp_path: Path) -> Iterator[duckdb_engine.DuckDbEngine]:
    opened_engine = opened(
        duck_dir,
        tmp_path,
        memory_limit=WORKING,
        scan_memory_limit=SCAN,
        build_memory_limit=BUILDING,
    )
    yield opened_engine
    opened_engine.close()


def limits_seen(
    engine: duckdb_engine.DuckDbEngine, sql: str, tmp_path: Path, *, paced: bool = True
) -> set[str]:
    """The limits the rows of ``sql`` saw, exported as a packager's pipe would be (``paced``)
    or straight to a file."""
    query = lower.LoweredQuery(sql=sql, headers=("m",), header_in_sql=True, session_time_zone="UTC")
    path = tmp_path / "rows.csv"
    with engine.snapshot("acme") as snapshot:
        snapshot.copy_csv(query, path, base.CsvOptions(paced=paced))
    return set(path.read_text().splitlines()[1:])


PLAIN = f'SELECT {SETTING} FROM "{SCHEMA}"."InvoiceItem"'
PLAIN_DERIVED = f'SELECT m FROM (SELECT {SETTING}, "Id" FROM "{SCHEMA}"."Account") AS a'
GROUPED = f'SELECT {SETTING} FROM "{SCHEMA}"."InvoiceItem" GROUP BY "AccountId"'
JOINED = (
    f'SELECT {SETTING} FROM "{SCHEMA}"."InvoiceItem" AS i '
    f'JOIN "{SCHEMA}"."Account" AS a ON a."Id" = i."AccountId"'
)
SORTED = f'SELECT {SETTING} FROM "{SCHEMA}"."Account" ORDER BY "Name"'


@pytest.mark.parametrize("sql", [PLAIN, PLAIN_DERIVED], ids=["plain", "derived"])
def test_a_paced_plain_export_runs_under_the_scan_budget(
    engine: duckdb_engine.DuckDbEngine, sql: str, tmp_path: Path
) -> None:
    assert limits_seen(engine, sql, tmp_path) == {SCAN_SEEN}


def test_a_plain_export_nothing_paces_runs_under_the_working_budget(
    engine: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    assert limits_seen(engine, PLAIN, tmp_path, paced=False) == {WORKING_SEEN}
    assert limits_seen(engine, PLAIN, tmp_path) == {SCAN_SEEN}


@pytest.mark.parametrize("sql", [GROUPED, JOINED, SORTED], ids=["grouped", "joined", "sorted"])
def test_a_statement_that_builds_runs_under_the_building_budget_then_it_falls_back(
    engine: duckdb_engine.DuckDbEngine, sql: str, tmp_path: Path
) -> None:
    assert limits_seen(engine, sql, tmp_path) == {BUILDING_SEEN}
    assert limits_seen(engine, PLAIN, tmp_path) == {SCAN_SEEN}


def _lowered(sql: str) -> lower.LoweredQuery:
    return lower.LoweredQuery(sql=sql, headers=("m",), header_in_sql=True, session_time_zone="UTC")


def test_a_report_copy_and_a_fetch_take_the_budget_their_statement_needs(
    engine: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    path = tmp_path / "rows.parquet"
    seen = []
    with engine.snapshot("acme") as snapshot:
        for sql in (GROUPED, PLAIN):
            snapshot.copy_parquet(_lowered(sql), path)
            seen.append({row[0] for row in duckdb.connect().execute(f"FROM '{path}'").fetchall()})
        seen += [{row[0] for row in snapshot.fetch(_lowered(sql))} for sql in (JOINED, PLAIN)]
    assert seen == [{BUILDING_SEEN}, {WORKING_SEEN}, {BUILDING_SEEN}, {WORKING_SEEN}]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            f'SELECT m FROM (SELECT {SETTING}, "AccountId" FROM "{SCHEMA}"."InvoiceItem") AS q',
            WORKING_SEEN,
        ),
        (f'SELECT {SETTING}, count(*) FROM "{SCHEMA}"."InvoiceItem" GROUP BY 1', BUILDING_SEEN),
    ],
    ids=["plain", "grouped"],
)
def test_a_data_query_statement_takes_the_budget_its_sql_needs(
    engine: duckdb_engine.DuckDbEngine, tmp_path: Path, sql: str, expected: str
) -> None:
    path = tmp_path / "rows.csv"
    layout = base.RowLayout(base.RowFormat.DELIMITED, delimiter=",")
    with engine.snapshot("acme") as snapshot:
        snapshot.copy_rows(sql, path, layout)
    assert {line.split(",")[0] for line in path.read_text().splitlines()[1:]} == {expected}
    assert limits_seen(engine, PLAIN, tmp_path) == {SCAN_SEEN}


def test_a_bulk_write_runs_under_the_working_budget(
    engine: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    with engine.bulk_transaction() as cursor:
        found = cursor.execute(f"SELECT {SETTING}").fetchall()
    assert found == [(WORKING_SEEN,)]
    assert limits_seen(engine, PLAIN, tmp_path) == {SCAN_SEEN}


@pytest.mark.parametrize(
    ("threads", "plain_seen"),
    [(2, "152.5 MiB"), (5, WORKING_SEEN)],  # 80MB a thread; 400MB is over the working budget
)
def test_the_default_scan_budget_is_80mb_a_thread_and_never_over_the_working_one(
    duck_dir: Path, tmp_path: Path, threads: int, plain_seen: str
) -> None:
    engine = opened(duck_dir, tmp_path, memory_limit=WORKING, threads=threads)
    try:
        assert limits_seen(engine, PLAIN, tmp_path) == {plain_seen}
        assert limits_seen(engine, GROUPED, tmp_path) == {WORKING_SEEN}  # no building size
    finally:
        engine.close()


def _idle_limit(engine: duckdb_engine.DuckDbEngine) -> str:
    assert engine._gate.rested(timeout=10)  # an ended statement's lowering is the budget's work
    found = engine._db.execute("SELECT current_setting('memory_limit')").fetchone()
    return str(found[0]) if found else ""


@pytest.mark.parametrize("sql", [PLAIN, GROUPED], ids=["paced plain", "grouped"])
def test_while_nothing_runs_the_working_budget_is_in_force(
    engine: duckdb_engine.DuckDbEngine, sql: str, tmp_path: Path
) -> None:
    """The blocks the last statements read stay cached for the next one, up to the working
    size; only a paced scan or a builder moves the limit, while it runs."""
    assert _idle_limit(engine) == WORKING_SEEN
    limits_seen(engine, sql, tmp_path)
    assert _idle_limit(engine) == WORKING_SEEN
