"""Journal runs, summary journal entries, their items, and the journal entry detail objects.

Every transaction of a posting source (:mod:`aquarium.datagen.postings`) that posts is
journaled by the run of its accounting period; runs exist for every period with postings up to
the end of the generated span, one per period (target dates = the period), executed after the
period's last transaction. Invariants (amounts in cents in the plan):

- A journal entry summarises the postings of one (run, transaction type, currency).
- A journal entry detail is one posting: one transaction row, its amount (positive) and its
  debit and credit accounting codes; a negative transaction amount swaps the two codes.
- A journal entry has one Debit item per debited code and one Credit item per credited code,
  each the sum of its details on that side and code. So every entry balances exactly: its
  debit items sum to its credit items.
- Each posted transaction row carries its journal entry (``JournalEntryId``, a join key).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from aquarium.datagen import accounting, postings
from aquarium.datagen import columns as col
from aquarium.datagen import world as w

N_TYPES = len(postings.TRANSACTION_TYPES)
N_CURRENCIES = len(w.CURRENCIES)
N_CODES = len(accounting.CODES)
HOME_CURRENCY = w.CURRENCIES.index("USD")
#: Units of 1/10000 USD per unit of each currency of ``world.CURRENCIES`` (fixed rates).
RATES = np.array([10_000, 10_800, 12_700, 67, 6_600, 7_300], dtype=np.int64)
DEBIT, CREDIT = 0, 1
#: Journal entries of periods ending before this day are transferred to the accounting system.
TRANSFERRED_BEFORE = accounting.CLOSED_BEFORE


def _unique(key: Any, space: int) -> tuple[Any, Any]:
    """``np.unique(key, return_inverse=True)`` for keys in ``range(space)``, without sorting."""
    present = np.bincount(key, minlength=space) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[key]


def _posted(world: w.World, source: postings.Source) -> dict[str, Any]:
    """The rows of one source that post, as positive amounts with their debit and credit codes."""
    p = source.read(world)
    valid = p.valid
    if not valid.any():
        valid = np.arange(len(valid)) < 1  # tiny scales: still one detail per source
    row = np.flatnonzero(valid)
    amount = p.amount[row].astype(np.int64)
    negative = amount < 0
    # Narrow types: detail plans are as long as their transaction objects (memory at scale).
    return {
        "row": row.astype(np.int32),
        "amount": np.abs(amount),
        "account": p.account[row].astype(np.int32),
        "day": p.day[row].astype(np.int32),
        "created": p.created[row],
        "debit": np.where(negative, p.credit[row], p.debit[row]).astype(np.int8),
        "credit": np.where(negative, p.debit[row], p.credit[row]).astype(np.int8),
        "kind": p.kind[row].astype(np.int8),
        "container": p.container[row].astype(np.int32),
    }


def _entry_keys(world: w.World, part: dict[str, Any]) -> Any:
    """The (period, transaction type, currency) of each posting, as one integer."""
    period = accounting.period_of(part["day"]).astype(np.int64)
    currency = world.plans["Account"]["currency"][part["account"]]
    return (period * N_TYPES + part["kind"]) * N_CURRENCIES + currency


def plan(world: w.World) -> None:
    """Post every source's rows into runs, entries and entry items."""
    active = [s for s in postings.SOURCES if s.source in world.plans]
    parts = [_posted(world, s) for s in active]
    key = np.concatenate([_entry_keys(world, d) for d in parts])
    entries, entry = _unique(key, accounting.PERIOD_COUNT * N_TYPES * N_CURRENCIES)
    entry_period = entries // (N_TYPES * N_CURRENCIES)
    runs, entry_run = _unique(entry_period, accounting.PERIOD_COUNT)
    created = np.concatenate([d["created"] for d in parts])
    last = np.zeros(len(runs), dtype=np.int64)
    np.maximum.at(last, entry_run[entry], created)
    period_end = accounting.month_starts()[runs + 1] * col.US_PER_DAY - 1
    rng = world.rng("plan:JournalRun")
    run_created = w.after(rng, np.maximum(period_end, last), 3)
    world.plans["JournalRun"] = {
        "period": runs,
        "entries": np.bincount(entry_run, minlength=len(runs)),
        "created": run_created,
        "updated": w.after(rng, run_created, 0.1),
    }
    entry_created = run_created[entry_run]
    world.plans["JournalEntry"] = {
        "run": entry_run,
        "period": entry_period,
        "kind": (entries // N_CURRENCIES) % N_TYPES,
        "currency": entries % N_CURRENCIES,
        "created": entry_created,
        "updated": w.after(rng, entry_created, 2),
    }
    _plan_items(world, parts, entry)
    start = 0
    for source, part in zip(active, parts, strict=True):
        stop = start + len(part["row"])
        mine = entry[start:stop]
        start = stop
        created = entry_created[mine]
        world.plans[source.detail] = part | {
            "journal_entry": mine.astype(np.int32),
            "created": created,
            "updated": created,
        }
        posted = np.full(world.count(source.source), -1, dtype=np.int32)
        posted[part["row"]] = mine
        world.plans[source.source]["journal_entry"] = posted
    for source in postings.SOURCES:
        if source.source not in world.plans:
            # Its transaction object is not generated here: a detail object without rows.
            world.plans[source.detail] = {k: np.zeros(0, dtype=np.int64) for k in _EMPTY}


#: Plan keys of a detail object without rows.
_EMPTY = (
    *("row", "amount", "account", "day", "debit", "credit", "kind", "container"),
    *("journal_entry", "created"),
)


def _plan_items(world: w.World, parts: list[dict[str, Any]], entry: Any) -> None:
    """One item per (entry, side, code): the sum of that side's details on that code."""
    amount = np.concatenate([d["amount"] for d in parts])
    debit = np.concatenate([d["debit"] for d in parts])
    credit = np.concatenate([d["credit"] for d in parts])
    key = np.concatenate(
        [(entry * 2 + DEBIT) * N_CODES + debit, (entry * 2 + CREDIT) * N_CODES + credit]
    )
    items, group = _unique(key, len(world.plans["JournalEntry"]["kind"]) * 2 * N_CODES)
    item_entry = items // (2 * N_CODES)
    world.plans["JournalEntryItem"] = {
        "entry": item_entry,
        "side": (items // N_CODES) % 2,
        "code": items % N_CODES,
        "amount": w.group_sum(np.concatenate([amount, amount]), group, len(items)),
        "created": world.plans["JournalEntry"]["created"][item_entry],
    }


def _period_bounds(period: Any) -> tuple[Any, Any]:
    starts = accounting.month_starts()
    return starts[period], starts[period + 1] - 1


def build_journal_run(world: w.World) -> dict[str, Any]:
    """JournalRun columns: one completed run per accounting period with postings."""
    p = world.plans["JournalRun"]
    n = world.count("JournalRun")
    first, last = _period_bounds(p["period"])
    return {
        "Number": col.numbered("JR-", world.number("JournalRun", np.arange(n)), 8),
        "Status": col.options(("Completed",), np.zeros(n, dtype=np.int64)),
        "TargetStartDate": col.dates(first),
        "TargetEndDate": col.dates(last),
        "ExecutedOn": col.stamps(p["created"]),
        "SegmentationRuleName": col.options(("Default GL Segmentation",), np.zeros(n, np.int64)),
        "TotalJournalEntryCount": col.integers(p["entries"]),
    }


def build_journal_entry(world: w.World) -> dict[str, Any]:
    """JournalEntry columns: dated on the last day of its period, transferred once closed."""
    p = world.plans["JournalEntry"]
    rng = world.rng("JournalEntry")
    n = world.count("JournalEntry")
    _, last = _period_bounds(p["period"])
    transferred = last < TRANSFERRED_BEFORE
    return {
        "Number": col.numbered("JE-", world.number("JournalEntry", np.arange(n)), 8),
        "JournalEntryDate": col.dates(last),
        "Status": col.options(("Created", "Cancelled"), np.zeros(n, dtype=np.int64)),
        "TransactionType": col.options(postings.TRANSACTION_TYPES, p["kind"]),
        "Currency": col.options(w.CURRENCIES, p["currency"]),
        "HomeCurrency": col.options(w.CURRENCIES, np.full(n, HOME_CURRENCY)),
        "TransferredToAccounting": col.options(("No", "Yes"), transferred * 1),
        "TransferDate": col.stamps(p["updated"], transferred),
        "TransferredBy": col.take(world.users, rng.integers(0, len(world.users), n), transferred),
        "Notes": col.take(world.pools.sentences, rng.integers(0, 200, n), rng.random(n) < 0.2),
        "AccountingPeriodId": world.fk("AccountingPeriod", p["period"]),
        "JournalRunId": world.fk("JournalRun", p["run"]),
    }


def build_journal_entry_item(world: w.World) -> dict[str, Any]:
    """JournalEntryItem columns: one side of an entry on one accounting code."""
    p = world.plans["JournalEntryItem"]
    currency = world.plans["JournalEntry"]["currency"][p["entry"]]
    return {
        "Type": col.options(("Debit", "Credit"), p["side"]),
        "Amount": col.money(p["amount"]),
        "Currency": col.options(w.CURRENCIES, currency),
        "JournalEntryId": world.fk("JournalEntry", p["entry"]),
        "AccountingCodeId": world.fk("AccountingCode", p["code"]),
    }


def _detail_builder(source: postings.Source) -> w.Builder:
    def build(world: w.World) -> dict[str, Any]:
        p = world.plans[source.detail]
        n = len(p["row"])
        transaction = world.fk(source.source, p["row"])
        container = transaction  # a transaction without a container document contains itself
        if source.container is not None:
            container = world.fk(source.container, p["container"])
        currency = world.plans["Account"]["currency"][p["account"]]
        rate = RATES[currency]
        exact = p["amount"] * rate  # home currency in 1/10000 of a cent
        home = (exact + 5_000) // 10_000
        gl = tuple(code[3] for code in accounting.CODES)
        return {
            "JournalEntryId": world.fk("JournalEntry", p["journal_entry"]),
            "TransactionId": transaction,
            "ContainerTransactionId": container,
            "TransactionDate": col.dates(p["day"]),
            "TransactionType": col.options(postings.TRANSACTION_TYPES, p["kind"]),
            "Amount": col.money(p["amount"]),
            "Currency": col.options(w.CURRENCIES, currency),
            "AccountId": world.fk("Account", p["account"]),
            "HomeCurrency": col.options(w.CURRENCIES, np.full(n, HOME_CURRENCY)),
            "ExchangeRate": col.decimal_units(rate),
            "ExchangeRateDate": col.dates(p["day"]),
            "AmountHomeCurrency": col.money(home),
            "RoundingAmountHomeCurrency": col.decimal_units((exact - home * 10_000) // 100),
            "DebitGLString": col.options(gl, p["debit"]),
            "CreditGLString": col.options(gl, p["credit"]),
            "DebitAccountingCodeId": world.fk("AccountingCode", p["debit"]),
            "CreditAccountingCodeId": world.fk("AccountingCode", p["credit"]),
        }

    build.__doc__ = f"{source.detail} columns: one posting of one {source.source} row."
    return build


def _journal_entry_column(name: str) -> w.Builder:
    def build(world: w.World) -> dict[str, pa.Array]:
        return {"JournalEntryId": world.fk("JournalEntry", world.plans[name]["journal_entry"])}

    build.__doc__ = f"{name}.JournalEntryId: the journal entry that posted the row (or null)."
    return build


#: The builder of each object this module plans (see :mod:`aquarium.datagen.generate`).
BUILDERS: dict[str, w.Builder] = {
    "JournalRun": build_journal_run,
    "JournalEntry": build_journal_entry,
    "JournalEntryItem": build_journal_entry_item,
    **{source.detail: _detail_builder(source) for source in postings.SOURCES},
}
#: JournalEntryId of the posted transaction objects of other families (RevenueEventItem,
#: planned in :mod:`aquarium.datagen.revenue`, builds its own).
COLUMNS: dict[str, w.Builder] = {
    s.source: _journal_entry_column(s.source)
    for s in postings.SOURCES
    if s.source != "RevenueEventItem"
}
#: Objects built in slices of at most ``generate.CHUNK_ROWS`` rows (memory).
CHUNKED = frozenset(source.detail for source in postings.SOURCES)
