"""``aquarium clone``, the reading side: a Zuora-compatible tenant read through its public APIs.

Only what Zuora itself serves is used, so the source may be Zuora or another Aquarium:

1. **Describe** (``GET /v1/describe``, then ``/v1/describe/{Object}``): the source's objects and
   their fields. Objects our catalogue does not know are skipped (:attr:`ClonePlan.skipped`);
   fields named ``Name__c`` that our catalogue does not ship become the target's custom fields,
   typed from Describe (:data:`CUSTOM_FIELD_TYPES`).
2. **Rows**: stateless AQuA jobs (version 1.0, CSV, ``useQueryLabels`` so headers are
   ``Object.Field`` as ``aquarium load`` reads them), one ``select <every exportable field> from
   <Object>`` query per object, at most :data:`QUERIES_PER_JOB` queries a job. ``since`` adds
   ``where UpdatedDate >= '<since>'`` to objects that have the field (the others are read whole).
   Each object's rows land in ``<directory>/<Object>.csv``; a segmented result is joined into one
   file (each segment repeats the header, which is kept once).

Writing the files into the target tenant is ``aquarium load``'s (``services/bulk_load.py``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aquarium import client
from aquarium.catalog import model
from aquarium.client import describe
from aquarium.domain import jobs, tenancy

#: Zuora's limit of queries in one AQuA job.
QUERIES_PER_JOB = 50
#: The Describe type of a source field -> the type its custom field gets here.
CUSTOM_FIELD_TYPES = {
    "text": tenancy.CustomFieldType.TEXT,
    "picklist": tenancy.CustomFieldType.PICKLIST,
    "decimal": tenancy.CustomFieldType.NUMBER,
    "integer": tenancy.CustomFieldType.NUMBER,
    "number": tenancy.CustomFieldType.NUMBER,
    "boolean": tenancy.CustomFieldType.BOOLEAN,
    "date": tenancy.CustomFieldType.DATE,
    "datetime": tenancy.CustomFieldType.DATETIME,
}
UPDATED_DATE = "UpdatedDate"
CLONE_JOB_NAME = "aquarium-clone"


class CloneFailed(Exception):
    """The source cannot be copied: an option it contradicts, an export job that did not
    complete. The CLI shows ``str(error)`` as its one error line (no API answers it)."""


#: Told each object's rows once its file is on disk: (object, rows).
ObjectDone = Callable[[str, int], None]


@dataclass(frozen=True)
class ObjectPlan:
    """One object to copy: the fields selected, in the source's order, and its query."""

    name: str
    fields: tuple[str, ...]
    query: str


@dataclass(frozen=True)
class ClonePlan:
    """What Describe says there is to copy."""

    objects: tuple[ObjectPlan, ...]
    custom_fields: tuple[tenancy.CustomField, ...]
    skipped: tuple[str, ...] = ()  #: source objects our catalogue does not know
    notes: tuple[str, ...] = ()  #: warnings worth a line (a field type we do not know ...)


@dataclass(frozen=True)
class ExportReport:
    """What the reading side fetched."""

    rows: dict[str, int] = field(default_factory=dict)  #: rows per object, as the source counted
    seconds: float = 0.0  #: wall time of the jobs and downloads


def check_since(since: str) -> str:
    """``since`` as the where clause takes it: a date ``YYYY-MM-DD`` or an ISO datetime (with
    or without a zone); a :class:`CloneFailed` naming the value otherwise."""
    try:
        if len(since) == len("YYYY-MM-DD"):
            dt.date.fromisoformat(since)
        else:
            dt.datetime.fromisoformat(since)
    except ValueError:
        raise CloneFailed(
            f"--since {since!r} is not a date (YYYY-MM-DD) or a datetime (YYYY-MM-DDThh:mm:ss)"
        ) from None
    return since


