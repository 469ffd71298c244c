"""The registry of posting sources: which transactions the journal runs post, and how.

One :class:`Source` per transaction object that has a journal entry detail object. Each reads
the transaction's plan (``world.plans[source]``) into :class:`Postings`: a signed amount in
cents, the account, the transaction day and time, the debit and credit accounting codes of a
positive amount (a negative amount posts the other way round), the transaction type, whether
the row posts at all, and its container document.

The objects of other families are read through small adapters, because their plans name things
their own way. The Invoice Settlement family, TaxationItem and RefundInvoicePayment follow that
family's plan contract, read by :func:`_contract`: ``amount`` (int64 cents, >= 0), ``account``,
``created``, and the key of the row's container (``memo``, ``application``, ``payment``, ...);
memo lines post only when their memo is posted. A source whose plan is absent (its family is
not generated) is skipped: its detail object has no rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aquarium.datagen import accounting, billing, parties, revenue, settlement_docs
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

Arr = col.Arr
#: Zuora's journal run transaction types (JournalEntry.TransactionType and the details').
TRANSACTION_TYPES = (
    "Invoice Item",
    "Taxation Item",
    "Invoice Item Adjustment (Invoice)",
    "Invoice Item Adjustment (Tax)",
    "Invoice Adjustment",
    "Electronic Payment",
    "External Payment",
    "Electronic Refund",
    "External Refund",
    "Electronic Credit Balance Payment",
    "External Credit Balance Payment",
    "Electronic Credit Balance Refund",
    "External Credit Balance Refund",
    "Credit Balance Adjustment (Applied from Credit Balance)",
    "Credit Balance Adjustment (Transferred to Credit Balance)",
    "Revenue Event Item",
    "Debit Memo Item (Charge)",
    "Debit Memo Item (Tax)",
    "Credit Memo Item (Charge)",
    "Credit Memo Item (Tax)",
    "Credit Memo Application Item",
    "Electronic Payment Application",
    "External Payment Application",
    "Electronic Payment Application Item",
    "External Payment Application Item",
    "Electronic Refund Application",
    "External Refund Application",
    "Electronic Refund Application Item",
    "External Refund Application Item",
)
AR, CASH, ON_ACCOUNT = accounting.RECEIVABLE, accounting.CASH, accounting.ON_ACCOUNT
ADJUSTMENTS, DEFERRED = accounting.ADJUSTMENTS, revenue.DEFERRED_REVENUE
SALES_TAX = accounting.CODE_NAMES.index("Sales Tax Payable")


@dataclass(frozen=True)
class Postings:
    """One transaction object's rows as postings (arrays of the object's length)."""

    amount: Arr  #: signed cents; negative posts debit to ``credit`` and credit to ``debit``
    account: Arr
    day: Arr  #: the transaction day: its accounting period is the journal entry's
    created: Arr
    debit: Arr  #: accounting code index debited for a positive amount
    credit: Arr
    kind: Arr  #: index into TRANSACTION_TYPES
    valid: Arr  #: whether the row posts (processed, on a posted document)
    container: Arr  #: row of the container object; -1: the transaction is its own container


@dataclass(frozen=True)
class Source:
    """A transaction object posted by journal runs, and its journal entry detail object."""

    source: str
    read: Callable[[w.World], Postings]
    #: The object ContainerTransactionId points at (``None``: the transaction itself).
    container: str | None = None
    feature: str | None = None

    @property
    def detail(self) -> str:
        """The name of the journal entry detail object of this source."""
        return f"JournalEntryDetail{self.source}"


def _full(n: int, value: int) -> Arr:
    return np.full(n, value, dtype=np.int64)


def _kind(name: str, n: int) -> Arr:
    return _full(n, TRANSACTION_TYPES.index(name))


def _invoice_items(world: w.World) -> Postings:
    p = world.plans["InvoiceItem"]
    n = len(p["invoice"])
    scheduled = np.zeros(n, dtype=bool)
    scheduled[world.plans["RevenueScheduleItemInvoiceItem"]["item"]] = True
    # Scheduled revenue waits in Deferred Revenue until its revenue events recognise it.
    credit = np.where(scheduled, DEFERRED, revenue.recognized_code(world, p["charge"]))
    inv = world.plans["Invoice"]
    return Postings(
        amount=p["amount"],
        account=p["account"],
        day=inv["day"][p["invoice"]],
        created=p["created"],
        debit=_full(n, AR),
        credit=credit,
        kind=_kind("Invoice Item", n),
        valid=inv["status"][p["invoice"]] == billing.POSTED,
        container=p["invoice"],
    )


def _adjustments(name: str, kind: str) -> Callable[[w.World], Postings]:
    """Invoice (item) adjustments: a charge raises receivables, a credit lowers them."""

    def read(world: w.World) -> Postings:
        p = world.plans[name]
        n = len(p["invoice"])
        return Postings(
            amount=np.where(p["type"] == 0, -p["amount"], p["amount"]),
            account=world.plans["Invoice"]["account"][p["invoice"]],
            day=p["day"],
            created=p["created"],
            debit=_full(n, AR),
            credit=_full(n, ADJUSTMENTS),
            kind=_kind(kind, n),
            valid=p["status"] == 0,
            container=p["invoice"],
        )

    return read


def _invoice_payments(world: w.World) -> Postings:
    p = world.plans["InvoicePayment"]
    pay = world.plans["Payment"]
    payment = p["payment"]
    method = world.plans["Account"]["pm_start"][pay["account"][payment]]
    electronic = parties.ELECTRONIC_PM[world.plans["PaymentMethod"]["type"][method]]
    n = len(payment)
    return Postings(
        amount=pay["applied"][payment],
        account=pay["account"][payment],
        day=pay["day"][payment],
        created=p["created"],
        debit=_full(n, CASH),
        credit=_full(n, AR),
        kind=np.where(
            electronic,
            TRANSACTION_TYPES.index("Electronic Payment"),
            TRANSACTION_TYPES.index("External Payment"),
        ),
        valid=np.ones(n, dtype=bool),
        container=payment,
    )


def _credit_balance_adjustments(world: w.World) -> Postings:
    """An increase moves cash onto the account's credit balance; a decrease takes it back out."""
    p = world.plans["CreditBalanceAdjustment"]
    n = len(p["account"])
    increase, decrease = (
        TRANSACTION_TYPES.index(f"Credit Balance Adjustment ({k} Credit Balance)")
        for k in ("Transferred to", "Applied from")
    )
    return Postings(
        amount=np.where(p["decrease"], -p["amount"], p["amount"]),
        account=p["account"],
        day=p["created"] // col.US_PER_DAY,
        created=p["created"],
        debit=_full(n, CASH),
        credit=_full(n, ON_ACCOUNT),
        kind=np.where(p["decrease"], decrease, increase),
        valid=np.ones(n, dtype=bool),
        container=_full(n, -1),
    )


