"""Values of a tenant's custom fields (``Name__c``), by type.

A custom field has no business meaning the generator could follow, so its values are plausible
for its type and nothing more: a picklist's own values, numbers with two decimals, dates and
datetimes inside the generated span (``world.START_DAY`` .. ``world.END_DAY``), booleans, short
text from the word pool; :data:`NULL_SHARE` of the rows stay null, as fields a user fills by
hand do. Each field draws from its own generator (``custom:<Object>.<Field>``), so its values
depend on the seed and its own name and type only, never on the other fields declared.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from aquarium.catalog import model
from aquarium.datagen import columns
from aquarium.datagen import world as w

NULL_SHARE = 0.2  # of the rows of a custom field left null
MAX_NUMBER_CENTS = 10_000_000  # numbers up to 100,000.00


def column(world: w.World, object_name: str, field: model.Field, n: int) -> pa.Array:
    """The ``n`` values of custom field ``field`` of ``object_name`` in this world (or slice)."""
    rng = world.rng(f"custom:{object_name}.{field.name}")
    valid = rng.random(n) >= NULL_SHARE
    kind = field.type
    if kind is model.FieldType.PICKLIST:
        return columns.options(field.options, rng.integers(0, len(field.options), n), valid)
    if kind is model.FieldType.DECIMAL:
        return columns.money(rng.integers(0, MAX_NUMBER_CENTS, n), valid)
    if kind is model.FieldType.INTEGER:
        return columns.integers(rng.integers(0, 10_000, n), valid)
    if kind is model.FieldType.BOOLEAN:
        return columns.booleans(rng.random(n) < 0.5, valid)
    if kind is model.FieldType.DATE:
        return columns.dates(rng.integers(w.START_DAY, w.END_DAY + 1, n), valid)
    if kind is model.FieldType.DATETIME:
        start = w.START_DAY * columns.US_PER_DAY
        return columns.stamps(rng.integers(start, w.END_US + 1, n, dtype=np.int64), valid)
    words = world.pools.words
    first = columns.take(words, rng.integers(0, len(words), n), valid)
    second = columns.take(words, rng.integers(0, len(words), n), valid)
    return columns.join(first, second, sep=" ")
