"""Shared state of one generation run: sizes, numeric plans per object, ids, pools.

Generation happens in two passes. The *plan* pass (one function per domain) draws every number
that more than one object needs (parents, dates, amounts) into numpy arrays; the *build* pass
turns one object's plan into Arrow columns. Plans are plain ``dict[str, ndarray]`` keyed by
object name; every plan has ``created`` and ``updated`` (microseconds since the epoch, UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from aquarium.datagen import columns, pools

Arr = columns.Arr
Plan = dict[str, Arr]

#: The span of generated business activity (reference data sets are dated inside it).
START_DAY = (dt.date(2021, 1, 1) - dt.date(1970, 1, 1)).days
END_DAY = (dt.date(2026, 10, 31) - dt.date(1970, 1, 1)).days
END_US = (END_DAY + 1) * columns.US_PER_DAY - 1
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "AUD", "CAD")
CURRENCY_WEIGHTS = (0.55, 0.2, 0.1, 0.05, 0.05, 0.05)
#: Users who create and update records (CreatedById / UpdatedById).
USER_COUNT = 12
#: Objects a large generation makes once, not once per shard (see ``World.shard``): the
#: tenant's reference data and product catalogue, which every shard's rows refer to (same ids).
SHARED_OBJECTS = frozenset(
    {
        "AccountingCode",
        "AccountingPeriod",
        "ChargeMetricsRun",
        "CommunicationProfile",
        "DiscountClass",
        "Entity",
        # The product catalogue: every shard's subscriptions are to the same products.
        "Product",
        "ProductRatePlan",
        "ProductRatePlanCharge",
        "ProductRatePlanChargeTier",
    }
)
#: Generator purposes every shard draws alike: the plans of shared objects that other objects
#: read, and tenant-wide ids that are no object's rows (notification definitions, HPM pages).
SHARED_PURPOSES = frozenset(
    {
        "plan:AccountingCode",
        "plan:AccountingPeriod",
        "plan:ChargeMetricsRun",
        "plan:DiscountClass",
        "plan:Product",
        "plan:ProductRatePlan",
        "plan:ProductRatePlanCharge",
        "plan:ProductRatePlanCharge:pricing",
        "plan:ProductRatePlanChargeTier",
        "plan:DiscountCharge",
        "notification definitions",
        "HpmCaptchaValidationResult:pages",
    }
)


@dataclass
class World:
    """Everything one run of :func:`aquarium.datagen.generate.generate` shares between objects."""

    seed: int
    scale: float
    pools: pools.Pools
    users: pa.Array
    plans: dict[str, Plan] = field(default_factory=dict)
    _ids: dict[str, pa.Array] = field(default_factory=dict)
    #: Which slice of a chunked object this view builds (0 for whole objects).
    chunk: int = 0
    #: Which shard of a large generation this world is (0 for a generation in one piece). A
    #: shard's generators and ids are its own (salted by the shard), except the shared ones.
    shard: int = 0
    #: Rows each object had in the earlier shards: this shard's business numbers follow theirs.
    rows_before: dict[str, int] = field(default_factory=dict)
    #: Choices the first shard made that every later shard must make alike (one dict, passed on).
    carried: dict[str, int] = field(default_factory=dict)

    def rng(self, purpose: str) -> np.random.Generator:
        """The generator for one purpose (an object name, or ``plan:<Object>``).

        Shard 0 draws exactly what a generation in one piece draws; later shards draw their own
        numbers, except for :data:`SHARED_PURPOSES`.
        """
        if self.shard and purpose not in SHARED_PURPOSES:
            purpose = f"{purpose}@{self.shard}"
        return columns.rng_for(self.seed, f"{purpose}#{self.chunk}" if self.chunk else purpose)

    def sliced(self, name: str, start: int, stop: int, chunk: int) -> World:
        """A view in which object ``name`` has only rows ``start:stop`` (for chunked builds).

        Only for objects whose builders index their own rows through their plan alone.
        """
        plans = dict(self.plans)
        plans[name] = {key: value[start:stop] for key, value in self.plans[name].items()}
        ids = dict(self._ids)
        ids[name] = self.ids(name).slice(start, stop - start)
        return World(
            self.seed,
            self.scale,
            self.pools,
            self.users,
            plans,
            ids,
            chunk,
            self.shard,
            self.rows_before,
            self.carried,
        )

    def count(self, name: str) -> int:
        """Rows of object ``name``."""
        return len(self.plans[name]["created"])

    def ids(self, name: str) -> pa.Array:
        """The ``Id`` column of object ``name`` (made once, then reused by foreign keys).

        The same in every slice of a chunked build: a slice that refers to an object not built
        yet makes the ids the whole build makes (never from the slice's own generator).
        """
        if name not in self._ids:
            purpose = f"id:{name}"
            if self.shard and name not in SHARED_OBJECTS:
                purpose = f"{purpose}@{self.shard}"
            rng = columns.rng_for(self.seed, purpose)
            self._ids[name] = columns.make_ids(rng, self.count(name))
        return self._ids[name]

    def number(self, name: str, index: Arr) -> Arr:
        """The business numbers (1, 2, ...) of rows ``index`` of ``name``, such as the 17 of
        ``INV00000017``: they continue the earlier shards' numbering, so they stay unique."""
        numbers: Arr = index + (1 + self.rows_before.get(name, 0))
        return numbers

    def fk(self, name: str, index: Arr, valid: Arr | None = None) -> pa.Array:
        """Ids of ``name`` rows by index; ``-1`` or invalid rows give null."""
        return columns.take(self.ids(name), index, valid)

    def forget(self, name: str) -> None:
        """Drop the cached ids of ``name`` once no later object refers to it (memory)."""
        self._ids.pop(name, None)


#: Builds one object's columns (by field name) from the world's plans.
Builder = Callable[[World], dict[str, Any]]


def new(
    seed: int,
    scale: float,
    *,
    shard: int = 0,
    rows_before: dict[str, int] | None = None,
    carried: dict[str, int] | None = None,
) -> World:
    """A world with its pools and user ids made (the same in every shard)."""
    users = columns.make_ids(columns.rng_for(seed, "users"), USER_COUNT)
    return World(
        seed=seed,
        scale=scale,
        pools=pools.build(seed),
        users=users,
        shard=shard,
        rows_before=rows_before or {},
        carried={} if carried is None else carried,
    )


def sized(scale: float, per_unit: float, minimum: int = 1) -> int:
    """A row count linear in ``scale``: ``per_unit`` rows at scale 1, at least ``minimum``."""
    return max(minimum, round(per_unit * scale))


def group_starts(counts: Arr) -> Arr:
    """Index of the first child of each parent when children are laid out parent by parent."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def expand(counts: Arr) -> tuple[Arr, Arr]:
    """For children laid out parent by parent: (parent index, position within the parent)."""
    counts = counts.astype(np.int64)
    parent = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    position = np.arange(len(parent), dtype=np.int64) - np.repeat(group_starts(counts), counts)
    return parent, position


def pick_in_group(rng: np.random.Generator, starts: Arr, counts: Arr, group: Arr) -> Arr:
    """A random child of each ``group`` entry (-1 where that parent has no children)."""
    n = counts[group]
    chosen = starts[group] + np.floor(rng.random(len(group)) * n).astype(np.int64)
    return np.where(n > 0, chosen, -1)


def group_sum(values: Arr, group: Arr, n_groups: int) -> Arr:
    """Exact int64 sums of ``values`` per group index."""
    out = np.zeros(n_groups, dtype=np.int64)
    np.add.at(out, group, values.astype(np.int64))
    return out


def after(rng: np.random.Generator, base_us: Arr, max_days: float, min_s: int = 1) -> Arr:
    """Instants strictly after ``base_us``, up to ``max_days`` later, never past the end."""
    lag = min_s * 1_000_000 + (rng.random(len(base_us)) * max_days * columns.US_PER_DAY)
    result: Arr = np.minimum(base_us + lag.astype(np.int64), np.maximum(END_US, base_us + 1))
    return result


def at_day(rng: np.random.Generator, days: Arr) -> Arr:
    """An instant during business-ish hours (UTC 08:00-22:00) of each day."""
    secs = rng.integers(8 * 3600, 22 * 3600, size=len(days))
    return days.astype(np.int64) * columns.US_PER_DAY + secs * 1_000_000
