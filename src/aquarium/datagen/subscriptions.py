"""Subscriptions and what hangs off them: amendments, rate plans, charges and charge tiers.

Children are laid out parent by parent (all rate plans of subscription 0, then of 1, ...), so
"the charges of a subscription" is a contiguous index range that later domains draw from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import accounting
from aquarium.datagen import catalogue as cat
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

STATUSES = (
    "Draft",
    "Pending Activation",
    "Pending Acceptance",
    "Active",
    "Cancelled",
    "Expired",
    "Suspended",
)
STATUS_WEIGHTS = (0.01, 0.01, 0.01, 0.78, 0.12, 0.05, 0.02)
ACTIVE, CANCELLED = 3, 4
TERMS = np.array([12, 24, 36])
AMENDMENT_TYPES = (
    "NewProduct",
    "RemoveProduct",
    "UpdateProduct",
    "TermsAndConditions",
    "Renewal",
    "Cancellation",
    "OwnerTransfer",
    "Suspend",
    "Resume",
)
AMENDMENT_TYPE_WEIGHTS = (0.3, 0.1, 0.25, 0.1, 0.15, 0.05, 0.01, 0.02, 0.02)
RENEWAL = ("RENEW_WITH_SPECIFIC_TERM", "RENEW_TO_EVERGREEN")
TIERS_PER_TIERED_CHARGE = 3
TIER_STARTS = np.array([0, 101, 1001])
TIER_ENDS = np.array([100, 1000, 0])
TIER_PRICE_PERCENT = np.array([100, 80, 60])


def plan(world: w.World) -> None:
    """Subscriptions start within two months of their account's creation."""
    rng = world.rng("plan:Subscription")
    acc = world.plans["Account"]
    sub_counts = 1 + rng.poisson(2, len(acc["created"]))
    account, position = w.expand(sub_counts)
    n = len(account)
    start_day = acc["created"][account] // col.US_PER_DAY + rng.integers(1, 60, n)
    created = w.at_day(rng, start_day)
    term = TERMS[rng.integers(0, 3, n)]
    status = col.pick(rng, n, STATUS_WEIGHTS)
    amendment_counts = rng.poisson(0.5, n)
    world.plans["Subscription"] = {
        "account": account,
        "position": position,
        "created": created,
        "updated": w.after(rng, created, 500),
        "start_day": start_day,
        "term": term,
        "evergreen": rng.random(n) < 0.15,
        "status": status,
        "cancel_day": np.minimum(start_day + rng.integers(30, 900, n), w.END_DAY),
        "am_start": w.group_starts(amendment_counts),
        "am_count": amendment_counts,
        "previous": np.where((position > 0) & (rng.random(n) < 0.1), np.arange(n) - 1, -1),
    }
    acc["sub_start"] = w.group_starts(sub_counts)
    acc["sub_count"] = sub_counts
    _plan_amendments(world, amendment_counts)
    _plan_rate_plans(world)
    _plan_charges(world)


def _plan_amendments(world: w.World, counts: Any) -> None:
    rng = world.rng("plan:Amendment")
    sub = world.plans["Subscription"]
    subscription, _ = w.expand(counts)
    n = len(subscription)
    start = sub["start_day"][subscription] + 1
    day = start + np.floor(rng.random(n) * np.maximum(w.END_DAY - start, 0)).astype(np.int64)
    created = np.maximum(w.at_day(rng, day), sub["created"][subscription] + 1_000_000)
    world.plans["Amendment"] = {
        "subscription": subscription,
        "day": day,
        "created": created,
        "updated": w.after(rng, created, 10),
        "type": col.pick(rng, n, AMENDMENT_TYPE_WEIGHTS),
    }


