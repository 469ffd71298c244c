"""Query and header parameters the routers read themselves (``request.query_params``), which
FastAPI therefore cannot see: written into the document by operation id (twins included).

Each schema states what the service accepts, no more and no less, so schema-driven clients and
the fuzz tier (tests/fuzz) send what is taken and are refused what is not: the services read
``viewType``, ``namespace`` and ``pivoted`` in any case, integers as decimal text, and a
missing required parameter is Zuora's "Required ... parameter ... is not present." (HTTP 400).

Left out on purpose: ``orderBy`` and ``paging`` (JSON text whose members the schema of a query
parameter cannot state), ``labelIds`` of Copy (valid only for labels the tenant holds), the
``entityId``/``entityName`` headers (one entity per tenant; both at once are refused), and the
job API's list filters (docs/job-finder-api.md describes them).
"""

from __future__ import annotations

from typing import Any

from aquarium.domain import jobs
from aquarium.services import data_queries, report_runs, reports, run_service

Parameter = dict[str, Any]


def any_case(*words: str, optional: bool = False) -> str:
    """A pattern matching exactly ``words`` in any mix of upper and lower case."""
    spelled = (
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word) for word in words
    )
    return f"^(?:{'|'.join(spelled)}){'?' if optional else ''}$"


#: The largest integer a parameter's text may spell (``reports.DECIMAL``: 18 digits).
LARGEST = 10**18 - 1


def query(name: str, schema: dict[str, Any], description: str, required: bool = False) -> Parameter:
    """A query parameter; one that is not an array is never exploded, so a value of another
    type (an object, say) is sent under the parameter's own name, where the service refuses
    it, rather than as other parameters it ignores."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
        **({} if schema.get("type") == "array" else {"style": "form", "explode": False}),
    }


def header(name: str, schema: dict[str, Any], description: str) -> Parameter:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": schema,
    }


VIEW_TYPE = query(
    "viewType",
    {"type": "string", "pattern": any_case(*reports.VIEW_TYPES), "examples": ["Detail"]},
    "Detail or Summary (any case)",
    required=True,
)
NAMESPACE = query(
    "namespace",
    {"type": "string", "pattern": any_case(*reports.NAMESPACES, optional=True)},
    "BASIC (the default) or ADVANCED, any case",
)
PIVOTED = query(
    "pivoted",
    {"type": "string", "pattern": any_case("true", "false", optional=True)},
    "true: a Summary run's crosstab",
)
RUN_STATUS = query(
    "status",
    {
        "type": "array",
        "items": {
            "type": "string",
            "pattern": any_case(*(s.value for s in jobs.ReportRunStatus), "CANCELED"),
            "description": "blanks around the word are ignored",
        },
    },
    "runs in any of these statuses (the parameter may repeat)",
)

#: By operation id: the parameters the router reads beside the path's.
PARAMETERS: dict[str, tuple[Parameter, ...]] = {
    "create_report": (NAMESPACE,),
    "search_reports": (
        query("query", {"type": "string"}, "words each report found holds", required=True),
        query(
            "searchStart",
            {
                "anyOf": [
                    {"type": "integer", "minimum": 0, "maximum": LARGEST},
                    {"type": "string", "maxLength": 0},
                ]
            },
            "the first of 50 reports (from 0; empty: 0, as Spring reads an empty parameter)",
        ),
    ),
    "copy_report": (
        query("from", {"type": "string"}, "the id of the report to copy", required=True),
        query(
            "name",
            {"type": "string", "maxLength": reports.MAX_NAME_CHARS},
            "the copy's name (default: the report's)",
        ),
    ),
    "run_report": (
        VIEW_TYPE,
        header(
            "Idempotency-Key",
            {"type": "string", "maxLength": run_service.MAX_IDEMPOTENCY_KEY},
            "sent again within 24 hours, answers the run the first request started",
        ),
    ),
    "report_data": (
        query(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": LARGEST},
            "the first line (the header is line 0, so 1 is the first row)",
            required=True,
        ),
        query(
            "pageSize",
            {"type": "integer", "minimum": 1, "maximum": report_runs.MAX_PAGE_SIZE},
            "rows per page",
            required=True,
        ),
    ),
    "export_run": (PIVOTED,),
    "list_runs": (RUN_STATUS,),
    "submit_data_query": (
        header(
            "Idempotency-Key",
            {"type": "string", "maxLength": run_service.MAX_IDEMPOTENCY_KEY},
            "sent again with the same body within 24 hours, answers the job it made",
        ),
    ),
    "list_data_queries": (
        query(
            "queryStatus",
            {"type": "string", "pattern": any_case(*(s.value for s in jobs.DataQueryStatus))},
            "only jobs in this status",
        ),
        query(
            "pageSize",
            {"type": "integer", "minimum": 1, "maximum": data_queries.MAX_PAGE_SIZE},
            "how many of the newest jobs (default 20)",
        ),
    ),
    "download_data_query_result": (
        query("expires", {"type": "string"}, "when the link expires (signed)", required=True),
        query("signature", {"type": "string"}, "the link's signature", required=True),
    ),
}
