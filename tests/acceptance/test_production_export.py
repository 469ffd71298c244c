"""A stateful job in the shape of a published production export (issue 12, done-when).

Version 1.2, partner and project, ``incrementalTime`` ``"2019-01-20 00:00:00"``, three queries
each with ``deleted: {column: IsDeleted, format: Boolean}``: Account with custom fields in the
select list and the where clause; RatePlanCharge with custom fields and joins to Product,
RatePlan, Subscription, ProductRatePlanCharge and SubscriptionVersionAmendment;
RatePlanChargeTier with DiscountAmount, DiscountPercentage and Currency. The tenant declares the
custom fields before its data is generated (``aquarium tenant add-field``), so datagen fills them.
Every file must match its ``recordCount``, and the rows must be the tenant's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import tenants_setup
from tests.acceptance import support
from tests.acceptance.conftest import DEMO_PARTNERS

FIELDS = (
    ("Account", "Region__c", "picklist", "--values", "North,South,East,West"),
    ("Account", "Tier__c", "picklist", "--values", "Gold,Silver,Bronze"),
    ("Account", "SalesforceId__c", "text"),
    ("RatePlanCharge", "BillingCode__c", "text"),
    ("RatePlanCharge", "ContractDate__c", "date"),
)
DELETED = {"column": "IsDeleted", "format": "Boolean"}
ACCOUNT = (
    "select Account.Id, Account.AccountNumber, Account.Name, Account.Status, Account.Currency, "
    "Account.Region__c, Account.Tier__c, Account.SalesforceId__c, Account.UpdatedDate "
    "from Account where Account.Tier__c != 'Bronze' or Account.Region__c = 'North'"
)
RATE_PLAN_CHARGE = (
    "select RatePlanCharge.Id, RatePlanCharge.Name, RatePlanCharge.ChargeModel, "
    "RatePlanCharge.ChargeType, RatePlanCharge.BillingCode__c, RatePlanCharge.ContractDate__c, "
    "Product.Id, Product.Name, RatePlan.Id, RatePlan.Name, Subscription.Id, Subscription.Name, "
    "Subscription.Status, ProductRatePlanCharge.Id, SubscriptionVersionAmendment.Id "
    "from RatePlanCharge"
)
RATE_PLAN_CHARGE_TIER = (
    "select RatePlanChargeTier.Id, RatePlanChargeTier.Tier, RatePlanChargeTier.Price, "
    "RatePlanChargeTier.DiscountAmount, RatePlanChargeTier.DiscountPercentage, "
    "RatePlanChargeTier.Currency, RatePlanCharge.Id from RatePlanChargeTier"
)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    """A demo tenant with the custom fields of a production tenant, declared before datagen."""
    data_dir = tmp_path_factory.mktemp("production") / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.set_partners(data_dir, "demo", DEMO_PARTNERS)
    for obj, name, kind, *options in FIELDS:
        support.aquarium_cli(data_dir, "tenant", "add-field", "demo", obj, name, kind, *options)
    yield from support.serving(support.start_server("production", data_dir, demo_scale=0.1))


def body(project: str) -> dict[str, Any]:
    return {
        "format": "csv",
        "version": "1.2",
        "name": "production-export",
        "encrypted": "none",
        "useQueryLabels": "true",
        "dateTimeUtc": "true",
        "partner": DEMO_PARTNERS[1],
        "project": project,
        "incrementalTime": "2019-01-20 00:00:00",
        "queries": [
            {"name": name, "query": query, "type": "zoqlexport", "deleted": DELETED}
            for name, query in (
                ("Account", ACCOUNT),
                ("RatePlanCharge", RATE_PLAN_CHARGE),
                ("RatePlanChargeTier", RATE_PLAN_CHARGE_TIER),
            )
        ],
    }


def test_the_production_shaped_job_completes_with_every_file_matching(
    production: support.RunningServer,
) -> None:
    client = production.client()
    done = support.run_job(client, body(f"production-{uuid.uuid4().hex[:8]}"))
    assert done["incrementalTime"] == "2019-01-20 00:00:00"
    files: dict[str, list[list[str]]] = {}
    for batch in done["batches"]:
        assert batch["status"] == "completed", batch
        rows = support.parse_csv(support.download(client, batch["fileId"]).content)
        assert len(rows) - 1 == batch["recordCount"], batch["name"]
        assert batch["recordCount"] > 0, batch["name"]
        assert rows[0][0] == f"{batch['name']}.IsDeleted"
        assert {row[0] for row in rows[1:]} <= {"true", "false"}
        files[batch["name"]] = rows

    header, *accounts = files["Account"]
    assert header[6:8] == ["Account.Region__c", "Account.Tier__c"]
    assert all(row[7] != "Bronze" or row[6] == "North" for row in accounts)
    assert {row[7] for row in accounts} - {""} <= {"Gold", "Silver"} | (
        {"Bronze"} if any(row[6] == "North" for row in accounts) else set()
    )
    assert any(row[7] for row in accounts), "datagen fills declared custom fields"

    header, *charges = files["RatePlanCharge"]
    assert header[-1] == "SubscriptionVersionAmendment.Id"
    assert all(row[header.index("Product.Id")] for row in charges)
    assert any(row[header.index("RatePlanCharge.BillingCode__c")] for row in charges)

    header, *tiers = files["RatePlanChargeTier"]
    assert header[4:7] == [
        "RatePlanChargeTier.DiscountAmount",
        "RatePlanChargeTier.DiscountPercentage",
        "RatePlanChargeTier.Currency",
    ]
    assert all(row[6] for row in tiers), "every tier has its currency"


def test_the_same_job_against_a_tenant_without_the_fields_names_the_unknown_field(
    demo: httpx.Client,
) -> None:
    answer = support.submit(demo, body(f"production-{uuid.uuid4().hex[:8]}"))
    assert answer["status"] == "error", answer
    assert "Region__c" in answer["message"]
