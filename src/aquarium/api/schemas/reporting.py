"""The Reporting API (reference reporting.md): bodies of definitions, labels, settings, runs and
the run list, and the ``{"success": true, "response": ...}`` answers, all with Zuora's
``application/json;charset=UTF-8`` (the export is UTF-16 text).

The bodies state what ``services/reports.py``, ``report_labels.py``, ``report_admin.py``,
``report_runs.py`` and ``report_run_list.py`` accept. A list of strings is read as Jackson reads
a ``List<String>``: scalars become text, arrays and objects inside cannot be read.
"""

from __future__ import annotations

from typing import Any

from aquarium.api.schemas import common
from aquarium.api.schemas.common import Answer, Body, Operation, Schema, component, obj, string
from aquarium.export import report_output
from aquarium.services import report_admin, report_labels, report_run_list, reports
from aquarium.store import report_runs_repo

JSON = common.REPORTING_JSON

STRING_LIST: Schema = {
    "type": "array",
    "items": {"type": ["string", "number", "boolean", "null"]},
}
#: ``report_admin._DOMAIN`` in ECMA-262 words (the service strips blanks around each domain).
_PART = report_admin.HOST_LABEL
DOMAIN = string(
    pattern=rf"^\s*(?=\S{{1,{report_admin.MAX_DOMAIN_CHARS}}}\s*$)(?:{_PART}\.)+[A-Za-z]{{2,63}}\s*$",
    examples=["CorporationXYZ.com"],
)


def text(**constraints: Any) -> Schema:
    """A string member the service reads as absent when null or empty."""
    return {"type": ["string", "null"], **constraints}


REPORT_REQUEST = component(
    "ReportDefinitionRequest",
    {
        **obj(
            {
                "name": string(minLength=1, maxLength=reports.MAX_NAME_CHARS),
                "dsName": text(description="the data source's name, e.g. Account"),
                "datasource": text(description="the data source's label"),
                "description": text(),
                "viewType": {"enum": [*reports.VIEW_TYPES, None]},
                "definition": {
                    "anyOf": [
                        string(minLength=1, contentMediaType="application/json"),
                        {"type": "object"},
                    ],
                    "description": "viewFields, filters and sorts: a JSON text or object",
                },
                "labelIds": {"anyOf": [{"type": "null"}, STRING_LIST]},
            },
            ["name", "definition"],
        ),
        "anyOf": [
            {"required": ["dsName"], "properties": {"dsName": string(minLength=1)}},
            {"required": ["datasource"], "properties": {"datasource": string(minLength=1)}},
        ],
    },
)
SEP = report_labels.PATH_SEPARATOR
LABEL_REQUEST = obj(
    {
        "name": string(
            maxLength=report_labels.MAX_NAME,
            pattern=rf"^[^{SEP}]*[^{SEP}\s][^{SEP}]*$",
        ),
        "parentId": text(description="My Reports when absent"),
    },
    ["name"],
)
# Adding or taking off no label is refused (NO_LABELS).
LABEL_IDS_REQUEST = obj({"labelIds": {**STRING_LIST, "minItems": 1}}, ["labelIds"])
SETTINGS_REQUEST = obj(
    {
        "emailDomains": {
            "type": ["array", "null"],
            "description": "[] (or null): any domain",
            "maxItems": report_admin.MAX_EMAIL_DOMAINS,
            "items": DOMAIN,
        }
    },
    ["emailDomains"],
)
NAMES = {**STRING_LIST, "minItems": 1}
TRANSFER_REQUEST = {
    **obj(
        {
            "reportIds": {"anyOf": [{"type": "null"}, NAMES]},
            "reportNames": {"anyOf": [{"type": "null"}, NAMES]},
            "newOwnerUserId": string(pattern=r"\S", description="the new owner's user name"),
        },
        ["newOwnerUserId"],
    ),
    "oneOf": [
        {"required": ["reportIds"], "properties": {"reportIds": {"type": "array"}}},
        {"required": ["reportNames"], "properties": {"reportNames": {"type": "array"}}},
    ],
}
FILTER_GROUPS = {"type": "array", "items": {}, "description": "filter groups [RUN]"}
RUN_REQUEST: Schema = {
    "anyOf": [
        {"type": "null"},
        FILTER_GROUPS,
        obj({"filters": FILTER_GROUPS}, ["filters"]),
        {"type": "object", "maxProperties": 0},
    ]
}
COLUMN = {"enum": list(report_run_list.LIST_COLUMNS)}


