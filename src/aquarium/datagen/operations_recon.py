"""Batch gateway reconciliation: jobs (one gateway settlement report each), the events parsed
from the reports, and the log of the events that matched a Zuora payment.

Invariants:

- A job covers one gateway and one settlement day (``PeriodStart`` = ``PeriodEnd``), runs the
  next night and completes after it starts.
- An event of a job is a payment settled that day through that gateway (its amount, its
  ``ReferenceId`` as ``RelatedGatewayReferenceId``, its order id as the second reference), or an
  unmatched record whose reference names no payment.
- Each matched event has one log line naming the payment; unmatched events have none.
- ``Payment.GatewayReconciliationStatus`` is the outcome of its event (settled, rejected,
  reversed), its reason the gateway's message for the latter two, and settled payments carry
  their job's payout id.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aquarium.datagen import columns as col
from aquarium.datagen import parties
from aquarium.datagen import world as w
from aquarium.datagen.operations_gateway import amount_text, at_least_one

RECONCILED_SHARE = 0.6
#: Records of a report that match no payment (per matched record).
UNMATCHED_SHARE = 0.01
EVENT_TYPES = ("TransactionSettled", "TransactionRejected", "TransactionReversed")
SETTLED, REJECTED, REVERSED = 0, 1, 2
RECON_STATUS = ("Settled", "Rejected", "Reversed")
REASON_CODES = ("", "R01", "4837")
REASON_MESSAGES = ("", "Insufficient funds", "Chargeback: no cardholder authorization")
JOB_STATUS = ("Processing", "Completed", "Error")
#: Settlement reports are processed at 03:00 UTC the day after settlement.
REPORT_HOUR_S = 3 * 3600


def plan(world: w.World) -> None:
    """Jobs per gateway and settlement day, their events (a few unmatched), matched logs."""
    pay = world.plans["Payment"]
    n_pay = len(pay["created"])
    rng = world.rng("plan:PaymentGatewayReconciliationEventLog")
    chosen = pay["electronic"] & (rng.random(n_pay) < RECONCILED_SHARE)
    payment = at_least_one(np.flatnonzero(chosen), n_pay)
    day = pay["settled"][payment] // col.US_PER_DAY
    keys, job = np.unique(pay["gateway"][payment] * 1_000_000 + day, return_inverse=True)
    n_jobs = len(keys)
    job_day = keys % 1_000_000
    started = np.minimum((job_day + 1) * col.US_PER_DAY + REPORT_HOUR_S * 1_000_000, w.END_US)
    completed = np.minimum(started + rng.integers(10, 1800, n_jobs) * 1_000_000, w.END_US)
    completed = np.maximum(completed, started)
    world.plans["PaymentReconciliationJob"] = {
        "gateway": keys // 1_000_000,
        "day": job_day,
        "completed": completed,
        "created": started,
        "updated": completed,
    }
    n_unmatched = round(len(payment) * UNMATCHED_SHARE)
    unmatched_job = rng.integers(0, n_jobs, n_unmatched)
    event_job = np.concatenate([job, unmatched_job])
    kind = np.concatenate(
        [col.pick(rng, len(payment), (0.98, 0.01, 0.01)), np.zeros(n_unmatched, dtype=np.int64)]
    )
    midway = started + (completed - started) // 2
    world.plans["PaymentGatewayReconciliationEventLog"] = {
        "job": event_job,
        "payment": np.concatenate([payment, np.full(n_unmatched, -1)]),
        "type": kind,
        "amount": np.concatenate(
            [
                pay["applied"][payment] + pay["extra"][payment],
                rng.integers(100, 100_000, n_unmatched),
            ]
        ),
        "reference": rng.integers(0, 10**8, len(event_job)),
        "created": midway[event_job],
    }
    log_error = rng.random(len(payment)) < 0.01
    world.plans["PaymentReconciliationLog"] = {
        "event": np.arange(len(payment)),
        "job": job,
        "payment": payment,
        "error": log_error,
        "created": midway[job] + 1_000_000,
    }


def build_payment_reconciliation_job(world: w.World) -> dict[str, Any]:
    """PaymentReconciliationJob columns: one settlement report per gateway and day."""
    p = world.plans["PaymentReconciliationJob"]
    n = world.count("PaymentReconciliationJob")
    gateway = col.options(parties.GATEWAYS, p["gateway"])
    day = col.dates(p["day"])
    source = col.join(
        pc.utf8_lower(pc.replace_substring(gateway, ".", "")),
        "_settlement_",
        pc.strftime(day, format="%Y%m%d"),
        # A later shard's report of the same gateway and day is another part of it (unique).
        f"_part{world.shard + 1}.csv" if world.shard else ".csv",
    )
    return {
        "JobNumber": col.numbered(
            "GRJ-", world.number("PaymentReconciliationJob", np.arange(n)), 8
        ),
        "PeriodStart": day,
        "PeriodEnd": day,
        "GatewayName": gateway,
        "SourceName": source,
        "Status": col.options(JOB_STATUS, np.ones(n, dtype=np.int64)),
        "CompletedOn": col.stamps(p["completed"]),
    }


def build_gateway_reconciliation_event_log(world: w.World) -> dict[str, Any]:
    """PaymentGatewayReconciliationEventLog columns: the report's records, parsed."""
    p = world.plans["PaymentGatewayReconciliationEventLog"]
    pay = world.plans["Payment"]
    matched = p["payment"] >= 0
    i = np.maximum(p["payment"], 0)
    reference = pc.if_else(
        pa.array(matched),
        col.numbered("", pay["reference"][i], 10),
        col.numbered("U", p["reference"], 9),
    )
    kind = p["type"]
    return {
        "PaymentReconciliationJobId": world.fk("PaymentReconciliationJob", p["job"]),
        "EventType": col.options(EVENT_TYPES, kind),
        "EventDate": col.dates(world.plans["PaymentReconciliationJob"]["day"][p["job"]]),
        "Amount": col.money(p["amount"]),
        "GatewayRawRecord": col.join(
            "ref=",
            reference,
            ";amount=",
            amount_text(p["amount"]),
            ";type=",
            col.options(EVENT_TYPES, kind),
        ),
        "GatewayReasonCode": col.options(REASON_CODES, kind, kind > 0),
        "GatewayReasonMessage": col.options(REASON_MESSAGES, kind, kind > 0),
        "RelatedGatewayReferenceId": reference,
        "RelatedGatewaySecondReferenceId": col.numbered(
            "ORD-", world.number("Payment", i), 9, matched
        ),
    }


