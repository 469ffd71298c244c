"""A one-table export cut into rowid ranges on one cursor per thread (``engines/ranged_copy.py``)
writes what one statement writes, reads one snapshot, and stops, cleanly, when told to."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aquarium import datagen
from aquarium.catalog import model
from aquarium.dataquery import sql as dataquery_sql
from aquarium.domain import errors
from aquarium.engines import base, duckdb_engine, naming, ranged_copy
from aquarium.zoql import check, lower, translate

TENANT = "ranged"
CSV = base.CsvOptions(null="")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ranged")
    datagen.generate_into(directory, TENANT, scale=0.1, seed=5, time_zone="Asia/Kolkata")
    return directory


@pytest.fixture
def engine(data_dir: Path) -> Iterator[duckdb_engine.DuckDbEngine]:
    engine = duckdb_engine.DuckDbEngine(
        data_dir / naming.DUCKDB_FILE, threads=2, export_ranges=True
    )
    yield engine
    engine.close()


@pytest.fixture
def one_statement(data_dir: Path) -> Iterator[duckdb_engine.DuckDbEngine]:
    engine = duckdb_engine.DuckDbEngine(data_dir / naming.DUCKDB_FILE, threads=2)
    yield engine
    engine.close()


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges of a few vectors, so a small table is cut into dozens."""
    monkeypatch.setattr(ranged_copy, "FIRST_ROWS", ranged_copy.VECTOR_ROWS)
    monkeypatch.setattr(ranged_copy, "MIN_ROWS", ranged_copy.VECTOR_ROWS)
    monkeypatch.setattr(ranged_copy, "MAX_ROWS", 2 * ranged_copy.VECTOR_ROWS)


def _lowered(text: str) -> lower.LoweredQuery:
    context = check.Context(catalog=model.default(), time_zone="Asia/Kolkata")
    options = lower.Options(dialect="duckdb", schema=naming.schema_name(TENANT), use_labels=True)
    return translate.translate(text, context=context, options=options)


def _export(engine: duckdb_engine.DuckDbEngine, text: str, path: Path) -> tuple[int, list[str]]:
    with engine.snapshot(TENANT) as snapshot:
        rows = snapshot.copy_csv(_lowered(text), path, CSV)
    return rows, path.read_text("utf-8").splitlines()


