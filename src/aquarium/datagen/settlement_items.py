"""Invoice Settlement application rows and their item-level splits.

Runs after :mod:`aquarium.datagen.settlement_apply`, whose document-level amounts it splits
over document lines with :func:`settlement_apply.overlap` (see there). Plans made here:
``PaymentApplication`` (first one per payment, mirroring its ``InvoicePayment``, then the
payments of debit memos), ``PaymentApplicationItem``, ``CreditMemoApplication``,
``CreditMemoApplicationItem`` and ``RefundApplicationItem``, plus the applied, refunded and
paid sums of memo items, memo taxation items and invoice taxation items.

Item-level targets on the far side: a credit memo item credits the invoice item it was made
from (its tax, that item's taxation item); a debit memo is credited on its first item.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from aquarium.datagen import accounting
from aquarium.datagen import columns as col
from aquarium.datagen import settlement_apply as apply
from aquarium.datagen import world as w

Arr = Any


def plan(world: w.World) -> None:
    """Application rows and item splits (see the module docstring)."""
    _payment_applications(world)
    _debit_memo_lines(world)
    _credit_memo_lines(world)
    tax = world.plans["TaxationItem"]
    n_tax = len(tax["amount"])
    pai = world.plans["PaymentApplicationItem"]
    cmai = world.plans["CreditMemoApplicationItem"]
    on_tax = pai["kind"] == apply.ON_TAXATION_ITEM
    tax["paid"] = w.group_sum(pai["amount"][on_tax], pai["target"][on_tax], n_tax)
    tax["credited"] = _sum_on(cmai["taxation_item"], cmai["amount"], n_tax)
    for name in ("_pai_invoice", "_pa_debit", "_cm_uses"):
        world.plans.pop(name)


def _sum_on(target: Arr, amount: Arr, n: int) -> Arr:
    """Sums of ``amount`` per ``target`` index, ignoring rows whose target is -1."""
    has = target >= 0
    return w.group_sum(amount[has], target[has], n)


def _payment_applications(world: w.World) -> None:
    pay = world.plans["Payment"]
    debit = world.plans["_pa_debit"]
    n_pay = len(pay["applied"])
    n_debit = len(debit["payment"])
    payment = np.concatenate([np.arange(n_pay), debit["payment"]])
    world.plans["PaymentApplication"] = {
        "payment": payment,
        "invoice": np.concatenate([pay["invoice"], np.full(n_debit, -1)]),
        "debit_memo": np.concatenate([np.full(n_pay, -1), debit["debit_memo"]]),
        "account": pay["account"][payment],
        "amount": np.concatenate([pay["applied"], debit["amount"]]).astype(np.int64),
        "created": np.concatenate([world.plans["InvoicePayment"]["created"], debit["created"]]),
    }


def _debit_memo_lines(world: w.World) -> None:
    """Debit memo lines drawn by payments (first) and credit memos; payment items on them."""
    dm = world.plans["DebitMemo"]
    dmi = world.plans["DebitMemoItem"]
    dti = world.plans["DebitTaxationItem"]
    debit = world.plans["_pa_debit"]
    uses = world.plans["_cm_uses"]
    n_pay = len(world.plans["Payment"]["applied"])
    on_dm = uses["kind"] == apply.DEBIT_MEMO
    doc = apply.lines(dmi["memo"], dmi["amount"], dti["line"], dti["amount"])
    consumer = np.concatenate([debit["debit_memo"], uses["debit_memo"][on_dm]])
    taken = np.concatenate([debit["amount"], uses["amount"][on_dm]]).astype(np.int64)
    line, app, amount = apply.overlap(doc, doc["amount"], consumer, taken, len(dm["amount"]))
    is_item = doc["tax"][line] < 0
    dmi["applied"] = w.group_sum(amount[is_item], doc["item"][line][is_item], len(dmi["amount"]))
    dti["applied"] = _sum_on(doc["tax"][line], amount, len(dti["amount"]))
    by_payment = app < len(debit["payment"])
    pa_row = n_pay + app[by_payment]
    line = line[by_payment]
    inv_part = world.plans["_pai_invoice"]
    pa = world.plans["PaymentApplication"]
    application = np.concatenate([inv_part["app"], pa_row])
    debit_tax = doc["tax"][line]
    debit_kind = np.where(debit_tax < 0, apply.ON_DEBIT_MEMO_ITEM, apply.ON_DEBIT_TAXATION_ITEM)
    world.plans["PaymentApplicationItem"] = {
        "application": application,
        # The line paid: ``target`` indexes InvoiceItem, TaxationItem, DebitMemoItem or
        # DebitTaxationItem as ``kind`` says (settlement_apply.ON_*).
        "target": np.concatenate(
            [inv_part["target"], np.where(debit_tax < 0, doc["item"][line], debit_tax)]
        ),
        "kind": np.concatenate([inv_part["kind"], debit_kind.astype(np.int8)]),
        "account": pa["account"][application],
        "amount": np.concatenate([inv_part["amount"], amount[by_payment]]).astype(np.int64),
        "created": pa["created"][application],
    }


def _credit_memo_lines(world: w.World) -> None:
    """Credit memo lines drawn by its applications and refund, in that order."""
    cm = world.plans["CreditMemo"]
    cmi = world.plans["CreditMemoItem"]
    cti = world.plans["CreditTaxationItem"]
    dm = world.plans["DebitMemo"]
    items = world.plans["InvoiceItem"]
    uses = world.plans["_cm_uses"]
    applied = uses["kind"] != apply.REFUND
    cma_of_use = np.full(len(uses["memo"]), -1)
    cma_of_use[applied] = np.arange(int(applied.sum()))
    world.plans["CreditMemoApplication"] = {
        "memo": uses["memo"][applied],
        "invoice": uses["invoice"][applied],
        "debit_memo": uses["debit_memo"][applied],
        "account": cm["account"][uses["memo"][applied]],
        "amount": uses["amount"][applied],
        "created": uses["created"][applied],
    }
    doc = apply.lines(cmi["memo"], cmi["amount"], cti["line"], cti["amount"])
    line, use, amount = apply.overlap(
        doc, doc["amount"], uses["memo"], uses["amount"], len(cm["amount"])
    )
    item = doc["item"][line]  # the credit memo item (of the tax, for tax lines)
    tax = doc["tax"][line]
    is_item = tax < 0
    kind = uses["kind"][use]
    refund = kind == apply.REFUND
    n_cmi, n_cti = len(cmi["amount"]), len(cti["amount"])
    cmi["applied"] = w.group_sum(amount[is_item & ~refund], item[is_item & ~refund], n_cmi)
    cmi["refunded"] = w.group_sum(amount[is_item & refund], item[is_item & refund], n_cmi)
    cti["applied"] = _sum_on(np.where(refund, -1, tax), amount, n_cti)
    cti["refunded"] = _sum_on(np.where(refund, tax, -1), amount, n_cti)
    on_invoice = kind == apply.INVOICE
    on_debit = kind == apply.DEBIT_MEMO
    # A debit memo is credited on its first item (and that item's tax, when it has one).
    debit_item = dm["line_start"][np.maximum(uses["debit_memo"][use], 0)]
    dti_of_item = np.full(len(world.plans["DebitMemoItem"]["amount"]), -1)
    dti_of_item[world.plans["DebitTaxationItem"]["line"]] = np.arange(
        len(world.plans["DebitTaxationItem"]["line"])
    )
    debit_tax = dti_of_item[debit_item]
    invoice_item = cmi["item"][item]
    a = ~refund
    world.plans["CreditMemoApplicationItem"] = {
        "application": cma_of_use[use[a]],
        "memo_item": np.where(is_item, item, -1)[a],
        "memo_tax": tax[a],
        "invoice_item": np.where(on_invoice & is_item, invoice_item, -1)[a],
        "taxation_item": np.where(on_invoice & ~is_item, items["taxation_item"][invoice_item], -1)[
            a
        ],
        "debit_memo_item": np.where(on_debit & (is_item | (debit_tax < 0)), debit_item, -1)[a],
        "debit_taxation_item": np.where(on_debit & ~is_item, debit_tax, -1)[a],
        "account": cm["account"][uses["memo"][use[a]]],
        "amount": amount[a],
        "created": uses["created"][use[a]],
    }
    world.plans["RefundApplicationItem"] = {
        "application": uses["refund_app"][use[refund]],
        "memo_item": np.where(is_item, item, -1)[refund],
        "memo_tax": tax[refund],
        "account": cm["account"][uses["memo"][use[refund]]],
        "amount": amount[refund],
        "created": world.plans["RefundApplication"]["created"][uses["refund_app"][use[refund]]],
    }


def _application(world: w.World, name: str, keys: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Columns of an application (item): foreign keys by plan key, period and effective date."""
    p = world.plans[name]
    day = p["created"] // col.US_PER_DAY
    out = {field: world.fk(target, p[key]) for field, (target, key) in keys.items()}
    return out | {
        "AccountingPeriodId": world.fk("AccountingPeriod", accounting.period_of(day)),
        "EffectiveDate": col.dates(day),
    }


