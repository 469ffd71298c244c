"""Data Query statements on PostgreSQL run as a role that can read only its tenant's tables.

Each tenant has a ``NOLOGIN`` role, ``aq_dq_<tenant>`` (:func:`role_name`), with ``USAGE`` on the
tenant's schema and ``SELECT`` on its tables, nothing else: another tenant's schema, the
metadata tables and the server-file functions (``pg_read_file`` & co. need superuser or
``pg_read_server_files``) are out of its reach. :func:`ensure_role` creates and grants it,
idempotently, on a connection of its own (a snapshot's transaction is read-only). A role made
after a transaction began stays invisible to that transaction (PostgreSQL's catalogue snapshot),
so ``PostgresEngine.snapshot`` makes a missing role before it begins (:func:`ensure_role_quietly`:
a database user without ``CREATEROLE`` only loses Data Query); grants are checked again when a
snapshot first guards a statement (:func:`prepare`), since a reloaded schema loses them.

:func:`guard` then makes the rest of the snapshot's transaction run ``SET LOCAL ROLE`` that role,
with ``search_path`` the tenant's schema and a statement timeout, and checks the translated
statement twice: sqlglot's reading (one ``SELECT``, tables of the schema or CTEs, the functions of
``dataquery/portable.py`` only, so ``set_config('role', ...)`` cannot undo the ``SET ROLE``) and
PostgreSQL's own plan (``EXPLAIN``: every relation scanned in the schema, no function scan, no
recursion, no write, no row lock). The plan is made as the role, so its privileges are checked
too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import sqlglot
from psycopg import errors as pg_errors
from psycopg import sql as pg_sql
from sqlglot import errors as sqlglot_errors
from sqlglot import exp

from aquarium import observability
from aquarium.dataquery import errors, portable
from aquarium.dataquery import sql as dq_sql
from aquarium.engines import dataquery_guard, naming

log = observability.logger(__name__)

ROLE_PREFIX = "aq_dq_"
#: A statement of a Data Query stops after this long (dataquery.md 9: one hour per attempt).
STATEMENT_TIMEOUT_S = 3600
#: Serialises role creation and grants across API nodes and workers (an advisory lock key).
ROLE_LOCK_KEY = 0x41515F4451  # "AQ_DQ"
#: Plan nodes a Data Query statement may not have: writes, row locks, recursion, table
#: functions, foreign or custom scans.
REFUSED_PLAN_NODES = frozenset(
    (
        *("ModifyTable", "LockRows", "Recursive Union", "WorkTable Scan", "Function Scan"),
        *("Table Function Scan", "Foreign Scan", "Custom Scan", "Named Tuplestore Scan"),
    )
)
Connection = psycopg.Connection[tuple[object, ...]]


def role_name(tenant: str) -> str:
    """The tenant's Data Query role: ``aq_dq_<tenant>``."""
    return ROLE_PREFIX + naming.check_tenant_name(tenant)


def is_ready(conn: Connection, tenant: str) -> bool:
    """Whether the tenant's role exists and may read every table of its schema (read-only)."""
    found = conn.execute(
        # CASE, not AND: the privilege functions raise for a role that does not exist.
        "SELECT CASE WHEN to_regrole(%(role)s) IS NULL THEN false ELSE has_schema_privilege("
        "%(role)s, %(schema)s, 'USAGE') AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE "
        "c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND NOT has_table_privilege(%(role)s, c.oid, 'SELECT')) END",
        {"role": role_name(tenant), "schema": naming.schema_name(tenant)},
    ).fetchone()
    return bool(found and found[0])


def ensure_role(conn: Connection, tenant: str) -> None:
    """Create the tenant's role if missing and grant it ``USAGE`` on the schema and ``SELECT`` on
    its tables, present and future (default privileges for tables this user creates there).
    Idempotent; one transaction under an advisory lock, so concurrent callers do not collide.
    """
    role = pg_sql.Identifier(role_name(tenant))
    schema = pg_sql.Identifier(naming.schema_name(tenant))
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [ROLE_LOCK_KEY])
        # Roles belong to the whole cluster: another database's Aquarium may have made it.
        conn.execute(
            pg_sql.SQL(
                "DO $$ BEGIN CREATE ROLE {} NOLOGIN; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ).format(role)
        )
        # SET ROLE needs membership unless this user is a superuser.
        conn.execute(
            pg_sql.SQL(
                "DO $$ BEGIN IF NOT pg_has_role(current_user, {}, 'MEMBER') THEN "
                "EXECUTE format('GRANT %I TO %I', {}, current_user); END IF; END $$"
            ).format(pg_sql.Literal(role_name(tenant)), pg_sql.Literal(role_name(tenant)))
        )
        conn.execute(pg_sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
        conn.execute(
            pg_sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, role)
        )
        conn.execute(
            pg_sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                schema, role
            )
        )


