"""The statements of the billing write path (``billing_writes.py``), built with sqlglot for one
engine's dialect (``"duckdb"``: ``?`` placeholders; ``"postgres"``: ``%s``, psycopg's).

Every value is a placeholder, bound in the order the builder's arguments name the fields. The
builders are cached: sqlglot takes longer to build a statement than the engine takes to run it
on a small table, and a simulation runs the same few shapes again and again.
"""

from __future__ import annotations

import functools

from sqlglot import exp

from aquarium.catalog import model
from aquarium.engines import ddl, naming


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str) -> exp.Column:
    return exp.Column(this=_ident(name))


def _is_live() -> exp.Expr:
    return exp.Is(this=_col(naming.DELETED_COLUMN), expression=exp.Null())


def _id_is() -> exp.Expr:
    return exp.EQ(this=_col("Id"), expression=exp.Placeholder())


def _select_expression(field: model.Field) -> exp.Expr:
    if field.type is model.FieldType.DATETIME:
        # DuckDB hands TIMESTAMPTZ to Python only through pytz; a UTC TIMESTAMP needs nothing
        # (and reads the same on PostgreSQL, whatever the session's time zone).
        utc = exp.AtTimeZone(this=_col(field.name), zone=exp.Literal.string("UTC"))
        return exp.alias_(utc, field.name, quoted=True)
    return _col(field.name)


@functools.lru_cache(maxsize=1024)
def select(
    tenant: str,
    obj: model.ObjectDef,
    equal: tuple[str, ...],
    limit: int | None,
    dialect: ddl.Dialect,
) -> str:
    """Live rows (every field, datetimes as UTC without a zone) whose ``equal`` fields equal
    bound parameters, in that order; ordered by ``Id``."""
    query = exp.select(*[_select_expression(f) for f in obj.fields]).from_(
        ddl.table(tenant, obj.name)
    )
    where = [exp.EQ(this=_col(name), expression=exp.Placeholder()) for name in equal]
    for condition in [_is_live(), *where]:
        query = query.where(condition)
    query = query.order_by(_col("Id"))
    if limit is not None:
        query = query.limit(limit)
    return query.sql(dialect=dialect)


@functools.lru_cache(maxsize=1024)
def insert(tenant: str, obj: model.ObjectDef, names: tuple[str, ...], dialect: ddl.Dialect) -> str:
    """One row of ``names``' values."""
    statement = exp.Insert(
        this=exp.Schema(this=ddl.table(tenant, obj.name), expressions=[_ident(n) for n in names]),
        expression=exp.Values(
            expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in names])]
        ),
    )
    return statement.sql(dialect=dialect)


@functools.lru_cache(maxsize=1024)
def update(tenant: str, obj: model.ObjectDef, names: tuple[str, ...], dialect: ddl.Dialect) -> str:
    """Set ``names`` of the live row whose ``Id`` is the last parameter."""
    statement = exp.Update(
        this=ddl.table(tenant, obj.name),
        expressions=[exp.EQ(this=_col(n), expression=exp.Placeholder()) for n in names],
        where=exp.Where(this=exp.and_(_id_is(), _is_live())),
    )
    return statement.sql(dialect=dialect)


@functools.lru_cache(maxsize=1024)
def purge(tenant: str, obj: model.ObjectDef, dialect: ddl.Dialect) -> str:
    """Remove the rows deleted before the parameter."""
    deleted_before = exp.LT(this=_col(naming.DELETED_COLUMN), expression=exp.Placeholder())
    statement = exp.Delete(this=ddl.table(tenant, obj.name), where=exp.Where(this=deleted_before))
    return statement.sql(dialect=dialect)


@functools.lru_cache(maxsize=1024)
def live_id(tenant: str, target: str, dialect: ddl.Dialect) -> str:
    """One row when a live ``target`` row has the parameter as ``Id``."""
    query = (
        exp.select(exp.Literal.number(1))
        .from_(ddl.table(tenant, target))
        .where(_id_is())
        .where(_is_live())
        .limit(1)
    )
    return query.sql(dialect=dialect)
