"""Notification history: emails to the bill-to contact and callouts to external systems, each for
an event on a real object of the account (an invoice posted, a payment or refund processed).

Invariants: ``ObjectId`` is the Id of the invoice, payment or refund the event is about, of the
same account as ``AccountId``; an email goes to the account's bill-to contact (``ContactId``,
``ToEmail`` is that contact's work email) and is sent after the object was created; a callout that
failed was retried up to its attempt limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from aquarium.datagen import billing, parties
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

EVENTS = ("InvoicePosted", "PaymentProcessed", "RefundProcessed", "CallOut")
INVOICE, PAYMENT, REFUND = 0, 1, 2
#: Share of the events of each kind that sent an email, and a callout.
EMAIL_SHARE = (0.3, 0.2, 1.0)
CALLOUT_SHARE = (0.05, 0.1, 0.0)
CALLOUT_ATTEMPTS = 3
CALLOUT_URLS = (
    "https://erp.aquarium.example/hooks/zuora/invoice",
    "https://erp.aquarium.example/hooks/zuora/payment",
    "https://erp.aquarium.example/hooks/zuora/refund",
)


def _events(world: w.World, name: str, shares: tuple[float, ...]) -> dict[str, Any]:
    """A sample of the posted invoices, payments and processed refunds, kind by kind."""
    rng = world.rng(f"plan:{name}")
    inv = world.plans["Invoice"]
    pay = world.plans["Payment"]
    ref = world.plans["Refund"]
    sources = (
        (inv, np.flatnonzero(inv["status"] == billing.POSTED)),
        (pay, np.arange(len(pay["created"]))),
        (ref, np.flatnonzero(ref["status"] == 0)),
    )
    kinds, objects, accounts, base = [], [], [], []
    for kind, ((plan, candidates), share) in enumerate(zip(sources, shares, strict=True)):
        chosen = candidates[rng.random(len(candidates)) < share]
        if kind == INVOICE and len(chosen) == 0 and len(candidates):
            chosen = candidates[:1]  # every object has rows
        kinds.append(np.full(len(chosen), kind))
        objects.append(chosen)
        accounts.append(plan["account"][chosen])
        base.append(plan["created"][chosen])
    created = w.after(rng, np.concatenate(base), 0.01)
    return {
        "kind": np.concatenate(kinds).astype(np.int64),
        "object": np.concatenate(objects).astype(np.int64),
        "account": np.concatenate(accounts).astype(np.int64),
        "created": created,
        "updated": created,
    }


def plan(world: w.World) -> None:
    """Which events sent emails and callouts."""
    world.plans["EmailHistory"] = _events(world, "EmailHistory", EMAIL_SHARE)
    world.plans["CalloutHistory"] = _events(world, "CalloutHistory", CALLOUT_SHARE)


def _object_ids(world: w.World, p: dict[str, Any]) -> pa.Array:
    parts = [
        world.fk(name, p["object"][p["kind"] == kind])
        for kind, name in enumerate(("Invoice", "Payment", "Refund"))
    ]
    return pa.concat_arrays(parts)


def _numbers(world: w.World, p: dict[str, Any]) -> pa.Array:
    inv_number = world.plans["Invoice"]["number"]
    parts = [
        col.numbered("INV", inv_number[p["object"][p["kind"] == INVOICE]], 8),
        col.numbered("P-", world.number("Payment", p["object"][p["kind"] == PAYMENT]), 8),
        col.numbered("R-", world.number("Refund", p["object"][p["kind"] == REFUND]), 8),
    ]
    return pa.concat_arrays(parts)


def _notification_ids(world: w.World, kind: Any) -> pa.Array:
    definitions = col.make_ids(world.rng("notification definitions"), len(EVENTS))
    return col.take(definitions, kind)


def build_email_history(world: w.World) -> dict[str, Any]:
    """EmailHistory columns: emails to the bill-to contact about the event's object."""
    p = world.plans["EmailHistory"]
    rng = world.rng("EmailHistory")
    n = world.count("EmailHistory")
    bill_to = world.plans["Account"]["contact_start"][p["account"]]
    emails = parties.build_contact(world)["WorkEmail"]
    failed = rng.random(n) < 0.02
    subject = col.join(
        col.options(("Invoice", "Payment", "Refund"), p["kind"]),
        _numbers(world, p),
        col.options(("posted", "received", "processed"), p["kind"]),
        sep=" ",
    )
    return {
        "AccountId": world.fk("Account", p["account"]),
        "NotificationId": _notification_ids(world, p["kind"]),
        "ContactId": world.fk("Contact", bill_to),
        "ObjectId": _object_ids(world, p),
        "EventCategory": col.options(EVENTS, p["kind"]),
        "FromEmail": col.options(("billing@aquarium.example",), np.zeros(n, dtype=np.int64)),
        "ToEmail": col.take(emails, bill_to),
        "CcEmail": col.null_text(n),
        "BccEmail": col.options(
            ("archive@aquarium.example",), np.zeros(n, dtype=np.int64), rng.random(n) < 0.1
        ),
        "Subject": subject,
        "SendTime": col.stamps(p["created"]),
        "Result": col.options(("OK", "Failed"), failed * 1),
        "ErrorMessage": col.options(
            ("550 Mailbox unavailable",), np.zeros(n, dtype=np.int64), failed
        ),
    }


def build_callout_history(world: w.World) -> dict[str, Any]:
    """CalloutHistory columns: callouts about the event's object, failures retried."""
    p = world.plans["CalloutHistory"]
    rng = world.rng("CalloutHistory")
    n = world.count("CalloutHistory")
    failed = rng.random(n) < 0.05
    attempt = np.where(failed, CALLOUT_ATTEMPTS, col.pick(rng, n, (0.92, 0.06, 0.02)) + 1)
    return {
        "AccountId": world.fk("Account", p["account"]),
        "NotificationId": _notification_ids(world, p["kind"]),
        "ContactId": world.fk("Contact", world.plans["Account"]["contact_start"][p["account"]]),
        "ObjectId": _object_ids(world, p),
        "EventCategory": col.options(EVENTS, p["kind"]),
        "RequestUrl": col.options(CALLOUT_URLS, p["kind"]),
        "ResponseCode": col.options(("200", "500"), failed * 1),
        "ResponseContent": col.options(("OK", "Internal Server Error"), failed * 1),
        "CreateTime": col.stamps(p["created"]),
        "AttemptLimit": col.integers(np.full(n, CALLOUT_ATTEMPTS)),
        "AttemptNumber": col.integers(attempt),
    }


def build_invoice_columns(world: w.World) -> dict[str, Any]:
    """Invoice.LastEmailSentDate: when the latest email about the invoice was sent."""
    p = world.plans["EmailHistory"]
    n = world.count("Invoice")
    about = p["kind"] == INVOICE
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, p["object"][about], p["created"][about])
    return {"LastEmailSentDate": col.stamps(last, last >= 0)}


#: Columns this module adds to objects other families build.
COLUMNS: dict[str, w.Builder] = {"Invoice": build_invoice_columns}
#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "EmailHistory": build_email_history,
    "CalloutHistory": build_callout_history,
}
