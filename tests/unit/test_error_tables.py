"""The error tables of api/errors.py: every class of the tree answered by every family, each in
its own envelope, and never with an engine's words."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from starlette.requests import Request

from aquarium.api import error_responses
from aquarium.api import errors as api_errors
from aquarium.domain import crud_errors, errors, tenancy_errors
from aquarium.domain import reporting_errors as rep

TABLES = list(api_errors.TABLES.values())
SECRET = "Binder Error: column x42 not found in catalog"  # an engine's words


def _tree(root: type[errors.AquariumError]) -> Iterator[type[errors.AquariumError]]:
    for sub in root.__subclasses__():
        yield sub
        yield from _tree(sub)


CLASSES = sorted(set(_tree(errors.AquariumError)), key=lambda cls: cls.__name__)


def _sample(kind: type[errors.AquariumError]) -> errors.AquariumError:
    """An instance of ``kind`` whose reason (or message) is :data:`SECRET`."""
    if kind is errors.JobNotCancellable:
        return kind("0" * 32, "completed")  # type: ignore[call-arg]
    return kind(SECRET)


def _request(path: str = "/x") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "app": None,
    }
    return Request(scope)


def test_the_whole_tree_is_walked() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {"ReportRunNotFound", "RowNotFound", "TenantsFileError", "EncryptionFailed"} <= names
    assert len(CLASSES) > 50


@pytest.mark.parametrize("table", TABLES, ids=[t.family.value for t in TABLES])
@pytest.mark.parametrize("kind", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_every_class_maps_to_a_row_of_every_family(
    table: api_errors.Table, kind: type[errors.AquariumError]
) -> None:
    # A new class fails here until each family's table says how to answer it.
    assert table.row_for(kind) is not None, f"{table.family} has no row for {kind.__name__}"


@pytest.mark.parametrize("table", TABLES, ids=[t.family.value for t in TABLES])
def test_rows_name_each_class_once_and_none_is_shadowed(table: api_errors.Table) -> None:
    named = [kind for row in table.rows for kind in row.kinds]
    assert errors.AquariumError not in named, "a catch-all row would hide unmapped classes"
    assert len(named) == len(set(named)), "a class named in two rows"
    for row in table.rows:
        for kind in row.kinds:
            assert table.row_for(kind) is row, f"{kind.__name__} is answered by an earlier row"


@pytest.mark.parametrize("table", TABLES, ids=[t.family.value for t in TABLES])
def test_one_internal_row_per_family_answers_500(table: api_errors.Table) -> None:
    internal = [row for row in table.rows if row.internal]
    assert len(internal) == 1
    assert table.internal_row is internal[0]
    assert internal[0].status == 500


@pytest.mark.parametrize(
    ("family", "kind", "status", "code"),
    [
        (api_errors.Family.AQUA, errors.NotAuthenticated, 401, None),
        (api_errors.Family.AQUA, errors.MalformedRequest, 400, None),
        (api_errors.Family.AQUA, errors.RequestTooLarge, 413, None),
        (api_errors.Family.AQUA, errors.InvalidJobId, 200, None),
        (api_errors.Family.AQUA, errors.DistinctWithoutCountError, 200, None),
        (api_errors.Family.AQUA, errors.NotFound, 404, None),
        (api_errors.Family.AQUA, errors.FileTooLarge, 403, None),
        (api_errors.Family.AQUA, errors.QueryFailed, 500, "90010"),
        (api_errors.Family.OBJECTS, crud_errors.RowNotFound, 404, None),
        (api_errors.Family.OBJECTS, crud_errors.MissingRequiredValue, 400, None),
        (api_errors.Family.OBJECTS, errors.MalformedRequest, 400, "INVALID_VALUE"),
        (api_errors.Family.OBJECTS, errors.NotAuthenticated, 401, "INVALID_LOGIN"),
        (api_errors.Family.REPORTING, errors.NotAuthenticated, 401, "loginFailed"),
        (api_errors.Family.REPORTING, errors.MalformedRequest, 500, "ZAN-REST-ERROR"),
        (api_errors.Family.REPORTING, rep.UnreadableJson, 500, "ZAN-REST-ERROR"),
        (api_errors.Family.REPORTING, rep.MissingParameter, 400, "ZAN-REST-ERROR"),
        (api_errors.Family.REPORTING, errors.MethodNotAllowed, 405, "ZAN-REST-ERROR"),
        (api_errors.Family.REPORTING, rep.ReportRunNotFound, 404, "ZAN-USAGE-REST-ERROR"),
        (api_errors.Family.REPORTING, rep.ReportDeleteNotAllowed, 403, "ZAN-USAGE-REST-ERROR"),
        (api_errors.Family.REPORTING, rep.ReportRunNotCancellable, 400, "ZAN-USAGE-REST-ERROR"),
        (api_errors.Family.REPORTING, errors.ApiUnavailable, 503, "ZAN-USAGE-REST-ERROR"),
        (api_errors.Family.JOBS, errors.JobAlreadyFinished, 409, "not_cancellable"),
        (api_errors.Family.JOBS, errors.JobCancelNotAllowed, 403, "forbidden"),
        (api_errors.Family.JOBS, errors.BadJobQuery, 400, "bad_request"),
        (api_errors.Family.JOBS, errors.InvalidControlRequest, 400, "bad_request"),
        (api_errors.Family.JOBS, rep.ReportRunNotFound, 404, "not_found"),
        (api_errors.Family.LOCAL, errors.NotAuthenticated, 401, "unauthorized"),
        (api_errors.Family.LOCAL, errors.DistinctWithoutCountError, 400, "refused"),
        (api_errors.Family.LOCAL, errors.TenantDataMissing, 400, "refused"),
        (api_errors.Family.LOCAL, errors.QueryFailed, 400, "refused"),
        (api_errors.Family.LOCAL, errors.InternalError, 500, "internal_error"),
        (api_errors.Family.WEB, rep.ReportRunNotFound, 404, None),
        (api_errors.Family.WEB, rep.ReportRunCancelNotAllowed, 403, None),
        (api_errors.Family.WEB, rep.ReportRunNotCancellable, 400, None),
        (api_errors.Family.WEB, errors.JobAlreadyFinished, 409, None),
        # issue 11: JSON beyond the shared limits is a 400 everywhere, Reporting included
        (api_errors.Family.AQUA, errors.UnacceptableJson, 400, None),
        (api_errors.Family.OBJECTS, errors.UnacceptableJson, 400, "INVALID_VALUE"),
        (api_errors.Family.REPORTING, errors.UnacceptableJson, 400, "ZAN-REST-ERROR"),
        (api_errors.Family.JOBS, errors.UnacceptableJson, 400, "bad_request"),
        (api_errors.Family.LOCAL, errors.UnacceptableJson, 400, "refused"),
        (api_errors.Family.AQUA, errors.EngineOutOfMemory, 500, "90010"),
        (api_errors.Family.LOCAL, errors.EngineOutOfMemory, 400, "refused"),
        # issue 12: the tenant administration API, and legacy objects under Invoice Settlement
        (api_errors.Family.JOBS, tenancy_errors.AdminRequired, 403, "forbidden"),
        (api_errors.Family.JOBS, tenancy_errors.CustomFieldError, 400, "invalid_custom_field"),
        (api_errors.Family.JOBS, tenancy_errors.CustomFieldNotFound, 404, "not_found"),
        (api_errors.Family.LOCAL, tenancy_errors.CustomFieldError, 400, "refused"),
        (api_errors.Family.OBJECTS, crud_errors.LegacyObject, 400, None),
    ],
)
def test_the_wire_answers_pinned(
    family: api_errors.Family, kind: type[errors.AquariumError], status: int, code: str | None
) -> None:
    row = api_errors.TABLES[family].row_for(kind)
    assert row is not None and (row.status, row.code) == (status, code)


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/v1/batch-query/", api_errors.Family.AQUA),
        ("/apps/api/batch-query/jobs/x", api_errors.Family.AQUA),
        ("/v1/file/x", api_errors.Family.AQUA),
        ("/v1/describe", api_errors.Family.AQUA),
        ("/oauth/token", api_errors.Family.AQUA),
        ("/v1/nothing-here", api_errors.Family.AQUA),
        ("/v1/object/Account/x", api_errors.Family.OBJECTS),
        ("/v1/object", api_errors.Family.OBJECTS),
        ("//v1//object/Account", api_errors.Family.OBJECTS),
        ("/api/rest/v1/reportruns/x", api_errors.Family.REPORTING),
        ("/reporting/api/rest/v1/reports", api_errors.Family.REPORTING),
        ("/aquarium/api/v1/jobs", api_errors.Family.JOBS),
        ("/query/jobs", api_errors.Family.DATAQUERY),
        ("/query/jobs/x", api_errors.Family.DATAQUERY),
        ("/queryish", api_errors.Family.WEB),
        ("/aquarium/api/v1/local", api_errors.Family.LOCAL),
        ("/aquarium/api/v1/local/query", api_errors.Family.LOCAL),
        ("/aquarium/api/v1/localish", api_errors.Family.JOBS),
        ("/jobs/x", api_errors.Family.WEB),
        ("/", api_errors.Family.WEB),
        ("/v1objects", api_errors.Family.WEB),
    ],
)
def test_the_family_comes_from_the_path(path: str, family: api_errors.Family) -> None:
    assert api_errors.family_of(path) is family


@pytest.mark.parametrize("table", TABLES, ids=[t.family.value for t in TABLES])
@pytest.mark.parametrize("kind", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_each_family_answers_in_its_own_envelope(
    table: api_errors.Table, kind: type[errors.AquariumError]
) -> None:
    error = _sample(kind)
    response = error_responses.answer(_request(), table, error)
    row = table.row_for(kind)
    assert row is not None and response.status_code == row.status
    body = bytes(response.body)
    if row.internal:
        assert SECRET.encode() not in body, "an internal error's words reached the client"
    if table.family is api_errors.Family.WEB:
        assert response.media_type == "text/html"
        return
    if kind is errors.FileTooLarge and table.family is api_errors.Family.AQUA:
        assert body.startswith(b"<security:")
        return
    document = json.loads(body)
    if table.family is api_errors.Family.AQUA:
        assert set(document) <= {"id", "status", "errorCode", "message"}
        assert "message" in document
    elif table.family is api_errors.Family.OBJECTS:
        assert document["Success"] is False and document["Errors"][0]["Code"]
    elif table.family is api_errors.Family.REPORTING:
        assert set(document) == {"success", "response", "links"}
        inner = json.loads(document["response"])
        assert inner["errorCode"] == row.code and inner["message"]
    elif table.family is api_errors.Family.DATAQUERY:
        if kind is errors.NotAuthenticated:
            assert document == {"message": "Authentication error"}
        else:
            assert set(document) == {"code", "message"} and isinstance(document["code"], int)
            assert document["message"]
    else:
        assert set(document) == {"error"} and document["error"]["code"] == row.code


def test_the_docstring_draws_the_whole_tree() -> None:
    drawn = set(re.findall(r"[├└]── (\w+)", errors.__doc__ or ""))
    assert drawn == {cls.__name__ for cls in CLASSES}
