"""The synthetic generator: deterministic, complete, referentially consistent, balanced."""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aquarium.catalog import model
from aquarium.datagen import generate
from aquarium.domain import errors

SCALE = 0.05
ID_RE = re.compile(r"[0-9a-f]{32}")


def _tables(scale: float = SCALE, seed: int = 7) -> dict[str, pa.Table]:
    out: dict[str, list[pa.Table]] = {}
    for name, table in generate.generate(model.default(), scale=scale, seed=seed):
        out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in out.items()}


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return _tables()


@pytest.fixture(scope="module")
def catalog() -> model.Catalog:
    return model.default()


def test_every_object_with_catalogue_columns(
    tables: dict[str, pa.Table], catalog: model.Catalog
) -> None:
    assert list(tables) == [obj.name for obj in catalog]
    for obj in catalog:
        assert tables[obj.name].schema == generate.arrow_schema(obj), obj.name
        assert tables[obj.name].num_rows > 0, obj.name


def test_same_seed_same_tables(tables: dict[str, pa.Table]) -> None:
    again = _tables()
    for name, table in tables.items():
        assert table.equals(again[name]), name


def test_different_seed_differs(tables: dict[str, pa.Table]) -> None:
    other = _tables(seed=8)
    assert not other["Account"].equals(tables["Account"])
    assert not other["InvoiceItem"].equals(tables["InvoiceItem"])


def test_counts_follow_the_scale(tables: dict[str, pa.Table]) -> None:
    assert tables["Account"].num_rows == 50
    assert 3_000 <= tables["InvoiceItem"].num_rows <= 7_000
    tiny = _tables(scale=0.0001)
    assert tiny["Account"].num_rows == 1


def test_ids_are_unique_lowercase_hex(tables: dict[str, pa.Table]) -> None:
    for name, table in tables.items():
        ids = table.column("Id")
        assert ids.null_count == 0
        assert pc.count_distinct(ids).as_py() == table.num_rows, name
        assert pc.all(pc.match_substring_regex(ids, "^[0-9a-f]{32}$")).as_py(), name


def test_foreign_keys_resolve(tables: dict[str, pa.Table], catalog: model.Catalog) -> None:
    checked = 0
    for obj in catalog:
        for rel in obj.related:
            if rel.via != obj.name:
                continue  # multi-hop joins rest on keys checked on their own object
            keys = tables[obj.name].column(rel.key).drop_null()
            targets = tables[rel.object].column("Id")
            assert pc.all(pc.is_in(keys, value_set=targets)).as_py() in (True, None), (
                obj.name,
                rel.name,
            )
            checked += 1
    for obj_name, key, target in (
        ("Subscription", "PreviousSubscriptionId", "Subscription"),
        ("InvoiceItemAdjustment", "SourceId", "InvoiceItem"),
        ("Usage", "InvoiceId", "Invoice"),
    ):
        values = tables[obj_name].column(key).drop_null()
        found = pc.all(pc.is_in(values, value_set=tables[target].column("Id"))).as_py()
        assert found in (True, None), (obj_name, key)
    assert checked > 40


def test_accounts_have_contacts_and_payment_methods(tables: dict[str, pa.Table]) -> None:
    account = tables["Account"]
    for key in ("BillToId", "SoldToId", "DefaultPaymentMethodId"):
        assert account.column(key).null_count == 0
    contacts = tables["Contact"]
    bill_to = pc.index_in(account.column("BillToId"), value_set=contacts.column("Id"))
    owners = pc.take(contacts.column("AccountId"), bill_to)
    assert owners.equals(account.column("Id"))
    assert account.column("ParentId").null_count > account.num_rows // 2


def _sums(table: pa.Table, key: str, value: str) -> dict[str, Decimal]:
    grouped = table.group_by(key).aggregate([(value, "sum")])
    return dict(
        zip(
            grouped.column(key).to_pylist(), grouped.column(f"{value}_sum").to_pylist(), strict=True
        )
    )


def test_invoice_totals_add_up(tables: dict[str, pa.Table]) -> None:
    invoice = tables["Invoice"]
    items = tables["InvoiceItem"]
    charges = _sums(items, "InvoiceId", "ChargeAmount")
    taxes = _sums(items, "InvoiceId", "TaxAmount")
    for row in invoice.select(["Id", "Amount", "AmountWithoutTax", "TaxAmount"]).to_pylist():
        assert row["AmountWithoutTax"] == charges[row["Id"]]
        assert row["TaxAmount"] == taxes[row["Id"]]
        assert row["Amount"] == row["AmountWithoutTax"] + row["TaxAmount"]


