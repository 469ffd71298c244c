"""The Data Query API (``/query/jobs``): the submit body, the job, and the result download.

Reference dataquery.md sections 2-7: every answer is ``{"data": ...}``; the job's optional
members appear by status (``dataFile``, ``outputRows``, ``processingTime`` once completed,
``errorMessage`` and ``errorCode`` once failed).
"""

from __future__ import annotations

from typing import Any

from aquarium.api.schemas import common
from aquarium.api.schemas.common import Answer, Body, Operation, obj, string
from aquarium.domain import jobs
from aquarium.services import dataquery_request

UUID = string(
    pattern="^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    examples=["3a3e85c4-96e7-486b-ae02-827120104301"],
)
STAMP = string(examples=["2024-07-09T09:47:49.675Z"])
FORMATS = ["JSON", "CSV", "TSV", "DSV"]
COMPRESSIONS = ["NONE", "GZIP", "ZIP"]

REQUEST = common.component(
    "SubmitDataQueryRequest",
    obj(
        {
            "query": string(maxLength=dataquery_request.MAX_QUERY_CHARS, minLength=1),
            "outputFormat": string(examples=FORMATS, description="JSON (lines), CSV, TSV, DSV"),
            "compression": string(examples=COMPRESSIONS),
            "output": obj({"target": string(examples=["S3"])}, ["target"]),
            "columnSeparator": string(minLength=1, maxLength=1, description="DSV only"),
            "encryptionKey": string(description="base64 DER RSA public key (1024 bits or more)"),
            "readDeleted": {"type": "boolean"},
            "sourceData": string(examples=list(dataquery_request.SOURCES)),
            "useIndexJoin": {"type": "boolean"},
            "warehouseSize": string(examples=list(dataquery_request.WAREHOUSE_SIZES)),
        },
        ["query", "outputFormat", "compression", "output"],
    ),
)
JOB = common.component(
    "DataQueryJob",
    obj(
        {
            "id": UUID,
            "query": string(),
            "queryStatus": {"enum": [status.value for status in jobs.DataQueryStatus]},
            "sourceData": string(),
            "useIndexJoin": {"type": "boolean"},
            "remainingRetries": {"type": "integer", "minimum": 0},
            "retries": {"type": "integer", "minimum": 0},
            "outputFormat": {"enum": FORMATS},
            "compression": {"enum": COMPRESSIONS},
            "readDeleted": {"type": "boolean"},
            "columnSeparator": string(),
            "warehouseSize": string(),
            "createdOn": STAMP,
            "updatedOn": STAMP,
            "createdBy": UUID,
            "dataFile": string(format="uri", description="signed, expiring, no credentials"),
            "outputRows": {"type": "integer", "minimum": 0},
            "processingTime": {"type": "integer", "minimum": 0, "description": "milliseconds"},
            "errorMessage": string(),
            "errorCode": string(),
        },
        ["id", "query", "queryStatus", "sourceData", "useIndexJoin", "remainingRetries"],
    ),
)
EXAMPLE_SUBMIT: dict[str, Any] = {
    "query": "SELECT accountnumber, balance FROM Account WHERE Account.balance > 100",
    "compression": "NONE",
    "output": {"target": "S3"},
    "outputFormat": "CSV",
}


def _data(schema: common.Schema, description: str) -> Answer:
    return Answer(description, (Body(common.JSON, obj({"data": schema}, ["data"])),))


RESULT = Operation(
    {
        200: Answer(
            "The result file (JSON lines, CSV, TSV or DSV; gzip, zip or encrypted as asked)",
            (Body("application/octet-stream", string()),),
            {"X-Checksum-Sha256": string()},
        ),
        206: Answer("The range asked for", (Body("application/octet-stream", string()),)),
        416: Answer("The range lies beyond the file"),
    }
)

OPERATIONS: dict[str, Operation] = {
    "submit_data_query": Operation(
        {200: _data(JOB, "The job, accepted")},
        Body(common.JSON, REQUEST, {"csv": EXAMPLE_SUBMIT}),
    ),
    "get_data_query": Operation({200: _data(JOB, "The job")}),
    "list_data_queries": Operation(
        {200: _data({"type": "array", "items": JOB}, "The newest jobs first")}
    ),
    "cancel_data_query": Operation({200: _data(JOB, "The job, cancelled")}),
    "download_data_query_result": RESULT,
}
