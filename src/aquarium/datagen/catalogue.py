"""The product catalogue: products, their rate plans and rate plan charges."""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import accounting
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

PRODUCTS_PER_SCALE = 30
CATEGORIES = ("Base Products", "Add On Services", "Miscellaneous Products")
PLAN_NAMES = ("Starter", "Standard", "Professional", "Enterprise", "Annual", "Monthly")
CHARGE_TYPES = ("OneTime", "Recurring", "Usage")
ONE_TIME, RECURRING, USAGE = 0, 1, 2
CHARGE_MODELS = (
    "Flat Fee Pricing",
    "Per Unit Pricing",
    "Tiered Pricing",
    "Volume Pricing",
    "Overage Pricing",
    "Discount-Percentage",
)
FLAT_FEE, PER_UNIT, TIERED, VOLUME = 0, 1, 2, 3
#: Charge model weights per charge type (one-time, recurring, usage).
MODEL_WEIGHTS = (
    (0.7, 0.3, 0, 0, 0, 0),
    (0.4, 0.35, 0.15, 0.1, 0, 0),
    (0, 0.5, 0.2, 0.15, 0.15, 0),
)
BILLING_PERIODS = ("Month", "Quarter", "Semi-Annual", "Annual", "Week")
PERIOD_MONTHS = np.array([1, 3, 6, 12, 1])
TRIGGERS = ("ContractEffective", "ServiceActivation", "CustomerAcceptance", "SpecificDate")
UOMS = ("Each", "License", "User", "GB", "API Call", "Hour", "Seat")
CHARGE_SUFFIX = ("Setup Fee", "Subscription Fee", "Usage Fee")


def plan(world: w.World) -> None:
    """Products exist from the start of the span; plans and charges a moment later."""
    rng = world.rng("plan:Product")
    n_products = w.sized(world.scale, PRODUCTS_PER_SCALE, minimum=3)
    p_created = w.at_day(rng, w.START_DAY + rng.integers(0, 20, n_products))
    prp_counts = 1 + rng.poisson(2, n_products)
    world.plans["Product"] = {
        "created": p_created,
        "updated": w.after(rng, p_created, 200),
        "prp_start": w.group_starts(prp_counts),
        "prp_count": prp_counts,
    }
    rng = world.rng("plan:ProductRatePlan")
    product, position = w.expand(prp_counts)
    r_created = w.after(rng, p_created[product], 1)
    prpc_counts = 1 + rng.poisson(1.2, len(product))
    world.plans["ProductRatePlan"] = {
        "product": product,
        "position": position,
        "created": r_created,
        "updated": w.after(rng, r_created, 200),
        "prpc_start": w.group_starts(prpc_counts),
        "prpc_count": prpc_counts,
    }
    _plan_charges(world, prpc_counts, r_created)


def _plan_charges(world: w.World, counts: np.ndarray[Any, Any], parent_created: Any) -> None:
    rng = world.rng("plan:ProductRatePlanCharge")
    rate_plan, position = w.expand(counts)
    n = len(rate_plan)
    # The first charge of a plan is its recurring fee; later ones are setup or usage fees.
    kind = np.where(position == 0, RECURRING, col.pick(rng, n, (0.35, 0.25, 0.4)))
    model = np.select(
        [kind == t for t in (ONE_TIME, RECURRING, USAGE)],
        [col.pick(rng, n, weights) for weights in MODEL_WEIGHTS],
    )
    created = w.after(rng, parent_created[rate_plan], 0.1)
    usage_uom = rng.integers(3, len(UOMS), n)
    world.plans["ProductRatePlanCharge"] = {
        "rate_plan": rate_plan,
        "created": created,
        "updated": w.after(rng, created, 200),
        "type": kind,
        "model": model,
        "period": np.where(kind == RECURRING, col.pick(rng, n, (0.6, 0.1, 0.05, 0.25, 0)), 0),
        # List price in cents: a few dollars to a few thousand, usage prices per unit are small.
        "price": np.where(
            kind == USAGE,
            rng.integers(1, 50, n),
            np.round(np.exp(rng.normal(8.5, 1.2, n))).astype(np.int64) + 100,
        ),
        "uom": np.where(kind == USAGE, usage_uom, rng.integers(0, 3, n)),
        "accounting_code": np.select(
            [kind == ONE_TIME, kind == USAGE],
            [accounting.SERVICES_REVENUE, accounting.USAGE_REVENUE],
            accounting.SUBSCRIPTION_REVENUE,
        ),
    }


