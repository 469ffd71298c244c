"""What the fuzz tier (tests/fuzz, ``make fuzz``) found, reproduced exactly as plain tests.

Each test is the request schemathesis sent and the answer the server must give; none relies on
the fuzzer.
"""

from __future__ import annotations

import pytest

from tests.acceptance import support


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        # A run id of a lone line end or tab: the path was read back through urllib, which
        # drops them, and the answer was 405 with 'Allow: GET' instead of the route's methods.
        ("/reporting/api/rest/v1/reportruns/%0D", "GET, DELETE, OPTIONS"),
        ("/api/rest/v1/reportruns/%0A", "GET, DELETE, OPTIONS"),
        ("/v1/object/%09", "POST, OPTIONS"),
        ("/v1/batch-query/jobs/%09", "GET, DELETE, OPTIONS"),
    ],
)
def test_options_on_a_path_with_a_control_character_lists_its_route(
    server: support.RunningServer, path: str, allowed: str
) -> None:
    answer = support.raw_request(
        server.base_url, "OPTIONS", path, {"Authorization": support.basic("demo", "demo")}
    )
    assert answer.status == 204, answer
    assert answer.headers["allow"] == allowed
