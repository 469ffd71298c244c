"""Usage records of usage-type rate plan charges, rated onto invoices once processed."""

from __future__ import annotations

from typing import Any

import numpy as np

from aquarium.datagen import catalogue as cat
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

RECORDS_PER_USAGE_CHARGE = 8
#: Usage submitted within this many days of the end is still waiting to be rated.
PENDING_WINDOW_DAYS = 30


def plan(world: w.World) -> None:
    """Usage records spread between the subscription start and the end of the span."""
    rng = world.rng("plan:Usage")
    rpc = world.plans["RatePlanCharge"]
    sub = world.plans["Subscription"]
    acc = world.plans["Account"]
    usage_charges = np.flatnonzero(rpc["type"] == cat.USAGE)
    counts = rng.poisson(RECORDS_PER_USAGE_CHARGE, len(usage_charges))
    owner, _ = w.expand(counts)
    charge = usage_charges[owner]
    subscription = rpc["subscription"][charge]
    account = sub["account"][subscription]
    first = sub["start_day"][subscription] + 1
    n = len(charge)
    day = first + np.floor(rng.random(n) * np.maximum(w.END_DAY - first, 0)).astype(np.int64)
    start = np.maximum(w.at_day(rng, day), sub["created"][subscription] + 1_000_000)
    end = start + rng.integers(3600, 86_400, n) * 1_000_000
    submitted = np.minimum(w.after(rng, end, 2), w.END_US)
    submitted = np.maximum(submitted, start + 1)
    processed = day < w.END_DAY - PENDING_WINDOW_DAYS
    invoice = w.pick_in_group(rng, acc["inv_start"], acc["inv_count"], account)
    world.plans["Usage"] = {
        "charge": charge,
        "subscription": subscription,
        "account": account,
        "start": start,
        "end": end,
        "processed": processed,
        "invoice": np.where(processed, invoice, -1),
        "quantity": rng.integers(1, 100_000, n),
        "created": submitted,
        "updated": np.where(processed, w.after(rng, submitted, 3), submitted),
    }


def build_usage(world: w.World) -> dict[str, Any]:
    """Usage columns; AccountNumber, SubscriptionNumber and ChargeNumber match their objects."""
    p = world.plans["Usage"]
    rng = world.rng("Usage")
    n = world.count("Usage")
    prpc = world.plans["ProductRatePlanCharge"]
    uom = prpc["uom"][world.plans["RatePlanCharge"]["charge"][p["charge"]]]
    imported = rng.random(n) < 0.7
    return {
        "AccountId": world.fk("Account", p["account"]),
        "SubscriptionId": world.fk("Subscription", p["subscription"]),
        "RatePlanChargeId": world.fk("RatePlanCharge", p["charge"]),
        "InvoiceId": world.fk("Invoice", p["invoice"]),
        "AccountNumber": col.numbered("A", world.number("Account", p["account"]), 8),
        "SubscriptionNumber": col.numbered(
            "A-S", world.number("Subscription", p["subscription"]), 8
        ),
        "ChargeNumber": col.numbered("C-", world.number("RatePlanCharge", p["charge"]), 8),
        # Quantities with two decimals (GB, hours ...): hundredths to 10^4 units.
        "Quantity": col.decimal_units(p["quantity"] * 100),
        "UOM": col.options(cat.UOMS, uom),
        "StartDateTime": col.stamps(p["start"]),
        "EndDateTime": col.stamps(p["end"]),
        "SubmissionDateTime": col.stamps(p["created"]),
        "Description": col.options(("Metered usage",), np.zeros(n, dtype=np.int64)),
        "ImportId": col.numbered("IMP-", rng.integers(1, 5000, n), 6, imported),
        "SourceType": col.options(("Import", "API"), (~imported) * 1),
        "RbeStatus": col.options(("Pending", "Processed", "Importing"), p["processed"] * 1),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "Usage": build_usage,
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (memory).
CHUNKED = frozenset({"Usage"})
