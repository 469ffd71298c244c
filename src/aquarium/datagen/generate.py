"""The synthetic billing data generator: a pure function from (catalogue, scale, seed) to tables.

:func:`generate` first plans every domain with numpy (see :mod:`aquarium.datagen.world`), then
builds and yields one Arrow table per catalogue object, in catalogue order, with exactly the
catalogue's fields. The same (catalogue, scale, seed) always yields identical tables.

The plans of a world hold every row's numbers at once (scale 125 in one world peaked at 16 GB),
so a large scale is generated as *shards*: independent worlds of at most
:data:`SHARD_SCALE` each, one after the other, each planned, built, yielded and dropped before the
next. Memory is that of one shard, whatever the scale. A shard is a tenant's slice of accounts
and everything hanging off them; the few objects every shard shares
(:data:`~aquarium.datagen.world.SHARED_OBJECTS`: accounting periods and codes, the entity, ...)
are yielded by the first shard only, and business numbers continue across shards
(:meth:`~aquarium.datagen.world.World.number`). A scale up to :data:`SHARD_SCALE` is one shard,
the generation as it always was.
"""

from __future__ import annotations

import math
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
#: The largest scale generated as one world; larger ones come in ceil(scale / SHARD_SCALE) equal
#: shards. Measured (aquarium datagen into DuckDB, max RSS): shards of 10 peak at 2.4-2.5 GiB,
#: shards of 5 at 1.8-2.0 GiB, at any scale; 5 leaves room under a 3 GB budget for the one
#: table generated ahead (:mod:`aquarium.datagen.ahead`) and for DuckDB's own allocations.
SHARD_SCALE = 5.0
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


def generate(
    catalog: model.Catalog,
    *,
    scale: float,
    seed: int,
    shard_scale: float | None = None,
    objects: frozenset[str] | None = None,
) -> Iterator[tuple[str, pa.Table]]:
    """Yield ``(object name, table)`` for every catalogue object, in catalogue order per shard.

    A large object (over :data:`CHUNK_ROWS` rows, among :data:`CHUNKED`) comes as several
    consecutive tables of the same name, whose concatenation is the object; small objects come
    as one table. A scale over ``shard_scale`` (default :data:`SHARD_SCALE`) comes in shards
    (see the module docstring): every object again for each shard (but the shared ones), so an
    object's tables are not consecutive then; their concatenation is still the object.
    ``scale`` 1 is about 1,000 accounts and 100,000 invoice items; counts are linear in it.
    Fields the generator has no rule for (a catalogue newer than the generator) are null; a
    tenant's custom fields (``Field.custom``) get plausible values of their type
    (:mod:`aquarium.datagen.custom`).
    ``objects`` (when given) limits the tables made to those objects: the world is simulated
    whole all the same, so their rows are exactly those of a full generation.
    Raises :class:`DataGenerationError` for a catalogue object without a builder.
    """
    if not scale > 0:
        raise errors.DataGenerationError(f"scale must be > 0, not {scale!r}")
    missing = [obj.name for obj in catalog if obj.name not in BUILDERS]
    if missing:
        raise errors.DataGenerationError(f"no generator for catalogue objects {missing}")
    shards = shard_count(scale, shard_scale)
    rows_before: dict[str, int] = {}
    carried: dict[str, int] = {}
    for shard in range(shards):
        world = w.new(
            seed, scale / shards, shard=shard, rows_before=dict(rows_before), carried=carried
        )
        for plan in PLANS:
            plan(world)
        for obj in catalog:
            if obj.name not in w.SHARED_OBJECTS:
                rows_before[obj.name] = rows_before.get(obj.name, 0) + world.count(obj.name)
        yield from _shard_tables(catalog, world, objects)
        del world  # the next shard's plans replace this one's, not join them


def shard_count(scale: float, shard_scale: float | None = None) -> int:
    """How many shards :func:`generate` makes of ``scale``: 1 up to ``shard_scale`` (default
    :data:`SHARD_SCALE`, read when called)."""
    return max(1, math.ceil(scale / (SHARD_SCALE if shard_scale is None else shard_scale)))


def _shard_tables(
    catalog: model.Catalog, world: w.World, objects: frozenset[str] | None
) -> Iterator[tuple[str, pa.Table]]:
    for obj in catalog:
        if world.shard and obj.name in w.SHARED_OBJECTS:
            continue  # the first shard made them
        if objects is not None and obj.name not in objects:
            continue
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
