"""AQuA use cases: submit, get, cancel, last completed job of a session, file download.

Routers call exactly one of these with an authenticated principal and get a wire document or an
:class:`errors.AquariumError`. Another tenant's jobs and files answer exactly like unknown ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import errors, ids, jobs, runs, tenancy
from aquarium.domain import notifier as notifier_port
from aquarium.runner import sessions
from aquarium.services import aqua_request, aqua_wire, job_cache, run_service
from aquarium.store import database, jobs_repo, runs_repo
from aquarium.zoql import check, plan, translate

IDEMPOTENCY_WINDOW = run_service.IDEMPOTENCY_WINDOW
MAX_IDEMPOTENCY_KEY = run_service.MAX_IDEMPOTENCY_KEY

log = observability.logger(__name__)


@dataclass
class AquaService(run_service.RunService):
    documents: job_cache.JobDocumentCache | job_cache.NoCache = field(
        default_factory=job_cache.NoCache
    )
    #: hears of every change this service commits (the document cache, live job events)
    notifier: notifier_port.Notifier | None = None

    def _changed(self, tenant: str, job_id: str) -> None:
        (self.notifier or self.documents).job_changed(tenant, job_id)

    # -- submit ---------------------------------------------------------------------------
    def submit(
        self, principal: tenancy.Principal, body: object, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        tenant = self._tenant(principal)
        now = self.now(tenant.name)
        request_hash = hashlib.sha256(
            json.dumps(body, sort_keys=True, default=str).encode("utf-8")
        ).hexdigest()
        if idempotency_key is not None:
            replay = self._replay(tenant, idempotency_key, request_hash, now)
            if replay is not None:
                return replay
        request = aqua_request.parse(
            body,
            time_zone=tenant.time_zone,
            partners=tenant.partners,
            max_queries=tenant.limits.max_queries_per_job,
        )
        if request.encrypted == "pgp" and not tenant.pgp_public_key:
            raise errors.MalformedRequest(
                f"'encrypted' is pgp but tenant {tenant.name} has no PGP public key: an "
                f"administrator sets one with `aquarium tenant set-pgp-key {tenant.name} FILE`"
            )
        try:
            with self.metadata.begin() as conn:
                # Submits of one tenant take turns, on any node: each sees the jobs (and keys)
                # of those before it (SQLite serialises write transactions by itself).
                runs_repo.lock_tenant(conn, tenant.name)
                if idempotency_key is not None:
                    # Again, inside the transaction that records the key: a submission with the
                    # same key may have committed since the look above.
                    replay = self._replayed(conn, tenant, idempotency_key, request_hash, now)
                    if replay is not None:
                        return replay
                queries = self._queries(conn, tenant, request)
                self._check_queries(tenant, queries, now)
                self._check_capacity(conn, tenant, request)
                job_id = ids.new_id()
                previous = (
                    sessions.previous_job(conn, tenant.name, request.partner, request.project)
                    if request.stateful
                    else None
                )
                new_job = _new_job(
                    job_id, tenant, principal, request, now, idempotency_key, request_hash
                )
                if request.stateful:
                    start = sessions.window_start(new_job.incremental_time_ms, previous, now)
                    new_job = replace(new_job, window_start=start)
                jobs_repo.insert_job(
                    conn, new_job, _new_batches(job_id, queries, request, previous)
                )
                if idempotency_key is not None:
                    jobs_repo.record_idempotency(
                        conn, tenant.name, idempotency_key, request_hash, job_id, now
                    )
                job = jobs_repo.get_job(conn, tenant.name, job_id)
        except sa.exc.IntegrityError:
            # PostgreSQL: a concurrent submission inserted the same new key first and won.
            replay = None
            if idempotency_key is not None:
                replay = self._replay(tenant, idempotency_key, request_hash, now)
            if replay is None:
                raise
            return replay
        assert job is not None
        observability.JOBS.labels("aqua", jobs.JobStatus.SUBMITTED.value).inc()
        log.info("job submitted", job_id=job_id, tenant=tenant.name, queries=len(queries))
        self._changed(tenant.name, job_id)
        self.runner.wake(job_id)
        return aqua_wire.job_document(job, time_zone=tenant.time_zone, submitted=True)

    def _replay(
        self, tenant: tenancy.Tenant, key: str, request_hash: str, now: dt.datetime
    ) -> dict[str, Any] | None:
        if len(key) > MAX_IDEMPOTENCY_KEY:
            raise errors.MalformedRequest(
                f"the Idempotency-Key header is limited to {MAX_IDEMPOTENCY_KEY} characters"
            )
        with self.metadata.begin() as conn:
            return self._replayed(conn, tenant, key, request_hash, now)

    def _replayed(
        self,
        conn: sa.Connection,
        tenant: tenancy.Tenant,
        key: str,
        request_hash: str,
        now: dt.datetime,
    ) -> dict[str, Any] | None:
        """The job ``key`` made in the last 24 hours, or None; ``errors.IdempotencyConflict``
        when it was made for a different request."""
        found = jobs_repo.find_idempotency(conn, tenant.name, key, since=now - IDEMPOTENCY_WINDOW)
        if found is None:
            return None
        stored_hash, job_id = found
        if stored_hash != request_hash:
            raise errors.IdempotencyConflict(
                "this Idempotency-Key was used in the last 24 hours for a different request"
            )
        job = jobs_repo.get_job(conn, tenant.name, job_id)
        return (
            None
            if job is None
            else aqua_wire.job_document(job, time_zone=tenant.time_zone, submitted=True)
        )

    def _queries(
        self, conn: sa.Connection, tenant: tenancy.Tenant, request: aqua_request.JobRequest
    ) -> tuple[aqua_request.QuerySpec, ...]:
        previous = (
            sessions.previous_job(conn, tenant.name, request.partner, request.project)
            if request.stateful
            else None
        )
        earlier = tuple(aqua_request.spec_of(b) for b in previous.batches) if previous else ()
        if not request.queries:
            # A stateful job without queries reruns its session's queries (reference §5.3).
            if not earlier:
                raise errors.NoQueries()
            return earlier
        if request.use_last_completed_job_queries:
            # The session's queries, then the new ones; a new query replaces one of its name.
            named = {query.name for query in request.queries}
            return tuple(q for q in earlier if q.name not in named) + request.queries
        return request.queries

    def _check_queries(
        self,
        tenant: tenancy.Tenant,
        queries: tuple[aqua_request.QuerySpec, ...],
        now: dt.datetime,
    ) -> None:
        context = check.Context(
            catalog=self.catalogs.of(tenant), time_zone=tenant.time_zone, now=now
        )
        for query in queries:
            try:
                query_plan = translate.plan_query(query.query, query.type, context)
            except errors.ZoqlError as exc:
                raise exc.in_query(query.name) from None
            if query.deleted is not None and not query_plan.source.deleted_export:
                raise errors.DeletedNotSupported(
                    f"query '{query.name}': {query_plan.source.name} keeps no deleted records"
                )
            if query.deleted is not None and (query_plan.group_by or _aggregates(query_plan)):
                raise errors.ZoqlError(
                    "a query with a deleted section exports rows; it cannot aggregate them",
                    query_name=query.name,
                )

    def _check_capacity(
        self, conn: sa.Connection, tenant: tenancy.Tenant, request: aqua_request.JobRequest
    ) -> None:
        limit = (
            tenant.limits.max_stateful_jobs
            if request.stateful
            else tenant.limits.max_stateless_jobs
        )
        active = jobs_repo.count_active(conn, tenant.name, stateful=request.stateful)
        if active >= limit:
            kind = "stateful" if request.stateful else "stateless"
            raise errors.TooManyJobs(f"{active} {kind} jobs are submitted or executing")

    # -- read -----------------------------------------------------------------------------
    def get(self, principal: tenancy.Principal, job_id: str) -> dict[str, Any]:
        tenant = self._tenant(principal)
        with database.read_only(self.metadata) as conn:
            job = jobs_repo.get_job(conn, tenant.name, job_id) if ids.is_id(job_id) else None
        if job is None:
            raise errors.InvalidJobId()
        return aqua_wire.job_document(job, time_zone=tenant.time_zone)

    def get_json(self, principal: tenancy.Principal, job_id: str) -> bytes:
        """The job document as JSON bytes, served from memory while the job is unchanged."""
        cached = self.documents.get(job_id)
        if cached is not None and cached.tenant == principal.tenant:
            return cached.body
        generation = self.documents.generation()
        body = aqua_wire.encode(self.get(principal, job_id))
        self.documents.put(job_id, job_cache.CachedDocument(principal.tenant, body), generation)
        return body

    def last_completed(
        self, principal: tenancy.Principal, partner: str, project: str
    ) -> dict[str, Any]:
        tenant = self._tenant(principal)
        with database.read_only(self.metadata) as conn:
            job = jobs_repo.last_completed(conn, tenant.name, partner, project)
        if job is None:
            raise errors.InvalidJobId("no completed job for this partner and project")
        return aqua_wire.job_document(job, time_zone=tenant.time_zone)

    # -- cancel ---------------------------------------------------------------------------
    def cancel(self, principal: tenancy.Principal, job_id: str) -> dict[str, Any]:
        """Stop a submitted or executing job now; idempotent; 90003 on a finished job."""
        tenant = self._tenant(principal)
        if not ids.is_id(job_id):
            raise errors.InvalidJobId()
        with self.metadata.begin() as conn:
            job = jobs_repo.get_job(conn, tenant.name, job_id)
            if job is None:
                raise errors.InvalidJobId()
            status = runs_repo.apply_event(
                conn,
                runs.Kind.AQUA,
                job_id,
                jobs.JobEvent.CANCEL,
                at=self.now(tenant.name),
                message="The job was cancelled.",
            )
        if status is not None:
            self._changed(tenant.name, job_id)
            # The interrupt follows the committed transition, never the other way round.
            self.runner.cancel(job_id)
            observability.JOBS.labels("aqua", jobs.JobStatus.CANCELLED.value).inc()
            log.info("job cancelled", job_id=job_id, tenant=tenant.name)
        with database.read_only(self.metadata) as conn:
            job = jobs_repo.get_job(conn, tenant.name, job_id)
        assert job is not None
        if job.status != jobs.JobStatus.CANCELLED:
            raise errors.JobNotCancellable(job_id, job.status)
        return aqua_wire.job_document(job, time_zone=tenant.time_zone)

    # -- files ----------------------------------------------------------------------------
    def file(self, principal: tenancy.Principal, file_id: str) -> run_service.FileDownload:
        """A published result file; NotFound for unknown, foreign, expired or purged ids."""
        tenant = self._tenant(principal)
        file_id = file_id.removesuffix(".csv")
        if not ids.is_id(file_id):
            raise errors.NotFound("no such file")
        found = self._published(tenant.name, file_id)
        if found is None:
            raise errors.NotFound("no such file, or it has expired")
        if found.size > tenant.limits.max_file_bytes:
            raise errors.FileTooLarge()
        return found


def _aggregates(query_plan: plan.Plan) -> bool:
    return any(isinstance(column.expr, plan.Aggregate) for column in query_plan.columns)


def _new_job(
    job_id: str,
    tenant: tenancy.Tenant,
    principal: tenancy.Principal,
    request: aqua_request.JobRequest,
    now: dt.datetime,
    idempotency_key: str | None,
    request_hash: str,
) -> jobs_repo.NewJob:
    incremental_ms = (
        int(request.incremental_time.timestamp() * 1000) if request.incremental_time else None
    )
    return jobs_repo.NewJob(
        id=job_id,
        tenant=tenant.name,
        name=request.name,
        version=request.version,
        format=request.format,
        encrypted=request.encrypted,
        partner=request.partner,
        project=request.project,
        notify_url=request.notify_url,
        incremental_time_ms=incremental_ms,
        offset_seconds=request.offset,
        null_replacement=request.null_replacement,
        use_query_labels=request.use_query_labels,
        date_time_utc=request.date_time_utc,
        source_data=request.source_data,
        use_last_completed_job_queries=request.use_last_completed_job_queries,
        stateful=request.stateful,
        created_by=principal.name,
        created_at=now,
        idempotency_key=idempotency_key,
        request_sha256=request_hash,
    )


def _new_batches(
    job_id: str,
    queries: tuple[aqua_request.QuerySpec, ...],
    request: aqua_request.JobRequest,
    previous: jobs_repo.JobRecord | None,
) -> list[jobs_repo.NewBatch]:
    """The job's batches; ``full`` is what the session (its ``previous`` job) suggests now: the
    runner decides again when the job starts, once the jobs before it have finished."""
    batches = []
    for position, query in enumerate(queries):
        deleted_json = json.dumps(query.deleted.wire()) if query.deleted else None
        incremental = request.stateful and (
            request.incremental_time is not None
            or sessions.continues(query.query, query.type.value, deleted_json, query.name, previous)
        )
        batches.append(
            jobs_repo.NewBatch(
                id=ids.new_id(),
                position=position,
                name=query.name,
                query=query.query,
                batch_type=query.type.value,
                api_version=query.api_version,
                status=jobs.BatchStatus.PENDING,
                full=not incremental,
                deleted_json=deleted_json,
            )
        )
    return batches
