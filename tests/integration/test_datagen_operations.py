"""Operational objects of generated data agree with the billing data they describe (SQL checks
over a real DuckDB loaded with generated tables): every key resolves, every count and amount
matches its source rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from aquarium.catalog import model
from aquarium.datagen import generate
from aquarium.engines import naming
from aquarium.zoql import check, formatting, lower, translate
from tests.integration.generated_data import loaded, one, zero

SCALE = 0.3
TENANT = "ops"
OPERATIONS = (
    "AchNocEventLog",
    "BillingRun",
    "PaymentRun",
    "CommunicationProfile",
    "Export",
    "Import",
    "PaymentGatewayReconciliationEventLog",
    "PaymentReconciliationJob",
    "PaymentReconciliationLog",
    "SmartPreventionAudit",
    "HpmCaptchaValidationResult",
    "UpdaterBatch",
    "UpdaterDetail",
    "StoredCredentialProfile",
    "PaymentMethodTransactionLog",
    "PaymentTransactionLog",
    "RefundTransactionLog",
    "CalloutHistory",
    "EmailHistory",
    "PaymentMethodSnapshot",
    "Entity",
)
#: (child, key field, parent): every non-null key names a parent row.
FOREIGN_KEYS = (
    ("Account", "CommunicationProfileId", "CommunicationProfile"),
    ("Invoice", "BillRunId", "BillingRun"),
    ("Payment", "PaymentMethodSnapshotId", "PaymentMethodSnapshot"),
    ("Refund", "PaymentMethodSnapshotId", "PaymentMethodSnapshot"),
    ("PaymentMethodSnapshot", "PaymentMethodId", "PaymentMethod"),
    ("PaymentMethodSnapshot", "AccountId", "Account"),
    ("PaymentTransactionLog", "PaymentId", "Payment"),
    ("RefundTransactionLog", "RefundId", "Refund"),
    ("PaymentMethodTransactionLog", "PaymentMethodId", "PaymentMethod"),
    ("AchNocEventLog", "PaymentId", "Payment"),
    ("AchNocEventLog", "PaymentMethodId", "PaymentMethod"),
    ("AchNocEventLog", "AccountId", "Account"),
    ("PaymentReconciliationLog", "PaymentReconciliationJobId", "PaymentReconciliationJob"),
    ("PaymentReconciliationLog", "RelatedObjectId", "Payment"),
    (
        "PaymentReconciliationLog",
        "PaymentGatewayReconciliationEventLogId",
        "PaymentGatewayReconciliationEventLog",
    ),
    (
        "PaymentGatewayReconciliationEventLog",
        "PaymentReconciliationJobId",
        "PaymentReconciliationJob",
    ),
    ("HpmCaptchaValidationResult", "PaymentMethodTransactionLogId", "PaymentMethodTransactionLog"),
    ("UpdaterDetail", "UpdaterBatchId", "UpdaterBatch"),
    ("UpdaterDetail", "PaymentMethodId", "PaymentMethod"),
    ("UpdaterDetail", "AccountId", "Account"),
    ("StoredCredentialProfile", "PaymentMethodId", "PaymentMethod"),
    ("SmartPreventionAudit", "AccountId", "Account"),
    ("SmartPreventionAudit", "PaymentMethodId", "PaymentMethod"),
    ("HpmCaptchaValidationResult", "AccountId", "Account"),
    ("HpmCaptchaValidationResult", "PaymentMethodId", "PaymentMethod"),
    ("EmailHistory", "AccountId", "Account"),
    ("EmailHistory", "ContactId", "Contact"),
    ("CalloutHistory", "AccountId", "Account"),
    ("CalloutHistory", "ContactId", "Contact"),
)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    yield from loaded(TENANT, scale=SCALE, seed=11)


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operational_object_has_rows(con: duckdb.DuckDBPyConnection, name: str) -> None:
    assert one(con, f'SELECT count(*) FROM "{name}"') > 0


@pytest.mark.parametrize(("child", "key", "parent"), FOREIGN_KEYS, ids=str)
def test_keys_resolve(con: duckdb.DuckDBPyConnection, child: str, key: str, parent: str) -> None:
    assert one(con, f'SELECT count({key}) FROM "{child}"') > 0
    zero(
        con,
        f'SELECT count(*) FROM "{child}" c LEFT JOIN "{parent}" p ON p.Id = c.{key} '
        f"WHERE c.{key} IS NOT NULL AND p.Id IS NULL",
    )


def test_email_and_callout_objects_are_the_accounts_invoices_payments_refunds(
    con: duckdb.DuckDBPyConnection,
) -> None:
    for name, sent in (("EmailHistory", "SendTime"), ("CalloutHistory", "CreateTime")):
        zero(
            con,
            f"""SELECT count(*) FROM "{name}" h
            LEFT JOIN Invoice i ON i.Id = h.ObjectId AND h.EventCategory = 'InvoicePosted'
            LEFT JOIN Payment p ON p.Id = h.ObjectId AND h.EventCategory = 'PaymentProcessed'
            LEFT JOIN Refund r ON r.Id = h.ObjectId AND h.EventCategory = 'RefundProcessed'
            WHERE coalesce(i.AccountId, p.AccountId, r.AccountId) IS DISTINCT FROM h.AccountId
               OR coalesce(i.CreatedDate, p.CreatedDate, r.CreatedDate) > coalesce(
                  h.{sent}, TIMESTAMP '1970-01-01')""",
        )
    zero(
        con,
        """SELECT count(*) FROM EmailHistory h JOIN Account a ON a.Id = h.AccountId
        JOIN Contact c ON c.Id = a.BillToId
        WHERE h.ContactId <> c.Id OR h.ToEmail <> c.WorkEmail""",
    )
    zero(
        con,
        "SELECT count(*) FROM EmailHistory h JOIN Invoice i ON i.Id = h.ObjectId "
        "WHERE i.Status <> 'Posted'",
    )


def test_callout_failures_exhaust_their_attempts(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        "SELECT count(*) FROM CalloutHistory WHERE AttemptNumber > AttemptLimit "
        "OR (ResponseCode <> '200' AND AttemptNumber <> AttemptLimit)",
    )


def test_bill_runs_count_the_invoices_they_generated(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM BillingRun b LEFT JOIN (
            SELECT BillRunId, count(*) AS n, count(DISTINCT AccountId) AS a,
                   min(CreatedDate) AS first, max(CreatedDate) AS last,
                   count(*) FILTER (WHERE Status = 'Draft') AS drafts,
                   min(InvoiceDate) AS d1, max(InvoiceDate) AS d2
            FROM Invoice WHERE BillRunId IS NOT NULL GROUP BY BillRunId) i ON i.BillRunId = b.Id
        WHERE b.NumberOfInvoices <> coalesce(i.n, 0) OR b.NumberOfAccounts <> coalesce(i.a, 0)
           OR i.first < b.StartDate OR i.last > b.EndDate
           OR i.d1 <> b.InvoiceDate OR i.d2 <> b.InvoiceDate
           OR (b.Status = 'Posted') <> (coalesce(i.drafts, 0) = 0)
           OR (b.PostedDate IS NULL) <> (b.Status <> 'Posted')""",
    )
    # Most invoices come from a bill run; ad hoc ones have none.
    share = one(con, "SELECT avg((BillRunId IS NOT NULL)::INT) FROM Invoice")
    assert 0.8 < float(share) < 1.0  # type: ignore[arg-type]


