"""Discount charges: Discount-Percentage product charges and the rate plan charges that use them.

Runs right after :mod:`aquarium.datagen.subscriptions` and before billing. Some product rate
plans get one discount charge (a percentage off the plan's recurring charges, Zuora's rate plan
level discount); some subscribed rate plans of those plans carry it. The discount rows are
*appended* to the ``ProductRatePlanCharge`` and ``RatePlanCharge`` plans, after the regular
charges, so the contiguous "charges of a product rate plan / of a subscription" ranges that
billing draws invoice items from keep only regular charges: discounts are never invoiced here.

A discount charge's MRR and TCV are negative: the sum, over the recurring charges of its rate
plan, of each charge's MRR (TCV) times the percentage, rounded down per charge, so that the
discount applications (``DiscountAppliedMetrics``) add up to the discount charge exactly.
Accounts' MRR includes their active discounts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import catalogue as cat
from aquarium.datagen import subscriptions as subs
from aquarium.datagen import world as w

DISCOUNT = cat.CHARGE_MODELS.index("Discount-Percentage")
#: Share of product rate plans with a discount charge, and of their subscriptions using it.
PLAN_SHARE = 0.3
RATE_PLAN_SHARE = 0.5
PERCENTS = np.array([5, 10, 15, 20, 25])


def _append(plan: dict[str, Any], extra: dict[str, Any]) -> None:
    """Append ``extra``'s rows to every per-row array of ``plan`` (zeros where ``extra`` has none).

    Arrays of other lengths (per-parent summaries some plans keep) are left alone.
    """
    n_old = len(plan["created"])
    n_new = len(extra["created"])
    for key, values in list(plan.items()):
        if len(values) != n_old:
            continue
        added = extra.get(key, np.zeros(n_new, dtype=values.dtype))
        plan[key] = np.concatenate([values, np.asarray(added, dtype=values.dtype)])


def plan(world: w.World) -> None:
    """Choose discounted product plans and rate plans; append their charges."""
    rng = world.rng("plan:DiscountCharge")
    prp = world.plans["ProductRatePlan"]
    prpc = world.plans["ProductRatePlanCharge"]
    rp = world.plans["RatePlan"]
    n_prp = len(prp["created"])
    has_discount = rng.random(n_prp) < PLAN_SHARE
    if len(rp["created"]):  # every scale has a discount in use: the first rate plan's plan
        # (the first shard's, in every shard: the catalogue is the same in all of them)
        first = world.carried.setdefault("discounted plan", int(rp["product_rate_plan"][0]))
        has_discount[first] = True
    discounted_prp = np.flatnonzero(has_discount)
    percent = PERCENTS[rng.integers(0, len(PERCENTS), len(discounted_prp))]
    first_charge = prp["prpc_start"][discounted_prp]  # a plan's first charge is recurring
    n_prpc_old = len(prpc["created"])
    p_created = w.after(rng, prpc["created"][first_charge], 1)
    _append(
        prpc,
        {
            "rate_plan": discounted_prp,
            "created": p_created,
            "updated": w.after(rng, p_created, 100),
            "type": np.full(len(discounted_prp), cat.RECURRING),
            "model": np.full(len(discounted_prp), DISCOUNT),
            "period": prpc["period"][first_charge],
            "price": np.zeros(len(discounted_prp), dtype=np.int64),
            "uom": prpc["uom"][first_charge],
            "accounting_code": prpc["accounting_code"][first_charge],
        },
    )
    prpc["discount_percent"] = np.zeros(len(prpc["created"]), dtype=np.int64)
    prpc["discount_percent"][n_prpc_old:] = percent
    # The discount charge of each product rate plan (-1: none).
    prp_discount = np.full(n_prp, -1, dtype=np.int64)
    prp_discount[discounted_prp] = n_prpc_old + np.arange(len(discounted_prp))
    prp["discount_charge"] = prp_discount
    # The catalogue's stream is every shard's; which rate plans take a discount is the shard's
    # own (the first shard goes on with the catalogue's stream, as a one-world generation does).
    _plan_rate_plan_discounts(world, world.rng("plan:RatePlan:discounts") if world.shard else rng)


def _plan_rate_plan_discounts(world: w.World, rng: np.random.Generator) -> None:
    prp = world.plans["ProductRatePlan"]
    prpc = world.plans["ProductRatePlanCharge"]
    rp = world.plans["RatePlan"]
    rpc = world.plans["RatePlanCharge"]
    n_rp = len(rp["created"])
    n_rpc_old = len(rpc["created"])
    product_charge = prp["discount_charge"][rp["product_rate_plan"]]
    chosen = (product_charge >= 0) & (rng.random(n_rp) < RATE_PLAN_SHARE)
    if n_rp and not chosen.any():
        chosen[0] = True
    rate_plan = np.flatnonzero(chosen)
    percent = prpc["discount_percent"][product_charge[rate_plan]]
    # Applications: each discount takes its percentage off every recurring charge of its plan.
    rp_percent = np.zeros(n_rp, dtype=np.int64)
    rp_percent[rate_plan] = percent
    rp_discount = np.full(n_rp, -1, dtype=np.int64)
    rp_discount[rate_plan] = n_rpc_old + np.arange(len(rate_plan))
    regular = np.arange(n_rpc_old)
    applied = regular[
        (rp_percent[rpc["rate_plan"]] > 0)
        & (rpc["type"] == cat.RECURRING)
        & (rpc["model"] != DISCOUNT)
    ]
    share = rp_percent[rpc["rate_plan"][applied]]
    discount_mrr = -(rpc["mrr"][applied] * share // 100)
    discount_tcv = -(rpc["tcv"][applied] * share // 100)
    owner = rp_discount[rpc["rate_plan"][applied]]
    mrr = w.group_sum(discount_mrr, owner - n_rpc_old, len(rate_plan))
    tcv = w.group_sum(discount_tcv, owner - n_rpc_old, len(rate_plan))
    created = w.after(rng, rp["created"][rate_plan], 0.001)
    subscription = rp["subscription"][rate_plan]
    _append(
        rpc,
        {
            "rate_plan": rate_plan,
            "subscription": subscription,
            "charge": product_charge[rate_plan],
            "type": np.full(len(rate_plan), cat.RECURRING),
            "model": np.full(len(rate_plan), DISCOUNT),
            "quantity": np.ones(len(rate_plan), dtype=np.int64),
            "price": np.zeros(len(rate_plan), dtype=np.int64),
            "mrr": mrr,
            "tcv": tcv,
            "created": created,
            "updated": w.after(rng, created, 300),
        },
    )
    rpc["discount_percent"] = np.zeros(len(rpc["created"]), dtype=np.int64)
    rpc["discount_percent"][n_rpc_old:] = percent
    sub = world.plans["Subscription"]
    acc = world.plans["Account"]
    active = sub["status"][subscription] == subs.ACTIVE
    acc["mrr"] = acc["mrr"] + w.group_sum(
        np.where(active, mrr, 0), sub["account"][subscription], len(acc["created"])
    )
    created_app = w.after(rng, np.maximum(rpc["created"][owner], rpc["created"][applied]), 0.01)
    world.plans["DiscountAppliedMetrics"] = {
        "discount": owner,
        "charge": applied,
        "mrr": discount_mrr,
        "tcv": discount_tcv,
        "created": created_app,
        "updated": created_app,
        # Not a row array: how many rate plan charges are regular (they come first).
        "regular_count": np.array([n_rpc_old]),
    }


def regular_charges(world: w.World) -> Any:
    """Indices of the rate plan charges that are not discounts (the first ones)."""
    return np.arange(int(world.plans["DiscountAppliedMetrics"]["regular_count"][0]))


#: This module appends rows to other families' plans; it builds no object of its own.
BUILDERS: dict[str, w.Builder] = {}
