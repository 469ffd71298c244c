"""Payments applied to invoices, overpayments into credit balance, and refunds out of it.

Invariants (all amounts in cents in the plan):

- ``Payment.Amount = AppliedInvoiceAmount + AppliedCreditBalanceAmount``; each payment pays one
  posted invoice through one ``InvoicePayment`` of ``AppliedInvoiceAmount``.
- ``Invoice.Balance = Amount + AdjustmentAmount - PaymentAmount`` for posted invoices; a draft
  invoice's balance is its amount (nothing can be applied yet) and a canceled one's is zero.
  :mod:`aquarium.datagen.settlement` later adds ``+ RefundAmount - CreditMemoAmount``.
- ``Account.Balance`` (and ``TotalInvoiceBalance``) is the sum of the balances of the account's
  *posted* invoices, as in Zuora, where drafts are not yet receivable.
- An overpayment is a credit balance adjustment of type ``Increase``; a processed refund takes
  money back out of the credit balance with a ``Decrease``. ``Account.CreditBalance`` is the sum
  of the increases minus the decreases and never negative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aquarium.datagen import accounting, billing, parties
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

PAYMENT_STATUS = ("Draft", "Processing", "Processed", "Error", "Canceled", "Posted")
PROCESSED = 2
REFUND_STATUS = ("Processed", "Canceled", "Error")
GATEWAY_STATES = ("NotSubmitted", "Submitted", "Settled", "FailedToSettle")
SETTLED = 2
PAYMENT_SOURCES = ("PaymentRun", "Import", "Manually", "API")
FROM_PAYMENT_RUN = 0
#: Payment.SourceName is ``RUN_PREFIX`` + a six-digit number (the payment run's number).
RUN_PREFIX = "PR-"
#: Payment run numbers per shard: shard k numbers its runs k * RUN_NUMBERS + (1 .. RUN_NUMBERS - 1).
RUN_NUMBERS = 10**5


def plan(world: w.World) -> None:
    """Which invoices get paid, how much, and the credit-balance flows."""
    rng = world.rng("plan:Payment")
    inv = world.plans["Invoice"]
    acc = world.plans["Account"]
    n_inv = len(inv["day"])
    posted = inv["status"] == billing.POSTED
    outstanding = inv["amount"] + inv["adjustment"]
    # Old invoices are nearly all paid; recent ones often still open.
    pay_chance = np.where(inv["due_day"] < w.END_DAY - 30, 0.92, 0.4)
    pays = posted & (outstanding > 0) & (rng.random(n_inv) < pay_chance)
    fraction = np.where(rng.random(n_inv) < 0.88, 1.0, rng.uniform(0.3, 0.9, n_inv))
    applied_all = np.where(pays, np.maximum(1, np.floor(outstanding * fraction)), 0)
    applied_all = applied_all.astype(np.int64)
    invoice = np.flatnonzero(pays)
    n = len(invoice)
    overpaid = rng.random(n) < 0.03
    extra = np.where(overpaid, rng.integers(100, 10_000, n), 0)
    lag = rng.integers(0, 1 + inv["due_day"][invoice] - inv["day"][invoice] + 10)
    day = np.minimum(inv["day"][invoice] + lag, w.END_DAY)
    created = np.maximum(w.at_day(rng, day), inv["created"][invoice] + 1_000_000)
    world.plans["Payment"] = {
        "invoice": invoice,
        "account": inv["account"][invoice],
        "applied": applied_all[invoice],
        "extra": extra,
        "day": created // col.US_PER_DAY,
        "created": created,
        "updated": w.after(rng, created, 3),
    }
    world.plans["InvoicePayment"] = {
        "payment": np.arange(n),
        "created": w.after(rng, created, 0.0001),
    }
    inv["paid"] = applied_all
    inv["balance"] = np.select(
        [posted, inv["status"] == billing.DRAFT], [outstanding - applied_all, inv["amount"]], 0
    )
    inv["updated"] = inv["created"].copy()
    inv["updated"][invoice] = np.maximum(inv["created"][invoice], created)
    n_acc = len(acc["created"])
    acc["balance"] = w.group_sum(inv["balance"][posted], inv["account"][posted], n_acc)
    _plan_payment_draws(world)
    _plan_refunds(world)


def _plan_payment_draws(world: w.World) -> None:
    """The gateway-side numbers of each payment, drawn once so other families can agree with
    them (transaction logs, payment runs, reconciliation): same generator, same order as the
    Payment builder always drew them."""
    p = world.plans["Payment"]
    rng = world.rng("Payment")
    n = len(p["created"])
    method = _method(world, p["account"])
    p["method"] = method
    p["electronic"] = parties.ELECTRONIC_PM[world.plans["PaymentMethod"]["type"][method]]
    p["settled"] = w.after(rng, p["created"], 2)
    p["gateway"] = rng.integers(0, 4, n)
    p["auth"] = rng.integers(0, 10**9, n)
    p["bin"] = rng.integers(400000, 560000, n)
    p["reference"] = rng.integers(0, 10**9, n)
    p["source"] = rng.integers(0, 4, n)
    p["run_number"] = rng.integers(1, RUN_NUMBERS, n) + world.shard * RUN_NUMBERS
    p["comment"] = rng.integers(0, 200, n)
    p["has_comment"] = rng.random(n) < 0.05


def _plan_refunds(world: w.World) -> None:
    rng = world.rng("plan:Refund")
    pay = world.plans["Payment"]
    acc = world.plans["Account"]
    over = np.flatnonzero(pay["extra"] > 0)
    refunded = over[rng.random(len(over)) < 0.4]
    n = len(refunded)
    amount = np.maximum(1, np.floor(pay["extra"][refunded] * rng.uniform(0.3, 1, n)))
    created = w.after(rng, pay["created"][refunded], 30)
    status = col.pick(rng, n, (0.95, 0.03, 0.02))
    world.plans["Refund"] = {
        "payment": refunded,
        "account": pay["account"][refunded],
        "amount": amount.astype(np.int64),
        "status": status,
        "created": created,
        "updated": w.after(rng, created, 2),
    }
    # Credit balance adjustments: one increase per overpayment, one decrease per processed refund.
    rng = world.rng("plan:CreditBalanceAdjustment")
    done = np.flatnonzero(status == 0)
    increase_created = w.after(rng, pay["created"][over], 0.0001)
    decrease_created = w.after(rng, created[done], 0.0001)
    account = np.concatenate([pay["account"][over], pay["account"][refunded][done]])
    amount_all = np.concatenate([pay["extra"][over], amount[done]]).astype(np.int64)
    decrease = np.arange(len(account)) >= len(over)
    all_created = np.concatenate([increase_created, decrease_created])
    world.plans["CreditBalanceAdjustment"] = {
        "account": account,
        "amount": amount_all,
        "decrease": decrease,
        "payment": np.concatenate([over, np.full(len(done), -1)]),
        "refund": np.concatenate([np.full(len(over), -1), done]),
        "invoice": np.concatenate([pay["invoice"][over], np.full(len(done), -1)]),
        "created": all_created,
        "updated": all_created,
    }
    signed = np.where(decrease, -amount_all, amount_all)
    acc["credit_balance"] = w.group_sum(signed, account, len(acc["created"]))


def _method(world: w.World, account: Any) -> Any:
    """Index of each account's default payment method (the first one)."""
    return world.plans["Account"]["pm_start"][account]


