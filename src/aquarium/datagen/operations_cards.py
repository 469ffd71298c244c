"""Card lifecycle records: Payment Method Updater batches and details, stored credential
profiles, Smart Prevention screening and Hosted Payment Page CAPTCHA checks.

Invariants:

- An updater detail is a credit card payment method sent in the monthly updater batch of a month
  after the card was created; its "before" card fields are the payment method's. A batch counts
  its details (``TotalPaymentMethods``) and those updated (``UpdatedPaymentMethods``), and each
  detail was created while its batch ran.
- A stored credential profile belongs to a Visa or MasterCard payment method; its brand is the
  card's, it was agreed on the day the card was created.
- Smart Prevention allowed the creation of the card payment methods it audited (the audit names
  them) and blocked other attempts (no payment method). A CAPTCHA check that succeeded led to a
  payment method; a failed one did not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aquarium.datagen import columns as col
from aquarium.datagen import parties
from aquarium.datagen import world as w
from aquarium.datagen.operations_gateway import at_least_one

CARD = 0
UPDATER_SHARE = 0.3
DETAIL_STATUS = ("Updated", "NoMatch", "ContactCardholder", "Closed", "Error")
#: decided: Zuora's 5xx class (the updater service's answer), one code per outcome.
DETAIL_CODES = ("501", "502", "503", "504", "505")
DETAIL_MESSAGES = (
    "Card updated",
    "No match found",
    "Contact the cardholder",
    "Account closed",
    "Updater service error",
)
UPDATER_SERVICES = ("CyberSource", "Vantiv", "WorldPay")
#: Updater batches start at 02:00 UTC on the first day of the month.
BATCH_HOUR_S = 2 * 3600
BLOCKED_PER_SCALE = 30
CAPTCHA_FAILED_PER_SCALE = 20
RULES = ("Velocity per IP", "Velocity per account", "BIN country mismatch")
#: reCAPTCHA v3 scores at or above this (in 1/10000) pass.
CAPTCHA_THRESHOLD = 5000


def _month_start_day(months: Any) -> Any:
    """Days since the epoch of the first day of each month index (months since 1970-01)."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def plan(world: w.World) -> None:
    """Updater batches and details, credential profiles, screening and CAPTCHA records."""
    pm = world.plans["PaymentMethod"]
    n_pm = len(pm["created"])
    card_type = parties.build_payment_method(world)["CreditCardType"]
    pm["card_type"] = _card_type_index(card_type)
    card = pm["type"] == CARD
    rng = world.rng("plan:UpdaterDetail")
    method = at_least_one(np.flatnonzero(card & (rng.random(n_pm) < UPDATER_SHARE)), n_pm)
    created_month = (pm["created"][method] // col.US_PER_DAY).astype("datetime64[D]")
    first = created_month.astype("datetime64[M]").astype(np.int64) + 1
    last = np.datetime64(w.END_DAY, "D").astype("datetime64[M]").astype(np.int64)
    month = first + np.floor(rng.random(len(method)) * np.maximum(last - first + 1, 1))
    month = np.minimum(month.astype(np.int64), last)
    months, batch = np.unique(month, return_inverse=True)
    started = _month_start_day(months) * col.US_PER_DAY + BATCH_HOUR_S * 1_000_000
    status = col.pick(rng, len(method), (0.3, 0.6, 0.04, 0.03, 0.03))
    completed = np.minimum(
        started + rng.integers(3600, 6 * 3600, len(months)) * 1_000_000, w.END_US
    )
    completed = np.maximum(completed, started + 2_000_000)
    world.plans["UpdaterDetail"] = {
        "method": method,
        "batch": batch,
        "status": status,
        "created": started[batch] + 1_000_000,
        "updated": completed[batch],
    }
    world.plans["UpdaterBatch"] = {
        "total": np.bincount(batch, minlength=len(months)),
        "updated_count": np.bincount(batch, weights=status == 0, minlength=len(months)),
        "started": started,
        "completed": completed,
        "created": started,
        "updated": completed,
    }
    _plan_profiles(world)
    _plan_screening(world)


def _card_type_index(values: pa.Array) -> Any:
    index = np.full(len(values), -1, dtype=np.int64)
    texts = values.to_numpy(zero_copy_only=False)
    for position, name in enumerate(parties.CARD_TYPES):
        index[texts == name] = position
    return index


def _plan_profiles(world: w.World) -> None:
    pm = world.plans["PaymentMethod"]
    rng = world.rng("plan:StoredCredentialProfile")
    n_pm = len(pm["created"])
    brandable = (pm["type"] == CARD) & (pm["card_type"] >= 0) & (pm["card_type"] <= 1)
    method = np.flatnonzero(brandable & (rng.random(n_pm) < 0.7))
    if len(method) == 0:
        method = at_least_one(np.flatnonzero(brandable)[:1], n_pm)
    n = len(method)
    status = col.pick(rng, n, (0.05, 0.85, 0.1))
    created = w.after(rng, pm["created"][method], 0.0001)
    cancelled = w.after(rng, created, 400)
    world.plans["StoredCredentialProfile"] = {
        "method": method,
        "status": status,
        "cancelled": cancelled,
        "created": created,
        "updated": np.where(status == 2, cancelled, created),
    }


def _plan_screening(world: w.World) -> None:
    pm = world.plans["PaymentMethod"]
    acc = world.plans["Account"]
    n_pm = len(pm["created"])
    n_acc = len(acc["created"])
    card = pm["type"] == CARD
    for name, share, per_scale in (
        ("SmartPreventionAudit", 0.2, BLOCKED_PER_SCALE),
        ("HpmCaptchaValidationResult", 0.3, CAPTCHA_FAILED_PER_SCALE),
    ):
        rng = world.rng(f"plan:{name}")
        allowed = np.flatnonzero(card & (rng.random(n_pm) < share))
        n_blocked = w.sized(world.scale, per_scale)
        blocked_account = rng.integers(0, n_acc, n_blocked)
        allowed_at = pm["created"][allowed] - rng.integers(1, 120, len(allowed)) * 1_000_000
        blocked_at = w.after(rng, acc["created"][blocked_account], 300)
        created = np.concatenate([allowed_at, blocked_at])
        world.plans[name] = {
            "method": np.concatenate([allowed, np.full(n_blocked, -1)]),
            "account": np.concatenate([pm["account"][allowed], blocked_account]),
            "created": created,
            "updated": created,
        }


def build_updater_batch(world: w.World) -> dict[str, Any]:
    """UpdaterBatch columns: one monthly batch, counting its cards."""
    p = world.plans["UpdaterBatch"]
    rng = world.rng("UpdaterBatch")
    n = world.count("UpdaterBatch")
    return {
        "BatchNumber": col.numbered("UB-", world.number("UpdaterBatch", np.arange(n)), 6),
        "UpdaterRequestId": col.numbered("", rng.integers(100000, 999999, n), 6),
        "UpdaterService": col.options(UPDATER_SERVICES, np.zeros(n, dtype=np.int64)),
        "PostDate": col.dates(p["completed"] // col.US_PER_DAY),
        "StartedOn": col.stamps(p["started"]),
        "CompletedOn": col.stamps(p["completed"]),
        "Status": col.options(("Processing", "Completed", "Error"), np.ones(n, dtype=np.int64)),
        "ResponseCode": col.options(("100",), np.zeros(n, dtype=np.int64)),
        "ResponseMessage": col.options(("Batch completed",), np.zeros(n, dtype=np.int64)),
        "TotalPaymentMethods": col.integers(p["total"]),
        "UpdatedPaymentMethods": col.integers(p["updated_count"]),
    }


def build_updater_detail(world: w.World) -> dict[str, Any]:
    """UpdaterDetail columns: the card before, and after when the network updated it."""
    p = world.plans["UpdaterDetail"]
    pm = world.plans["PaymentMethod"]
    rng = world.rng("UpdaterDetail")
    i = p["method"]
    n = len(i)
    built = parties.build_payment_method(world)
    index = pa.array(i)
    mask = built["CreditCardMaskNumber"].take(index)
    month = built["CreditCardExpirationMonth"].take(index).to_numpy(zero_copy_only=False)
    year = built["CreditCardExpirationYear"].take(index).to_numpy(zero_copy_only=False)
    updated = p["status"] == 0
    new_number = updated & (rng.random(n) < 0.3)
    new_mask = col.numbered("************", rng.integers(0, 10_000, n), 4)
    return {
        "UpdaterBatchId": world.fk("UpdaterBatch", p["batch"]),
        "AccountId": world.fk("Account", pm["account"][i]),
        "PaymentMethodId": world.fk("PaymentMethod", i),
        "CreditCardType": built["CreditCardType"].take(index),
        "CreditCardMaskNumber": mask,
        "CreditCardExpirationMonth": built["CreditCardExpirationMonth"].take(index),
        "CreditCardExpirationYear": built["CreditCardExpirationYear"].take(index),
        "NewCreditCardMaskNumber": col.take(
            pc.if_else(pa.array(new_number), new_mask, mask), np.arange(n), updated
        ),
        "NewCreditCardExpirationMonth": col.integers(
            np.nan_to_num(month).astype(np.int64), updated
        ),
        "NewCreditCardExpirationYear": col.integers(
            np.nan_to_num(year).astype(np.int64) + 3, updated
        ),
        "IsNewPaymentMethod": col.booleans(np.zeros(n, dtype=bool)),
        "Status": col.options(DETAIL_STATUS, p["status"]),
        "ResponseCode": col.options(DETAIL_CODES, p["status"]),
        "ResponseMessage": col.options(DETAIL_MESSAGES, p["status"]),
        "Success": col.booleans(p["status"] != 4),
    }


def build_stored_credential_profile(world: w.World) -> dict[str, Any]:
    """StoredCredentialProfile columns: consent to store Visa and MasterCard cards."""
    p = world.plans["StoredCredentialProfile"]
    pm = world.plans["PaymentMethod"]
    rng = world.rng("StoredCredentialProfile")
    i = p["method"]
    n = len(i)
    day = p["created"] // col.US_PER_DAY
    status = p["status"]
    card_type = pm["card_type"][i]
    return {
        "PaymentMethodId": world.fk("PaymentMethod", i),
        "Number": col.integers(np.ones(n)),
        # Only Visa and MasterCard cards have profiles (a one-account world may have neither).
        "Brand": col.options(("Visa", "Mastercard"), np.where(card_type <= 1, card_type, -1)),
        "Type": col.options(("Recurring", "Unscheduled"), (rng.random(n) < 0.1) * 1),
        "Status": col.options(("Agreed", "Active", "Cancelled"), status),
        "ConsentAgreementSrc": col.options(("External",), np.zeros(n, dtype=np.int64)),
        "ConsentAgreementRef": col.numbered("CONSENT-", rng.integers(0, 10**8, n), 8),
        "AgreedOn": col.dates(day),
        "ActivatedOn": col.dates(day, status >= 1),
        "CancelledOn": col.dates(p["cancelled"] // col.US_PER_DAY, status == 2),
        "ExpiredOn": col.dates(day, np.zeros(n, dtype=bool)),
    }


def _ips(rng: np.random.Generator, n: int) -> pa.Array:
    parts = [col.numbered("", rng.integers(1, 255, n), 1) for _ in range(4)]
    return col.join(*parts, sep=".")


def build_smart_prevention_audit(world: w.World) -> dict[str, Any]:
    """SmartPreventionAudit columns: allowed card creations and blocked attempts."""
    p = world.plans["SmartPreventionAudit"]
    rng = world.rng("SmartPreventionAudit")
    n = world.count("SmartPreventionAudit")
    blocked = p["method"] < 0
    return {
        "AccountId": world.fk("Account", p["account"]),
        "PaymentMethodId": world.fk("PaymentMethod", p["method"]),
        "IpAddress": _ips(rng, n),
        "Decision": col.options(("Allowed", "Blocked"), blocked * 1),
        "RuleName": col.options(RULES, rng.integers(0, len(RULES), n), blocked),
        "Reason": col.options(("Too many attempts",), np.zeros(n, dtype=np.int64), blocked),
        "EventDate": col.stamps(p["created"]),
    }


def build_hpm_captcha_validation_result(world: w.World) -> dict[str, Any]:
    """HpmCaptchaValidationResult columns: accepted checks (a card and its validation log
    followed) and rejected ones (nothing followed)."""
    p = world.plans["HpmCaptchaValidationResult"]
    rng = world.rng("HpmCaptchaValidationResult")
    n = world.count("HpmCaptchaValidationResult")
    passed = p["method"] >= 0
    score = np.where(passed, rng.integers(7000, 10000, n), rng.integers(0, 4000, n))
    pages = col.make_ids(world.rng("HpmCaptchaValidationResult:pages"), 3)
    logs = world.plans["PaymentMethodTransactionLog"]["method"]
    log_of = np.full(world.count("PaymentMethod"), -1, dtype=np.int64)
    log_of[logs] = np.arange(len(logs))
    log = np.where(passed, log_of[np.maximum(p["method"], 0)], -1)
    decision = col.options(("Accept", "Reject"), (~passed) * 1)
    return {
        "AccountId": world.fk("Account", p["account"]),
        "TraceId": col.make_ids(rng, n),
        "IpAddress": _ips(rng, n),
        "HostedPageId": col.take(pages, rng.integers(0, 3, n)),
        "PaymentMethodId": world.fk("PaymentMethod", p["method"]),
        "PaymentMethodTransactionLogId": world.fk("PaymentMethodTransactionLog", log),
        "Score": col.decimal_units(score),
        "ScoreThreshold": col.decimal_units(np.full(n, CAPTCHA_THRESHOLD)),
        "ValidateDecision": decision,
        "RecaptchaVersion": col.options(("v3",), np.zeros(n, dtype=np.int64)),
        "ValidateResponse": col.join(
            '{"success":true,"score":', col.numbered("0.", score // 10, 3), "}"
        ),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "UpdaterBatch": build_updater_batch,
    "UpdaterDetail": build_updater_detail,
    "StoredCredentialProfile": build_stored_credential_profile,
    "SmartPreventionAudit": build_smart_prevention_audit,
    "HpmCaptchaValidationResult": build_hpm_captcha_validation_result,
}
