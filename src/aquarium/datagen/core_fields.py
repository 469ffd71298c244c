"""Standard fields of the core objects added by the issue 12 audit, filled consistently with the
columns the core builders already make (which stay exactly as they were: these columns are drawn
from generators of their own).

Rules:

- Fields of one payment method type are set only on that type (ACH routing and mask on ACH, BIN
  and card address on cards, BAID on PayPal); ``TotalNumberOfProcessedPayments`` counts the
  payments made with the method.
- Discount fields are set only on discount charges (none in this catalogue), overage fields only
  on overage charges; a rate plan charge's ``Price`` is its single tier's price (empty on tiered
  and volume charges), its ``IncludedUnits`` and pricing options are its product charge's.
- ``TaxExemptAmount`` is an item's charge amount when its account is tax exempt (else 0), and an
  invoice's is the sum of its items'. No invoice is reversed (``Reversed`` is false).
- An invoice uses its account's invoice template; only posted invoices have ``PostedBy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from aquarium.datagen import billing, parties
from aquarium.datagen import catalogue as cat
from aquarium.datagen import columns as col
from aquarium.datagen import subscriptions as subs
from aquarium.datagen import world as w

CARD, ACH, PAYPAL = 0, 1, 2
DISCOUNT, OVERAGE = 5, 4
#: Overage charges include this many units before the overage price applies (decided).
INCLUDED_UNITS = 100
TEMPLATE_WEIGHTS = (0.8, 0.15, 0.05)
TRANSFERRED = ("Processing", "Yes", "No", "Error", "Ignore")
YES, NO = 1, 2
ENTITY_USE_CODES = ("A", "B", "E", "G", "M")
TAX_COMPANY = ("AQ-US", "AQ-EU", "AQ-UK", "AQ-JP", "AQ-AU", "AQ-CA")
#: Currencies whose accounts are in the EU VAT area or the UK (they get a VAT ID).
VAT_PREFIX = {1: "DE", 2: "GB"}
PERIOD_TYPES = ("Month", "Year", "Day", "Week")
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def plan(world: w.World) -> None:
    """Each account's invoice template (its invoices use it); each product charge's price change
    option (its subscriptions' charges copy it)."""
    acc = world.plans["Account"]
    rng = world.rng("plan:Account:template")
    acc["template"] = col.pick(rng, len(acc["created"]), TEMPLATE_WEIGHTS)
    prpc = world.plans["ProductRatePlanCharge"]
    rng = world.rng("plan:ProductRatePlanCharge:pricing")
    n = len(prpc["created"])
    specific = (prpc["type"] == cat.RECURRING) & (rng.random(n) < 0.2)
    prpc["price_change"] = specific * 1
    prpc["increase_bps"] = np.where(specific, rng.integers(300, 701, n), 0)


def _ids(world: w.World, purpose: str, n: int) -> pa.Array:
    return col.make_ids(col.rng_for(world.seed, purpose), n)


def _transferred(rng: np.random.Generator, n: int, valid: Any) -> pa.Array:
    return col.options(TRANSFERRED, np.where(valid & (rng.random(n) < 0.6), YES, NO))


def account_columns(world: w.World) -> dict[str, Any]:
    """Account: tax exemption details on exempt accounts, VAT ids in Europe, templates."""
    p = world.plans["Account"]
    rng = world.rng("Account:fields")
    n = world.count("Account")
    exempt = p["tax_bps"] == 0
    vat = np.isin(p["currency"], list(VAT_PREFIX))
    prefix = col.options(("", "DE", "GB", "", "", ""), p["currency"])
    return {
        "AdditionalEmailAddresses": col.take(
            col.join(
                "ap+",
                col.numbered("a", world.number("Account", np.arange(n)), 8),
                "@billing.example",
            ),
            np.arange(n),
            rng.random(n) < 0.15,
        ),
        "AllowInvoiceEdit": col.booleans(rng.random(n) < 0.1),
        "BcdSettingOption": col.options(("AutoSet", "ManualSet"), (rng.random(n) < 0.8) * 1),
        "InvoiceTemplateId": col.take(_ids(world, "invoice templates", 3), p["template"]),
        "PaymentMethodCascadingConsent": col.booleans(np.zeros(n, dtype=bool)),
        "SequenceSetId": col.take(_ids(world, "sequence sets", 1), np.zeros(n, dtype=np.int64)),
        "TaxCompanyCode": col.options(TAX_COMPANY, p["currency"], ~exempt),
        "TaxExemptDescription": col.options(
            ("Tax exempt customer",), np.zeros(n, dtype=np.int64), exempt
        ),
        "TaxExemptCertificateID": col.numbered("CERT-", rng.integers(0, 10**6, n), 6, exempt),
        "TaxExemptEntityUseCode": col.options(
            ENTITY_USE_CODES, rng.integers(0, len(ENTITY_USE_CODES), n), exempt
        ),
        "VATId": col.take(
            col.join(prefix, col.numbered("", rng.integers(10**8, 10**9, n), 9)),
            np.arange(n),
            vat,
        ),
    }


def contact_columns(world: w.World) -> dict[str, Any]:
    """Contact: what the contact is for, and a second phone for some."""
    p = world.plans["Contact"]
    rng = world.rng("Contact:fields")
    n = world.count("Contact")
    bill_to = np.arange(n) == world.plans["Account"]["contact_start"][p["account"]]
    other = rng.random(n) < 0.1
    phone = col.numbered("+1 (555) 01", rng.integers(0, 100, n), 2)
    return {
        "Description": col.options(("Billing contact", "Sales contact"), (~bill_to) * 1),
        "OtherPhone": col.take(phone, np.arange(n), other),
        "OtherPhoneType": col.options(
            ("Work", "Mobile", "Home", "Other"), rng.integers(0, 4, n), other
        ),
    }


def payment_method_columns(world: w.World) -> dict[str, Any]:
    """PaymentMethod: type-specific details, retry rules, payment counts."""
    p = world.plans["PaymentMethod"]
    rng = world.rng("PaymentMethod:fields")
    n = world.count("PaymentMethod")
    kind = p["type"]
    card, ach, paypal = kind == CARD, kind == ACH, kind == PAYPAL
    electronic = parties.ELECTRONIC_PM[kind]
    own_rule = electronic & (rng.random(n) < 0.15)
    pools = world.pools
    processed = np.bincount(world.plans["Payment"]["method"], minlength=n)
    failures = parties.build_payment_method(world)["NumConsecutiveFailures"]
    return {
        "AchAbaCode": col.numbered("", rng.integers(10**8, 10**9, n), 9, ach),
        "AchAccountNumberMask": col.numbered("*****", rng.integers(0, 10_000, n), 4, ach),
        "BankIdentificationNumber": col.numbered("", rng.integers(400000, 560000, n), 6, card),
        "CreditCardPostalCode": col.take(
            pools.postal_codes, rng.integers(0, len(pools.postal_codes), n), card
        ),
        "CreditCardCountry": col.take(
            pools.countries, rng.integers(0, len(pools.countries), n), card
        ),
        "PaypalBaid": col.numbered("B-", rng.integers(0, 10**12, n), 12, paypal),
        "PaypalType": col.options(
            ("ExpressCheckout", "AdaptivePayments"), np.zeros(n, dtype=np.int64), paypal
        ),
        "MaxConsecutivePaymentFailures": col.integers(rng.integers(1, 6, n), own_rule),
        "PaymentRetryWindow": col.integers(rng.integers(24, 97, n), own_rule),
        "UseDefaultRetryRule": col.booleans(~own_rule),
        "TotalNumberOfProcessedPayments": col.integers(processed),
        "TotalNumberOfErrorPayments": failures,
    }


def product_columns(world: w.World) -> dict[str, Any]:
    """Product: numbers, feature changes allowed on a few."""
    n = world.count("Product")
    return {
        "AllowFeatureChanges": col.booleans(np.arange(n) % 4 == 0),
        "ProductNumber": col.numbered("PC-", world.number("Product", np.arange(n)), 8),
    }


def product_rate_plan_columns(world: w.World) -> dict[str, Any]:
    """ProductRatePlan: numbers."""
    n = world.count("ProductRatePlan")
    return {
        "ProductRatePlanNumber": col.numbered(
            "PRP-", world.number("ProductRatePlan", np.arange(n)), 8
        )
    }


def _charge_options(model: Any, kind: Any, increase: Any, change: Any) -> dict[str, Any]:
    n = len(model)
    discount = model == DISCOUNT
    overage = model == OVERAGE
    zero = np.zeros(n, dtype=np.int64)
    return {
        "ApplyDiscountTo": col.options(("RECURRING",), zero, discount),
        "BillCycleType": col.options(("DefaultFromCustomer",), zero),
        "BillingPeriodAlignment": col.options(("AlignToCharge",), zero),
        "Description": col.options(cat.CHARGE_SUFFIX, kind),
        "DiscountLevel": col.options(("rateplan", "subscription", "account"), zero, discount),
        "IncludedUnits": col.money(np.full(n, INCLUDED_UNITS * 100), overage),
        "OverageCalculationOption": col.options(("EndOfSmoothingPeriod",), zero, overage),
        "PriceChangeOption": col.options(
            ("NoChange", "SpecificPercentageValue", "UseLatestProductCatalogPricing"), change
        ),
        "PriceIncreasePercentage": col.decimal_units(increase * 100, change == 1),
        "RevRecTriggerCondition": col.options(("ContractEffectiveDate",), zero),
        "RevenueRecognitionRuleName": col.options(
            ("Recognize upon invoicing", "Recognize daily over time"),
            (kind == cat.RECURRING) * 1,
        ),
    }


def product_rate_plan_charge_columns(world: w.World) -> dict[str, Any]:
    """ProductRatePlanCharge: billing and pricing options."""
    p = world.plans["ProductRatePlanCharge"]
    usage = p["type"] == cat.USAGE
    n = len(usage)
    return _charge_options(p["model"], p["type"], p["increase_bps"], p["price_change"]) | {
        "BillingTiming": col.options(("IN_ADVANCE", "IN_ARREARS"), usage * 1),
        "EndDateCondition": col.options(
            ("Subscription_End", "Fixed_Period", "Specific_End_Date"), np.zeros(n, dtype=np.int64)
        ),
        "ListPriceBase": col.options(
            ("Per_Billing_Period",), np.zeros(n, dtype=np.int64), p["type"] == cat.RECURRING
        ),
    }


def subscription_columns(world: w.World) -> dict[str, Any]:
    """Subscription: terms are counted in months; revision follows the version."""
    p = world.plans["Subscription"]
    n = world.count("Subscription")
    termed = ~p["evergreen"]
    months = col.options(PERIOD_TYPES, np.zeros(n, dtype=np.int64), termed)
    return {
        "InitialTermPeriodType": months,
        "RenewalTermPeriodType": months,
        "CurrentTermPeriodType": months,
        "Revision": col.join(col.numbered("", 1 + p["am_count"], 1), ".0"),
    }


def amendment_columns(world: w.World) -> dict[str, Any]:
    """Amendment: terms on terms-and-conditions and renewal amendments, destinations on owner
    transfers (to another account)."""
    p = world.plans["Amendment"]
    rng = world.rng("Amendment:fields")
    n = world.count("Amendment")
    kind = p["type"]
    terms = (kind == 3) | (kind == 4)
    transfer = kind == 6
    n_acc = len(world.plans["Account"]["created"])
    owner = world.plans["Subscription"]["account"][p["subscription"]]
    destination = (owner + rng.integers(1, max(n_acc, 2), n)) % max(n_acc, 1)
    months = col.options(PERIOD_TYPES, np.zeros(n, dtype=np.int64), terms)
    return {
        "AutoRenew": col.booleans(terms & (rng.random(n) < 0.7)),
        "CurrentTerm": col.integers(np.full(n, 12), terms),
        "CurrentTermPeriodType": months,
        "RenewalTerm": col.integers(np.full(n, 12), terms),
        "RenewalTermPeriodType": months,
        "TermStartDate": col.dates(p["day"], terms),
        "DestinationAccountId": world.fk("Account", destination, transfer),
        "DestinationInvoiceOwnerId": world.fk("Account", destination, transfer),
    }


def rate_plan_charge_columns(world: w.World) -> dict[str, Any]:
    """RatePlanCharge: pricing as its product charge's, billing day as its account's."""
    p = world.plans["RatePlanCharge"]
    prpc = world.plans["ProductRatePlanCharge"]
    n = world.count("RatePlanCharge")
    charge = p["charge"]
    model = p["model"]
    single = (model != cat.TIERED) & (model != cat.VOLUME)
    account = world.plans["Subscription"]["account"][p["subscription"]]
    bcd = parties.build_account(world)["BillCycleDay"].take(pa.array(account))
    weekly = prpc["period"][charge] == 4
    overage = model == OVERAGE
    discount = model == DISCOUNT
    options = _charge_options(
        model, p["type"], prpc["increase_bps"][charge], prpc["price_change"][charge]
    )
    return options | {
        "BillCycleDay": bcd,
        "DiscountAmount": col.money(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)),
        "DiscountPercentage": col.decimal_units(np.full(n, 10 * 10_000), discount),
        "IsProcessed": col.booleans(np.zeros(n, dtype=bool)),
        "NumberOfPeriods": col.integers(np.full(n, 3), overage),
        "OriginalId": world.ids("RatePlanCharge"),
        "OverageUnusedUnitsCreditOption": col.options(
            ("NoCredit", "CreditBySpecificRate"), np.zeros(n, dtype=np.int64), overage
        ),
        "Price": col.money(p["price"] * subs.TIER_PRICE_PERCENT[0] // 100, single),
        "SpecificBillingPeriod": col.integers(np.zeros(n), np.zeros(n, dtype=bool)),
        "SpecificEndDate": col.dates(np.zeros(n), np.zeros(n, dtype=bool)),
        "TriggerDate": col.dates(np.zeros(n), np.zeros(n, dtype=bool)),
        "WeeklyBillCycleDay": col.options(WEEKDAYS, np.ones(n, dtype=np.int64), weekly),
    }


def rate_plan_charge_tier_columns(world: w.World) -> dict[str, Any]:
    """RatePlanChargeTier: discounts on discount charges only, overage on overage charges."""
    p = world.plans["RatePlanChargeTier"]
    rpc = world.plans["RatePlanCharge"]
    charge = p["charge"]
    n = len(charge)
    model = rpc["model"][charge]
    overage = model == OVERAGE
    discount = model == DISCOUNT
    tiered = p["tiered"]
    price = rpc["price"][charge] * subs.TIER_PRICE_PERCENT[p["tier"]] // 100
    return {
        "DiscountAmount": col.money(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)),
        "DiscountPercentage": col.decimal_units(np.full(n, 10 * 10_000), discount),
        "IncludedUnits": col.money(np.full(n, INCLUDED_UNITS * 100), overage),
        "OveragePrice": col.money(price, overage),
        "IsOveragePrice": col.booleans(np.zeros(n, dtype=bool), tiered),
    }


