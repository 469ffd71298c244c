"""AQuA: the submit body, jobs and batches, result files, describe and OAuth (reference aqua.md).

The submit schema states what ``services/aqua_request.py`` accepts, no more and no less where
JSON Schema can say it: ``version`` as "1.0"/"1.1"/"1.2" or the number, booleans as JSON
booleans or the strings "true"/"false", ``format``/``encrypted``/``sourceData``/``type`` in any
case, text fields as strings or numbers (read as their text, as Zuora's Jackson reads them),
unknown members ignored. What only the data can tell (a ZOQL statement, a partner list, a
calendar date) is refused by the service with its 9000x code.
"""

from __future__ import annotations

from typing import Any

from aquarium.api.schemas import common
from aquarium.api.schemas.common import Answer, Body, Operation, Schema, component, obj, string
from aquarium.export import pgp, writer
from aquarium.services import aqua_request as rules


def any_case(*words: str) -> Schema:
    """One of ``words`` in any case, blanks around it allowed (the service strips them)."""
    spelled = "|".join(
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in w) for w in words
    )
    return string(pattern=rf"^\s*(?:{spelled})\s*$", examples=[w.lower() for w in words][:1])


TEXT = ["string", "number", "null"]
BOOLEAN: Schema = {
    "anyOf": [{"type": ["boolean", "null"]}, any_case("true", "false")],
    "description": "a JSON boolean or the string true/false",
}
VERSION: Schema = {
    "anyOf": [
        string(pattern=r"^\s*1\.[012]\s*$"),
        {"type": "number", "enum": [1.0, 1.1, 1.2]},
    ],
    "description": "1.0 stateless; 1.1 (and 1.2, the same) stateless or stateful with partner "
    "and project",
    "default": "1.0",
}
# Up to MAX_OFFSET_S (3600) seconds, as a number or its digits.
OFFSET: Schema = {
    "anyOf": [
        {"type": ["integer", "null"], "minimum": 0, "maximum": rules.MAX_OFFSET_S},
        string(pattern=r"^\s*0*(?:[0-9]{1,3}|[0-2][0-9]{3}|3[0-5][0-9]{2}|3600)\s*$"),
    ]
}
DELETED_SECTION = obj(
    {
        "column": string(pattern=r"\S", description="the flag column's header"),
        "format": {"enum": list(rules.DELETED_FORMATS)},
        "forceExport": BOOLEAN,
    },
    ["column", "format"],
)
QUERY = component(
    "AquaQuery",
    obj(
        {
            "name": {"type": TEXT, "maxLength": rules.MAX_QUERY_NAME_CHARS},
            "query": string(pattern=r"\S", description="ZOQL or Export ZOQL"),
            "type": {**any_case("zoqlexport", "zoql"), "default": "zoqlexport"},
            "apiVersion": {"type": TEXT, "maxLength": rules.MAX_API_VERSION_CHARS},
            "convertToCurrencies": {
                "type": TEXT,
                "description": "comma-separated ISO 4217 codes (else 90021)",
            },
            "deleted": {
                "anyOf": [
                    {"type": "null"},
                    DELETED_SECTION,
                    {"type": "array", "minItems": 1, "maxItems": 1, "items": DELETED_SECTION},
                ],
                "description": "a stateless job needs forceExport true (else 90012)",
            },
        },
        ["query"],
    ),
)
IS_VERSION_1_0: Schema = {
    "anyOf": [
        {"not": {"required": ["version"]}},
        {"properties": {"version": {"anyOf": [{"const": 1}, string(pattern=r"^\s*1\.0\s*$")]}}},
    ]
}
SUBMIT = component(
    "AquaSubmitRequest",
    {
        **obj(
            {
                "format": {**any_case("csv", "gzip", "zip"), "default": "csv"},
                "version": VERSION,
                "name": {"type": TEXT, "maxLength": rules.MAX_NAME_CHARS},
                "encrypted": {**any_case(*rules.ENCRYPTIONS), "default": "none"},
                "useQueryLabels": BOOLEAN,
                "dateTimeUtc": BOOLEAN,
                "useLastCompletedJobQueries": BOOLEAN,
                "partner": {"type": TEXT, "maxLength": rules.MAX_SESSION_CHARS},
                "project": {"type": TEXT, "maxLength": rules.MAX_SESSION_CHARS},
                "incrementalTime": {
                    "anyOf": [
                        {"type": "null"},
                        {"const": ""},
                        string(pattern=r"^\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s*$"),
                    ],
                    "description": "YYYY-MM-DD hh:mm:ss in the tenant's time zone (else 90015)",
                },
                "offset": OFFSET,
                "notifyUrl": {
                    "anyOf": [
                        {"type": "null"},
                        string(
                            maxLength=rules.MAX_NOTIFY_URL_CHARS - 1,
                            pattern=r"^(?:|[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x1f\x7f]+)$",
                        ),
                    ],
                    "description": "called when the job ends; ${JOBID} and ${STATUS} replaced",
                },
                "nullReplacement": {
                    "type": TEXT,
                    "maxLength": 100,
                    "pattern": '^[^,"\\r\\n]*$',
                    "description": "written for null values (no comma, quote or line break)",
                },
                "sourceData": {"anyOf": [{"type": "null"}, any_case(*rules.SOURCE_DATA)]},
                "queries": {
                    "type": ["array", "null"],
                    "maxItems": 50,
                    "items": common.ref("AquaQuery"),
                },
            }
        ),
        # Version 1.0 needs a query (else 90016); 1.1 may send none (a stateful increment).
        "if": IS_VERSION_1_0,
        "then": {"required": ["queries"], "properties": {"queries": {"minItems": 1}}},
    },
)

