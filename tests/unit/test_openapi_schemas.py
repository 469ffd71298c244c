"""openapi.json describes every body and answer (api/schemas/), and says it rightly.

- the document is valid OpenAPI 3.1 (openapi-spec-validator), and broken, it is caught;
- every schema is a valid JSON Schema (Draft 2020-12, OpenAPI 3.1's dialect);
- every example validates against its own schema;
- every operation answers every status its family's table of api/errors.py holds;
- the AQuA submit schema and the service agree: what the schema takes, the service takes, and
  what it refuses, the service refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from aquarium.api import errors as api_errors
from aquarium.api import openapi
from aquarium.api.schemas import common, parameters
from aquarium.api.schemas import document as schema_document
from aquarium.domain import errors
from aquarium.services import aqua_request

DOCUMENT = openapi.document()
METHODS = ("get", "put", "post", "delete", "patch")


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def media_objects() -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, media type object)`` of every request body and answer."""
    for path, method, operation in operations():
        body = operation.get("requestBody", {}).get("content", {})
        for media, found in body.items():
            yield f"{method} {path} request {media}", found
        for status, answer in operation["responses"].items():
            for media, found in answer.get("content", {}).items():
                yield f"{method} {path} {status} {media}", found


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator of ``schema`` whose ``#/components/...`` references reach the document's."""
    return jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]})


@pytest.mark.unit
def test_the_document_is_valid_openapi() -> None:
    validate_openapi(DOCUMENT)


@pytest.mark.unit
def test_parameters_the_routers_read_are_documented() -> None:
    found = {
        (path, parameter["name"]): parameter
        for path, _, operation in operations()
        for parameter in operation.get("parameters", [])
    }
    for prefix in ("/api/rest/v1", "/reporting/api/rest/v1"):
        assert found[(prefix + "/reports/search", "query")]["required"]
        assert found[(prefix + "/reportruns/reportdata/{run_id}", "pageSize")]["required"]
        assert found[(prefix + "/reports/{report_id}/reportrun", "viewType")]["required"]
        assert (prefix + "/reports/{report_id}/reportrun", "Idempotency-Key") in found


@pytest.mark.unit
@pytest.mark.parametrize(
    ("pattern", "taken", "refused"),
    [
        (parameters.any_case("Detail", "Summary"), ["detail", "SUMMARY", "Detail"], ["", "Det"]),
        (parameters.any_case("true", "false", optional=True), ["", "TRUE", "False"], ["yes"]),
    ],
)
def test_any_case_patterns(pattern: str, taken: list[str], refused: list[str]) -> None:
    for word in taken:
        assert re.fullmatch(pattern, word), word
    for word in refused:
        assert not re.fullmatch(pattern, word), word


@pytest.mark.unit
def test_a_broken_document_is_caught() -> None:
    broken = {**DOCUMENT, "paths": {"/v1/batch-query": {"post": {"responses": "none"}}}}
    with pytest.raises(OpenAPIValidationError):
        validate_openapi(broken)