def invoice_columns(world: w.World) -> dict[str, Any]:
    """Invoice: tax exempt amounts, template, who posted it; nothing reversed."""
    p = world.plans["Invoice"]
    acc = world.plans["Account"]
    rng = world.rng("Invoice:fields")
    n = world.count("Invoice")
    exempt = acc["tax_bps"][p["account"]] == 0
    posted = p["status"] == billing.POSTED
    return {
        "Reversed": col.booleans(np.zeros(n, dtype=bool)),
        "TaxExemptAmount": col.money(np.where(exempt, p["without_tax"], 0)),
        "PostedBy": col.take(world.users, rng.integers(0, len(world.users), n), posted),
        "TemplateId": col.take(_ids(world, "invoice templates", 3), acc["template"][p["account"]]),
        "TransferredToAccounting": _transferred(rng, n, posted),
    }


def invoice_item_columns(world: w.World) -> dict[str, Any]:
    """InvoiceItem: tax code and exempt amount; revenue starts with the service period."""
    p = world.plans["InvoiceItem"]
    n = len(p["invoice"])
    exempt = world.plans["Account"]["tax_bps"][p["account"]] == 0
    day = world.plans["Invoice"]["day"][p["invoice"]]
    zero = np.zeros(n, dtype=np.int64)
    return {
        "TaxCode": col.options(("GENERAL",), zero, ~exempt),
        "TaxExemptAmount": col.money(np.where(exempt, p["amount"], 0)),
        "TaxMode": col.options(("TaxExclusive", "TaxInclusive"), zero),
        "ExcludeItemBillingFromRevenueAccounting": col.booleans(np.zeros(n, dtype=bool)),
        "RevRecStartDate": col.dates(day),
    }


