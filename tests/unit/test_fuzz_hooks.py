"""The fuzz tier's replacement of ``not_a_server_error``: which 500 is Zuora's documented one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fuzz import hooks

ERROR_ID = "86532410-d8e2-4398-8cca-8f76bee5c12d"


def _body(message: str, **changes: Any) -> bytes:
    inner = {"errorId": ERROR_ID, "message": message, "errorCode": "ZAN-REST-ERROR"}
    inner.update(changes.pop("inner", {}))
    outer = {"success": False, "response": json.dumps(inner), "links": None, **changes}
    return json.dumps(outer).encode()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/rest/v1/reports", _body("Could not read JSON: Unexpected character ('n')")),
        ("/reporting/api/rest/v1/settings", _body("Required request body content is missing")),
    ],
)
def test_the_documented_reporting_500_is_accepted(path: str, body: bytes) -> None:
    assert hooks.documented_reporting_500(path, 500, body)


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/v1/batch-query", 500, _body("Could not read JSON: x")),  # not a Reporting path
        ("/api/rest/v1/reports", 503, _body("Could not read JSON: x")),  # not a 500
        ("/api/rest/v1/reports", 500, _body("Internal Server Error.")),  # a failure of ours
        ("/api/rest/v1/reports", 500, _body("Could not read JSON: x", success=True)),
        ("/api/rest/v1/reports", 500, _body("Could not read JSON: x", links=[])),
        ("/api/rest/v1/reports", 500, _body("Could not read JSON: x", extra=1)),
        ("/api/rest/v1/reports", 500, _body("Could not read JSON: x", inner={"errorId": "7"})),
        (
            "/api/rest/v1/reports",
            500,
            _body("Could not read JSON: x", inner={"errorCode": "ZAN-USAGE-REST-ERROR"}),
        ),
        ("/api/rest/v1/reports", 500, b"Internal Server Error"),
        ("/api/rest/v1/reports", 500, b"[]"),
        ("/api/rest/v1/reports", 500, b'{"success": false, "response": 5, "links": null}'),
    ],
)
def test_every_other_5xx_is_refused(path: str, status: int, body: bytes) -> None:
    assert not hooks.documented_reporting_500(path, status, body)