def test_balances_add_up(tables: dict[str, pa.Table]) -> None:
    invoice = tables["Invoice"]
    paid = _sums(tables["InvoicePayment"], "InvoiceId", "Amount")
    posted_balance: dict[str, Decimal] = {}
    for row in invoice.to_pylist():
        assert row["PaymentAmount"] == paid.get(row["Id"], 0)
        if row["Status"] == "Posted":
            # Payment refunds reopen an invoice; credit memos applied to it lower it.
            assert row["Balance"] == (
                row["Amount"]
                + row["AdjustmentAmount"]
                - row["PaymentAmount"]
                + row["RefundAmount"]
                - row["CreditMemoAmount"]
            )
            assert row["Balance"] >= 0
            posted_balance[row["AccountId"]] = (
                posted_balance.get(row["AccountId"], Decimal(0)) + row["Balance"]
            )
        elif row["Status"] == "Canceled":
            assert row["Balance"] == 0
    for row in tables["Account"].to_pylist():
        assert row["Balance"] == posted_balance.get(row["Id"], 0)
        assert row["CreditBalance"] >= 0
    for row in tables["Payment"].to_pylist():
        assert row["Amount"] == row["AppliedInvoiceAmount"] + row["AppliedCreditBalanceAmount"]


def test_adjustments_match_invoice(tables: dict[str, pa.Table]) -> None:
    net: dict[str, Decimal] = {}
    for name in ("InvoiceItemAdjustment", "InvoiceAdjustment"):
        for row in tables[name].to_pylist():
            if row["Status"] != "Processed":
                continue
            signed = -row["Amount"] if row["Type"] == "Credit" else row["Amount"]
            net[row["InvoiceId"]] = net.get(row["InvoiceId"], Decimal(0)) + signed
    for row in tables["Invoice"].to_pylist():
        assert row["AdjustmentAmount"] == net.get(row["Id"], 0)


def test_statuses_in_realistic_proportions(tables: dict[str, pa.Table]) -> None:
    def share(name: str, column: str, value: str) -> float:
        col = tables[name].column(column)
        return pc.sum(pc.equal(col, value)).as_py() / len(col)

    assert share("Invoice", "Status", "Posted") > 0.8
    assert share("Subscription", "Status", "Active") > 0.6
    assert pc.count_distinct(tables["Account"].column("Currency")).as_py() > 1


def test_dates_are_ordered(tables: dict[str, pa.Table]) -> None:
    for name, table in tables.items():
        created = table.column("CreatedDate")
        updated = table.column("UpdatedDate")
        assert pc.all(pc.less_equal(created, updated)).as_py(), name
        assert pc.min(created).as_py().year >= 2020, name
        assert pc.max(updated).as_py().year <= 2026, name


def test_children_created_after_parents(tables: dict[str, pa.Table]) -> None:
    for child, key, parent in (
        ("Subscription", "AccountId", "Account"),
        ("InvoiceItem", "InvoiceId", "Invoice"),
        ("Invoice", "AccountId", "Account"),
        ("InvoicePayment", "PaymentId", "Payment"),
        ("RatePlanCharge", "RatePlanId", "RatePlan"),
    ):
        c = tables[child]
        p = tables[parent]
        index = pc.index_in(c.column(key), value_set=p.column("Id"))
        parent_created = pc.take(p.column("CreatedDate"), index)
        assert pc.all(pc.greater_equal(c.column("CreatedDate"), parent_created)).as_py(), child


def test_text_has_no_newlines(tables: dict[str, pa.Table]) -> None:
    for name, table in tables.items():
        for field in table.schema:
            if pa.types.is_string(field.type):
                hits = pc.sum(pc.match_substring_regex(table.column(field.name), "[\r\n]"))
                assert (hits.as_py() or 0) == 0, (name, field.name)