def page_number(maximum: int, default: int) -> Schema:
    """A page number or size from 1 to ``maximum`` (a power of ten), as a number or its
    digits."""
    digits = len(str(maximum)) - 1
    assert maximum == 10**digits, "the pattern below spells powers of ten only"
    return {
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": maximum},
            string(pattern=rf"^\s*\+?0*(?:[1-9][0-9]{{0,{digits - 1}}}|10{{{digits}}})\s*$"),
        ],
        "default": default,
    }


LIST_REQUEST = component(
    "ReportRunListRequest",
    {
        "type": ["object", "null"],
        "properties": {
            "columns": {
                "type": ["array", "null"],
                "items": {"anyOf": [COLUMN, string(pattern=r"^\s*$")]},
            },
            "pagination": {
                "type": ["object", "null"],
                "properties": {
                    "currentPage": page_number(report_run_list.MAX_LIST_PAGE, 1),
                    "pageSize": page_number(
                        report_run_list.MAX_LIST_PAGE_SIZE, report_run_list.DEFAULT_LIST_PAGE_SIZE
                    ),
                },
            },
            "sort": {
                "type": ["array", "null"],
                "items": obj(
                    {
                        "field": COLUMN,
                        "direction": string(pattern="^(?:[Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$"),
                        "priority": {"type": "integer"},
                    },
                    ["field"],
                ),
            },
            "filters": {
                "type": ["array", "null"],
                "items": obj(
                    {
                        "field": COLUMN,
                        "operator": {"enum": list(report_runs_repo.FILTER_OPERATORS)},
                        "value": {},
                    },
                    ["field"],
                ),
            },
        },
    },
)


def ok(payload: Schema) -> Schema:
    return obj({"success": {"const": True}, "response": payload}, ["success", "response"])


