"""One runs core: ``runs`` holds what AQuA jobs and report runs share; ``aqua_jobs`` and
``report_runs`` hold their particulars, keyed by the run id; batches, idempotency keys and
notifications hang off runs.

Every run references its tenant (a tenant that only jobs still name gets a row of its own,
with the defaults; importing an older ``tenants.json`` replaces it). Every row is kept: each
job becomes a run of kind ``aqua`` (a stateful one with its session,
``<len(partner)>:<partner>/<project>``) plus its settings, each report run a run of kind
``report`` plus its definition; batches, files, idempotency keys, notifications and their
attempts keep their ids and values.

Tables are rebuilt as new ones filled from the old ones, then swapped in; on SQLite this runs
with foreign keys switched off and checked before the commit (``database.migrate``), as SQLite
documents for schema changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = 32
TENANT = 40
SHA256 = 64
NAME = 255
ZERO = sa.text("0")
EMPTY = sa.text("''")
NEXT = "_next"  # the suffix of a table being rebuilt

# The session of a stateful AQuA job, as jobs_repo.session_of writes it.
SESSION = (
    "CASE WHEN stateful THEN CAST(LENGTH(partner) AS VARCHAR(10)) || ':' || partner || '/' "
    "|| project END"
)


def _time(name: str, *, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(name: str, column: str, target: str) -> sa.Column[Any]:
    """A key column referring to ``target`` (``table.column``), removed with its row."""
    return sa.Column(
        column,
        sa.String(ID),
        sa.ForeignKey(target, ondelete="CASCADE", name=name),
        nullable=False,
    )


def _rebuild(
    table: str,
    columns: Callable[[str], list[sa.Column[Any]]],
    fill: str,
    indexes: dict[str, list[str]],
) -> None:
    """Create ``table`` anew under a temporary name, fill it with ``fill`` (an INSERT's
    SELECT part, over the old tables), so that :func:`_swap` can put it in place."""
    op.create_table(table + NEXT, *columns(NEXT))
    names = ", ".join(f'"{column.name}"' for column in columns(NEXT))
    op.execute(f"INSERT INTO {table}{NEXT} ({names}) {fill}")
    _pending_indexes[table] = indexes


_pending_indexes: dict[str, dict[str, list[str]]] = {}


def _swap(*tables: str) -> None:
    """Drop the old ``tables`` (children first, as given) and rename the rebuilt ones."""
    for table in tables:
        op.drop_table(table)
    for table in reversed(tables):
        op.rename_table(table + NEXT, table)
        if op.get_bind().dialect.name == "postgresql":
            # PostgreSQL keeps the primary key's index name from the CREATE.
            op.execute(f"ALTER INDEX {table}{NEXT}_pkey RENAME TO {table}_pkey")
        for name, on in _pending_indexes.pop(table, {}).items():
            op.create_index(name, table, on)


def _runs_table() -> None:
    op.execute(
        "INSERT INTO tenants (name) SELECT DISTINCT tenant FROM ("
        "SELECT tenant FROM jobs UNION SELECT tenant FROM report_runs) named "
        "WHERE tenant NOT IN (SELECT name FROM tenants)"
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column(
            "tenant",
            sa.String(TENANT),
            sa.ForeignKey("tenants.name", name="fk_runs_tenant_tenants"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=True),
        sa.Column("created_by", sa.String(NAME), nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        _time("started_at"),
        _time("finished_at"),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("worker", sa.String(NAME), nullable=True),
        _time("heartbeat_at"),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("session", sa.Text(), nullable=True),
    )
    op.create_index("ix_runs_status_created_at", "runs", ["status", "created_at"])
    op.create_index("ix_runs_tenant_kind_status", "runs", ["tenant", "kind", "status"])
    op.create_index("ix_runs_tenant_created_at", "runs", ["tenant", "created_at"])
    shared = (
        "id, tenant, kind, status, name, created_by, created_at, updated_at, started_at, "
        "finished_at, attempt, worker, heartbeat_at, message, session"
    )
    op.execute(
        f"INSERT INTO runs ({shared}) SELECT id, tenant, 'aqua', status, name, created_by, "
        "created_at, COALESCE(finished_at, started_at, created_at), started_at, finished_at, "
        f"attempt, worker, heartbeat_at, message, {SESSION} FROM jobs"
    )
    op.execute(
        f"INSERT INTO runs ({shared}) SELECT id, tenant, 'report', status, report_name, "
        "created_by, created_at, updated_at, started_at, finished_at, attempt, worker, "
        "heartbeat_at, message, NULL FROM report_runs"
    )


AQUA_SETTINGS = (
    "version, format, encrypted, partner, project, notify_url, incremental_time_ms, "
    "offset_seconds, null_replacement, use_query_labels, date_time_utc, source_data, "
    "use_last_completed_job_queries, stateful, idempotency_key, request_sha256, window_start, "
    "window_end"
)


def _aqua_jobs_table() -> None:
    op.create_table(
        "aqua_jobs",
        sa.Column(
            "run_id",
            sa.String(ID),
            sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_aqua_jobs_run_id_runs"),
            primary_key=True,
        ),
        sa.Column("version", sa.String(8), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("encrypted", sa.String(16), nullable=True),
        sa.Column("partner", sa.String(NAME), nullable=True),
        sa.Column("project", sa.String(NAME), nullable=True),
        sa.Column("notify_url", sa.Text(), nullable=True),
        sa.Column("incremental_time_ms", sa.BigInteger(), nullable=True),
        sa.Column("offset_seconds", sa.Integer(), nullable=True),
        sa.Column("null_replacement", sa.String(NAME), nullable=True),
        sa.Column("use_query_labels", sa.Boolean(), nullable=False),
        sa.Column("date_time_utc", sa.Boolean(), nullable=False),
        sa.Column("source_data", sa.String(32), nullable=True),
        sa.Column("use_last_completed_job_queries", sa.Boolean(), nullable=False),
        sa.Column("stateful", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_sha256", sa.String(SHA256), nullable=True),
        _time("window_start"),
        _time("window_end"),
    )
    op.create_index("ix_aqua_jobs_partner_project", "aqua_jobs", ["partner", "project"])
    op.execute(
        f"INSERT INTO aqua_jobs (run_id, {AQUA_SETTINGS}) SELECT id, {AQUA_SETTINGS} FROM jobs"
    )


def _batch_columns(fk: sa.Column[Any]) -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.String(ID), primary_key=True),
        fk,
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("batch_type", sa.String(32), nullable=False),
        sa.Column("api_version", sa.String(16), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("deleted_json", sa.Text(), nullable=True),
        sa.Column("record_count", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("rows_written", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("bytes_written", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("message", sa.Text(), nullable=False, server_default=EMPTY),
        sa.Column("file_id", sa.String(ID), nullable=True),
        sa.Column("sha256", sa.String(SHA256), nullable=True),
        _time("started_at"),
        _time("finished_at"),
        sa.Column("segments_json", sa.Text(), nullable=True),
    ]


BATCH_COLUMNS = (
    'id, job_id, position, name, query, batch_type, api_version, status, "full", '
    "deleted_json, record_count, rows_written, bytes_written, message, file_id, sha256, "
    "started_at, finished_at, segments_json"
)


def _key_columns(fk: sa.Column[Any]) -> list[sa.Column[Any]]:
    return [
        sa.Column("tenant", sa.String(TENANT), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_sha256", sa.String(SHA256), nullable=False),
        fk,
        _time("created_at", nullable=False),
    ]


def _attempt_columns(fk: sa.Column[Any]) -> list[sa.Column[Any]]:
    fk.primary_key = True
    return [
        fk,
        sa.Column("attempt", sa.Integer(), primary_key=True),
        _time("at", nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    _runs_table()
    _aqua_jobs_table()
    _rebuild(
        "batches",
        lambda suffix: _batch_columns(_fk("fk_batches_job_id_runs", "job_id", "runs.id")),
        f"SELECT {BATCH_COLUMNS} FROM batches",
        {"ix_batches_job_id": ["job_id"]},
    )
    # Keys whose job is gone (none, normally: purging a job removes its key) are dropped.
    _rebuild(
        "idempotency_keys",
        lambda suffix: _key_columns(_fk("fk_idempotency_keys_job_id_runs", "job_id", "runs.id")),
        "SELECT tenant, key, request_sha256, job_id, created_at FROM idempotency_keys "
        "WHERE job_id IN (SELECT id FROM runs)",
        {},
    )
    _rebuild(
        "notifications",
        lambda suffix: [
            sa.Column(
                "run_id",
                sa.String(ID),
                sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_notifications_run_id_runs"),
                primary_key=True,
            ),
            sa.Column("tenant", sa.String(TENANT), nullable=False),
            sa.Column("url", sa.Text(), nullable=False),
            sa.Column("run_status", sa.String(20), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=ZERO),
            _time("next_attempt_at"),
            _time("created_at", nullable=False),
            _time("finished_at"),
        ],
        "SELECT n.job_id, n.tenant, COALESCE(j.notify_url, ''), n.job_status, n.state, "
        "n.attempts, n.next_attempt_at, n.created_at, n.finished_at "
        "FROM notifications n JOIN jobs j ON j.id = n.job_id",
        {"ix_notifications_state_next_attempt_at": ["state", "next_attempt_at"]},
    )
    _rebuild(
        "notification_attempts",
        lambda suffix: _attempt_columns(
            _fk(
                "fk_notification_attempts_run_id_notifications",
                "run_id",
                f"notifications{suffix}.run_id",
            )
        ),
        "SELECT job_id, attempt, at, status_code, error FROM notification_attempts",
        {},
    )
    _rebuild(
        "report_runs",
        lambda suffix: [
            sa.Column(
                "run_id",
                sa.String(ID),
                sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_report_runs_run_id_runs"),
                primary_key=True,
            ),
            sa.Column("report_id", sa.String(ID), nullable=False),
            sa.Column("ds_name", sa.String(NAME), nullable=False),
            sa.Column("view_type", sa.String(16), nullable=False),
            sa.Column("definition", sa.Text(), nullable=False),
            sa.Column("filters_json", sa.Text(), nullable=True),
            sa.Column("row_count", sa.BigInteger(), nullable=True),
            sa.Column("data_file_id", sa.String(ID), nullable=True),
            sa.Column("export_file_id", sa.String(ID), nullable=True),
            sa.Column("pivoted_file_id", sa.String(ID), nullable=True),
        ],
        "SELECT id, report_id, ds_name, view_type, definition, filters_json, row_count, "
        "data_file_id, export_file_id, pivoted_file_id FROM report_runs",
        {"ix_report_runs_report_id": ["report_id"]},
    )
    _swap("notification_attempts", "notifications", "idempotency_keys", "batches", "report_runs")
    op.drop_table("jobs")


def _jobs_table() -> None:
    """The ``jobs`` table of revisions 0001 and 0003, filled from ``runs`` and ``aqua_jobs``."""
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("tenant", sa.String(TENANT), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.String(8), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("encrypted", sa.String(16), nullable=True),
        sa.Column("partner", sa.String(NAME), nullable=True),
        sa.Column("project", sa.String(NAME), nullable=True),
        sa.Column("notify_url", sa.Text(), nullable=True),
        sa.Column("incremental_time_ms", sa.BigInteger(), nullable=True),
        sa.Column("offset_seconds", sa.Integer(), nullable=True),
        sa.Column("null_replacement", sa.String(NAME), nullable=True),
        sa.Column("use_query_labels", sa.Boolean(), nullable=False),
        sa.Column("date_time_utc", sa.Boolean(), nullable=False),
        sa.Column("source_data", sa.String(32), nullable=True),
        sa.Column("use_last_completed_job_queries", sa.Boolean(), nullable=False),
        sa.Column("stateful", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(NAME), nullable=True),
        _time("created_at", nullable=False),
        _time("started_at"),
        _time("finished_at"),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("worker", sa.String(NAME), nullable=True),
        _time("heartbeat_at"),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_sha256", sa.String(SHA256), nullable=True),
        sa.Column("error_code", sa.String(16), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        _time("window_start"),
        _time("window_end"),
    )
    op.create_index("ix_jobs_tenant_status", "jobs", ["tenant", "status"])
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at"])
    op.execute(
        "INSERT INTO jobs (id, tenant, name, status, created_by, created_at, started_at, "
        f"finished_at, attempt, worker, heartbeat_at, message, {AQUA_SETTINGS}) "
        "SELECT r.id, r.tenant, r.name, r.status, r.created_by, r.created_at, r.started_at, "
        "r.finished_at, r.attempt, r.worker, r.heartbeat_at, r.message, "
        + ", ".join(f"a.{name.strip()}" for name in AQUA_SETTINGS.split(","))
        + " FROM runs r JOIN aqua_jobs a ON a.run_id = r.id"
    )


def downgrade() -> None:
    _jobs_table()
    _rebuild(
        "batches",
        lambda suffix: _batch_columns(_fk("fk_batches_job_id_jobs", "job_id", "jobs.id")),
        f"SELECT {BATCH_COLUMNS} FROM batches",
        {"ix_batches_job_id": ["job_id"]},
    )
    _rebuild(
        "idempotency_keys",
        lambda suffix: _key_columns(sa.Column("job_id", sa.String(ID), nullable=False)),
        "SELECT tenant, key, request_sha256, job_id, created_at FROM idempotency_keys",
        {},
    )
    _rebuild(
        "notifications",
        lambda suffix: [
            sa.Column(
                "job_id",
                sa.String(ID),
                sa.ForeignKey("jobs.id", ondelete="CASCADE", name="fk_notifications_job_id_jobs"),
                primary_key=True,
            ),
            sa.Column("tenant", sa.String(TENANT), nullable=False),
            sa.Column("job_status", sa.String(20), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=ZERO),
            _time("next_attempt_at"),
            _time("created_at", nullable=False),
            _time("finished_at"),
        ],
        "SELECT run_id, tenant, run_status, state, attempts, next_attempt_at, created_at, "
        "finished_at FROM notifications",
        {"ix_notifications_state_next_attempt_at": ["state", "next_attempt_at"]},
    )
    _rebuild(
        "notification_attempts",
        lambda suffix: _attempt_columns(
            _fk(
                "fk_notification_attempts_job_id_notifications",
                "job_id",
                f"notifications{suffix}.job_id",
            )
        ),
        "SELECT run_id, attempt, at, status_code, error FROM notification_attempts",
        {},
    )
    _rebuild(
        "report_runs",
        lambda suffix: [
            sa.Column("id", sa.String(ID), primary_key=True),
            sa.Column("tenant", sa.String(TENANT), nullable=False),
            sa.Column("report_id", sa.String(ID), nullable=False),
            sa.Column("report_name", sa.String(NAME), nullable=False),
            sa.Column("ds_name", sa.String(NAME), nullable=False),
            sa.Column("view_type", sa.String(16), nullable=False),
            sa.Column("definition", sa.Text(), nullable=False),
            sa.Column("filters_json", sa.Text(), nullable=True),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("created_by", sa.String(NAME), nullable=False),
            _time("created_at", nullable=False),
            _time("updated_at", nullable=False),
            _time("started_at"),
            _time("finished_at"),
            sa.Column("attempt", sa.Integer(), nullable=False, server_default=ZERO),
            sa.Column("worker", sa.String(NAME), nullable=True),
            _time("heartbeat_at"),
            sa.Column("message", sa.Text(), nullable=True),
            sa.Column("row_count", sa.BigInteger(), nullable=True),
            sa.Column("data_file_id", sa.String(ID), nullable=True),
            sa.Column("export_file_id", sa.String(ID), nullable=True),
            sa.Column("pivoted_file_id", sa.String(ID), nullable=True),
        ],
        "SELECT r.id, r.tenant, p.report_id, COALESCE(r.name, ''), p.ds_name, p.view_type, "
        "p.definition, p.filters_json, r.status, COALESCE(r.created_by, ''), r.created_at, "
        "r.updated_at, r.started_at, r.finished_at, r.attempt, r.worker, r.heartbeat_at, "
        "r.message, p.row_count, p.data_file_id, p.export_file_id, p.pivoted_file_id "
        "FROM runs r JOIN report_runs p ON p.run_id = r.id",
        {
            "ix_report_runs_tenant_status": ["tenant", "status"],
            "ix_report_runs_status_created_at": ["status", "created_at"],
            "ix_report_runs_tenant_report_id": ["tenant", "report_id"],
        },
    )
    _swap("notification_attempts", "notifications", "idempotency_keys", "batches", "report_runs")
    op.drop_table("aqua_jobs")
    op.drop_table("runs")
