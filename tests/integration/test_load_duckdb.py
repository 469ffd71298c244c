"""``aquarium load`` into DuckDB: every object exported as AQuA writes it loads back so that
exporting it again gives the same bytes; a failed load changes nothing; only objects with a file
are replaced; unknown columns become custom fields with ``--add-fields``."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from aquarium import datagen
from aquarium.catalog import model
from aquarium.domain import clock, errors
from aquarium.engines import duckdb_engine, naming
from aquarium.services import bulk_load, custom_fields
from aquarium.store import database
from tests.integration import load_support as support

SCALE = 0.05
SEED = 11
SOURCE = "src"
TIME_ZONE = "Europe/Berlin"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = tmp_path_factory.mktemp("load") / "data"
    datagen.generate_into(found, SOURCE, scale=SCALE, seed=SEED, time_zone=TIME_ZONE)
    return found


@pytest.fixture(scope="module")
def objects(data_dir: Path) -> list[str]:
    return [obj.name for obj in support.tenant_catalog(data_dir, SOURCE)[1]]


@pytest.fixture(scope="module")
def exported(data_dir: Path, objects: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every object of the source tenant, exported with API-name headers."""
    into = tmp_path_factory.mktemp("exported")
    support.export(data_dir, SOURCE, objects, into)
    return into