@pytest.mark.unit
def test_every_schema_is_a_valid_json_schema() -> None:
    for schema in DOCUMENT["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for where, found in media_objects():
        try:
            jsonschema.Draft202012Validator.check_schema(found["schema"])
        except jsonschema.SchemaError as exc:
            raise AssertionError(f"{where}: {exc.message}") from exc


@pytest.mark.unit
def test_every_example_validates_against_its_schema() -> None:
    checked = 0
    for where, found in media_objects():
        check = validator(found["schema"])
        for name, example in found.get("examples", {}).items():
            problems = [e.message for e in check.iter_errors(example["value"])]
            assert not problems, f"{where} example {name!r}: {problems}"
            checked += 1
    assert checked >= 20


@pytest.mark.unit
def test_a_broken_example_is_caught() -> None:
    """The check above can fail: a job without batches is no AQuA answer."""
    schema = DOCUMENT["paths"]["/v1/batch-query/jobs/{job_id}"]["get"]["responses"]["200"]
    check = validator(schema["content"]["application/json"]["schema"])
    assert list(check.iter_errors({"id": "0" * 32, "status": "completed"}))


@pytest.mark.unit
def test_every_operation_has_a_success_and_an_error_answer() -> None:
    count = 0
    for path, method, operation in operations():
        statuses = {int(status) for status in operation["responses"]}
        assert statuses, f"{method} {path}"
        assert any(s >= 500 for s in statuses), f"{method} {path} says no 500"
        count += 1
    # 79 routes but the two of GET /reports/reportlabels (Zuora's 405 for a missing label id);
    # five of them the tenant administration API (custom fields, features).
    assert count == 82


@pytest.mark.unit
def test_every_operation_answers_every_status_of_its_family_table() -> None:
    for path, method, operation in operations():
        family = api_errors.family_of(path)
        if family is api_errors.Family.WEB:
            continue
        table = api_errors.TABLES[family]
        wanted = {str(row.status) for row in table.rows}
        assert wanted <= set(operation["responses"]), f"{method} {path}"


@pytest.mark.unit
def test_every_envelope_builder_of_the_tables_has_a_schema() -> None:
    for table in api_errors.TABLES.values():
        for row in table.rows:
            assert common.envelope_name(row) in common.ENVELOPES, row


@pytest.mark.unit
def test_every_operation_is_described() -> None:
    """Bodies where the routers read one; operations without a body have none."""
    with_body = {
        operation["operationId"] for _, _, operation in operations() if "requestBody" in operation
    }
    for path, method, operation in operations():
        schema_document.operation_of(operation["operationId"])  # KeyError: not described
        if method in ("post", "put") and not path.endswith("/reports/copy"):
            assert operation["operationId"] in with_body, f"{method} {path} has no body"
    assert "submit_job" in with_body and "submit_job_legacy" in with_body
    assert "create_token" in with_body and "list_runs_reporting" in with_body


@pytest.mark.unit
def test_reporting_answers_say_their_charset() -> None:
    answer = DOCUMENT["paths"]["/api/rest/v1/reportruns/{run_id}"]["get"]["responses"]
    assert set(answer["200"]["content"]) == {"application/json;charset=UTF-8"}
    assert set(answer["404"]["content"]) == {"application/json;charset=UTF-8"}


@pytest.mark.unit
def test_every_path_takes_options() -> None:
    for path, item in DOCUMENT["paths"].items():
        assert "Allow" in item["options"]["responses"]["204"]["headers"], path


SUBMIT = DOCUMENT["components"]["schemas"]["AquaSubmitRequest"]
Q = [{"query": "select Id from Account"}]
ACCEPTED: list[dict[str, Any]] = [
    {"queries": Q},
    {"version": 1.1, "queries": []},
    {"version": "1.2", "partner": "p", "project": "q"},
    {"version": 1, "format": " GZip ", "useQueryLabels": "TRUE", "queries": Q},
    {"queries": [{"query": "select Id from Account", "type": "ZOQL", "name": 7}]},
    {"queries": Q, "offset": "600", "incrementalTime": "", "nullReplacement": "NULL"},
    {"queries": Q, "notifyUrl": "https://example.com/x?id=${JOBID}", "sourceData": "live"},
    {"queries": Q, "unknown": {"ignored": True}},
]
REFUSED: list[dict[str, Any]] = [
    {},
    {"version": "1.0", "queries": []},
    {"version": 1.04, "queries": Q},
    {"version": "2.0", "queries": Q},
    {"format": "json", "queries": Q},
    {"useQueryLabels": "yes", "queries": Q},
    {"queries": [{"name": "q"}]},
    {"queries": [{"query": "   "}]},
    {"queries": [{"query": "select Id from Account", "type": "sql"}]},
    {"queries": Q, "offset": 3601},
    {"queries": Q, "name": "x" * 33},
    {"queries": Q, "nullReplacement": "a,b"},
    {"queries": Q, "notifyUrl": "ftp://example.com"},
    {"queries": Q, "incrementalTime": "2015-01-21T10:30:01"},
    {"queries": Q * 51},
    {"queries": [{**Q[0], "deleted": {"column": "D", "format": "boolean"}}]},
]


@pytest.mark.unit
@pytest.mark.parametrize("body", ACCEPTED, ids=str)
def test_what_the_submit_schema_takes_the_service_takes(body: dict[str, Any]) -> None:
    assert not list(validator(SUBMIT).iter_errors(body))
    aqua_request.parse(body, time_zone="UTC")


@pytest.mark.unit
@pytest.mark.parametrize("body", REFUSED, ids=str)
def test_what_the_submit_schema_refuses_the_service_refuses(body: dict[str, Any]) -> None:
    assert list(validator(SUBMIT).iter_errors(body))
    with pytest.raises((errors.AquaError, errors.MalformedRequest, errors.ZoqlError)):
        aqua_request.parse(body, time_zone="UTC")