def test_no_column_is_entirely_null_unless_expected(tables: dict[str, pa.Table]) -> None:
    expected_empty = {
        ("Contact", "County"),
        ("Contact", "TaxRegion"),
        ("RatePlan", "AmendmentSubscriptionRatePlanId"),
        ("RatePlanCharge", "UpToPeriods"),
        ("RatePlanCharge", "UpToPeriodsType"),
        ("InvoiceItem", "AppliedToChargeNumber"),
        ("InvoiceItem", "AppliedToInvoiceItemId"),
        ("Payment", "SecondPaymentReferenceId"),
        ("Payment", "CancelledOn"),
        ("CreditBalanceAdjustment", "CancelledOn"),
        ("CreditBalanceAdjustment", "ReferenceId"),
        ("AccountingCode", "Notes"),
        # Optional text on an object with only a handful of rows at this scale.
        ("Refund", "Comment"),
        # Tiered charges may be absent from a tiny product catalogue.
        ("RatePlanChargeTier", "StartingUnit"),
        ("RatePlanChargeTier", "EndingUnit"),
        # Operations: fields a healthy tenant leaves empty (no failed bill runs, no batch ids,
        # no CC), and optional fields of objects with a handful of rows at this scale.
        ("BillingRun", "ErrorMessage"),
        ("PaymentTransactionLog", "BatchId"),
        ("RefundTransactionLog", "BatchId"),
        ("EmailHistory", "CcEmail"),
        ("StoredCredentialProfile", "CancelledOn"),
        ("StoredCredentialProfile", "ExpiredOn"),
        ("Export", "StatusReason"),
        ("Import", "StatusReason"),
        # No chargeback refunds are generated, so reconciliation creates no object.
        ("PaymentReconciliationLog", "CreatedObjectId"),
        ("PaymentReconciliationLog", "CreatedObjectType"),
        # Audited core fields that only discount, overage, weekly, specific-date or price
        # increase charges fill (a tiny catalogue may have none; no discount charges at all).
        ("ProductRatePlanCharge", "ApplyDiscountTo"),
        ("ProductRatePlanCharge", "DiscountLevel"),
        ("ProductRatePlanCharge", "IncludedUnits"),
        ("ProductRatePlanCharge", "OverageCalculationOption"),
        ("ProductRatePlanCharge", "PriceIncreasePercentage"),
        ("RatePlanCharge", "ApplyDiscountTo"),
        ("RatePlanCharge", "DiscountAmount"),
        ("RatePlanCharge", "DiscountLevel"),
        ("RatePlanCharge", "DiscountPercentage"),
        ("RatePlanCharge", "IncludedUnits"),
        ("RatePlanCharge", "NumberOfPeriods"),
        ("RatePlanCharge", "OverageCalculationOption"),
        ("RatePlanCharge", "OverageUnusedUnitsCreditOption"),
        ("RatePlanCharge", "PriceIncreasePercentage"),
        ("RatePlanCharge", "SpecificBillingPeriod"),
        ("RatePlanCharge", "SpecificEndDate"),
        ("RatePlanCharge", "TriggerDate"),
        ("RatePlanCharge", "WeeklyBillCycleDay"),
        ("RatePlanChargeTier", "DiscountAmount"),
        ("RatePlanChargeTier", "DiscountPercentage"),
        ("RatePlanChargeTier", "IncludedUnits"),
        ("RatePlanChargeTier", "OveragePrice"),
        ("RatePlanChargeTier", "IsOveragePrice"),
        # Reconciliation outcomes other than a plain settlement are rare at this scale.
        ("Payment", "GatewayReconciliationReason"),
        ("Payment", "PayoutId"),
        # Refund cancellations are rare, and a handful of refunds may have no electronic one.
        ("Refund", "CancelledOn"),
        ("Refund", "Gateway"),
        ("Refund", "GatewayResponse"),
        ("Refund", "GatewayResponseCode"),
        ("Refund", "ReferenceID"),
        ("Refund", "SubmittedOn"),
        ("Refund", "SettledOn"),
        ("Refund", "MarkedForSubmissionOn"),
        ("Refund", "SoftDescriptor"),
        ("Amendment", "DestinationAccountId"),
        ("Amendment", "DestinationInvoiceOwnerId"),
        ("ProductRatePlanChargeTier", "StartingUnit"),
        ("ProductRatePlanChargeTier", "EndingUnit"),
        # Snapshots copy their contacts, whose County and TaxRegion are empty.
        ("ContactSnapshot", "County"),
        ("ContactSnapshot", "TaxRegion"),
        # No Discount-Fixed Amount charges are generated, only Discount-Percentage ones.
        ("ProductRatePlanChargeTier", "DiscountAmount"),
    }
    for name, table in tables.items():
        for column in table.column_names:
            if (name, column) in expected_empty:
                continue
            assert table.column(column).null_count < table.num_rows, (name, column)


@pytest.mark.parametrize("scale", [0, -1, float("nan")])
def test_bad_scale(scale: float) -> None:
    with pytest.raises(errors.DataGenerationError):
        next(generate.generate(model.default(), scale=scale, seed=1))


def test_unknown_object_is_refused() -> None:
    catalog = model.parse({"objects": {"Widget": {}}})
    with pytest.raises(errors.DataGenerationError):
        next(generate.generate(catalog, scale=0.01, seed=1))
