"""The one write path for billing data: create, update, soft-delete, read one row, purge.

Every write is one ``write_transaction`` of the engine (:class:`writes_port.BillingEngine`:
DuckDB or PostgreSQL), so it is ordered with snapshot starts and stamped with that transaction's
instant: ``CreatedDate``/``UpdatedDate`` on create, ``UpdatedDate`` on update, and on delete
both ``_DeletedDate`` and ``UpdatedDate`` (so an incremental window on ``UpdatedDate`` finds the
deletion). ``CreatedById``/``UpdatedById`` are
the acting user's id (:func:`actor_id`). A deleted row keeps its values; :func:`purge_deleted`
removes it for good once it has been deleted for :data:`DELETED_RETENTION`.

Values arrive as Python values of the catalogue type (``str``, ``Decimal``, ``int``, ``bool``,
``date``, timezone-aware ``datetime``) keyed by field name in any letter case; turning JSON into
such values is the caller's job (``services/objects.py``). SQL is built with sqlglot for the
engine's dialect (``billing_sql.py``) and every value is a bound parameter. A write the engine
gave up to let a concurrent one finish (PostgreSQL's deadlock detection) is run again, up to
:data:`WRITE_ATTEMPTS` times.

Refusals are ``crud_errors.WriteError`` and its leaves (Zuora's CRUD codes: ``INVALID_TYPE``,
``INVALID_ID``, ``INVALID_FIELD``, ``INVALID_VALUE``, ``MISSING_REQUIRED_VALUE``), drawn in
``domain/errors.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import crud_errors, errors, ids, tenant_clocks
from aquarium.engines import billing_sql, ddl, naming, writes_port

#: How long a deleted row stays (for incremental exports) before the purge removes it.
DELETED_RETENTION = dt.timedelta(days=30)
#: Fields only the write path sets.
SYSTEM_FIELDS = frozenset({"Id", "CreatedById", "CreatedDate", "UpdatedById", "UpdatedDate"})
#: Times a write is tried when the engine gives it up for a concurrent one (a deadlock).
WRITE_ATTEMPTS = 3
VALUE_DOES_NOT_FIT = writes_port.VALUE_DOES_NOT_FIT

Row = dict[str, Any]
T = TypeVar("T")


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


def _row_of(obj: model.ObjectDef, values: Sequence[Any]) -> Row:
    row: Row = {}
    for field, value in zip(obj.fields, values, strict=True):
        naive = isinstance(value, dt.datetime) and value.tzinfo is None
        row[field.name] = value.replace(tzinfo=dt.UTC) if naive else value
    return row


def _dialect(engine: writes_port.BillingEngine) -> ddl.Dialect:
    return "postgres" if engine.dialect == "postgres" else "duckdb"


class BillingWrites:
    """Creates, updates, deletes and reads single billing rows of any catalogue object."""

    def __init__(
        self,
        engine: writes_port.BillingEngine,
        catalog: model.Catalog,
        clock: clock_port.Clock,
        new_id: Callable[[], str] = ids.new_id,
        *,
        catalog_of: Callable[[str], model.Catalog] | None = None,
    ) -> None:
        self.engine = engine
        self.dialect = _dialect(engine)
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
        :class:`crud_errors.UnknownObject` otherwise."""
        found = self.catalog_for(tenant).object(name)
        if found is None:
            raise crud_errors.UnknownObject(f"There is no object called '{name}'")
        return found

    def _fields(self, obj: model.ObjectDef, values: Mapping[str, Any]) -> Row:
        row: Row = {}
        for name, value in values.items():
            field = obj.field(name)
            if field is None:
                raise crud_errors.InvalidField(f"Invalid field '{name}' for object {obj.name}")
            if field.name in SYSTEM_FIELDS:
                raise crud_errors.InvalidField(f"Field '{field.name}' of {obj.name} is read-only")
            row[field.name] = value
        return row

    def _check_references(
        self, statements: writes_port.Statements, tenant: str, obj: model.ObjectDef, row: Row
    ) -> None:
        problems = []
        for key, target in references(self.catalog_for(tenant), obj).items():
            value = row.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not ids.is_id(value):
                problems.append(
                    crud_errors.WriteProblem("INVALID_VALUE", f"{key} '{value}' is not a valid id")
                )
            elif not statements.rows(billing_sql.live_id(tenant, target, self.dialect), [value]):
                problems.append(
                    crud_errors.WriteProblem("INVALID_VALUE", f"{key} '{value}' names no {target}")
                )
        if problems:
            raise crud_errors.InvalidValue(problems[0].message, problems=problems)

    def _write(self, tenant: str, body: Callable[[writes_port.Statements, dt.datetime], T]) -> T:
        """``body`` in one write transaction of the tenant, given its statements and stamp;
        run again (with a new stamp) when the engine gives the transaction up for a concurrent
        one, at most :data:`WRITE_ATTEMPTS` times."""
        attempt = 1
        while True:
            try:
                # The tenant's clock stamps its rows: stateful windows are cut by the same one.
                stamp = tenant_clocks.clock_for(self.clock, tenant).now
                with self.engine.write_transaction(tenant, stamp) as (statements, now):
                    return body(statements, now)
            except errors.WriteConflict:
                if attempt >= WRITE_ATTEMPTS:
                    raise
                attempt += 1

    # -- writes -----------------------------------------------------------------------------
    def create(
        self, tenant: str, object_name: str, values: Mapping[str, Any], *, actor: str
    ) -> str:
        """Insert a row; returns its new id. ``actor`` is the acting user's name."""
        obj = self.object(object_name, tenant)
        row = self._fields(obj, values)
        row_id = self.new_id()
        user = actor_id(actor)

        def insert(statements: writes_port.Statements, now: dt.datetime) -> None:
            self._check_references(statements, tenant, obj, row)
            stamped = {
                **row,
                "Id": row_id,
                "CreatedById": user,
                "CreatedDate": now,
                "UpdatedById": user,
                "UpdatedDate": now,
            }
            statement = billing_sql.insert(tenant, obj, tuple(stamped), self.dialect)
            statements.changed(statement, list(stamped.values()))

        try:
            self._write(tenant, insert)
        except errors.TenantDataMissing as exc:
            raise crud_errors.InvalidValue(f"tenant {tenant!r} has no billing data") from exc
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
        """Change fields of a live row; :class:`crud_errors.RowNotFound` when there is none with
        ``row_id``."""
        obj = self.object(object_name, tenant)
        row = self._fields(obj, values)
        self._change(tenant, obj, row_id, row, actor, deleting=False)

    def delete(self, tenant: str, object_name: str, row_id: str, *, actor: str) -> None:
        """Soft-delete a live row; :class:`crud_errors.RowNotFound` when there is none with
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
        missing = crud_errors.RowNotFound(f"There is no {obj.name} with id '{row_id}'")
        if not ids.is_id(row_id):
            raise missing

        def change(statements: writes_port.Statements, now: dt.datetime) -> None:
            self._check_references(statements, tenant, obj, row)
            changes = {**row, "UpdatedById": actor_id(actor), "UpdatedDate": now}
            if deleting:
                changes[naming.DELETED_COLUMN] = now
            statement = billing_sql.update(tenant, obj, tuple(changes), self.dialect)
            if statements.changed(statement, [*changes.values(), row_id]) == 0:
                raise missing

        try:
            self._write(tenant, change)
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
                raise crud_errors.InvalidField(f"Invalid field '{name}' for object {obj.name}")
            equal.append(field.name)
        statement = billing_sql.select(tenant, obj, tuple(equal), limit, self.dialect)
        try:
            with self.engine.read_transaction(tenant) as statements:
                found = statements.rows(statement, list((equals or {}).values()))
        except errors.TenantDataMissing:
            return []
        return [_row_of(obj, values) for values in found]


def purge_deleted(
    engine: writes_port.BillingEngine,
    catalog: model.Catalog,
    tenants: Iterable[str],
    now: Callable[[], dt.datetime],
) -> int:
    """Remove rows deleted more than :data:`DELETED_RETENTION` ago; returns how many.

    Tenants without billing data here are skipped.
    """
    removed = 0
    dialect = _dialect(engine)
    for tenant in tenants:
        if not engine.has_tenant(tenant):
            continue
        with engine.write_transaction(tenant, now) as (statements, instant):
            cutoff = instant - DELETED_RETENTION
            for obj in catalog:
                removed += statements.changed(billing_sql.purge(tenant, obj, dialect), [cutoff])
    return removed