def build_payment(world: w.World) -> dict[str, Any]:
    """Payment columns: electronic through a gateway for cards, ACH and PayPal."""
    p = world.plans["Payment"]
    n = world.count("Payment")
    method = p["method"]
    electronic = p["electronic"]
    acc = world.plans["Account"]
    return {
        "AccountId": world.fk("Account", p["account"]),
        "PaymentMethodId": world.fk("PaymentMethod", method),
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(p["day"])),
        "PaymentNumber": col.numbered("P-", world.number("Payment", np.arange(n)), 8),
        "EffectiveDate": col.dates(p["day"]),
        "Amount": col.money(p["applied"] + p["extra"]),
        "AppliedInvoiceAmount": col.money(p["applied"]),
        "AppliedCreditBalanceAmount": col.money(p["extra"]),
        "RefundAmount": col.money(np.zeros(n, dtype=np.int64)),
        "Currency": col.options(w.CURRENCIES, acc["currency"][p["account"]]),
        "Status": col.options(PAYMENT_STATUS, np.full(n, PROCESSED)),
        "Type": col.options(("External", "Electronic"), electronic * 1),
        "Gateway": col.options(parties.GATEWAYS, p["gateway"], electronic),
        "GatewayState": col.options(GATEWAY_STATES, electronic * SETTLED),
        "GatewayResponse": col.options(("Approved",), np.zeros(n, dtype=np.int64), electronic),
        "GatewayResponseCode": col.options(("100",), np.zeros(n, dtype=np.int64), electronic),
        "GatewayOrderId": col.numbered(
            "ORD-", world.number("Payment", np.arange(n)), 9, electronic
        ),
        "AuthTransactionId": col.numbered("AUTH", p["auth"], 9, electronic),
        "BankIdentificationNumber": col.numbered("", p["bin"], 6, electronic),
        "ReferenceId": col.numbered("", p["reference"], 10, electronic),
        "SecondPaymentReferenceId": col.null_text(n),
        "SoftDescriptor": col.options(
            ("AQUARIUM*SUBSCR",), np.zeros(n, dtype=np.int64), electronic
        ),
        "Source": col.options(PAYMENT_SOURCES, p["source"]),
        "SourceName": col.numbered(RUN_PREFIX, p["run_number"], 6),
        "AccountingCode": col.options(accounting.CODE_NAMES, np.full(n, accounting.CASH)),
        "Comment": col.take(world.pools.sentences, p["comment"], p["has_comment"]),
        "SubmittedOn": col.stamps(p["created"], electronic),
        "SettledOn": col.stamps(p["settled"], electronic),
        "CancelledOn": col.stamps(p["created"], np.zeros(n, dtype=bool)),
        "MarkedForSubmissionOn": col.stamps(p["created"], electronic),
    }