def _group_ids(world: w.World, name: str) -> pa.Array:
    """Application group ids (one operation each; Zuora exports no group object here)."""
    return col.make_ids(world.rng(f"{name}:group"), world.count(name))


def build_payment_application(world: w.World) -> dict[str, Any]:
    """PaymentApplication columns: one per payment to its invoice, then debit memo payments."""
    p = world.plans["PaymentApplication"]
    keys = {
        "AccountId": ("Account", "account"),
        "PaymentId": ("Payment", "payment"),
        "InvoiceId": ("Invoice", "invoice"),
        "DebitMemoId": ("DebitMemo", "debit_memo"),
    }
    return _application(world, "PaymentApplication", keys) | {
        "ApplicationGroupId": _group_ids(world, "PaymentApplication"),
        "AppliedAmount": col.money(p["amount"]),
    }


def build_payment_application_item(world: w.World) -> dict[str, Any]:
    """PaymentApplicationItem columns: one line of the invoice or debit memo each."""
    p = world.plans["PaymentApplicationItem"]
    keys = {"PaymentApplicationId": ("PaymentApplication", "application")}
    targets = {
        "InvoiceItemId": ("InvoiceItem", apply.ON_INVOICE_ITEM),
        "TaxationItemId": ("TaxationItem", apply.ON_TAXATION_ITEM),
        "DebitMemoItemId": ("DebitMemoItem", apply.ON_DEBIT_MEMO_ITEM),
        "DebitTaxationItemId": ("DebitTaxationItem", apply.ON_DEBIT_TAXATION_ITEM),
    }
    lines = {
        field: world.fk(target, p["target"], p["kind"] == kind)
        for field, (target, kind) in targets.items()
    }
    return (
        _application(world, "PaymentApplicationItem", keys)
        | lines
        | {"AppliedAmount": col.money(p["amount"])}
    )


