"""The tier's requests carry credentials the server takes (else every answer would be a 401,
which most checks accept, and the fuzzing would say nothing)."""

from __future__ import annotations

import pytest
import schemathesis

from tests.acceptance import support
from tests.fuzz import hooks, test_api

pytestmark = pytest.mark.xdist_group("fuzz")


@pytest.mark.parametrize(
    ("path", "scheme"),
    [
        ("/api/rest/v1/reports", "Bearer"),
        ("/reporting/api/rest/v1/reportlabels", "Bearer"),
        ("/v1/describe", "Basic"),
        ("/aquarium/api/v1/jobs", "Basic"),
    ],
)
def test_a_case_authenticated_by_the_hooks_is_answered_200(
    fuzz_server: support.RunningServer, path: str, scheme: str
) -> None:
    operation = test_api.schema[path]["GET"]
    case = operation.Case()
    context = schemathesis.AuthContext(operation=operation, app=None)
    provider = hooks.AquariumAuth()
    provider.set(case, provider.get(case, context), context)
    response = case.call(base_url=fuzz_server.base_url)
    assert response.request.headers["Authorization"].startswith(scheme + " ")
    assert response.request.headers["Authorization"] != hooks.DEFERRED_BEARER
    assert response.status_code == 200, response.text