def _cancelled_by(world: w.World, name: str) -> pa.Array:
    p = world.plans[name]
    rng = world.rng(f"{name}:fields")
    n = len(p["invoice"])
    return col.take(world.users, rng.integers(0, len(world.users), n), p["status"] == 1)


def invoice_item_adjustment_columns(world: w.World) -> dict[str, Any]:
    """InvoiceItemAdjustment: who cancelled the cancelled ones."""
    return {"CancelledById": _cancelled_by(world, "InvoiceItemAdjustment")}


def invoice_adjustment_columns(world: w.World) -> dict[str, Any]:
    """InvoiceAdjustment: who cancelled the cancelled ones; processed ones go to accounting."""
    p = world.plans["InvoiceAdjustment"]
    rng = world.rng("InvoiceAdjustment:transfer")
    return {
        "CancelledById": _cancelled_by(world, "InvoiceAdjustment"),
        "TransferredToAccounting": _transferred(rng, len(p["invoice"]), p["status"] == 0),
    }


def payment_columns(world: w.World) -> dict[str, Any]:
    """Payment: no prepayments; a support phone on electronic payments."""
    p = world.plans["Payment"]
    rng = world.rng("Payment:fields")
    n = world.count("Payment")
    return {
        "Prepayment": col.booleans(np.zeros(n, dtype=bool)),
        "SoftDescriptorPhone": col.options(
            ("+1 800 555 0100",), np.zeros(n, dtype=np.int64), p["electronic"]
        ),
        "TransferredToAccounting": _transferred(rng, n, np.ones(n, dtype=bool)),
    }


