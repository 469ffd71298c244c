"""Invoice Settlement documents: taxation items, payment refunds, debit and credit memos, splits.

Plans only (the first pass of :mod:`aquarium.datagen.settlement`). Amounts are int64 cents.
The story of the whole family, in the order it happens:

- Every invoice item with tax has one ``TaxationItem`` of exactly that tax, so an invoice's
  taxation items sum to its ``TaxAmount``.
- Each payment's ``PaymentApplication`` to its invoice mirrors its ``InvoicePayment`` (same
  amount); its items spread that amount first-in-first-out over the invoice's lines (each item,
  then its tax). An overpayment's unapplied rest (after its credit-balance refunds) may pay a
  debit memo of the account: ``Payment.AppliedAmount + UnappliedAmount + refunds of the
  unapplied part = Amount``.
- A few payments are partly refunded back to the customer: such a ``Refund`` reverses part of
  the ``InvoicePayment`` (``RefundInvoicePayment``) and reopens the invoice's balance.
- Debit memos charge extra lines of an invoice; credit memos credit lines of an invoice. A
  posted credit memo applies to its invoice (at most the invoice's balance), then to a debit
  memo of the account (at most its balance), and what is left may be refunded.
  ``Balance = TotalAmount - AppliedAmount - RefundAmount`` for credit memos and
  ``Balance = TotalAmount - BeAppliedAmount`` for debit memos; item-level applications split
  each application over the memo's lines first-in-first-out, so they sum to it exactly.
- ``Invoice.Balance`` becomes ``Amount + AdjustmentAmount - PaymentAmount + RefundAmount -
  CreditMemoAmount`` for posted invoices, and ``Account.Balance`` their sum (debit memos are in
  ``Account.TotalDebitMemoBalance``).

The plans later families may read (:data:`TRANSACTIONS`) and what they promise are listed in
:mod:`aquarium.datagen.settlement`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import billing
from aquarium.datagen import world as w

Arr = Any
#: Transaction plans with ``amount``, ``account`` and ``created`` (see settlement.py).
TRANSACTIONS = (
    "TaxationItem",
    "CreditMemo",
    "CreditMemoItem",
    "CreditTaxationItem",
    "DebitMemo",
    "DebitMemoItem",
    "DebitTaxationItem",
    "CreditMemoApplication",
    "CreditMemoApplicationItem",
    "PaymentApplication",
    "PaymentApplicationItem",
    "RefundApplication",
    "RefundApplicationItem",
    "RefundInvoicePayment",
)
MEMO_STATUS_POSTED, MEMO_STATUS_CANCELED = 1, 2
PAYMENT_REFUND_SHARE = 0.01  # of payments, partly refunded back to the customer
DEBIT_MEMO_SHARE = 0.02  # of posted invoices, followed by a debit memo
CREDIT_MEMO_SHARE = 0.015  # of paid posted invoices, credited by a credit memo
CREDIT_MEMO_SHARE_OPEN = 0.15  # of posted invoices with a balance
SPLIT_SHARE = 0.005  # of posted invoices, split


def plan(world: w.World) -> None:
    """Plan taxation items, payment refunds, memos and splits; applications come after
    (:mod:`aquarium.datagen.settlement_apply`)."""
    _plan_taxation(world)
    _plan_payment_refunds(world)
    _plan_debit_memos(world)
    _plan_credit_memos(world)
    _plan_splits(world)


def _some(
    rng: np.random.Generator, eligible: Arr, share: float | Arr, must: Arr | None = None
) -> Arr:
    """Indices of ``eligible`` rows drawn with chance ``share``, sorted; at least one row (one
    where ``must`` holds, if ``must`` is given and holds on an eligible row) if any is eligible,
    so every export has rows even at the smallest scales."""
    drawn = eligible & (rng.random(len(eligible)) < share)
    wanted = eligible if must is None else eligible & must
    if not (drawn & wanted).any():
        fallback = np.flatnonzero(wanted if wanted.any() else eligible)[:1]
        drawn[fallback] = True
    return np.flatnonzero(drawn)


def _tax(amount: Arr, bps: Arr) -> Arr:
    return (amount * bps + 5000) // 10000


def _plan_taxation(world: w.World) -> None:
    items = world.plans["InvoiceItem"]
    item = np.flatnonzero(items["tax"] > 0)
    account = items["account"][item]
    of_item = np.full(len(items["tax"]), -1, dtype=np.int64)
    of_item[item] = np.arange(len(item))
    items["taxation_item"] = of_item
    world.plans["TaxationItem"] = {
        "item": item,
        "account": account,
        "amount": items["tax"][item],
        "created": items["created"][item],
    }


def _plan_payment_refunds(world: w.World) -> None:
    """Refunds of part of an applied payment: they reopen the invoice they paid."""
    rng = world.rng("plan:RefundInvoicePayment")
    pay = world.plans["Payment"]
    inv = world.plans["Invoice"]
    payment = _some(rng, pay["applied"] > 1, PAYMENT_REFUND_SHARE)
    n = len(payment)
    applied = pay["applied"][payment]
    amount = np.maximum(1, np.floor(applied * rng.uniform(0.1, 0.6, n))).astype(np.int64)
    created = w.after(rng, pay["created"][payment], 20)
    world.plans["RefundInvoicePayment"] = {
        "payment": payment,
        "invoice": pay["invoice"][payment],
        "account": pay["account"][payment],
        "amount": amount,
        "created": created,
    }
    n_inv = len(inv["day"])
    inv["refund"] = w.group_sum(amount, pay["invoice"][payment], n_inv)
    pay["refund"] = w.group_sum(amount, payment, len(pay["applied"]))
    inv["balance"] = inv["balance"] + inv["refund"]


def _memo_lines(
    rng: np.random.Generator, world: w.World, invoice: Arr, max_lines: int, low: float, high: float
) -> dict[str, Arr]:
    """Lines copying the first 1..max_lines items of each ``invoice``, at a share of each."""
    inv = world.plans["Invoice"]
    items = world.plans["InvoiceItem"]
    acc = world.plans["Account"]
    n_items = np.diff(np.append(inv["item_start"], len(items["invoice"])))[invoice]
    counts = np.minimum(n_items, 1 + rng.integers(0, max_lines, len(invoice)))
    memo, position = w.expand(counts)
    item = inv["item_start"][invoice][memo] + position
    n = len(item)
    amount = np.maximum(1, np.floor(items["amount"][item] * rng.uniform(low, high, n)))
    amount = amount.astype(np.int64)
    account = items["account"][item]
    tax = _tax(amount, acc["tax_bps"][account])
    return {
        "memo": memo,
        "item": item,
        "account": account,
        "charge": items["charge"][item],
        "subscription": items["subscription"][item],
        "amount": amount,
        "tax": tax,
        "counts": counts,
    }


def _taxes_of(lines: dict[str, Arr], created: Arr) -> dict[str, Arr]:
    """One taxation item per memo line with tax."""
    line = np.flatnonzero(lines["tax"] > 0)
    return {
        "line": line,
        "memo": lines["memo"][line],
        "item": lines["item"][line],
        "account": lines["account"][line],
        "amount": lines["tax"][line],
        "created": created[line],
    }


def _memo_header(
    rng: np.random.Generator, world: w.World, invoice: Arr, lines: dict[str, Arr], days: int
) -> dict[str, Arr]:
    inv = world.plans["Invoice"]
    n = len(invoice)
    created = w.after(rng, inv["created"][invoice], days)
    starts = w.group_starts(lines["counts"])
    without_tax = w.group_sum(lines["amount"], lines["memo"], n)
    tax = w.group_sum(lines["tax"], lines["memo"], n)
    status = np.where(rng.random(n) < 0.03, MEMO_STATUS_CANCELED, MEMO_STATUS_POSTED)
    if n >= 3 and not (status == MEMO_STATUS_CANCELED).any():
        status[-1] = MEMO_STATUS_CANCELED  # every export shows the cancelled fields in use
    return {
        "invoice": invoice,
        "account": inv["account"][invoice],
        "without_tax": without_tax,
        "tax": tax,
        "amount": without_tax + tax,
        "status": status,
        "line_start": starts,
        "line_count": lines["counts"],
        "created": created,
        "updated": w.after(rng, created, 5),
    }


def _plan_debit_memos(world: w.World) -> None:
    rng = world.rng("plan:DebitMemo")
    inv = world.plans["Invoice"]
    taxed = world.plans["Account"]["tax_bps"][inv["account"]] > 0
    invoice = _some(rng, inv["status"] == billing.POSTED, DEBIT_MEMO_SHARE, taxed)
    lines = _memo_lines(rng, world, invoice, 2, 0.05, 0.3)
    memo = _memo_header(rng, world, invoice, lines, 30)
    item_created = w.after(rng, memo["created"][lines["memo"]], 0.0001)
    world.plans["DebitMemo"] = memo
    world.plans["DebitMemoItem"] = _item_plan(lines, item_created)
    world.plans["DebitTaxationItem"] = _taxes_of(lines, item_created)


def _plan_credit_memos(world: w.World) -> None:
    rng = world.rng("plan:CreditMemo")
    inv = world.plans["Invoice"]
    # Most credit memos correct an invoice still open; some come after it was paid (refunded).
    posted = inv["status"] == billing.POSTED
    share = np.where(inv["balance"] > 0, CREDIT_MEMO_SHARE_OPEN, CREDIT_MEMO_SHARE)
    taxed = world.plans["Account"]["tax_bps"][inv["account"]] > 0
    invoice = _some(rng, posted, share, taxed)
    lines = _memo_lines(rng, world, invoice, 2, 0.1, 1.0)
    memo = _memo_header(rng, world, invoice, lines, 45)
    item_created = w.after(rng, memo["created"][lines["memo"]], 0.0001)
    world.plans["CreditMemo"] = memo
    world.plans["CreditMemoItem"] = _item_plan(lines, item_created)
    world.plans["CreditTaxationItem"] = _taxes_of(lines, item_created)


def _item_plan(lines: dict[str, Arr], created: Arr) -> dict[str, Arr]:
    return {key: value for key, value in lines.items() if key != "counts"} | {"created": created}


def first_per_group(group: Arr, valid: Arr) -> Arr:
    """Mask keeping, among ``valid`` rows, only the first row of each ``group`` value."""
    keep = np.zeros(len(group), dtype=bool)
    rows = np.flatnonzero(valid)
    _, first = np.unique(group[rows], return_index=True)
    keep[rows[first]] = True
    return keep


def first_memo_of(account: Arr, memo_account: Arr) -> Arr:
    """Index of the first memo of each ``account`` (memos sorted by account), or -1."""
    pos: Arr = np.searchsorted(memo_account, account)
    found: Arr = pos < len(memo_account)
    found[found] = memo_account[pos[found]] == account[found]
    return np.where(found, pos, -1)


def _plan_splits(world: w.World) -> None:
    rng = world.rng("plan:InvoiceSplit")
    inv = world.plans["Invoice"]
    invoice = _some(rng, inv["status"] == billing.POSTED, SPLIT_SHARE)
    n = len(invoice)
    created = w.after(rng, inv["created"][invoice], 10)
    world.plans["InvoiceSplit"] = {"invoice": invoice, "created": created}
    counts = 2 + (rng.random(n) < 0.3)
    split, position = w.expand(counts)
    share = 10000 // counts[split]  # hundredths of a percent
    share = np.where(position == counts[split] - 1, 10000 - share * (counts[split] - 1), share)
    world.plans["InvoiceSplitItem"] = {
        "split": split,
        "invoice": invoice[split],
        "day": np.minimum(inv["day"][invoice[split]] + 30 * position, w.END_DAY),
        "term": rng.integers(0, 5, len(split)),
        "share": share,
        "created": w.after(rng, created[split], 0.0001),
    }