BATCH = component(
    "AquaBatch",
    obj(
        {
            "name": string(),
            "query": string(),
            "batchType": {"enum": ["zoql", "zoqlexport"]},
            "batchId": common.HEX_ID,
            "apiVersion": string(),
            "full": {"type": "boolean"},
            "status": {
                "enum": [
                    "pending",
                    "executing",
                    "completed",
                    "aborted",
                    "cancelled",
                    "deleted_notallowed",
                ]
            },
            "localizedStatus": string(),
            "recordCount": {"type": "integer", "minimum": 0},
            "message": string(),
            "fileId": common.HEX_ID,
            "segments": {"type": "array", "items": common.HEX_ID},
            "deleted": obj({"column": string(), "format": string()}),
        },
        ["name", "query", "batchType", "batchId", "status", "recordCount"],
    ),
)
JOB = component(
    "AquaJob",
    obj(
        {
            "id": common.HEX_ID,
            "name": string(),
            "version": {"enum": ["1.0", "1.1", "1.2"]},
            "format": {"enum": ["CSV", "GZIP", "ZIP"]},
            "encrypted": {"enum": ["none", "pgp"]},
            "status": {
                "enum": ["submitted", "executing", "completed", "aborted", "cancelled", "error"]
            },
            "useLastCompletedJobQueries": {"type": "boolean"},
            "startTime": string(examples=["2014-09-03 08:20:07"]),
            "partner": string(),
            "project": string(),
            "notifyUrl": string(),
            "incrementalTime": {
                "type": ["integer", "string"],
                "description": "epoch milliseconds on submit, 'YYYY-MM-DD hh:mm:ss' on GET",
            },
            "offset": {"type": "integer"},
            "nullReplacement": string(),
            "sourceData": string(),
            "batches": {"type": "array", "items": common.ref("AquaBatch")},
        },
        ["id", "version", "format", "encrypted", "status", "batches"],
    ),
)

# -- examples (reference aqua.md sections 2 and 3.3) -----------------------------------------

SUBMIT_EXAMPLES: dict[str, Any] = {
    "stateful": {
        "format": "csv",
        "version": "1.1",
        "name": "Example",
        "encrypted": "none",
        "useQueryLabels": "true",
        "dateTimeUtc": "true",
        "partner": "salesforce",
        "project": "00170000011K3Ub",
        "notifyUrl": "https://example.com/cb?jobId=${JOBID}&status=${STATUS}",
        "incrementalTime": "2015-01-21 10:30:01",
        "offset": 600,
        "nullReplacement": "NULL",
        "sourceData": "LIVE",
        "queries": [
            {
                "name": "Account",
                "query": "select Id, Name, UpdatedDate from Account",
                "type": "zoqlexport",
                "apiVersion": "58.0",
                "convertToCurrencies": "EUR,GBP",
                "deleted": {"column": "Deleted", "format": "Boolean", "forceExport": True},
            }
        ],
    },
    "stateless": {
        "format": "csv",
        "version": "1.0",
        "name": "Example",
        "encrypted": "none",
        "useQueryLabels": "true",
        "queries": [
            {
                "name": "AccountingPeriod",
                "query": "select Id,StartDate,EndDate,FiscalYear,Name,Status from AccountingPeriod",
                "type": "zoqlexport",
            }
        ],
    },
}
SUBMITTED = {
    "encrypted": "none",
    "partner": "salesforce",
    "useLastCompletedJobQueries": False,
    "project": "00170000011k3ub",
    "batches": [
        {
            "localizedStatus": "pending",
            "apiVersion": "91.0",
            "full": False,
            "recordCount": 0,
            "batchId": "2c92c0f966cd4f580166ec0ac8a75bb8",
            "batchType": "zoqlexport",
            "status": "pending",
            "name": "AccountingPeriod",
            "query": "select Id,StartDate,EndDate,FiscalYear,Name,Status from AccountingPeriod",
        }
    ],
    "status": "submitted",
    "name": "Example",
    "id": "2c92c0f966cd4f580166ec0ac89d5bb7",
    "version": "1.1",
    "format": "CSV",
}
COMPLETED = {
    "batches": [
        {
            "full": True,
            "name": "AccountingPeriod",
            "message": "",
            "query": "select Id,StartDate,EndDate,FiscalYear,Name,Status from AccountingPeriod",
            "status": "completed",
            "recordCount": 1,
            "apiVersion": "60.0",
            "fileId": "402881824835bb2a01483c19f8190259",
            "batchType": "zoqlexport",
            "batchId": "402881824835bb2a01483c19f7da0257",
        }
    ],
    "project": "00170000011K3Ub",
    "partner": "salesforce",
    "name": "Example",
    "id": "402881824835bb2a01483c19f7d70256",
    "version": "1.1",
    "format": "CSV",
    "startTime": "2014-09-03 08:20:07",
    "status": "completed",
    "encrypted": "none",
}
SYNTAX_ERROR = {
    "id": None,
    "status": "error",
    "errorCode": "90005",
    "message": "There is a syntax error in one of the queries in the AQuA input.",
}
NOT_CANCELLABLE = {
    "id": "402881824835bb2a01483c19f7d70256",
    "status": "completed",
    "errorCode": "90003",
    "message": "Invalid Job Id for job cancellation.",
}
UNKNOWN_JOB = {"id": None, "errorCode": "90002", "message": "Invalid Job Id."}


