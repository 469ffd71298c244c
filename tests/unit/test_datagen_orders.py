"""The orders family's generator: deterministic, and its large objects the same built in slices."""

from __future__ import annotations

import pyarrow as pa
import pytest

from aquarium.catalog import model
from aquarium.datagen import generate

SCALE = 0.05
FAMILY = (
    "Order",
    "OrderAction",
    "OrderLineItem",
    "ContactSnapshot",
    "ProductRatePlanChargeTier",
    "ChargeMetrics",
    "ChargeMetricsRun",
    "DiscountAppliedMetrics",
    "DiscountApplyDetail",
    "DiscountClass",
    "BookingTransaction",
    "ProcessedUsage",
)
#: Columns drawn at random per slice: the audit users (every chunked object) and the older
#: addresses of snapshots.
AUDIT = {"CreatedById", "UpdatedById"}
PER_SLICE = {"ContactSnapshot": {"Address1", "City", "PostalCode"}}


def _tables(seed: int) -> dict[str, pa.Table]:
    parts: dict[str, list[pa.Table]] = {}
    for name, table in generate.generate(model.default(), scale=SCALE, seed=seed):
        parts.setdefault(name, []).append(table)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}


def test_same_seed_same_tables() -> None:
    first, again = _tables(3), _tables(3)
    for name in FAMILY:
        assert first[name].num_rows > 0, name
        assert first[name].equals(again[name]), name
    assert not _tables(4)["OrderAction"].equals(first["OrderAction"])


def test_chunked_objects_are_the_same_built_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _tables(3)
    monkeypatch.setattr(generate, "CHUNK_ROWS", 97)
    sliced = _tables(3)
    chunked = [name for name in FAMILY if name in generate.CHUNKED]
    assert len(chunked) >= 4
    for name in chunked:
        assert whole[name].num_rows > 97, name  # really built in several slices
        keep = [c for c in whole[name].column_names if c not in AUDIT | PER_SLICE.get(name, set())]
        assert sliced[name].select(keep).equals(whole[name].select(keep)), name


@pytest.mark.parametrize("seed", range(6))
def test_a_single_account_world_builds(seed: int) -> None:
    """One account (scale 0.0001): amendments, usage, posted invoices may all be absent."""
    catalog = model.default()
    for name, table in generate.generate(catalog, scale=0.0001, seed=seed):
        if name in FAMILY:
            assert table.schema == generate.arrow_schema(catalog.require(name)), name
