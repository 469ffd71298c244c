"""The synthetic billing data generator: a pure function from (catalogue, scale, seed) to tables.

:func:`generate` first plans every domain with numpy (see :mod:`aquarium.datagen.world`), then
builds and yields one Arrow table per catalogue object, in catalogue order, with exactly the
catalogue's fields. The same (catalogue, scale, seed) always yields identical tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from aquarium.catalog import model
from aquarium.datagen import (
    accounting,
    billing,
    catalogue,
    columns,
    core_fields,
    custom,
    entity,
    ledger,
    money,
    operations,
    operations_cards,
    operations_gateway,
    operations_notify,
    operations_recon,
    orders,
    orders_discounts,
    orders_metrics,
    orders_snapshots,
    parties,
    revenue,
    settlement,
    subscriptions,
    usage,
)
from aquarium.datagen import world as w
from aquarium.domain import errors


class Family(Protocol):
    """A generator module: one plan pass and the builders of the objects it plans."""

    def plan(self, world: w.World) -> None: ...  # pragma: no cover - a protocol

    BUILDERS: dict[str, w.Builder]


#: Optional in a family: ``COLUMNS``, builders of extra columns of objects another family
#: builds (fields a family adds to a core object with ``[extend.X.fields]``), and ``CHUNKED``.
#: Generator modules, in dependency order: each plan reads the plans of the ones before it.
FAMILIES: tuple[Family, ...] = (
    accounting,
    parties,
    catalogue,
    subscriptions,
    orders_discounts,
    billing,
    money,
    settlement,
    usage,
    orders,
    orders_metrics,
    orders_snapshots,
    revenue,
    ledger,
    core_fields,
    operations,
    operations_gateway,
    operations_cards,
    operations_notify,
    operations_recon,
    entity,
)
PLANS: tuple[Callable[[w.World], None], ...] = tuple(family.plan for family in FAMILIES)
BUILDERS: dict[str, w.Builder] = {
    name: builder for family in FAMILIES for name, builder in family.BUILDERS.items()
}
#: Builders of extra columns, by object: run after the object's own builder, same world.
EXTRA_COLUMNS: dict[str, tuple[w.Builder, ...]] = {
    name: tuple(
        getattr(family, "COLUMNS", {})[name]
        for family in FAMILIES
        if name in getattr(family, "COLUMNS", {})
    )
    for name in BUILDERS
}
#: Objects built and yielded in slices of at most CHUNK_ROWS rows, to bound memory.
CHUNKED = frozenset(name for family in FAMILIES for name in getattr(family, "CHUNKED", ()))
CHUNK_ROWS = 500_000
ARROW_TYPES: dict[model.FieldType, pa.DataType] = {
    model.FieldType.TEXT: pa.string(),
    model.FieldType.PICKLIST: pa.string(),
    model.FieldType.DECIMAL: columns.DECIMAL,
    model.FieldType.INTEGER: pa.int64(),
    model.FieldType.BOOLEAN: pa.bool_(),
    model.FieldType.DATE: pa.date32(),
    model.FieldType.DATETIME: columns.TIMESTAMP,
}


def arrow_schema(obj: model.ObjectDef) -> pa.Schema:
    """The Arrow schema of an object's table: its fields, in catalogue order."""
    return pa.schema([pa.field(f.name, ARROW_TYPES[f.type]) for f in obj.fields])


def generate(catalog: model.Catalog, *, scale: float, seed: int) -> Iterator[tuple[str, pa.Table]]:
    """Yield ``(object name, table)`` for every catalogue object, in catalogue order.

    A large object (over :data:`CHUNK_ROWS` rows, among :data:`CHUNKED`) comes as several
    consecutive tables of the same name, whose concatenation is the object; small objects come
    as one table. ``scale`` 1 is about 1,000 accounts and 100,000 invoice items; counts are
    linear in it.
    Fields the generator has no rule for (a catalogue newer than the generator) are null; a
    tenant's custom fields (``Field.custom``) get plausible values of their type
    (:mod:`aquarium.datagen.custom`).
    Raises :class:`DataGenerationError` for a catalogue object without a builder.
    """
    if not scale > 0:
        raise errors.DataGenerationError(f"scale must be > 0, not {scale!r}")
    missing = [obj.name for obj in catalog if obj.name not in BUILDERS]
    if missing:
        raise errors.DataGenerationError(f"no generator for catalogue objects {missing}")
    world = w.new(seed, scale)
    for plan in PLANS:
        plan(world)
    for obj in catalog:
        n = world.count(obj.name)
        if obj.name not in CHUNKED or n <= CHUNK_ROWS:
            yield obj.name, _table(world, obj, _built(world, obj.name))
            continue
        for chunk, start in enumerate(range(0, n, CHUNK_ROWS), start=1):
            view = world.sliced(obj.name, start, min(n, start + CHUNK_ROWS), chunk)
            yield obj.name, _table(view, obj, _built(view, obj.name))


def _built(world: w.World, name: str) -> dict[str, Any]:
    built = BUILDERS[name](world)
    for extra in EXTRA_COLUMNS[name]:
        built.update(extra(world))
    return built


def _table(world: w.World, obj: model.ObjectDef, built: dict[str, Any]) -> pa.Table:
    n = world.count(obj.name)
    plan = world.plans[obj.name]
    rng = world.rng(f"audit:{obj.name}")
    created = plan["created"]
    updated = np.maximum(plan.get("updated", created), created)
    users = world.users
    standard = {
        "Id": world.ids(obj.name),
        "CreatedById": columns.take(users, rng.integers(0, len(users), n)),
        "CreatedDate": columns.stamps(created),
        "UpdatedById": columns.take(users, rng.integers(0, len(users), n)),
        "UpdatedDate": columns.stamps(updated),
    }
    schema = arrow_schema(obj)
    arrays = []
    for field, declared in zip(schema, obj.fields, strict=True):
        value = built.get(field.name, standard.get(field.name))
        if value is None and declared.custom:
            value = custom.column(world, obj.name, declared, n)
        if value is None:
            value = pa.nulls(n, field.type)
        if value.type != field.type:
            value = value.cast(field.type)
        if len(value) != n:
            raise errors.DataGenerationError(
                f"{obj.name}.{field.name} has {len(value)} rows, expected {n}"
            )
        arrays.append(value)
    return pa.Table.from_arrays(arrays, schema=schema)
