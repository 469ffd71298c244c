"""``aquarium load``: replace the rows of a tenant's objects with CSV or Parquet files.

The rule, all or nothing per command:

1. **Checks, before anything is written.** Every file of the directory is named after an object
   (``services/load_files.py``), every column names a field (or, with ``add_fields``, a new
   custom field that Zuora's rules accept), every value parses as its field's type the way
   AQuA writes it (``engines/staging.py``), and every row has an Id of its own. The first
   problem is a :class:`errors.LoadError` naming the file (and row, column, value); nothing
   has changed then.
2. **One billing transaction** (``engines/loading.py``, :func:`replace_duckdb` or
   :func:`replace_postgres`): the tenant's schema created when it has none, new custom-field
   columns added, and for each object with a file its rows (deleted ones too) replaced by the
   file's. Objects without a file keep their rows. A failure rolls all of it back.
3. **Then the metadata**: the tenant recorded (a new one gets the default time zone, as with
   ``aquarium datagen``) and the new custom fields declared (``services/custom_fields.py``).
   Should this fail after the commit, the new columns exist undeclared: ``aquarium tenant
   add-field`` declares them (the column is there already, so nothing is lost).

Values are read in bulk (DuckDB ``read_csv`` / ``read_parquet``) and written in bulk (DuckDB
scanning Arrow, PostgreSQL ``COPY``); no Python code touches individual rows.
"""

from __future__ import annotations

import csv
import gzip
import io
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from aquarium.catalog import model, views
from aquarium.domain import clock, errors, tenancy, tenancy_errors
from aquarium.engines import naming, staging
from aquarium.services import custom_fields, load_files
from aquarium.store import tenants_repo

#: Writes the typed tables of the named objects into a tenant, in one transaction; rows per
#: object (``loading.replace_duckdb`` / ``replace_postgres`` bound to a connection).
Replace = Callable[[str, model.Catalog, Iterable[tuple[str, pa.Table]]], dict[str, int]]


def document(report: LoadReport) -> dict[str, Any]:
    """A :class:`LoadReport` as JSON (a running server's answer to ``aquarium load``)."""
    return {
        "rows": report.rows,
        "seconds": report.seconds,
        "addedFields": [custom_fields.document(f) for f in report.added_fields],
    }


def from_document(found: dict[str, Any]) -> LoadReport:
    """The :class:`LoadReport` of :func:`document`."""
    added = tuple(
        tenancy.CustomField(
            f["object"], f["name"], tenancy.CustomFieldType(f["type"]), f["label"],
            tuple(f.get("values", ())),
        )
        for f in found["addedFields"]
    )  # fmt: skip
    return LoadReport(dict(found["rows"]), float(found["seconds"]), added)


@dataclass(frozen=True)
class LoadReport:
    """What one load did."""

    rows: dict[str, int] = field(default_factory=dict)  #: rows loaded per object
    seconds: float = 0.0  #: wall time, checks and writing together
    added_fields: tuple[tenancy.CustomField, ...] = ()  #: custom fields ``add_fields`` made

    @property
    def total_rows(self) -> int:
        """Rows over all objects."""
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        """Throughput over the whole load."""
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Staged:
    """One file, staged: its table in the scratch database and its columns."""

    item: load_files.ObjectFile
    table: str
    columns: list[load_files.Column]
    source_types: list[str]
    rows: int = 0


def load_directory(
    directory: Path,
    tenant: str,
    *,
    metadata: sa.Engine,
    replace: Replace,
    add_fields: bool = False,
    scratch: Path | None = None,
    fields: custom_fields.CustomFields | None = None,
) -> LoadReport:
    """Load the files of ``directory`` into ``tenant`` (see the module docstring); what was
    loaded. ``scratch`` is where the staging database may spill (default: in memory only);
    ``fields`` declares new custom fields (default: a service of its own on ``metadata``; a
    running server passes its own, which tells its tenants cache at once)."""
    started = time.perf_counter()
    try:
        naming.check_tenant_name(tenant)
    except errors.DataGenerationError as exc:
        raise errors.LoadError(exc.reason) from None
    shipped = model.default()
    with metadata.connect() as conn:
        found = tenants_repo.get_tenant(conn, tenant)
    existing = found.custom_fields if found is not None else ()
    files = load_files.object_files(directory, views.storage_view(shipped, existing))
    scratch_db = staging.Staging(scratch)
    try:
        staged = [_stage(scratch_db, n, item, add_fields) for n, item in enumerate(files)]
        new_fields = _new_fields(scratch_db, shipped, existing, staged)
        catalog = views.storage_view(shipped, (*existing, *new_fields))
        typed = [_typed_columns(scratch_db, catalog, one) for one in staged]
        rows = replace(tenant, catalog, _tables(scratch_db, staged, typed))
    finally:
        scratch_db.close()
    _record(
        metadata,
        tenant,
        new_fields,
        fields
        or custom_fields.CustomFields(
            metadata=metadata, shipped=shipped, clock=clock.SystemClock()
        ),
    )
    return LoadReport(rows, time.perf_counter() - started, new_fields)


