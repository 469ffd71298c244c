"""Product charge tiers, charge metrics and their runs, and the discount objects.

* ``ProductRatePlanChargeTier``: every product charge has its price in tiers, one set per
  currency (the same nominal price in each: the subscription generator prices charges the same
  whatever the account's currency). Tiered and volume charges have three contiguous tiers,
  other charges one; a discount charge has one tier holding its percentage. The tiers of a
  subscribed charge (``RatePlanChargeTier``) copy these prices.
* ``ChargeMetrics``: one row per regular rate plan charge (its only segment): gross MRR and TCV
  are the charge's ``MRR`` / ``TCV``, the discount is what discount charges take off it (a
  positive amount), net = gross - discount. Discount charges have no metrics row of their own:
  their effect is the discount of the charges they apply to (decided; Zuora keeps the
  allocation in a separate detail object).
* ``DiscountAppliedMetrics``: one row per (discount charge, charge it discounts), planned by
  :mod:`aquarium.datagen.orders_discounts`; ``DiscountApplyDetail``: one row per (discount
  charge, product charge it applies to).
* ``ChargeMetricsRun`` (monthly refreshes) and ``DiscountClass`` are small reference tables
  whose size does not depend on the scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import catalogue as cat
from aquarium.datagen import columns as col
from aquarium.datagen import orders_discounts as discounts
from aquarium.datagen import subscriptions as subs
from aquarium.datagen import world as w

RUN_EVERY_DAYS = 30
RUN_STATUS = ("Pending", "Processing", "Completed", "Error")
PROCESSING, COMPLETED, ERROR = 1, 2, 3
DISCOUNT_CLASSES = (
    ("Promotional", "Time-limited promotions, applied first"),
    ("Loyalty", "Discounts for long-standing customers"),
    ("Volume", "Discounts for large quantities, applied last"),
)
OVERAGE = cat.CHARGE_MODELS.index("Overage Pricing")


def plan(world: w.World) -> None:
    """Tiers per product charge and currency, metrics per regular charge, runs, discounts."""
    _plan_product_tiers(world)
    rng = world.rng("plan:ChargeMetrics")
    rpc = world.plans["RatePlanCharge"]
    charge = discounts.regular_charges(world)
    applied = world.plans["DiscountAppliedMetrics"]
    created = w.after(rng, rpc["created"][charge], 1)
    world.plans["ChargeMetrics"] = {
        "charge": charge,
        "discount_mrr": -w.group_sum(applied["mrr"], applied["charge"], len(charge)),
        "discount_tcv": -w.group_sum(applied["tcv"], applied["charge"], len(charge)),
        "created": created,
        "updated": w.after(rng, created, 60),
    }
    _plan_runs(world)
    _plan_apply_details(world)
    day = np.full(len(DISCOUNT_CLASSES), w.START_DAY)
    created = w.at_day(world.rng("plan:DiscountClass"), day)
    world.plans["DiscountClass"] = {"created": created, "updated": created}


def _plan_product_tiers(world: w.World) -> None:
    rng = world.rng("plan:ProductRatePlanChargeTier")
    prpc = world.plans["ProductRatePlanCharge"]
    tiered = (prpc["model"] == cat.TIERED) | (prpc["model"] == cat.VOLUME)
    tiers = np.where(tiered, subs.TIERS_PER_TIERED_CHARGE, 1)
    charge, position = w.expand(tiers * len(w.CURRENCIES))
    created = w.after(rng, prpc["created"][charge], 0.001)
    world.plans["ProductRatePlanChargeTier"] = {
        "charge": charge,
        "currency": position // tiers[charge],
        "tier": position % tiers[charge],
        "tiered": tiered[charge],
        "created": created,
        "updated": w.after(rng, created, 100),
    }


def _plan_runs(world: w.World) -> None:
    rng = world.rng("plan:ChargeMetricsRun")
    day = np.arange(w.START_DAY + 1, w.END_DAY + 1, RUN_EVERY_DAYS)
    n = len(day)
    start = w.at_day(rng, day)
    status = np.where(rng.random(n) < 0.03, ERROR, COMPLETED)
    status[-1] = PROCESSING  # the latest run is still going
    world.plans["ChargeMetricsRun"] = {
        "status": status,
        "start": start,
        "end": start + rng.integers(60, 3600, n) * 1_000_000,
        "created": start,
        "updated": start + 3_600 * 1_000_000,
    }


def _plan_apply_details(world: w.World) -> None:
    rng = world.rng("plan:DiscountApplyDetail")
    rpc = world.plans["RatePlanCharge"]
    rp = world.plans["RatePlan"]
    prp = world.plans["ProductRatePlan"]
    prpc = world.plans["ProductRatePlanCharge"]
    discount = np.arange(len(discounts.regular_charges(world)), len(rpc["created"]))
    product_plan = rp["product_rate_plan"][rpc["rate_plan"][discount]]
    owner, position = w.expand(prp["prpc_count"][product_plan])
    applied = prp["prpc_start"][product_plan[owner]] + position
    keep = prpc["type"][applied] == cat.RECURRING
    owner, applied = owner[keep], applied[keep]
    created = w.after(rng, rpc["created"][discount[owner]], 0.001)
    world.plans["DiscountApplyDetail"] = {
        "discount": discount[owner],
        "product_plan": product_plan[owner],
        "applied": applied,
        "created": created,
        "updated": created,
    }


def build_product_rate_plan_charge_tier(world: w.World) -> dict[str, Any]:
    """ProductRatePlanChargeTier columns: the prices RatePlanChargeTier copies."""
    p = world.plans["ProductRatePlanChargeTier"]
    prpc = world.plans["ProductRatePlanCharge"]
    charge = p["charge"]
    tier = p["tier"]
    tiered = p["tiered"]
    model = prpc["model"][charge]
    discount = model == discounts.DISCOUNT
    ending = subs.TIER_ENDS[tier]
    n = len(charge)
    return {
        "ProductRatePlanChargeId": world.fk("ProductRatePlanCharge", charge),
        "Tier": col.integers(tier + 1),
        "StartingUnit": col.money(subs.TIER_STARTS[tier] * 100, tiered),
        "EndingUnit": col.money(ending * 100, tiered & (ending > 0)),
        "Price": col.money(prpc["price"][charge] * subs.TIER_PRICE_PERCENT[tier] // 100, ~discount),
        "PriceFormat": col.options(("FlatFee", "PerUnit"), (model != cat.FLAT_FEE) * 1, ~discount),
        "Currency": col.options(w.CURRENCIES, p["currency"]),
        "Active": col.booleans(np.ones(n, dtype=bool)),
        "IsOveragePrice": col.booleans(model == OVERAGE),
        # Discount-Fixed Amount charges are not generated: DiscountAmount stays empty.
        "DiscountAmount": col.money(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)),
        "DiscountPercentage": col.money(prpc["discount_percent"][charge] * 100, discount),
    }


def build_charge_metrics(world: w.World) -> dict[str, Any]:
    """ChargeMetrics columns: gross = the charge's MRR/TCV, net = gross - discount."""
    p = world.plans["ChargeMetrics"]
    rpc = world.plans["RatePlanCharge"]
    rp = world.plans["RatePlan"]
    sub = world.plans["Subscription"]
    prpc = world.plans["ProductRatePlanCharge"]
    charge = p["charge"]
    subscription = rpc["subscription"][charge]
    account = sub["account"][subscription]
    amendment = rp["amendment"][rpc["rate_plan"][charge]]
    product_plan = prpc["rate_plan"][rpc["charge"][charge]]
    account_number = col.numbered("A", world.number("Account", account), 8)
    _, end, _ = subs._end_days(world)
    am_type = world.plans["Amendment"]["type"]
    mrr, tcv = rpc["mrr"][charge], rpc["tcv"][charge]
    return {
        "SubscriptionOwnerAccountNumber": account_number,
        "InvoiceOwnerAccountNumber": account_number,
        "SubscriptionName": col.numbered("A-S", world.number("Subscription", subscription), 8),
        "ChargeNumber": col.numbered("C-", world.number("RatePlanCharge", charge), 8),
        "RatePlanChargeId": world.fk("RatePlanCharge", charge),
        "ProductId": world.fk("Product", world.plans["ProductRatePlan"]["product"][product_plan]),
        "ProductRatePlanId": world.fk("ProductRatePlan", product_plan),
        "ProductRatePlanChargeId": world.fk("ProductRatePlanCharge", rpc["charge"][charge]),
        "AmendmentId": world.fk("Amendment", amendment),
        "AmendmentType": col.options(
            subs.AMENDMENT_TYPES,
            am_type[np.maximum(amendment, 0)] if len(am_type) else amendment,
            amendment >= 0,
        ),
        "StartDate": col.dates(sub["start_day"][subscription]),
        "EndDate": col.dates(end[subscription]),
        "MRRGrossAmount": col.money(mrr),
        "MRRNetAmount": col.money(mrr - p["discount_mrr"]),
        "MRRDiscountAmount": col.money(p["discount_mrr"]),
        "TCVGrossAmount": col.money(tcv),
        "TCVNetAmount": col.money(tcv - p["discount_tcv"]),
        "TCVDiscountAmount": col.money(p["discount_tcv"]),
        "Currency": col.options(w.CURRENCIES, world.plans["Account"]["currency"][account]),
    }


