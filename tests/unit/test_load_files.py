"""What ``aquarium load`` makes of a directory: the object of each file by its name, the field of
each column by any AQuA header style, and the refusals, one line each."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.engines import staging
from aquarium.services import bulk_load, load_files

CATALOG = model.default()
ITEM = load_files.ObjectFile(
    Path("InvoiceItem.csv"), CATALOG.require("InvoiceItem"), load_files.FileFormat.CSV
)


def _refused(reason: str) -> pytest.RaisesExc[errors.LoadError]:
    return pytest.raises(errors.LoadError, match=re.escape(reason))


@pytest.mark.parametrize(
    ("name", "obj", "kind"),
    [
        ("InvoiceItem.csv", "InvoiceItem", load_files.FileFormat.CSV),
        ("InvoiceItem.csv.gz", "InvoiceItem", load_files.FileFormat.CSV),
        ("Account.parquet", "Account", load_files.FileFormat.PARQUET),
    ],
)
def test_a_file_is_named_after_its_object(name: str, obj: str, kind: load_files.FileFormat) -> None:
    found = load_files.object_file(Path(name), CATALOG)
    assert (found.object.name, found.format) == (obj, kind)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Nothing.csv", "Nothing.csv: there is no object 'Nothing'"),
        ("invoiceitem.csv", "invoiceitem.csv: the object is spelt 'InvoiceItem'"),
        ("Account.json", "Account.json: not <Object>.csv, <Object>.csv.gz or .parquet"),
        ("Account.gz", "Account.gz: not <Object>.csv"),
    ],
)
def test_other_file_names_are_refused(name: str, reason: str) -> None:
    with _refused(reason):
        load_files.object_file(Path(name), CATALOG)


def test_a_directory_lists_its_objects_once_each(tmp_path: Path) -> None:
    with _refused("holds no files to load"):
        load_files.object_files(tmp_path, CATALOG)
    (tmp_path / "Account.csv").write_text("Id\n")
    (tmp_path / ".hidden").write_text("")
    (tmp_path / "nested").mkdir()
    assert [f.object.name for f in load_files.object_files(tmp_path, CATALOG)] == ["Account"]
    (tmp_path / "Account.parquet").write_text("")
    with _refused("Account.parquet: Account is in Account.csv already"):
        load_files.object_files(tmp_path, CATALOG)
    with _refused("is not a directory"):
        load_files.object_files(tmp_path / "Account.csv", CATALOG)


@pytest.mark.parametrize(
    "headers",
    [
        ["Id", "ChargeAmount", "ServiceStartDate"],
        ["InvoiceItem.Id", "InvoiceItem.ChargeAmount", "InvoiceItem.ServiceStartDate"],
        ["id", "invoiceitem.chargeamount", "SERVICESTARTDATE"],
    ],
)
def test_api_name_headers_name_fields_in_any_case(headers: list[str]) -> None:
    found = load_files.columns(ITEM, headers, add_fields=False)
    assert [c.field.name if c.field else None for c in found] == [
        "Id",
        "ChargeAmount",
        "ServiceStartDate",
    ]


def test_label_headers_name_fields() -> None:
    obj = ITEM.object
    headers = [f"{obj.label}: {f.label}" for f in obj.fields]
    found = load_files.columns(ITEM, headers, add_fields=False)
    assert [c.field for c in found] == list(obj.fields)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (["Id", "Nmae"], "column 'Nmae' is no field of InvoiceItem (--add-fields makes"),
        (["ChargeAmount"], "InvoiceItem.csv: there is no Id column (it is required)"),
        (["Id", "InvoiceItem.Id"], "columns 'Id' and 'InvoiceItem.Id' name the same field"),
    ],
)
def test_header_refusals(headers: list[str], reason: str) -> None:
    with _refused(reason):
        load_files.columns(ITEM, headers, add_fields=False)


def test_add_fields_takes_api_names_only() -> None:
    found = load_files.columns(ITEM, ["Id", "InvoiceItem.Region__c"], add_fields=True)
    assert found[1].field is None and found[1].new_field_name == "Region__c"
    with _refused("a label-style header cannot become a custom field"):
        load_files.columns(ITEM, ["Id", "Invoice Item: Region"], add_fields=True)


def test_the_header_row_is_read_from_plain_or_gzip_files(tmp_path: Path) -> None:
    plain = tmp_path / "Account.csv"
    plain.write_text('Id,"Name, quoted"\nx,y\n')
    packed = tmp_path / "Contact.csv.gz"
    packed.write_bytes(gzip.compress(b"Id,FirstName\n"))
    empty = tmp_path / "Product.csv"
    empty.write_text("")
    read = [bulk_load.read_header(load_files.object_file(p, CATALOG)) for p in (plain, packed)]
    assert read == [["Id", "Name, quoted"], ["Id", "FirstName"]]
    with _refused("Product.csv: is empty (a header row is required)"):
        bulk_load.read_header(load_files.object_file(empty, CATALOG))


@pytest.mark.parametrize(
    ("duckdb_type", "custom"),
    [
        ("BOOLEAN", "boolean"),
        ("DATE", "date"),
        ("TIMESTAMP WITH TIME ZONE", "datetime"),
        ("TIMESTAMP", "datetime"),
        ("DECIMAL(18,4)", "number"),
        ("BIGINT", "number"),
        ("UINTEGER", "number"),
        ("DOUBLE", "number"),
        ("VARCHAR", "text"),
        ("BLOB", "text"),
    ],
)
def test_a_typed_parquet_column_gives_its_custom_field_type(duckdb_type: str, custom: str) -> None:
    assert staging.custom_type_of(duckdb_type) == custom