def build_payment_reconciliation_log(world: w.World) -> dict[str, Any]:
    """PaymentReconciliationLog columns: the matched events and the payment each names."""
    p = world.plans["PaymentReconciliationLog"]
    n = world.count("PaymentReconciliationLog")
    error = p["error"]
    zero = np.zeros(n, dtype=np.int64)
    return {
        "PaymentReconciliationJobId": world.fk("PaymentReconciliationJob", p["job"]),
        "PaymentGatewayReconciliationEventLogId": world.fk(
            "PaymentGatewayReconciliationEventLog", p["event"]
        ),
        "RelatedObjectId": world.fk("Payment", p["payment"]),
        "RelatedObjectType": col.options(("Payment", "Refund"), zero),
        # decided: no chargeback refunds are generated, so nothing is created.
        "CreatedObjectId": col.null_text(n),
        "CreatedObjectType": col.options(("Refund",), zero, np.zeros(n, dtype=bool)),
        "Status": col.options(JOB_STATUS, np.where(error, 2, 1)),
        "ErrorCode": col.options(("GR-AMOUNT",), zero, error),
        "ErrorMessage": col.options(("Amount differs from the report",), zero, error),
    }


def build_payment_columns(world: w.World) -> dict[str, Any]:
    """Payment: its reconciliation status and reason as its event says; payouts per job."""
    p = world.plans["PaymentGatewayReconciliationEventLog"]
    n = world.count("Payment")
    matched = p["payment"] >= 0
    event = np.full(n, -1, dtype=np.int64)
    event[p["payment"][matched]] = np.flatnonzero(matched)
    has = event >= 0
    kind = np.where(has, p["type"][np.maximum(event, 0)], 0)
    job = np.where(has, p["job"][np.maximum(event, 0)], 0)
    return {
        "GatewayReconciliationStatus": col.options(RECON_STATUS, kind, has),
        "GatewayReconciliationReason": col.options(REASON_MESSAGES, kind, has & (kind > 0)),
        "PayoutId": col.numbered(
            "po_", world.number("PaymentReconciliationJob", job), 8, has & (kind == SETTLED)
        ),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "PaymentReconciliationJob": build_payment_reconciliation_job,
    "PaymentGatewayReconciliationEventLog": build_gateway_reconciliation_event_log,
    "PaymentReconciliationLog": build_payment_reconciliation_log,
}
#: Columns this module adds to objects other families build.
COLUMNS: dict[str, w.Builder] = {"Payment": build_payment_columns}
