"""The Invoice Settlement generator: deterministic, rows at any scale, its plan contract kept."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from aquarium.catalog import model
from aquarium.datagen import generate, settlement
from aquarium.datagen import world as w

FEATURED = (
    "CreditMemo",
    "CreditMemoItem",
    "CreditMemoApplication",
    "CreditMemoApplicationItem",
    "DebitMemo",
    "DebitMemoItem",
    "PaymentApplication",
    "PaymentApplicationItem",
    "RefundApplication",
    "RefundApplicationItem",
    "CreditTaxationItem",
    "DebitTaxationItem",
)
OTHERS = ("TaxationItem", "RefundInvoicePayment", "InvoiceSplit", "InvoiceSplitItem")
#: Core objects whose columns this family fills or changes.
TOUCHED = ("Invoice", "Payment", "InvoicePayment", "Refund", "Account")


def _tables(scale: float, seed: int) -> dict[str, pa.Table]:
    wanted = set(FEATURED + OTHERS + TOUCHED)
    out: dict[str, list[pa.Table]] = {}
    for name, table in generate.generate(model.default(), scale=scale, seed=seed):
        if name in wanted:
            out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in out.items()}


def _world(scale: float, seed: int) -> w.World:
    world = w.new(seed, scale)
    for plan in generate.PLANS:
        plan(world)
    return world


def test_same_seed_same_tables() -> None:
    first, second = _tables(0.05, 3), _tables(0.05, 3)
    for name, table in first.items():
        assert table.equals(second[name]), name


def test_other_seed_other_tables() -> None:
    first, other = _tables(0.05, 3), _tables(0.05, 4)
    assert not first["CreditMemo"].equals(other["CreditMemo"])


@pytest.mark.parametrize("seed", [5, 6])
def test_every_object_has_rows_at_the_demo_scale(seed: int) -> None:
    tables = _tables(0.02, seed)
    assert [name for name in FEATURED + OTHERS if tables[name].num_rows == 0] == []


def test_a_single_account_world_is_consistent() -> None:
    """One account (scale 0.0001): groups may be empty, tables still match the catalogue."""
    tables = _tables(0.0001, 5)
    catalog = model.default()
    for name in FEATURED + OTHERS:
        assert tables[name].column_names == [f.name for f in catalog.require(name).fields]


def test_catalogue_marks_the_feature() -> None:
    catalog = model.default()
    for name in FEATURED:
        assert catalog.require(name).feature == "InvoiceSettlement", name
    assert catalog.require("TaxationItem").feature is None
    assert catalog.require("RefundInvoicePayment").deprecated_by == "InvoiceSettlement"
    for name in FEATURED + OTHERS:
        assert catalog.require(name).source.startswith("https://docs.zuora.com/"), name


def test_transaction_plans_keep_the_contract() -> None:
    world = _world(0.2, 9)
    n_acc = world.count("Account")
    n_charges = world.count("RatePlanCharge")
    for name in settlement.TRANSACTIONS:
        plan = world.plans[name]
        assert plan["amount"].dtype == np.int64, name
        assert (plan["amount"] >= 0).all(), name
        assert ((plan["account"] >= 0) & (plan["account"] < n_acc)).all(), name
        assert len(plan["created"]) == len(plan["amount"]), name
        assert (plan["created"] > 0).all(), name
    for name in ("CreditMemoItem", "DebitMemoItem"):
        charge = world.plans[name]["charge"]
        assert ((charge >= -1) & (charge < n_charges)).all(), name


def test_chunked_objects_build_the_same_rows_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """At scale 50 these objects come in slices; a slice must see the same plan rows."""
    whole = _tables(0.05, 3)
    monkeypatch.setattr(generate, "CHUNK_ROWS", 700)
    sliced = _tables(0.05, 3)
    catalog = model.default()
    for name in sorted(settlement.CHUNKED):
        # Columns drawn at random per slice (audit users, application group ids) may differ.
        keys = [
            f.name
            for f in catalog.require(name).fields
            if f.name.endswith("Id")
            and f.name not in {"CreatedById", "UpdatedById"}
            and f.name != "ApplicationGroupId"
        ] + [f.name for f in catalog.require(name).fields if f.type.value in ("decimal", "date")]
        assert sliced[name].num_rows > 700, name  # really sliced
        assert sliced[name].select(keys).equals(whole[name].select(keys)), name