def build_credit_memo_application(world: w.World) -> dict[str, Any]:
    """CreditMemoApplication columns: to the memo's invoice, or to a debit memo."""
    keys = {
        "AccountId": ("Account", "account"),
        "CreditMemoId": ("CreditMemo", "memo"),
        "InvoiceId": ("Invoice", "invoice"),
        "DebitMemoId": ("DebitMemo", "debit_memo"),
    }
    amount = world.plans["CreditMemoApplication"]["amount"]
    return _application(world, "CreditMemoApplication", keys) | {
        "ApplicationGroupId": _group_ids(world, "CreditMemoApplication"),
        "Amount": col.money(amount),
    }


def build_credit_memo_application_item(world: w.World) -> dict[str, Any]:
    """CreditMemoApplicationItem columns: one credit memo line against one target line."""
    keys = {
        "CreditMemoApplicationId": ("CreditMemoApplication", "application"),
        "CreditMemoItemId": ("CreditMemoItem", "memo_item"),
        "CreditTaxationItemId": ("CreditTaxationItem", "memo_tax"),
        "InvoiceItemId": ("InvoiceItem", "invoice_item"),
        "TaxationItemId": ("TaxationItem", "taxation_item"),
        "DebitMemoItemId": ("DebitMemoItem", "debit_memo_item"),
        "DebitTaxationItemId": ("DebitTaxationItem", "debit_taxation_item"),
    }
    amount = world.plans["CreditMemoApplicationItem"]["amount"]
    return _application(world, "CreditMemoApplicationItem", keys) | {"Amount": col.money(amount)}


def build_refund_application(world: w.World) -> dict[str, Any]:
    """RefundApplication columns: each processed refund, from a payment or a credit memo."""
    keys = {
        "AccountId": ("Account", "account"),
        "RefundId": ("Refund", "refund"),
        "PaymentId": ("Payment", "payment"),
        "CreditMemoId": ("CreditMemo", "credit_memo"),
    }
    amount = world.plans["RefundApplication"]["amount"]
    return _application(world, "RefundApplication", keys) | {
        "ApplicationGroupId": _group_ids(world, "RefundApplication"),
        "Amount": col.money(amount),
    }


def build_refund_application_item(world: w.World) -> dict[str, Any]:
    """RefundApplicationItem columns: the credit memo lines a credit memo refund draws on."""
    keys = {
        "RefundApplicationId": ("RefundApplication", "application"),
        "CreditMemoItemId": ("CreditMemoItem", "memo_item"),
        "CreditTaxationItemId": ("CreditTaxationItem", "memo_tax"),
    }
    amount = world.plans["RefundApplicationItem"]["amount"]
    return _application(world, "RefundApplicationItem", keys) | {"Amount": col.money(amount)}


#: The builder of each application object.
BUILDERS: dict[str, w.Builder] = {
    "PaymentApplication": build_payment_application,
    "PaymentApplicationItem": build_payment_application_item,
    "CreditMemoApplication": build_credit_memo_application,
    "CreditMemoApplicationItem": build_credit_memo_application_item,
    "RefundApplication": build_refund_application,
    "RefundApplicationItem": build_refund_application_item,
}
