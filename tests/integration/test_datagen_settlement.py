"""Invoice Settlement data tells one story with invoices, payments and refunds (SQL on DuckDB).

Generated once per module at a small scale and loaded with the real loader; every check is a
query that counts the rows breaking one relationship or rule, and must find none.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from aquarium.datagen import world as w
from tests.integration.generated_data import loaded, none, one

SCALE = 0.3
SEED = 11

#: (object, field, target object) of every foreign key of the family.
FOREIGN_KEYS = (
    ("CreditMemo", "AccountId", "Account"),
    ("CreditMemo", "ReferredInvoiceId", "Invoice"),
    ("CreditMemo", "AccountingPeriodId", "AccountingPeriod"),
    ("CreditMemoItem", "CreditMemoId", "CreditMemo"),
    ("CreditMemoItem", "SourceItemId", "InvoiceItem"),
    ("CreditMemoItem", "SubscriptionId", "Subscription"),
    ("CreditMemoItem", "RatePlanChargeId", "RatePlanCharge"),
    ("CreditTaxationItem", "CreditMemoId", "CreditMemo"),
    ("CreditTaxationItem", "CreditMemoItemId", "CreditMemoItem"),
    ("CreditTaxationItem", "SourceTaxItemId", "TaxationItem"),
    ("DebitMemo", "AccountId", "Account"),
    ("DebitMemo", "ReferredInvoiceId", "Invoice"),
    ("DebitMemoItem", "DebitMemoId", "DebitMemo"),
    ("DebitMemoItem", "SourceItemId", "InvoiceItem"),
    ("DebitMemoItem", "RatePlanChargeId", "RatePlanCharge"),
    ("DebitTaxationItem", "DebitMemoId", "DebitMemo"),
    ("DebitTaxationItem", "DebitMemoItemId", "DebitMemoItem"),
    ("CreditMemoApplication", "AccountId", "Account"),
    ("CreditMemoApplication", "CreditMemoId", "CreditMemo"),
    ("CreditMemoApplication", "InvoiceId", "Invoice"),
    ("CreditMemoApplication", "DebitMemoId", "DebitMemo"),
    ("CreditMemoApplicationItem", "CreditMemoApplicationId", "CreditMemoApplication"),
    ("CreditMemoApplicationItem", "CreditMemoItemId", "CreditMemoItem"),
    ("CreditMemoApplicationItem", "CreditTaxationItemId", "CreditTaxationItem"),
    ("CreditMemoApplicationItem", "InvoiceItemId", "InvoiceItem"),
    ("CreditMemoApplicationItem", "TaxationItemId", "TaxationItem"),
    ("CreditMemoApplicationItem", "DebitMemoItemId", "DebitMemoItem"),
    ("CreditMemoApplicationItem", "DebitTaxationItemId", "DebitTaxationItem"),
    ("PaymentApplication", "AccountId", "Account"),
    ("PaymentApplication", "PaymentId", "Payment"),
    ("PaymentApplication", "InvoiceId", "Invoice"),
    ("PaymentApplication", "DebitMemoId", "DebitMemo"),
    ("PaymentApplicationItem", "PaymentApplicationId", "PaymentApplication"),
    ("PaymentApplicationItem", "InvoiceItemId", "InvoiceItem"),
    ("PaymentApplicationItem", "TaxationItemId", "TaxationItem"),
    ("PaymentApplicationItem", "DebitMemoItemId", "DebitMemoItem"),
    ("PaymentApplicationItem", "DebitTaxationItemId", "DebitTaxationItem"),
    ("RefundApplication", "AccountId", "Account"),
    ("RefundApplication", "RefundId", "Refund"),
    ("RefundApplication", "PaymentId", "Payment"),
    ("RefundApplication", "CreditMemoId", "CreditMemo"),
    ("RefundApplicationItem", "RefundApplicationId", "RefundApplication"),
    ("RefundApplicationItem", "CreditMemoItemId", "CreditMemoItem"),
    ("RefundApplicationItem", "CreditTaxationItemId", "CreditTaxationItem"),
    ("TaxationItem", "InvoiceId", "Invoice"),
    ("TaxationItem", "InvoiceItemId", "InvoiceItem"),
    ("TaxationItem", "AccountingPeriodId", "AccountingPeriod"),
    ("RefundInvoicePayment", "RefundId", "Refund"),
    ("RefundInvoicePayment", "InvoicePaymentId", "InvoicePayment"),
    ("InvoiceSplit", "InvoiceId", "Invoice"),
    ("InvoiceSplitItem", "InvoiceSplitId", "InvoiceSplit"),
    ("InvoiceSplitItem", "InvoiceId", "Invoice"),
)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    yield from loaded("acme", scale=SCALE, seed=SEED)


@pytest.mark.parametrize(("name", "key", "target"), FOREIGN_KEYS)
def test_foreign_key_resolves(
    con: duckdb.DuckDBPyConnection, name: str, key: str, target: str
) -> None:
    assert one(con, f'SELECT count("{key}") FROM "{name}"') > 0  # in use, so the check bites
    none(
        con,
        f'SELECT c."{key}" FROM "{name}" c LEFT JOIN "{target}" t ON t.Id = c."{key}" '
        f'WHERE c."{key}" IS NOT NULL AND t.Id IS NULL',
    )


def test_taxation_items_sum_to_the_invoice_tax(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT i.Id FROM Invoice i LEFT JOIN (SELECT InvoiceId, sum(TaxAmount) AS tax "
        "FROM TaxationItem GROUP BY InvoiceId) t ON t.InvoiceId = i.Id "
        "WHERE coalesce(t.tax, 0) <> i.TaxAmount",
    )
    assert one(con, "SELECT count(*) FROM Invoice WHERE TaxAmount > 0") > 0


def test_taxation_items_belong_to_an_item_of_their_invoice(
    con: duckdb.DuckDBPyConnection,
) -> None:
    none(
        con,
        "SELECT t.Id FROM TaxationItem t JOIN InvoiceItem ii ON ii.Id = t.InvoiceItemId "
        "WHERE ii.InvoiceId <> t.InvoiceId OR ii.TaxAmount <> t.TaxAmount",
    )


@pytest.mark.parametrize(
    ("memo", "item", "tax"),
    [
        ("CreditMemo", "CreditMemoItem", "CreditTaxationItem"),
        ("DebitMemo", "DebitMemoItem", "DebitTaxationItem"),
    ],
)
def test_memo_items_and_taxes_sum_to_the_memo(
    con: duckdb.DuckDBPyConnection, memo: str, item: str, tax: str
) -> None:
    none(
        con,
        f"SELECT m.Id FROM {memo} m "
        f"LEFT JOIN (SELECT {memo}Id AS id, sum(Amount) AS a, sum(TaxAmount) AS t FROM {item} "
        f"GROUP BY 1) i ON i.id = m.Id "
        f"LEFT JOIN (SELECT {memo}Id AS id, sum(TaxAmount) AS t FROM {tax} GROUP BY 1) x "
        "ON x.id = m.Id "
        "WHERE i.a IS NULL OR m.TotalAmountWithoutTax <> i.a "
        "OR m.TaxAmount <> coalesce(x.t, 0) OR m.TaxAmount <> i.t "
        "OR m.TotalAmount <> i.a + coalesce(x.t, 0)",
    )


@pytest.mark.parametrize(
    ("item", "tax", "memo"),
    [
        ("CreditMemoItem", "CreditTaxationItem", "CreditMemo"),
        ("DebitMemoItem", "DebitTaxationItem", "DebitMemo"),
    ],
)
def test_memo_taxes_belong_to_an_item_of_their_memo(
    con: duckdb.DuckDBPyConnection, item: str, tax: str, memo: str
) -> None:
    none(
        con,
        f"SELECT x.Id FROM {tax} x JOIN {item} i ON i.Id = x.{item}Id "
        f"WHERE i.{memo}Id <> x.{memo}Id OR x.TaxAmount <> i.TaxAmount",
    )


def test_credit_memo_applications_never_exceed_the_memo(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT m.Id FROM CreditMemo m LEFT JOIN (SELECT CreditMemoId, sum(Amount) AS a "
        "FROM CreditMemoApplication GROUP BY 1) c ON c.CreditMemoId = m.Id "
        "WHERE coalesce(c.a, 0) <> m.AppliedAmount OR m.AppliedAmount + m.RefundAmount "
        "> m.TotalAmount OR (m.Status <> 'Posted' AND m.AppliedAmount > 0)",
    )


def test_credit_memo_balance(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT Id FROM CreditMemo WHERE Balance < 0 OR (Status = 'Posted' AND "
        "Balance <> TotalAmount - AppliedAmount - RefundAmount)",
    )
    assert one(con, "SELECT count(*) FROM CreditMemo WHERE Balance > 0") > 0


def test_credit_memo_applications_fit_the_invoice_balance(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Applied credit is what the invoice shows, and its balance stays >= 0 after it."""
    none(
        con,
        "SELECT i.Id FROM Invoice i LEFT JOIN (SELECT InvoiceId, sum(Amount) AS a "
        "FROM CreditMemoApplication GROUP BY 1) c ON c.InvoiceId = i.Id "
        "WHERE coalesce(c.a, 0) <> i.CreditMemoAmount OR i.Balance < 0 "
        "OR (i.Status = 'Posted' AND i.Balance <> i.Amount + i.AdjustmentAmount "
        "- i.PaymentAmount + i.RefundAmount - i.CreditMemoAmount)",
    )
    assert one(con, "SELECT count(*) FROM Invoice WHERE CreditMemoAmount > 0") > 0