def test_payment_runs_count_their_payments(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM Payment p
        LEFT JOIN PaymentRun r ON r.PaymentRunNumber = p.SourceName
        WHERE p.Source = 'PaymentRun' AND r.Id IS NULL""",
    )
    zero(
        con,
        """SELECT count(*) FROM PaymentRun r LEFT JOIN (
            SELECT SourceName, count(*) AS n, min(CreatedDate) AS first, max(CreatedDate) AS last,
                   count(*) FILTER (WHERE AppliedCreditBalanceAmount > 0) AS over
            FROM Payment WHERE Source = 'PaymentRun' GROUP BY SourceName) p
            ON p.SourceName = r.PaymentRunNumber
        WHERE r.NumberOfPayments <> coalesce(p.n, 0) OR r.NumberOfInvoices <> coalesce(p.n, 0)
           OR r.NumberOfCreditBalanceAdjustments <> coalesce(p.over, 0)
           OR p.first < r.RunDate OR p.last > r.EndDate""",
    )
    assert one(con, "SELECT count(*) - count(DISTINCT PaymentRunNumber) FROM PaymentRun") == 0


def test_snapshots_copy_the_payment_method_used(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("Payment", "Refund"):
        zero(
            con,
            f"""SELECT count(*) FROM "{name}" t JOIN PaymentMethodSnapshot s
            ON s.Id = t.PaymentMethodSnapshotId JOIN PaymentMethod m ON m.Id = s.PaymentMethodId
            WHERE s.PaymentMethodId <> t.PaymentMethodId OR s.AccountId <> t.AccountId
               OR s.Type <> m.Type
               OR s.CreditCardMaskNumber IS DISTINCT FROM m.CreditCardMaskNumber
               OR s.AchAccountName IS DISTINCT FROM m.AchAccountName""",
        )
        zero(con, f'SELECT count(*) FROM "{name}" WHERE PaymentMethodSnapshotId IS NULL')
    total = one(con, "SELECT (SELECT count(*) FROM Payment) + (SELECT count(*) FROM Refund)")
    assert one(con, "SELECT count(*) FROM PaymentMethodSnapshot") == total
    assert one(con, "SELECT count(DISTINCT PaymentMethodSnapshotId) FROM Payment") == one(
        con, "SELECT count(*) FROM Payment"
    )


def test_payment_transaction_logs_agree_with_their_payments(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM PaymentTransactionLog l JOIN Payment p ON p.Id = l.PaymentId
        WHERE l.GatewayState <> p.GatewayState OR l.TransactionId <> p.ReferenceId
           OR l.RequestString NOT LIKE 'gateway=' || p.Gateway || '&%'
           OR regexp_extract(l.RequestString, 'amount=([0-9.]+)', 1)::DECIMAL(18, 4) <> p.Amount
           OR regexp_extract(l.RequestString, 'currency=([A-Z]+)', 1) <> p.Currency
           OR l.TransactionDate < p.CreatedDate OR p.Type <> 'Electronic'""",
    )
    # Every electronic payment was sent to its gateway exactly once.
    zero(
        con,
        """SELECT count(*) FROM Payment p LEFT JOIN (SELECT PaymentId, count(*) AS n
            FROM PaymentTransactionLog GROUP BY PaymentId) l ON l.PaymentId = p.Id
        WHERE p.Type = 'Electronic' AND coalesce(l.n, 0) <> 1""",
    )


