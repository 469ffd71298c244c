"""The Reporting body schemas of openapi.json and the services agree: a body the schema takes,
the service takes; a body it refuses, the service refuses (the run list, tenant settings, Run a
Report's override, labels)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from aquarium.api import openapi
from aquarium.domain import reporting_errors
from aquarium.services import report_admin, report_labels, report_run_list, report_runs

DOCUMENT = openapi.document()
PATHS = DOCUMENT["paths"]


def schema_of(path: str) -> jsonschema.Draft202012Validator:
    content = PATHS[path]["post"]["requestBody"]["content"]
    schema = content["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]})


def run_list(body: object) -> object:
    return report_run_list.ListRequest.parse([], body)


def settings(body: object) -> object:
    assert isinstance(body, dict)
    return report_admin.email_domains(body)


def override(body: object) -> object:
    return report_runs._overrides(body)


def label_name(body: object) -> object:
    assert isinstance(body, dict)
    return report_labels._label_name(body.get("name"))


Case = tuple[str, Callable[[object], object], object]
ACCEPTED: list[Case] = [
    ("/api/rest/v1/reportruns", run_list, None),
    ("/api/rest/v1/reportruns", run_list, {}),
    (
        "/api/rest/v1/reportruns",
        run_list,
        {
            "columns": ["reportId", "status", " ", "id"],
            "pagination": {"currentPage": "2", "pageSize": 1000},
            "sort": [{"field": "startedOn", "direction": "DESC", "priority": 0}],
            "filters": [{"field": "status", "operator": "in", "value": ["COMPLETED"]}],
        },
    ),
    ("/api/rest/v1/settings", settings, {"emailDomains": ["CorporationXYZ.com", " a.io "]}),
    ("/api/rest/v1/settings", settings, {"emailDomains": []}),
    ("/api/rest/v1/settings", settings, {"emailDomains": None}),
    ("/api/rest/v1/reports/{report_id}/reportrun", override, None),
    ("/api/rest/v1/reports/{report_id}/reportrun", override, {}),
    ("/api/rest/v1/reports/{report_id}/reportrun", override, [{"filterClauses": []}]),
    ("/api/rest/v1/reports/{report_id}/reportrun", override, {"filters": []}),
    ("/api/rest/v1/reportlabels", label_name, {"name": "Finance", "parentId": None}),
]
REFUSED: list[Case] = [
    ("/api/rest/v1/reportruns", run_list, []),
    ("/api/rest/v1/reportruns", run_list, {"columns": ["nope"]}),
    ("/api/rest/v1/reportruns", run_list, {"columns": "reportId"}),
    ("/api/rest/v1/reportruns", run_list, {"pagination": 0}),
    ("/api/rest/v1/reportruns", run_list, {"pagination": {"pageSize": 1001}}),
    ("/api/rest/v1/reportruns", run_list, {"pagination": {"pageSize": "1001"}}),
    ("/api/rest/v1/reportruns", run_list, {"pagination": {"currentPage": "0"}}),
    ("/api/rest/v1/reportruns", run_list, {"pagination": {"currentPage": True}}),
    ("/api/rest/v1/reportruns", run_list, {"sort": [{"field": "status", "direction": "up"}]}),
    ("/api/rest/v1/reportruns", run_list, {"sort": [{"field": "status", "priority": "1"}]}),
    ("/api/rest/v1/reportruns", run_list, {"filters": [{"field": "status", "operator": "~"}]}),
    ("/api/rest/v1/settings", settings, {}),
    ("/api/rest/v1/settings", settings, {"emailDomains": ["not a domain"]}),
    ("/api/rest/v1/settings", settings, {"emailDomains": [7]}),
    ("/api/rest/v1/reports/{report_id}/reportrun", override, {"viewType": "Detail"}),
    ("/api/rest/v1/reports/{report_id}/reportrun", override, {"filters": {}}),
    ("/api/rest/v1/reportlabels", label_name, {"name": "a/b"}),
    ("/api/rest/v1/reportlabels", label_name, {"name": "  "}),
    ("/api/rest/v1/reportlabels", label_name, {"name": "x" * 256}),
]


def case_id(case: Case) -> str:
    _path, service, body = case
    return f"{service.__name__}:{body!r}"[:80]


@pytest.mark.unit
@pytest.mark.parametrize(("path", "service", "body"), ACCEPTED, ids=[case_id(c) for c in ACCEPTED])
def test_what_the_schema_takes_the_service_takes(
    path: str, service: Callable[[object], Any], body: object
) -> None:
    assert not list(schema_of(path).iter_errors(body))
    service(body)


@pytest.mark.unit
@pytest.mark.parametrize(("path", "service", "body"), REFUSED, ids=[case_id(c) for c in REFUSED])
def test_what_the_schema_refuses_the_service_refuses(
    path: str, service: Callable[[object], Any], body: object
) -> None:
    assert list(schema_of(path).iter_errors(body))
    with pytest.raises(reporting_errors.ReportingError):
        service(body)
