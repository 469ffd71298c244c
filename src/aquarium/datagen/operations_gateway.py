"""Gateway logs: payment, refund and payment method transaction logs, ACH notifications of
change, settlement reconciliation (jobs, their log lines, gateway events).

Invariants:

- Each electronic payment has one ``Sale`` transaction log whose ``TransactionId`` is the
  payment's ``ReferenceId`` and whose request names the payment's gateway, amount and currency;
  its ``GatewayState`` is the payment's.
- Each electronic refund that was submitted (processed or in error) has one ``Refund`` log with
  the refund's amount; ``Settled`` for processed refunds, ``FailedToSettle`` for errors.
- Each electronic payment method has one ``Authorization`` log at its creation.
- Reconciliation jobs are one per (gateway, settlement day); their log lines are the payments
  settled that day through that gateway, with the payment's amount and currency, and the job's
  counts are those of its lines. Each line has one gateway reconciliation event.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from aquarium.datagen import columns as col
from aquarium.datagen import money, parties
from aquarium.datagen import world as w

TRANSACTION_TYPES = (
    "Authorization",
    "Capture",
    "Sale",
    "Void",
    "Credit",
    "Inquiry",
    "RefundAuthorize",
    "Refund",
    "VoidAuth",
    "Validate",
    "Deposit",
)
SALE, REFUND, AUTHORIZATION = 2, 7, 0
ACH = 1
CARD = 0
NOC_CODES = ("C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09")
NOC_REASONS = (
    "Incorrect account number",
    "Incorrect routing number",
    "Incorrect routing and account number",
    "Incorrect individual name",
    "Incorrect transaction code",
    "Incorrect account number and transaction code",
    "Incorrect routing, account number and transaction code",
    "Incorrect receiving DFI identification",
    "Incorrect individual identification number",
)
RECONCILED_SHARE = 0.6
RECON_STATUS = ("Reconciled", "Unmatched", "Error")
EVENT_TYPES = ("Settled", "Rejected", "Chargeback", "PayoutCompleted")
#: Settlement reports are processed at 03:00 UTC the day after settlement.
REPORT_HOUR_S = 3 * 3600


def at_least_one(index: Any, parent_rows: int) -> Any:
    """``index``, or the parent's first row when ``index`` is empty (every object has rows)."""
    if len(index) == 0 and parent_rows > 0:
        return np.zeros(1, dtype=np.int64)
    return index.astype(np.int64)


