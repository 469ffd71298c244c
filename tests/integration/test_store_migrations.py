"""The metadata migrations run on SQLite and PostgreSQL and build exactly ``store/tables.py``.

Also home of the helpers the other ``test_store_*`` modules use to get a database: an SQLite file
under a temporary directory, or a fresh PostgreSQL database (unique name, so pytest-xdist workers
never share one) created next to ``pg_dsn``'s and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql

from aquarium.domain import tenancy
from aquarium.store import custom_fields_repo, database, jobs_repo, tables, tenants_repo

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def pg_database(pg_dsn: str) -> Iterator[str]:
    """A new empty database on ``pg_dsn``'s server; yields its URL, drops it afterwards."""
    name = f"aq_store_{uuid.uuid4().hex[:16]}"
    server = sa.make_url(pg_dsn)
    admin = server.set(drivername="postgresql", database="postgres")
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def empty_engine(backend: str, request: pytest.FixtureRequest, tmp: Path) -> Iterator[sa.Engine]:
    """An engine on a new, empty (not migrated) metadata database of ``backend``."""
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = database.sqlite_url(tmp)
        else:
            url = stack.enter_context(pg_database(request.getfixturevalue("pg_dsn")))
        engine = database.connect(url)
        stack.callback(engine.dispose)
        yield engine


def empty_tables(engine: sa.Engine) -> None:
    """Delete every row, children first."""
    with engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    """A migrated metadata database per test module and backend (SQLite, PostgreSQL)."""
    with empty_engine(request.param, request, tmp_path_factory.mktemp("store")) as engine:
        database.migrate(engine)
        yield engine


@pytest.fixture
def engine(store: sa.Engine) -> sa.Engine:
    """The module's store, emptied for this test."""
    empty_tables(store)
    return store


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    with empty_engine(request.param, request, tmp_path) as engine:
        yield engine


def _head() -> str:
    head = ScriptDirectory.from_config(database.alembic_config()).get_current_head()
    assert head is not None
    return head


def test_migrations_apply_twice_and_keep_data(fresh: sa.Engine) -> None:
    assert database.current_revision(fresh) is None
    database.migrate(fresh)
    with fresh.begin() as conn:
        conn.execute(tables.tenants.insert().values(name="acme"))
        conn.execute(
            tables.runs.insert().values(
                id="1" * 32, tenant="acme", kind="aqua", status="submitted",
                created_at=sa.func.current_timestamp(), updated_at=sa.func.current_timestamp(),
            )
        )  # fmt: skip
        conn.execute(
            tables.idempotency_keys.insert().values(
                tenant="acme", key="k", request_sha256="0" * 64, job_id="1" * 32,
                created_at=sa.func.current_timestamp(),
            )
        )  # fmt: skip
    database.migrate(fresh)
    assert database.current_revision(fresh) == _head()
    with fresh.connect() as conn:
        assert conn.execute(
            sa.select(sa.func.count()).select_from(tables.idempotency_keys)
        ).scalar()


def test_tables_py_and_migrated_schema_agree(fresh: sa.Engine) -> None:
    database.migrate(fresh)
    inspector = sa.inspect(fresh)
    migrated = set(inspector.get_table_names()) - {"alembic_version"}
    assert migrated == set(tables.metadata.tables)
    for name, table in tables.metadata.tables.items():
        columns = [column["name"] for column in inspector.get_columns(name)]
        assert columns == [column.name for column in table.columns], name
        indexes = {index["name"] for index in inspector.get_indexes(name)}
        assert indexes == {index.name for index in table.indexes}, name
        primary_key = inspector.get_pk_constraint(name)["constrained_columns"]
        assert primary_key == [column.name for column in table.primary_key], name
    # Alembic's own comparison: types, nullability, foreign keys.
    with fresh.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), tables.metadata) == []


