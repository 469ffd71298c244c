"""Jobs as Zuora writes them on the wire (reference §3, CONTRACT.md "AQuA").

Successful documents carry no ``message``/``errorCode`` at the top level; ``format`` is upper
case; ``recordCount`` is an integer; ``startTime`` appears once the job has started, written as
Zuora's documents show it (``2014-09-03 08:20:07``) in the tenant's time zone.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

from aquarium.domain import errors, jobs
from aquarium.store import jobs_repo

START_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def batch_document(batch: jobs_repo.BatchRecord) -> dict[str, Any]:
    """One batch; a segmented batch lists its files in ``segments`` instead of ``fileId``."""
    document: dict[str, Any] = {
        "name": batch.name,
        "query": batch.query,
        "batchType": batch.batch_type,
        "batchId": batch.id,
        "apiVersion": batch.api_version,
        "full": batch.full,
        "status": batch.status,
        "localizedStatus": batch.status,
        "recordCount": int(batch.record_count),
    }
    if batch.status != jobs.BatchStatus.PENDING:
        document["message"] = batch.message or ""
    if batch.segments:
        document["segments"] = list(batch.segments)
    elif batch.file_id:
        document["fileId"] = batch.file_id
    if batch.deleted_json:
        document["deleted"] = json.loads(batch.deleted_json)
    return document


def job_document(
    job: jobs_repo.JobRecord, *, time_zone: str, submitted: bool = False
) -> dict[str, Any]:
    """The job object of submit (``submitted``), GET, DELETE and last-completed answers.

    ``incrementalTime``: the submit answer echoes the request's as epoch milliseconds (Zuora's
    example); the other answers give a string ``YYYY-MM-DD hh:mm:ss`` in the tenant's zone: the
    request's, else a stateful job's window start (:data:`FULL_LOAD_START` for a full load), as
    a production client decodes it as a required string (CONTRACT.md).
    """
    document: dict[str, Any] = {
        "id": job.id,
        "name": job.name,
        "version": job.version,
        "format": job.format,
        "encrypted": job.encrypted,
        "status": job.status,
        "useLastCompletedJobQueries": job.use_last_completed_job_queries,
        "batches": [batch_document(b) for b in job.batches],
    }
    if job.name is None:
        del document["name"]
    if job.started_at is not None:
        local = job.started_at.astimezone(zoneinfo.ZoneInfo(time_zone))
        document["startTime"] = local.strftime(START_TIME_FORMAT)
    optional = {
        "partner": job.partner,
        "project": job.project,
        "notifyUrl": job.notify_url,
        "incrementalTime": (
            job.incremental_time_ms if submitted else _incremental_text(job, time_zone)
        ),
        "offset": job.offset_seconds,
        "nullReplacement": job.null_replacement,
        "sourceData": job.source_data,
    }
    document.update({key: value for key, value in optional.items() if value is not None})
    return document


#: ``incrementalTime`` of a stateful job whose window has no start: a full load.
FULL_LOAD_START = "1970-01-01 00:00:00"


def _incremental_text(job: jobs_repo.JobRecord, time_zone: str) -> str | None:
    start: dt.datetime | None
    if job.incremental_time_ms is not None:
        start = dt.datetime.fromtimestamp(job.incremental_time_ms / 1000, dt.UTC)
    elif job.stateful:
        start = job.window_start
    else:
        return None
    if start is None:
        return FULL_LOAD_START
    return start.astimezone(zoneinfo.ZoneInfo(time_zone)).strftime(START_TIME_FORMAT)


def encode(document: dict[str, Any]) -> bytes:
    """Compact JSON, as the API sends it."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_document(error: errors.AquariumError) -> dict[str, Any]:
    """Zuora's AQuA error envelope: ``{"id": null, "status": "error", "errorCode", "message"}``."""
    if isinstance(error, errors.JobNotCancellable):
        return {
            "id": error.job_id,
            "status": error.status,
            "errorCode": error.code,
            "message": error.message,
        }
    if isinstance(error, errors.InvalidJobId):
        return {"id": None, "errorCode": error.code, "message": error.message}
    return {
        "id": None,
        "status": "error",
        "errorCode": error.code,
        "message": error.describe(),
    }