def credit_balance_adjustment_columns(world: w.World) -> dict[str, Any]:
    """CreditBalanceAdjustment: transfer to accounting."""
    rng = world.rng("CreditBalanceAdjustment:fields")
    n = world.count("CreditBalanceAdjustment")
    return {"TransferredToAccounting": _transferred(rng, n, np.ones(n, dtype=bool))}


BUILDERS: dict[str, w.Builder] = {}
#: Columns this module adds to the core objects (see :mod:`aquarium.datagen.generate`).
COLUMNS: dict[str, w.Builder] = {
    "Account": account_columns,
    "Contact": contact_columns,
    "PaymentMethod": payment_method_columns,
    "Product": product_columns,
    "ProductRatePlan": product_rate_plan_columns,
    "ProductRatePlanCharge": product_rate_plan_charge_columns,
    "Subscription": subscription_columns,
    "Amendment": amendment_columns,
    "RatePlanCharge": rate_plan_charge_columns,
    "RatePlanChargeTier": rate_plan_charge_tier_columns,
    "Invoice": invoice_columns,
    "InvoiceItem": invoice_item_columns,
    "InvoiceItemAdjustment": invoice_item_adjustment_columns,
    "InvoiceAdjustment": invoice_adjustment_columns,
    "Payment": payment_columns,
    "CreditBalanceAdjustment": credit_balance_adjustment_columns,
}
