"""Contact snapshots of posted invoices, processed usage, and the keys this family adds to core
objects (``Subscription.SubscriptionVersionAmendmentId``, ``Invoice.BillToContactSnapshotId``
and ``Invoice.SoldToContactSnapshotId``).

* Zuora snapshots an invoice's bill-to and sold-to contacts when the invoice is posted. Each
  posted invoice gets a bill-to snapshot; accounts with a separate sold-to contact get a sold-to
  snapshot too, the others point both keys at the one snapshot (decided: same contact, same
  moment). Invoices not posted have none. A snapshot copies its contact; when the contact was
  updated after the snapshot, some snapshots keep the older address (Address1, City,
  PostalCode), as Zuora's would.
* ``ProcessedUsage`` ties a processed usage record to the invoice item that billed it: an item
  of the usage's invoice for the same rate plan charge. Usage whose invoice has no item for its
  charge has no processed-usage row. ``Amount`` = ``RatingAmount`` = quantity x unit price.
* A subscription's ``SubscriptionVersionAmendmentId`` is its latest amendment (the one that made
  the version ``Version`` counts), null for subscriptions never amended.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyarrow.compute as pc

from aquarium.datagen import billing, parties
from aquarium.datagen import catalogue as cat
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

#: ContactSnapshot fields copied from the contact (all but the keys).
COPIED = (
    "FirstName",
    "LastName",
    "NickName",
    "WorkEmail",
    "PersonalEmail",
    "WorkPhone",
    "HomePhone",
    "MobilePhone",
    "Fax",
    "Address1",
    "Address2",
    "City",
    "County",
    "State",
    "PostalCode",
    "Country",
    "TaxRegion",
)
#: Share of snapshots taken before their contact's last update that show the older address.
STALE_SHARE = 0.3


def plan(world: w.World) -> None:
    """Snapshots of posted invoices, processed usage, the latest amendment of subscriptions."""
    _plan_snapshots(world)
    _plan_processed_usage(world)
    sub = world.plans["Subscription"]
    am = world.plans["Amendment"]
    by_date = np.lexsort((am["created"], am["subscription"]))  # groups stay where they were
    last = np.where(sub["am_count"] > 0, sub["am_start"] + sub["am_count"] - 1, -1)
    sub["version_amendment"] = (
        np.where(last >= 0, by_date[np.maximum(last, 0)], -1) if len(by_date) else last
    )


def _plan_snapshots(world: w.World) -> None:
    rng = world.rng("plan:ContactSnapshot")
    inv = world.plans["Invoice"]
    acc = world.plans["Account"]
    contacts = world.plans["Contact"]
    posted = np.flatnonzero(inv["status"] == billing.POSTED)
    account = inv["account"][posted]
    separate = acc["contact_count"][account] > 1
    sold = posted[separate]
    bill_contact = acc["contact_start"][account]
    sold_contact = (acc["contact_start"] + acc["contact_count"] - 1)[inv["account"][sold]]
    invoice = np.concatenate([posted, sold])
    contact = np.concatenate([bill_contact, sold_contact])
    created = w.after(rng, inv["created"][invoice], 0.01)
    n_bill = len(posted)
    bill = np.full(len(inv["day"]), -1, dtype=np.int64)
    bill[posted] = np.arange(n_bill)
    sold_snapshot = bill.copy()
    sold_snapshot[sold] = n_bill + np.arange(len(sold))
    inv["bill_snapshot"] = bill
    inv["sold_snapshot"] = sold_snapshot
    later = contacts["updated"][contact] > created
    world.plans["ContactSnapshot"] = {
        "contact": contact,
        "account": contacts["account"][contact],
        "stale": later & (rng.random(len(contact)) < STALE_SHARE),
        "created": created,
        "updated": created,
    }


def _plan_processed_usage(world: w.World) -> None:
    rng = world.rng("plan:ProcessedUsage")
    usage = world.plans["Usage"]
    items = world.plans["InvoiceItem"]
    n_charges = np.int64(len(world.plans["RatePlanCharge"]["created"]))
    item_key = items["invoice"].astype(np.int64) * n_charges + items["charge"]
    order = np.argsort(item_key, kind="stable")
    sorted_keys = item_key[order]
    usage_key = usage["invoice"].astype(np.int64) * n_charges + usage["charge"]
    at = np.minimum(np.searchsorted(sorted_keys, usage_key), max(len(sorted_keys) - 1, 0))
    found = (usage["invoice"] >= 0) & (len(sorted_keys) > 0)
    if len(sorted_keys):
        found &= sorted_keys[at] == usage_key
    record = np.flatnonzero(found)
    item = order[at[record]] if len(sorted_keys) else record
    created = w.after(rng, np.maximum(usage["updated"][record], items["created"][item]), 1)
    world.plans["ProcessedUsage"] = {
        "usage": record,
        "item": item,
        "created": created,
        "updated": created,
    }


def build_contact_snapshot(world: w.World) -> dict[str, Any]:
    """ContactSnapshot columns: the contact's, with an older address where ``stale``."""
    p = world.plans["ContactSnapshot"]
    rng = world.rng("ContactSnapshot")
    pools = world.pools
    n = len(p["contact"])
    # The contact builder draws with the "Contact" generator: build it as the whole object is
    # built (chunk 0), even inside a slice of this chunked object.
    contact = parties.build_contact(dataclasses.replace(world, chunk=0))
    stale = p["stale"]
    out: dict[str, Any] = {
        "AccountId": world.fk("Account", p["account"]),
        "ContactId": world.fk("Contact", p["contact"]),
    }
    for name in COPIED:
        out[name] = contact[name].take(p["contact"])
    older = {
        "Address1": col.take(pools.streets, rng.integers(0, len(pools.streets), n)),
        "City": col.take(pools.cities, rng.integers(0, len(pools.cities), n)),
        "PostalCode": col.take(pools.postal_codes, rng.integers(0, len(pools.postal_codes), n)),
    }
    for name, value in older.items():
        out[name] = pc.if_else(stale, value, out[name])
    return out