def plan(
    source: client.Client,
    *,
    catalog: model.Catalog,
    only: Sequence[str] = (),
    since: str | None = None,
) -> ClonePlan:
    """Describe the source and decide what to copy (see the module docstring). ``only`` keeps
    those objects (case as the source spells them, compared case-insensitively); a name in it
    the source does not have is a :class:`CloneFailed`."""
    names = source.describe_objects()
    if only:
        by_key = {name.lower(): name for name in names}
        missing = [name for name in only if name.lower() not in by_key]
        if missing:
            raise CloneFailed(f"the source has no object {', '.join(map(repr, missing))}")
        names = [by_key[name.lower()] for name in only]
    objects: list[ObjectPlan] = []
    custom: list[tenancy.CustomField] = []
    skipped: list[str] = []
    notes: list[str] = []
    for name in names:
        ours = catalog.object(name)
        if ours is None:
            skipped.append(name)
            continue
        described = source.describe_object(name)
        selected = tuple(f for f in described.fields if f.exportable)
        for found in selected:
            if found.custom and ours.field(found.name) is None:
                custom.append(_custom_field(ours.name, found, notes))
        objects.append(_object_plan(ours.name, selected, since))
    return ClonePlan(tuple(objects), tuple(custom), tuple(skipped), tuple(notes))


def _custom_field(
    object_name: str, found: describe.DescribedField, notes: list[str]
) -> tenancy.CustomField:
    kind = CUSTOM_FIELD_TYPES.get(found.type)
    if kind is None:
        notes.append(f"{object_name}.{found.name}: type {found.type!r} unknown here, made text")
        kind = tenancy.CustomFieldType.TEXT
    values = found.options if kind is tenancy.CustomFieldType.PICKLIST else ()
    return tenancy.CustomField(object_name, found.name, kind, found.label, values)


def _object_plan(
    name: str, fields: Sequence[describe.DescribedField], since: str | None
) -> ObjectPlan:
    names = tuple(f.name for f in fields)
    query = f"select {', '.join(names)} from {name}"
    if since is not None and UPDATED_DATE in names:
        query += f" where {UPDATED_DATE} >= '{since}'"
    return ObjectPlan(name, names, query)


def export(
    source: client.Client,
    planned: ClonePlan,
    directory: Path,
    *,
    on_object: ObjectDone | None = None,
) -> ExportReport:
    """Run the plan's queries as stateless AQuA jobs and download each object's rows to
    ``directory/<Object>.csv``. A job that does not complete is a :class:`CloneFailed`
    with the source's message (the jobs still running are cancelled)."""
    started = time.perf_counter()
    rows: dict[str, int] = {}
    objects = list(planned.objects)
    for first in range(0, len(objects), QUERIES_PER_JOB):
        chunk = objects[first : first + QUERIES_PER_JOB]
        job = source.submit(
            [{"name": one.name, "query": one.query, "type": "zoqlexport"} for one in chunk],
            name=CLONE_JOB_NAME,
            format="csv",
            version="1.0",
            use_query_labels=True,
        )
        job = source.wait(job.id)
        _check_finished(job)
        for one, batch in zip(chunk, job.batches, strict=True):
            _download(source, batch, directory / f"{one.name}.csv")
            rows[one.name] = batch.record_count
            if on_object is not None:
                on_object(one.name, batch.record_count)
    return ExportReport(rows, time.perf_counter() - started)


def _check_finished(job: client.Job) -> None:
    if job.status is jobs.JobStatus.COMPLETED:
        return
    failed = next((b for b in job.batches if b.message), None)
    reason = f": {failed.name}: {failed.message}" if failed else ""
    raise CloneFailed(f"the source's export job {job.id} ended {job.status.value}{reason}")


def _download(source: client.Client, batch: client.Batch, target: Path) -> None:
    """The batch's file at ``target``; segments joined, the header kept once."""
    file_ids = batch.file_ids
    if not file_ids:
        raise CloneFailed(f"the source's export of {batch.name} has no file")
    source.download(file_ids[0], target, resume=False)
    for number, file_id in enumerate(file_ids[1:], 2):
        segment = target.with_name(f"{target.stem}-{number}.csv")
        source.download(file_id, segment, resume=False)
        with segment.open("rb") as part, target.open("ab") as whole:
            part.readline()  # the header, again
            shutil.copyfileobj(part, whole)
        segment.unlink()
