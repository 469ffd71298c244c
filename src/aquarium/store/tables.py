"""The metadata tables (SQLAlchemy Core), identical on SQLite and PostgreSQL.

``migrations/versions`` creates exactly these tables; ``tests/integration/test_store_migrations``
checks that the two agree. Statuses are stored as their wire values (``domain.jobs``). Every
timestamp is an aware UTC ``datetime`` in Python (see ``UtcDateTime``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from aquarium.domain import tenancy

ID = 32  # characters of an id (domain.ids)
TENANT = 40
SHA256 = 64  # hex characters
NAME = 255
ZERO = sa.text("0")
EMPTY = sa.text("''")


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """``DateTime(timezone=True)`` that always gives back an aware UTC ``datetime``.

    SQLite has no time zone type: SQLAlchemy stores the wall-clock digits and drops the offset, so
    values are converted to UTC before they are stored (which also keeps SQLite's text comparison
    in the same order as time) and read back as UTC. Naive values are refused, not guessed.

    A value with no UTC datetime (written at the calendar's edge in a far zone, say
    ``9999-12-31T23:59:59-12:00`` as a filter's bound) is bound as the calendar's last (or first)
    microsecond in UTC: every time the store holds compares with it as with the instant written.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the metadata store needs aware ones")
        try:
            utc = value.astimezone(dt.UTC)
        except OverflowError:
            edge = dt.datetime.max if value.year == dt.MAXYEAR else dt.datetime.min
            utc = edge.replace(tzinfo=dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


metadata = sa.MetaData()


def _run_id(table: str) -> sa.Column[str]:
    """The key of a kind's particulars: the run they belong to, removed with it."""
    return sa.Column(
        "run_id",
        sa.String(ID),
        sa.ForeignKey("runs.id", ondelete="CASCADE", name=f"fk_{table}_run_id_runs"),
        primary_key=True,
    )


# Every kind of long-running work (domain.runs.Kind): what all kinds share. Statuses are the
# wire values of the kind's machine (domain.jobs.MACHINES); each kind's particulars live in a
# table keyed by the run id (aqua_jobs, report_runs).
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column(
        "tenant",
        sa.String(TENANT),
        sa.ForeignKey("tenants.name", name="fk_runs_tenant_tenants"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(16), nullable=False),  # aqua, report, dataquery
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("name", sa.String(NAME), nullable=True),  # an AQuA job's name is optional
    sa.Column("created_by", sa.String(NAME), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),  # the last status change
    sa.Column("started_at", UtcDateTime(), nullable=True),  # claimed by a worker
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("attempt", sa.Integer(), nullable=False, server_default=ZERO),
    sa.Column("worker", sa.String(NAME), nullable=True),
    sa.Column("heartbeat_at", UtcDateTime(), nullable=True),
    sa.Column("message", sa.Text(), nullable=True),
    # Runs of one tenant with the same session run one at a time, in arrival order (an AQuA
    # stateful session: partner and project). Null for runs that wait for nobody.
    sa.Column("session", sa.Text(), nullable=True),
    # The claim query: the oldest waiting run first.
    sa.Index("ix_runs_status_created_at", "status", "created_at"),
    sa.Index("ix_runs_tenant_kind_status", "tenant", "kind", "status"),
    sa.Index("ix_runs_tenant_created_at", "tenant", "created_at"),
)

# AQuA jobs: what a submit says besides the shared columns.
aqua_jobs = sa.Table(
    "aqua_jobs",
    metadata,
    _run_id("aqua_jobs"),
    sa.Column("version", sa.String(8), nullable=False),  # "1.0", "1.1", "1.2"
    sa.Column("format", sa.String(8), nullable=False),  # "CSV", "GZIP", "ZIP"
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
    # Stateful jobs: the UpdatedDate window exported, [window_start, window_end); the next
    # job of the session starts where this one ended.
    sa.Column("window_start", UtcDateTime(), nullable=True),
    sa.Column("window_end", UtcDateTime(), nullable=True),
    sa.Index("ix_aqua_jobs_partner_project", "partner", "project"),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column(
        "job_id",
        sa.String(ID),
        sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_batches_job_id_runs"),
        nullable=False,
    ),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("query", sa.Text(), nullable=False),
    sa.Column("batch_type", sa.String(32), nullable=False),
    sa.Column("api_version", sa.String(16), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("full", sa.Boolean(), nullable=False),
    sa.Column("deleted_json", sa.Text(), nullable=True),  # the query's "deleted" section, JSON
    sa.Column("record_count", sa.BigInteger(), nullable=False, server_default=ZERO),
    sa.Column("rows_written", sa.BigInteger(), nullable=False, server_default=ZERO),  # progress
    sa.Column("bytes_written", sa.BigInteger(), nullable=False, server_default=ZERO),
    sa.Column("message", sa.Text(), nullable=False, server_default=EMPTY),
    sa.Column("file_id", sa.String(ID), nullable=True),
    sa.Column("sha256", sa.String(SHA256), nullable=True),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    # A segmented batch's files in order, as a JSON array of ids; its file_id is then null.
    sa.Column("segments_json", sa.Text(), nullable=True),
    sa.Index("ix_batches_job_id", "job_id"),
)

# No foreign key to runs: a file row outlives a purged run until the sweeper has deleted the
# file itself. ``job_id`` is the run that wrote it.
files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("tenant", sa.String(TENANT), nullable=False),
    sa.Column("job_id", sa.String(ID), nullable=False),
    sa.Column("batch_id", sa.String(ID), nullable=True),
    sa.Column("path", sa.Text(), nullable=False),  # relative to the result store's root
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(SHA256), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("record_count", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("deleted_at", UtcDateTime(), nullable=True),
    sa.Index("ix_files_expires_at", "expires_at"),
    sa.Index("ix_files_job_id", "job_id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant", sa.String(TENANT), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_sha256", sa.String(SHA256), nullable=False),
    sa.Column(
        "job_id",
        sa.String(ID),
        sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_idempotency_keys_job_id_runs"),
        nullable=False,
    ),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

# One row per run that asked to be announced (an AQuA job's notifyUrl) and reached a terminal
# status: the outbox the notification sender works through (runner/notify.py). Purging the run
# removes it.
notifications = sa.Table(
    "notifications",
    metadata,
    _run_id("notifications"),
    sa.Column("tenant", sa.String(TENANT), nullable=False),
    sa.Column("url", sa.Text(), nullable=False),  # as submitted, ${JOBID}/${STATUS} unreplaced
    sa.Column("run_status", sa.String(20), nullable=False),  # the terminal status announced
    sa.Column("state", sa.String(16), nullable=False),  # pending, delivered, failed, refused
    sa.Column("attempts", sa.Integer(), nullable=False, server_default=ZERO),
    # When the next attempt is due (or, while one runs, when its claim lapses); null once done.
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Index("ix_notifications_state_next_attempt_at", "state", "next_attempt_at"),
)

notification_attempts = sa.Table(
    "notification_attempts",
    metadata,
    sa.Column(
        "run_id",
        sa.String(ID),
        sa.ForeignKey(
            "notifications.run_id",
            ondelete="CASCADE",
            name="fk_notification_attempts_run_id_notifications",
        ),
        primary_key=True,
    ),
    sa.Column("attempt", sa.Integer(), primary_key=True),  # 1, 2, ...
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=True),  # the HTTP answer, if there was one
    sa.Column("error", sa.Text(), nullable=True),  # why it failed or was refused
)

# Reporting API report definitions (services/reports.py): one row per saved report of a tenant.
report_definitions = sa.Table(
    "report_definitions",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("tenant", sa.String(TENANT), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),  # REP0000001 is 1, per tenant
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("description", sa.Text(), nullable=False, server_default=EMPTY),
    sa.Column("ds_name", sa.String(NAME), nullable=False),  # the catalogue object
    sa.Column("namespace", sa.String(16), nullable=False),  # BASIC, ADVANCED
    sa.Column("view_type", sa.String(16), nullable=False),  # Detail, Summary
    sa.Column("definition", sa.Text(), nullable=False),  # the definition JSON, as sent
    sa.Column("label_ids", sa.Text(), nullable=False),  # JSON array of label (folder) ids
    sa.Column("prototype_id", sa.String(ID), nullable=True),  # the source of a copy
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_by", sa.String(NAME), nullable=False),
    sa.Column("updated_by", sa.String(NAME), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_report_definitions_tenant_name", "tenant", "name"),
)

# Reporting API report runs (services/report_runs.py): what a run says besides the shared
# columns (its report's name is the run's name).
report_runs = sa.Table(
    "report_runs",
    metadata,
    _run_id("report_runs"),
    sa.Column("report_id", sa.String(ID), nullable=False),  # no FK: runs outlive their report
    sa.Column("ds_name", sa.String(NAME), nullable=False),
    sa.Column("view_type", sa.String(16), nullable=False),  # Detail, Summary
    sa.Column("definition", sa.Text(), nullable=False),  # the report's definition when it ran
    sa.Column("filters_json", sa.Text(), nullable=True),  # runtime filter override, as sent
    sa.Column("row_count", sa.BigInteger(), nullable=True),
    sa.Column("data_file_id", sa.String(ID), nullable=True),  # display values, for report data
    sa.Column("export_file_id", sa.String(ID), nullable=True),  # UTF-16 export, unpivoted
    sa.Column("pivoted_file_id", sa.String(ID), nullable=True),  # UTF-16 export, crosstab
    sa.Index("ix_report_runs_report_id", "report_id"),
)

# Data Query jobs (services/data_queries.py): a run of kind ``dataquery`` and what its submit
# said; its result once completed (row count, file, processing time) or its error code once
# failed. The message of a failed job is the run's ``message``.
dataquery_jobs = sa.Table(
    "dataquery_jobs",
    metadata,
    _run_id("dataquery_jobs"),
    sa.Column("query", sa.Text(), nullable=False),
    sa.Column("output_format", sa.String(8), nullable=False),  # JSON, CSV, TSV, DSV
    sa.Column("compression", sa.String(8), nullable=False),  # NONE, GZIP, ZIP
    sa.Column("column_separator", sa.String(8), nullable=True),  # DSV only
    sa.Column("encryption_key", sa.Text(), nullable=True),  # base64 DER RSA public key
    sa.Column("read_deleted", sa.Boolean(), nullable=False),
    sa.Column("source_data", sa.String(16), nullable=False),  # LIVE, WAREHOUSE, DATAHUB
    sa.Column("use_index_join", sa.Boolean(), nullable=False),
    sa.Column("warehouse_size", sa.String(16), nullable=True),
    sa.Column("row_count", sa.BigInteger(), nullable=True),
    sa.Column("file_id", sa.String(ID), nullable=True),
    sa.Column("processing_ms", sa.BigInteger(), nullable=True),
    sa.Column("error_code", sa.String(40), nullable=True),
)

# Reporting API report labels (folders; services/report_labels.py): one row per label of a
# tenant. Every tenant has two roots, made on first use (labels_repo.ensure_roots). Which
# reports carry a label is report_definitions.label_ids, not a table of its own.
report_labels = sa.Table(
    "report_labels",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("tenant", sa.String(TENANT), nullable=False),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column(
        "parent_id",
        sa.String(ID),
        sa.ForeignKey("report_labels.id", name="fk_report_labels_parent_id_report_labels"),
        nullable=True,  # null for a root label
    ),
    sa.Column("type", sa.String(16), nullable=False),  # Private, Shared
    sa.Column("created_by", sa.String(NAME), nullable=False),
    sa.Column("updated_by", sa.String(NAME), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("order", sa.Integer(), nullable=False),  # place among its siblings, from 0
    sa.Index("ix_report_labels_tenant_parent_id", "tenant", "parent_id"),
)

# The Reporting API's tenant settings (services/report_admin.py): one row per tenant that set
# them; a tenant without a row has the defaults (no email domain restriction).
report_settings = sa.Table(
    "report_settings",
    metadata,
    sa.Column(
        "tenant",
        sa.String(TENANT),
        sa.ForeignKey("tenants.name", ondelete="CASCADE", name="fk_report_settings_tenant_tenants"),
        primary_key=True,
    ),
    # The email domains scheduled report results may go to, a JSON array (empty: any).
    sa.Column("email_domains", sa.Text(), nullable=False, server_default=sa.text("'[]'")),
    sa.Column("updated_by", sa.String(NAME), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# Tenants (store/tenants_repo.py): configuration, logins and settings, shared by every node.
# ``tenants.name`` is what every other table's ``tenant`` column holds. Every column but the name
# has a server default, so a placeholder row for a tenant that jobs name can be made with the
# name alone (the legacy tenants.json import then replaces it, see tenants_file).
TIME_ZONE = 64  # characters of an IANA zone name (the longest is 32)

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("name", sa.String(TENANT), primary_key=True),
    sa.Column(
        "time_zone",
        sa.String(TIME_ZONE),
        nullable=False,
        server_default=sa.text(f"'{tenancy.DEFAULT_TIME_ZONE}'"),
    ),
    # The limits set for this tenant, a JSON object (tenants_models.LimitsModel); the others
    # have domain.tenancy's defaults.
    sa.Column("limits", sa.Text(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("file_segmentation", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("pgp_public_key", sa.Text(), nullable=True),  # ASCII armour
    sa.Column("created_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
    # Zuora's Invoice Settlement (domain.tenancy.Tenant.invoice_settlement); on by default
    sa.Column("invoice_settlement", sa.Boolean(), nullable=False, server_default=sa.true()),
)


def _tenant_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey("tenants.name", ondelete="CASCADE", name=f"fk_{table}_tenant_tenants")


# Logins for HTTP Basic and the apiAccessKeyId headers. The name is the primary key: Basic
# carries no tenant, so a user name is unique across all tenants.
tenant_users = sa.Table(
    "tenant_users",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("tenant", sa.String(TENANT), _tenant_fk("tenant_users"), nullable=False),
    sa.Column("password_hash", sa.Text(), nullable=False),  # scrypt$n$r$p$salt$hash
    sa.Column("admin", sa.Boolean(), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),  # order of creation within the tenant
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_tenant_users_tenant", "tenant"),
)

# OAuth clients (client_credentials); the id alone names the tenant, so it is unique overall.
# A client acts as its owner, a user of the same tenant (tenants_repo checks the tenant);
# removing that user leaves the client with no owner, and its tokens are refused.
tenant_clients = sa.Table(
    "tenant_clients",
    metadata,
    sa.Column("client_id", sa.String(NAME), primary_key=True),
    sa.Column("tenant", sa.String(TENANT), _tenant_fk("tenant_clients"), nullable=False),
    sa.Column("secret_hash", sa.Text(), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column(
        "owner",
        sa.String(NAME),
        sa.ForeignKey(
            "tenant_users.name", ondelete="SET NULL", name="fk_tenant_clients_owner_tenant_users"
        ),
        nullable=True,
    ),
    sa.Index("ix_tenant_clients_tenant", "tenant"),
    sa.Index("ix_tenant_clients_owner", "owner"),
)

# The partner ids a tenant accepts for stateful jobs; none at all means any partner.
tenant_partners = sa.Table(
    "tenant_partners",
    metadata,
    sa.Column("tenant", sa.String(TENANT), _tenant_fk("tenant_partners"), primary_key=True),
    sa.Column("partner", sa.String(NAME), primary_key=True),
    sa.Column("position", sa.Integer(), nullable=False),  # as given
)

# The custom fields each tenant declared (domain.tenancy.CustomField), in order of declaration.
# ``name_key`` is the lower-case name: names are unique per object in any letter case.
tenant_custom_fields = sa.Table(
    "tenant_custom_fields",
    metadata,
    sa.Column("tenant", sa.String(TENANT), _tenant_fk("tenant_custom_fields"), primary_key=True),
    sa.Column("object", sa.String(NAME), primary_key=True),
    sa.Column("name_key", sa.String(NAME), primary_key=True),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),  # tenancy.CustomFieldType
    sa.Column("label", sa.Text(), nullable=False),
    sa.Column("picklist", sa.Text(), nullable=False, server_default=sa.text("'[]'")),  # JSON
    sa.Column("position", sa.Integer(), nullable=False),  # order of declaration in the tenant
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

# One row (id 1): how many tenants writes have committed. Every write increments it in its own
# transaction (which also serialises tenants writers), so a server reloads its tenants when the
# number it last saw changes. A missing row reads as generation 0.
tenants_generation = sa.Table(
    "tenants_generation",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("generation", sa.BigInteger(), nullable=False),
    sa.Column("changed_at", UtcDateTime(), nullable=False),
)

# Legacy tenants.json files imported into this database (store/tenants_file.py), by content.
tenant_imports = sa.Table(
    "tenant_imports",
    metadata,
    sa.Column("sha256", sa.String(SHA256), primary_key=True),
    sa.Column("source", sa.Text(), nullable=False),  # the file's path when it was imported
    sa.Column("tenants", sa.Integer(), nullable=False),  # how many tenants it held
    sa.Column("imported_at", UtcDateTime(), nullable=False),
)
