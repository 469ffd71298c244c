"""The generator in shards: a large scale comes as independent worlds whose union is one tenant.

Sharding is exercised at a tiny shard scale (three shards of 1/16) so the checks stay fast; the
one-shard output is pinned by a digest, since every fixture and figure relies on it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aquarium.catalog import model
from aquarium.datagen import generate
from aquarium.datagen import world as w

#: Three shards; both binary fractions, so that the shard scale is exactly SCALE / 3.
SCALE = 0.1875
SHARD_SCALE = 0.0625
#: Digest of every table at scale 0.05, seed 7 (one shard): a change to it changes every
#: generated tenant. Update it only for a deliberate change of the generated data.
ONE_SHARD_DIGEST = "6b0510b6430dcddd8c6db6529e8db0f35b43d4c7005f6b56ecabdf66a1fd0bad"
#: Columns of business numbers (unique in one world, and over the shards).
BUSINESS_NUMBERS = (
    ("Account", "AccountNumber"),
    ("Account", "Name"),
    ("Amendment", "Code"),
    ("BillingRun", "BillingRunNumber"),
    ("CreditBalanceAdjustment", "Number"),
    ("CreditMemo", "CreditMemoNumber"),
    ("DebitMemo", "DebitMemoNumber"),
    ("Export", "Name"),
    ("Import", "Name"),
    ("Invoice", "InvoiceNumber"),
    ("InvoiceAdjustment", "AdjustmentNumber"),
    ("InvoiceItemAdjustment", "AdjustmentNumber"),
    ("JournalEntry", "Number"),
    ("JournalRun", "Number"),
    ("Order", "OrderNumber"),
    ("OrderLineItem", "ItemNumber"),
    ("Payment", "GatewayOrderId"),
    ("Payment", "PaymentNumber"),
    ("PaymentReconciliationJob", "JobNumber"),
    ("PaymentReconciliationJob", "SourceName"),
    ("PaymentRun", "PaymentRunNumber"),
    ("Product", "ProductNumber"),
    ("Product", "SKU"),
    ("ProductRatePlan", "ProductRatePlanNumber"),
    ("RatePlanCharge", "ChargeNumber"),
    ("Refund", "RefundNumber"),
    ("Subscription", "Name"),
    ("UpdaterBatch", "BatchNumber"),
)
#: Columns holding another object's business number: (object, column, target, target column).
NUMBER_REFERENCES = (
    ("InvoiceItemAdjustment", "InvoiceNumber", "Invoice", "InvoiceNumber"),
    ("InvoiceItem", "ChargeNumber", "RatePlanCharge", "ChargeNumber"),
    ("InvoiceItem", "SKU", "Product", "SKU"),
    ("Usage", "AccountNumber", "Account", "AccountNumber"),
    ("Usage", "SubscriptionNumber", "Subscription", "Name"),
    ("Usage", "ChargeNumber", "RatePlanCharge", "ChargeNumber"),
    ("InvoiceAdjustment", "InvoiceNumber", "Invoice", "InvoiceNumber"),
    ("ChargeMetrics", "SubscriptionName", "Subscription", "Name"),
)


def _tables(
    scale: float, seed: int = 7, shard_scale: float = generate.SHARD_SCALE
) -> dict[str, pa.Table]:
    out: dict[str, list[pa.Table]] = {}
    tables = generate.generate(model.default(), scale=scale, seed=seed, shard_scale=shard_scale)
    for name, table in tables:
        out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in out.items()}


@pytest.fixture(scope="module")
def sharded() -> dict[str, pa.Table]:
    return _tables(SCALE, shard_scale=SHARD_SCALE)


@pytest.fixture(scope="module")
def whole() -> dict[str, pa.Table]:
    return _tables(SCALE)


def test_one_shard_output_is_pinned() -> None:
    digests: dict[str, hashlib._Hash] = {}
    for name, table in generate.generate(model.default(), scale=0.05, seed=7):
        digest = digests.setdefault(name, hashlib.sha256())
        for column in table.columns:
            digest.update(repr(column.to_pylist()).encode())
    total = hashlib.sha256()
    for name in sorted(digests):
        total.update(name.encode() + digests[name].digest())
    assert total.hexdigest() == ONE_SHARD_DIGEST


def test_shard_count() -> None:
    assert generate.shard_count(10, 10) == 1
    assert generate.shard_count(0.001, 10) == 1
    assert generate.shard_count(10.5, 10) == 2
    assert generate.shard_count(125, 10) == 13
    assert generate.shard_count(1000) == 1000 / generate.SHARD_SCALE
    assert generate.shard_count(generate.SHARD_SCALE) == 1
    assert generate.shard_count(SCALE, SHARD_SCALE) == 3


def test_every_object_once_per_shard_but_the_shared_ones() -> None:
    names = [
        name
        for name, _ in generate.generate(
            model.default(), scale=SCALE, seed=7, shard_scale=SHARD_SCALE
        )
    ]
    for obj in model.default():
        expected = 1 if obj.name in w.SHARED_OBJECTS else 3
        assert names.count(obj.name) == expected, obj.name


def test_same_seed_same_shards(sharded: dict[str, pa.Table]) -> None:
    again = _tables(SCALE, shard_scale=SHARD_SCALE)
    for name, table in sharded.items():
        assert table.equals(again[name]), name


def test_shards_differ_from_each_other(sharded: dict[str, pa.Table]) -> None:
    accounts = sharded["Account"]
    third = accounts.num_rows // 3
    assert third == 62
    first, second = accounts.slice(0, third), accounts.slice(third, third)
    for column in ("Name", "Currency", "CreatedDate", "Balance"):
        assert first.column(column) != second.column(column), column


def test_counts_as_in_one_world(sharded: dict[str, pa.Table], whole: dict[str, pa.Table]) -> None:
    """Rows per account as in one world; the shared objects are the very same rows.

    (Summaries of the whole tenant, such as journal entries per period and bill runs per day,
    come once per shard, and usage hangs on a few usage products: those counts differ.)
    """
    assert list(sharded) == list(whole)
    assert sharded["Account"].num_rows == 3 * 62  # the whole world's 187.5 rounds to 188
    assert whole["Account"].num_rows == 188
    for name in ("Contact", "Subscription", "Invoice", "InvoiceItem", "Payment", "TaxationItem"):
        assert 0.8 < sharded[name].num_rows / whole[name].num_rows < 1.25, name
    for name in ("AccountingPeriod", "AccountingCode", "Entity", "ChargeMetricsRun"):
        assert sharded[name].equals(whole[name]), name


def test_first_shard_is_one_world_of_its_scale(sharded: dict[str, pa.Table]) -> None:
    """Shard 0 draws what a one-world generation of the shard's scale draws; so the shared
    objects, the first shard's alone, are that generation's."""
    first = _tables(SHARD_SCALE)
    for name, table in first.items():
        if name in w.SHARED_OBJECTS:
            assert sharded[name].equals(table), name
        else:
            assert sharded[name].slice(0, table.num_rows).equals(table), name


@pytest.mark.parametrize("seed", [1, 2, 3, 7])
def test_every_shard_plans_the_shared_objects_alike(seed: int) -> None:
    carried: dict[str, int] = {}
    worlds = []
    for shard in range(3):
        world = w.new(seed, SHARD_SCALE, shard=shard, carried=carried)
        for plan in generate.PLANS:
            plan(world)
        worlds.append(world)
    first, *later = worlds
    for name in w.SHARED_OBJECTS:
        for world in later:
            assert world.ids(name) == first.ids(name), name
            assert world.plans[name].keys() == first.plans[name].keys(), name
            for key, values in first.plans[name].items():
                assert np.array_equal(world.plans[name][key], values), (name, key)
    assert first.ids("Account") != later[0].ids("Account")
    assert not np.array_equal(
        first.plans["Account"]["created"], later[0].plans["Account"]["created"]
    )


def test_every_shard_subscribes_to_the_one_catalogue(sharded: dict[str, pa.Table]) -> None:
    """Later shards planned the same catalogue: their charges copy the shared product charges."""
    charges = sharded["RatePlanCharge"].select(
        ["ProductRatePlanChargeId", "ChargeModel", "ChargeType"]
    )
    product = sharded["ProductRatePlanCharge"].select(["Id", "ChargeModel", "ChargeType"])
    joined = charges.join(product, "ProductRatePlanChargeId", "Id", right_suffix="_product")
    assert joined.num_rows == charges.num_rows
    for column in ("ChargeModel", "ChargeType"):
        assert joined.column(column) == joined.column(f"{column}_product"), column
    later = charges.slice(charges.num_rows // 2).column("ProductRatePlanChargeId")
    assert pc.all(pc.is_in(later, value_set=product.column("Id"))).as_py()


def test_ids_unique(sharded: dict[str, pa.Table]) -> None:
    for name, table in sharded.items():
        ids = table.column("Id")
        assert ids.null_count == 0
        assert pc.count_distinct(ids).as_py() == table.num_rows, name


def test_foreign_keys_resolve(sharded: dict[str, pa.Table], whole: dict[str, pa.Table]) -> None:
    checked = 0
    for obj in model.default():
        for rel in obj.related:
            if rel.via != obj.name:
                continue  # multi-hop joins rest on keys checked on their own object
            keys = sharded[obj.name].column(rel.key)
            targets = sharded[rel.object].column("Id")
            resolved = pc.all(pc.is_in(keys.drop_null(), value_set=targets)).as_py()
            assert resolved in (True, None), (obj.name, rel.name)
            null_share = keys.null_count / max(1, len(keys))
            before = whole[obj.name].column(rel.key)
            assert (null_share == 1) == (before.null_count == len(before)), (obj.name, rel.name)
            checked += 1
    assert checked > 40


@pytest.mark.parametrize(("name", "column"), BUSINESS_NUMBERS)
def test_business_numbers_unique(
    sharded: dict[str, pa.Table], whole: dict[str, pa.Table], name: str, column: str
) -> None:
    for tables in (whole, sharded):
        values = tables[name].column(column).drop_null()
        assert len(values) > 0
        assert pc.count_distinct(values).as_py() == len(values), (name, column)


@pytest.mark.parametrize(("name", "column", "target", "target_column"), NUMBER_REFERENCES)
def test_number_references_resolve(
    sharded: dict[str, pa.Table], name: str, column: str, target: str, target_column: str
) -> None:
    values = sharded[name].column(column).drop_null()
    assert len(values) > 0
    targets = sharded[target].column(target_column)
    assert pc.all(pc.is_in(values, value_set=targets)).as_py(), (name, column)


def test_named_objects_only_and_their_rows_are_those_of_a_whole_generation(
    sharded: dict[str, pa.Table],
) -> None:
    wanted = frozenset({"InvoiceItem", "Account"})
    out: dict[str, list[pa.Table]] = {}
    tables = generate.generate(
        model.default(), scale=SCALE, seed=7, shard_scale=SHARD_SCALE, objects=wanted
    )
    for name, table in tables:
        out.setdefault(name, []).append(table)
    assert set(out) == wanted
    for name in wanted:
        assert pa.concat_tables(out[name]).equals(sharded[name]), name