def test_credit_memo_applications_stay_within_the_account(
    con: duckdb.DuckDBPyConnection,
) -> None:
    none(
        con,
        "SELECT a.Id FROM CreditMemoApplication a JOIN CreditMemo m ON m.Id = a.CreditMemoId "
        "LEFT JOIN Invoice i ON i.Id = a.InvoiceId LEFT JOIN DebitMemo d ON d.Id = a.DebitMemoId "
        "WHERE (a.InvoiceId IS NULL) = (a.DebitMemoId IS NULL) OR a.AccountId <> m.AccountId "
        "OR coalesce(i.AccountId, d.AccountId) <> m.AccountId OR a.Amount <= 0",
    )


@pytest.mark.parametrize(
    ("app", "item", "amount"),
    [
        ("CreditMemoApplication", "CreditMemoApplicationItem", "Amount"),
        ("PaymentApplication", "PaymentApplicationItem", "AppliedAmount"),
    ],
)
def test_application_items_sum_to_their_application(
    con: duckdb.DuckDBPyConnection, app: str, item: str, amount: str
) -> None:
    none(
        con,
        f"SELECT a.Id FROM {app} a LEFT JOIN (SELECT {app}Id AS id, sum({amount}) AS s "
        f"FROM {item} GROUP BY 1) i ON i.id = a.Id WHERE i.s IS NULL OR i.s <> a.{amount}",
    )


