"""The shipped object catalogue is complete and consistent; malformed documents are rejected."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from aquarium.catalog import listing, model
from aquarium.domain import errors

EXPECTED_OBJECTS = {
    "Account",
    "Contact",
    "PaymentMethod",
    "Product",
    "ProductRatePlan",
    "ProductRatePlanCharge",
    "Subscription",
    "RatePlan",
    "RatePlanCharge",
    "RatePlanChargeTier",
    "Amendment",
    "Invoice",
    "InvoiceItem",
    "InvoiceItemAdjustment",
    "InvoiceAdjustment",
    "Payment",
    "InvoicePayment",
    "Refund",
    "CreditBalanceAdjustment",
    "AccountingPeriod",
    "AccountingCode",
    "Usage",
}
#: The objects of objects_operations.toml (issue 12).
OPERATIONS_OBJECTS = {
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
}
ORDERS_OBJECTS = {
    "Order",
    "OrderAction",
    "OrderLineItem",
    "ContactSnapshot",
    "ProductRatePlanChargeTier",
    "ChargeMetrics",
    "ChargeMetricsRun",
    "DiscountAppliedMetrics",
    "DiscountApplyDetail",
    "DiscountClass",
    "BookingTransaction",
    "ProcessedUsage",
}
STANDARD = ("Id", "CreatedById", "CreatedDate", "UpdatedById", "UpdatedDate")
# Field names quoted in reference section 9 that must exist exactly as spelled there.
REFERENCE_FIELDS = {
    "Invoice": ("InvoiceNumber", "Amount", "Balance", "InvoiceDate", "DueDate", "Status"),
    "InvoiceItem": ("ChargeAmount", "UnitPrice", "SKU", "AccountingCode", "AppliedToChargeNumber"),
    "InvoiceItemAdjustment": ("AdjustmentNumber", "SourceType", "SourceId", "InvoiceItemName"),
    "InvoiceAdjustment": ("ImpactAmount", "CancelledOn", "AdjustmentNumber"),
    "CreditBalanceAdjustment": ("Number", "SourceTransactionType", "AdjustmentDate"),
    "Usage": ("StartDateTime", "EndDateTime", "SubmissionDateTime", "RbeStatus"),
    "Subscription": ("AutoRenew", "InitialTerm", "PreviousSubscriptionId", "TermType"),
    "RatePlanCharge": ("TriggerEvent", "EffectiveEndDate", "MRR", "DTCV", "IsLastSegment"),
    "RatePlanChargeTier": ("Tier", "PriceFormat", "EndingUnit"),
    "ProductRatePlanCharge": ("TaxMode", "SmoothingModel"),
    "AccountingPeriod": ("FiscalYear", "StartDate", "EndDate"),
    "Payment": ("PaymentNumber", "EffectiveDate", "AppliedInvoiceAmount", "PaymentMethodId"),
    "InvoicePayment": ("Amount", "RefundAmount", "InvoiceId", "PaymentId"),
}


@pytest.fixture(scope="module")
def catalog() -> model.Catalog:
    return model.default()


def test_has_all_objects(catalog: model.Catalog) -> None:
    assert {o.name for o in catalog} >= EXPECTED_OBJECTS | OPERATIONS_OBJECTS
    core = resources.files("aquarium.catalog").joinpath("objects.toml").read_text("utf-8")
    assert {o.name for o in model.parse(tomllib.loads(core))} == EXPECTED_OBJECTS
    # Family files (objects_<family>.toml) add objects to the 22 core ones.
    assert {o.name for o in catalog} >= EXPECTED_OBJECTS | ORDERS_OBJECTS


def test_every_object_has_the_standard_fields(catalog: model.Catalog) -> None:
    for obj in catalog:
        names = [f.name for f in obj.fields]
        for standard in STANDARD:
            assert standard in names, (obj.name, standard)
        assert names[0] == "Id"
        assert len(names) == len(set(names)), obj.name


def test_reference_fields_exist(catalog: model.Catalog) -> None:
    for obj_name, fields in REFERENCE_FIELDS.items():
        obj = catalog.require(obj_name)
        for name in fields:
            found = obj.field(name)
            assert found is not None and found.name == name, (obj_name, name)


def test_types(catalog: model.Catalog) -> None:
    assert catalog.require("Invoice").field("Amount").type is model.FieldType.DECIMAL  # type: ignore[union-attr]
    assert catalog.require("Usage").field("StartDateTime").type is model.FieldType.DATETIME  # type: ignore[union-attr]
    assert catalog.require("Subscription").field("AutoRenew").type is model.FieldType.BOOLEAN  # type: ignore[union-attr]
    assert catalog.require("AccountingPeriod").field("FiscalYear").type is model.FieldType.INTEGER  # type: ignore[union-attr]


def test_picklists_have_options(catalog: model.Catalog) -> None:
    for obj in catalog:
        for f in obj.fields:
            if f.type is model.FieldType.PICKLIST:
                assert f.options, (obj.name, f.name)
                assert len(set(f.options)) == len(f.options)


def test_labels_are_human(catalog: model.Catalog) -> None:
    assert catalog.require("InvoiceItem").label == "Invoice Item"
    assert catalog.require("RatePlanCharge").label == "Rate Plan Charge"
    assert catalog.require("AccountingPeriod").label == "Accounting Period"
    for obj in catalog:
        assert obj.label
        for f in obj.fields:
            assert f.label and "_" not in f.label, (obj.name, f.name)


def test_every_relation_resolves(catalog: model.Catalog) -> None:
    for obj in catalog:
        for rel in obj.related:
            target = catalog.require(rel.object)
            if rel.via == obj.name:
                holder = obj
            else:
                via = obj.relation(rel.via)
                assert via is not None, (obj.name, rel.name)
                holder = catalog.require(via.object)
            assert holder.field(rel.key) is not None, (obj.name, rel.name, rel.key)
            assert target.field("Id") is not None


def test_accounts_bring_their_contacts_and_payment_method(catalog: model.Catalog) -> None:
    for obj in catalog:
        if obj.name in {"Account", "Contact", "PaymentMethod"} or obj.relation("Account") is None:
            continue
        for alias in ("BillToContact", "SoldToContact", "DefaultPaymentMethod"):
            assert obj.relation(alias) is not None, (obj.name, alias)


def test_invoice_item_multi_hop_join(catalog: model.Catalog) -> None:
    bill_to = catalog.require("InvoiceItem").relation("billtocontact")
    assert bill_to is not None
    assert (bill_to.object, bill_to.label, bill_to.via, bill_to.key) == (
        "Contact",
        "Bill To",
        "Account",
        "BillToId",
    )


def test_deleted_export_flags(catalog: model.Catalog) -> None:
    assert not catalog.require("AccountingCode").deleted_export
    assert not catalog.require("AccountingPeriod").deleted_export
    assert catalog.require("Invoice").deleted_export


def test_lookups_are_case_insensitive(catalog: model.Catalog) -> None:
    item = catalog.object("invoiceitem")
    assert item is not None and item.name == "InvoiceItem"
    assert catalog.object("INVOICEITEM") is item
    charge_amount = item.field("chargeamount")
    assert charge_amount is not None and charge_amount.name == "ChargeAmount"
    assert item.relation("BILLTOCONTACT") is not None
    assert catalog.object("NoSuchObject") is None
    assert item.field("NoSuchField") is None
    with pytest.raises(errors.CatalogError):
        catalog.require("NoSuchObject")


def _doc(**fields: Any) -> dict[str, Any]:
    return {"objects": {"Thing": {"label": "Thing", "fields": fields}}}


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(_doc(Size={"type": "bignum"}), id="unknown-type"),
        pytest.param(_doc(Size={"label": "Size"}), id="missing-type"),
        pytest.param(_doc(Kind={"type": "picklist"}), id="picklist-without-options"),
        pytest.param(
            {"objects": {"Thing": {"related": {"Owner": {"object": "Nobody", "key": "Id"}}}}},
            id="relation-to-unknown-object",
        ),
        pytest.param(
            {
                "objects": {
                    "Person": {"fields": {"AddressId": {"type": "text"}}},
                    "Thing": {
                        "fields": {"OwnerId": {"type": "text"}},
                        "related": {
                            "Address": {"object": "Person", "via": "Owner", "key": "AddressId"},
                            "Owner": {"object": "Person", "key": "OwnerId"},
                        },
                    },
                }
            },
            id="via-not-declared-before",
        ),
        pytest.param(
            {"objects": {"Thing": {"related": {"Self": {"object": "Thing", "key": "NoField"}}}}},
            id="key-is-no-field",
        ),
    ],
)
def test_malformed_documents_are_rejected(document: dict[str, Any]) -> None:
    with pytest.raises(errors.CatalogError):
        model.parse(document)


def test_minimal_document_gets_standard_fields() -> None:
    catalog = model.parse({"objects": {"Thing": {}}})
    thing = catalog.require("thing")
    assert [f.name for f in thing.fields] == list(STANDARD)


def test_files_extend_objects_of_other_files() -> None:
    core = {"objects": {"Thing": {"fields": {"Size": {"type": "integer"}}}}}
    family = {
        "objects": {"Part": {"fields": {"ThingId": {"type": "text"}}}},
        "extend": {
            "Thing": {
                "fields": {"Colour": {"type": "text", "label": "Colour"}},
                "related": {"FirstPart": {"object": "Part", "key": "FirstPartId"}},
            },
            "thing": {"fields": {"FirstPartId": {"type": "text"}}},
        },
    }
    thing = model.parse(core, family).require("Thing")
    names = [f.name for f in thing.fields]
    assert names[:4] == ["Id", "Size", "Colour", "FirstPartId"]
    assert names[4:] == [name for name in STANDARD if name != "Id"]
    relation = thing.relation("firstpart")
    assert relation is not None and relation.object == "Part"


@pytest.mark.parametrize(
    "documents",
    [
        pytest.param(({"objects": {"Thing": {}}}, {"objects": {"THING": {}}}), id="declared-twice"),
        pytest.param(({"extend": {"Nothing": {"fields": {}}}},), id="extends-unknown-object"),
        pytest.param(
            (
                {"objects": {"Thing": {"fields": {"Size": {"type": "integer"}}}}},
                {"extend": {"Thing": {"fields": {"size": {"type": "text"}}}}},
            ),
            id="extends-a-field-twice",
        ),
        pytest.param(
            ({"objects": {"Thing": {}}}, {"extend": {"Thing": {"label": "Other"}}}),
            id="extends-more-than-fields-and-joins",
        ),
    ],
)
def test_bad_extensions_are_rejected(documents: tuple[dict[str, Any], ...]) -> None:
    with pytest.raises(errors.CatalogError):
        model.parse(*documents)


def test_every_object_records_where_zuora_documents_it(catalog: model.Catalog) -> None:
    undocumented = [obj.name for obj in catalog if not obj.source.startswith("https://")]
    assert undocumented == []


def test_docs_catalog_lists_every_object_as_the_catalogue_says() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "catalog.md"
    text = path.read_text("utf-8")
    assert listing.rewrite(text, model.default()) == text, (
        "docs/catalog.md is stale: run `python -m aquarium.catalog.listing docs/catalog.md`"
    )
    for obj in model.default():
        assert f"| {obj.name} |" in text


#: The objects issue 12 names: Zuora's data sources a real tenant exports.
ZUORA_OBJECTS = (
    "AchNocEventLog",
    "Account",
    "AccountingCode",
    "AccountingPeriod",
    "Amendment",
    "BillingRun",
    "BookingTransaction",
    "ChargeMetrics",
    "ChargeMetricsRun",
    "CommunicationProfile",
    "Contact",
    "ContactSnapshot",
    "CreditBalanceAdjustment",
    "DiscountAppliedMetrics",
    "DiscountApplyDetail",
    "DiscountClass",
    "Export",
    "PaymentGatewayReconciliationEventLog",
    "PaymentReconciliationJob",
    "PaymentReconciliationLog",
    "SmartPreventionAudit",
    "HpmCaptchaValidationResult",
    "Import",
    "Invoice",
    "InvoiceAdjustment",
    "InvoiceItem",
    "InvoiceItemAdjustment",
    "InvoicePayment",
    "InvoiceSplit",
    "InvoiceSplitItem",
    "JournalEntry",
    "JournalEntryDetailCreditBalanceAdjustment",
    "JournalEntryDetailCreditMemoApplicationItem",
    "JournalEntryDetailCreditMemoItem",
    "JournalEntryDetailCreditTaxationItem",
    "JournalEntryDetailDebitMemoItem",
    "JournalEntryDetailDebitTaxationItem",
    "JournalEntryDetailInvoiceAdjustment",
    "JournalEntryDetailInvoiceItem",
    "JournalEntryDetailInvoiceItemAdjustment",
    "JournalEntryDetailInvoicePayment",
    "JournalEntryDetailPaymentApplication",
    "JournalEntryDetailPaymentApplicationItem",
    "JournalEntryDetailRefundApplication",
    "JournalEntryDetailRefundApplicationItem",
    "JournalEntryDetailRefundInvoicePayment",
    "JournalEntryDetailRevenueEventItem",
    "JournalEntryDetailTaxationItem",
    "JournalEntryItem",
    "JournalRun",
    "Order",
    "OrderAction",
    "OrderLineItem",
    "Payment",
    "PaymentMethod",
    "UpdaterDetail",
    "PaymentRun",
    "ProcessedUsage",
    "Product",
    "ProductRatePlan",
    "ProductRatePlanCharge",
    "ProductRatePlanChargeTier",
    "RatePlan",
    "RatePlanCharge",
    "RatePlanChargeTier",
    "Refund",
    "RefundInvoicePayment",
    "RefundTransactionLog",
    "RevenueChargeSummaryItem",
    "RevenueEventItem",
    "RevenueEventItemCreditMemoItem",
    "RevenueEventItemDebitMemoItem",
    "RevenueEventItemInvoiceItem",
    "RevenueEventItemInvoiceItemAdjustment",
    "RevenueScheduleItem",
    "RevenueScheduleItemCreditMemoItem",
    "RevenueScheduleItemDebitMemoItem",
    "RevenueScheduleItemInvoiceItem",
    "RevenueScheduleItemInvoiceItemAdjustment",
    "StoredCredentialProfile",
    "Subscription",
    "TaxationItem",
    "UpdaterBatch",
    "Usage",
    "PaymentMethodTransactionLog",
    "PaymentTransactionLog",
    "CalloutHistory",
    "EmailHistory",
    "CreditMemo",
    "CreditMemoItem",
    "CreditMemoApplication",
    "CreditMemoApplicationItem",
    "DebitMemo",
    "DebitMemoItem",
    "PaymentApplication",
    "PaymentApplicationItem",
    "RefundApplication",
    "RefundApplicationItem",
    "CreditTaxationItem",
    "DebitTaxationItem",
)


def test_has_every_object_a_real_tenant_exports(catalog: model.Catalog) -> None:
    missing = [name for name in ZUORA_OBJECTS if catalog.object(name) is None]
    assert missing == []
    assert len(catalog) >= 100
