"""The standard fields the issue 12 audit added to the core objects are plausible and agree
with the rest of the generated data (SQL over a real DuckDB loaded with generated tables)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from aquarium.catalog import model
from tests.integration.generated_data import loaded, one, zero

SCALE = 0.3
#: A seed whose small catalogue has overage charges (not every seed's has at this scale).
SEED = 5
TENANT = "core"
#: Fields a production export selects that must exist (issue 12).
PRODUCTION_FIELDS = {
    "RatePlanChargeTier": ("DiscountAmount", "DiscountPercentage", "Currency", "IncludedUnits"),
    "Invoice": ("Reversed", "TaxExemptAmount", "BillRunId", "TemplateId"),
    "RatePlanCharge": ("Price", "DiscountPercentage", "BillCycleDay", "OriginalId", "Description"),
    "Account": ("CommunicationProfileId", "VATId", "InvoiceTemplateId", "SequenceSetId"),
}


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    yield from loaded(TENANT, scale=SCALE, seed=SEED)


def test_production_export_fields_exist() -> None:
    catalog = model.default()
    for name, fields in PRODUCTION_FIELDS.items():
        for field in fields:
            assert catalog.require(name).field(field) is not None, (name, field)


def test_tier_discounts_only_on_discount_charges(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM RatePlanChargeTier t JOIN RatePlanCharge c
            ON c.Id = t.RatePlanChargeId
        WHERE (t.DiscountPercentage IS NOT NULL AND c.ChargeModel <> 'Discount-Percentage')
           OR (t.DiscountAmount IS NOT NULL AND c.ChargeModel <> 'Discount-Fixed Amount')
           OR ((t.IncludedUnits IS NOT NULL) <> (c.ChargeModel = 'Overage Pricing'))
           OR ((t.OveragePrice IS NOT NULL) <> (c.ChargeModel = 'Overage Pricing'))
           OR ((t.IsOveragePrice IS NOT NULL)
               <> (c.ChargeModel IN ('Tiered Pricing', 'Volume Pricing')))""",
    )
    assert one(con, "SELECT count(*) FROM RatePlanChargeTier WHERE OveragePrice > 0") > 0


def test_charge_price_is_its_single_tiers_price(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM RatePlanCharge c JOIN RatePlanChargeTier t
            ON t.RatePlanChargeId = c.Id AND t.Tier = 1
        WHERE CASE WHEN c.ChargeModel IN ('Tiered Pricing', 'Volume Pricing')
                   THEN c.Price IS NOT NULL
                   ELSE c.Price IS DISTINCT FROM t.Price END""",
    )


def test_charges_copy_their_product_charge_and_account(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM RatePlanCharge c
        JOIN ProductRatePlanCharge p ON p.Id = c.ProductRatePlanChargeId
        JOIN RatePlan rp ON rp.Id = c.RatePlanId
        JOIN Subscription s ON s.Id = rp.SubscriptionId
        JOIN Account a ON a.Id = s.AccountId
        WHERE c.IncludedUnits IS DISTINCT FROM p.IncludedUnits
           OR c.PriceChangeOption <> p.PriceChangeOption
           OR c.PriceIncreasePercentage IS DISTINCT FROM p.PriceIncreasePercentage
           OR c.RevenueRecognitionRuleName <> p.RevenueRecognitionRuleName
           OR c.BillCycleDay <> a.BillCycleDay OR c.OriginalId <> c.Id
           OR c.BillingTiming <> p.BillingTiming
           OR (c.DiscountPercentage IS NOT NULL AND c.ChargeModel <> 'Discount-Percentage')
           OR ((c.WeeklyBillCycleDay IS NOT NULL) <> (c.BillingPeriod = 'Week'))
           OR ((c.PriceIncreasePercentage IS NOT NULL)
               <> (c.PriceChangeOption = 'SpecificPercentageValue'))""",
    )
    assert one(con, "SELECT count(*) FROM RatePlanCharge WHERE PriceIncreasePercentage > 0") > 0


