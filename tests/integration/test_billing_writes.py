"""The billing write path on a real DuckDB file and a real PostgreSQL schema (each test runs on
both): stamps, soft deletion, snapshots, purge, checks."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from aquarium import datagen
from aquarium.catalog import model
from aquarium.domain import crud_errors, errors, ids, tenancy
from aquarium.engines import (
    billing_writes,
    duckdb_engine,
    naming,
    postgres_dataquery,
    postgres_engine,
    writes_port,
)
from aquarium.services import objects
from aquarium.testing import FakeClock
from aquarium.zoql import check, lower, translate, visibility

TIME_ZONE = "America/Los_Angeles"


@dataclass(frozen=True)
class Billing:
    """One engine with a generated tenant."""

    engine: writes_port.BillingEngine
    tenant: str


def _postgres(directory: Path, dsn: str) -> Iterator[Billing]:
    tenant = f"writes_{uuid.uuid4().hex[:8]}"
    datagen.generate_into(
        directory, tenant, scale=0.02, seed=5, time_zone=TIME_ZONE, engine="postgres", dsn=dsn
    )
    engine = postgres_engine.PostgresEngine(dsn)
    try:
        yield Billing(engine, tenant)
    finally:
        engine.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            schema = sql.Identifier(naming.schema_name(tenant))
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            postgres_dataquery.drop_role(conn, tenant)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def billing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Billing]:
    directory = tmp_path_factory.mktemp("writes")
    if request.param == "postgres":
        yield from _postgres(directory, request.getfixturevalue("pg_dsn"))
        return
    datagen.generate_into(directory, "writes", scale=0.02, seed=5, time_zone=TIME_ZONE)
    opened = duckdb_engine.DuckDbEngine(directory / naming.DUCKDB_FILE)
    yield Billing(opened, "writes")
    opened.close()


@pytest.fixture
def engine(billing: Billing) -> writes_port.BillingEngine:
    return billing.engine


@pytest.fixture
def tenant(billing: Billing) -> str:
    return billing.tenant


_TEST_NUMBER = itertools.count()


@pytest.fixture
def clock() -> FakeClock:
    # Each test starts 60 days after the previous one, so windows on UpdatedDate stay apart.
    start = dt.datetime(2027, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=60 * next(_TEST_NUMBER))
    return FakeClock(start)


@pytest.fixture
def writes(engine: writes_port.BillingEngine, clock: FakeClock) -> billing_writes.BillingWrites:
    return billing_writes.BillingWrites(engine, model.default(), clock)


def _alice(tenant: str) -> tenancy.Principal:
    return tenancy.Principal(tenant, "alice", admin=False, how=tenancy.AuthMethod.BASIC)


@pytest.fixture
def service(writes: billing_writes.BillingWrites, tenant: str) -> objects.ObjectService:
    known = tenancy.Tenant(tenant, TIME_ZONE)
    return objects.ObjectService(writes, lambda name: known if name == tenant else None)


def _account(writes: billing_writes.BillingWrites, tenant: str, name: str = "Acme Corp") -> str:
    values = {"Name": name, "Currency": "USD", "BillCycleDay": 1, "Status": "Draft"}
    return writes.create(tenant, "Account", values, actor="alice")


def _export_ids(
    engine: writes_port.BillingEngine,
    tenant: str,
    text: str,
    *,
    window: visibility.Window | None = None,
    deleted: visibility.DeletedFlag | None = None,
) -> list[tuple[object, ...]]:
    catalog = model.default()
    context = check.Context(catalog=catalog, time_zone=TIME_ZONE)
    options = lower.Options(
        dialect=engine.dialect,
        schema=naming.schema_name(tenant),
        use_labels=True,
        window=window,
        deleted=deleted,
    )
    query = translate.translate(text, context=context, options=options)
    with engine.snapshot(tenant) as snapshot:
        return snapshot.fetch(query)


def _stored(
    engine: writes_port.BillingEngine, tenant: str, row_id: str, deleted_at: dt.datetime
) -> tuple[object, ...] | None:
    """(name, deleted at the instant?, updated at the instant?) of any Account row, live or not."""
    mark = "?" if engine.dialect == "duckdb" else "%s"
    with engine.read_transaction(tenant) as statements:
        found = statements.rows(
            f'SELECT "Name", "{naming.DELETED_COLUMN}" = {mark}, "UpdatedDate" = {mark} '
            f'FROM "{naming.schema_name(tenant)}"."Account" WHERE "Id" = {mark}',
            [deleted_at, deleted_at, row_id],
        )
        return tuple(found[0]) if found else None


# -- stamps ------------------------------------------------------------------------------------


def test_create_stamps_both_dates_and_the_actor(
    writes: billing_writes.BillingWrites, tenant: str, clock: FakeClock
) -> None:
    row_id = _account(writes, tenant)
    assert ids.is_id(row_id)
    row = writes.get(tenant, "account", row_id)
    assert row is not None
    assert row["Name"] == "Acme Corp"
    assert row["CreatedDate"] == row["UpdatedDate"] == clock.now()
    alice = billing_writes.actor_id("alice")
    assert ids.is_id(alice)
    assert row["CreatedById"] == row["UpdatedById"] == alice


def test_update_stamps_updated_date_only(
    writes: billing_writes.BillingWrites, tenant: str, clock: FakeClock
) -> None:
    row_id = _account(writes, tenant)
    created = clock.now()
    later = clock.advance(minutes=5)
    writes.update(tenant, "Account", row_id, {"status": "Active"}, actor="bob")
    row = writes.get(tenant, "Account", row_id)
    assert row is not None
    assert row["Status"] == "Active"
    assert row["CreatedDate"] == created
    assert row["UpdatedDate"] == later
    assert row["CreatedById"] == billing_writes.actor_id("alice")
    assert row["UpdatedById"] == billing_writes.actor_id("bob")


def test_delete_keeps_the_values_and_stamps_deleted_and_updated_dates(
    writes: billing_writes.BillingWrites,
    engine: writes_port.BillingEngine,
    tenant: str,
    clock: FakeClock,
) -> None:
    row_id = _account(writes, tenant, "Soon Gone Ltd")
    deleted_at = clock.advance(minutes=1)
    writes.delete(tenant, "Account", row_id, actor="bob")
    assert writes.get(tenant, "Account", row_id) is None
    assert _stored(engine, tenant, row_id, deleted_at) == ("Soon Gone Ltd", True, True)


def test_deleted_or_unknown_rows_cannot_be_changed(
    writes: billing_writes.BillingWrites, tenant: str
) -> None:
    row_id = _account(writes, tenant)
    writes.delete(tenant, "Account", row_id, actor="bob")
    for target in (row_id, ids.new_id(), "not-an-id"):
        with pytest.raises(crud_errors.RowNotFound):
            writes.update(tenant, "Account", target, {"Name": "x"}, actor="bob")
        with pytest.raises(crud_errors.RowNotFound):
            writes.delete(tenant, "Account", target, actor="bob")
        assert writes.get(tenant, "Account", target) is None


def test_another_tenants_rows_are_unknown(
    writes: billing_writes.BillingWrites, tenant: str
) -> None:
    row_id = _account(writes, tenant)
    assert writes.get("nobody", "Account", row_id) is None
    with pytest.raises(crud_errors.RowNotFound):
        writes.update("nobody", "Account", row_id, {"Name": "x"}, actor="bob")


# -- what exports see --------------------------------------------------------------------------


def test_exports_see_live_rows_only_and_incremental_loads_see_deletions(
    writes: billing_writes.BillingWrites,
    engine: writes_port.BillingEngine,
    tenant: str,
    clock: FakeClock,
) -> None:
    start = clock.now()
    kept, gone = _account(writes, tenant, "Kept"), _account(writes, tenant, "Gone")
    clock.advance(seconds=1)
    writes.delete(tenant, "Account", gone, actor="alice")
    everything = {row[0] for row in _export_ids(engine, tenant, "select Id from Account")}
    assert kept in everything
    assert gone not in everything
    flag = visibility.DeletedFlag(column="IsDeleted", numeric=False, include_deleted=True)
    window = visibility.Window(start=start, end=clock.advance(seconds=1))
    rows = _export_ids(engine, tenant, "select Id from Account", window=window, deleted=flag)
    assert sorted(rows) == sorted([("false", kept), ("true", gone)])


def test_a_snapshot_sees_the_writes_committed_before_it_and_none_after(
    writes: billing_writes.BillingWrites, engine: writes_port.BillingEngine, tenant: str
) -> None:
    context = check.Context(catalog=model.default(), time_zone=TIME_ZONE)
    options = lower.Options(dialect=engine.dialect, schema=naming.schema_name(tenant))
    query = translate.translate("select Id, Name from Account", context=context, options=options)
    before = _account(writes, tenant, "Before")
    with engine.snapshot(tenant) as snapshot:
        during = _account(writes, tenant, "During")
        writes.update(tenant, "Account", before, {"Name": "Renamed"}, actor="bob")
        seen = dict(snapshot.fetch(query))
    assert seen[before] == "Before"
    assert during not in seen
    with engine.snapshot(tenant) as snapshot:
        seen = dict(snapshot.fetch(query))
    assert seen[before] == "Renamed"
    assert seen[during] == "During"


# -- purge -------------------------------------------------------------------------------------


def test_purge_removes_rows_deleted_more_than_30_days_ago(
    writes: billing_writes.BillingWrites,
    engine: writes_port.BillingEngine,
    tenant: str,
    clock: FakeClock,
) -> None:
    catalog = model.default()
    row_id = _account(writes, tenant)
    deleted_at = clock.now()
    writes.delete(tenant, "Account", row_id, actor="bob")
    clock.advance(days=29, hours=23)
    billing_writes.purge_deleted(engine, catalog, [tenant, "nobody"], clock.now)
    assert _stored(engine, tenant, row_id, deleted_at) is not None  # (earlier tests' rows may go)
    clock.advance(hours=2)
    assert billing_writes.purge_deleted(engine, catalog, [tenant], clock.now) >= 1
    assert _stored(engine, tenant, row_id, deleted_at) is None


# -- refusals ----------------------------------------------------------------------------------


def test_the_write_path_refuses_unknown_objects_fields_system_fields_and_bad_references(
    writes: billing_writes.BillingWrites, tenant: str
) -> None:
    with pytest.raises(crud_errors.UnknownObject):
        writes.create(tenant, "Opportunity", {}, actor="a")
    with pytest.raises(crud_errors.InvalidField):
        writes.create(tenant, "Account", {"Nmae": "x"}, actor="a")
    with pytest.raises(crud_errors.InvalidField):
        writes.create(tenant, "Account", {"UpdatedDate": dt.datetime.now(dt.UTC)}, actor="a")
    with pytest.raises(crud_errors.InvalidValue, match="names no Account"):
        writes.create(tenant, "Contact", {"AccountId": ids.new_id()}, actor="a")
    with pytest.raises(crud_errors.InvalidValue, match="not a valid id"):
        writes.create(tenant, "Contact", {"AccountId": "nope"}, actor="a")
    with pytest.raises(crud_errors.InvalidValue):
        writes.create(tenant, "Account", {"Balance": Decimal("1e20")}, actor="a")


def test_references_must_be_live(writes: billing_writes.BillingWrites, tenant: str) -> None:
    account = _account(writes, tenant)
    contact = writes.create(tenant, "Contact", {"AccountId": account}, actor="a")
    writes.update(tenant, "Account", account, {"BillToId": contact}, actor="a")
    writes.delete(tenant, "Contact", contact, actor="a")
    with pytest.raises(crud_errors.InvalidValue):
        writes.update(tenant, "Account", account, {"SoldToId": contact}, actor="a")


def _problems(error: crud_errors.WriteError) -> set[tuple[str, str]]:
    return {(p.code, p.message.split(":")[0]) for p in error.problems}


def test_the_service_checks_types_picklists_and_required_fields(
    service: objects.ObjectService, tenant: str
) -> None:
    alice = _alice(tenant)
    body = {
        "Name": 7,
        "Currency": "XYZ",
        "BillCycleDay": "first",
        "AutoPay": "maybe",
        "Balance": "12.34567",
        "LastInvoiceDate": "2026-13-01",
        "CreatedDate": "2026-01-01T00:00:00Z",
        "Colour": "red",
    }
    with pytest.raises(crud_errors.WriteError) as refused:
        service.create(alice, "account", body)
    codes = [p.code for p in refused.value.problems]
    assert codes.count("INVALID_VALUE") == 6
    assert codes.count("INVALID_FIELD") == 2
    with pytest.raises(crud_errors.MissingRequiredValue) as missing:
        service.create(alice, "Account", {"Name": "x", "Currency": None})
    assert {p.message for p in missing.value.problems} == {
        "Missing required value: Currency",
        "Missing required value: BillCycleDay",
    }
    with pytest.raises(crud_errors.InvalidValue):
        service.create(alice, "Account", ["not", "an", "object"])
    with pytest.raises(crud_errors.UnknownObject):
        service.get(alice, "Opportunity", ids.new_id())


def test_the_service_accepts_strings_for_numbers_and_reads_in_the_tenant_zone(
    service: objects.ObjectService, writes: billing_writes.BillingWrites, tenant: str
) -> None:
    alice = _alice(tenant)
    body = {
        "name": "Typed",
        "currency": "usd",
        "billcycleday": "15",
        "autopay": "true",
        "balance": "12.5",
        "TaxExemptEffectiveDate": "2026-02-03",
    }
    created = service.create(alice, "ACCOUNT", body)
    assert created["Success"] is True
    method = {
        "AccountId": created["Id"],
        "Type": "CreditCard",
        "LastTransactionDateTime": "2026-07-01T09:30:00",
    }
    made = service.create(alice, "PaymentMethod", method)
    row = writes.get(tenant, "PaymentMethod", made["Id"])
    assert row is not None
    zone = zoneinfo.ZoneInfo(TIME_ZONE)
    assert row["LastTransactionDateTime"] == dt.datetime(2026, 7, 1, 9, 30, tzinfo=zone)
    shown = service.get(alice, "account", created["Id"])
    assert shown["Currency"] == "USD"
    assert shown["BillCycleDay"] == 15
    assert shown["AutoPay"] is True
    assert shown["Balance"] == 12.5
    assert shown["TaxExemptEffectiveDate"] == "2026-02-03"
    assert shown["CreatedDate"][-6:] in {"-08:00", "-07:00"}  # Los Angeles
    assert "Notes" not in shown  # nulls are left out
    updated = service.update(alice, "account", created["Id"], {"Id": created["Id"], "Notes": "n"})
    assert updated == {"Success": True, "Id": created["Id"]}
    assert service.delete(alice, "account", created["Id"]) == {"success": True, "id": created["Id"]}
    with pytest.raises(crud_errors.RowNotFound):
        service.get(alice, "account", created["Id"])


def test_an_unknown_tenant_is_not_authenticated(service: objects.ObjectService) -> None:
    stranger = tenancy.Principal("gone", "x", admin=False, how=tenancy.AuthMethod.BASIC)
    with pytest.raises(errors.NotAuthenticated):
        service.create(stranger, "Account", {})


# -- the engine's tenants ----------------------------------------------------------------------


def test_the_engine_lists_its_tenants_and_upgrades_older_tables(
    engine: writes_port.BillingEngine, tenant: str
) -> None:
    assert engine.has_tenant(tenant)
    assert not engine.has_tenant("nobody")
    assert tenant in engine.tenants()
    schema = naming.schema_name(tenant)

    def upgraded() -> list[str]:  # PostgreSQL's test database may hold others' tenants
        return [table for table in engine.upgrade() if table.startswith(f"{schema}.")]

    assert upgraded() == []
    engine.drop_column(tenant, "Entity", naming.DELETED_COLUMN)  # as an older release made it
    assert upgraded() == [f"{schema}.Entity"]
    assert upgraded() == []