def build_product(world: w.World) -> dict[str, Any]:
    """Product columns."""
    p = world.plans["Product"]
    rng = world.rng("Product")
    n = world.count("Product")
    pools = world.pools
    word = col.take(pools.words, rng.integers(0, len(pools.words), n))
    start = p["created"] // col.US_PER_DAY
    retired = rng.random(n) < 0.1
    return {
        "Name": col.join(col.numbered("", world.number("Product", np.arange(n)), 3), word, sep=" "),
        "SKU": col.numbered("SKU-", world.number("Product", np.arange(n)), 6),
        "Description": col.take(pools.sentences, rng.integers(0, len(pools.sentences), n)),
        "Category": col.options(CATEGORIES, col.pick(rng, n, (0.6, 0.3, 0.1))),
        "EffectiveStartDate": col.dates(start),
        # Zuora's "no end" is a far-future date, not null.
        "EffectiveEndDate": col.dates(np.where(retired, w.END_DAY - 90, start + 100 * 365)),
    }


def build_product_rate_plan(world: w.World) -> dict[str, Any]:
    """ProductRatePlan columns."""
    p = world.plans["ProductRatePlan"]
    rng = world.rng("ProductRatePlan")
    n = world.count("ProductRatePlan")
    start = p["created"] // col.US_PER_DAY
    return {
        "ProductId": world.fk("Product", p["product"]),
        "Name": col.options(PLAN_NAMES, p["position"] % len(PLAN_NAMES)),
        "Description": col.take(
            world.pools.sentences, rng.integers(0, len(world.pools.sentences), n)
        ),
        "EffectiveStartDate": col.dates(start),
        "EffectiveEndDate": col.dates(start + 100 * 365),
    }


def build_product_rate_plan_charge(world: w.World) -> dict[str, Any]:
    """ProductRatePlanCharge columns."""
    p = world.plans["ProductRatePlanCharge"]
    rng = world.rng("ProductRatePlanCharge")
    n = world.count("ProductRatePlanCharge")
    usage = p["type"] == USAGE
    names = col.options(CHARGE_SUFFIX, p["type"])
    plan_names = col.options(PLAN_NAMES, world.plans["ProductRatePlan"]["position"] % 6)
    return {
        "ProductRatePlanId": world.fk("ProductRatePlan", p["rate_plan"]),
        "Name": col.join(col.take(plan_names, p["rate_plan"]), names, sep=" "),
        "ChargeModel": col.options(CHARGE_MODELS, p["model"]),
        "ChargeType": col.options(CHARGE_TYPES, p["type"]),
        "BillingPeriod": col.options(BILLING_PERIODS, p["period"]),
        "TriggerEvent": col.options(TRIGGERS, col.pick(rng, n, (0.7, 0.2, 0.05, 0.05))),
        "SmoothingModel": col.options(("RollingWindow", "Rollover"), rng.integers(0, 2, n), usage),
        "UOM": col.options(UOMS, p["uom"]),
        "DefaultQuantity": col.money(np.where(usage, 0, 100)),
        "TaxMode": col.options(("TaxExclusive", "TaxInclusive"), (rng.random(n) < 0.1) * 1),
        "AccountingCode": col.options(accounting.CODE_NAMES, p["accounting_code"]),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "Product": build_product,
    "ProductRatePlan": build_product_rate_plan,
    "ProductRatePlanCharge": build_product_rate_plan_charge,
}
