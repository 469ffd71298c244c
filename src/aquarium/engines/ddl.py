"""DDL of the billing tables, built from the catalogue as sqlglot expressions.

One schema per tenant (:func:`aquarium.engines.naming.schema_name`), one table per catalogue
object named exactly like the object, one column per field named exactly like the field (all
identifiers quoted, so case survives), primary key on ``"Id"``. Datetimes are ``TIMESTAMPTZ``
holding UTC instants.

Deletion is soft: every table has one column more than the catalogue, ``naming.DELETED_COLUMN``
(``"_DeletedDate"``), null for live rows. A deleted row keeps its last values, which is what an
incremental export with a ``deleted`` section returns for it; the retention sweep removes such
rows for good after 30 days. Queries of live data filter on it (the ZOQL lowering adds that).
"""

from __future__ import annotations

from typing import Literal

from sqlglot import exp

from aquarium.catalog import model
from aquarium.engines import naming

Dialect = Literal["duckdb", "postgres"]
_DECIMAL = f"({model.DECIMAL_PRECISION}, {model.DECIMAL_SCALE})"
_TYPES: dict[Dialect, dict[model.FieldType, str]] = {
    "duckdb": {
        model.FieldType.TEXT: "VARCHAR",
        model.FieldType.PICKLIST: "VARCHAR",
        model.FieldType.DECIMAL: f"DECIMAL{_DECIMAL}",
        model.FieldType.INTEGER: "BIGINT",
        model.FieldType.BOOLEAN: "BOOLEAN",
        model.FieldType.DATE: "DATE",
        model.FieldType.DATETIME: "TIMESTAMPTZ",
    },
    "postgres": {
        model.FieldType.TEXT: "TEXT",
        model.FieldType.PICKLIST: "TEXT",
        model.FieldType.DECIMAL: f"NUMERIC{_DECIMAL}",
        model.FieldType.INTEGER: "BIGINT",
        model.FieldType.BOOLEAN: "BOOLEAN",
        model.FieldType.DATE: "DATE",
        model.FieldType.DATETIME: "TIMESTAMPTZ",
    },
}


def table(tenant: str, name: str) -> exp.Table:
    """The quoted, schema-qualified table ``"tenant_<tenant>"."<name>"``."""
    return exp.Table(
        this=exp.to_identifier(name, quoted=True),
        db=exp.to_identifier(naming.schema_name(tenant), quoted=True),
    )


def column_type(field_type: model.FieldType, dialect: Dialect) -> exp.DataType:
    """The SQL type of a catalogue field type in ``dialect``."""
    return exp.DataType.build(_TYPES[dialect][field_type], dialect=dialect)


def _column(name: str, kind: exp.DataType, *, primary_key: bool = False) -> exp.ColumnDef:
    constraints = (
        [exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint())] if primary_key else []
    )
    return exp.ColumnDef(
        this=exp.to_identifier(name, quoted=True), kind=kind, constraints=constraints
    )


def create_table(
    tenant: str, obj: model.ObjectDef, dialect: Dialect, *, primary_key: bool = True
) -> exp.Create:
    """``CREATE TABLE`` for one object, columns in catalogue order, ``"Id"`` the primary key.

    ``primary_key=False`` leaves the key out, for loaders that add it after a bulk load.
    """
    columns = [
        _column(f.name, column_type(f.type, dialect), primary_key=primary_key and f.name == "Id")
        for f in obj.fields
    ]
    columns.append(_column(naming.DELETED_COLUMN, column_type(model.FieldType.DATETIME, dialect)))
    return exp.Create(
        this=exp.Schema(this=table(tenant, obj.name), expressions=columns), kind="TABLE"
    )


def drop_schema(tenant: str) -> exp.Drop:
    """``DROP SCHEMA IF EXISTS "tenant_<tenant>" CASCADE``."""
    # sqlglot models a schema name as the ``db`` part of a table reference.
    return exp.Drop(
        tables=[exp.Table(db=exp.to_identifier(naming.schema_name(tenant), quoted=True))],
        kind="SCHEMA",
        exists=True,
        cascade=True,
    )


def create_schema(tenant: str) -> exp.Create:
    """``CREATE SCHEMA "tenant_<tenant>"``."""
    return exp.Create(
        this=exp.Table(db=exp.to_identifier(naming.schema_name(tenant), quoted=True)),
        kind="SCHEMA",
    )


def schema_statements(
    tenant: str, catalog: model.Catalog, dialect: Dialect, *, primary_keys: bool = True
) -> list[str]:
    """SQL texts that (re)create the tenant's schema with every billing table, empty."""
    statements: list[exp.Expression] = [drop_schema(tenant), create_schema(tenant)]
    statements += [create_table(tenant, obj, dialect, primary_key=primary_keys) for obj in catalog]
    return [statement.sql(dialect=dialect) for statement in statements]


def add_column(tenant: str, object_name: str, field: model.Field, dialect: Dialect) -> str:
    """``ALTER TABLE ... ADD COLUMN IF NOT EXISTS`` for one field: existing rows get null, and
    neither engine rewrites the table to add a nullable column without a default."""
    column = _column(field.name, column_type(field.type, dialect))
    column.set("exists", True)
    statement = exp.Alter(this=table(tenant, object_name), kind="TABLE", actions=[column])
    return statement.sql(dialect=dialect)


def drop_column(tenant: str, object_name: str, name: str, dialect: Dialect) -> str:
    """``ALTER TABLE ... DROP COLUMN IF EXISTS`` (the column's data is gone, as in Zuora)."""
    drop = exp.Drop(tables=[exp.column(name, quoted=True)], kind="COLUMN", exists=True)
    statement = exp.Alter(this=table(tenant, object_name), kind="TABLE", actions=[drop])
    return statement.sql(dialect=dialect)


def create_missing_table(
    tenant: str, obj: model.ObjectDef, dialect: Dialect, *, primary_key: bool
) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for one object (empty), as :func:`create_table`."""
    statement = create_table(tenant, obj, dialect, primary_key=primary_key)
    statement.set("exists", True)
    return statement.sql(dialect=dialect)
