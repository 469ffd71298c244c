"""Accounting periods (one per calendar month) and the general-ledger accounting codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from aquarium.datagen import columns as col
from aquarium.datagen import world as w

FIRST_YEAR = 2021
PERIOD_COUNT = 72  # 2021-01 .. 2026-12
#: Periods ending before this day are closed; the rest are still open.
CLOSED_BEFORE = (dt.date(2026, 7, 1) - dt.date(1970, 1, 1)).days
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: (Name, Type, Category, GL number) of the ledger accounts charges and payments are booked to.
CODES = (
    ("Accounts Receivable", "AccountsReceivable", "Assets", "1200"),
    ("Cash", "Cash", "Assets", "1000"),
    ("Customer Cash On Account", "OnAccount", "Liabilities", "2300"),
    ("Subscription Revenue", "SalesRevenue", "Revenue", "4000"),
    ("Usage Revenue", "SalesRevenue", "Revenue", "4010"),
    ("Professional Services Revenue", "SalesRevenue", "Revenue", "4100"),
    ("Deferred Revenue", "DeferredRevenue", "Liabilities", "2400"),
    ("Sales Tax Payable", "SalesTaxPayable", "Liabilities", "2200"),
    ("Billing Adjustments", "Adjustment", "Expenses", "5100"),
    ("Refunds Clearing", "Other", "Liabilities", "2500"),
)
CODE_NAMES = tuple(code[0] for code in CODES)
RECEIVABLE, CASH, ON_ACCOUNT, SUBSCRIPTION_REVENUE = 0, 1, 2, 3
USAGE_REVENUE, SERVICES_REVENUE, ADJUSTMENTS, REFUNDS = 4, 5, 8, 9


def month_starts() -> np.ndarray[Any, Any]:
    """First day (days since the epoch) of each period, plus the day after the last one."""
    months = np.arange(PERIOD_COUNT + 1) + (FIRST_YEAR - 1970) * 12
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def period_of(days: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The accounting period index holding each day (clamped to the periods that exist)."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    period: np.ndarray[Any, Any] = np.clip(months - (FIRST_YEAR - 1970) * 12, 0, PERIOD_COUNT - 1)
    return period


def plan(world: w.World) -> None:
    """Periods and codes exist before any transaction: created at the start of the span."""
    rng = world.rng("plan:AccountingPeriod")
    created = w.at_day(rng, np.full(PERIOD_COUNT, w.START_DAY - 10))
    world.plans["AccountingPeriod"] = {"created": created, "updated": w.after(rng, created, 30)}
    rng = world.rng("plan:AccountingCode")
    created = w.at_day(rng, np.full(len(CODES), w.START_DAY - 20))
    world.plans["AccountingCode"] = {"created": created, "updated": w.after(rng, created, 5)}


def build_accounting_period(world: w.World) -> dict[str, Any]:
    """AccountingPeriod columns: monthly periods, named like ``Jan 2021``."""
    starts = month_starts()
    index = np.arange(PERIOD_COUNT)
    year = FIRST_YEAR + index // 12
    end = starts[1:] - 1
    return {
        "Name": col.join(col.options(MONTHS, index % 12), col.numbered("", year, 4), sep=" "),
        "StartDate": col.dates(starts[:-1]),
        "EndDate": col.dates(end),
        "FiscalYear": col.integers(year),
        "FiscalQuarter": col.integers(1 + (index % 12) // 3),
        "Status": col.options(
            ("Open", "PendingClose", "Closed"), np.where(end < CLOSED_BEFORE, 2, 0)
        ),
        "Notes": col.options(
            ("Closed by finance",), np.zeros(PERIOD_COUNT, dtype=np.int64), end < CLOSED_BEFORE
        ),
    }


def build_accounting_code(world: w.World) -> dict[str, Any]:
    """AccountingCode columns from the fixed chart of accounts."""
    index = np.arange(len(CODES))
    return {
        "Name": col.options(CODE_NAMES, index),
        "Type": col.options(tuple(c[1] for c in CODES), index),
        "Category": col.options(tuple(c[2] for c in CODES), index),
        "GLAccountName": col.options(CODE_NAMES, index),
        "GLAccountNumber": col.options(tuple(c[3] for c in CODES), index),
        "Status": col.options(("Active",), np.zeros(len(CODES), dtype=np.int64)),
        "Notes": col.options(("",), np.zeros(len(CODES), dtype=np.int64), index < 0),
    }


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "AccountingPeriod": build_accounting_period,
    "AccountingCode": build_accounting_code,
}
