"""Gateway logs: payment, refund and payment method transaction logs, ACH notifications of
change.

Invariants:

- Each electronic payment has one ``Sale`` transaction log whose ``TransactionId`` is the
  payment's ``ReferenceId`` and whose request names the payment's gateway, amount and currency;
  its ``GatewayState`` is the payment's.
- Each electronic refund that was submitted (processed or in error) has one ``Refund`` log with
  the refund's amount; ``Settled`` for processed refunds, ``FailedToSettle`` for errors.
- Each electronic payment method has one ``Authorization`` log at its creation.

Gateway reconciliation (jobs, events, logs) is in :mod:`aquarium.datagen.operations_recon`.
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
        col.numbered("ORD-", world.number("Payment", i), 9),
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
COLUMNS: dict[str, w.Builder] = {"Refund": build_refund_columns}
#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "PaymentTransactionLog": build_payment_transaction_log,
    "RefundTransactionLog": build_refund_transaction_log,
    "PaymentMethodTransactionLog": build_payment_method_transaction_log,
    "AchNocEventLog": build_ach_noc_event_log,
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (one log per electronic
#: payment: about 0.8 million at scale 50).
CHUNKED = frozenset({"PaymentTransactionLog"})