def job_or_refusal(**examples: Any) -> Answer:
    """HTTP 200: the job, or Zuora's refusal in the body (CONTRACT.md "AQuA")."""
    schema = {"oneOf": [JOB, common.AQUA_ERROR]}
    return Answer(
        "The job, or a refusal in AQuA's error body", (Body(common.JSON, schema, examples),)
    )


FILE_TYPES = (*writer.CONTENT_TYPES.values(), pgp.CONTENT_TYPE)
FILE_HEADERS = {
    "Digest": string(description="sha-256=<hex> of the whole file"),
    "X-Checksum-Sha256": string(description="the file's SHA-256 (hex)"),
    "Accept-Ranges": string(description="bytes"),
}
BINARY = string(description="the file as stored")
FILE_BODIES = tuple(Body(media, BINARY) for media in FILE_TYPES)
DOWNLOAD = Operation(
    {
        200: Answer("The result file", FILE_BODIES, FILE_HEADERS),
        206: Answer(
            "The range asked for", FILE_BODIES, {**FILE_HEADERS, "Content-Range": string()}
        ),
        416: Answer("The range lies beyond the file", headers={"Content-Range": string()}),
    }
)

TOKEN_REQUEST = obj(
    {
        "grant_type": {"const": "client_credentials"},
        "client_id": string(description="or in a Basic header with the secret"),
        "client_secret": string(),
    },
    ["grant_type"],
)
TOKEN = obj(
    {
        "access_token": string(),
        "token_type": {"const": "bearer"},
        "expires_in": {"type": "integer"},
        "scope": string(),
        "jti": string(),
    },
    ["access_token", "token_type", "expires_in", "scope", "jti"],
)
OAUTH_ERROR = obj({"error": string(), "error_description": string()}, ["error"])
XML_DESCRIBE = Body("application/xml;charset=UTF-8", string(description="the catalogue as XML"))

OPERATIONS: dict[str, Operation] = {
    "submit_job": Operation(
        {200: job_or_refusal(submitted=SUBMITTED, refused=SYNTAX_ERROR)},
        Body(common.JSON, SUBMIT, SUBMIT_EXAMPLES),
    ),
    "get_job": Operation({200: job_or_refusal(completed=COMPLETED, unknown=UNKNOWN_JOB)}),
    "cancel_job": Operation(
        {200: job_or_refusal(not_cancellable=NOT_CANCELLABLE, unknown=UNKNOWN_JOB)}
    ),
    "last_completed_job": Operation({200: job_or_refusal(completed=COMPLETED)}),
    "download_file": DOWNLOAD,
    "download_file_plural": DOWNLOAD,
    "download_file_legacy": DOWNLOAD,
    "describe_objects": Operation({200: Answer("Every object", (XML_DESCRIBE,))}),
    "describe_object": Operation({200: Answer("One object's fields", (XML_DESCRIBE,))}),
    "create_token": Operation(
        {
            200: Answer(
                "A bearer token",
                (Body(common.JSON, TOKEN),),
                {"Cache-Control": string(description="no-store")},
            ),
            400: Answer("grant_type is not client_credentials", (Body(common.JSON, OAUTH_ERROR),)),
            401: Answer("Bad client credentials", (Body(common.JSON, OAUTH_ERROR),)),
        },
        Body(
            "application/x-www-form-urlencoded",
            TOKEN_REQUEST,
            {
                "form": {
                    "client_id": "11111111-2222-3333-4444-555555555555",
                    "client_secret": "demo",
                    "grant_type": "client_credentials",
                }
            },
        ),
    ),
}
