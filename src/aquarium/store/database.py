"""Engines for the metadata store: an SQLite file (embedded mode) or PostgreSQL (scale-out).

:func:`open_metadata` is the one way in for a data dir (connect, migrate, import a legacy
``tenants.json``). Callers own transactions (``with engine.begin() as conn``) and pass the
connection to the repository functions (``jobs_repo``, ``files_repo``, ``tenants_repo``, ...).

SQLite runs in WAL mode and every transaction starts with ``BEGIN IMMEDIATE``: a transaction
that reads and then writes (claiming a job, for instance) would otherwise fail at once with
"database is locked" when another connection wrote in between, instead of waiting
``busy_timeout``. Metadata transactions are short, so serialising them costs little.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from aquarium.store import tenants_file

METADATA_FILE = "metadata.sqlite3"
SQLITE_BUSY_TIMEOUT_MS = 5000  # milliseconds a connection waits for SQLite's write lock
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: PostgreSQL connections a process keeps open for metadata, and how many more it may open
#: for a burst (closed again when returned): every API node and worker of a scale-out
#: deployment holds a pool, and the database's connections are shared by all of them.
PG_POOL_KEPT, PG_POOL_BURST = 2, 13
# Held (per transaction) while migrating, so that nodes starting together migrate one by one.
PG_MIGRATION_LOCK = 0x41515541  # "AQUA"

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def sqlite_url(data_dir: Path) -> str:
    """The URL of the embedded metadata database, ``DATA_DIR/metadata.sqlite3``."""
    return f"sqlite+pysqlite:///{(data_dir / METADATA_FILE).resolve()}"


def connect(url: str) -> sa.Engine:
    """An engine for ``url``: an SQLite file URL or a PostgreSQL URL (``postgresql://...``).

    PostgreSQL URLs without a driver, or with ``postgres://``, use psycopg 3, and so does a
    libpq keyword DSN (``host=db dbname=aquarium``: what ``--dsn`` may be given as). Raises
    ``ValueError`` for any other database, and for in-memory SQLite (each pooled connection
    would see its own empty database).
    """
    if "://" not in url and "=" in url:
        return _keyword_dsn_engine(url)
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("the metadata store needs an SQLite file, not an in-memory database")
        engine = sa.create_engine(
            parsed.set(drivername="sqlite+pysqlite"),
            connect_args={"check_same_thread": False},
        )
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend in ("postgresql", "postgres"):
        return sa.create_engine(
            parsed.set(drivername="postgresql+psycopg"),
            pool_pre_ping=True,
            pool_size=PG_POOL_KEPT,
            max_overflow=PG_POOL_BURST,
        )
    raise ValueError(f"unsupported metadata database {backend!r}: use sqlite or postgresql")


def _keyword_dsn_engine(dsn: str) -> sa.Engine:
    import psycopg  # SQLAlchemy loads it anyway on connect; not needed for SQLite

    try:
        keywords = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"not a PostgreSQL DSN: {exc}") from None
    return sa.create_engine("postgresql+psycopg://", connect_args=keywords, pool_pre_ping=True)


READ_ONLY_OPTION = "aquarium_read_only"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module (it would defer it to the first write); see
    # _sqlite_on_begin. COMMIT and ROLLBACK are still emitted by the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    # Reads (see read_only()) must not take the write lock: WAL lets them run beside writers.
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def read_only(engine: sa.Engine) -> sa.Connection:
    """A connection for reads only: on SQLite its transactions never block writers."""
    return engine.connect().execution_options(**{READ_ONLY_OPTION: True})


def alembic_config(conn: sa.Connection | None = None) -> Config:
    """An Alembic configuration built in code (no ``alembic.ini``) that migrates over ``conn``.

    Without ``conn`` it can only inspect the scripts (``ScriptDirectory.from_config``).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def migrate(engine: sa.Engine) -> None:
    """Bring the metadata schema to the newest revision; does nothing when it is current.

    Runs in one transaction (DDL is transactional on both databases), so a failed migration
    leaves the schema as it was. Safe to call from several processes at once. On SQLite,
    foreign keys are off while migrating (a table rebuilt under a new name and swapped in
    must not cascade into its children) and checked before the commit, as SQLite documents
    for schema changes.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(conn, enabled=False)
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_MIGRATION_LOCK)))
                command.upgrade(alembic_config(conn), "head")
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migrating broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(conn, enabled=True)


def _sqlite_foreign_keys(conn: sa.Connection, *, enabled: bool) -> None:
    # Outside any transaction (the pragma is a no-op inside one): on the driver's connection,
    # which runs statements as they come (see _sqlite_on_connect).
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")


def open_metadata(url: str | None, data_dir: Path) -> sa.Engine:
    """The metadata store of ``data_dir``, ready to use: connected, migrated, and holding the
    tenants of a legacy ``tenants.json`` if the data dir still has one (imported once, then kept
    as ``tenants.json.imported``; see :mod:`aquarium.store.tenants_file`).

    ``url`` is a PostgreSQL (or SQLite) URL; ``None`` or empty means the SQLite file in
    ``data_dir``, which is created when missing. The caller disposes of the engine. Raises
    ``TenantsFileError`` for a legacy file that cannot be imported (the engine is disposed).
    """
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
    engine = connect(url or sqlite_url(data_dir))
    try:
        migrate(engine)
        tenants_file.import_once(engine, data_dir)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextlib.contextmanager
def opened(url: str | None, data_dir: Path) -> Iterator[sa.Engine]:
    """:func:`open_metadata` for one ``with`` block (commands that read or change a little)."""
    engine = open_metadata(url, data_dir)
    try:
        yield engine
    finally:
        engine.dispose()


def current_revision(engine: sa.Engine) -> str | None:
    """The schema's Alembic revision, or ``None`` for a database never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