FLAG = {"type": "boolean"}
WHO = string(description="a user's 32-hex id")
REPORT = component(
    "Report",
    obj(
        {
            "id": common.HEX_ID,
            "name": string(),
            "number": string(pattern="^REP[0-9]{7,}$", examples=["REP0000007"]),
            "type": string(),
            "dsName": string(),
            "datasource": string(),
            "namespace": {"enum": list(reports.NAMESPACES)},
            "description": string(),
            "definition": string(contentMediaType="application/json"),
            "viewType": {"enum": list(reports.VIEW_TYPES)},
            "version": {"type": ["integer", "string"]},
            "labelIds": {"type": "array", "items": string()},
            "createdBy": WHO,
            "updatedBy": WHO,
            "userId": WHO,
            "creator": string(),
            "updater": string(),
            "createdOn": string(examples=["2018-04-13T01:52:10+0000"]),
            "updatedOn": string(),
            "deleted": FLAG,
            "favorite": FLAG,
            "shared": FLAG,
            "zuora": FLAG,
            "hidden": FLAG,
            "prototypeId": string(),
        },
        [
            "id",
            "name",
            "number",
            "type",
            "dsName",
            "datasource",
            "namespace",
            "description",
            "definition",
            "viewType",
            "labelIds",
            "createdBy",
            "updatedBy",
            "createdOn",
            "updatedOn",
            "creator",
            "updater",
            "deleted",
        ],
    ),
)
LABEL = component(
    "ReportLabel",
    obj(
        {
            "id": common.HEX_ID,
            "name": string(),
            "type": string(),
            "parentId": text(),
            "labelNamePath": string(),
            "order": {"type": "integer"},
            "home": FLAG,
            "root": FLAG,
            "shared": FLAG,
            "createdOn": string(),
            "updatedOn": string(),
        },
        ["id", "name", "type", "parentId", "labelNamePath", "home", "root", "createdOn"],
    ),
)
RUN_STATUS = {
    "enum": ["STARTED", "QUERYDATA", "PROCESSINGDATA", "COMPLETED", "CANCELLED", "ERROR", "INVALID"]
}
SHOWN_TIME = string(examples=["2018-04-13T02:11:38.464+0000"])
RUN = component(
    "ReportRun",
    obj(
        {
            "id": common.HEX_ID,
            "reportId": common.HEX_ID,
            "reportName": string(),
            "status": RUN_STATUS,
            "reportType": {"enum": list(reports.VIEW_TYPES)},
            "reportDefinition": string(contentMediaType="application/json"),
            "startedOn": SHOWN_TIME,
            "updatedOn": SHOWN_TIME,
            "completedOn": SHOWN_TIME,
            "rowCount": {"type": "integer", "minimum": 0},
            "errorMessage": string(),
            "createdByUserProfile": obj({"username": string()}, ["username"]),
        },
        ["id", "reportId", "status", "reportType", "reportDefinition", "startedOn"],
    ),
)
WORDS = string(examples=["The report run has been canceled"])
PAGED: Schema = obj(
    {
        "totalCount": {"type": "integer"},
        "totalPage": {"type": "integer"},
        "pageSize": {"type": "integer"},
        "elements": {"type": "array", "items": REPORT},
        "pageNo": {"type": "integer", "minimum": 0},
    },
    ["totalCount", "totalPage", "pageNo", "pageSize", "elements"],
)
#: A run of the list: ``id`` and the columns asked for (the user name nested).
RUN_ELEMENT = obj(
    {
        "id": common.HEX_ID,
        "status": RUN_STATUS,
        "createdByUserProfile": obj({"username": {"type": ["string", "null"]}}),
    },
    ["id"],
)
RUN_LIST = obj(
    {
        "totalCount": {"type": "integer", "minimum": 0},
        "totalPage": {"type": "integer", "minimum": 0},
        "currentPage": {"type": "integer", "minimum": 1},
        "pageSize": {"type": "integer", "minimum": 1},
        "elements": {"type": "array", "items": RUN_ELEMENT},
    },
    ["totalCount", "totalPage", "currentPage", "pageSize", "elements"],
)
REPORT_LIST = obj(
    {"reports": {"type": "array", "items": REPORT}, "count": {"type": "integer"}},
    ["reports", "count"],
)
DATA_PAGE = obj(
    {
        "page": {"type": "array", "items": {"type": "object"}},
        "size": {"type": "integer"},
        "offset": {"type": "integer"},
        "total": {"type": "integer"},
    },
    ["page", "size", "offset", "total"],
)

# -- examples (reference reporting.md sections 4 and 5) --------------------------------------

RUN_ID = "ff808081629755b80162bcc5bd624d2d"
EXAMPLES: dict[str, Any] = {
    "run": {"success": True, "response": {"reportRunId": RUN_ID}},
    "get_run": {
        "success": True,
        "response": {
            "reportType": "Detail",
            "id": "ff808081529f4e3401529fd61f080074",
            "reportId": "ff808081529f4e3401529fd373730070",
            "startedOn": "2018-04-13T02:11:38.464+0000",
            "status": "COMPLETED",
            "reportDefinition": "{}",
            "updatedOn": "2018-04-13T02:11:40.008+0000",
        },
    },
    "data": {
        "success": True,
        "response": {
            "page": [
                {
                    "Invoice.CreatedDate": "Dec 7, 2013 2:18:00 PM",
                    "Account.Currency": "USD",
                    "Invoice.Amount": "900.00",
                    "BillToContact.AccountId": "2c90838f42cf16030142cf215ecb0014",
                }
            ],
            "size": 100,
            "offset": 1,
            "total": 4,
        },
    },
    "canceled": {"success": True, "response": "The report run has been canceled"},
    "was_canceled": {"success": True, "response": "The report run was canceled"},
}
LIST_EXAMPLE = {
    "columns": [
        "reportId",
        "startedOn",
        "reportType",
        "createdByUserProfile.username",
        "status",
        " ",
    ],
    "pagination": {"currentPage": 1, "pageSize": 250},
    "sort": [{"field": "startedOn", "direction": "desc", "priority": 0}],
}
RUN_EXAMPLE = [
    {
        "logicalOperator": {"value": "OR", "label": "OPERATOR_OR", "name": "or"},
        "filterClauses": [
            {
                "field": {"name": "Name", "id": "Product.Name", "label": "Name", "type": "text"},
                "value": "Hockey",
                "operator": {"name": "contains", "value": "contains"},
            }
        ],
    }
]
REPORT_EXAMPLE = {
    "name": "Accounts by currency",
    "dsName": "Account",
    "description": "",
    "definition": '{"selectedFields":["Account.Name","Account.Currency"]}',
}