def test_invoices_are_not_reversed_and_exempt_amounts_add_up(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # No credit memo reverses an invoice in this data, so none is reversed.
    zero(con, "SELECT count(*) FROM Invoice WHERE Reversed IS DISTINCT FROM false")
    zero(
        con,
        """SELECT count(*) FROM Invoice i LEFT JOIN (
            SELECT InvoiceId, sum(TaxExemptAmount) AS exempt FROM InvoiceItem GROUP BY 1) t
            ON t.InvoiceId = i.Id
        WHERE i.TaxExemptAmount <> coalesce(t.exempt, 0)
           OR (i.TaxExemptAmount > 0 AND i.TaxAmount <> 0)""",
    )
    zero(
        con,
        """SELECT count(*) FROM InvoiceItem t JOIN Account a ON a.Id = t.AccountId
        WHERE (t.TaxExemptAmount > 0) <> (a.TaxExemptStatus = 'Yes' AND t.ChargeAmount > 0)
           OR (t.TaxCode IS NULL) <> (a.TaxExemptStatus = 'Yes')
           OR t.RevRecStartDate <> t.ServiceStartDate""",
    )
    assert one(con, "SELECT count(*) FROM Invoice WHERE TaxExemptAmount > 0") > 0


def test_invoices_use_their_accounts_template_and_record_who_posted(
    con: duckdb.DuckDBPyConnection,
) -> None:
    zero(
        con,
        """SELECT count(*) FROM Invoice i JOIN Account a ON a.Id = i.AccountId
        WHERE i.TemplateId <> a.InvoiceTemplateId
           OR (i.PostedBy IS NOT NULL) <> (i.Status = 'Posted')
           OR (i.TransferredToAccounting = 'Yes' AND i.Status <> 'Posted')""",
    )
    zero(
        con,
        """SELECT count(*) FROM Invoice i LEFT JOIN (
            SELECT ObjectId, max(SendTime) AS sent FROM EmailHistory
            WHERE EventCategory = 'InvoicePosted' GROUP BY 1) e ON e.ObjectId = i.Id
        WHERE i.LastEmailSentDate IS DISTINCT FROM e.sent""",
    )


def test_payment_method_details_belong_to_their_type(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM PaymentMethod
        WHERE (AchAbaCode IS NOT NULL) <> (Type = 'ACH')
           OR (AchAccountNumberMask IS NOT NULL) <> (Type = 'ACH')
           OR (BankIdentificationNumber IS NOT NULL) <> (Type = 'CreditCard')
           OR (CreditCardCountry IS NOT NULL) <> (Type = 'CreditCard')
           OR (PaypalBaid IS NOT NULL) <> (Type = 'PayPal')
           OR (MaxConsecutivePaymentFailures IS NOT NULL) = UseDefaultRetryRule
           OR TotalNumberOfErrorPayments < NumConsecutiveFailures""",
    )
    zero(
        con,
        """SELECT count(*) FROM PaymentMethod m LEFT JOIN (
            SELECT PaymentMethodId, count(*) AS n FROM Payment GROUP BY 1) p
            ON p.PaymentMethodId = m.Id
        WHERE m.TotalNumberOfProcessedPayments <> coalesce(p.n, 0)""",
    )


def test_account_tax_fields_follow_the_exemption(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM Account
        WHERE (TaxExemptCertificateID IS NOT NULL) <> (TaxExemptStatus = 'Yes')
           OR (TaxExemptEntityUseCode IS NOT NULL) <> (TaxExemptStatus = 'Yes')
           OR (TaxCompanyCode IS NULL) <> (TaxExemptStatus = 'Yes')
           OR (VATId IS NOT NULL) <> (Currency IN ('EUR', 'GBP'))
           OR (Currency = 'EUR' AND VATId NOT LIKE 'DE%')""",
    )


def test_amendment_terms_and_destinations_follow_the_type(
    con: duckdb.DuckDBPyConnection,
) -> None:
    zero(
        con,
        """SELECT count(*) FROM Amendment a JOIN Subscription s ON s.Id = a.SubscriptionId
        WHERE (a.DestinationAccountId IS NOT NULL) <> (a.Type = 'OwnerTransfer')
           OR a.DestinationAccountId = s.AccountId
           OR (a.CurrentTerm IS NOT NULL) <> (a.Type IN ('TermsAndConditions', 'Renewal'))
           OR (a.TermStartDate IS NOT NULL AND a.TermStartDate <> a.EffectiveDate)""",
    )
    zero(
        con,
        """SELECT count(*) FROM Subscription
        WHERE (InitialTermPeriodType IS NULL) <> (TermType = 'EVERGREEN')
           OR Revision <> Version::VARCHAR || '.0'""",
    )


def test_refund_gateway_fields_agree_with_the_refund_log(
    con: duckdb.DuckDBPyConnection,
) -> None:
    zero(
        con,
        """SELECT count(*) FROM Refund r LEFT JOIN RefundTransactionLog l ON l.RefundId = r.Id
        WHERE r.GatewayState IS DISTINCT FROM coalesce(l.GatewayState, 'NotSubmitted')
           OR r.ReferenceID IS DISTINCT FROM l.TransactionId
           OR r.SubmittedOn IS DISTINCT FROM l.TransactionDate
           OR (r.CancelledOn IS NOT NULL) <> (r.Status = 'Canceled')
           OR (r.SettledOn IS NOT NULL) <> (l.GatewayState = 'Settled')
           OR (r.Gateway IS NOT NULL) <> (r.Type = 'Electronic')""",
    )
    assert one(con, "SELECT count(*) FROM Refund WHERE ReferenceID IS NOT NULL") > 0


def test_payment_reconciliation_fields_agree_with_the_gateway_events(
    con: duckdb.DuckDBPyConnection,
) -> None:
    zero(
        con,
        """SELECT count(*) FROM Payment p
        LEFT JOIN PaymentGatewayReconciliationEventLog e
            ON e.RelatedGatewayReferenceId = p.ReferenceId
        LEFT JOIN PaymentReconciliationJob j ON j.Id = e.PaymentReconciliationJobId
        WHERE p.GatewayReconciliationStatus IS DISTINCT FROM replace(e.EventType, 'Transaction', '')
           OR p.GatewayReconciliationReason IS DISTINCT FROM e.GatewayReasonMessage
           OR p.PayoutId IS DISTINCT FROM CASE WHEN e.EventType = 'TransactionSettled'
                THEN 'po_' || lpad(substr(j.JobNumber, 5), 8, '0') END""",
    )
    assert one(con, "SELECT count(*) FROM Payment WHERE PayoutId IS NOT NULL") > 0


def test_contacts_other_phone_has_a_type(con: duckdb.DuckDBPyConnection) -> None:
    zero(
        con,
        """SELECT count(*) FROM Contact c JOIN Account a ON a.Id = c.AccountId
        WHERE (OtherPhone IS NULL) <> (OtherPhoneType IS NULL)
           OR (c.Id = a.BillToId) <> (c.Description = 'Billing contact')""",
    )