def test_a_placeholder_tenant_needs_only_its_name(fresh: sa.Engine) -> None:
    # Rows made for tenant names that jobs mention (a later migration) give the name alone.
    database.migrate(fresh)
    with fresh.begin() as conn:
        conn.execute(tables.tenants.insert().values(name="ghost"))
    with fresh.connect() as conn:
        row = conn.execute(sa.select(tables.tenants)).mappings().one()
    assert row["time_zone"] == tenancy.DEFAULT_TIME_ZONE
    assert (row["limits"], row["file_segmentation"], row["pgp_public_key"]) == ("{}", False, None)
    assert row["created_at"].tzinfo is dt.UTC and row["updated_at"] == row["created_at"]


def test_logins_belong_to_an_existing_tenant(fresh: sa.Engine) -> None:
    database.migrate(fresh)
    user = {"name": "alice", "tenant": "ghost", "password_hash": "x", "admin": False,
            "position": 0, "created_at": dt.datetime.now(dt.UTC)}  # fmt: skip
    with pytest.raises(sa.exc.IntegrityError), fresh.begin() as conn:
        conn.execute(tables.tenant_users.insert().values(user))
    with fresh.begin() as conn:
        conn.execute(tables.tenants.insert().values(name="ghost"))
        conn.execute(tables.tenant_users.insert().values(user))
    with pytest.raises(sa.exc.IntegrityError), fresh.begin() as conn:  # unique in every tenant
        conn.execute(tables.tenants.insert().values(name="other"))
        conn.execute(tables.tenant_users.insert().values({**user, "tenant": "other"}))


def test_downgrade_to_base_and_up_again(fresh: sa.Engine) -> None:
    database.migrate(fresh)
    with fresh.begin() as conn:
        command.downgrade(database.alembic_config(conn), "base")
    assert set(sa.inspect(fresh).get_table_names()) <= {"alembic_version"}
    database.migrate(fresh)
    assert set(tables.metadata.tables) <= set(sa.inspect(fresh).get_table_names())


def test_concurrent_migrations_do_not_collide(fresh: sa.Engine) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4, timeout=30)

    def run() -> None:
        try:
            barrier.wait()
            database.migrate(fresh)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert database.current_revision(fresh) == _head()


def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    engine = database.connect(database.sqlite_url(tmp_path))
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
    finally:
        engine.dispose()
    # synchronous: 1 is NORMAL
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "foreign_keys": 1,
        "synchronous": 1,
    }
    assert database.sqlite_url(tmp_path).endswith("/metadata.sqlite3")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://u@h/db"])
def test_connect_refuses_unsupported_urls(url: str) -> None:
    with pytest.raises(ValueError):
        database.connect(url)


def test_postgres_urls_use_psycopg() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        engine = database.connect(url)
        assert engine.dialect.driver == "psycopg"
        engine.dispose()