def test_refund_transaction_logs_agree_with_their_refunds(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM RefundTransactionLog l JOIN Refund r ON r.Id = l.RefundId
        WHERE regexp_extract(l.RequestString, 'amount=([0-9.]+)', 1)::DECIMAL(18, 4) <> r.Amount
           OR r.Type <> 'Electronic' OR r.Status = 'Canceled'
           OR (l.GatewayState = 'Settled') <> (r.Status = 'Processed')
           OR l.TransactionDate < r.CreatedDate""",
    )


def test_payment_method_logs_validate_electronic_methods(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM PaymentMethodTransactionLog l
        JOIN PaymentMethod m ON m.Id = l.PaymentMethodId JOIN Account a ON a.Id = m.AccountId
        WHERE l.PaymentMethodType <> m.Type OR m.Type NOT IN ('CreditCard', 'ACH', 'PayPal')
           OR l.Gateway <> a.PaymentGateway OR l.TransactionDate < m.CreatedDate""",
    )


def test_ach_notifications_of_change_follow_ach_payments(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM AchNocEventLog n JOIN Payment p ON p.Id = n.PaymentId
        JOIN PaymentMethod m ON m.Id = n.PaymentMethodId
        WHERE m.Type <> 'ACH' OR p.PaymentMethodId <> n.PaymentMethodId
           OR p.AccountId <> n.AccountId OR n.Gateway <> p.Gateway
           OR n.EventDate <= p.CreatedDate""",
    )


def test_reconciliation_events_are_settled_payments_of_their_job(
    con: duckdb.DuckDBPyConnection,
) -> None:
    zero(
        con,
        """SELECT count(*) FROM PaymentGatewayReconciliationEventLog e
        JOIN PaymentReconciliationJob j ON j.Id = e.PaymentReconciliationJobId
        JOIN Payment p ON p.ReferenceId = e.RelatedGatewayReferenceId
        WHERE e.Amount <> p.Amount OR j.GatewayName <> p.Gateway
           OR j.PeriodStart <> p.SettledOn::DATE OR j.PeriodEnd <> j.PeriodStart
           OR e.EventDate <> j.PeriodStart OR e.RelatedGatewaySecondReferenceId <> p.GatewayOrderId
           OR j.CompletedOn < j.CreatedDate
           OR e.GatewayRawRecord NOT LIKE 'ref=' || p.ReferenceId || ';%'""",
    )
    # Each matched event has one log line naming its payment; unmatched ones have none.
    zero(
        con,
        """SELECT count(*) FROM PaymentGatewayReconciliationEventLog e
        LEFT JOIN Payment p ON p.ReferenceId = e.RelatedGatewayReferenceId
        LEFT JOIN (SELECT PaymentGatewayReconciliationEventLogId AS event, count(*) AS n,
                          any_value(RelatedObjectId) AS payment,
                          any_value(PaymentReconciliationJobId) AS job
                   FROM PaymentReconciliationLog GROUP BY 1) l ON l.event = e.Id
        WHERE coalesce(l.n, 0) <> (p.Id IS NOT NULL)::INT OR l.payment <> p.Id
           OR l.job <> e.PaymentReconciliationJobId""",
    )
    assert (
        one(
            con,
            """SELECT count(*) FROM PaymentGatewayReconciliationEventLog e
            LEFT JOIN Payment p ON p.ReferenceId = e.RelatedGatewayReferenceId
            WHERE p.Id IS NULL""",
        )
        > 0
    )
    zero(
        con,
        """SELECT count(*) FROM PaymentReconciliationLog
        WHERE (ErrorCode IS NOT NULL) <> (Status = 'Error') OR RelatedObjectType <> 'Payment'""",
    )


def test_updater_details_are_cards_of_their_batch(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM UpdaterDetail d JOIN PaymentMethod m ON m.Id = d.PaymentMethodId
        JOIN UpdaterBatch b ON b.Id = d.UpdaterBatchId
        WHERE m.Type <> 'CreditCard' OR d.AccountId <> m.AccountId
           OR d.CreditCardMaskNumber <> m.CreditCardMaskNumber
           OR d.CreditCardType <> m.CreditCardType
           OR d.CreatedDate < b.StartedOn OR d.CreatedDate > b.CompletedOn
           OR d.CreatedDate < m.CreatedDate
           OR (d.NewCreditCardExpirationYear IS NOT NULL) <> (d.Status = 'Updated')""",
    )
    zero(
        con,
        """SELECT count(*) FROM UpdaterBatch b LEFT JOIN (
            SELECT UpdaterBatchId AS batch, count(*) AS n,
                   count(*) FILTER (WHERE Status = 'Updated') AS updated
            FROM UpdaterDetail GROUP BY 1) d ON d.batch = b.Id
        WHERE b.TotalPaymentMethods <> coalesce(d.n, 0)
           OR b.UpdatedPaymentMethods <> coalesce(d.updated, 0)""",
    )


