"""The one write path for billing data: create, update, soft-delete, read one row, purge.

Every write is one :meth:`DuckDbEngine.write_transaction`, so it holds the write gate and is
stamped with that transaction's instant: ``CreatedDate``/``UpdatedDate`` on create,
``UpdatedDate`` on update, and on delete both ``_DeletedDate`` and ``UpdatedDate`` (so an
incremental window on ``UpdatedDate`` finds the deletion). ``CreatedById``/``UpdatedById`` are
the acting user's id (:func:`actor_id`). A deleted row keeps its values; :func:`purge_deleted`
removes it for good once it has been deleted for :data:`DELETED_RETENTION`.

Values arrive as Python values of the catalogue type (``str``, ``Decimal``, ``int``, ``bool``,
``date``, timezone-aware ``datetime``) keyed by field name in any letter case; turning JSON into
such values is the caller's job (``services/objects.py``). SQL is built with sqlglot and every
value is a DuckDB bound parameter.

Refusals are ``errors.WriteError`` and its leaves (Zuora's CRUD codes: ``INVALID_TYPE``,
``INVALID_ID``, ``INVALID_FIELD``, ``INVALID_VALUE``, ``MISSING_REQUIRED_VALUE``), drawn in
``domain/errors.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
from sqlglot import exp

from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import errors, ids
from aquarium.engines import base as base_engine
from aquarium.engines import ddl, duckdb_engine, naming
from aquarium.zoql import formatting

#: How long a deleted row stays (for incremental exports) before the purge removes it.
DELETED_RETENTION = dt.timedelta(days=30)
#: Fields only the write path sets.
SYSTEM_FIELDS = frozenset({"Id", "CreatedById", "CreatedDate", "UpdatedById", "UpdatedDate"})
_DIALECT = formatting.DUCKDB
VALUE_DOES_NOT_FIT = "A value does not fit the column of its field"

Row = dict[str, Any]


def actor_id(user: str) -> str:
    """The stable 32-hex id recorded in ``CreatedById``/``UpdatedById`` for ``user``."""
    # Not a security use: a fixed mapping from a name to an id-shaped value.
    return hashlib.md5(user.encode("utf-8"), usedforsecurity=False).hexdigest()


def references(catalog: model.Catalog, obj: model.ObjectDef) -> dict[str, str]:
    """The object's own fields that hold another object's ``Id``: field -> target object.

    Taken from the catalogue's direct relations (``via`` the object itself), e.g.
    ``Account.BillToId -> Contact``; multi-hop relations name fields of other objects.
    """
    return {rel.key: catalog.require(rel.object).name for rel in obj.related if rel.via == obj.name}


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
        # DuckDB hands TIMESTAMPTZ to Python only through pytz; a UTC TIMESTAMP needs nothing.
        utc = exp.AtTimeZone(this=_col(field.name), zone=exp.Literal.string("UTC"))
        return exp.alias_(utc, field.name, quoted=True)
    return _col(field.name)


def _row_of(obj: model.ObjectDef, values: Sequence[Any]) -> Row:
    row: Row = {}
    for field, value in zip(obj.fields, values, strict=True):
        naive = isinstance(value, dt.datetime) and value.tzinfo is None
        row[field.name] = value.replace(tzinfo=dt.UTC) if naive else value
    return row


# The statement builders are cached: sqlglot takes longer to build a statement than DuckDB
# takes to run it on a small table, and a simulation runs the same few shapes again and again.
@functools.lru_cache(maxsize=1024)
def _select(
    tenant: str, obj: model.ObjectDef, equal: tuple[str, ...], limit: int | None = None
) -> str:
    """Live rows whose ``equal`` fields equal bound parameters, in that order."""
    query = exp.select(*[_select_expression(f) for f in obj.fields]).from_(
        ddl.table(tenant, obj.name)
    )
    where = [exp.EQ(this=_col(name), expression=exp.Placeholder()) for name in equal]
    for condition in [_is_live(), *where]:
        query = query.where(condition)
    query = query.order_by(_col("Id"))
    if limit is not None:
        query = query.limit(limit)
    return query.sql(dialect=_DIALECT)


@functools.lru_cache(maxsize=1024)
def _insert(tenant: str, obj: model.ObjectDef, names: tuple[str, ...]) -> str:
    statement = exp.Insert(
        this=exp.Schema(this=ddl.table(tenant, obj.name), expressions=[_ident(n) for n in names]),
        expression=exp.Values(
            expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in names])]
        ),
    )
    return statement.sql(dialect=_DIALECT)


@functools.lru_cache(maxsize=1024)
def _update(tenant: str, obj: model.ObjectDef, names: tuple[str, ...]) -> str:
    statement = exp.Update(
        this=ddl.table(tenant, obj.name),
        expressions=[exp.EQ(this=_col(n), expression=exp.Placeholder()) for n in names],
        where=exp.Where(this=exp.and_(_id_is(), _is_live())),
    )
    return statement.sql(dialect=_DIALECT)


def _purge(tenant: str, obj: model.ObjectDef) -> str:
    deleted_before = exp.LT(this=_col(naming.DELETED_COLUMN), expression=exp.Placeholder())
    statement = exp.Delete(this=ddl.table(tenant, obj.name), where=exp.Where(this=deleted_before))
    return statement.sql(dialect=_DIALECT)


def _count(result: duckdb.DuckDBPyConnection) -> int:
    found = result.fetchone()
    return int(found[0]) if found else 0


@functools.lru_cache(maxsize=1024)
def _exists(tenant: str, target: str) -> str:
    query = (
        exp.select(exp.Literal.number(1))
        .from_(ddl.table(tenant, target))
        .where(_id_is())
        .where(_is_live())
        .limit(1)
    )
    return query.sql(dialect=_DIALECT)


def _is_live_id(cursor: duckdb.DuckDBPyConnection, tenant: str, target: str, value: str) -> bool:
    return cursor.execute(_exists(tenant, target), [value]).fetchone() is not None


class BillingWrites:
    """Creates, updates, deletes and reads single billing rows of any catalogue object."""

    def __init__(
        self,
        engine: duckdb_engine.DuckDbEngine,
        catalog: model.Catalog,
        clock: clock_port.Clock,
        new_id: Callable[[], str] = ids.new_id,
        *,
        catalog_of: Callable[[str], model.Catalog] | None = None,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.clock = clock
        self.new_id = new_id
        self._catalog_of = catalog_of

    # -- checks -----------------------------------------------------------------------------
    def catalog_for(self, tenant: str | None) -> model.Catalog:
        """The catalogue of ``tenant`` (its features and custom fields) when the writer was
        given ``catalog_of``; else, and for ``None``, the one it was built with."""
        if tenant is None or self._catalog_of is None:
            return self.catalog
        return self._catalog_of(tenant)

    def object(self, name: str, tenant: str | None = None) -> model.ObjectDef:
        """The object called ``name`` (any case) of ``tenant``'s catalogue;
        :class:`errors.UnknownObject` otherwise."""
        found = self.catalog_for(tenant).object(name)
        if found is None:
            raise errors.UnknownObject(f"There is no object called '{name}'")
        return found

    def _fields(self, obj: model.ObjectDef, values: Mapping[str, Any]) -> Row:
        row: Row = {}
        for name, value in values.items():
            field = obj.field(name)
            if field is None:
                raise errors.InvalidField(f"Invalid field '{name}' for object {obj.name}")
            if field.name in SYSTEM_FIELDS:
                raise errors.InvalidField(f"Field '{field.name}' of {obj.name} is read-only")
            row[field.name] = value
        return row

    def _check_references(
        self, cursor: duckdb.DuckDBPyConnection, tenant: str, obj: model.ObjectDef, row: Row
    ) -> None:
        problems = []
        for key, target in references(self.catalog_for(tenant), obj).items():
            value = row.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not ids.is_id(value):
                problems.append(
                    errors.WriteProblem("INVALID_VALUE", f"{key} '{value}' is not a valid id")
                )
            elif not _is_live_id(cursor, tenant, target, value):
                problems.append(
                    errors.WriteProblem("INVALID_VALUE", f"{key} '{value}' names no {target}")
                )
        if problems:
            raise errors.InvalidValue(problems[0].message, problems=problems)

    @contextmanager
    def _transaction(self, tenant: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, dt.datetime]]:
        try:
            with self.engine.write_transaction(tenant, self.clock.now) as (cursor, now):
                yield cursor, now
        except duckdb.OutOfMemoryException as exc:
            # The engine's budget, not the caller's value: a failure of ours (logged).
            raise errors.EngineOutOfMemory(engine_text=base_engine.first_line(exc)) from exc
        except duckdb.Error as exc:
            # A value the catalogue type accepts but the column can't hold (e.g. too many
            # digits for DECIMAL(18, 4)): the caller's input, never a server fault. The engine's
            # words stay on __cause__ for the log; a client never reads them.
            raise errors.InvalidValue(VALUE_DOES_NOT_FIT) from exc

    # -- writes -----------------------------------------------------------------------------
    def create(
        self, tenant: str, object_name: str, values: Mapping[str, Any], *, actor: str
    ) -> str:
        """Insert a row; returns its new id. ``actor`` is the acting user's name."""
        obj = self.object(object_name, tenant)
        row = self._fields(obj, values)
        row_id = self.new_id()
        user = actor_id(actor)
        try:
            with self._transaction(tenant) as (cursor, now):
                self._check_references(cursor, tenant, obj, row)
                stamped = {
                    **row,
                    "Id": row_id,
                    "CreatedById": user,
                    "CreatedDate": now,
                    "UpdatedById": user,
                    "UpdatedDate": now,
                }
                cursor.execute(_insert(tenant, obj, tuple(stamped)), list(stamped.values()))
        except errors.TenantDataMissing as exc:
            raise errors.InvalidValue(f"tenant {tenant!r} has no billing data") from exc
        return row_id

    def update(
        self,
        tenant: str,
        object_name: str,
        row_id: str,
        values: Mapping[str, Any],
        *,
        actor: str,
    ) -> None:
        """Change fields of a live row; :class:`errors.RowNotFound` when there is none with
        ``row_id``."""
        obj = self.object(object_name, tenant)
        row = self._fields(obj, values)
        self._change(tenant, obj, row_id, row, actor, deleting=False)

    def delete(self, tenant: str, object_name: str, row_id: str, *, actor: str) -> None:
        """Soft-delete a live row; :class:`errors.RowNotFound` when there is none with
        ``row_id``."""
        self._change(tenant, self.object(object_name, tenant), row_id, {}, actor, deleting=True)

    def _change(
        self,
        tenant: str,
        obj: model.ObjectDef,
        row_id: str,
        row: Row,
        actor: str,
        *,
        deleting: bool,
    ) -> None:
        missing = errors.RowNotFound(f"There is no {obj.name} with id '{row_id}'")
        if not ids.is_id(row_id):
            raise missing
        try:
            with self._transaction(tenant) as (cursor, now):
                self._check_references(cursor, tenant, obj, row)
                changes = {**row, "UpdatedById": actor_id(actor), "UpdatedDate": now}
                if deleting:
                    changes[naming.DELETED_COLUMN] = now
                statement = _update(tenant, obj, tuple(changes))
                if _count(cursor.execute(statement, [*changes.values(), row_id])) == 0:
                    raise missing
        except errors.TenantDataMissing:
            raise missing from None

    # -- reads ------------------------------------------------------------------------------
    def get(self, tenant: str, object_name: str, row_id: str) -> Row | None:
        """The live row with ``row_id`` (every field, datetimes in UTC), or ``None``."""
        obj = self.object(object_name, tenant)
        if not ids.is_id(row_id):
            return None
        found = self.find(tenant, obj.name, {"Id": row_id}, limit=1)
        return found[0] if found else None

    def find(
        self,
        tenant: str,
        object_name: str,
        equals: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
    ) -> list[Row]:
        """Live rows whose fields equal ``equals`` (all of them), ordered by ``Id``.

        An unknown tenant gives no rows.
        """
        obj = self.object(object_name, tenant)
        equal = []
        for name in equals or {}:
            field = obj.field(name)
            if field is None:
                raise errors.InvalidField(f"Invalid field '{name}' for object {obj.name}")
            equal.append(field.name)
        statement = _select(tenant, obj, tuple(equal), limit)
        try:
            with self.engine.snapshot(tenant, self.clock.now) as snapshot:
                assert isinstance(snapshot, duckdb_engine.DuckDbSnapshot)
                result = snapshot.cursor.execute(statement, list((equals or {}).values()))
                return [_row_of(obj, values) for values in result.fetchall()]
        except errors.TenantDataMissing:
            return []


def purge_deleted(
    engine: duckdb_engine.DuckDbEngine,
    catalog: model.Catalog,
    tenants: Iterable[str],
    now: Callable[[], dt.datetime],
) -> int:
    """Remove rows deleted more than :data:`DELETED_RETENTION` ago; returns how many.

    Tenants without billing data here are skipped.
    """
    removed = 0
    for tenant in tenants:
        if not engine.has_tenant(tenant):
            continue
        with engine.write_transaction(tenant, now) as (cursor, instant):
            for obj in catalog:
                cutoff = instant - DELETED_RETENTION
                removed += _count(cursor.execute(_purge(tenant, obj), [cutoff]))
    return removed