def read_header(item: load_files.ObjectFile) -> list[str]:
    """The header row of a CSV file (the first record, RFC 4180); a LoadError for an empty
    file or one that is not UTF-8 text."""
    opener = gzip.open if item.path.name.endswith(".gz") else open
    try:
        with opener(item.path, "rt", encoding="utf-8-sig", newline="") as text:
            assert isinstance(text, io.TextIOBase)
            header = next(csv.reader(text), None)
    except UnicodeDecodeError:
        raise errors.LoadError(f"{item.path.name}: is not UTF-8 text") from None
    except (gzip.BadGzipFile, EOFError, csv.Error) as exc:
        raise errors.LoadError(f"{item.path.name}: cannot read its header row: {exc}") from None
    if not header:
        raise errors.LoadError(f"{item.path.name}: is empty (a header row is required)")
    return header


def _stage(
    scratch_db: staging.Staging, number: int, item: load_files.ObjectFile, add_fields: bool
) -> _Staged:
    table = f"file{number}"
    if item.format is load_files.FileFormat.CSV:
        headers = read_header(item)
        types = [staging.TEXT] * len(headers)
        columns = load_files.columns(item, headers, add_fields=add_fields)
        rows = scratch_db.read_csv(table, item.path, len(headers))
    else:
        described = scratch_db.parquet_columns(item.path)
        headers = [name for name, _ in described]
        types = [kind for _, kind in described]
        columns = load_files.columns(item, headers, add_fields=add_fields)
        rows = scratch_db.read_parquet(table, item.path, headers)
    return _Staged(item, table, columns, types, rows)


def _new_fields(
    scratch_db: staging.Staging,
    shipped: model.Catalog,
    existing: Sequence[tenancy.CustomField],
    staged: Sequence[_Staged],
) -> tuple[tenancy.CustomField, ...]:
    """The custom fields the unknown columns become, checked against Zuora's rules (and each
    other) but not stored; types guessed from the values (``Staging.guess_type``)."""
    planned: list[tenancy.CustomField] = []
    for one in staged:
        for column in one.columns:
            if column.new_field_name is None:
                continue
            kind = scratch_db.guess_type(one.table, column.index, one.source_types[column.index])
            try:
                planned.append(
                    views.check_new_field(
                        shipped,
                        (*existing, *planned),
                        object_name=one.item.object.name,
                        name=column.new_field_name,
                        field_type=kind,
                    )
                )
            except tenancy_errors.CustomFieldError as exc:
                raise errors.LoadError(
                    f"{one.item.path.name}: column {column.header!r} cannot become a custom "
                    f"field: {exc.describe()}"
                ) from None
    return tuple(planned)


def _typed_columns(
    scratch_db: staging.Staging, catalog: model.Catalog, one: _Staged
) -> list[staging.StagedColumn]:
    """The staged columns with their fields (new custom fields resolved), their values checked."""
    obj = catalog.require(one.item.object.name)
    typed: list[staging.StagedColumn] = []
    for column in one.columns:
        found = column.field or obj.field(column.new_field_name or "")
        assert found is not None  # a new field is in the catalogue now
        typed.append(staging.StagedColumn(column.index, found, one.source_types[column.index]))
    name = one.item.path.name
    bad = scratch_db.first_bad_value(one.table, typed)
    if bad is not None:
        wrong = next(c for c in typed if c.index == bad.index)
        rule = staging.TEXT_RULES.get(wrong.field.type)
        expected = rule.shown if rule and wrong.source_type == staging.TEXT else wrong.field.type
        if staging.checked_picklist(wrong.field):
            expected = f"one of the picklist's values ({', '.join(wrong.field.options)})"
        raise errors.LoadError(
            f"{name}, row {bad.row}, column {one.columns[bad.index].header!r}: "
            f"{bad.value!r} is not {expected}"
        )
    id_column = next(c for c in typed if c.field.name == "Id")
    problem = scratch_db.id_problem(one.table, id_column.index)
    if problem is not None:
        raise errors.LoadError(f"{name}: {problem}")
    return typed


def _tables(
    scratch_db: staging.Staging,
    staged: Sequence[_Staged],
    typed: Sequence[Sequence[staging.StagedColumn]],
) -> Iterator[tuple[str, pa.Table]]:
    """Each object's typed rows, one object at a time (each staged table dropped once taken)."""
    for one, columns in zip(staged, typed, strict=True):
        table = scratch_db.typed(one.table, columns)
        scratch_db.drop(one.table)
        yield one.item.object.name, table


def _record(
    metadata: sa.Engine,
    tenant: str,
    new_fields: Sequence[tenancy.CustomField],
    service: custom_fields.CustomFields,
) -> None:
    with metadata.begin() as conn:
        tenants_repo.record_tenant(conn, tenant)
    for new in new_fields:
        service.add(
            tenant, new.object, new.name, new.type.value, label=new.label, values=new.values
        )
