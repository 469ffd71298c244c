"""Revenue recognition: revenue schedules, revenue events and charge revenue summaries.

Invariants (amounts in cents in the plan):

- A revenue schedule distributes exactly the amount it schedules over consecutive accounting
  periods: the ``RevenueScheduleItemInvoiceItem`` rows of an invoice item sum to its
  ``ChargeAmount``, the ``RevenueScheduleItemInvoiceItemAdjustment`` rows of an adjustment sum
  to its signed amount (credits negative). A schedule starts in the period of its transaction
  and spans the charge's billing period (1 month for one-time and usage charges); months past
  the last defined accounting period are folded into the ones that exist.
- Revenue is recognised once a period has ended: each schedule item of an ended period has one
  revenue event item of the same amount and period, so a schedule's event items sum to its
  recognised (ended-period) schedule items.
- ``RevenueScheduleItem`` and ``RevenueEventItem`` are the data sources over all schedules and
  events (their invoice-item and adjustment variants concatenated); ``RevenueChargeSummaryItem``
  is one row per (charge, period): the sum of the charge's schedule items in that period.
- Only a share of the posted invoice items carry a revenue schedule (charges with a revenue
  recognition rule), which keeps these objects below the invoice items in volume.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import accounting, billing, settlement_docs
from aquarium.datagen import catalogue as cat
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

#: Share of posted invoice items (and of processed item adjustments) with a revenue schedule.
SCHEDULED_SHARE = 0.1
ADJUSTMENT_SHARE = 0.3
DEFERRED_REVENUE = accounting.CODE_NAMES.index("Deferred Revenue")
#: The accounting period of the end of the generated span; periods before it have ended.
CURRENT_PERIOD = int(accounting.period_of(np.array([w.END_DAY]))[0])
#: Plan keys every schedule and event row has (the concatenated data sources keep these).
COMMON = ("amount", "period", "account", "charge", "subscription", "created", "updated")
#: Memo items with revenue schedules (objects of the Invoice Settlement family, when planned).
MEMO_ITEMS = ("CreditMemoItem", "DebitMemoItem")


def months_of(world: w.World, charge: Any) -> Any:
    """The billing period of each rate plan charge in months (1 for one-time and usage)."""
    product_charge = world.plans["RatePlanCharge"]["charge"][charge]
    months = cat.PERIOD_MONTHS[world.plans["ProductRatePlanCharge"]["period"][product_charge]]
    return np.asarray(months, dtype=np.int64)


def recognized_code(world: w.World, charge: Any) -> Any:
    """The revenue accounting code of each rate plan charge (its product charge's code)."""
    product_charge = world.plans["RatePlanCharge"]["charge"][charge]
    return world.plans["ProductRatePlanCharge"]["accounting_code"][product_charge]


def spread(amount: Any, start: Any, months: Any) -> tuple[Any, Any, Any]:
    """Split each signed ``amount`` over ``months`` periods from ``start``: (parent, period, part).

    Parts are equal whole cents; the last part takes the remainder, so parts sum exactly.
    """
    span = np.clip(months, 1, accounting.PERIOD_COUNT - start)
    parent, position = w.expand(span)
    size = np.abs(amount)
    base = size // span
    last = position == span[parent] - 1
    part = base[parent] + np.where(last, size[parent] - base[parent] * span[parent], 0)
    return parent, start[parent] + position, np.sign(amount)[parent] * part


def _schedule(world: w.World, rows: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Schedule items of the transactions in ``rows`` (keys: amount, day, charge, ... per row)."""
    start = accounting.period_of(rows["day"])
    parent, period, part = spread(rows["amount"], start, months_of(world, rows["charge"]))
    # Row indices as int32: schedules can outnumber their transactions (memory at scale).
    plan = {
        key: value[parent] if key == "created" else value[parent].astype(np.int32)
        for key, value in rows.items()
        if key not in ("amount", "day")
    }
    plan.update(amount=part, period=period.astype(np.int32), source=parent.astype(np.int32))
    plan["updated"] = w.after(rng, plan["created"], 2)
    return plan


def _events(world: w.World, schedule: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """One event item per schedule item of an ended period, recognised after the period ends."""
    done = np.flatnonzero(schedule["period"] < CURRENT_PERIOD)
    plan = {key: value[done] for key, value in schedule.items()}
    plan["schedule_item"] = done
    period_end = accounting.month_starts()[plan["period"] + 1] * col.US_PER_DAY
    plan["created"] = w.after(rng, np.maximum(plan["created"], period_end), 3)
    plan["updated"] = w.after(rng, plan["created"], 1)
    # Recognition is booked on the last day of the period it recognises.
    plan["day"] = accounting.month_starts()[plan["period"] + 1] - 1
    return plan


def plan(world: w.World) -> None:
    """Schedules of a share of the posted invoice items and processed item adjustments."""
    rng = world.rng("plan:RevenueScheduleItem")
    items = world.plans["InvoiceItem"]
    inv = world.plans["Invoice"]
    n = len(items["invoice"])
    posted = inv["status"][items["invoice"]] == billing.POSTED
    chosen = np.flatnonzero(posted & (rng.random(n) < SCHEDULED_SHARE))
    if not len(chosen):
        chosen = np.flatnonzero(posted)[:1]  # tiny scales: still one schedule
    per_item = {
        "amount": items["amount"][chosen],
        "day": inv["day"][items["invoice"][chosen]],
        "item": chosen,
        "invoice": items["invoice"][chosen],
        "account": items["account"][chosen],
        "charge": items["charge"][chosen],
        "subscription": items["subscription"][chosen],
        "created": items["created"][chosen],
    }
    ii = _schedule(world, per_item, rng)
    iia_plan = world.plans["InvoiceItemAdjustment"]
    scheduled = np.zeros(n, dtype=bool)
    scheduled[chosen] = True
    processed = iia_plan["status"] == 0
    picked = processed & (
        scheduled[iia_plan["item"]] | (rng.random(len(processed)) < ADJUSTMENT_SHARE)
    )
    if not picked.any():
        picked = processed & (np.cumsum(processed) == 1)  # tiny scales: the first processed one
    adj = np.flatnonzero(picked)
    item = iia_plan["item"][adj]
    per_adjustment = {
        "amount": np.where(iia_plan["type"][adj] == 0, -1, 1) * iia_plan["amount"][adj],
        "day": iia_plan["day"][adj],
        "adjustment": adj,
        "item": item,
        "invoice": iia_plan["invoice"][adj],
        "account": items["account"][item],
        "charge": items["charge"][item],
        "subscription": items["subscription"][item],
        "created": iia_plan["created"][adj],
    }
    schedules = {
        "InvoiceItem": ii,
        "InvoiceItemAdjustment": _schedule(world, per_adjustment, rng),
        **{memo: _memo_schedule(world, memo, rng) for memo in MEMO_ITEMS},
    }
    rng = world.rng("plan:RevenueEventItem")
    for kind, schedule in schedules.items():
        world.plans[f"RevenueScheduleItem{kind}"] = schedule
        world.plans[f"RevenueEventItem{kind}"] = _events(world, schedule, rng)
    world.plans["RevenueScheduleItem"] = _union(
        *(world.plans[f"RevenueScheduleItem{kind}"] for kind in schedules)
    )
    world.plans["RevenueEventItem"] = _union(
        *(world.plans[f"RevenueEventItem{kind}"] for kind in schedules), extra=("day",)
    )
    _plan_summaries(world)


def _memo_schedule(world: w.World, name: str, rng: np.random.Generator) -> dict[str, Any]:
    """Schedules of the charge lines of posted memos: a credit memo item schedules a negative
    amount (revenue given back), a debit memo item a positive one. Empty when the Invoice
    Settlement family is not generated.
    """
    if name not in world.plans:
        empty = np.zeros(0, dtype=np.int64)
        return {key: empty for key in (*COMMON, "source", "memo", "memo_item")}
    p = world.plans[name]
    memo = name.removesuffix("Item")
    posted = world.plans[memo]["status"][p["memo"]] == settlement_docs.MEMO_STATUS_POSTED
    rows = np.flatnonzero(posted & (p["charge"] >= 0))
    per_line = {
        "amount": (-1 if memo == "CreditMemo" else 1) * p["amount"][rows].astype(np.int64),
        "day": p["created"][rows] // col.US_PER_DAY,
        "memo": p["memo"][rows],
        "memo_item": rows,
        "account": p["account"][rows],
        "charge": p["charge"][rows],
        "subscription": p["subscription"][rows],
        "created": p["created"][rows],
    }
    return _schedule(world, per_line, rng)


def _union(*plans: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    return {key: np.concatenate([p[key] for p in plans]) for key in (*COMMON, *extra)}


def _plan_summaries(world: w.World) -> None:
    schedule = world.plans["RevenueScheduleItem"]
    key = schedule["charge"].astype(np.int64) * accounting.PERIOD_COUNT + schedule["period"]
    keys, first, group = np.unique(key, return_index=True, return_inverse=True)
    created = np.zeros(len(keys), dtype=np.int64)
    np.maximum.at(created, group, schedule["created"])
    world.plans["RevenueChargeSummaryItem"] = {
        "amount": w.group_sum(schedule["amount"], group, len(keys)),
        "period": keys % accounting.PERIOD_COUNT,
        "charge": keys // accounting.PERIOD_COUNT,
        "account": schedule["account"][first],
        "subscription": schedule["subscription"][first],
        "created": created,
        "updated": created,
    }


def _columns(world: w.World, name: str, codes: bool = True) -> dict[str, Any]:
    p = world.plans[name]
    currency = world.plans["Account"]["currency"][p["account"]]
    out = {
        "Amount": col.money(p["amount"]),
        "Currency": col.options(w.CURRENCIES, currency),
        "AccountId": world.fk("Account", p["account"]),
        "AccountingPeriodId": world.fk("AccountingPeriod", p["period"]),
        "SubscriptionId": world.fk("Subscription", p["subscription"]),
        "RatePlanChargeId": world.fk("RatePlanCharge", p["charge"]),
    }
    if codes:
        deferred = np.full(len(p["amount"]), DEFERRED_REVENUE, dtype=np.int64)
        out["DeferredRevenueAccountingCodeId"] = world.fk("AccountingCode", deferred)
        out["RecognizedRevenueAccountingCodeId"] = world.fk(
            "AccountingCode", recognized_code(world, p["charge"])
        )
    return out


def _invoice_columns(world: w.World, name: str) -> dict[str, Any]:
    p = world.plans[name]
    out = _columns(world, name) | {
        "InvoiceId": world.fk("Invoice", p["invoice"]),
        "InvoiceItemId": world.fk("InvoiceItem", p["item"]),
    }
    if "adjustment" in p:
        out["InvoiceItemAdjustmentId"] = world.fk("InvoiceItemAdjustment", p["adjustment"])
    return out


def build_charge_summary_item(world: w.World) -> dict[str, Any]:
    """RevenueChargeSummaryItem columns: a charge's scheduled revenue in one period."""
    return _columns(world, "RevenueChargeSummaryItem", codes=False)


def build_schedule_item(world: w.World) -> dict[str, Any]:
    """RevenueScheduleItem columns: every schedule's items."""
    return _columns(world, "RevenueScheduleItem")


def build_event_item(world: w.World) -> dict[str, Any]:
    """RevenueEventItem columns: every recognition, with the journal entry that posted it."""
    p = world.plans["RevenueEventItem"]
    return _columns(world, "RevenueEventItem") | {
        "JournalEntryId": world.fk("JournalEntry", p["journal_entry"]),
    }


def _memo_builder(name: str, memo: str) -> w.Builder:
    def build(world: w.World) -> dict[str, Any]:
        p = world.plans[name]
        return _columns(world, name) | {
            f"{memo}Id": world.fk(memo, p["memo"]),
            f"{memo}ItemId": world.fk(f"{memo}Item", p["memo_item"]),
        }

    build.__doc__ = f"{name} columns: the {memo} item each row belongs to."
    return build


def _invoice_builder(name: str) -> w.Builder:
    def build(world: w.World) -> dict[str, Any]:
        return _invoice_columns(world, name)

    build.__doc__ = f"{name} columns: the invoice item or adjustment each row belongs to."
    return build


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "RevenueChargeSummaryItem": build_charge_summary_item,
    "RevenueScheduleItem": build_schedule_item,
    "RevenueEventItem": build_event_item,
    **{
        name: _invoice_builder(name)
        for name in (
            "RevenueScheduleItemInvoiceItem",
            "RevenueScheduleItemInvoiceItemAdjustment",
            "RevenueEventItemInvoiceItem",
            "RevenueEventItemInvoiceItemAdjustment",
        )
    },
    **{
        f"Revenue{kind}Item{memo}Item": _memo_builder(f"Revenue{kind}Item{memo}Item", memo)
        for kind in ("Schedule", "Event")
        for memo in ("CreditMemo", "DebitMemo")
    },
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (memory).
CHUNKED = frozenset(BUILDERS)
