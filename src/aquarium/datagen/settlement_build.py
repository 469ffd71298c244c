"""Builders of memos, their items and taxes, taxation items, refund invoice payments and splits.

The plans come from :mod:`aquarium.datagen.settlement` (documents) and
:mod:`aquarium.datagen.settlement_items` (applied / refunded sums of lines).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import accounting, parties
from aquarium.datagen import catalogue as cat
from aquarium.datagen import columns as col
from aquarium.datagen import settlement_docs as docs
from aquarium.datagen import world as w

MEMO_STATUS = ("Draft", "Posted", "Canceled", "Error", "PendingForTax", "Generating")
SOURCE_TYPE_INVOICE = 2
SOURCE_ADHOC_FROM_INVOICE = 3
TRANSFERRED = ("Processing", "Yes", "No", "Error", "Ignore")
TRANSFERRED_WEIGHTS = (0, 0.6, 0.4, 0, 0)
CREDIT_REASONS = ("Correcting invoice error", "Customer Satisfaction", "Write-off", "Price Change")
DEBIT_REASONS = ("Correcting invoice error", "Late Fee", "Additional Services", "Shipping")
#: The tax rates accounts are drawn with (parties.py), in basis points, and their jurisdictions.
TAX_BPS = np.array([500, 700, 825, 1900, 2000])
JURISDICTIONS = ("COLORADO", "INDIANA", "CALIFORNIA", "GERMANY", "UNITED KINGDOM")
TAX_NAMES = ("State Sales Tax", "State Sales Tax", "State Sales Tax", "VAT", "VAT")
TAX_CODES = ("SALES-TAX-US", "SALES-TAX-US", "SALES-TAX-US", "VAT-DE", "VAT-UK")
TAX_MESSAGE = "Tax calculated by Zuora Tax"  # decided: Zuora fills it for every tax run


def _memo(world: w.World, name: str, prefix: str, reasons: tuple[str, ...]) -> dict[str, Any]:
    """Columns shared by CreditMemo and DebitMemo."""
    p = world.plans[name]
    rng = world.rng(name)
    n = world.count(name)
    acc = world.plans["Account"]
    inv = world.plans["Invoice"]
    day = p["created"] // col.US_PER_DAY
    posted = p["status"] == docs.MEMO_STATUS_POSTED
    cancelled = p["status"] == docs.MEMO_STATUS_CANCELED
    exempt = acc["tax_bps"][p["account"]] == 0
    word = "Credit" if name == "CreditMemo" else "Debit"
    users = world.users
    return {
        "AccountId": world.fk("Account", p["account"]),
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(day)),
        f"{word}MemoNumber": col.numbered(prefix, world.number(name, np.arange(n)), 8),
        f"{word}MemoDate": col.dates(day),
        "TargetDate": col.dates(day),
        "Currency": col.options(w.CURRENCIES, acc["currency"][p["account"]]),
        "Status": col.options(MEMO_STATUS, p["status"]),
        "TotalAmount": col.money(p["amount"]),
        "TotalAmountWithoutTax": col.money(p["without_tax"]),
        "TaxAmount": col.money(p["tax"]),
        "TotalTaxExemptAmount": col.money(np.where(exempt, p["without_tax"], 0)),
        "DiscountAmount": col.money(np.zeros(n, dtype=np.int64)),
        "Balance": col.money(p["balance"]),
        "ReferredInvoiceId": world.fk("Invoice", p["invoice"]),
        "ReasonCode": col.options(reasons, col.pick(rng, n, (0.5, 0.25, 0.15, 0.1))),
        "SourceType": col.options(
            ("Subscription", "Standalone", "Invoice"), np.full(n, SOURCE_TYPE_INVOICE)
        ),
        "Source": col.options(
            ("BillRun", "API", "AdhocFromPrpc", "AdhocFromInvoice"),
            np.full(n, SOURCE_ADHOC_FROM_INVOICE),
        ),
        "SourceId": col.numbered("INV", inv["number"][p["invoice"]], 8),
        "TaxStatus": col.options(("Complete",), np.zeros(n, dtype=np.int64), p["tax"] > 0),
        "TaxMessage": col.options((TAX_MESSAGE,), np.zeros(n, dtype=np.int64), p["tax"] > 0),
        "TransferredToAccounting": col.options(
            TRANSFERRED, col.pick(rng, n, TRANSFERRED_WEIGHTS), posted
        ),
        "PostedOn": col.stamps(w.after(rng, p["created"], 1), posted),
        "PostedById": col.take(users, rng.integers(0, len(users), n), posted),
        "CancelledOn": col.stamps(p["updated"], cancelled),
        "CancelledById": col.take(users, rng.integers(0, len(users), n), cancelled),
        "Comments": col.take(world.pools.sentences, rng.integers(0, 200, n), rng.random(n) < 0.3),
    }


def build_credit_memo(world: w.World) -> dict[str, Any]:
    """CreditMemo columns: ``Balance = TotalAmount - AppliedAmount - RefundAmount``."""
    p = world.plans["CreditMemo"]
    rng = world.rng("CreditMemo:extra")
    return _memo(world, "CreditMemo", "CM", CREDIT_REASONS) | {
        "AppliedAmount": col.money(p["applied"]),
        "RefundAmount": col.money(p["refunded"]),
        "AutoApplyUponPosting": col.booleans(rng.random(len(p["amount"])) < 0.3),
    }


def build_debit_memo(world: w.World) -> dict[str, Any]:
    """DebitMemo columns: ``Balance = TotalAmount - BeAppliedAmount``."""
    p = world.plans["DebitMemo"]
    rng = world.rng("DebitMemo:extra")
    acc = world.plans["Account"]
    day = p["created"] // col.US_PER_DAY
    return _memo(world, "DebitMemo", "DM", DEBIT_REASONS) | {
        "BeAppliedAmount": col.money(p["paid"] + p["credited"]),
        "DueDate": col.dates(day + parties.TERM_DAYS[acc["term"][p["account"]]]),
        "AutoPay": col.booleans(rng.random(len(p["amount"])) < 0.5),
    }


def _memo_item(world: w.World, name: str, memo: str) -> dict[str, Any]:
    """Columns shared by CreditMemoItem and DebitMemoItem."""
    p = world.plans[name]
    rng = world.rng(name)
    n = world.count(name)
    rpc = world.plans["RatePlanCharge"]
    prpc = world.plans["ProductRatePlanCharge"]
    charge = p["charge"]
    product_charge = rpc["charge"][charge]
    product = world.plans["ProductRatePlan"]["product"][prpc["rate_plan"][product_charge]]
    day = p["created"] // col.US_PER_DAY
    months = cat.PERIOD_MONTHS[prpc["period"][product_charge]]
    posted = world.plans[memo]["status"][p["memo"]] == docs.MEMO_STATUS_POSTED
    return {
        f"{memo}Id": world.fk(memo, p["memo"]),
        "SubscriptionId": world.fk("Subscription", p["subscription"]),
        "RatePlanChargeId": world.fk("RatePlanCharge", charge),
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(day)),
        "SourceItemId": world.fk("InvoiceItem", p["item"]),
        "SourceItemType": col.options(("InvoiceDetail",), np.zeros(n, dtype=np.int64)),
        "ChargeName": col.options(cat.CHARGE_SUFFIX, rpc["type"][charge]),
        "ChargeDate": col.stamps(p["created"]),
        "Description": col.take(world.pools.sentences, rng.integers(0, 200, n)),
        "ProcessingType": col.options(("Charge",), np.zeros(n, dtype=np.int64)),
        "Quantity": col.money(np.full(n, 100)),
        "UnitPrice": col.money(p["amount"]),
        "UnitOfMeasure": col.options(cat.UOMS, prpc["uom"][product_charge]),
        "SKU": col.numbered("SKU-", world.number("Product", product), 6),
        "Amount": col.money(p["amount"]),
        "AmountWithoutTax": col.money(p["amount"]),
        "TaxAmount": col.money(p["tax"]),
        "TaxMode": col.options(("TaxExclusive",), np.zeros(n, dtype=np.int64)),
        "ServiceStartDate": col.dates(day),
        "ServiceEndDate": col.dates(day + np.round(months * 365 / 12).astype(np.int64) - 1),
        "AccountingCode": col.options(
            accounting.CODE_NAMES, prpc["accounting_code"][product_charge]
        ),
        "ExcludeItemBillingFromRevenueAccounting": col.booleans(np.zeros(n, dtype=bool)),
        "TransferredToAccounting": col.options(
            TRANSFERRED, col.pick(rng, n, TRANSFERRED_WEIGHTS), posted
        ),
        "_posted": posted,
    }


def build_credit_memo_item(world: w.World) -> dict[str, Any]:
    """CreditMemoItem columns: ``Balance = Amount - AppliedAmount - RefundAmount``."""
    p = world.plans["CreditMemoItem"]
    cols = _memo_item(world, "CreditMemoItem", "CreditMemo")
    posted = cols.pop("_posted")
    balance = np.where(posted, p["amount"] - p["applied"] - p["refunded"], 0)
    return cols | {
        "AppliedAmount": col.money(p["applied"]),
        "RefundAmount": col.money(p["refunded"]),
        "Balance": col.money(balance),
    }


def build_debit_memo_item(world: w.World) -> dict[str, Any]:
    """DebitMemoItem columns: ``Balance = Amount - BeAppliedAmount``."""
    p = world.plans["DebitMemoItem"]
    cols = _memo_item(world, "DebitMemoItem", "DebitMemo")
    posted = cols.pop("_posted")
    return cols | {
        "BeAppliedAmount": col.money(p["applied"]),
        "Balance": col.money(np.where(posted, p["amount"] - p["applied"], 0)),
    }


def _tax_line(world: w.World, name: str, bps: Any) -> dict[str, Any]:
    """Columns shared by TaxationItem, CreditTaxationItem and DebitTaxationItem."""
    p = world.plans[name]
    n = world.count(name)
    rate = np.searchsorted(TAX_BPS, bps).clip(0, len(TAX_BPS) - 1)
    day = p["created"] // col.US_PER_DAY
    return {
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(day)),
        "Name": col.options(TAX_NAMES, rate),
        "Jurisdiction": col.options(JURISDICTIONS, rate),
        "LocationCode": col.numbered("LOC-", rate + 1, 3),
        "TaxCode": col.options(TAX_CODES, rate),
        "TaxCodeDescription": col.options(("Standard rate",), np.zeros(n, dtype=np.int64)),
        "TaxDate": col.dates(day),
        "TaxMode": col.options(("TaxExclusive",), np.zeros(n, dtype=np.int64)),
        "TaxRate": col.decimal_units(bps * 100),
        "TaxRateDescription": col.join(
            col.options(TAX_NAMES, rate), " ", col.options(JURISDICTIONS, rate)
        ),
        "TaxRateType": col.options(("Percentage",), np.zeros(n, dtype=np.int64)),
        "TaxAmount": col.money(p["amount"]),
        "ExemptAmount": col.money(np.zeros(n, dtype=np.int64)),
        "AccountingCode": col.options(
            accounting.CODE_NAMES, np.full(n, accounting.CODE_NAMES.index("Sales Tax Payable"))
        ),
    }


def build_taxation_item(world: w.World) -> dict[str, Any]:
    """TaxationItem columns: one per invoice item with tax, of exactly that tax."""
    p = world.plans["TaxationItem"]
    balance = np.maximum(0, p["amount"] - p["paid"] - p["credited"])
    bps = world.plans["Account"]["tax_bps"][p["account"]]
    return _tax_line(world, "TaxationItem", bps) | {
        "InvoiceId": world.fk("Invoice", world.plans["InvoiceItem"]["invoice"][p["item"]]),
        "InvoiceItemId": world.fk("InvoiceItem", p["item"]),
        "CreditAmount": col.money(p["credited"]),
        "PaymentAmount": col.money(p["paid"]),
        "Balance": col.money(balance),
    }


def _memo_tax(world: w.World, name: str, memo: str) -> dict[str, Any]:
    p = world.plans[name]
    bps = world.plans["Account"]["tax_bps"][p["account"]]
    return _tax_line(world, name, bps) | {
        f"{memo}Id": world.fk(memo, p["memo"]),
        f"{memo}ItemId": world.fk(f"{memo}Item", p["line"]),
    }


def build_credit_taxation_item(world: w.World) -> dict[str, Any]:
    """CreditTaxationItem columns: the tax of one credit memo item."""
    p = world.plans["CreditTaxationItem"]
    tax_item = world.plans["InvoiceItem"]["taxation_item"][p["item"]]
    posted = world.plans["CreditMemo"]["status"][p["memo"]] == docs.MEMO_STATUS_POSTED
    return _memo_tax(world, "CreditTaxationItem", "CreditMemo") | {
        "SourceTaxItemId": world.fk("TaxationItem", tax_item),
        "AppliedAmount": col.money(p["applied"]),
        "RefundAmount": col.money(p["refunded"]),
        "Balance": col.money(np.where(posted, p["amount"] - p["applied"] - p["refunded"], 0)),
    }


def build_debit_taxation_item(world: w.World) -> dict[str, Any]:
    """DebitTaxationItem columns: the tax of one debit memo item."""
    p = world.plans["DebitTaxationItem"]
    posted = world.plans["DebitMemo"]["status"][p["memo"]] == docs.MEMO_STATUS_POSTED
    return _memo_tax(world, "DebitTaxationItem", "DebitMemo") | {
        "BeAppliedAmount": col.money(p["applied"]),
        "Balance": col.money(np.where(posted, p["amount"] - p["applied"], 0)),
    }


def build_refund_invoice_payment(world: w.World) -> dict[str, Any]:
    """RefundInvoicePayment columns: the refund, the invoice payment it reverses, how much."""
    p = world.plans["RefundInvoicePayment"]
    return {
        "RefundId": world.fk("Refund", p["refund"]),
        # InvoicePayment i is the application of Payment i (money.py).
        "InvoicePaymentId": world.fk("InvoicePayment", p["payment"]),
        "RefundAmount": col.money(p["amount"]),
    }


def build_invoice_split(world: w.World) -> dict[str, Any]:
    """InvoiceSplit columns."""
    return {"InvoiceId": world.fk("Invoice", world.plans["InvoiceSplit"]["invoice"])}


def build_invoice_split_item(world: w.World) -> dict[str, Any]:
    """InvoiceSplitItem columns: a split's percentages sum to 100."""
    p = world.plans["InvoiceSplitItem"]
    return {
        "InvoiceSplitId": world.fk("InvoiceSplit", p["split"]),
        "InvoiceId": world.fk("Invoice", p["invoice"]),
        "InvoiceDate": col.dates(p["day"]),
        "PaymentTerm": col.options(parties.PAYMENT_TERMS, p["term"]),
        "SplitPercentage": col.decimal_units(p["share"] * 100),
    }


#: The builder of each document object these plans describe.
BUILDERS: dict[str, w.Builder] = {
    "CreditMemo": build_credit_memo,
    "CreditMemoItem": build_credit_memo_item,
    "CreditTaxationItem": build_credit_taxation_item,
    "DebitMemo": build_debit_memo,
    "DebitMemoItem": build_debit_memo_item,
    "DebitTaxationItem": build_debit_taxation_item,
    "TaxationItem": build_taxation_item,
    "RefundInvoicePayment": build_refund_invoice_payment,
    "InvoiceSplit": build_invoice_split,
    "InvoiceSplitItem": build_invoice_split_item,
}