def _revenue_events(world: w.World) -> Postings:
    """Recognition moves revenue from Deferred Revenue to the charge's revenue account."""
    p = world.plans["RevenueEventItem"]
    n = len(p["amount"])
    return Postings(
        amount=p["amount"],
        account=p["account"],
        day=p["day"],
        created=p["created"],
        debit=_full(n, DEFERRED),
        credit=revenue.recognized_code(world, p["charge"]),
        kind=_kind("Revenue Event Item", n),
        valid=np.ones(n, dtype=bool),
        container=_full(n, -1),
    )


def _contract(
    name: str,
    kind: str,
    debit: int,
    credit: int,
    container: tuple[str, str] | None = None,
    posts: Callable[[w.World, w.Plan], Arr] | None = None,
    feature: str | None = None,
) -> Source:
    """A source planned by another family under the contract in the module docstring.

    ``container``: (container object, the plan key holding its row); ``posts``: which rows
    post (default: all).
    """

    def read(world: w.World) -> Postings:
        p = world.plans[name]
        n = len(p["amount"])
        return Postings(
            amount=p["amount"].astype(np.int64),
            account=p["account"],
            day=p["created"] // col.US_PER_DAY,
            created=p["created"],
            debit=_full(n, debit),
            credit=_full(n, credit),
            kind=_kind(kind, n),
            valid=np.ones(n, dtype=bool) if posts is None else posts(world, p),
            container=p[container[1]] if container else _full(n, -1),
        )

    return Source(name, read, container[0] if container else None, feature)