@pytest.mark.parametrize(
    ("partner", "project"), [("salesforce", "nightly"), ("p/1:x", "é, ünïcode"), ("ab", "c/d")]
)
def test_migrated_sessions_are_the_sessions_new_jobs_get(
    fresh: sa.Engine, partner: str, project: str
) -> None:
    """A stateful job stored before the runs core and one submitted after it wait for each
    other: migration 0008 writes the session exactly as ``jobs_repo.session_of`` does."""
    with fresh.begin() as conn:
        command.upgrade(database.alembic_config(conn), "0007")
        conn.execute(
            sa.text(
                "INSERT INTO jobs (id, tenant, status, version, format, partner, project, "
                "use_query_labels, date_time_utc, use_last_completed_job_queries, stateful, "
                "created_at, attempt) VALUES ('1', 'acme', 'submitted', '1.1', 'CSV', :p, :q, "
                "false, false, false, true, CURRENT_TIMESTAMP, 0)"
            ),
            {"p": partner, "q": project},
        )
    database.migrate(fresh)
    with fresh.connect() as conn:
        stored = conn.execute(sa.select(tables.runs.c.session)).scalar_one()
    new = jobs_repo.NewJob(
        id="2", tenant="acme", name=None, version="1.1", format="CSV", stateful=True,
        partner=partner, project=project, created_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    assert stored == jobs_repo.session_of(new)


def test_clients_made_before_owners_act_as_their_tenants_first_admin(fresh: sa.Engine) -> None:
    """Migration 0009: a client gets its tenant's first admin, else its first user, else none
    (its tokens are then refused until it is given one)."""
    now = dt.datetime.now(dt.UTC)
    users = [  # (name, tenant, admin, position)
        ("bob", "acme", False, 0), ("alice", "acme", True, 1), ("ann", "acme", True, 2),
        ("carl", "globex", False, 1), ("cora", "globex", False, 0),
    ]  # fmt: skip
    clients = [("c-acme", "acme"), ("c-globex", "globex"), ("c-initech", "initech")]
    with fresh.begin() as conn:
        command.upgrade(database.alembic_config(conn), "0008")
        for tenant in ("acme", "globex", "initech"):
            conn.execute(sa.text("INSERT INTO tenants (name) VALUES (:t)"), {"t": tenant})
        for name, tenant, admin, position in users:
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_users (name, tenant, password_hash, admin, position, "
                    "created_at) VALUES (:n, :t, 'x', :a, :p, :at)"
                ),
                {"n": name, "t": tenant, "a": admin, "p": position, "at": now},
            )
        for position, (client_id, tenant) in enumerate(clients):
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_clients (client_id, tenant, secret_hash, position, "
                    "created_at) VALUES (:c, :t, 'x', :p, :at)"
                ),
                {"c": client_id, "t": tenant, "p": position, "at": now},
            )
    database.migrate(fresh)
    clients_table = tables.tenant_clients
    with fresh.connect() as conn:
        rows = conn.execute(sa.select(clients_table.c.client_id, clients_table.c.owner)).all()
    owners = {row.client_id: row.owner for row in rows}
    assert owners == {"c-acme": "alice", "c-globex": "cora", "c-initech": None}
    # Removing the owner leaves the client, acting as nobody.
    with fresh.begin() as conn:
        conn.execute(tables.tenant_users.delete().where(tables.tenant_users.c.name == "alice"))
    with fresh.connect() as conn:
        owner = conn.execute(
            sa.select(clients_table.c.owner).where(clients_table.c.client_id == "c-acme")
        ).scalar_one()
    assert owner is None


def test_tenants_made_before_0011_have_invoice_settlement_and_no_custom_fields(
    fresh: sa.Engine,
) -> None:
    """Migration 0011: existing tenants get Invoice Settlement on (as new ones do) and no
    custom fields; a field is then stored, read back and removed with its tenant."""
    with fresh.begin() as conn:
        command.upgrade(database.alembic_config(conn), "0010")
        conn.execute(sa.text("INSERT INTO tenants (name) VALUES ('acme')"))
    database.migrate(fresh)
    with fresh.begin() as conn:
        acme = tenants_repo.required_tenant(conn, "acme")
        assert acme.invoice_settlement is True and acme.custom_fields == ()
        at = custom_fields_repo.lock(conn, "acme")
        field = tenancy.CustomField(
            "Account", "Region__c", tenancy.CustomFieldType.PICKLIST, "Region", ("EU", "US")
        )
        custom_fields_repo.insert(conn, "acme", field, at)
        custom_fields_repo.set_invoice_settlement(conn, "acme", False)
    with fresh.connect() as conn:
        acme = tenants_repo.required_tenant(conn, "acme")
    assert acme.custom_fields == (field,) and acme.invoice_settlement is False
    with fresh.begin() as conn:
        conn.execute(tables.tenants.delete().where(tables.tenants.c.name == "acme"))
    with fresh.connect() as conn:
        assert custom_fields_repo.fields(conn) == {}