def drop_role(conn: Connection, tenant: str) -> None:
    """Drop the tenant's role and its grants in this database (a tenant removed for good, tests);
    nothing happens when there is none. ``conn`` is in autocommit mode."""
    name = role_name(tenant)
    if conn.execute("SELECT to_regrole(%s)", [name]).fetchone() != (None,):
        conn.execute(pg_sql.SQL("DROP OWNED BY {}").format(pg_sql.Identifier(name)))
        conn.execute(pg_sql.SQL("DROP ROLE {}").format(pg_sql.Identifier(name)))


def ensure_role_quietly(dsn: str, tenant: str) -> None:
    """:func:`ensure_role` on a connection of its own to ``dsn``; a database user that may not
    create roles is logged, not raised (AQuA does not need the role; Data Query's guard then
    fails the query)."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            ensure_role(conn, tenant)
    except pg_errors.InsufficientPrivilege as exc:
        log.warning("cannot make the Data Query role", tenant=tenant, error=str(exc))


def prepare(conn: Connection, tenant: str, dsn: str) -> None:
    """Make the rest of ``conn``'s (read-only) transaction run as the tenant's role, its schema
    the search path, statements limited to :data:`STATEMENT_TIMEOUT_S`; the role is made (on a
    connection of its own, to ``dsn``) when it is missing or short of a grant."""
    if not is_ready(conn, tenant):
        with psycopg.connect(dsn, autocommit=True) as own:
            ensure_role(own, tenant)
    conn.execute(pg_sql.SQL("SET LOCAL ROLE {}").format(pg_sql.Identifier(role_name(tenant))))
    conn.execute("SELECT set_config('search_path', %s, true)", [naming.schema_name(tenant)])
    conn.execute(
        "SELECT set_config('statement_timeout', %s, true)", [f"{STATEMENT_TIMEOUT_S * 1000}"]
    )


def check_text(sql: str, schema: str) -> None:
    """Refuse (:class:`errors.DataQueryRefused`) engine SQL that is not one ``SELECT`` over
    ``schema``'s tables and CTEs in scope calling only the allowed functions, by sqlglot's
    reading."""
    try:
        trees = [tree for tree in sqlglot.parse(sql, read="postgres") if tree is not None]
        if len(trees) != 1 or not isinstance(trees[0], exp.Query):
            raise _refused("only one SELECT statement may run")
        for node in trees[0].walk():
            _check_node(node, schema)
    except sqlglot_errors.SqlglotError:
        raise _refused("it cannot be read") from None
    except RecursionError:
        raise _refused("it is nested too deeply") from None


def _refused(reason: str) -> errors.DataQueryRefused:
    return errors.DataQueryRefused(f"{dataquery_guard.REFUSED}: {reason}")


def _check_node(node: exp.Expr, schema: str) -> None:
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise _refused("recursive queries are not allowed")
    if isinstance(node, exp.Table):
        if not isinstance(node.this, exp.Identifier):
            raise _refused("table functions are not allowed")
        own = node.db == schema or (not node.db and dq_sql.cte_reference(node))
        if node.catalog or not own:
            raise _refused(f"table '{node.name}' is not the tenant's")
    elif isinstance(node, exp.Func) and (
        isinstance(node, exp.Anonymous) or not portable.allowed(node)
    ):
        raise _refused(f"function '{portable.function_name(node)}' is not allowed")
    elif type(node) in (exp.Placeholder, exp.Parameter, exp.Lateral, exp.Into, exp.Lock):
        raise _refused(f"{node.key} is not allowed")


def _plan_nodes(plan: dict[str, object]) -> Iterator[dict[str, object]]:
    yield plan
    children = plan.get("Plans")
    for child in children if isinstance(children, list) else []:
        if isinstance(child, dict):
            yield from _plan_nodes(child)


def check_plan(conn: Connection, sql: str, schema: str) -> None:
    """Refuse a statement whose plan (made as the current role) scans a relation outside
    ``schema``, or has a node of :data:`REFUSED_PLAN_NODES`; a relation the role may not read
    is refused too (PostgreSQL checks privileges when it plans)."""
    statement = pg_sql.SQL("EXPLAIN (VERBOSE, FORMAT JSON) {}").format(pg_sql.SQL(sql))
    try:
        with conn.transaction():  # a savepoint: a refusal leaves the snapshot usable
            found = conn.execute(statement).fetchone()
    except pg_errors.InsufficientPrivilege:
        raise _refused("it reads data the tenant may not read") from None
    answer = found[0] if found else []
    plans = json.loads(answer) if isinstance(answer, str) else answer
    for top in plans if isinstance(plans, list) else []:
        for node in _plan_nodes(top["Plan"]):
            kind = str(node.get("Node Type"))
            if kind in REFUSED_PLAN_NODES:
                raise _refused(f"{kind.lower()} is not allowed")
            if "Relation Name" in node and node.get("Schema") != schema:
                raise _refused(f"table '{node['Relation Name']}' is not the tenant's")


def guard(conn: Connection, sql: str, tenant: str, dsn: str, *, prepared: bool) -> None:
    """:func:`prepare` (unless ``prepared``), then :func:`check_text` and :func:`check_plan`."""
    schema = naming.schema_name(tenant)
    check_text(sql, schema)
    if not prepared:
        prepare(conn, tenant, dsn)
    check_plan(conn, sql, schema)
