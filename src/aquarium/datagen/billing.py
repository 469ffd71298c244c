"""Invoices, their items, and adjustments of invoices and invoice items.

Amounts are int64 cents in the plan. ``Invoice.Amount`` includes tax:
``Amount = AmountWithoutTax + TaxAmount``, where ``AmountWithoutTax`` is the sum of the invoice's
``InvoiceItem.ChargeAmount`` and ``TaxAmount`` the sum of their ``TaxAmount``.
``Invoice.AdjustmentAmount`` is the net of the invoice's *processed* invoice adjustments and
invoice item adjustments (credits negative, charges positive). Only posted invoices are adjusted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import accounting, parties
from aquarium.datagen import catalogue as cat
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

INVOICES_PER_ACCOUNT = 20
ITEMS_PER_INVOICE_EXTRA = 4  # mean items per invoice is 1 + this
INVOICE_STATUS = ("Draft", "Posted", "Canceled", "Error")
DRAFT, POSTED, CANCELED = 0, 1, 2
ADJUSTMENT_TYPES = ("Credit", "Charge")
ADJUSTMENT_STATUS = ("Processed", "Canceled")
REASONS = ("Standard Adjustment", "Customer Satisfaction", "Billing Error", "Write-off")
#: Billing starts this many days after an account opens, when its subscriptions are in place.
FIRST_INVOICE_AFTER_DAYS = 90


def plan(world: w.World) -> None:
    """Invoices per account sorted by date, items drawn from the account's subscriptions."""
    rng = world.rng("plan:Invoice")
    acc = world.plans["Account"]
    n_acc = len(acc["created"])
    counts = np.where(acc["status"] == 2, 0, rng.poisson(INVOICES_PER_ACCOUNT, n_acc))
    account, _ = w.expand(counts)
    n = len(account)
    first = acc["created"][account] // col.US_PER_DAY + FIRST_INVOICE_AFTER_DAYS
    day = first + np.floor(rng.random(n) * (w.END_DAY - first + 1)).astype(np.int64)
    day = day[np.lexsort((day, account))]  # accounts stay grouped, dates ascend within each
    recent = day > w.END_DAY - 45
    status = np.where(recent & (rng.random(n) < 0.5), DRAFT, col.pick(rng, n, (0.02, 0.94, 0.04)))
    number = np.empty(n, dtype=np.int64)
    number[np.argsort(day, kind="stable")] = world.number("Invoice", np.arange(n))
    created = w.at_day(rng, day)
    starts = w.group_starts(counts)
    acc["inv_start"] = starts
    acc["inv_count"] = counts
    acc["last_invoice_day"] = np.where(counts > 0, day[np.maximum(starts + counts - 1, 0)], -1)
    world.plans["Invoice"] = {
        "account": account,
        "day": day,
        "due_day": day + parties.TERM_DAYS[acc["term"][account]],
        "status": status,
        "number": number,
        "created": created,
    }
    _plan_items(world)
    _plan_adjustments(world)


def _plan_items(world: w.World) -> None:
    rng = world.rng("plan:InvoiceItem")
    inv = world.plans["Invoice"]
    acc = world.plans["Account"]
    sub = world.plans["Subscription"]
    rpc = world.plans["RatePlanCharge"]
    counts = 1 + rng.poisson(ITEMS_PER_INVOICE_EXTRA, len(inv["day"]))
    invoice, _ = w.expand(counts)
    n = len(invoice)
    account = inv["account"][invoice]
    subscription = w.pick_in_group(rng, acc["sub_start"], acc["sub_count"], account)
    charge = w.pick_in_group(rng, sub["rpc_start"], sub["rpc_count"], subscription)
    usage = rpc["type"][charge] == cat.USAGE
    quantity = np.where(usage, rng.integers(1, 1000, n), rpc["quantity"][charge])
    amount = rpc["price"][charge] * quantity
    tax = (amount * acc["tax_bps"][account] + 5000) // 10000
    starts = w.group_starts(counts)
    inv["item_start"] = starts
    inv["without_tax"] = np.add.reduceat(amount, starts) if n else amount
    inv["tax"] = np.add.reduceat(tax, starts) if n else tax
    inv["amount"] = inv["without_tax"] + inv["tax"]
    inv["kinds"] = (
        np.stack([np.add.reduceat((rpc["type"][charge] == k) * 1, starts) > 0 for k in range(3)])
        if n
        else np.zeros((3, 0), dtype=bool)
    )
    world.plans["InvoiceItem"] = {
        "invoice": invoice,
        "account": account,
        "subscription": subscription,
        "charge": charge,
        "quantity": quantity,
        "amount": amount,
        "tax": tax,
        "created": w.after(rng, inv["created"][invoice], 0.0001),
    }


def _adjust(rng: np.random.Generator, base: Any, low: float, high: float) -> dict[str, Any]:
    """Amounts, types, statuses and signed impacts of ``len(base)`` adjustments."""
    n = len(base)
    amount = np.maximum(1, np.floor(base * rng.uniform(low, high, n)).astype(np.int64))
    kind = col.pick(rng, n, (0.9, 0.1))
    status = col.pick(rng, n, (0.95, 0.05))
    impact = np.where(status == 0, np.where(kind == 0, -amount, amount), 0)
    return {"amount": amount, "type": kind, "status": status, "impact": impact}