def test_credit_memo_application_items_match_their_application(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The credited line is the memo's; the target line is the invoice's or debit memo's."""
    none(
        con,
        "SELECT x.Id FROM CreditMemoApplicationItem x "
        "JOIN CreditMemoApplication a ON a.Id = x.CreditMemoApplicationId "
        "LEFT JOIN CreditMemoItem ci ON ci.Id = x.CreditMemoItemId "
        "LEFT JOIN CreditTaxationItem ct ON ct.Id = x.CreditTaxationItemId "
        "LEFT JOIN InvoiceItem ii ON ii.Id = x.InvoiceItemId "
        "LEFT JOIN TaxationItem ti ON ti.Id = x.TaxationItemId "
        "LEFT JOIN DebitMemoItem di ON di.Id = x.DebitMemoItemId "
        "LEFT JOIN DebitTaxationItem dt ON dt.Id = x.DebitTaxationItemId "
        "WHERE coalesce(ci.CreditMemoId, ct.CreditMemoId) IS DISTINCT FROM a.CreditMemoId "
        "OR coalesce(ii.InvoiceId, ti.InvoiceId) IS DISTINCT FROM a.InvoiceId "
        "OR coalesce(di.DebitMemoId, dt.DebitMemoId) IS DISTINCT FROM a.DebitMemoId",
    )


def test_memo_line_balances_add_up(con: duckdb.DuckDBPyConnection) -> None:
    """Each line's balance is what its applications and refunds left; lines sum to the memo."""
    none(
        con,
        "SELECT i.Id FROM CreditMemoItem i JOIN CreditMemo m ON m.Id = i.CreditMemoId "
        "WHERE i.Balance < 0 OR (m.Status = 'Posted' "
        "AND i.Balance <> i.Amount - i.AppliedAmount - i.RefundAmount)",
    )
    none(
        con,
        "SELECT m.Id FROM CreditMemo m "
        "LEFT JOIN (SELECT CreditMemoId AS id, sum(Balance) AS b FROM CreditMemoItem GROUP BY 1) "
        "i ON i.id = m.Id "
        "LEFT JOIN (SELECT CreditMemoId AS id, sum(Balance) AS b FROM CreditTaxationItem "
        "GROUP BY 1) t ON t.id = m.Id WHERE i.b + coalesce(t.b, 0) <> m.Balance",
    )
    none(
        con,
        "SELECT m.Id FROM DebitMemo m "
        "LEFT JOIN (SELECT DebitMemoId AS id, sum(Balance) AS b FROM DebitMemoItem GROUP BY 1) "
        "i ON i.id = m.Id "
        "LEFT JOIN (SELECT DebitMemoId AS id, sum(Balance) AS b FROM DebitTaxationItem "
        "GROUP BY 1) t ON t.id = m.Id WHERE i.b + coalesce(t.b, 0) <> m.Balance",
    )


def test_debit_memo_balance_is_amount_less_payments_and_credits(
    con: duckdb.DuckDBPyConnection,
) -> None:
    none(
        con,
        "SELECT d.Id FROM DebitMemo d "
        "LEFT JOIN (SELECT DebitMemoId, sum(AppliedAmount) AS a FROM PaymentApplication "
        "GROUP BY 1) p ON p.DebitMemoId = d.Id "
        "LEFT JOIN (SELECT DebitMemoId, sum(Amount) AS a FROM CreditMemoApplication "
        "GROUP BY 1) c ON c.DebitMemoId = d.Id "
        "WHERE d.BeAppliedAmount <> coalesce(p.a, 0) + coalesce(c.a, 0) "
        "OR d.BeAppliedAmount > d.TotalAmount OR d.Balance < 0 "
        "OR (d.Status = 'Posted' AND d.Balance <> d.TotalAmount - d.BeAppliedAmount)",
    )
    assert one(con, "SELECT count(*) FROM DebitMemo WHERE BeAppliedAmount > 0") > 0


def test_payment_applications_never_exceed_the_payment(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT p.Id FROM Payment p LEFT JOIN (SELECT PaymentId, sum(AppliedAmount) AS a "
        "FROM PaymentApplication GROUP BY 1) x ON x.PaymentId = p.Id "
        "WHERE coalesce(x.a, 0) <> p.AppliedAmount OR p.UnappliedAmount < 0 "
        "OR p.AppliedAmount + p.UnappliedAmount > p.Amount",
    )


def test_unapplied_amount_is_what_refunds_left(con: duckdb.DuckDBPyConnection) -> None:
    """Amount = applied + unapplied + what credit-balance refunds took from the payment."""
    none(
        con,
        "SELECT p.Id FROM Payment p LEFT JOIN (SELECT a.PaymentId, sum(a.Amount) AS r "
        "FROM RefundApplication a JOIN Refund r ON r.Id = a.RefundId "
        "WHERE r.SourceType = 'CreditBalance' GROUP BY 1) x ON x.PaymentId = p.Id "
        "WHERE p.Amount <> p.AppliedAmount + p.UnappliedAmount + coalesce(x.r, 0)",
    )


def test_payment_applications_mirror_invoice_payments(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT coalesce(a.Id, ip.Id) FROM (SELECT * FROM PaymentApplication "
        "WHERE InvoiceId IS NOT NULL) a FULL JOIN InvoicePayment ip "
        "ON ip.PaymentId = a.PaymentId AND ip.InvoiceId = a.InvoiceId "
        "WHERE a.Id IS NULL OR ip.Id IS NULL OR a.AppliedAmount <> ip.Amount "
        "OR a.AccountId <> ip.AccountId",
    )


def test_payment_application_items_are_lines_of_the_paid_document(
    con: duckdb.DuckDBPyConnection,
) -> None:
    none(
        con,
        "SELECT x.Id FROM PaymentApplicationItem x "
        "JOIN PaymentApplication a ON a.Id = x.PaymentApplicationId "
        "LEFT JOIN InvoiceItem ii ON ii.Id = x.InvoiceItemId "
        "LEFT JOIN TaxationItem ti ON ti.Id = x.TaxationItemId "
        "LEFT JOIN DebitMemoItem di ON di.Id = x.DebitMemoItemId "
        "LEFT JOIN DebitTaxationItem dt ON dt.Id = x.DebitTaxationItemId "
        "WHERE coalesce(ii.InvoiceId, ti.InvoiceId) IS DISTINCT FROM a.InvoiceId "
        "OR coalesce(di.DebitMemoId, dt.DebitMemoId) IS DISTINCT FROM a.DebitMemoId "
        "OR x.AppliedAmount <= 0",
    )


def test_payment_application_items_never_exceed_their_line(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Tax lines and debit memo lines are paid at most their amount (item lines may carry an
    invoice's charge adjustments, which have no line of their own)."""
    none(
        con,
        "SELECT t.Id FROM TaxationItem t JOIN (SELECT TaxationItemId, sum(AppliedAmount) AS a "
        "FROM PaymentApplicationItem GROUP BY 1) x ON x.TaxationItemId = t.Id "
        "WHERE x.a > t.TaxAmount OR x.a <> t.PaymentAmount",
    )
    none(
        con,
        "SELECT d.Id FROM DebitMemoItem d JOIN (SELECT DebitMemoItemId, sum(AppliedAmount) AS a "
        "FROM PaymentApplicationItem GROUP BY 1) x ON x.DebitMemoItemId = d.Id "
        "WHERE x.a > d.Amount",
    )


def test_taxation_item_credit_amount(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT t.Id FROM TaxationItem t LEFT JOIN (SELECT TaxationItemId, sum(Amount) AS a "
        "FROM CreditMemoApplicationItem GROUP BY 1) x ON x.TaxationItemId = t.Id "
        "WHERE coalesce(x.a, 0) <> t.CreditAmount OR t.Balance < 0",
    )


def test_refund_applications_refund_a_payment_or_a_credit_memo(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """One application per processed refund, of its amount, from one source of its account."""
    none(
        con,
        "SELECT coalesce(r.Id, a.Id) FROM (SELECT * FROM Refund WHERE Status = 'Processed') r "
        "FULL JOIN RefundApplication a ON a.RefundId = r.Id "
        "LEFT JOIN Payment p ON p.Id = a.PaymentId LEFT JOIN CreditMemo m ON m.Id = a.CreditMemoId "
        "WHERE r.Id IS NULL OR a.Id IS NULL OR a.Amount <> r.Amount "
        "OR (a.PaymentId IS NULL) = (a.CreditMemoId IS NULL) "
        "OR coalesce(p.AccountId, m.AccountId) <> r.AccountId OR a.AccountId <> r.AccountId",
    )


def test_refund_applications_never_exceed_their_source(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT p.Id FROM Payment p JOIN (SELECT PaymentId, sum(Amount) AS a "
        "FROM RefundApplication GROUP BY 1) x ON x.PaymentId = p.Id WHERE x.a > p.Amount",
    )
    none(
        con,
        "SELECT m.Id FROM CreditMemo m LEFT JOIN (SELECT CreditMemoId, sum(Amount) AS a "
        "FROM RefundApplication GROUP BY 1) x ON x.CreditMemoId = m.Id "
        "WHERE coalesce(x.a, 0) <> m.RefundAmount "
        "OR m.RefundAmount > m.TotalAmount - m.AppliedAmount",
    )
    assert one(con, "SELECT count(CreditMemoId) FROM RefundApplication") > 0


def test_refund_application_items_sum_to_credit_memo_refunds(
    con: duckdb.DuckDBPyConnection,
) -> None:
    none(
        con,
        "SELECT a.Id FROM RefundApplication a LEFT JOIN (SELECT RefundApplicationId AS id, "
        "sum(Amount) AS s FROM RefundApplicationItem GROUP BY 1) i ON i.id = a.Id "
        "WHERE (a.CreditMemoId IS NOT NULL AND (i.s IS NULL OR i.s <> a.Amount)) "
        "OR (a.CreditMemoId IS NULL AND i.s IS NOT NULL)",
    )
    none(
        con,
        "SELECT x.Id FROM RefundApplicationItem x "
        "JOIN RefundApplication a ON a.Id = x.RefundApplicationId "
        "LEFT JOIN CreditMemoItem ci ON ci.Id = x.CreditMemoItemId "
        "LEFT JOIN CreditTaxationItem ct ON ct.Id = x.CreditTaxationItemId "
        "WHERE coalesce(ci.CreditMemoId, ct.CreditMemoId) IS DISTINCT FROM a.CreditMemoId",
    )


def test_refund_invoice_payments_reverse_an_invoice_payment(
    con: duckdb.DuckDBPyConnection,
) -> None:
    none(
        con,
        "SELECT x.Id FROM RefundInvoicePayment x JOIN Refund r ON r.Id = x.RefundId "
        "JOIN InvoicePayment ip ON ip.Id = x.InvoicePaymentId "
        "WHERE x.RefundAmount <> r.Amount OR x.RefundAmount > ip.Amount "
        "OR r.AccountId <> ip.AccountId OR r.SourceType <> 'Payment'",
    )
    none(
        con,
        "SELECT ip.Id FROM InvoicePayment ip LEFT JOIN (SELECT InvoicePaymentId, "
        "sum(RefundAmount) AS r FROM RefundInvoicePayment GROUP BY 1) x "
        "ON x.InvoicePaymentId = ip.Id WHERE coalesce(x.r, 0) <> ip.RefundAmount",
    )
    none(
        con,
        "SELECT i.Id FROM Invoice i LEFT JOIN (SELECT ip.InvoiceId, sum(x.RefundAmount) AS r "
        "FROM RefundInvoicePayment x JOIN InvoicePayment ip ON ip.Id = x.InvoicePaymentId "
        "GROUP BY 1) y ON y.InvoiceId = i.Id WHERE coalesce(y.r, 0) <> i.RefundAmount",
    )


def test_account_settlement_totals(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT a.Id FROM Account a "
        "LEFT JOIN (SELECT AccountId, sum(Balance) AS b FROM DebitMemo GROUP BY 1) d "
        "ON d.AccountId = a.Id "
        "LEFT JOIN (SELECT AccountId, sum(Balance) AS b FROM CreditMemo GROUP BY 1) c "
        "ON c.AccountId = a.Id "
        "LEFT JOIN (SELECT AccountId, sum(UnappliedAmount) AS u FROM Payment GROUP BY 1) p "
        "ON p.AccountId = a.Id "
        "LEFT JOIN (SELECT AccountId, sum(Balance) AS b FROM Invoice WHERE Status = 'Posted' "
        "GROUP BY 1) i ON i.AccountId = a.Id "
        "WHERE a.TotalDebitMemoBalance <> coalesce(d.b, 0) "
        "OR a.UnappliedCreditMemoAmount <> coalesce(c.b, 0) "
        "OR a.UnappliedBalance <> coalesce(p.u, 0) OR a.Balance <> coalesce(i.b, 0)",
    )


def test_invoice_split_percentages_sum_to_100(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT s.Id FROM InvoiceSplit s LEFT JOIN (SELECT InvoiceSplitId, "
        "sum(SplitPercentage) AS p, count(*) AS n FROM InvoiceSplitItem GROUP BY 1) x "
        "ON x.InvoiceSplitId = s.Id WHERE x.p IS DISTINCT FROM 100 OR x.n < 2",
    )


def test_documents_come_after_what_they_settle(con: duckdb.DuckDBPyConnection) -> None:
    none(
        con,
        "SELECT m.Id FROM CreditMemo m JOIN Invoice i ON i.Id = m.ReferredInvoiceId "
        "WHERE m.CreatedDate <= i.CreatedDate",
    )
    none(
        con,
        "SELECT a.Id FROM CreditMemoApplication a JOIN CreditMemo m ON m.Id = a.CreditMemoId "
        "LEFT JOIN DebitMemo d ON d.Id = a.DebitMemoId "
        "WHERE a.CreatedDate <= m.CreatedDate OR a.CreatedDate <= d.CreatedDate",
    )
    none(
        con,
        "SELECT a.Id FROM PaymentApplication a JOIN Payment p ON p.Id = a.PaymentId "
        "WHERE a.CreatedDate <= p.CreatedDate",
    )


@pytest.mark.parametrize(
    ("name", "application", "key"),
    [
        ("Invoice", "CreditMemoApplication", "InvoiceId"),
        ("CreditMemo", "CreditMemoApplication", "CreditMemoId"),
        ("DebitMemo", "CreditMemoApplication", "DebitMemoId"),
        ("DebitMemo", "PaymentApplication", "DebitMemoId"),
    ],
)
def test_documents_are_updated_by_their_applications(
    con: duckdb.DuckDBPyConnection, name: str, application: str, key: str
) -> None:
    none(
        con,
        f"SELECT d.Id FROM {name} d JOIN {application} a ON a.{key} = d.Id "
        "WHERE d.UpdatedDate < a.CreatedDate",
    )


@pytest.mark.parametrize("name", sorted({row[0] for row in FOREIGN_KEYS}))
def test_nothing_happens_after_the_data_ends(con: duckdb.DuckDBPyConnection, name: str) -> None:
    # world.after keeps "strictly after" over "not past the end": chains of events at the very
    # end may pass it by a few microseconds, never by more.
    end = w.END_US + 1_000
    assert one(con, f"SELECT epoch_us(max(CreatedDate)) FROM {name}") <= end
    assert one(con, f"SELECT epoch_us(max(UpdatedDate)) FROM {name}") <= end
