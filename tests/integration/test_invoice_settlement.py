"""Zuora's Invoice Settlement switch through the use cases, over a stand-in catalogue (an object
of the family, a legacy object it replaces) and a real metadata store: with it off, the
family's objects do not exist for the tenant (describe, ZOQL, report data sources); with it on,
they do. The legacy objects' CRUD refusal is in test_custom_fields.py, over the real catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from aquarium.catalog import model
from aquarium.domain import errors, reporting_errors, tenancy
from aquarium.services import describe, reports, tenant_catalogs
from aquarium.store import custom_fields_repo, database, tenants_repo
from aquarium.testing import FakeClock
from aquarium.zoql import ast, check, translate

IS = tenancy.INVOICE_SETTLEMENT
SHIPPED = model.parse(
    {
        "objects": {
            "Account": {"fields": {"Name": {"type": "text", "label": "Name"}}},
            "CreditMemo": {
                "label": "Credit Memo",
                "feature": IS,
                "fields": {"AccountId": {"type": "text"}, "Amount": {"type": "decimal"}},
                "related": {"Account": {"key": "AccountId"}},
            },
            "InvoicePayment": {"deprecated_by": IS, "fields": {"Amount": {"type": "decimal"}}},
        }
    }
)
ADMIN = tenancy.Principal("acme", "alice", True, tenancy.AuthMethod.BASIC)


@pytest.fixture
def metadata(tmp_path: Path) -> Iterator[sa.Engine]:
    with database.opened(None, tmp_path) as engine:
        with engine.begin() as conn:
            tenants_repo.add_tenant(conn, "acme", time_zone="UTC")
        yield engine


def _tenant(metadata: sa.Engine) -> tenancy.Tenant:
    with metadata.connect() as conn:
        return tenants_repo.required_tenant(conn, "acme")


def _switch(metadata: sa.Engine, enabled: bool) -> tenancy.Tenant:
    with metadata.begin() as conn:
        custom_fields_repo.set_invoice_settlement(conn, "acme", enabled)
    return _tenant(metadata)


def _zoql_error(catalog: model.Catalog, text: str) -> str:
    context = check.Context(catalog=catalog, time_zone="UTC")
    with pytest.raises(errors.ZoqlError) as caught:
        translate.plan_query(text, ast.Dialect.EXPORT, context)
    return caught.value.describe()


def test_new_tenants_have_it_on_and_see_both_families(metadata: sa.Engine) -> None:
    tenant = _tenant(metadata)
    assert tenant.invoice_settlement and tenant.features == frozenset({IS})
    catalog = tenant_catalogs.TenantCatalogs(SHIPPED).of(tenant)
    listed = describe.objects_xml(catalog, "http://x").decode()
    assert "<name>CreditMemo</name>" in listed and "<name>InvoicePayment</name>" in listed
    context = check.Context(catalog=catalog, time_zone="UTC")
    planned = translate.plan_query(
        "select Amount, Account.Name from CreditMemo", ast.Dialect.EXPORT, context
    )
    assert planned.source.name == "CreditMemo"
    assert catalog.read_only(catalog.require("InvoicePayment"))


def test_off_the_family_does_not_exist_for_the_tenant(metadata: sa.Engine) -> None:
    catalogs = tenant_catalogs.TenantCatalogs(SHIPPED)
    catalog = catalogs.of(_switch(metadata, False))
    listed = describe.objects_xml(catalog, "http://x").decode()
    assert "CreditMemo" not in listed and "<name>InvoicePayment</name>" in listed
    with pytest.raises(errors.NotFound):
        describe.object_xml(catalog, "CreditMemo", "http://x")
    hidden = _zoql_error(catalog, "select Id from CreditMemo")
    assert hidden == _zoql_error(catalog, "select Id from Nothing").replace("Nothing", "CreditMemo")
    assert not catalog.read_only(catalog.require("InvoicePayment"))
    # Switched on again, the same cache gives the tenant its objects back.
    assert catalogs.of(_switch(metadata, True)).object("CreditMemo") is not None


def test_report_data_sources_follow_the_switch(metadata: sa.Engine) -> None:
    def tenant_of(name: str) -> tenancy.Tenant | None:
        return _tenant(metadata) if name == "acme" else None

    service = reports.ReportService(
        metadata=metadata,
        catalogs=tenant_catalogs.TenantCatalogs(SHIPPED, tenant_of),
        clock=FakeClock(),
    )
    definition = json.dumps({"selectedFields": [{"id": "CreditMemo.Amount"}]})
    body = {"name": "memos", "dsName": "CreditMemo", "definition": definition}
    assert service.create(ADMIN, body)["dsName"] == "CreditMemo"
    _switch(metadata, False)
    with pytest.raises(reporting_errors.InvalidReportingRequest):
        service.create(ADMIN, body)
