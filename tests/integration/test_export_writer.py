"""Result files written through a real DuckDB snapshot: checksum, size, row count, packaging."""

from __future__ import annotations

import gzip
import hashlib
import zipfile
from pathlib import Path

import pytest

from aquarium.catalog import model
from aquarium.engines import base, duckdb_engine, naming
from aquarium.export import writer
from aquarium.zoql import check, lower, translate
from tests.integration.conftest import NOW, TIME_ZONE

QUERY = "select * from InvoiceItem"


def _lowered() -> lower.LoweredQuery:
    context = check.Context(catalog=model.default(), time_zone=TIME_ZONE, now=NOW)
    options = lower.Options(dialect="duckdb", schema=naming.schema_name("acme"))
    return translate.translate(QUERY, context=context, options=options)


@pytest.mark.parametrize("file_format", ["CSV", "GZIP", "ZIP"])
def test_checksum_size_and_rows_describe_the_file(
    duck: duckdb_engine.DuckDbEngine, tmp_path: Path, file_format: str
) -> None:
    target = tmp_path / "result"
    with duck.snapshot("acme") as snapshot:
        written = writer.write_result(
            snapshot,
            _lowered(),
            target,
            file_format=file_format,
            query_name="items",
            csv=base.CsvOptions(),
        )
    data = target.read_bytes()
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.size == len(data)
    if file_format == "GZIP":
        data = gzip.decompress(data)
    elif file_format == "ZIP":
        with zipfile.ZipFile(target) as archive:
            assert archive.namelist() == ["items.csv"]
            data = archive.read("items.csv")
    lines = data.decode("utf-8").split("\n")
    assert lines[-1] == ""
    assert len(lines) - 2 == written.record_count > 1000
    assert not list(tmp_path.glob("*.csv")), "the plain CSV behind gzip/zip is removed"


@pytest.mark.parametrize(
    ("query_name", "entry"),
    [
        ("../../etc/cron.d/x", ".._.._etc_cron.d_x.csv"),
        ("C:\\Windows\\x", "C:_Windows_x.csv"),
        ("two\nlines", "two_lines.csv"),
        ("Accounts 2026 (all)", "Accounts 2026 (all).csv"),
    ],
)
def test_a_zip_entry_never_leaves_the_folder_it_is_unzipped_in(
    duck: duckdb_engine.DuckDbEngine, tmp_path: Path, query_name: str, entry: str
) -> None:
    target = tmp_path / "result"
    with duck.snapshot("acme") as snapshot:
        writer.write_result(
            snapshot, _lowered(), target, file_format="ZIP", query_name=query_name,
            csv=base.CsvOptions(),
        )  # fmt: skip
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == [entry]