def build_invoice_payment(world: w.World) -> dict[str, Any]:
    """InvoicePayment columns: one application of each payment to its invoice."""
    p = world.plans["InvoicePayment"]
    pay = world.plans["Payment"]
    n = world.count("InvoicePayment")
    return {
        "InvoiceId": world.fk("Invoice", pay["invoice"]),
        "PaymentId": world.fk("Payment", p["payment"]),
        "AccountId": world.fk("Account", pay["account"]),
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(pay["day"])),
        "Amount": col.money(pay["applied"]),
        "RefundAmount": col.money(np.zeros(n, dtype=np.int64)),
    }


def build_refund(world: w.World) -> dict[str, Any]:
    """Refund columns: refunds of credit balance to the default payment method."""
    p = world.plans["Refund"]
    rng = world.rng("Refund")
    n = world.count("Refund")
    method = _method(world, p["account"])
    kind = world.plans["PaymentMethod"]["type"][method]
    day = p["created"] // col.US_PER_DAY
    return {
        "AccountId": world.fk("Account", p["account"]),
        "PaymentMethodId": world.fk("PaymentMethod", method),
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(day)),
        "RefundNumber": col.numbered("R-", world.number("Refund", np.arange(n)), 8),
        "RefundDate": col.dates(day),
        "Amount": col.money(p["amount"]),
        "Status": col.options(REFUND_STATUS, p["status"]),
        "Type": col.options(("External", "Electronic"), parties.ELECTRONIC_PM[kind] * 1),
        "MethodType": col.options(parties.PM_TYPES, kind),
        "SourceType": col.options(("Payment", "CreditBalance"), np.ones(n, dtype=np.int64)),
        "ReasonCode": col.options(
            ("Standard Refund", "Customer Satisfaction", "Duplicate Payment"),
            col.pick(rng, n, (0.7, 0.2, 0.1)),
        ),
        "AccountingCode": col.options(accounting.CODE_NAMES, np.full(n, accounting.REFUNDS)),
        "RefundTransactionTime": col.stamps(p["created"]),
        "Comment": col.take(world.pools.sentences, rng.integers(0, 200, n), rng.random(n) < 0.2),
    }


def build_credit_balance_adjustment(world: w.World) -> dict[str, Any]:
    """CreditBalanceAdjustment columns: overpayments in, credit-balance refunds out."""
    p = world.plans["CreditBalanceAdjustment"]
    rng = world.rng("CreditBalanceAdjustment")
    n = world.count("CreditBalanceAdjustment")
    decrease = p["decrease"]
    day = p["created"] // col.US_PER_DAY
    flag = pa.array(decrease)
    payment_ids = world.fk("Payment", p["payment"])
    refund_ids = world.fk("Refund", p["refund"])
    numbers = pc.if_else(
        flag,
        col.numbered("R-", world.number("Refund", p["refund"]), 8),
        col.numbered("P-", world.number("Payment", p["payment"]), 8),
    )
    return {
        "AccountId": world.fk("Account", p["account"]),
        "InvoiceId": world.fk("Invoice", p["invoice"]),
        "PaymentId": payment_ids,
        "RefundId": refund_ids,
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(day)),
        "Number": col.numbered("CBA-", world.number("CreditBalanceAdjustment", np.arange(n)), 8),
        "AdjustmentDate": col.dates(day),
        "Amount": col.money(p["amount"]),
        "Type": col.options(("Increase", "Decrease"), decrease * 1),
        "SourceTransactionType": col.options(
            ("Invoice", "Payment", "Refund", "Adjustment"), np.where(decrease, 2, 1)
        ),
        "SourceTransactionId": pc.if_else(flag, refund_ids, payment_ids),
        "SourceTransactionNumber": numbers,
        "Status": col.options(("Processed", "Canceled"), np.zeros(n, dtype=np.int64)),
        "ReasonCode": col.options(
            ("Standard Adjustment", "Overpayment", "Credit Balance Refund"),
            np.where(decrease, 2, 1),
        ),
        "AccountingCode": col.options(accounting.CODE_NAMES, np.full(n, accounting.ON_ACCOUNT)),
        "Comment": col.take(world.pools.sentences, rng.integers(0, 200, n), rng.random(n) < 0.1),
        "CancelledOn": col.stamps(p["created"], np.zeros(n, dtype=bool)),
        "ReferenceId": col.null_text(n),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "Payment": build_payment,
    "InvoicePayment": build_invoice_payment,
    "Refund": build_refund,
    "CreditBalanceAdjustment": build_credit_balance_adjustment,
}