def _spy_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the ranged exports run."""
    runs: list[int] = []
    real = ranged_copy.RangedExport.run

    def counted(self: ranged_copy.RangedExport) -> int:
        runs.append(len(self.cursors))
        return real(self)

    monkeypatch.setattr(ranged_copy.RangedExport, "run", counted)
    return runs


@pytest.mark.parametrize(
    "text",
    [
        "select * from InvoiceItem",
        "select Id, ChargeAmount, UpdatedDate from InvoiceItem where ChargeAmount > 50",
        "select Id from InvoiceItem where Id = 'no such id'",
    ],
)
def test_ranged_export_writes_what_one_statement_writes(
    engine: duckdb_engine.DuckDbEngine,
    one_statement: duckdb_engine.DuckDbEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
) -> None:
    runs = _spy_runs(monkeypatch)
    rows, lines = _export(engine, text, tmp_path / "ranged.csv")
    assert runs == [2]
    expected_rows, expected = _export(one_statement, text, tmp_path / "one.csv")
    assert runs == [2]  # without export_ranges: one statement
    assert rows == expected_rows == len(lines) - 1
    assert lines[0] == expected[0]
    assert sorted(lines[1:]) == sorted(expected[1:])
    assert list(tmp_path.glob("*.w*")) == []  # no part file left


@pytest.mark.parametrize(
    "text",
    [
        "select Id, Invoice.InvoiceNumber from InvoiceItem",  # a join
        "select count(Id) from InvoiceItem",  # an aggregate
    ],
)
def test_joins_and_aggregates_stay_one_statement(
    engine: duckdb_engine.DuckDbEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    runs = _spy_runs(monkeypatch)
    rows, lines = _export(engine, text, tmp_path / "out.csv")
    assert runs == []
    assert rows == len(lines) - 1 > 0


def _delete_some(engine: duckdb_engine.DuckDbEngine, first: int) -> None:
    """Soft-delete 100 rows in the middle of the table (ranges other than the first read them)."""
    with engine.write_transaction(TENANT) as (statements, now):
        statements.changed(
            f'UPDATE "{naming.schema_name(TENANT)}"."InvoiceItem" '
            f'SET "{naming.DELETED_COLUMN}" = ? WHERE rowid >= ? AND rowid < ?',
            [now, first, first + 100],
        )


def test_every_cursor_reads_the_snapshot_even_after_a_write(
    engine: duckdb_engine.DuckDbEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _spy_runs(monkeypatch)
    text = "select Id from InvoiceItem"
    with engine.snapshot(TENANT) as snapshot:
        before = snapshot.copy_csv(_lowered(text), tmp_path / "a.csv", CSV)
        _delete_some(engine, 3000)  # the peers began before it: they keep the snapshot's data
        again = snapshot.copy_csv(_lowered(text), tmp_path / "b.csv", CSV)
    assert runs == [2, 2]
    assert again == before
    with engine.snapshot(TENANT) as snapshot:
        _delete_some(engine, 5000)  # before any peer: a peer begun now would miss 100 rows
        after_write = snapshot.copy_csv(_lowered(text), tmp_path / "c.csv", CSV)
    assert runs == [2, 2]  # one statement, on the snapshot's own cursor
    assert after_write == before - 100
    with engine.snapshot(TENANT) as snapshot:
        assert snapshot.copy_csv(_lowered(text), tmp_path / "d.csv", CSV) == before - 200
    assert runs == [2, 2, 2]


def test_an_interrupt_stops_every_range_and_leaves_no_part(
    engine: duckdb_engine.DuckDbEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()
    real = ranged_copy.Ranges.take

    def slow(self: ranged_copy.Ranges, rows_per_s: float | None) -> tuple[int, int] | None:
        started.set()
        time.sleep(0.02)  # the export lasts long enough to be interrupted in the middle
        return real(self, rows_per_s)

    monkeypatch.setattr(ranged_copy.Ranges, "take", slow)
    out = tmp_path / "out.csv"
    with engine.snapshot(TENANT) as snapshot:
        failure: list[BaseException] = []

        def export() -> None:
            try:
                snapshot.copy_csv(_lowered("select * from InvoiceItem"), out, CSV)
            except BaseException as exc:
                failure.append(exc)

        worker = threading.Thread(target=export)
        worker.start()
        assert started.wait(10)
        time.sleep(0.1)
        snapshot.interrupt()
        worker.join(10)
        assert not worker.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], errors.QueryInterrupted)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_failing_range_fails_the_export_with_the_engine_error(
    engine: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    table = f'"{naming.schema_name(TENANT)}"."InvoiceItem"'
    # Fails on rows no first range holds: a worker's statement fails, not the first one.
    query = lower.LoweredQuery(
        sql=(
            f"SELECT CAST(CASE WHEN \"t\".rowid > 6000 THEN 'x' ELSE '1' END AS INTEGER) AS \"n\" "
            f'FROM {table} AS "t"'
        ),
        headers=("n",),
        header_in_sql=True,
        session_time_zone="UTC",
    )
    with engine.snapshot(TENANT) as snapshot, pytest.raises(errors.QueryFailed):
        snapshot.copy_csv(query, tmp_path / "out.csv", CSV)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize(
    "layout",
    [
        base.RowLayout(base.RowFormat.JSON_LINES, gzip=True, time_zone="Asia/Kolkata"),
        base.RowLayout(base.RowFormat.DELIMITED, delimiter="\t", time_zone="UTC"),
    ],
    ids=["jsonl-gzip", "tsv"],
)
def test_a_data_query_of_one_table_is_ranged_too(
    engine: duckdb_engine.DuckDbEngine,
    one_statement: duckdb_engine.DuckDbEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    layout: base.RowLayout,
) -> None:
    runs = _spy_runs(monkeypatch)
    translated = dataquery_sql.translate(
        "select id, chargeamount, updateddate from invoiceitem where chargeamount > 10",
        model.default(),
        schema=naming.schema_name(TENANT),
        dialect="duckdb",
    )
    assert translated.sql is not None

    def rows_of(chosen: duckdb_engine.DuckDbEngine, path: Path) -> tuple[int, list[str]]:
        with chosen.snapshot(TENANT) as snapshot:
            count = snapshot.copy_rows(translated.sql or "", path, layout)
        data = gzip.decompress(path.read_bytes()) if layout.gzip else path.read_bytes()
        return count, data.decode("utf-8").splitlines()

    count, lines = rows_of(engine, tmp_path / "ranged")
    assert runs == [2]
    expected_count, expected = rows_of(one_statement, tmp_path / "one")
    assert runs == [2]
    assert count == expected_count > 0
    header = 0 if layout.format is base.RowFormat.JSON_LINES else 1
    assert len(lines) == count + header
    assert lines[:header] == expected[:header]
    assert sorted(lines[header:]) == sorted(expected[header:])