def _dated_after(rng: np.random.Generator, inv: Any, invoice: Any) -> dict[str, Any]:
    day = np.minimum(inv["day"][invoice] + rng.integers(1, 60, len(invoice)), w.END_DAY)
    created = np.maximum(w.at_day(rng, day), inv["created"][invoice] + 1_000_000)
    return {"day": created // col.US_PER_DAY, "created": created}


def _plan_adjustments(world: w.World) -> None:
    inv = world.plans["Invoice"]
    items = world.plans["InvoiceItem"]
    posted = inv["status"] == POSTED
    n_inv = len(inv["day"])
    # Credits are capped (half an item, a fifth of an invoice) so a balance never goes negative.
    rng = world.rng("plan:InvoiceItemAdjustment")
    chosen = np.flatnonzero(posted[items["invoice"]] & (rng.random(len(items["invoice"])) < 0.02))
    invoice = items["invoice"][chosen]
    iia = {"item": chosen, "invoice": invoice, **_adjust(rng, items["amount"][chosen], 0.1, 0.5)}
    iia.update(_dated_after(rng, inv, invoice))
    world.plans["InvoiceItemAdjustment"] = iia
    rng = world.rng("plan:InvoiceAdjustment")
    invoice = np.flatnonzero(posted & (rng.random(n_inv) < 0.01))
    ia = {"invoice": invoice, **_adjust(rng, inv["amount"][invoice], 0.05, 0.2)}
    ia.update(_dated_after(rng, inv, invoice))
    world.plans["InvoiceAdjustment"] = ia
    inv["adjustment"] = w.group_sum(iia["impact"], iia["invoice"], n_inv) + w.group_sum(
        ia["impact"], ia["invoice"], n_inv
    )


def build_invoice(world: w.World) -> dict[str, Any]:
    """Invoice columns; payment fields come from the money plan."""
    p = world.plans["Invoice"]
    rng = world.rng("Invoice")
    n = world.count("Invoice")
    acc = world.plans["Account"]
    posted = p["status"] == POSTED
    zero = np.zeros(n, dtype=np.int64)
    return {
        "AccountId": world.fk("Account", p["account"]),
        "InvoiceNumber": col.numbered("INV", p["number"], 8),
        "InvoiceDate": col.dates(p["day"]),
        "DueDate": col.dates(p["due_day"]),
        "TargetDate": col.dates(p["day"]),
        "Status": col.options(INVOICE_STATUS, p["status"]),
        "Currency": col.options(w.CURRENCIES, acc["currency"][p["account"]]),
        "Amount": col.money(p["amount"]),
        "AmountWithoutTax": col.money(p["without_tax"]),
        "TaxAmount": col.money(p["tax"]),
        "Balance": col.money(p["balance"]),
        "PaymentAmount": col.money(p["paid"]),
        "AdjustmentAmount": col.money(p["adjustment"]),
        "CreditBalanceAdjustmentAmount": col.money(zero),
        "CreditMemoAmount": col.money(zero),
        "RefundAmount": col.money(zero),
        "AutoPay": col.booleans(rng.random(n) < 0.6),
        "IncludesOneTime": col.booleans(p["kinds"][cat.ONE_TIME]),
        "IncludesRecurring": col.booleans(p["kinds"][cat.RECURRING]),
        "IncludesUsage": col.booleans(p["kinds"][cat.USAGE]),
        "PostedDate": col.stamps(w.after(rng, p["created"], 0.5), posted),
        "Comments": col.take(world.pools.sentences, rng.integers(0, 200, n), rng.random(n) < 0.1),
    }


def build_invoice_item(world: w.World) -> dict[str, Any]:
    """InvoiceItem columns: one charge line each, service period from the invoice date."""
    p = world.plans["InvoiceItem"]
    inv = world.plans["Invoice"]
    rpc = world.plans["RatePlanCharge"]
    prpc = world.plans["ProductRatePlanCharge"]
    charge = p["charge"]
    product_charge = rpc["charge"][charge]
    product = world.plans["ProductRatePlan"]["product"][prpc["rate_plan"][product_charge]]
    day = inv["day"][p["invoice"]]
    months = cat.PERIOD_MONTHS[prpc["period"][product_charge]]
    n = len(charge)
    rpc_numbers = col.numbered("C-", world.number("RatePlanCharge", charge), 8)
    return {
        "InvoiceId": world.fk("Invoice", p["invoice"]),
        "AccountId": world.fk("Account", p["account"]),
        "SubscriptionId": world.fk("Subscription", p["subscription"]),
        "RatePlanChargeId": world.fk("RatePlanCharge", charge),
        "ProductId": world.fk("Product", product),
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(day)),
        "ChargeName": col.options(cat.CHARGE_SUFFIX, rpc["type"][charge]),
        "ChargeNumber": rpc_numbers,
        "ChargeDate": col.stamps(p["created"]),
        "ProcessingType": col.options(("Charge",), np.zeros(n, dtype=np.int64)),
        "Quantity": col.money(p["quantity"] * 100),
        "UnitPrice": col.money(rpc["price"][charge]),
        "ChargeAmount": col.money(p["amount"]),
        "TaxAmount": col.money(p["tax"]),
        "UOM": col.options(cat.UOMS, prpc["uom"][product_charge]),
        "SKU": col.numbered("SKU-", world.number("Product", product), 6),
        "ServiceStartDate": col.dates(day),
        "ServiceEndDate": col.dates(day + np.round(months * 365 / 12).astype(np.int64) - 1),
        "AccountingCode": col.options(
            accounting.CODE_NAMES, prpc["accounting_code"][product_charge]
        ),
        "AppliedToChargeNumber": col.null_text(n),
        "AppliedToInvoiceItemId": col.null_text(n),
    }


