"""``aquarium clone --refresh``: which objects changed at the source since the last clone, told by
stateful AQuA sessions (reference aqua.md section 5).

Every clone (not ``--schema-only``) starts, before it reads the rows, one stateful session per
object: partner :data:`PARTNER`, project ``<tenant>.<Object>``, one query ``select Id from
<Object>`` (with a deleted column where our catalogue says the object keeps deleted records).
Its first job is a full load that nobody reads; it only marks where the session stands. A
refresh runs each session's next job, an incremental load: the rows created, updated (and
deleted) since the previous job of that session. An object whose increment has a row, or whose
session was new (a full load: cloned before sessions, or with other ``--objects``), changed.

One session per object, not one per job of 50 queries: a session's window starts where its
previous job's ended, so two jobs of one session taking turns over different objects would each
miss what changed while the other ran.

The changed objects are then copied again whole (stateless export, rows replaced): simpler than
applying the increment row by row, which would need an upsert-and-delete operation in both
engines; it costs a full export of each changed object.
"""

from __future__ import annotations

from collections.abc import Sequence

from aquarium import client
from aquarium.catalog import model
from aquarium.domain import jobs
from aquarium.services import tenant_clone

PARTNER = "aquarium"  #: the partner id of the clone's sessions
DELETED = {"column": "IsDeleted", "format": "Boolean"}
#: Zuora's limit of concurrent stateful jobs of a tenant: submitted in waves of this many.
JOBS_AT_ONCE = 50


def project(tenant: str, object_name: str) -> str:
    """The session's project: one per target tenant and object."""
    return f"{tenant}.{object_name}"


def advance(
    source: client.Client,
    objects: Sequence[str],
    *,
    tenant: str,
    catalog: model.Catalog,
) -> list[str]:
    """Run the next job of each object's session; the objects that changed since the previous
    one (every object whose session is new). A job that does not complete is a
    :class:`tenant_clone.CloneFailed`."""
    changed: list[str] = []
    for first in range(0, len(objects), JOBS_AT_ONCE):
        wave = objects[first : first + JOBS_AT_ONCE]
        submitted = [_submit(source, name, tenant, catalog) for name in wave]
        for name, job_id in zip(wave, submitted, strict=True):
            job = source.wait(job_id)
            if job.status is not jobs.JobStatus.COMPLETED:
                batch = job.batches[0] if job.batches else None
                reason = f": {batch.message}" if batch is not None and batch.message else ""
                raise tenant_clone.CloneFailed(
                    f"the source's session job for {name} ended {job.status.value}{reason}"
                )
            batch = job.batches[0]
            if batch.full or batch.record_count > 0:
                changed.append(name)
    return changed


def _submit(source: client.Client, name: str, tenant: str, catalog: model.Catalog) -> str:
    query: dict[str, object] = {
        "name": name,
        "query": f"select Id from {name}",
        "type": "zoqlexport",
    }
    ours = catalog.object(name)
    if ours is not None and ours.deleted_export:
        query["deleted"] = DELETED
    job = source.submit(
        [query],
        name=tenant_clone.CLONE_JOB_NAME,
        format="csv",
        version="1.1",
        partner=PARTNER,
        project=project(tenant, name),
        # The window's end is now, not the tenant's "Stateful Mode Time Offset" before it: a
        # change left out of this increment would be left out of the next one too.
        extra={"offset": 0},
    )
    return job.id
