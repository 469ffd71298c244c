"""The BillingEngine port: what the server, its services and the write path need of an engine
beyond reading snapshots, satisfied by :class:`DuckDbEngine` and :class:`PostgresEngine`.

::

    with engine.write_transaction(tenant, clock.now) as (statements, now):
        statements.changed(update_sql, [..., now, row_id])   # stamped with ``now``
    with engine.read_transaction(tenant) as statements:
        rows = statements.rows(select_sql, [row_id])

Statements are SQL text for the engine's :attr:`~BillingEngine.dialect` (sqlglot's), values
bound as parameters in that dialect's placeholder style, never spliced into the text.

A write transaction is ordered with snapshot starts: every row it stamps with ``now`` is visible
to a snapshot whose ``taken_at`` is later, and to none whose ``taken_at`` is not (the
engines' ``write_transaction`` docstrings say how). Inside one, the engine's failures arrive as
the error tree's: :class:`crud_errors.InvalidValue` for a value its column cannot hold,
:class:`errors.EngineOutOfMemory`, and :class:`errors.WriteConflict` when the engine gave up the
transaction to let a concurrent one finish (run it again, with a new stamp).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from aquarium.catalog import model
from aquarium.engines import base

if TYPE_CHECKING:
    import pyarrow as pa

Now = Callable[[], dt.datetime]
Parameters = Sequence[object]
#: What a client reads when a value the catalogue type accepts does not fit its column (e.g. too
#: many digits for ``DECIMAL(18, 4)``): the caller's input, never a server fault.
VALUE_DOES_NOT_FIT = "A value does not fit the column of its field"


class Statements(Protocol):
    """Parametrised statements inside one transaction on a tenant's billing data."""

    def rows(self, statement: str, parameters: Parameters = ()) -> list[tuple[Any, ...]]:
        """The rows of a query."""
        ...

    def changed(self, statement: str, parameters: Parameters = ()) -> int:
        """Run an INSERT, UPDATE or DELETE; how many rows it changed."""
        ...


class BillingEngine(base.QueryEngine, Protocol):
    """A :class:`base.QueryEngine` that also keeps, changes and lists tenants' billing data."""

    def has_tenant(self, tenant: str) -> bool:
        """Whether the tenant has billing data here (its schema exists)."""
        ...

    def tenants(self) -> list[str]:
        """The tenants with billing data here, sorted."""
        ...

    def upgrade(self) -> list[str]:
        """Bring billing tables of older releases up to date; the tables it changed."""
        ...

    def reconcile(self, tenant: str, catalog: model.Catalog) -> list[str]:
        """Give the tenant's schema every table and column of ``catalog``; the statements run."""
        ...

    def drop_column(self, tenant: str, object_name: str, name: str) -> None:
        """Drop one column of the tenant's table (a removed custom field)."""
        ...

    def write_transaction(
        self, tenant: str, now: Now = ...
    ) -> AbstractContextManager[tuple[Statements, dt.datetime]]:
        """One write transaction on the tenant's data and the instant to stamp its rows with;
        commits when the block ends, rolls back when it raises. Raises
        :class:`errors.TenantDataMissing` when the tenant has no data here."""
        ...

    def read_transaction(self, tenant: str) -> AbstractContextManager[Statements]:
        """A read-only transaction on the tenant's data for single-row lookups (not ordered
        with writes, unlike a snapshot); :class:`errors.TenantDataMissing` when it has none."""
        ...

    def load_tenant(
        self, tenant: str, catalog: model.Catalog, tables: Iterable[tuple[str, pa.Table]]
    ) -> dict[str, int]:
        """Replace the tenant's billing data with ``tables`` in one transaction, which readers
        never see half of; rows loaded per object."""
        ...

    def replace_objects(
        self, tenant: str, catalog: model.Catalog, tables: Iterable[tuple[str, pa.Table]]
    ) -> dict[str, int]:
        """Replace the rows of each object in ``tables`` (a subset of its fields, by name) in
        one transaction readers never see half of, creating the tenant's schema and adding
        ``catalog``'s missing columns first; other objects keep their rows. Rows per object."""
        ...