def _adjustment_columns(world: w.World, name: str) -> dict[str, Any]:
    p = world.plans[name]
    rng = world.rng(name)
    inv = world.plans["Invoice"]
    n = len(p["invoice"])
    cancelled = p["status"] == 1
    return {
        "AccountId": world.fk("Account", inv["account"][p["invoice"]]),
        "InvoiceId": world.fk("Invoice", p["invoice"]),
        "InvoiceNumber": col.numbered("INV", inv["number"][p["invoice"]], 8),
        "AdjustmentDate": col.dates(p["day"]),
        "Amount": col.money(p["amount"]),
        "Type": col.options(ADJUSTMENT_TYPES, p["type"]),
        "Status": col.options(ADJUSTMENT_STATUS, p["status"]),
        "ReasonCode": col.options(REASONS, col.pick(rng, n, (0.6, 0.2, 0.15, 0.05))),
        "AccountingCode": col.options(
            accounting.CODE_NAMES, np.full(n, accounting.ADJUSTMENTS, dtype=np.int64)
        ),
        "ReferenceId": col.numbered("REF-", rng.integers(0, 10**6, n), 6, rng.random(n) < 0.3),
        "_cancelled": cancelled,
        "_cancelled_at": w.after(rng, p["created"], 5),
    }


def build_invoice_item_adjustment(world: w.World) -> dict[str, Any]:
    """InvoiceItemAdjustment columns (SourceId is the adjusted invoice item)."""
    p = world.plans["InvoiceItemAdjustment"]
    items = world.plans["InvoiceItem"]
    rng = world.rng("InvoiceItemAdjustment:extra")
    cols = _adjustment_columns(world, "InvoiceItemAdjustment")
    cancelled = cols.pop("_cancelled")
    cancelled_at = cols.pop("_cancelled_at")
    n = len(p["item"])
    day = world.plans["Invoice"]["day"][p["invoice"]]
    rpc_type = world.plans["RatePlanCharge"]["type"][items["charge"][p["item"]]]
    return cols | {
        "SourceId": world.fk("InvoiceItem", p["item"]),
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(p["day"])),
        "AdjustmentNumber": col.numbered(
            "IIA-", world.number("InvoiceItemAdjustment", np.arange(n)), 8
        ),
        "InvoiceItemName": col.options(cat.CHARGE_SUFFIX, rpc_type),
        "SourceType": col.options(("InvoiceDetail", "Tax"), np.zeros(n, dtype=np.int64)),
        "ServiceStartDate": col.dates(day),
        "ServiceEndDate": col.dates(day + 29),
        "CancelledDate": col.stamps(cancelled_at, cancelled),
        "Comment": col.take(world.pools.sentences, rng.integers(0, 200, n)),
        "ExcludeItemBillingFromRevenueAccounting": col.booleans(np.zeros(n, dtype=bool)),
        "TransferredToAccounting": col.options(
            ("Processing", "Yes", "No", "Error", "Ignore"), col.pick(rng, n, (0, 0.6, 0.4, 0, 0))
        ),
    }


def build_invoice_adjustment(world: w.World) -> dict[str, Any]:
    """InvoiceAdjustment columns; ImpactAmount is signed (credits lower the balance)."""
    p = world.plans["InvoiceAdjustment"]
    rng = world.rng("InvoiceAdjustment:extra")
    cols = _adjustment_columns(world, "InvoiceAdjustment")
    cancelled = cols.pop("_cancelled")
    cancelled_at = cols.pop("_cancelled_at")
    n = len(p["invoice"])
    return cols | {
        "AdjustmentNumber": col.numbered("IA-", world.number("InvoiceAdjustment", np.arange(n)), 8),
        "ImpactAmount": col.money(p["impact"]),
        "CancelledOn": col.stamps(cancelled_at, cancelled),
        "Comments": col.take(world.pools.sentences, rng.integers(0, 200, n)),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "Invoice": build_invoice,
    "InvoiceItem": build_invoice_item,
    "InvoiceItemAdjustment": build_invoice_item_adjustment,
    "InvoiceAdjustment": build_invoice_adjustment,
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (memory).
CHUNKED = frozenset({"InvoiceItem"})
