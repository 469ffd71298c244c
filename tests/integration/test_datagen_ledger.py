"""Generated general-ledger and revenue data is consistent, checked with SQL in a real DuckDB.

One test per relationship and rule of :mod:`aquarium.datagen.ledger` and
:mod:`aquarium.datagen.revenue`: keys resolve, one detail per posted transaction row, details
sum to their journal entry items, every journal entry balances, entries summarise one run,
type and currency, schedules sum to what they schedule and events to what was recognised.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from aquarium.catalog import model
from aquarium.datagen import postings
from aquarium.engines import duckdb_engine, naming
from aquarium.zoql import check, lower, translate
from tests.integration.conftest import NOW, TIME_ZONE
from tests.integration.generated_data import loaded, one

SCALE = 0.2
SEED = 5
TENANT = "ledger"
LEDGER = ("JournalRun", "JournalEntry", "JournalEntryItem")
#: Each posting source and its amount as its detail posts it (``s``: the source row).
AMOUNTS = {
    "InvoiceItem": "s.ChargeAmount",
    "InvoiceItemAdjustment": "s.Amount",
    "InvoiceAdjustment": "s.Amount",
    "InvoicePayment": "s.Amount",
    "CreditBalanceAdjustment": "s.Amount",
    "RevenueEventItem": "abs(s.Amount)",
    # The Invoice Settlement family, TaxationItem and RefundInvoicePayment, when generated.
    "CreditMemoItem": "s.AmountWithoutTax",
    "DebitMemoItem": "s.AmountWithoutTax",
    "CreditTaxationItem": "s.TaxAmount",
    "DebitTaxationItem": "s.TaxAmount",
    "CreditMemoApplicationItem": "s.Amount",
    "PaymentApplication": "s.AppliedAmount",
    "PaymentApplicationItem": "s.AppliedAmount",
    "RefundApplication": "s.Amount",
    "RefundApplicationItem": "s.Amount",
    "RefundInvoicePayment": "s.RefundAmount",
    "TaxationItem": "s.TaxAmount",
}
#: Memo lines post only once their memo is posted: (line object, its memo object).
MEMO_LINES = (
    ("CreditMemoItem", "CreditMemo"),
    ("CreditTaxationItem", "CreditMemo"),
    ("DebitMemoItem", "DebitMemo"),
    ("DebitTaxationItem", "DebitMemo"),
)
#: Revenue schedule variants: (suffix, key of what they schedule, its signed amount SQL).
SCHEDULED = {
    "InvoiceItem": ("InvoiceItemId", "s.ChargeAmount"),
    "InvoiceItemAdjustment": (
        "InvoiceItemAdjustmentId",
        "CASE s.Type WHEN 'Credit' THEN -s.Amount ELSE s.Amount END",
    ),
    "CreditMemoItem": ("CreditMemoItemId", "-s.AmountWithoutTax"),
    "DebitMemoItem": ("DebitMemoItemId", "s.AmountWithoutTax"),
}


@pytest.fixture(scope="module")
def catalog() -> model.Catalog:
    return model.default()


@pytest.fixture(scope="module")
def details(catalog: model.Catalog) -> tuple[str, ...]:
    """The journal entry detail objects of the catalogue (those whose source is built)."""
    return tuple(s.detail for s in postings.SOURCES if catalog.object(s.detail) is not None)


@pytest.fixture(scope="module")
def sources(catalog: model.Catalog) -> tuple[str, ...]:
    """The posting sources generated here (their detail object is in the catalogue)."""
    return tuple(s for s in AMOUNTS if catalog.object(f"JournalEntryDetail{s}") is not None)


@pytest.fixture(scope="module")
def revenue(catalog: model.Catalog) -> tuple[str, ...]:
    """The revenue objects of the catalogue (memo variants only with Invoice Settlement)."""
    kinds = ("ChargeSummary", "Schedule", "Event")
    return tuple(o.name for o in catalog if o.name.startswith(tuple(f"Revenue{k}" for k in kinds)))


@pytest.fixture(scope="module")
def scheduled(catalog: model.Catalog) -> dict[str, tuple[str, str]]:
    """The schedule variants generated here."""
    present = catalog.object("RevenueScheduleItemCreditMemoItem") is not None
    return {k: v for k, v in SCHEDULED.items() if present or "Memo" not in k}


@pytest.fixture(scope="module")
def con(catalog: model.Catalog) -> Iterator[duckdb.DuckDBPyConnection]:
    yield from loaded(TENANT, scale=SCALE, seed=SEED, catalog=catalog)


def _details_union(details: tuple[str, ...]) -> str:
    return " UNION ALL ".join(
        f"SELECT JournalEntryId, DebitAccountingCodeId, CreditAccountingCodeId, Amount, "
        f"TransactionType, TransactionDate, Currency FROM {name}"
        for name in details
    )


def test_every_ledger_object_has_rows(
    con: duckdb.DuckDBPyConnection, details: tuple[str, ...], revenue: tuple[str, ...]
) -> None:
    assert len(details) >= 6 and len(revenue) >= 7
    for name in (*LEDGER, *details, *revenue):
        assert one(con, f"SELECT count(*) FROM {name}") > 0, name


def test_every_direct_join_key_resolves(
    con: duckdb.DuckDBPyConnection,
    catalog: model.Catalog,
    details: tuple[str, ...],
    revenue: tuple[str, ...],
) -> None:
    checked = 0
    for name in (*LEDGER, *details, *revenue):
        obj = catalog.require(name)
        for rel in obj.related:
            if rel.via != obj.name:
                continue
            dangling = one(
                con,
                f"SELECT count(*) FROM {name} AS c LEFT JOIN {rel.object} AS p "
                f"ON p.Id = c.{rel.key} WHERE c.{rel.key} IS NOT NULL AND p.Id IS NULL",
            )
            assert dangling == 0, (name, rel.name)
            nulls = one(con, f"SELECT count(*) FROM {name} WHERE {rel.key} IS NULL")
            assert nulls == 0, (name, rel.key)
            checked += 1
    assert checked > 60


def test_posted_transactions_carry_their_journal_entry(
    con: duckdb.DuckDBPyConnection, sources: tuple[str, ...]
) -> None:
    assert len(sources) >= 6
    for source in sources:
        detail = f"JournalEntryDetail{source}"
        mismatched = one(
            con,
            f"SELECT count(*) FROM {source} AS s FULL JOIN {detail} AS d ON d.TransactionId = s.Id "
            "WHERE s.JournalEntryId IS DISTINCT FROM d.JournalEntryId",
        )
        assert mismatched == 0, source
        dangling = one(
            con,
            f"SELECT count(*) FROM {source} AS s LEFT JOIN JournalEntry AS j "
            "ON j.Id = s.JournalEntryId WHERE s.JournalEntryId IS NOT NULL AND j.Id IS NULL",
        )
        assert dangling == 0, source


def test_one_detail_per_transaction_row_of_its_amount(
    con: duckdb.DuckDBPyConnection, sources: tuple[str, ...]
) -> None:
    for source in sources:
        amount = AMOUNTS[source]
        detail = f"JournalEntryDetail{source}"
        assert one(con, f"SELECT count(*) - count(DISTINCT TransactionId) FROM {detail}") == 0, (
            source
        )
        wrong = one(
            con,
            f"SELECT count(*) FROM {detail} AS d JOIN {source} AS s ON s.Id = d.TransactionId "
            f"WHERE d.Amount <> {amount} OR d.Amount < 0",
        )
        assert wrong == 0, source


def test_only_posted_and_processed_transactions_are_journaled(
    con: duckdb.DuckDBPyConnection, sources: tuple[str, ...]
) -> None:
    unposted = one(
        con,
        "SELECT count(*) FROM JournalEntryDetailInvoiceItem AS d "
        "JOIN Invoice AS i ON i.Id = d.ContainerTransactionId WHERE i.Status <> 'Posted'",
    )
    assert unposted == 0
    missing = one(
        con,
        "SELECT count(*) FROM InvoiceItem AS s JOIN Invoice AS i ON i.Id = s.InvoiceId "
        "WHERE i.Status = 'Posted' AND s.JournalEntryId IS NULL",
    )
    assert missing == 0
    for source in ("InvoiceItemAdjustment", "InvoiceAdjustment"):
        wrong = one(
            con,
            f"SELECT count(*) FROM {source} WHERE (Status = 'Processed') <> "
            "(JournalEntryId IS NOT NULL)",
        )
        assert wrong == 0, source
    for line, memo in MEMO_LINES:
        if line not in sources:
            continue
        wrong = one(
            con,
            f"SELECT count(*) FROM {line} AS s JOIN {memo} AS m ON m.Id = s.{memo}Id "
            "WHERE (m.Status = 'Posted') <> (s.JournalEntryId IS NOT NULL)",
        )
        assert wrong == 0, line
    if "TaxationItem" in sources:
        wrong = one(
            con,
            "SELECT count(*) FROM TaxationItem AS s JOIN Invoice AS i ON i.Id = s.InvoiceId "
            "WHERE (i.Status = 'Posted') <> (s.JournalEntryId IS NOT NULL)",
        )
        assert wrong == 0


def test_details_sum_to_their_journal_entry_items(
    con: duckdb.DuckDBPyConnection, details: tuple[str, ...]
) -> None:
    sides = (
        f"WITH d AS ({_details_union(details)}), "
        "s AS (SELECT JournalEntryId, DebitAccountingCodeId AS code, 'Debit' AS side, Amount "
        "FROM d UNION ALL SELECT JournalEntryId, CreditAccountingCodeId, 'Credit', Amount FROM d), "
        "t AS (SELECT JournalEntryId, code, side, sum(Amount) AS total FROM s GROUP BY ALL) "
    )
    mismatched = one(
        con,
        sides + "SELECT count(*) FROM JournalEntryItem AS i FULL JOIN t "
        "ON t.JournalEntryId = i.JournalEntryId AND t.code = i.AccountingCodeId "
        "AND t.side = i.Type WHERE i.Amount IS DISTINCT FROM t.total",
    )
    assert mismatched == 0
    assert one(con, "SELECT count(*) FROM JournalEntryItem") > 0


def test_every_journal_entry_balances(con: duckdb.DuckDBPyConnection) -> None:
    unbalanced = one(
        con,
        "SELECT count(*) FROM (SELECT JournalEntryId, "
        "sum(CASE WHEN Type = 'Debit' THEN Amount END) AS debit, "
        "sum(CASE WHEN Type = 'Credit' THEN Amount END) AS credit "
        "FROM JournalEntryItem GROUP BY JournalEntryId) "
        "WHERE debit IS NULL OR credit IS NULL OR debit <> credit",
    )
    assert unbalanced == 0
    empty = one(
        con,
        "SELECT count(*) FROM JournalEntry AS j WHERE NOT EXISTS "
        "(SELECT 1 FROM JournalEntryItem AS i WHERE i.JournalEntryId = j.Id)",
    )
    assert empty == 0


def test_an_entry_summarises_one_run_type_and_currency(
    con: duckdb.DuckDBPyConnection, details: tuple[str, ...]
) -> None:
    assert (
        one(
            con,
            "SELECT count(*) - count(DISTINCT (JournalRunId, TransactionType, Currency)) "
            "FROM JournalEntry",
        )
        == 0
    )
    outside = one(
        con,
        f"WITH d AS ({_details_union(details)}) SELECT count(*) FROM d "
        "JOIN JournalEntry AS j ON j.Id = d.JournalEntryId "
        "JOIN AccountingPeriod AS p ON p.Id = j.AccountingPeriodId "
        "WHERE d.TransactionDate NOT BETWEEN p.StartDate AND p.EndDate "
        "OR d.Currency <> j.Currency OR d.TransactionType <> j.TransactionType "
        "OR j.JournalEntryDate <> p.EndDate",
    )
    assert outside == 0
    currency = one(
        con,
        "SELECT count(*) FROM JournalEntryItem AS i JOIN JournalEntry AS j "
        "ON j.Id = i.JournalEntryId WHERE i.Currency <> j.Currency",
    )
    assert currency == 0


def test_one_run_per_accounting_period_after_its_transactions(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert one(con, "SELECT count(*) - count(DISTINCT TargetStartDate) FROM JournalRun") == 0
    wrong = one(
        con,
        "SELECT count(*) FROM JournalEntry AS j JOIN JournalRun AS r ON r.Id = j.JournalRunId "
        "JOIN AccountingPeriod AS p ON p.Id = j.AccountingPeriodId "
        "WHERE r.TargetStartDate <> p.StartDate OR r.TargetEndDate <> p.EndDate "
        "OR r.ExecutedOn < j.CreatedDate - INTERVAL 1 SECOND",
    )
    assert wrong == 0
    counted = one(
        con,
        "SELECT count(*) FROM JournalRun AS r WHERE TotalJournalEntryCount <> "
        "(SELECT count(*) FROM JournalEntry AS j WHERE j.JournalRunId = r.Id)",
    )
    assert counted == 0
    early = one(
        con,
        "SELECT count(*) FROM InvoiceItem AS s JOIN JournalEntry AS j ON j.Id = s.JournalEntryId "
        "JOIN JournalRun AS r ON r.Id = j.JournalRunId WHERE r.ExecutedOn < s.CreatedDate",
    )
    assert early == 0


def test_schedules_sum_to_what_they_schedule(
    con: duckdb.DuckDBPyConnection, scheduled: dict[str, tuple[str, str]]
) -> None:
    for kind, (key, amount) in scheduled.items():
        wrong = one(
            con,
            f"SELECT count(*) FROM (SELECT {key}, sum(Amount) AS total, count(*) AS n, "
            "count(DISTINCT AccountingPeriodId) AS periods "
            f"FROM RevenueScheduleItem{kind} GROUP BY ALL) AS r "
            f"JOIN {kind} AS s ON s.Id = r.{key} WHERE r.total <> {amount} OR r.n <> r.periods",
        )
        assert wrong == 0, kind
        assert one(con, f"SELECT count(*) FROM RevenueScheduleItem{kind}") > 0, kind
    unprocessed = one(
        con,
        "SELECT count(*) FROM RevenueScheduleItemInvoiceItemAdjustment AS r "
        "JOIN InvoiceItemAdjustment AS s ON s.Id = r.InvoiceItemAdjustmentId "
        "WHERE s.Status <> 'Processed'",
    )
    assert unprocessed == 0
    first = one(
        con,
        "SELECT count(*) FROM (SELECT InvoiceItemId, min(p.StartDate) AS first "
        "FROM RevenueScheduleItemInvoiceItem AS r "
        "JOIN AccountingPeriod AS p ON p.Id = r.AccountingPeriodId GROUP BY ALL) AS r "
        "JOIN InvoiceItem AS s ON s.Id = r.InvoiceItemId "
        "JOIN AccountingPeriod AS p ON p.Id = s.AccountingPeriodId WHERE r.first <> p.StartDate",
    )
    assert first == 0
    spread = one(con, "SELECT count(*) FROM RevenueScheduleItemInvoiceItem GROUP BY InvoiceItemId "
                  "ORDER BY 1 DESC LIMIT 1")  # fmt: skip
    assert spread > 1


def test_events_recognise_the_ended_periods_of_their_schedules(
    con: duckdb.DuckDBPyConnection, scheduled: dict[str, tuple[str, str]]
) -> None:
    for kind, (key, _) in scheduled.items():
        mismatched = one(
            con,
            f"WITH s AS (SELECT r.{key} AS k, sum(r.Amount) AS total "
            f"FROM RevenueScheduleItem{kind} AS r "
            "JOIN AccountingPeriod AS p ON p.Id = r.AccountingPeriodId "
            "WHERE p.EndDate < DATE '2026-10-01' GROUP BY ALL), "
            f"e AS (SELECT {key} AS k, sum(Amount) AS total FROM RevenueEventItem{kind} "
            "GROUP BY ALL) SELECT count(*) FROM s FULL JOIN e ON e.k = s.k "
            "WHERE s.total IS DISTINCT FROM e.total",
        )
        assert mismatched == 0, kind
    late = one(
        con,
        "SELECT count(*) FROM RevenueEventItem AS e JOIN AccountingPeriod AS p "
        "ON p.Id = e.AccountingPeriodId WHERE CAST(e.CreatedDate AS DATE) <= p.EndDate",
    )
    assert late == 0


def test_union_sources_hold_every_schedule_and_event(
    con: duckdb.DuckDBPyConnection, scheduled: dict[str, tuple[str, str]]
) -> None:
    for kind in ("Schedule", "Event"):
        whole = con.execute(f"SELECT count(*), sum(Amount) FROM Revenue{kind}Item").fetchone()
        parts = con.execute(
            "SELECT sum(n), sum(total) FROM ("
            + " UNION ALL ".join(
                f"SELECT count(*) AS n, sum(Amount) AS total FROM Revenue{kind}Item{variant}"
                for variant in scheduled
            )
            + ")"
        ).fetchone()
        assert whole == parts, kind


def test_recognition_moves_deferred_revenue_to_revenue(con: duckdb.DuckDBPyConnection) -> None:
    wrong = one(
        con,
        "SELECT count(*) FROM JournalEntryDetailRevenueEventItem AS d "
        "JOIN RevenueEventItem AS e ON e.Id = d.TransactionId "
        "WHERE CASE WHEN e.Amount >= 0 THEN d.DebitAccountingCodeId <> "
        "e.DeferredRevenueAccountingCodeId OR d.CreditAccountingCodeId <> "
        "e.RecognizedRevenueAccountingCodeId ELSE d.CreditAccountingCodeId <> "
        "e.DeferredRevenueAccountingCodeId OR d.DebitAccountingCodeId <> "
        "e.RecognizedRevenueAccountingCodeId END OR e.JournalEntryId <> d.JournalEntryId",
    )
    assert wrong == 0
    deferred = one(
        con,
        "SELECT count(*) FROM RevenueScheduleItemInvoiceItem AS r "
        "JOIN JournalEntryDetailInvoiceItem AS d ON d.TransactionId = r.InvoiceItemId "
        "WHERE d.CreditAccountingCodeId <> r.DeferredRevenueAccountingCodeId",
    )
    assert deferred == 0


def test_charge_summaries_sum_the_schedules_per_charge_and_period(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert (
        one(
            con,
            "SELECT count(*) - count(DISTINCT (RatePlanChargeId, AccountingPeriodId)) "
            "FROM RevenueChargeSummaryItem",
        )
        == 0
    )
    mismatched = one(
        con,
        "WITH s AS (SELECT RatePlanChargeId AS c, AccountingPeriodId AS p, sum(Amount) AS total "
        "FROM RevenueScheduleItem GROUP BY ALL) SELECT count(*) FROM RevenueChargeSummaryItem "
        "AS r FULL JOIN s ON s.c = r.RatePlanChargeId AND s.p = r.AccountingPeriodId "
        "WHERE r.Amount IS DISTINCT FROM s.total",
    )
    assert mismatched == 0


def _lowered(text: str) -> lower.LoweredQuery:
    context = check.Context(catalog=model.default(), time_zone=TIME_ZONE, now=NOW)
    options = lower.Options(dialect="duckdb", schema=naming.schema_name("acme"))
    return translate.translate(text, context=context, options=options)


def test_every_ledger_object_answers_zoql_with_its_joins(
    duck: duckdb_engine.DuckDbEngine,
    details: tuple[str, ...],
    sources: tuple[str, ...],
    revenue: tuple[str, ...],
) -> None:
    with duck.snapshot("acme") as snapshot:
        for name in (*LEDGER, *details, *revenue):
            rows = snapshot.fetch(_lowered(f"select * from {name} limit 5"))
            assert len(rows) == 5, name
        for name in details:
            joined = snapshot.fetch(
                _lowered(
                    f"select Amount, JournalEntry.Number, JournalRun.Number, "
                    f"DebitAccountingCode.Name, CreditAccountingCode.Name from {name} limit 5"
                )
            )
            assert joined and all(None not in row for row in joined), name
        for source in sources:
            tied = snapshot.fetch(
                _lowered(
                    f"select TransactionId, {source}.Id from JournalEntryDetail{source} limit 5"
                )
            )
            assert tied and all(row[0] == row[1] for row in tied), source
            posted = snapshot.fetch(
                _lowered(
                    f"select Id, JournalEntry.Number, JournalRun.Number from {source} "
                    "where JournalEntry.Number != null limit 3"
                )
            )
            assert posted and all(None not in row for row in posted), source
