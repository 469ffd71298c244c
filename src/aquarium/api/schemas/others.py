"""Object CRUD (``/v1/object``), Aquarium's job API (docs/job-finder-api.md), health, metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from aquarium.api.schemas import common
from aquarium.api.schemas.common import Answer, Body, Operation, component, obj, string

# -- object CRUD -----------------------------------------------------------------------------

#: Fields by API name; each value's kind is checked against the catalogue (INVALID_VALUE).
RECORD = component(
    "CrudRecord",
    {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        "examples": [{"Name": "Acme", "Currency": "USD", "Status": "Active"}],
    },
)
WRITTEN = obj({"Success": {"const": True}, "Id": common.HEX_ID}, ["Success", "Id"])
DELETED = obj({"success": {"const": True}, "id": common.HEX_ID}, ["success", "id"])
RECORD_EXAMPLE: dict[str, Any] = {"Name": "Acme", "Currency": "USD", "Status": "Active"}


def _json(description: str, schema: common.Schema, **examples: Any) -> Answer:
    return Answer(description, (Body(common.JSON, schema, examples),))


CRUD: dict[str, Operation] = {
    "create_object": Operation(
        {200: _json("Created", WRITTEN)}, Body(common.JSON, RECORD, {"record": RECORD_EXAMPLE})
    ),
    "get_object": Operation({200: _json("The record's non-null fields", RECORD)}),
    "update_object": Operation(
        {200: _json("Updated", WRITTEN)}, Body(common.JSON, RECORD, {"record": RECORD_EXAMPLE})
    ),
    "delete_object": Operation({200: _json("Deleted (soft)", DELETED)}),
}

# -- the job API -----------------------------------------------------------------------------

STAMP = {"type": ["string", "null"], "examples": ["2026-12-01T10:00:00.123Z"]}
NULLABLE_TEXT = {"type": ["string", "null"]}
COUNT = {"type": ["integer", "null"], "minimum": 0}
DOWNLOAD = obj(
    {
        "name": string(),
        "url": string(),
        "sha256": NULLABLE_TEXT,
        "size": COUNT,
        "recordCount": COUNT,
    },
    ["name", "url"],
)
JOB = component(
    "FinderJob",
    obj(
        {
            "id": common.HEX_ID,
            "kind": {"enum": ["aqua", "report", "dataquery"]},
            "name": NULLABLE_TEXT,
            "status": string(),
            "createdBy": NULLABLE_TEXT,
            "createdAt": STAMP,
            "startedAt": STAMP,
            "finishedAt": STAMP,
            "partner": NULLABLE_TEXT,
            "project": NULLABLE_TEXT,
            "reportId": NULLABLE_TEXT,
            "viewType": NULLABLE_TEXT,
            "outputFormat": {
                "type": ["string", "null"],
                "description": "a Data Query job's (JSON, CSV, TSV, DSV)",
            },
            "message": NULLABLE_TEXT,
            "progress": obj(
                {
                    "batches": {"type": "integer"},
                    "batchesDone": {"type": "integer"},
                    "rowsWritten": COUNT,
                    "bytesWritten": COUNT,
                    "elapsedMs": COUNT,
                }
            ),
            "settings": {
                "type": "object",
                "description": "an AQuA or Data Query job's, in the detail",
            },
            "batches": {"type": "array", "items": {"type": "object"}},
            "downloads": {"type": "array", "items": DOWNLOAD},
            "rowCount": COUNT,
            "dataQueryId": {
                "type": "string",
                "description": "a Data Query job's id as /query/jobs shows it (a dashed UUID)",
            },
            "query": {"type": "string", "description": "a Data Query job's whole query"},
            "processingTime": {
                **COUNT,
                "description": "a completed Data Query job's processing time in milliseconds",
            },
            "errorCode": {**NULLABLE_TEXT, "description": "a failed Data Query job's"},
        },
        [
            "id",
            "kind",
            "name",
            "status",
            "createdBy",
            "createdAt",
            "startedAt",
            "finishedAt",
            "message",
            "progress",
        ],
    ),
)
JOB_EXAMPLE = {
    "id": "2c92c0f966cd4f580166ec0ac89d5bb7",
    "kind": "aqua",
    "name": "Nightly export",
    "status": "executing",
    "createdBy": "demo",
    "createdAt": "2026-12-01T10:00:00.123Z",
    "startedAt": "2026-12-01T10:00:00.200Z",
    "finishedAt": None,
    "partner": "salesforce",
    "project": "p1",
    "reportId": None,
    "viewType": None,
    "outputFormat": None,
    "message": None,
    "progress": {
        "batches": 3,
        "batchesDone": 1,
        "rowsWritten": 120000,
        "bytesWritten": 9800000,
        "elapsedMs": 2300,
    },
}
PAGE = obj(
    {"jobs": {"type": "array", "items": JOB}, "nextCursor": {"type": ["string", "null"]}},
    ["jobs", "nextCursor"],
)
EVENTS = Body(
    "text/event-stream",
    string(description='"event: job" with {"id", "kind", "status", "at"}; keep-alive comments'),
)

JOBS: dict[str, Operation] = {
    "finder_list_jobs": Operation(
        {200: _json("A page of jobs", PAGE, page={"jobs": [JOB_EXAMPLE], "nextCursor": None})}
    ),
    "finder_get_job": Operation({200: _json("The job in detail", JOB, job=JOB_EXAMPLE)}),
    "finder_cancel_job": Operation({200: _json("The job, cancelled", JOB)}),
    "finder_events": Operation({200: Answer("Server-Sent Events", (EVENTS,))}),
}

# -- tenant administration: custom fields and features ---------------------------------------

CUSTOM_FIELD = component(
    "CustomField",
    obj(
        {
            "object": string(description="the object, as the catalogue spells it"),
            "name": string(description="the API name: a letter first, letters, digits, _; __c"),
            "type": {"enum": ["text", "picklist", "number", "date", "datetime", "boolean"]},
            "label": string(description="the label of label-style CSV headers"),
            "values": {"type": "array", "items": string(), "description": "a picklist's"},
        },
        ["object", "name", "type", "label"],
    ),
)
CUSTOM_FIELD_EXAMPLE: dict[str, Any] = {
    "object": "Account",
    "name": "Region__c",
    "type": "picklist",
    "label": "Region",
    "values": ["EMEA", "APAC", "AMER"],
}
NEW_CUSTOM_FIELD = obj(
    {
        "object": string(),
        "name": string(),
        "type": {"enum": ["text", "picklist", "number", "date", "datetime", "boolean"]},
        "label": string(description="default: the name without __c"),
        "values": {"type": "array", "items": string(), "description": "picklist only, required"},
    },
    ["object", "name", "type"],
)
FIELDS = obj({"fields": {"type": "array", "items": CUSTOM_FIELD}}, ["fields"])
FEATURES = component(
    "TenantFeatures",
    obj({"invoiceSettlement": {"type": "boolean"}}, ["invoiceSettlement"]),
)

ADMIN: dict[str, Operation] = {
    "list_custom_fields": Operation(
        {200: _json("The custom fields", FIELDS, fields={"fields": [CUSTOM_FIELD_EXAMPLE]})}
    ),
    "add_custom_field": Operation(
        {201: _json("Added; a null column for existing rows", CUSTOM_FIELD)},
        Body(common.JSON, NEW_CUSTOM_FIELD, {"picklist": CUSTOM_FIELD_EXAMPLE}),
    ),
    "remove_custom_field": Operation({204: Answer("Removed, with every value it held")}),
    "get_features": Operation(
        {200: _json("The switches", FEATURES, features={"invoiceSettlement": True})}
    ),
    "set_features": Operation(
        {200: _json("The switches now", FEATURES, features={"invoiceSettlement": False})},
        Body(common.JSON, FEATURES, {"off": {"invoiceSettlement": False}}),
    ),
}

# -- operations ------------------------------------------------------------------------------

HEALTH = obj(
    {"status": {"enum": ["ok", "starting"]}, "testControl": {"type": "boolean"}},
    ["status", "testControl"],
)
OPS: dict[str, Operation] = {
    "healthz": Operation(
        {
            200: _json("Ready", HEALTH, ok={"status": "ok", "testControl": False}),
            503: _json("Starting", HEALTH, starting={"status": "starting", "testControl": False}),
        }
    ),
    "metrics": Operation(
        {200: Answer("Prometheus metrics", (Body(CONTENT_TYPE_LATEST, string()),))}
    ),
}
