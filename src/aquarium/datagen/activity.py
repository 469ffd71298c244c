"""What happens on a simulated day: believable business activity, row by row.

Each simulated day touches about :data:`ACCOUNT_TOUCH_RATE` of the tenant's accounts (at least
one) and signs up a few new customers; each touched account gets one believable action: an
invoice with items, a payment of an open invoice, an amendment of a subscription (new terms,
renewal or cancellation), an account or contact update, usage records, or a deletion (a usage
record, a spare contact, or a draft invoice discarded). Every row goes through
:class:`billing_writes.BillingWrites` (the :class:`Recorder` counts them), one transaction per
row, so timestamps are the real time of each write and ``UpdatedDate``/``_DeletedDate`` are what
incremental exports will find. Business dates (invoice dates, effective dates ...) advance one
calendar day per simulated day.

The same data and seed give the same activity (ids included); reads are ordered by ``Id``.
References stay intact: nothing is deleted that a live row refers to. The entry points are in
:mod:`aquarium.datagen.simulate`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aquarium.datagen import pools
from aquarium.engines import billing_writes

#: Share of the tenant's accounts that see activity on one simulated day.
ACCOUNT_TOUCH_RATE = 0.005
#: New customers per touched account.
NEW_CUSTOMER_RATE = 0.25
#: The people (user names) the activity is attributed to (CreatedById / UpdatedById).
ACTORS = ("billing-ops", "finance", "sales", "api-integration")
CENT = Decimal("0.01")
Row = dict[str, Any]


@dataclass
class Recorder:
    """The write path, counting what it is asked to do."""

    writes: billing_writes.BillingWrites
    tenant: str
    rng: random.Random
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed: set[tuple[str, str]] = field(default_factory=set)

    def _actor(self) -> str:
        return self.rng.choice(ACTORS)

    def create(self, obj: str, values: Row) -> str:
        row_id = self.writes.create(self.tenant, obj, values, actor=self._actor())
        self._count(obj, "create", row_id)
        return row_id

    def update(self, obj: str, row_id: str, values: Row) -> None:
        self.writes.update(self.tenant, obj, row_id, values, actor=self._actor())
        self._count(obj, "update", row_id)

    def delete(self, obj: str, row_id: str) -> None:
        self.writes.delete(self.tenant, obj, row_id, actor=self._actor())
        self._count(obj, "delete", row_id)

    def find(self, obj: str, **equals: Any) -> list[Row]:
        return self.writes.find(self.tenant, obj, equals)

    def _count(self, obj: str, operation: str, row_id: str) -> None:
        self.counts[obj, operation] += 1
        self.changed.add((obj, row_id))


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    return dt.date(year, month % 12 + 1, min(day.day, 28))


class Simulation:
    """One run: reads the tenant's reference data once, then plays day after day."""

    def __init__(self, out: Recorder, seed: int, first_day: dt.date) -> None:
        self.out = out
        self.rng = out.rng
        self.first_day = first_day
        self.day = first_day
        text = pools.build(seed)
        self.first_names = text.first_names.to_pylist()
        self.last_names = text.last_names.to_pylist()
        self.companies = text.companies.to_pylist()
        self.cities = text.cities.to_pylist()
        self.sentences = text.sentences.to_pylist()
        self.plans = out.find("ProductRatePlan")
        self.plan_charges = out.find("ProductRatePlanCharge")
        self.periods = out.find("AccountingPeriod")
        self.accounts = [row["Id"] for row in out.find("Account")]

    def run(self, days: int) -> None:
        actions: tuple[tuple[Callable[[str], None], int], ...] = (
            (self.bill, 25),
            (self.pay, 25),
            (self.amend, 12),
            (self.update_account, 12),
            (self.update_contact, 10),
            (self.record_usage, 6),
            (self.delete_something, 10),
        )
        for offset in range(days):
            self.day = self.first_day + dt.timedelta(days=offset)
            touched = max(1, round(len(self.accounts) * ACCOUNT_TOUCH_RATE))
            for _ in range(int(touched * NEW_CUSTOMER_RATE + self.rng.random())):
                self.new_customer()
            picked = self.rng.sample(self.accounts, min(touched, len(self.accounts)))
            for account in picked:
                action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
                action(account)

    # -- helpers ------------------------------------------------------------------------------
    def _period(self) -> str | None:
        for period in self.periods:
            if period["StartDate"] <= self.day <= period["EndDate"]:
                return str(period["Id"])
        return None

    def _account(self, account: str) -> Row | None:
        return self.out.writes.get(self.out.tenant, "Account", account)

    def _active_subscription(self, account: str) -> Row | None:
        subs = [
            s for s in self.out.find("Subscription", AccountId=account) if s["Status"] == "Active"
        ]
        return self.rng.choice(subs) if subs else None

    def _charges_of(self, subscription: str) -> list[tuple[Row, Row]]:
        """(RatePlan, RatePlanCharge) pairs of a subscription."""
        pairs = []
        for plan in self.out.find("RatePlan", SubscriptionId=subscription):
            pairs += [(plan, c) for c in self.out.find("RatePlanCharge", RatePlanId=plan["Id"])]
        return pairs

    def _product_of(self, plan_id: str | None) -> str | None:
        for plan in self.plans:
            if plan["Id"] == plan_id:
                return str(plan["ProductId"])
        return None

    def _method_of(self, account: Row) -> str | None:
        if account.get("DefaultPaymentMethodId"):
            return str(account["DefaultPaymentMethodId"])
        methods = self.out.find("PaymentMethod", AccountId=account["Id"])
        return str(methods[0]["Id"]) if methods else None

    def _move_balance(self, account: Row, delta: Decimal) -> None:
        balance = (account.get("Balance") or Decimal(0)) + delta
        self.out.update("Account", account["Id"], {"Balance": balance})

    # -- actions ------------------------------------------------------------------------------
    def new_customer(self) -> None:
        """Account (draft), contact, payment method, activation, subscription, first invoice."""
        rng, out = self.rng, self.out
        account = out.create(
            "Account",
            {
                "Name": rng.choice(self.companies),
                "Currency": rng.choices(("USD", "EUR", "GBP"), (6, 3, 1))[0],
                "BillCycleDay": self.day.day if self.day.day <= 28 else 1,
                "Status": "Draft",
                "PaymentTerm": rng.choice(("Due Upon Receipt", "Net 30", "Net 45")),
                "AutoPay": rng.random() < 0.6,
                "Balance": Decimal(0),
                "Batch": "Batch1",
            },
        )
        first, last = rng.choice(self.first_names), rng.choice(self.last_names)
        contact = out.create(
            "Contact",
            {
                "AccountId": account,
                "FirstName": first,
                "LastName": last,
                "WorkEmail": f"{first}.{last}@example.com".lower().replace(" ", ""),
                "City": rng.choice(self.cities),
                "Country": "United States",
            },
        )
        method = out.create(
            "PaymentMethod",
            {
                "AccountId": account,
                "Type": "CreditCard",
                "PaymentMethodStatus": "Active",
                "Active": True,
                "CreditCardType": rng.choice(("Visa", "MasterCard", "AmericanExpress")),
                "CreditCardMaskNumber": f"************{rng.randrange(10000):04d}",
                "CreditCardHolderName": f"{first} {last}",
                "CreditCardExpirationMonth": rng.randint(1, 12),
                "CreditCardExpirationYear": self.day.year + rng.randint(1, 5),
            },
        )
        activation = {"BillToId": contact, "SoldToId": contact, "DefaultPaymentMethodId": method}
        number = {"AccountNumber": f"A{account[:8].upper()}", "Status": "Active"}
        out.update("Account", account, activation | number)
        self.accounts.append(account)
        self.subscribe(account)
        self.bill(account)

    def subscribe(self, account: str) -> None:
        """A 12-month termed subscription to one product rate plan with its recurring charge."""
        if not self.plans:
            return
        rng, out = self.rng, self.out
        plan = rng.choice(self.plans)
        start, end = self.day, _add_months(self.day, 12)
        subscription = out.create(
            "Subscription",
            {
                "AccountId": account,
                "InvoiceOwnerId": account,
                "Status": "Active",
                "Version": 1,
                "TermType": "TERMED",
                "InitialTerm": 12,
                "RenewalTerm": 12,
                "CurrentTerm": 12,
                "AutoRenew": rng.random() < 0.7,
                "ContractEffectiveDate": start,
                "ServiceActivationDate": start,
                "SubscriptionStartDate": start,
                "TermStartDate": start,
                "TermEndDate": end,
            },
        )
        out.update("Subscription", subscription, {"Name": f"A-S{subscription[:8].upper()}"})
        rate_plan = out.create(
            "RatePlan",
            {
                "SubscriptionId": subscription,
                "ProductRatePlanId": plan["Id"],
                "Name": plan["Name"],
                "AmendmentType": "NewProduct",
            },
        )
        charges = [c for c in self.plan_charges if c["ProductRatePlanId"] == plan["Id"]]
        price = _money(rng.choice((19, 49, 99, 249, 499)))
        quantity = Decimal(rng.randint(1, 20))
        out.create(
            "RatePlanCharge",
            {
                "RatePlanId": rate_plan,
                "ProductRatePlanChargeId": charges[0]["Id"] if charges else None,
                "Name": charges[0]["Name"] if charges else plan["Name"],
                "ChargeNumber": f"C-{rate_plan[:8].upper()}",
                "ChargeModel": "Per Unit Pricing",
                "ChargeType": "Recurring",
                "BillingPeriod": "Month",
                "BillingTiming": "IN_ADVANCE",
                "TriggerEvent": "ContractEffective",
                "EffectiveStartDate": start,
                "EffectiveEndDate": end,
                "Quantity": quantity,
                "MRR": price * quantity,
                "TCV": price * quantity * 12,
                "Segment": 1,
                "Version": 1,
                "IsLastSegment": True,
            },
        )

    def _invoice(self, account: Row, status: str, subscription: Row | None) -> tuple[str, Decimal]:
        """An invoice with items for some charges of ``subscription`` (none without one)."""
        out = self.out
        invoice = out.create(
            "Invoice",
            {
                "AccountId": account["Id"],
                "InvoiceDate": self.day,
                "TargetDate": self.day,
                "DueDate": self.day + dt.timedelta(days=30),
                "Status": "Draft",
                "Currency": account.get("Currency") or "USD",
            },
        )
        total = Decimal(0)
        pairs = self._charges_of(subscription["Id"]) or [({}, {})] if subscription else []
        for plan, charge in self.rng.sample(pairs, min(len(pairs), self.rng.randint(1, 3))):
            quantity = charge.get("Quantity") or Decimal(1)
            price = _money(self.rng.uniform(5, 200))
            amount = (price * quantity).quantize(CENT)
            total += amount
            out.create(
                "InvoiceItem",
                {
                    "InvoiceId": invoice,
                    "AccountId": account["Id"],
                    "SubscriptionId": subscription["Id"] if subscription else None,
                    "RatePlanChargeId": charge.get("Id"),
                    "ProductId": self._product_of(plan.get("ProductRatePlanId")),
                    "AccountingPeriodId": self._period(),
                    "ChargeName": charge.get("Name") or "Subscription fee",
                    "ChargeDate": dt.datetime.combine(self.day, dt.time(12), dt.UTC),
                    "ProcessingType": "Charge",
                    "Quantity": quantity,
                    "UnitPrice": price,
                    "ChargeAmount": amount,
                    "TaxAmount": Decimal(0),
                    "ServiceStartDate": self.day,
                    "ServiceEndDate": _add_months(self.day, 1) - dt.timedelta(days=1),
                },
            )
        if status != "Draft":
            totals = {"Amount": total, "AmountWithoutTax": total, "Balance": total}
            out.update("Invoice", invoice, {**totals, "Status": status, "TaxAmount": Decimal(0)})
        return invoice, total

    def bill(self, account_id: str) -> None:
        """Post an invoice for one of the account's active subscriptions."""
        account = self._account(account_id)
        subscription = self._active_subscription(account_id)
        if account is None or subscription is None:
            return
        _, total = self._invoice(account, "Posted", subscription)
        self._move_balance(account, total)
        self.out.update("Account", account_id, {"LastInvoiceDate": self.day})

    def pay(self, account_id: str) -> None:
        """Pay the account's oldest open posted invoice in full."""
        account = self._account(account_id)
        if account is None:
            return
        invoices = self.out.find("Invoice", AccountId=account_id, Status="Posted")
        open_invoices = [i for i in invoices if (i["Balance"] or 0) > 0]
        if not open_invoices:
            return
        invoice = min(open_invoices, key=lambda i: (i["InvoiceDate"], i["Id"]))
        amount = invoice["Balance"]
        payment = self.out.create(
            "Payment",
            {
                "AccountId": account_id,
                "PaymentMethodId": self._method_of(account),
                "AccountingPeriodId": self._period(),
                "EffectiveDate": self.day,
                "Amount": amount,
                "AppliedInvoiceAmount": amount,
                "AppliedCreditBalanceAmount": Decimal(0),
                "Currency": account.get("Currency") or "USD",
                "Status": "Processed",
                "Type": "Electronic",
                "Source": "PaymentRun",
            },
        )
        self.out.update("Payment", payment, {"PaymentNumber": f"P-{payment[:8].upper()}"})
        self.out.create(
            "InvoicePayment",
            {
                "InvoiceId": invoice["Id"],
                "PaymentId": payment,
                "AccountId": account_id,
                "AccountingPeriodId": self._period(),
                "Amount": amount,
            },
        )
        paid = (invoice["PaymentAmount"] or Decimal(0)) + amount
        self.out.update("Invoice", invoice["Id"], {"Balance": Decimal(0), "PaymentAmount": paid})
        self._move_balance(account, -amount)

    def amend(self, account_id: str) -> None:
        """Change, renew or cancel one of the account's active subscriptions."""
        subscription = self._active_subscription(account_id)
        if subscription is None:
            return
        kind = self.rng.choices(("UpdateProduct", "Renewal", "Cancellation"), (5, 3, 2))[0]
        self.out.create(
            "Amendment",
            {
                "SubscriptionId": subscription["Id"],
                "Name": f"{kind} {self.day.isoformat()}",
                "Type": kind,
                "Status": "Completed",
                "ContractEffectiveDate": self.day,
                "EffectiveDate": self.day,
            },
        )
        version = (subscription["Version"] or 1) + 1
        changes: Row = {"Version": version}
        if kind == "Cancellation":
            changes |= {"Status": "Cancelled", "CancelledDate": self.day}
        elif kind == "Renewal":
            term_end = subscription["TermEndDate"] or self.day
            changes |= {"TermStartDate": term_end, "TermEndDate": _add_months(term_end, 12)}
        else:
            changes["Notes"] = self.rng.choice(self.sentences)
        self.out.update("Subscription", subscription["Id"], changes)

    def update_account(self, account_id: str) -> None:
        """A change an account manager would make."""
        rng = self.rng
        changes = rng.choice(
            (
                {"AutoPay": rng.random() < 0.5},
                {"PaymentTerm": rng.choice(("Net 15", "Net 30", "Net 60"))},
                {"SalesRepName": f"{rng.choice(self.first_names)} {rng.choice(self.last_names)}"},
                {"Notes": rng.choice(self.sentences)},
                {"Batch": rng.choice(("Batch1", "Batch2", "Batch3"))},
            )
        )
        self.out.update("Account", account_id, changes)

    def update_contact(self, account_id: str) -> None:
        contacts = self.out.find("Contact", AccountId=account_id)
        if contacts:
            contact = self.rng.choice(contacts)
            changes = {"City": self.rng.choice(self.cities), "WorkPhone": self._phone()}
            self.out.update("Contact", contact["Id"], changes)

    def _phone(self) -> str:
        return f"+1-555-{self.rng.randrange(1000):03d}-{self.rng.randrange(10000):04d}"

    def record_usage(self, account_id: str) -> None:
        subscription = self._active_subscription(account_id)
        if subscription is None:
            return
        for _ in range(self.rng.randint(1, 3)):
            start = dt.datetime.combine(self.day, dt.time(self.rng.randrange(24)), dt.UTC)
            self.out.create(
                "Usage",
                {
                    "AccountId": account_id,
                    "SubscriptionId": subscription["Id"],
                    "SubscriptionNumber": subscription["Name"],
                    "Quantity": Decimal(self.rng.randint(1, 500)),
                    "UOM": "Each",
                    "StartDateTime": start,
                    "EndDateTime": start + dt.timedelta(hours=1),
                    "SubmissionDateTime": start + dt.timedelta(hours=2),
                    "SourceType": "API",
                    "RbeStatus": "Pending",
                },
            )

    def delete_something(self, account_id: str) -> None:
        """Delete what nothing refers to: a pending usage record, a spare contact never
        snapshotted, or a draft invoice. Processed usage is billed (ProcessedUsage refers to it)
        and, as in Zuora, cannot be deleted."""
        usage = self.out.find("Usage", AccountId=account_id, RbeStatus="Pending")
        if usage:
            self.out.delete("Usage", self.rng.choice(usage)["Id"])
            return
        account = self._account(account_id)
        if account is None:
            return
        used = {account.get("BillToId"), account.get("SoldToId")}
        spare = [
            c
            for c in self.out.find("Contact", AccountId=account_id)
            if c["Id"] not in used and not self.out.find("ContactSnapshot", ContactId=c["Id"])
        ]
        if spare:
            self.out.delete("Contact", self.rng.choice(spare)["Id"])
            return
        # A draft invoice discarded: its items first, then the invoice.
        invoice, _ = self._invoice(account, "Draft", self._active_subscription(account_id))
        for item in self.out.find("InvoiceItem", InvoiceId=invoice):
            self.out.delete("InvoiceItem", item["Id"])
        self.out.delete("Invoice", invoice)
