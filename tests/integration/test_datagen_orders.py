"""The orders family on real generated data in a real DuckDB: every key resolves, and orders,
snapshots, tiers, metrics, discounts, bookings and processed usage agree with the rest.

Each check is SQL that counts the rows breaking a rule (expected 0), next to a count showing
the rule had rows to judge.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from aquarium import datagen
from aquarium.catalog import model
from aquarium.engines import duckdb_engine, naming
from aquarium.zoql import check, lower, translate
from tests.integration.conftest import NOW, TIME_ZONE
from tests.integration.generated_data import one

SCALE = 0.3
TENANT = "orders"
FAMILY = (
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
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("orders")
    datagen.generate_into(path, TENANT, scale=SCALE, seed=5, time_zone=TIME_ZONE)
    return path


@pytest.fixture(scope="module")
def con(data_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(data_dir / naming.DUCKDB_FILE), read_only=True) as connection:
        connection.execute(f"SET search_path = '{naming.schema_name(TENANT)}'")
        yield connection


@pytest.fixture(scope="module")
def engine(data_dir: Path) -> Iterator[duckdb_engine.DuckDbEngine]:
    found = duckdb_engine.DuckDbEngine(data_dir / naming.DUCKDB_FILE, read_only=True)
    yield found
    found.close()


def _none_break(con: duckdb.DuckDBPyConnection, judged: str, broken: str) -> None:
    """``judged`` counts the rows a rule applies to (must be > 0), ``broken`` those breaking it."""
    assert int(one(con, judged)) > 0, judged  # type: ignore[call-overload]
    assert one(con, broken) == 0, broken


def _zoql(engine: duckdb_engine.DuckDbEngine, text: str) -> list[tuple[object, ...]]:
    context = check.Context(catalog=model.default(), time_zone=TIME_ZONE, now=NOW)
    options = lower.Options(dialect=engine.dialect, schema=naming.schema_name(TENANT))
    lowered = translate.translate(text, context=context, options=options)
    with engine.snapshot(TENANT) as snapshot:
        return list(snapshot.fetch(lowered))


# -- keys ------------------------------------------------------------------------------------


def _direct_keys() -> list[tuple[str, str, str]]:
    catalog = model.default()
    keys = [
        (obj.name, rel.key, rel.object)
        for obj in catalog
        for rel in obj.related
        if rel.via == obj.name and obj.name in FAMILY
    ]
    keys += [
        ("Subscription", "SubscriptionVersionAmendmentId", "Amendment"),
        ("Invoice", "BillToContactSnapshotId", "ContactSnapshot"),
        ("Invoice", "SoldToContactSnapshotId", "ContactSnapshot"),
    ]
    return sorted(set(keys))


@pytest.mark.parametrize(("table", "key", "target"), _direct_keys())
def test_foreign_key_resolves(
    con: duckdb.DuckDBPyConnection, table: str, key: str, target: str
) -> None:
    _none_break(
        con,
        f'SELECT count("{key}") FROM "{table}"',
        f'SELECT count(*) FROM "{table}" AS t LEFT JOIN "{target}" AS p ON p."Id" = t."{key}" '
        f'WHERE t."{key}" IS NOT NULL AND p."Id" IS NULL',
    )


def test_every_object_of_the_family_has_rows(con: duckdb.DuckDBPyConnection) -> None:
    for name in FAMILY:
        assert int(one(con, f'SELECT count(*) FROM "{name}"')) > 0, name  # type: ignore[call-overload]


# -- orders and subscription versions ------------------------------------------------------------


def test_one_create_subscription_action_per_subscription(con: duckdb.DuckDBPyConnection) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "Subscription"',
        """SELECT count(*) FROM "Subscription" s
           WHERE (SELECT count(*) FROM "OrderAction" a
                  WHERE a."SubscriptionId" = s."Id" AND a."Type" = 'CreateSubscription'
                    AND a."SubscriptionVersionAmendmentId" IS NULL) != 1""",
    )


def test_one_action_per_amendment_of_the_amendments_type(con: duckdb.DuckDBPyConnection) -> None:
    mapping = (
        "('NewProduct','AddProduct'),('RemoveProduct','RemoveProduct'),"
        "('UpdateProduct','UpdateProduct'),('TermsAndConditions','TermsAndConditions'),"
        "('Renewal','RenewSubscription'),('Cancellation','CancelSubscription'),"
        "('OwnerTransfer','OwnerTransfer'),('Suspend','Suspend'),('Resume','Resume')"
    )
    _none_break(
        con,
        'SELECT count(*) FROM "Amendment"',
        f"""SELECT count(*) FROM "Amendment" m
            WHERE (SELECT count(*) FROM "OrderAction" a
                   JOIN (VALUES {mapping}) AS t(amendment, action) ON t.action = a."Type"
                   WHERE a."SubscriptionVersionAmendmentId" = m."Id"
                     AND a."SubscriptionId" = m."SubscriptionId"
                     AND t.amendment = m."Type") != 1""",
    )


def test_actions_count_the_subscription_versions(con: duckdb.DuckDBPyConnection) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "Subscription" WHERE "Version" > 1',
        """SELECT count(*) FROM "Subscription" s
           WHERE s."Version" != (SELECT count(*) FROM "OrderAction" a
                                 WHERE a."SubscriptionId" = s."Id")""",
    )


def test_orders_belong_to_the_account_and_date_of_their_version(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "Order"',
        """SELECT count(*) FROM "Order" o
           JOIN "OrderAction" a ON a."OrderId" = o."Id"
           JOIN "Subscription" s ON s."Id" = a."SubscriptionId"
           LEFT JOIN "Amendment" m ON m."Id" = a."SubscriptionVersionAmendmentId"
           WHERE o."AccountId" != s."AccountId"
              OR o."OrderDate" != coalesce(m."EffectiveDate", s."SubscriptionStartDate")
              OR o."CreatedDate" > a."CreatedDate"
              OR (m."Status" = 'Completed' AND o."Status" != 'Completed')""",
    )
    assert one(con, 'SELECT count(*) = count(DISTINCT "OrderNumber") FROM "Order"') is True


def test_subscription_version_amendment_is_the_latest_of_the_subscription(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _none_break(
        con,
        'SELECT count("SubscriptionVersionAmendmentId") FROM "Subscription"',
        """SELECT count(*) FROM "Subscription" s
           LEFT JOIN "Amendment" m ON m."Id" = s."SubscriptionVersionAmendmentId"
           WHERE (s."Version" = 1) != (m."Id" IS NULL)
              OR m."SubscriptionId" != s."Id"
              OR m."CreatedDate" < (SELECT max(x."CreatedDate") FROM "Amendment" x
                                    WHERE x."SubscriptionId" = s."Id")""",
    )


def test_line_items_belong_to_orders_of_their_account(con: duckdb.DuckDBPyConnection) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "OrderLineItem"',
        """SELECT count(*) FROM "OrderLineItem" l
           JOIN "Order" o ON o."Id" = l."OrderId"
           JOIN "Account" c ON c."Id" = l."AccountId"
           WHERE l."AccountId" != o."AccountId" OR l."Currency" != c."Currency"
              OR l."Amount" != l."Quantity" * l."AmountPerUnit"
              OR l."ListPrice" != l."Quantity" * l."ListPricePerUnit"
              OR l."AmountWithoutTax" != l."Amount" OR l."CreatedDate" < o."CreatedDate" """,
    )


# -- contact snapshots ----------------------------------------------------------------------------


def test_snapshots_copy_their_contact(con: duckdb.DuckDBPyConnection) -> None:
    same_address = " AND ".join(
        f'n."{f}" IS NOT DISTINCT FROM c."{f}"'
        for f in ("Address1", "Address2", "City", "State", "PostalCode", "Country")
    )
    _none_break(
        con,
        'SELECT count(*) FROM "ContactSnapshot"',
        f"""SELECT count(*) FROM "ContactSnapshot" n JOIN "Contact" c ON c."Id" = n."ContactId"
            WHERE n."AccountId" != c."AccountId"
               OR n."FirstName" != c."FirstName" OR n."LastName" != c."LastName"
               OR n."WorkEmail" != c."WorkEmail"
               OR (c."UpdatedDate" <= n."CreatedDate" AND NOT ({same_address}))""",
    )


def test_posted_invoices_point_at_snapshots_of_their_accounts_contacts(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _none_break(
        con,
        """SELECT count(*) FROM "Invoice" WHERE "Status" = 'Posted'""",
        """SELECT count(*) FROM "Invoice" i
           JOIN "Account" a ON a."Id" = i."AccountId"
           LEFT JOIN "ContactSnapshot" b ON b."Id" = i."BillToContactSnapshotId"
           LEFT JOIN "ContactSnapshot" s ON s."Id" = i."SoldToContactSnapshotId"
           WHERE (i."Status" = 'Posted') != (b."Id" IS NOT NULL AND s."Id" IS NOT NULL)
              OR b."ContactId" != a."BillToId" OR s."ContactId" != a."SoldToId"
              OR b."CreatedDate" < i."CreatedDate" """,
    )


# -- tiers, metrics, discounts -------------------------------------------------------------------


def test_product_tiers_are_contiguous_per_currency(con: duckdb.DuckDBPyConnection) -> None:
    _none_break(
        con,
        """SELECT count(*) FROM "ProductRatePlanChargeTier" t
           JOIN "ProductRatePlanCharge" c ON c."Id" = t."ProductRatePlanChargeId"
           WHERE c."ChargeModel" IN ('Tiered Pricing', 'Volume Pricing')""",
        """SELECT count(*) FROM "ProductRatePlanChargeTier" t
           JOIN "ProductRatePlanCharge" c ON c."Id" = t."ProductRatePlanChargeId"
           LEFT JOIN "ProductRatePlanChargeTier" n
             ON n."ProductRatePlanChargeId" = t."ProductRatePlanChargeId"
            AND n."Currency" = t."Currency" AND n."Tier" = t."Tier" + 1
           WHERE c."ChargeModel" IN ('Tiered Pricing', 'Volume Pricing')
             AND ((t."Tier" = 1 AND t."StartingUnit" != 0)
               OR (n."Id" IS NULL) != (t."EndingUnit" IS NULL)
               OR n."StartingUnit" != t."EndingUnit" + 1)""",
    )
    # One set of tiers per currency: 3 tiers for tiered and volume charges, one otherwise.
    _none_break(
        con,
        'SELECT count(*) FROM "ProductRatePlanCharge"',
        """SELECT count(*) FROM "ProductRatePlanCharge" c
           WHERE (SELECT count(*) FROM "ProductRatePlanChargeTier" t
                  WHERE t."ProductRatePlanChargeId" = c."Id")
                 != 6 * CASE WHEN c."ChargeModel" IN ('Tiered Pricing', 'Volume Pricing')
                             THEN 3 ELSE 1 END""",
    )


def test_subscribed_tiers_copy_product_tiers(con: duckdb.DuckDBPyConnection) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "RatePlanChargeTier"',
        """SELECT count(*) FROM "RatePlanChargeTier" t
           JOIN "RatePlanCharge" c ON c."Id" = t."RatePlanChargeId"
           LEFT JOIN "ProductRatePlanChargeTier" p
             ON p."ProductRatePlanChargeId" = c."ProductRatePlanChargeId"
            AND p."Tier" = t."Tier" AND p."Currency" = t."Currency"
           WHERE p."Price" IS DISTINCT FROM t."Price"
              OR p."StartingUnit" IS DISTINCT FROM t."StartingUnit" """,
    )


def test_charge_metrics_match_their_charges(con: duckdb.DuckDBPyConnection) -> None:
    _none_break(
        con,
        """SELECT count(*) FROM "RatePlanCharge" WHERE "ChargeModel" != 'Discount-Percentage'""",
        """SELECT count(*) FROM "RatePlanCharge" c
           LEFT JOIN "ChargeMetrics" m ON m."RatePlanChargeId" = c."Id"
           WHERE (c."ChargeModel" = 'Discount-Percentage') != (m."Id" IS NULL)
              OR m."MRRGrossAmount" != c."MRR" OR m."TCVGrossAmount" != c."TCV"
              OR m."MRRNetAmount" != m."MRRGrossAmount" - m."MRRDiscountAmount"
              OR m."TCVNetAmount" != m."TCVGrossAmount" - m."TCVDiscountAmount"
              OR m."ChargeNumber" != c."ChargeNumber"
              OR m."ProductRatePlanChargeId" != c."ProductRatePlanChargeId" """,
    )
    assert one(con, 'SELECT count(*) = count(DISTINCT "RatePlanChargeId") FROM "ChargeMetrics"')


def test_discount_metrics_apply_discount_charges_to_charges_of_their_rate_plan(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "DiscountAppliedMetrics"',
        """SELECT count(*) FROM "DiscountAppliedMetrics" m
           JOIN "RatePlanCharge" d ON d."Id" = m."DiscountRatePlanChargeId"
           JOIN "RatePlanCharge" c ON c."Id" = m."RatePlanChargeId"
           JOIN "RatePlan" r ON r."Id" = c."RatePlanId"
           WHERE d."ChargeModel" != 'Discount-Percentage'
              OR c."ChargeModel" = 'Discount-Percentage' OR c."ChargeType" != 'Recurring'
              OR d."RatePlanId" != c."RatePlanId" OR m."SubscriptionId" != r."SubscriptionId"
              OR m."MRR" > 0 OR m."TCV" > 0""",
    )
    # A discount charge's MRR and TCV are what its applications take off, to the cent, and
    # each discounted charge's metrics show the same discount.
    _none_break(
        con,
        """SELECT count(*) FROM "RatePlanCharge" WHERE "ChargeModel" = 'Discount-Percentage'""",
        """SELECT count(*) FROM "RatePlanCharge" d
           WHERE d."ChargeModel" = 'Discount-Percentage'
             AND (d."MRR", d."TCV") != (SELECT (sum(m."MRR"), sum(m."TCV"))
                                         FROM "DiscountAppliedMetrics" m
                                         WHERE m."DiscountRatePlanChargeId" = d."Id")""",
    )
    _none_break(
        con,
        """SELECT count(*) FROM "ChargeMetrics" WHERE "MRRDiscountAmount" > 0""",
        """SELECT count(*) FROM "ChargeMetrics" c
           WHERE c."MRRDiscountAmount" != -(SELECT coalesce(sum(m."MRR"), 0)
                                            FROM "DiscountAppliedMetrics" m
                                            WHERE m."RatePlanChargeId" = c."RatePlanChargeId")""",
    )


def test_discount_apply_details_name_the_product_charges_discounted(
    con: duckdb.DuckDBPyConnection,
) -> None:
    applied = """SELECT m."DiscountRatePlanChargeId" AS d, c."ProductRatePlanChargeId" AS p
                 FROM "DiscountAppliedMetrics" m
                 JOIN "RatePlanCharge" c ON c."Id" = m."RatePlanChargeId" """
    details = """SELECT "RatePlanChargeId" AS d, "AppliedProductRatePlanChargeId" AS p
                 FROM "DiscountApplyDetail" """
    _none_break(
        con,
        'SELECT count(*) FROM "DiscountApplyDetail"',
        f"""SELECT (SELECT count(*) FROM ({applied} EXCEPT {details}))
                 + (SELECT count(*) FROM ({details} EXCEPT {applied}))
                 + (SELECT count(*) FROM "DiscountApplyDetail" x
                    JOIN "ProductRatePlanCharge" p ON p."Id" = x."AppliedProductRatePlanChargeId"
                    JOIN "RatePlanCharge" d ON d."Id" = x."RatePlanChargeId"
                    JOIN "RatePlan" r ON r."Id" = d."RatePlanId"
                    WHERE p."ProductRatePlanId" != x."AppliedProductRatePlanId"
                       OR r."ProductRatePlanId" != x."AppliedProductRatePlanId"
                       OR d."ChargeModel" != 'Discount-Percentage')""",
    )


def test_account_mrr_includes_active_discounts(con: duckdb.DuckDBPyConnection) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "Account" WHERE "Mrr" != 0',
        """SELECT count(*) FROM "Account" a
           WHERE a."Mrr" != (SELECT coalesce(sum(c."MRR"), 0) FROM "RatePlanCharge" c
                             JOIN "RatePlan" r ON r."Id" = c."RatePlanId"
                             JOIN "Subscription" s ON s."Id" = r."SubscriptionId"
                             WHERE s."AccountId" = a."Id" AND s."Status" = 'Active')""",
    )


# -- bookings and processed usage -----------------------------------------------------------------


def test_booking_transactions_match_their_charges(con: duckdb.DuckDBPyConnection) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "BookingTransaction"',
        """SELECT count(*) FROM "BookingTransaction" b
           JOIN "RatePlanCharge" c ON c."Id" = b."RatePlanChargeId"
           JOIN "RatePlan" r ON r."Id" = c."RatePlanId"
           JOIN "RatePlanChargeTier" t ON t."RatePlanChargeId" = c."Id" AND t."Tier" = 1
           JOIN "OrderAction" a ON a."OrderId" = b."OrderId"
           WHERE b."Quantity" IS DISTINCT FROM c."Quantity"
              OR b."UnitPrice" != t."Price"
              OR b."ListPrice" IS DISTINCT FROM b."Quantity" * b."UnitPrice"
              OR b."SellPrice" IS DISTINCT FROM b."ListPrice"
              OR b."ChargeModel" != c."ChargeModel" OR b."ChargeType" != c."ChargeType"
              OR b."SubscriptionId" != r."SubscriptionId"
              OR a."SubscriptionId" != r."SubscriptionId"
              OR b."AmendmentId" IS DISTINCT FROM r."AmendmentId"
              OR b."AmendmentId" IS DISTINCT FROM a."SubscriptionVersionAmendmentId" """,
    )
    assert (
        one(
            con,
            """SELECT count(*) FROM "RatePlanCharge" c
           WHERE c."ChargeModel" != 'Discount-Percentage'
             AND (SELECT count(*) FROM "BookingTransaction" b
                  WHERE b."RatePlanChargeId" = c."Id") != 1""",
        )
        == 0
    )


def test_processed_usage_ties_usage_to_the_item_that_billed_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _none_break(
        con,
        'SELECT count(*) FROM "ProcessedUsage"',
        """SELECT count(*) FROM "ProcessedUsage" p
           JOIN "Usage" u ON u."Id" = p."UsageId"
           JOIN "InvoiceItem" i ON i."Id" = p."InvoiceItemId"
           WHERE i."InvoiceId" != u."InvoiceId" OR i."RatePlanChargeId" != u."RatePlanChargeId"
              OR p."RatePlanChargeId" != u."RatePlanChargeId" OR p."AccountId" != u."AccountId"
              OR p."SubscriptionId" != u."SubscriptionId" OR p."Quantity" != u."Quantity"
              OR p."Amount" != u."Quantity" * i."UnitPrice" OR p."RatingAmount" != p."Amount"
              OR p."BillingPeriodStartDate" != i."ServiceStartDate"
              OR p."BillingPeriodEndDate" != i."ServiceEndDate"
              OR u."RbeStatus" != 'Processed'""",
    )
    assert one(con, 'SELECT count(*) = count(DISTINCT "UsageId") FROM "ProcessedUsage"')


# -- through ZOQL ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILY)
def test_select_star_through_zoql(engine: duckdb_engine.DuckDbEngine, name: str) -> None:
    rows = _zoql(engine, f"select * from {name} limit 5")
    assert len(rows) == 5 or name in {"DiscountClass"}, name
    assert rows


def test_order_is_a_name_in_every_clause(
    engine: duckdb_engine.DuckDbEngine, con: duckdb.DuckDBPyConnection
) -> None:
    rows = _zoql(
        engine,
        "SELECT order.OrderNumber, count(Id) FROM OrderAction "
        "WHERE Order.Status = 'Completed' AND ORDER.OrderDate >= '2021-01-01' "
        "GROUP BY Order.OrderNumber HAVING count(Id) >= 1 "
        "ORDER BY Order.OrderNumber DESC LIMIT 3",
    )
    expected = con.execute(
        """SELECT o."OrderNumber" FROM "Order" o JOIN "OrderAction" a ON a."OrderId" = o."Id"
           WHERE o."Status" = 'Completed' GROUP BY 1 ORDER BY 1 DESC LIMIT 3"""
    ).fetchall()
    assert [row[0] for row in rows] == [row[0] for row in expected]
    assert len(rows) == 3
    assert _zoql(engine, "select count(*) from order where Status = 'Completed'")[0][0] > 0


def test_production_export_joins(engine: duckdb_engine.DuckDbEngine) -> None:
    """The joins a production export job selects: SubscriptionVersionAmendment.Id from
    RatePlanCharge (and RatePlan, Subscription), contact snapshots from Invoice/InvoiceItem."""
    for source in ("RatePlanCharge", "RatePlan", "Subscription", "RatePlanChargeTier"):
        rows = _zoql(
            engine,
            f"select Id, SubscriptionVersionAmendment.Id, Subscription.Id from {source} "
            "where SubscriptionVersionAmendment.Id is not null",
        )
        assert rows, source
    amended = _zoql(
        engine,
        "select SubscriptionVersionAmendment.SubscriptionId, Subscription.Id from RatePlanCharge "
        "where SubscriptionVersionAmendment.Id is not null",
    )
    assert all(row[0] == row[1] for row in amended)
    snapshots = _zoql(
        engine,
        "select BillToContact.FirstName, BillToContactSnapShot.FirstName, "
        "SoldToContactSnapshot.Id from InvoiceItem where Invoice.Status = 'Posted'",
    )
    assert snapshots and all(row[0] == row[1] and row[2] for row in snapshots)