def amount_text(cents: Any) -> pa.Array:
    """Amounts as gateways print them: ``1234.50``."""
    cents = cents.astype(np.int64)
    return col.join(col.numbered("", cents // 100, 1), ".", col.numbered("", cents % 100, 2))


def plan(world: w.World) -> None:
    """Which payments, refunds and payment methods have gateway logs, and the reconciliation."""
    pay = world.plans["Payment"]
    n_pay = len(pay["created"])
    rng = world.rng("plan:PaymentTransactionLog")
    index = at_least_one(np.flatnonzero(pay["electronic"]), n_pay)
    world.plans["PaymentTransactionLog"] = {
        "payment": index,
        "created": w.after(rng, pay["created"][index], 0.0005),
    }
    ref = world.plans["Refund"]
    pm_type = world.plans["PaymentMethod"]["type"]
    ref_method = world.plans["Account"]["pm_start"][ref["account"]]
    ref["electronic"] = parties.ELECTRONIC_PM[pm_type[ref_method]]
    submitted = ref["electronic"] & (ref["status"] != 1)
    index = at_least_one(np.flatnonzero(submitted), len(ref["created"]))
    rng = world.rng("plan:RefundTransactionLog")
    world.plans["RefundTransactionLog"] = {
        "refund": index,
        "created": w.after(rng, ref["created"][index], 0.0005),
        "transaction": rng.integers(0, 10**9, len(index)),
    }
    pm = world.plans["PaymentMethod"]
    index = at_least_one(np.flatnonzero(parties.ELECTRONIC_PM[pm["type"]]), len(pm["created"]))
    rng = world.rng("plan:PaymentMethodTransactionLog")
    world.plans["PaymentMethodTransactionLog"] = {
        "method": index,
        "created": w.after(rng, pm["created"][index], 0.0002),
    }
    rng = world.rng("plan:AchNocEventLog")
    ach = (pm_type[pay["method"]] == ACH) & pay["electronic"]
    index = at_least_one(np.flatnonzero(ach & (rng.random(n_pay) < 0.05)), n_pay)
    if not ach[index].any():
        index = at_least_one(np.flatnonzero(ach)[:1], n_pay)
    created = w.after(rng, pay["created"][index] + 2 * col.US_PER_DAY, 3)
    world.plans["AchNocEventLog"] = {"payment": index, "created": created}
    _plan_reconciliation(world)


def _plan_reconciliation(world: w.World) -> None:
    pay = world.plans["Payment"]
    n_pay = len(pay["created"])
    rng = world.rng("plan:PaymentReconciliationLog")
    chosen = pay["electronic"] & (rng.random(n_pay) < RECONCILED_SHARE)
    payment = at_least_one(np.flatnonzero(chosen), n_pay)
    day = pay["settled"][payment] // col.US_PER_DAY
    key = pay["gateway"][payment] * 1_000_000 + day
    keys, job = np.unique(key, return_inverse=True)
    n_jobs = len(keys)
    status = col.pick(rng, len(payment), (0.97, 0.02, 0.01))
    job_day = keys % 1_000_000
    started = np.minimum((job_day + 1) * col.US_PER_DAY + REPORT_HOUR_S * 1_000_000, w.END_US)
    completed = np.minimum(started + rng.integers(10, 1800, n_jobs) * 1_000_000, w.END_US)
    line_created = started[job] + (completed[job] - started[job]) // 2
    world.plans["PaymentReconciliationLog"] = {
        "payment": payment,
        "job": job,
        "status": status,
        "created": line_created,
    }
    world.plans["PaymentReconciliationJob"] = {
        "gateway": keys // 1_000_000,
        "day": job_day,
        "total": np.bincount(job, minlength=n_jobs),
        "reconciled": np.bincount(job, weights=status == 0, minlength=n_jobs).astype(np.int64),
        "started": started,
        "completed": completed,
        "created": started,
        "updated": completed,
    }
    rng = world.rng("plan:PaymentGatewayReconciliationEventLog")
    reconciled = status == 0
    event = np.where(reconciled, col.pick(rng, len(payment), (0.9, 0, 0.01, 0.09)), 1)
    world.plans["PaymentGatewayReconciliationEventLog"] = {
        "payment": payment,
        "type": event,
        "payout": rng.integers(0, 10**8, len(payment)),
        "created": pay["settled"][payment],
    }


def _gateway_names(index: Any, valid: Any | None = None) -> pa.Array:
    return col.options(parties.GATEWAYS, index, valid)


def build_payment_transaction_log(world: w.World) -> dict[str, Any]:
    """PaymentTransactionLog columns: the Sale request of each electronic payment."""
    p = world.plans["PaymentTransactionLog"]
    pay = world.plans["Payment"]
    i = p["payment"]
    n = len(i)
    electronic = pay["electronic"][i]
    card = world.plans["PaymentMethod"]["type"][pay["method"][i]] == CARD
    currency = col.options(w.CURRENCIES, world.plans["Account"]["currency"][pay["account"][i]])
    reference = col.numbered("", pay["reference"][i], 10)
    request = col.join(
        "gateway=",
        _gateway_names(pay["gateway"][i]),
        "&type=Sale&amount=",
        amount_text(pay["applied"][i] + pay["extra"][i]),
        "&currency=",
        currency,
        "&orderId=",
        col.numbered("ORD-", i + 1, 9),
    )
    return {
        "PaymentId": world.fk("Payment", i),
        "TransactionId": col.take(reference, np.arange(n), electronic),
        "TransactionDate": col.stamps(p["created"]),
        "GatewayTransactionType": col.options(TRANSACTION_TYPES, np.full(n, SALE)),
        "GatewayState": col.options(money.GATEWAY_STATES, electronic * money.SETTLED),
        "GatewayReasonCode": col.options(("100",), np.zeros(n, dtype=np.int64)),
        "GatewayReasonCodeDescription": col.options(("Approved",), np.zeros(n, dtype=np.int64)),
        "AVSResponseCode": col.options(("Y",), np.zeros(n, dtype=np.int64), card),
        "CVVResponseCode": col.options(("M",), np.zeros(n, dtype=np.int64), card),
        "BatchId": col.null_text(n),
        "RequestString": request,
        "ResponseString": col.join("result=Approved&code=100&transactionId=", reference),
    }


def build_refund_transaction_log(world: w.World) -> dict[str, Any]:
    """RefundTransactionLog columns: the Refund request of each submitted electronic refund."""
    p = world.plans["RefundTransactionLog"]
    ref = world.plans["Refund"]
    pay = world.plans["Payment"]
    i = p["refund"]
    n = len(i)
    failed = (ref["status"][i] == 2) * 1
    transaction = col.numbered("", p["transaction"], 10)
    request = col.join(
        "gateway=",
        _gateway_names(pay["gateway"][ref["payment"][i]]),
        "&type=Refund&amount=",
        amount_text(ref["amount"][i]),
        "&currency=",
        col.options(w.CURRENCIES, world.plans["Account"]["currency"][ref["account"][i]]),
    )
    return {
        "RefundId": world.fk("Refund", i),
        "TransactionId": transaction,
        "TransactionDate": col.stamps(p["created"]),
        "GatewayTransactionType": col.options(TRANSACTION_TYPES, np.full(n, REFUND)),
        "GatewayState": col.options(money.GATEWAY_STATES, np.where(failed, 3, money.SETTLED)),
        "GatewayReasonCode": col.options(("100", "200"), failed),
        "GatewayReasonCodeDescription": col.options(("Approved", "Declined"), failed),
        "BatchId": col.null_text(n),
        "RequestString": request,
        "ResponseString": col.join(
            "result=", col.options(("Approved", "Declined"), failed), "&transactionId=", transaction
        ),
    }


def build_payment_method_transaction_log(world: w.World) -> dict[str, Any]:
    """PaymentMethodTransactionLog columns: the validation of each electronic payment method."""
    p = world.plans["PaymentMethodTransactionLog"]
    pm = world.plans["PaymentMethod"]
    rng = world.rng("PaymentMethodTransactionLog")
    i = p["method"]
    n = len(i)
    gateway = parties.build_account(world)["PaymentGateway"].take(pa.array(pm["account"][i]))
    kind = col.options(parties.PM_TYPES, pm["type"][i])
    transaction = col.numbered("", rng.integers(0, 10**9, n), 10)
    return {
        "PaymentMethodId": world.fk("PaymentMethod", i),
        "PaymentMethodType": kind,
        "Gateway": gateway,
        "TransactionId": transaction,
        "TransactionDate": col.stamps(p["created"]),
        "GatewayTransactionType": col.options(TRANSACTION_TYPES, np.full(n, AUTHORIZATION)),
        "GatewayReasonCode": col.options(("100",), np.zeros(n, dtype=np.int64)),
        "GatewayReasonCodeDescription": col.options(("Approved",), np.zeros(n, dtype=np.int64)),
        "RequestString": col.join("gateway=", gateway, "&type=Authorization&method=", kind),
        "ResponseString": col.join("result=Approved&code=100&transactionId=", transaction),
    }


def build_ach_noc_event_log(world: w.World) -> dict[str, Any]:
    """AchNocEventLog columns: bank corrections of ACH payment methods after a payment."""
    p = world.plans["AchNocEventLog"]
    pay = world.plans["Payment"]
    rng = world.rng("AchNocEventLog")
    i = p["payment"]
    n = len(i)
    code = col.pick(rng, n, (0.5, 0.2, 0.05, 0.1, 0.05, 0.04, 0.02, 0.02, 0.02))
    return {
        "AccountId": world.fk("Account", pay["account"][i]),
        "PaymentMethodId": world.fk("PaymentMethod", pay["method"][i]),
        "PaymentId": world.fk("Payment", i),
        "Gateway": _gateway_names(pay["gateway"][i], pay["electronic"][i]),
        "NocCode": col.options(NOC_CODES, code),
        "NocReason": col.options(NOC_REASONS, code),
        "CorrectedData": col.numbered("****", rng.integers(0, 10_000, n), 4),
        "EventDate": col.stamps(p["created"]),
        "Status": col.options(
            ("Processed", "Ignored", "Error"), col.pick(rng, n, (0.9, 0.08, 0.02))
        ),
    }


def build_payment_reconciliation_job(world: w.World) -> dict[str, Any]:
    """PaymentReconciliationJob columns: one settlement report per gateway and day."""
    p = world.plans["PaymentReconciliationJob"]
    n = world.count("PaymentReconciliationJob")
    return {
        "JobNumber": col.numbered("PRJ-", np.arange(n) + 1, 8),
        "Gateway": _gateway_names(p["gateway"]),
        "ReportDate": col.dates(p["day"]),
        "Status": col.options(("Pending", "Processing", "Completed", "Failed"), np.full(n, 2)),
        "StartedOn": col.stamps(p["started"]),
        "CompletedOn": col.stamps(p["completed"]),
        "TotalRecords": col.integers(p["total"]),
        "ReconciledRecords": col.integers(p["reconciled"]),
        "FailedRecords": col.integers(p["total"] - p["reconciled"]),
    }


def build_payment_reconciliation_log(world: w.World) -> dict[str, Any]:
    """PaymentReconciliationLog columns: each settled payment as its gateway reported it."""
    p = world.plans["PaymentReconciliationLog"]
    pay = world.plans["Payment"]
    i = p["payment"]
    status = p["status"]
    return {
        "PaymentReconciliationJobId": world.fk("PaymentReconciliationJob", p["job"]),
        "PaymentId": world.fk("Payment", i),
        "GatewayReferenceId": col.numbered("", pay["reference"][i], 10),
        "Amount": col.money(pay["applied"][i] + pay["extra"][i]),
        "Currency": col.options(
            w.CURRENCIES, world.plans["Account"]["currency"][pay["account"][i]]
        ),
        "Status": col.options(RECON_STATUS, status),
        "Message": col.options(
            ("", "No matching payment reference", "Amount mismatch"), status, status > 0
        ),
        "TransactionDate": col.stamps(pay["settled"][i]),
    }


def build_gateway_reconciliation_event_log(world: w.World) -> dict[str, Any]:
    """PaymentGatewayReconciliationEventLog columns: the gateway's word on each settled payment."""
    p = world.plans["PaymentGatewayReconciliationEventLog"]
    pay = world.plans["Payment"]
    i = p["payment"]
    payout = p["type"] == 3
    return {
        "PaymentId": world.fk("Payment", i),
        "Gateway": _gateway_names(pay["gateway"][i]),
        "EventType": col.options(EVENT_TYPES, p["type"]),
        "EventDate": col.stamps(p["created"]),
        "GatewayReferenceId": col.numbered("", pay["reference"][i], 10),
        "Amount": col.money(pay["applied"][i] + pay["extra"][i]),
        "Currency": col.options(
            w.CURRENCIES, world.plans["Account"]["currency"][pay["account"][i]]
        ),
        "PayoutId": col.numbered("po_", p["payout"], 8, payout),
        "Message": col.options(
            ("Settled", "Rejected by the issuer", "Chargeback received", "Paid out"), p["type"]
        ),
    }


def build_payment_columns(world: w.World) -> dict[str, Any]:
    """Payment: the gateway's reconciliation status and payout, as its reconciliation event says
    (null for payments no settlement report covered)."""
    p = world.plans["PaymentGatewayReconciliationEventLog"]
    n = world.count("Payment")
    event = np.full(n, -1, dtype=np.int64)
    event[p["payment"]] = np.arange(len(p["payment"]))
    has = event >= 0
    kind = np.where(has, p["type"][np.maximum(event, 0)], 0)
    payout = np.where(has, p["payout"][np.maximum(event, 0)], 0)
    return {
        "GatewayReconciliationStatus": col.options(
            ("Settled", "Rejected", "Chargeback", "PaidOut"), kind, has
        ),
        "GatewayReconciliationReason": col.options(
            ("", "Rejected by the issuer", "Chargeback received", ""),
            kind,
            has & ((kind == 1) | (kind == 2)),
        ),
        "PayoutId": col.numbered("po_", payout, 8, has & (kind == 3)),
    }


def build_refund_columns(world: w.World) -> dict[str, Any]:
    """Refund: the gateway side of each refund, as its transaction log says; external and
    cancelled refunds were never submitted."""
    p = world.plans["RefundTransactionLog"]
    ref = world.plans["Refund"]
    pay = world.plans["Payment"]
    rng = world.rng("Refund:gateway")
    n = world.count("Refund")
    submitted = np.zeros(n, dtype=bool)
    submitted[p["refund"]] = True
    transaction = np.zeros(n, dtype=np.int64)
    transaction[p["refund"]] = p["transaction"]
    sent_at = np.zeros(n, dtype=np.int64)
    sent_at[p["refund"]] = p["created"]
    failed = ref["status"] == 2
    settled = submitted & ~failed
    state = np.where(submitted, np.where(failed, 3, money.SETTLED), 0)
    electronic = ref["electronic"]
    return {
        "Gateway": _gateway_names(pay["gateway"][ref["payment"]], electronic),
        "GatewayResponse": col.options(("Approved", "Declined"), failed * 1, submitted),
        "GatewayResponseCode": col.options(("100", "200"), failed * 1, submitted),
        "GatewayState": col.options(money.GATEWAY_STATES, state),
        "ReferenceID": col.numbered("", transaction, 10, submitted),
        "SubmittedOn": col.stamps(sent_at, submitted),
        "SettledOn": col.stamps(w.after(rng, np.maximum(sent_at, ref["created"]), 2), settled),
        "MarkedForSubmissionOn": col.stamps(ref["created"], electronic),
        "CancelledOn": col.stamps(ref["updated"], ref["status"] == 1),
        "SoftDescriptor": col.options(
            ("AQUARIUM*REFUND",), np.zeros(n, dtype=np.int64), electronic
        ),
        "TransferredToAccounting": col.options(
            ("Processing", "Yes", "No", "Error", "Ignore"), np.where(ref["status"] == 0, 1, 2)
        ),
    }


#: Columns this module adds to objects other families build.
COLUMNS: dict[str, w.Builder] = {
    "Payment": build_payment_columns,
    "Refund": build_refund_columns,
}
#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "PaymentTransactionLog": build_payment_transaction_log,
    "RefundTransactionLog": build_refund_transaction_log,
    "PaymentMethodTransactionLog": build_payment_method_transaction_log,
    "AchNocEventLog": build_ach_noc_event_log,
    "PaymentReconciliationJob": build_payment_reconciliation_job,
    "PaymentReconciliationLog": build_payment_reconciliation_log,
    "PaymentGatewayReconciliationEventLog": build_gateway_reconciliation_event_log,
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (one log per electronic
#: payment: about 0.8 million at scale 50).
CHUNKED = frozenset({"PaymentTransactionLog"})