def answer(payload: Schema, **examples: Any) -> Operation:
    return Operation({200: Answer("Done", (Body(JSON, ok(payload), examples),))})


def with_body(
    operation: Operation, schema: Schema, required: bool = True, **examples: Any
) -> Operation:
    return Operation(operation.answers, Body(common.JSON, schema, examples), required)


EXPORT = Operation(
    {
        200: Answer(
            "UTF-16LE tab-separated text with a BOM",
            (Body(report_output.EXPORT_CONTENT_TYPE, string()),),
            {
                "Content-Disposition": string(description="attachment; filename=..."),
                "X-Aquarium-SHA256": string(),
            },
        ),
        206: Answer("The range asked for", (Body(report_output.EXPORT_CONTENT_TYPE, string()),)),
        416: Answer("The range lies beyond the file"),
    }
)

OPERATIONS: dict[str, Operation] = {
    "create_report": with_body(answer(REPORT), REPORT_REQUEST, example=REPORT_EXAMPLE),
    "update_report": with_body(answer(REPORT), REPORT_REQUEST, example=REPORT_EXAMPLE),
    "get_report": answer(REPORT),
    "search_reports": answer(REPORT_LIST),
    "list_reports": answer(REPORT_LIST),
    "copy_report": answer(REPORT),
    "delete_report": answer(WORDS, deleted={"success": True, "response": reports.DELETED}),
    "list_root_labels": answer({"type": "array", "items": LABEL}),
    "list_sub_labels": answer({"type": "array", "items": LABEL}),
    "create_label": with_body(answer(LABEL), LABEL_REQUEST, example={"name": "Finance"}),
    "list_report_labels": answer({"type": "array", "items": LABEL}),
    "label_report": with_body(answer(WORDS), LABEL_IDS_REQUEST, example={"labelIds": [RUN_ID]}),
    "unlabel_report": with_body(answer(WORDS), LABEL_IDS_REQUEST, example={"labelIds": [RUN_ID]}),
    "reports_by_label": answer({"anyOf": [{"type": "array", "items": REPORT}, PAGED]}),
    "get_settings": answer(
        obj({"emailDomains": {"type": "array", "items": string()}}, ["emailDomains"])
    ),
    "update_settings": with_body(
        answer(
            obj(
                {"status": string(), "code": {"type": "integer"}, "message": string()},
                ["status", "code", "message"],
            ),
            saved={"success": True, "response": report_admin.SETTINGS_SAVED},
        ),
        SETTINGS_REQUEST,
        example={"emailDomains": ["CorporationXYZ.com"]},
    ),
    "transfer_ownership": with_body(
        answer(WORDS),
        TRANSFER_REQUEST,
        example={"reportIds": [RUN_ID], "newOwnerUserId": "demo"},
    ),
    "run_report": with_body(
        answer(obj({"reportRunId": common.HEX_ID}, ["reportRunId"]), run=EXAMPLES["run"]),
        RUN_REQUEST,
        required=False,
        filters=RUN_EXAMPLE,
    ),
    "get_run": answer(RUN, completed=EXAMPLES["get_run"]),
    "latest_run": answer(RUN, completed=EXAMPLES["get_run"]),
    "report_data": answer(DATA_PAGE, page=EXAMPLES["data"]),
    "export_run": EXPORT,
    "list_runs": with_body(answer(RUN_LIST), LIST_REQUEST, required=False, example=LIST_EXAMPLE),
    "cancel_run": answer(
        WORDS, canceled=EXAMPLES["canceled"], was_canceled=EXAMPLES["was_canceled"]
    ),
}