def build_charge_metrics_run(world: w.World) -> dict[str, Any]:
    """ChargeMetricsRun columns; a run still processing has no end."""
    p = world.plans["ChargeMetricsRun"]
    status = p["status"]
    return {
        "Status": col.options(RUN_STATUS, status),
        "StartDateTime": col.stamps(p["start"]),
        "EndDateTime": col.stamps(p["end"], status != PROCESSING),
        "ErrorMessage": col.options(
            ("Charge metrics calculation timed out",),
            np.zeros(len(status), dtype=np.int64),
            status == ERROR,
        ),
    }


def build_discount_applied_metrics(world: w.World) -> dict[str, Any]:
    """DiscountAppliedMetrics columns: MRR and TCV are negative (what the discount takes off)."""
    p = world.plans["DiscountAppliedMetrics"]
    rpc = world.plans["RatePlanCharge"]
    sub = world.plans["Subscription"]
    subscription = rpc["subscription"][p["charge"]]
    _, end, _ = subs._end_days(world)
    return {
        "DiscountRatePlanChargeId": world.fk("RatePlanCharge", p["discount"]),
        "RatePlanChargeId": world.fk("RatePlanCharge", p["charge"]),
        "SubscriptionId": world.fk("Subscription", subscription),
        "AccountId": world.fk("Account", sub["account"][subscription]),
        "StartDate": col.dates(sub["start_day"][subscription]),
        "EndDate": col.dates(end[subscription]),
        "MRR": col.money(p["mrr"]),
        "TCV": col.money(p["tcv"]),
    }