def _fresh_copy(data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the data dir a test may change."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    return copy


def _rows(data_dir: Path, tenant: str, name: str) -> int:
    with duckdb.connect(str(data_dir / naming.DUCKDB_FILE), read_only=True) as con:
        table = f'"{naming.schema_name(tenant)}"."{name}"'
        found = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert found is not None
    return int(found[0])


def test_every_object_exported_loads_back_to_the_same_bytes(
    data_dir: Path, objects: list[str], exported: Path, tmp_path: Path
) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    support.add_tenant(copy, "copy", TIME_ZONE)  # datetimes are written in the tenant's zone
    report = support.load(copy, "copy", exported)
    assert set(report.rows) == set(objects)
    assert report.total_rows > 10_000, "the generated tenant has rows in every object"
    before = {name: (exported / f"{name}.csv").read_bytes() for name in objects}
    after = support.export(copy, "copy", objects, tmp_path / "after")
    different = [name for name in objects if before[name] != after[name]]
    assert not different, f"{len(different)} objects differ, e.g. {different[:5]}"
    assert all(after[name].count(b"\n") == report.rows[name] + 1 for name in objects)


@pytest.mark.parametrize("gz", [False, True], ids=["csv", "csv.gz"])
def test_label_headers_and_gzip_load_too(data_dir: Path, tmp_path: Path, gz: bool) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    support.add_tenant(copy, "copy", TIME_ZONE)
    names = ["Account", "Invoice", "InvoiceItem", "Contact", "Usage"]
    files = tmp_path / "files"
    support.export(copy, SOURCE, names, files, labels=True, gz=gz)
    assert sorted(p.name for p in files.iterdir())[0] == ("Account.csv.gz" if gz else "Account.csv")
    support.load(copy, "copy", files)
    assert support.export(copy, "copy", names, tmp_path / "a", labels=True) == support.export(
        copy, SOURCE, names, tmp_path / "b", labels=True
    )


def test_typed_parquet_loads(data_dir: Path, tmp_path: Path) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    support.add_tenant(copy, "copy", TIME_ZONE)
    files = tmp_path / "files"
    files.mkdir()
    names = ["Account", "InvoiceItem", "Payment"]
    with duckdb.connect(str(copy / naming.DUCKDB_FILE)) as con:
        for name in names:
            source = f'"{naming.schema_name(SOURCE)}"."{name}"'
            deleted = naming.DELETED_COLUMN
            live = f"SELECT * EXCLUDE ({deleted}) FROM {source} WHERE {deleted} IS NULL"
            con.execute(f"COPY ({live}) TO '{files / name}.parquet' (FORMAT parquet)")
    support.load(copy, "copy", files)
    assert support.export(copy, "copy", names, tmp_path / "a") == support.export(
        copy, SOURCE, names, tmp_path / "b"
    )


def test_only_objects_with_a_file_are_replaced(data_dir: Path, tmp_path: Path) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text("Id,Name\n" + "a" * 32 + ",Only one\n")
    invoices = _rows(copy, SOURCE, "Invoice")
    report = support.load(copy, SOURCE, files)
    assert report.rows == {"Account": 1}
    assert _rows(copy, SOURCE, "Account") == 1
    assert _rows(copy, SOURCE, "Invoice") == invoices > 0
    text = support.export(
        copy, SOURCE, ["Account"], tmp_path / "x", zoql="select Id, Name, Status from {}"
    )
    assert (
        text["Account"] == b"Account.Id,Account.Name,Account.Status\n" + b"a" * 32 + b",Only one,\n"
    )


def test_a_failed_load_changes_nothing(data_dir: Path, exported: Path, tmp_path: Path) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    shutil.copy(exported / "Account.csv", files)
    rows = list(csv.reader(io.StringIO((exported / "Invoice.csv").read_text())))
    rows[3][rows[0].index("Invoice.Amount")] = "12.3.4"
    with (files / "Invoice.csv").open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    with pytest.raises(errors.LoadError) as raised:
        support.load(copy, "fresh", files)
    assert raised.value.reason == (
        "Invoice.csv, row 3, column 'Invoice.Amount': '12.3.4' is not a number with at most "
        "14 digits before the point and 4 after (77.86)"
    )
    with duckdb.connect(str(copy / naming.DUCKDB_FILE), read_only=True) as con:
        schemas = con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
    assert (naming.schema_name("fresh"),) not in schemas
    with pytest.raises(AssertionError):
        support.tenant_catalog(copy, "fresh")  # not recorded either
    assert (
        support.export(copy, SOURCE, ["Account"], tmp_path / "a")["Account"]
        == (exported / "Account.csv").read_bytes()
    )


@pytest.mark.parametrize(
    ("header", "row", "reason"),
    [
        ("Id,Name,Bogus", "x,y,z", "Account.csv: column 'Bogus' is no field of Account"),
        ("Name", "y", "Account.csv: there is no Id column (it is required)"),
        ("Id,Name", ",y", "Account.csv: row 1 has no Id (it is required)"),
        ("Id,AutoPay", "x,yes", "Account.csv, row 1, column 'AutoPay': 'yes' is not true or false"),
        ("Id,BillCycleDay", "x,1.5", "'1.5' is not a whole number"),
        ("Id,CreatedDate", "x,2026-01-31 09:30:00", "is not a datetime YYYY-MM-DDThh:mm:ss+hhmm"),
        ("Id,LastInvoiceDate", "x,2026-02-30", "'2026-02-30' is not a date YYYY-MM-DD"),
        ("Id,Name,Account.Name", "x,y,z", "columns 'Name' and 'Account.Name' name the same field"),
        ("Id,Name", 'x,"open', "Account.csv: cannot be read as CSV as AQuA writes it"),
    ],
)
def test_refusals_name_the_file_row_and_column(
    data_dir: Path, tmp_path: Path, header: str, row: str, reason: str
) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text(f"{header}\n{row}\n")
    with pytest.raises(errors.LoadError, match=re.escape(reason)):
        support.load(copy, SOURCE, files)
    assert _rows(copy, SOURCE, "Account") > 1


def test_a_repeated_id_is_refused(data_dir: Path, tmp_path: Path) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text("Id,Name\nx,a\ny,b\nx,c\n")
    with pytest.raises(
        errors.LoadError, match=re.escape("Account.csv: Id x is in more than one row")
    ):
        support.load(copy, SOURCE, files)


def test_add_fields_makes_custom_fields_of_guessed_types(data_dir: Path, tmp_path: Path) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text(
        "Account.Id,Account.Region__c,Account.Since__c,Account.Score__c,Account.Vip__c\n"
        "a,EU,2026-01-31T09:30:00+0100,1.5,true\n"
        'b,"",,,false\n'
        "c,,2026-02-01T00:00:00+0100,-2,\n"
    )
    with pytest.raises(errors.LoadError, match=r"--add-fields makes such columns custom fields"):
        support.load(copy, SOURCE, files)
    report = support.load(copy, SOURCE, files, add_fields=True)
    assert [(f.name, f.type.value) for f in report.added_fields] == [
        ("Region__c", "text"),
        ("Since__c", "datetime"),
        ("Score__c", "number"),
        ("Vip__c", "boolean"),
    ]
    found, catalog = support.tenant_catalog(copy, SOURCE)
    assert [f.name for f in found.custom_fields] == ["Region__c", "Since__c", "Score__c", "Vip__c"]
    assert catalog.require("Account").field("Since__c") is not None
    text = support.export(
        copy,
        SOURCE,
        ["Account"],
        tmp_path / "x",
        zoql="select Id, Region__c, Since__c, Score__c, Vip__c from {}",
    )["Account"]
    assert text == (files / "Account.csv").read_bytes()
    assert _rows(copy, SOURCE, "Invoice") > 0


@pytest.mark.parametrize(
    ("value", "refused"),
    [("gold", False), ("", False), ("bronze", True), ("Gold", True)],
)
def test_a_custom_picklist_takes_only_its_values_as_written(
    data_dir: Path, tmp_path: Path, value: str, refused: bool
) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    with database.opened(None, copy) as metadata:
        fields = custom_fields.CustomFields(
            metadata=metadata, shipped=model.default(), clock=clock.SystemClock()
        )
        fields.add(SOURCE, "Account", "Tier__c", "picklist", values=["gold", "silver"])
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text(f"Id,Status,Tier__c\nx,Dormant,{value}\n")
    if refused:
        reason = f"column 'Tier__c': '{value}' is not one of the picklist's values (gold, silver)"
        with pytest.raises(errors.LoadError, match=re.escape(reason)):
            support.load(copy, SOURCE, files)
        return
    support.load(copy, SOURCE, files)  # Status: the catalogue's own picklist, any text
    assert _rows(copy, SOURCE, "Account") == 1


def test_a_custom_field_zuora_would_refuse_is_refused_before_anything(
    data_dir: Path, tmp_path: Path
) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text("Id,Region\nx,EU\n")
    with pytest.raises(errors.LoadError, match="column 'Region' cannot become a custom field"):
        support.load(copy, SOURCE, files, add_fields=True)
    assert support.tenant_catalog(copy, SOURCE)[0].custom_fields == ()


def test_a_running_engine_replaces_objects_in_one_transaction_its_readers_never_see_half_of(
    data_dir: Path, tmp_path: Path
) -> None:
    copy = _fresh_copy(data_dir, tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text("Id,Name\nx,only\n")
    table = f'"{naming.schema_name(SOURCE)}"."Account"'
    engine = duckdb_engine.DuckDbEngine(copy / naming.DUCKDB_FILE)
    try:
        with engine.read_transaction(SOURCE) as before:
            rows = before.rows(f"SELECT count(*) FROM {table}")[0][0]
            with database.opened(None, copy) as metadata:
                report = bulk_load.load_directory(
                    files, SOURCE, metadata=metadata, replace=engine.replace_objects
                )
            assert report.rows == {"Account": 1}
            assert before.rows(f"SELECT count(*) FROM {table}")[0][0] == rows > 1
        with engine.read_transaction(SOURCE) as after:
            assert after.rows(f'SELECT "Id", "Name" FROM {table}') == [("x", "only")]
    finally:
        engine.close()
