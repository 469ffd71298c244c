"""Invoice Settlement applications: how payments, credit memos and refunds settle documents.

Runs after :mod:`aquarium.datagen.settlement` (see its docstring for the story and the plan
contract). Item-level applications come from :func:`overlap`: the lines of a document (each
item, then its tax) and the applications drawn on it are laid end to end, first in first out,
and every (line, application) pair gets the length of their overlap, so the items of an
application sum to it exactly and a line is never drawn beyond its amount.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import billing
from aquarium.datagen import columns as col
from aquarium.datagen import settlement_docs as docs
from aquarium.datagen import world as w

Arr = Any
INVOICE, DEBIT_MEMO, REFUND = 0, 1, 2  # what a credit memo's application draws for
#: What a PaymentApplicationItem's ``target`` indexes, by its ``kind``.
ON_INVOICE_ITEM, ON_TAXATION_ITEM, ON_DEBIT_MEMO_ITEM, ON_DEBIT_TAXATION_ITEM = 0, 1, 2, 3
#: Refund.SourceType per refund origin: credit balance (money.py), payment, credit memo.
FROM_CREDIT_BALANCE, FROM_PAYMENT, FROM_CREDIT_MEMO = 0, 1, 2


def lines(item_parent: Arr, item_amount: Arr, tax_item: Arr, tax_amount: Arr) -> dict[str, Arr]:
    """A document's lines: each item, then its tax (``tax`` -1 on items, the taxation item on
    taxes). Items must be laid out document by document, with at most one tax each; the lines
    then are too, without sorting."""
    n_items, n_tax = len(item_parent), len(tax_item)
    has_tax = np.zeros(n_items, dtype=np.int64)
    has_tax[tax_item] = 1
    item_at = np.arange(n_items) + np.cumsum(has_tax) - has_tax
    tax_at = item_at[tax_item] + 1
    n = n_items + n_tax
    item = np.empty(n, dtype=np.int64)
    item[item_at] = np.arange(n_items)
    item[tax_at] = tax_item
    tax = np.full(n, -1, dtype=np.int64)
    tax[tax_at] = np.arange(n_tax)
    amount = np.empty(n, dtype=np.int64)
    amount[item_at] = item_amount
    amount[tax_at] = tax_amount
    return {"parent": item_parent[item], "item": item, "tax": tax, "amount": amount}


def _offsets(parent: Arr, amount: Arr, n_parent: int) -> tuple[Arr, Arr, Arr]:
    """(start of each row within its parent's run, row count and first row per parent);
    rows must be sorted by parent."""
    counts = np.bincount(parent, minlength=n_parent).astype(np.int64)
    first = w.group_starts(counts)
    cum = np.cumsum(amount) - amount
    return cum - cum[first[parent]] if len(parent) else cum, counts, first


def overlap(
    doc_lines: dict[str, Arr], capacity: Arr, consumer: Arr, taken: Arr, n_parent: int
) -> tuple[Arr, Arr, Arr]:
    """(line, application, amount) for every application drawing on a document's lines.

    ``capacity`` is each line's amount, ``consumer`` the document of each application and
    ``taken`` its amount, applications of one document in the order they happened.
    """
    line_lo, line_counts, line_first = _offsets(doc_lines["parent"], capacity, n_parent)
    order = np.lexsort((np.arange(len(consumer)), consumer))
    lo_sorted, _, _ = _offsets(consumer[order], taken[order], n_parent)
    app_lo = np.empty(len(consumer), dtype=np.int64)
    app_lo[order] = lo_sorted
    app, position = w.expand(line_counts[consumer])
    line = line_first[consumer[app]] + position
    lo = np.maximum(line_lo[line], app_lo[app])
    hi = np.minimum(line_lo[line] + capacity[line], app_lo[app] + taken[app])
    keep = hi > lo
    return line[keep], app[keep], (hi - lo)[keep]


def plan(world: w.World) -> None:
    """Applications of payments, credit memos and refunds, and the balances they leave."""
    _payments_to_invoices(world)
    _payments_to_debit_memos(world)
    _credit_memo_applications(world)
    _refunds(world)
    _balances(world)


def _payments_to_invoices(world: w.World) -> None:
    inv = world.plans["Invoice"]
    items = world.plans["InvoiceItem"]
    tax = world.plans["TaxationItem"]
    pay = world.plans["Payment"]
    n_inv = len(inv["day"])
    doc = lines(items["invoice"], items["amount"], tax["item"], tax["amount"])
    # A charge adjustment can make a payment exceed the lines: the last item line takes the
    # rest (a tax line is never paid beyond its tax).
    capacity = doc["amount"].copy()
    excess = np.maximum(0, w.group_sum(pay["applied"], pay["invoice"], n_inv) - inv["amount"])
    last_item = np.full(n_inv, -1)
    item_lines = np.flatnonzero(doc["tax"] < 0)
    np.maximum.at(last_item, doc["parent"][item_lines], item_lines)
    has = last_item >= 0
    np.add.at(capacity, last_item[has], excess[has])
    line, app, amount = overlap(doc, capacity, pay["invoice"], pay["applied"], n_inv)
    tax_line = doc["tax"][line]
    world.plans["_pai_invoice"] = {
        "app": app,
        "target": np.where(tax_line < 0, doc["item"][line], tax_line),
        "kind": np.where(tax_line < 0, ON_INVOICE_ITEM, ON_TAXATION_ITEM).astype(np.int8),
        "amount": amount,
    }


def _payments_to_debit_memos(world: w.World) -> None:
    """An overpayment's unapplied rest pays the first debit memo of its account."""
    pay = world.plans["Payment"]
    ref = world.plans["Refund"]
    dm = world.plans["DebitMemo"]
    rng = world.rng("plan:PaymentApplication")
    n_pay = len(pay["applied"])
    done = ref["status"] == 0
    refunded = w.group_sum(ref["amount"][done], ref["payment"][done], n_pay)
    available = pay["extra"] - refunded
    target = docs.first_memo_of(pay["account"], dm["account"])
    posted = np.zeros(n_pay, dtype=bool)
    posted[target >= 0] = dm["status"][target[target >= 0]] == docs.MEMO_STATUS_POSTED
    keep = docs.first_per_group(target, posted & (available > 0))
    payment = np.flatnonzero(keep)
    debit_memo = target[payment]
    amount = np.minimum(available[payment], dm["amount"][debit_memo])
    start = np.maximum(pay["created"][payment], dm["created"][debit_memo])
    world.plans["_pa_debit"] = {
        "payment": payment,
        "debit_memo": debit_memo,
        "amount": amount,
        "created": w.after(rng, start, 3),
    }
    pay["to_debit_memos"] = w.group_sum(amount, payment, n_pay)
    pay["unapplied"] = available - pay["to_debit_memos"]
    dm["paid"] = w.group_sum(amount, debit_memo, len(dm["amount"]))


def _credit_memo_applications(world: w.World) -> None:
    """Each posted credit memo: to its invoice, then a debit memo, then maybe refunded."""
    rng = world.rng("plan:CreditMemoApplication")
    inv = world.plans["Invoice"]
    cm = world.plans["CreditMemo"]
    dm = world.plans["DebitMemo"]
    n_cm, n_dm, n_inv = len(cm["amount"]), len(dm["amount"]), len(inv["day"])
    posted = cm["status"] == docs.MEMO_STATUS_POSTED
    to_invoice = np.where(
        posted & (rng.random(n_cm) < 0.85),
        np.minimum(cm["amount"], np.maximum(inv["balance"][cm["invoice"]], 0)),
        0,
    )
    inv["credit_memo"] = w.group_sum(to_invoice, cm["invoice"], n_inv)
    inv["balance"] = inv["balance"] - inv["credit_memo"]
    rest = cm["amount"] - to_invoice
    target = docs.first_memo_of(cm["account"], dm["account"])
    dm_open = dm["amount"] - dm["paid"]
    dm_open = np.where(dm["status"] == docs.MEMO_STATUS_POSTED, dm_open, 0)
    open_target = np.where(target >= 0, dm_open[np.maximum(target, 0)], 0)
    keep = docs.first_per_group(target, posted & (rest > 0) & (open_target > 0))
    to_debit = np.where(keep, np.minimum(rest, open_target), 0)
    dm["credited"] = w.group_sum(to_debit[keep], target[keep], n_dm)
    rest = rest - to_debit
    left = posted & (rest > 0)
    refunds = left & (rng.random(n_cm) < 0.3)
    if not refunds.any() and left.any():
        refunds[np.argmax(np.where(left, rest, 0))] = True
    refunded = np.where(refunds, rest, 0)
    cm["applied"] = to_invoice + to_debit
    cm["refunded"] = refunded
    cm["balance"] = np.where(posted, cm["amount"] - cm["applied"] - refunded, 0)
    dm["balance"] = np.where(
        dm["status"] == docs.MEMO_STATUS_POSTED, dm["amount"] - dm["paid"] - dm["credited"], 0
    )
    # Consumers of each credit memo's lines, in order: invoice, debit memo, refund.
    kinds = (to_invoice, to_debit, refunded)
    memo = np.concatenate([np.flatnonzero(k > 0) for k in kinds])
    kind = np.concatenate([np.full(int((k > 0).sum()), i) for i, k in enumerate(kinds)])
    taken = np.concatenate([k[k > 0] for k in kinds]).astype(np.int64)
    lag = np.array([2.0, 5.0, 30.0])[kind]
    start = cm["created"][memo]
    on_dm = kind == DEBIT_MEMO
    start[on_dm] = np.maximum(start[on_dm], dm["created"][target[memo[on_dm]]])
    world.plans["_cm_uses"] = {
        "memo": memo,
        "kind": kind,
        "amount": taken,
        "invoice": np.where(kind == INVOICE, cm["invoice"][memo], -1),
        "debit_memo": np.where(on_dm, target[memo], -1),
        "created": np.minimum(
            start + (rng.random(len(memo)) * lag * 86_400e6).astype(np.int64) + 1,
            np.maximum(w.END_US, start + 1),
        ),
    }


def _refunds(world: w.World) -> None:
    """Append the payment and credit-memo refunds to Refund; one RefundApplication each."""
    ref = world.plans["Refund"]
    rip = world.plans["RefundInvoicePayment"]
    uses = world.plans["_cm_uses"]
    cm = world.plans["CreditMemo"]
    rng = world.rng("plan:RefundApplication")
    n_old, n_rip = len(ref["amount"]), len(rip["amount"])
    memo_refund = np.flatnonzero(uses["kind"] == REFUND)
    memo = uses["memo"][memo_refund]
    created = np.concatenate([rip["created"], uses["created"][memo_refund]])
    added = {
        "payment": np.concatenate([rip["payment"], np.full(len(memo), -1)]),
        "account": np.concatenate([rip["account"], cm["account"][memo]]),
        "amount": np.concatenate([rip["amount"], uses["amount"][memo_refund]]),
        "status": np.zeros(n_rip + len(memo), dtype=np.int64),
        "created": created,
        "updated": w.after(rng, created, 2),
    }
    for key, value in added.items():
        ref[key] = np.concatenate([ref[key], value.astype(ref[key].dtype)])
    ref["source"] = np.concatenate(
        [
            np.full(n_old, FROM_CREDIT_BALANCE),
            np.full(n_rip, FROM_PAYMENT),
            np.full(len(memo), FROM_CREDIT_MEMO),
        ]
    )
    rip["refund"] = n_old + np.arange(n_rip)
    refund = np.flatnonzero(ref["status"] == 0)
    from_memo = ref["source"][refund] == FROM_CREDIT_MEMO
    memo_of_refund = np.full(len(ref["amount"]), -1)
    memo_of_refund[n_old + n_rip :] = memo
    world.plans["RefundApplication"] = {
        "refund": refund,
        "payment": np.where(from_memo, -1, ref["payment"][refund]),
        "credit_memo": memo_of_refund[refund],
        "account": ref["account"][refund],
        "amount": ref["amount"][refund],
        "created": w.after(rng, ref["created"][refund], 0.0001),
    }
    # The RefundApplication of each credit-memo use of kind REFUND.
    use_app = np.full(len(uses["memo"]), -1)
    use_app[memo_refund] = np.flatnonzero(from_memo)
    uses["refund_app"] = use_app


def _balances(world: w.World) -> None:
    inv = world.plans["Invoice"]
    acc = world.plans["Account"]
    pay = world.plans["Payment"]
    cm = world.plans["CreditMemo"]
    dm = world.plans["DebitMemo"]
    n_acc = len(acc["created"])
    posted = inv["status"] == billing.POSTED
    acc["balance"] = w.group_sum(inv["balance"][posted], inv["account"][posted], n_acc)
    acc["debit_memo_balance"] = w.group_sum(dm["balance"], dm["account"], n_acc)
    acc["credit_memo_balance"] = w.group_sum(cm["balance"], cm["account"], n_acc)
    acc["unapplied"] = w.group_sum(pay["unapplied"], pay["account"], n_acc)
    _touch(world)


def _touch(world: w.World) -> None:
    """A document is updated when money last moved on it (UpdatedDate >= that event)."""
    uses = world.plans["_cm_uses"]
    rip = world.plans["RefundInvoicePayment"]
    debit = world.plans["_pa_debit"]
    events = (
        ("Invoice", uses["invoice"], uses["created"]),
        ("Invoice", rip["invoice"], rip["created"]),
        ("CreditMemo", uses["memo"], uses["created"]),
        ("DebitMemo", uses["debit_memo"], uses["created"]),
        ("DebitMemo", debit["debit_memo"], debit["created"]),
        ("Payment", debit["payment"], debit["created"]),
        ("Payment", rip["payment"], rip["created"]),
    )
    for name, row, when in events:
        plan = world.plans[name]
        updated = plan.setdefault("updated", plan["created"].copy())
        has = row >= 0
        np.maximum.at(updated, row[has], when[has])


def invoice_columns(world: w.World) -> dict[str, Any]:
    """Invoice fields credit memos and payment refunds fill (billing.py leaves them zero)."""
    inv = world.plans["Invoice"]
    return {
        "CreditMemoAmount": col.money(inv["credit_memo"]),
        "RefundAmount": col.money(inv["refund"]),
    }


def payment_columns(world: w.World) -> dict[str, Any]:
    """Payment: applied to invoices and debit memos, the unapplied rest, refunds of it."""
    pay = world.plans["Payment"]
    return {
        "AppliedAmount": col.money(pay["applied"] + pay["to_debit_memos"]),
        "UnappliedAmount": col.money(pay["unapplied"]),
        "RefundAmount": col.money(pay["refund"]),
    }


def invoice_payment_columns(world: w.World) -> dict[str, Any]:
    """InvoicePayment.RefundAmount: what RefundInvoicePayment took back from it."""
    payment = world.plans["InvoicePayment"]["payment"]
    return {"RefundAmount": col.money(world.plans["Payment"]["refund"][payment])}


def refund_columns(world: w.World) -> dict[str, Any]:
    """Refund.SourceType by origin; credit memo refunds stay empty (no such core option)."""
    source = world.plans["Refund"]["source"]
    index = np.select([source == FROM_PAYMENT, source == FROM_CREDIT_BALANCE], [0, 1], -1)
    return {"SourceType": col.options(("Payment", "CreditBalance"), index)}


def account_columns(world: w.World) -> dict[str, Any]:
    """Account fields Invoice Settlement adds: open memo balances, unapplied payments."""
    acc = world.plans["Account"]
    return {
        "TotalDebitMemoBalance": col.money(acc["debit_memo_balance"]),
        "UnappliedCreditMemoAmount": col.money(acc["credit_memo_balance"]),
        "UnappliedBalance": col.money(acc["unapplied"]),
    }


#: Columns of objects other families build.
COLUMNS: dict[str, w.Builder] = {
    "Invoice": invoice_columns,
    "Payment": payment_columns,
    "InvoicePayment": invoice_payment_columns,
    "Refund": refund_columns,
    "Account": account_columns,
}