def test_stored_credential_profiles_match_their_cards(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM StoredCredentialProfile s
        JOIN PaymentMethod m ON m.Id = s.PaymentMethodId
        WHERE m.Type <> 'CreditCard'
           OR lower(s.Brand) <> lower(m.CreditCardType)
           OR s.AgreedOn <> m.CreatedDate::DATE AND s.AgreedOn <> s.CreatedDate::DATE
           OR (s.CancelledOn IS NOT NULL) <> (s.Status = 'Cancelled')
           OR (s.ActivatedOn IS NULL) <> (s.Status = 'Agreed')""",
    )


def test_screening_allows_created_methods_and_blocks_others(
    con: duckdb.DuckDBPyConnection,
) -> None:
    zero(
        con,
        """SELECT count(*) FROM SmartPreventionAudit a LEFT JOIN PaymentMethod m
            ON m.Id = a.PaymentMethodId
        WHERE (a.Decision = 'Allowed') <> (a.PaymentMethodId IS NOT NULL)
           OR m.AccountId <> a.AccountId OR a.EventDate > m.CreatedDate""",
    )
    zero(
        con,
        """SELECT count(*) FROM HpmCaptchaValidationResult h LEFT JOIN PaymentMethod m
            ON m.Id = h.PaymentMethodId
        LEFT JOIN PaymentMethodTransactionLog l ON l.Id = h.PaymentMethodTransactionLogId
        WHERE (h.ValidateDecision = 'Accept') <> (h.PaymentMethodId IS NOT NULL)
           OR m.AccountId <> h.AccountId OR l.PaymentMethodId <> h.PaymentMethodId
           OR (h.PaymentMethodTransactionLogId IS NULL) <> (h.PaymentMethodId IS NULL)
           OR (h.Score >= h.ScoreThreshold) <> (h.ValidateDecision = 'Accept')""",
    )
    assert one(con, "SELECT count(*) FROM SmartPreventionAudit WHERE Decision = 'Blocked'") > 0


def test_imports_never_import_more_than_their_rows(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        "SELECT count(*) FROM Import WHERE ImportedCount > TotalCount "
        "OR (Status <> 'Completed' AND ImportedCount > 0)",
    )
    zero(con, "SELECT count(*) FROM Export WHERE (FileId IS NOT NULL) <> (Status = 'Completed')")


def test_direct_joins_of_the_family_resolve(con: duckdb.DuckDBPyConnection) -> None:
    """The catalogue's joins of the family lead to the rows the keys name."""
    catalog = model.default()
    for name in OPERATIONS:
        for rel in catalog.require(name).related:
            if rel.via != name:
                continue
            zero(
                con,
                f'SELECT count(*) FROM "{name}" c LEFT JOIN "{rel.object}" p '
                f"ON p.Id = c.{rel.key} WHERE c.{rel.key} IS NOT NULL AND p.Id IS NULL",
            )


@pytest.mark.parametrize("scale", [0.02, 0.0001])
def test_tiny_worlds_have_a_row_of_every_operational_object(scale: float) -> None:
    """The demo tenant runs at 0.02; a one-account world (0.0001, whose account has invoices
    and payments with this seed) still has a row of every object."""
    rows: dict[str, int] = {}
    for name, table in generate.generate(model.default(), scale=scale, seed=3):
        rows[name] = rows.get(name, 0) + table.num_rows
    empty = [name for name in OPERATIONS if rows[name] == 0]
    assert empty == []


def test_every_record_belongs_to_the_tenants_entity(con: duckdb.DuckDBPyConnection) -> None:
    """Each object with an Entity join carries the one entity's Id (a hidden key)."""
    assert one(con, "SELECT count(*) FROM Entity") == 1
    with_entity = [obj for obj in model.default() if obj.relation("Entity") is not None]
    assert len(with_entity) >= 42
    for obj in with_entity:
        zero(
            con,
            f'SELECT count(*) FROM "{obj.name}" WHERE EntityId IS DISTINCT FROM '
            "(SELECT Id FROM Entity)",
        )
        assert obj.field("EntityId") is not None
        assert not obj.field("EntityId").exportable  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("query", "joined"),
    [
        ("select Payment.Amount, PaymentMethodSnapshot.Type, Entity.Name from Payment", 1),
        ("select Refund.Amount, PaymentMethodSnapshot.PaymentMethodId from Refund", 1),
        ("select InvoicePayment.Amount, PaymentMethodSnapshot.Type from InvoicePayment", 1),
        ("select Invoice.InvoiceNumber, BillingRun.BillingRunNumber from Invoice", 1),
        ("select TransactionId, Payment.PaymentNumber, Account.Name from PaymentTransactionLog", 2),
        ("select Id, UpdaterBatch.BatchNumber, PaymentMethod.Type from UpdaterDetail", 1),
        (
            "select Status, Payment.Amount, PaymentGatewayReconciliationEventLog.Amount, "
            "PaymentReconciliationJob.GatewayName from PaymentReconciliationLog",
            3,
        ),
        ("select Subject, BillToContact.WorkEmail, Entity.Name from EmailHistory", 1),
        (
            "select DiscountAmount, DiscountPercentage, Currency, Entity.Name "
            "from RatePlanChargeTier",
            3,
        ),
    ],
)
def test_zoql_joins_of_the_family_return_the_joined_rows(
    con: duckdb.DuckDBPyConnection, query: str, joined: int
) -> None:
    """Export ZOQL over the new joins: every row finds its joined record."""
    context = check.Context(catalog=model.default(), time_zone="UTC", now=dt.datetime.now(dt.UTC))
    options = lower.Options(dialect=formatting.DUCKDB, schema=naming.schema_name(TENANT))
    lowered = translate.translate(query, context=context, options=options)
    rows = con.execute(lowered.sql).fetchall()
    assert rows
    nulls = [row for row in rows if row[joined] is None]
    assert len(nulls) < len(rows) * (0.2 if "BillingRun" in query else 0.001)


def test_same_seed_same_operational_tables() -> None:
    def tables() -> dict[str, pa.Table]:
        out: dict[str, list[pa.Table]] = {}
        for name, table in generate.generate(model.default(), scale=0.05, seed=5):
            if name in OPERATIONS:
                out.setdefault(name, []).append(table)
        return {name: pa.concat_tables(parts) for name, parts in out.items()}

    first, second = tables(), tables()
    assert set(first) == set(OPERATIONS)
    for name in OPERATIONS:
        assert first[name].equals(second[name]), name