def build_processed_usage(world: w.World) -> dict[str, Any]:
    """ProcessedUsage columns; the billing period is the invoice item's service period."""
    p = world.plans["ProcessedUsage"]
    usage = world.plans["Usage"]
    items = world.plans["InvoiceItem"]
    rpc = world.plans["RatePlanCharge"]
    prpc = world.plans["ProductRatePlanCharge"]
    record, item = p["usage"], p["item"]
    charge = usage["charge"][record]
    day = world.plans["Invoice"]["day"][items["invoice"][item]]
    months = cat.PERIOD_MONTHS[prpc["period"][rpc["charge"][charge]]]
    # Quantity in hundredths x price in cents = amount in the DECIMAL(18,4) unit, exactly.
    amount = usage["quantity"][record] * rpc["price"][charge]
    return {
        "UsageId": world.fk("Usage", record),
        "InvoiceItemId": world.fk("InvoiceItem", item),
        "AccountId": world.fk("Account", usage["account"][record]),
        "SubscriptionId": world.fk("Subscription", usage["subscription"][record]),
        "RatePlanChargeId": world.fk("RatePlanCharge", charge),
        "BillingPeriodStartDate": col.dates(day),
        "BillingPeriodEndDate": col.dates(day + np.round(months * 365 / 12).astype(np.int64) - 1),
        "Amount": col.decimal_units(amount),
        "Quantity": col.decimal_units(usage["quantity"][record] * 100),
        "RatingAmount": col.decimal_units(amount),
    }


def build_subscription_columns(world: w.World) -> dict[str, Any]:
    """Subscription.SubscriptionVersionAmendmentId."""
    version = world.plans["Subscription"]["version_amendment"]
    return {"SubscriptionVersionAmendmentId": world.fk("Amendment", version)}


def build_invoice_columns(world: w.World) -> dict[str, Any]:
    """Invoice.BillToContactSnapshotId and SoldToContactSnapshotId (posted invoices only)."""
    inv = world.plans["Invoice"]
    return {
        "BillToContactSnapshotId": world.fk("ContactSnapshot", inv["bill_snapshot"]),
        "SoldToContactSnapshotId": world.fk("ContactSnapshot", inv["sold_snapshot"]),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "ContactSnapshot": build_contact_snapshot,
    "ProcessedUsage": build_processed_usage,
}
#: Fields this family adds to core objects (``[extend.X.fields]`` in objects_orders.toml).
COLUMNS: dict[str, w.Builder] = {
    "Subscription": build_subscription_columns,
    "Invoice": build_invoice_columns,
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (memory).
CHUNKED = frozenset({"ContactSnapshot", "ProcessedUsage"})
