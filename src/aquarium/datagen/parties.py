"""Accounts, their contacts (bill-to / sold-to) and payment methods.

Account balances are filled in by :mod:`aquarium.datagen.money` (``balance``, ``credit_balance``),
so an account row is only built after the money plan ran.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aquarium.datagen import columns as col
from aquarium.datagen import world as w

ACCOUNTS_PER_SCALE = 1000
ACCOUNT_STATUS = ("Active", "Canceled", "Draft")
PAYMENT_TERMS = ("Due Upon Receipt", "Net 15", "Net 30", "Net 45", "Net 60")
TERM_DAYS = np.array([0, 15, 30, 45, 60])
PM_TYPES = ("CreditCard", "ACH", "PayPal", "BankTransfer", "Check", "WireTransfer")
#: Payment method types a gateway charges electronically (the rest are recorded externally).
ELECTRONIC_PM = np.array([True, True, True, False, False, False])
CARD_TYPES = ("Visa", "MasterCard", "AmericanExpress", "Discover")
GATEWAYS = ("Stripe", "Adyen", "Authorize.net", "Braintree")
TAX_CERTS = ("Resale", "Non-profit", "Government")


def plan(world: w.World) -> None:
    """Accounts (created in the first three quarters of the span), contacts, payment methods."""
    rng = world.rng("plan:Account")
    n = w.sized(world.scale, ACCOUNTS_PER_SCALE)
    # Accounts open early enough to have a few months of billing history before the end.
    created_day = rng.integers(w.START_DAY + 30, w.END_DAY - 180, size=n)
    created = w.at_day(rng, created_day)
    separate_sold_to = rng.random(n) < 0.35
    contact_counts = 1 + separate_sold_to.astype(np.int64)
    pm_counts = 1 + (rng.random(n) < 0.25).astype(np.int64)
    world.plans["Account"] = {
        "created": created,
        "updated": w.after(rng, created, 400),
        "currency": col.pick(rng, n, w.CURRENCY_WEIGHTS),
        "status": col.pick(rng, n, (0.9, 0.07, 0.03)),
        "term": col.pick(rng, n, (0.1, 0.15, 0.5, 0.15, 0.1)),
        # Tax rate in basis points; a fifth of the accounts are tax exempt.
        "tax_bps": np.where(rng.random(n) < 0.2, 0, rng.choice([500, 700, 825, 1900, 2000], n)),
        "contact_start": w.group_starts(contact_counts),
        "contact_count": contact_counts,
        "pm_start": w.group_starts(pm_counts),
        "pm_count": pm_counts,
    }
    c_parent, _ = w.expand(contact_counts)
    c_created = w.after(rng, created[c_parent], 0.01)
    world.plans["Contact"] = {
        "account": c_parent,
        "created": c_created,
        "updated": w.after(rng, c_created, 300),
    }
    p_parent, p_pos = w.expand(pm_counts)
    p_created = w.after(rng, created[p_parent], 0.02)
    world.plans["PaymentMethod"] = {
        "account": p_parent,
        "position": p_pos,
        "type": col.pick(rng, len(p_parent), (0.55, 0.2, 0.1, 0.07, 0.05, 0.03)),
        "created": p_created,
        "updated": w.after(rng, p_created, 300),
    }


def _person_names(world: w.World, rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    pools = world.pools
    first = col.take(pools.first_names, rng.integers(0, len(pools.first_names), n))
    last = col.take(pools.last_names, rng.integers(0, len(pools.last_names), n))
    return first, last


def build_account(world: w.World) -> dict[str, Any]:
    """Account columns; balances come from the money plan."""
    p = world.plans["Account"]
    rng = world.rng("Account")
    n = world.count("Account")
    pools = world.pools
    index = np.arange(n)
    exempt = p["tax_bps"] == 0
    exempt_day = (p["created"] // col.US_PER_DAY) + rng.integers(0, 60, n)
    parent = np.where(rng.random(n) < 0.05, rng.integers(0, n, n), -1)
    parent = np.where(parent == index, -1, parent)
    rep_first, rep_last = _person_names(world, world.rng("Account:reps"), 30)
    company = col.take(pools.companies, rng.integers(0, len(pools.companies), n))
    return {
        "AccountNumber": col.numbered("A", world.number("Account", index), 8),
        "Name": col.join(company, col.numbered("#", world.number("Account", index), 5), sep=" "),
        "Status": col.options(ACCOUNT_STATUS, p["status"]),
        "Currency": col.options(w.CURRENCIES, p["currency"]),
        "Balance": col.money(p["balance"]),
        "CreditBalance": col.money(p["credit_balance"]),
        "TotalInvoiceBalance": col.money(p["balance"]),
        "AutoPay": col.booleans(rng.random(n) < 0.6),
        "BillCycleDay": col.integers(rng.integers(1, 29, n)),
        "PaymentTerm": col.options(PAYMENT_TERMS, p["term"]),
        "PaymentGateway": col.options(GATEWAYS, rng.integers(0, len(GATEWAYS), n)),
        "SalesRepName": col.take(col.join(rep_first, rep_last, sep=" "), rng.integers(0, 30, n)),
        "CustomerServiceRepName": col.take(
            col.join(rep_first, rep_last, sep=" "), rng.integers(0, 30, n)
        ),
        "PurchaseOrderNumber": col.numbered("PO-", rng.integers(1, 10**6, n), 6),
        "TaxExemptStatus": col.options(("No", "Yes"), exempt.astype(np.int64)),
        "TaxExemptCertificateType": col.options(TAX_CERTS, rng.integers(0, 3, n), exempt),
        "TaxExemptIssuingJurisdiction": col.take(
            pools.states, rng.integers(0, len(pools.states), n), exempt
        ),
        "TaxExemptEffectiveDate": col.dates(exempt_day, exempt),
        "TaxExemptExpirationDate": col.dates(exempt_day + 3 * 365, exempt),
        "LastInvoiceDate": col.dates(p["last_invoice_day"], p["last_invoice_day"] >= 0),
        "ParentId": world.fk("Account", parent),
        "BillToId": world.fk("Contact", p["contact_start"]),
        "SoldToId": world.fk("Contact", p["contact_start"] + p["contact_count"] - 1),
        "DefaultPaymentMethodId": world.fk("PaymentMethod", p["pm_start"]),
        "CrmId": col.numbered("0017000000", rng.integers(0, 10**8, n), 8),
        "Batch": col.options(("Batch1", "Batch2", "Batch3"), col.pick(rng, n, (0.8, 0.15, 0.05))),
        "InvoiceDeliveryPrefsEmail": col.booleans(rng.random(n) < 0.9),
        "InvoiceDeliveryPrefsPrint": col.booleans(rng.random(n) < 0.15),
        "Mrr": col.money(p["mrr"]),
        "Notes": col.take(pools.sentences, rng.integers(0, len(pools.sentences), n)),
    }


def build_contact(world: w.World) -> dict[str, Any]:
    """Contact columns: one bill-to per account, a separate sold-to for some."""
    p = world.plans["Contact"]
    rng = world.rng("Contact")
    n = world.count("Contact")
    pools = world.pools
    first, last = _person_names(world, rng, n)
    lower_first = pc.utf8_lower(pc.replace_substring(first, " ", ""))
    lower_last = pc.utf8_lower(pc.replace_substring(last, " ", ""))
    domain = pc.utf8_lower(pc.replace_substring_regex(world.pools.companies, "[^A-Za-z]", ""))
    domain_of = col.take(domain, rng.integers(0, len(domain), n))
    return {
        "AccountId": world.fk("Account", p["account"]),
        "FirstName": first,
        "LastName": last,
        "NickName": col.take(first, np.arange(n), rng.random(n) < 0.1),
        "WorkEmail": col.join(lower_first, ".", lower_last, "@", domain_of, ".com"),
        "PersonalEmail": col.take(
            col.join(lower_first, lower_last, "@example.net"), np.arange(n), rng.random(n) < 0.3
        ),
        "WorkPhone": _phones(rng, n),
        "HomePhone": col.take(_phones(rng, n), np.arange(n), rng.random(n) < 0.3),
        "MobilePhone": col.take(_phones(rng, n), np.arange(n), rng.random(n) < 0.6),
        "Fax": col.take(_phones(rng, n), np.arange(n), rng.random(n) < 0.05),
        "Address1": col.take(pools.streets, rng.integers(0, len(pools.streets), n)),
        "Address2": col.numbered("Suite ", rng.integers(100, 999, n), 3, rng.random(n) < 0.2),
        "City": col.take(pools.cities, rng.integers(0, len(pools.cities), n)),
        "County": col.null_text(n),
        "State": col.take(pools.states, rng.integers(0, len(pools.states), n)),
        "PostalCode": col.take(pools.postal_codes, rng.integers(0, len(pools.postal_codes), n)),
        "Country": col.take(pools.countries, rng.integers(0, len(pools.countries), n)),
        "TaxRegion": col.null_text(n),
    }


def _phones(rng: np.random.Generator, n: int) -> pa.Array:
    area = col.numbered("+1 (", rng.integers(201, 990, n), 3)
    return col.join(area, ") 555-", col.numbered("", rng.integers(0, 10_000, n), 4))


def build_payment_method(world: w.World) -> dict[str, Any]:
    """PaymentMethod columns; card fields only on cards, bank fields only on ACH, and so on."""
    p = world.plans["PaymentMethod"]
    rng = world.rng("PaymentMethod")
    n = world.count("PaymentMethod")
    kind = p["type"]
    card = kind == 0
    ach = kind == 1
    paypal = kind == 2
    first, last = _person_names(world, rng, n)
    holder = col.join(first, last, sep=" ")
    last_tx = w.after(rng, p["created"], 600)
    failures = np.where(rng.random(n) < 0.05, rng.integers(1, 4, n), 0)
    return {
        "AccountId": world.fk("Account", p["account"]),
        "Type": col.options(PM_TYPES, kind),
        "PaymentMethodStatus": col.options(("Active", "Closed"), (rng.random(n) < 0.05) * 1),
        "Active": col.booleans(np.ones(n, dtype=bool)),
        "CreditCardType": col.options(CARD_TYPES, rng.integers(0, 4, n), card),
        "CreditCardMaskNumber": col.numbered("************", rng.integers(0, 10_000, n), 4, card),
        "CreditCardHolderName": col.take(holder, np.arange(n), card),
        "CreditCardExpirationMonth": col.integers(rng.integers(1, 13, n), card),
        "CreditCardExpirationYear": col.integers(rng.integers(2025, 2032, n), card),
        "BankName": col.take(world.pools.banks, rng.integers(0, len(world.pools.banks), n), ach),
        "AchAccountName": col.take(holder, np.arange(n), ach),
        "AchAccountType": col.options(
            ("BusinessChecking", "Checking", "Saving"), rng.integers(0, 3, n), ach
        ),
        "Email": col.take(col.join(pc.utf8_lower(first), "@example.org"), np.arange(n), paypal),
        "LastTransactionDateTime": col.stamps(last_tx),
        "LastTransactionStatus": col.options(("Approved", "Declined"), (failures > 0) * 1),
        "NumConsecutiveFailures": col.integers(failures),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "Account": build_account,
    "Contact": build_contact,
    "PaymentMethod": build_payment_method,
}