def _on_posted(memo: str) -> Callable[[w.World, w.Plan], Arr]:
    """Rows of a memo item or tax post when their memo is posted (not cancelled)."""

    def posts(world: w.World, p: w.Plan) -> Arr:
        result: Arr = world.plans[memo]["status"][p["memo"]] == settlement_docs.MEMO_STATUS_POSTED
        return result

    return posts


def _taxation_items(world: w.World) -> Postings:
    """Tax lines of invoice items (plan key ``item``) post with their invoice."""
    p = world.plans["TaxationItem"]
    invoice = world.plans["InvoiceItem"]["invoice"][p["item"]]
    n = len(invoice)
    return Postings(
        amount=p["amount"].astype(np.int64),
        account=p["account"],
        day=world.plans["Invoice"]["day"][invoice],
        created=p["created"],
        debit=_full(n, AR),
        credit=_full(n, SALES_TAX),
        kind=_kind("Taxation Item", n),
        valid=world.plans["Invoice"]["status"][invoice] == billing.POSTED,
        container=invoice,
    )


def _settlement(
    name: str, kind: str, debit: int, credit: int, container: tuple[str, str]
) -> Source:
    memo = container[0] if container[0].endswith("Memo") else None
    posts = _on_posted(memo) if memo else None
    return _contract(name, kind, debit, credit, container, posts, "InvoiceSettlement")


#: Every posting source, in the order of Zuora's journal entry detail objects.
SOURCES: tuple[Source, ...] = (
    Source("CreditBalanceAdjustment", _credit_balance_adjustments),
    _settlement(
        "CreditMemoApplicationItem",
        "Credit Memo Application Item",
        ON_ACCOUNT,
        AR,
        ("CreditMemoApplication", "application"),
    ),
    _settlement(
        "CreditMemoItem",
        "Credit Memo Item (Charge)",
        ADJUSTMENTS,
        ON_ACCOUNT,
        ("CreditMemo", "memo"),
    ),
    _settlement(
        "CreditTaxationItem",
        "Credit Memo Item (Tax)",
        SALES_TAX,
        ON_ACCOUNT,
        ("CreditMemo", "memo"),
    ),
    _settlement(
        "DebitMemoItem", "Debit Memo Item (Charge)", AR, ADJUSTMENTS, ("DebitMemo", "memo")
    ),
    _settlement("DebitTaxationItem", "Debit Memo Item (Tax)", AR, SALES_TAX, ("DebitMemo", "memo")),
    Source("InvoiceAdjustment", _adjustments("InvoiceAdjustment", "Invoice Adjustment"), "Invoice"),
    Source("InvoiceItem", _invoice_items, "Invoice"),
    Source(
        "InvoiceItemAdjustment",
        _adjustments("InvoiceItemAdjustment", "Invoice Item Adjustment (Invoice)"),
        "Invoice",
    ),
    Source("InvoicePayment", _invoice_payments, "Payment"),
    _settlement(
        "PaymentApplication", "Electronic Payment Application", CASH, AR, ("Payment", "payment")
    ),
    _settlement(
        "PaymentApplicationItem",
        "Electronic Payment Application Item",
        CASH,
        AR,
        ("PaymentApplication", "application"),
    ),
    _settlement(
        "RefundApplication", "Electronic Refund Application", ON_ACCOUNT, CASH, ("Refund", "refund")
    ),
    _settlement(
        "RefundApplicationItem",
        "Electronic Refund Application Item",
        ON_ACCOUNT,
        CASH,
        ("RefundApplication", "application"),
    ),
    _contract("RefundInvoicePayment", "Electronic Refund", AR, CASH, ("Refund", "refund")),
    Source("RevenueEventItem", _revenue_events),
    Source("TaxationItem", _taxation_items, "Invoice"),
)