def _plan_rate_plans(world: w.World) -> None:
    rng = world.rng("plan:RatePlan")
    sub = world.plans["Subscription"]
    counts = 1 + rng.poisson(1, len(sub["created"]))
    subscription, _ = w.expand(counts)
    n = len(subscription)
    product_rate_plan = rng.integers(0, len(world.plans["ProductRatePlan"]["created"]), n)
    amended = rng.random(n) < 0.3
    amendment = w.pick_in_group(rng, sub["am_start"], sub["am_count"], subscription)
    amendment = np.where(amended, amendment, -1)
    am_created = world.plans["Amendment"]["created"]
    base = sub["created"][subscription]
    if len(am_created):
        base = np.where(amendment >= 0, np.maximum(base, am_created[amendment]), base)
    created = w.after(rng, base, 0.001)
    world.plans["RatePlan"] = {
        "subscription": subscription,
        "product_rate_plan": product_rate_plan,
        "amendment": amendment,
        "created": created,
        "updated": w.after(rng, created, 200),
    }
    sub["rp_count"] = counts


def _plan_charges(world: w.World) -> None:
    rng = world.rng("plan:RatePlanCharge")
    rp = world.plans["RatePlan"]
    sub = world.plans["Subscription"]
    prp = world.plans["ProductRatePlan"]
    prpc = world.plans["ProductRatePlanCharge"]
    counts = prp["prpc_count"][rp["product_rate_plan"]]
    rate_plan, position = w.expand(counts)
    n = len(rate_plan)
    charge = prp["prpc_start"][rp["product_rate_plan"][rate_plan]] + position
    kind = prpc["type"][charge]
    model = prpc["model"][charge]
    per_unit = (model != cat.FLAT_FEE) & (kind != cat.USAGE)
    quantity = np.where(per_unit, rng.integers(1, 51, n), 1)
    subscription = rp["subscription"][rate_plan]
    months = cat.PERIOD_MONTHS[prpc["period"][charge]]
    mrr = np.where(kind == cat.RECURRING, prpc["price"][charge] * quantity // months, 0)
    term = np.where(sub["evergreen"][subscription], 12, sub["term"][subscription])
    created = w.after(rng, rp["created"][rate_plan], 0.001)
    world.plans["RatePlanCharge"] = {
        "rate_plan": rate_plan,
        "subscription": subscription,
        "charge": charge,
        "type": kind,
        "model": model,
        "quantity": quantity,
        "price": prpc["price"][charge],
        "mrr": mrr,
        "tcv": mrr * term,
        "created": created,
        "updated": w.after(rng, created, 300),
    }
    rpc_by_sub = w.group_sum(counts, rp["subscription"], len(sub["created"]))
    sub["rpc_start"] = w.group_starts(rpc_by_sub)
    sub["rpc_count"] = rpc_by_sub
    acc = world.plans["Account"]
    active = sub["status"][subscription] == ACTIVE
    acc["mrr"] = w.group_sum(
        np.where(active, mrr, 0), sub["account"][subscription], len(acc["created"])
    )
    _plan_tiers(world, model)


def _plan_tiers(world: w.World, model: Any) -> None:
    rng = world.rng("plan:RatePlanChargeTier")
    tiered = (model == cat.TIERED) | (model == cat.VOLUME)
    counts = np.where(tiered, TIERS_PER_TIERED_CHARGE, 1)
    charge, position = w.expand(counts)
    created = w.after(rng, world.plans["RatePlanCharge"]["created"][charge], 0.0001)
    world.plans["RatePlanChargeTier"] = {
        "charge": charge,
        "tier": position,
        "tiered": tiered[charge],
        "created": created,
        "updated": created,
    }


def _end_days(world: w.World) -> tuple[Any, Any, Any]:
    sub = world.plans["Subscription"]
    term_end = sub["start_day"] + np.round(sub["term"] * 365 / 12).astype(np.int64)
    cancelled = sub["status"] == CANCELLED
    end = np.where(cancelled, sub["cancel_day"], term_end)
    return term_end, end, cancelled


def build_subscription(world: w.World) -> dict[str, Any]:
    """Subscription columns: one version per subscription (Version counts its amendments)."""
    p = world.plans["Subscription"]
    rng = world.rng("Subscription")
    n = world.count("Subscription")
    term_end, end, cancelled = _end_days(world)
    termed = ~p["evergreen"]
    account_ids = world.fk("Account", p["account"])
    start = col.dates(p["start_day"])
    return {
        "AccountId": account_ids,
        "InvoiceOwnerId": account_ids,
        "CreatorAccountId": account_ids,
        "Name": col.numbered("A-S", world.number("Subscription", np.arange(n)), 8),
        "Status": col.options(STATUSES, p["status"]),
        "Version": col.integers(1 + p["am_count"]),
        "OriginalId": world.ids("Subscription"),
        "OriginalCreatedDate": col.stamps(p["created"]),
        "PreviousSubscriptionId": world.fk("Subscription", p["previous"]),
        "TermType": col.options(("TERMED", "EVERGREEN"), p["evergreen"] * 1),
        "InitialTerm": col.integers(p["term"], termed),
        "RenewalTerm": col.integers(np.full(n, 12), termed),
        "CurrentTerm": col.integers(p["term"], termed),
        "AutoRenew": col.booleans(termed & (rng.random(n) < 0.7)),
        "RenewalSetting": col.options(RENEWAL, (rng.random(n) < 0.1) * 1),
        "IsInvoiceSeparate": col.booleans(rng.random(n) < 0.1),
        "ContractEffectiveDate": start,
        "ServiceActivationDate": start,
        "ContractAcceptanceDate": start,
        "SubscriptionStartDate": start,
        "SubscriptionEndDate": col.dates(end, termed | cancelled),
        "TermStartDate": start,
        "TermEndDate": col.dates(term_end, termed),
        "CancelledDate": col.dates(p["cancel_day"], cancelled),
        "Notes": col.take(world.pools.sentences, rng.integers(0, 200, n), rng.random(n) < 0.2),
    }


def build_amendment(world: w.World) -> dict[str, Any]:
    """Amendment columns; most amendments are completed."""
    p = world.plans["Amendment"]
    rng = world.rng("Amendment")
    n = world.count("Amendment")
    day = col.dates(p["day"])
    status = col.pick(rng, n, (0.03, 0.02, 0.02, 0.93))
    return {
        "SubscriptionId": world.fk("Subscription", p["subscription"]),
        "Name": col.join(col.options(AMENDMENT_TYPES, p["type"]), "amendment", sep=" "),
        "Code": col.numbered("A-AM", world.number("Amendment", np.arange(n)), 8),
        "Type": col.options(AMENDMENT_TYPES, p["type"]),
        "Status": col.options(
            ("Draft", "PendingActivation", "PendingAcceptance", "Completed"), status
        ),
        "Description": col.take(world.pools.sentences, rng.integers(0, 200, n)),
        "ContractEffectiveDate": day,
        "ServiceActivationDate": day,
        "CustomerAcceptanceDate": day,
        "EffectiveDate": day,
        "TermType": col.options(("TERMED", "EVERGREEN"), (rng.random(n) < 0.1) * 1),
        "RenewalSetting": col.options(RENEWAL, (rng.random(n) < 0.1) * 1),
    }


def build_rate_plan(world: w.World) -> dict[str, Any]:
    """RatePlan columns; rate plans added by an amendment carry its id."""
    p = world.plans["RatePlan"]
    amended = p["amendment"] >= 0
    prp = world.plans["ProductRatePlan"]
    names = col.options(cat.PLAN_NAMES, prp["position"] % len(cat.PLAN_NAMES))
    return {
        "SubscriptionId": world.fk("Subscription", p["subscription"]),
        "ProductRatePlanId": world.fk("ProductRatePlan", p["product_rate_plan"]),
        "AmendmentId": world.fk("Amendment", p["amendment"]),
        "Name": col.take(names, p["product_rate_plan"]),
        "AmendmentType": col.options(
            ("NewProduct", "RemoveProduct", "UpdateProduct"),
            np.zeros(len(amended), dtype=np.int64),
            amended,
        ),
        "AmendmentSubscriptionRatePlanId": col.null_text(len(amended)),
    }


def build_rate_plan_charge(world: w.World) -> dict[str, Any]:
    """RatePlanCharge columns, copied from the product charge where Zuora copies them."""
    p = world.plans["RatePlanCharge"]
    rng = world.rng("RatePlanCharge")
    n = world.count("RatePlanCharge")
    prpc = world.plans["ProductRatePlanCharge"]
    sub = world.plans["Subscription"]
    _, end, _ = _end_days(world)
    subscription = p["subscription"]
    start_day = sub["start_day"][subscription]
    end_day = end[subscription]
    recurring = p["type"] == cat.RECURRING
    usage = p["type"] == cat.USAGE
    through = np.minimum(end_day, w.END_DAY)
    return {
        "RatePlanId": world.fk("RatePlan", p["rate_plan"]),
        "ProductRatePlanChargeId": world.fk("ProductRatePlanCharge", p["charge"]),
        "Name": col.options(cat.CHARGE_SUFFIX, p["type"]),
        "ChargeNumber": col.numbered("C-", world.number("RatePlanCharge", np.arange(n)), 8),
        "ChargeModel": col.options(cat.CHARGE_MODELS, p["model"]),
        "ChargeType": col.options(cat.CHARGE_TYPES, p["type"]),
        "BillingPeriod": col.options(cat.BILLING_PERIODS, prpc["period"][p["charge"]]),
        "BillingTiming": col.options(("IN_ADVANCE", "IN_ARREARS"), usage * 1),
        "TriggerEvent": col.options(cat.TRIGGERS, col.pick(rng, n, (0.8, 0.15, 0.05, 0))),
        "EffectiveStartDate": col.dates(start_day),
        "EffectiveEndDate": col.dates(end_day),
        "ChargedThroughDate": col.dates(through, ~usage),
        "ProcessedThroughDate": col.dates(through, ~usage),
        "Quantity": col.money(p["quantity"] * 100, ~usage),
        "UOM": col.options(cat.UOMS, prpc["uom"][p["charge"]]),
        "MRR": col.money(p["mrr"]),
        "TCV": col.money(p["tcv"]),
        "DMRC": col.money(p["mrr"]),
        "DTCV": col.money(p["tcv"]),
        "Segment": col.integers(np.ones(n)),
        "Version": col.integers(np.ones(n)),
        "IsLastSegment": col.booleans(np.ones(n, dtype=bool)),
        "ListPriceBase": col.options(
            ("Per_Billing_Period", "Per_Month", "Per_Week"), np.zeros(n, dtype=np.int64), recurring
        ),
        "EndDateCondition": col.options(
            ("Subscription_End", "Fixed_Period", "Specific_End_Date"), np.zeros(n, dtype=np.int64)
        ),
        # Every charge runs to the subscription's end, so the "up to periods" pair stays empty.
        "UpToPeriods": col.integers(np.zeros(n), np.zeros(n, dtype=bool)),
        "UpToPeriodsType": col.null_text(n),
        "AccountingCode": col.options(accounting.CODE_NAMES, prpc["accounting_code"][p["charge"]]),
    }


def build_rate_plan_charge_tier(world: w.World) -> dict[str, Any]:
    """RatePlanChargeTier columns: three tiers for tiered/volume charges, one otherwise."""
    p = world.plans["RatePlanChargeTier"]
    rpc = world.plans["RatePlanCharge"]
    charge = p["charge"]
    tier = p["tier"]
    tiered = p["tiered"]
    flat = rpc["model"][charge] == cat.FLAT_FEE
    ending = TIER_ENDS[tier]
    currency = world.plans["Account"]["currency"][
        world.plans["Subscription"]["account"][rpc["subscription"][charge]]
    ]
    return {
        "RatePlanChargeId": world.fk("RatePlanCharge", charge),
        "Tier": col.integers(tier + 1),
        "StartingUnit": col.money(np.where(tiered, TIER_STARTS[tier], 0) * 100, tiered),
        "EndingUnit": col.money(ending * 100, tiered & (ending > 0)),
        "Price": col.money(rpc["price"][charge] * TIER_PRICE_PERCENT[tier] // 100),
        "PriceFormat": col.options(("FlatFee", "PerUnit"), (~flat) * 1),
        "Currency": col.options(w.CURRENCIES, currency),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "Subscription": build_subscription,
    "Amendment": build_amendment,
    "RatePlan": build_rate_plan,
    "RatePlanCharge": build_rate_plan_charge,
    "RatePlanChargeTier": build_rate_plan_charge_tier,
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (memory).
CHUNKED = frozenset({"RatePlanChargeTier"})