def build_discount_apply_detail(world: w.World) -> dict[str, Any]:
    """DiscountApplyDetail columns."""
    p = world.plans["DiscountApplyDetail"]
    return {
        "RatePlanChargeId": world.fk("RatePlanCharge", p["discount"]),
        "AppliedProductRatePlanId": world.fk("ProductRatePlan", p["product_plan"]),
        "AppliedProductRatePlanChargeId": world.fk("ProductRatePlanCharge", p["applied"]),
    }


def build_discount_class(world: w.World) -> dict[str, Any]:
    """DiscountClass columns: a fixed set of classes, in application order."""
    n = len(DISCOUNT_CLASSES)
    return {
        "Name": col.options(tuple(name for name, _ in DISCOUNT_CLASSES), np.arange(n)),
        "Description": col.options(tuple(text for _, text in DISCOUNT_CLASSES), np.arange(n)),
        "Status": col.options(("Active", "Inactive"), np.zeros(n, dtype=np.int64)),
        "AppliedOrder": col.integers(np.arange(n) + 1),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "ProductRatePlanChargeTier": build_product_rate_plan_charge_tier,
    "ChargeMetrics": build_charge_metrics,
    "ChargeMetricsRun": build_charge_metrics_run,
    "DiscountAppliedMetrics": build_discount_applied_metrics,
    "DiscountApplyDetail": build_discount_apply_detail,
    "DiscountClass": build_discount_class,
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (memory).
CHUNKED = frozenset({"ChargeMetrics"})
