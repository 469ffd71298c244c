"""Cross-site request forgery, through the app in-process (docs/security.md "CSRF").

The Job Finder's session cookie (SameSite=Lax, HttpOnly) is accepted by the Job Finder's pages
only: every state-changing page request (cancel, run a ZOQL query, run a report, sign out) must
also carry the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``), and the
APIs never take the cookie as a credential, so a forged cross-site request that rides on it
changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aquarium import server
from aquarium.services import auth
from aquarium.web import sessions
from tests.integration.demo_server import demo_server

DEMO = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}
JOB = {"format": "csv", "version": "1.1", "queries": [{"query": "select Id from Account"}]}


class Client:
    """Requests to the app in-process, with only the headers each one is given."""

    def __init__(self, app: Any) -> None:
        self.runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://test")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.runner.run(self.client.request(method, url, **kwargs))

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Server]:
    with demo_server(tmp_path_factory, "csrf") as found:
        yield found


@pytest.fixture(scope="module")
def client(built: server.Server) -> Iterator[Client]:
    found = Client(built.app())
    try:
        yield found
    finally:
        found.close()


@pytest.fixture(scope="module")
def session(built: server.Server) -> sessions.Session:
    tenant = built.services.aqua.tenant_of("demo")
    assert tenant is not None
    user = tenant.user("demo")
    assert user is not None
    return _codec(built).issue("demo", user, time.time())


def _codec(built: server.Server) -> sessions.SessionCodec:
    settings = built.services.settings
    secret = auth.load_or_create_secret(settings.data_dir)
    return sessions.SessionCodec(secret, settings.web_session_idle_s)


def _cookie(built: server.Server, session: sessions.Session) -> dict[str, str]:
    return {"Cookie": f"{sessions.COOKIE}={_codec(built).encode(session)}"}


def _submitted(client: Client) -> str:
    answer = client.request("POST", "/v1/batch-query/", json=JOB, headers=DEMO)
    assert answer.status_code == 200 and answer.json()["status"] == "submitted", answer.text
    job_id: str = answer.json()["id"]
    return job_id


def _status(client: Client, job_id: str) -> str:
    status: str = client.request("GET", f"/v1/batch-query/jobs/{job_id}", headers=DEMO).json()[
        "status"
    ]
    return status


def test_the_cookie_opens_the_pages(
    client: Client, built: server.Server, session: sessions.Session
) -> None:
    page = client.request("GET", "/jobs", headers=_cookie(built, session))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


@pytest.mark.parametrize("token", [None, "", "forged", "x" * 43])
def test_a_state_changing_page_request_without_the_sessions_token_is_refused(
    client: Client, built: server.Server, session: sessions.Session, token: str | None
) -> None:
    job_id = _submitted(client)
    form = {} if token is None else {sessions.CSRF_FIELD: token}
    for path, data in (
        (f"/jobs/{job_id}/cancel", form),
        ("/objects/query", {**form, "zoql": "select Id from Account"}),
        ("/logout", form),
    ):
        refused = client.request("POST", path, data=data, headers=_cookie(built, session))
        assert refused.status_code == 403, (path, refused.text)
    assert _status(client, job_id) == "submitted"


def test_with_the_sessions_token_the_same_request_works(
    client: Client, built: server.Server, session: sessions.Session
) -> None:
    job_id = _submitted(client)
    for how in ({"data": {sessions.CSRF_FIELD: session.csrf}}, {}):
        headers = _cookie(built, session)
        if not how:
            headers[sessions.CSRF_HEADER] = session.csrf
            job_id = _submitted(client)
        done = client.request("POST", f"/jobs/{job_id}/cancel", headers=headers, **how)
        assert done.status_code in {200, 303}, done.text
        assert _status(client, job_id) == "cancelled"


def test_the_cookie_is_no_credential_of_any_api(
    client: Client, built: server.Server, session: sessions.Session
) -> None:
    job_id = _submitted(client)
    cookie = _cookie(built, session)
    for method, path, body in (
        ("POST", "/v1/batch-query/", JOB),
        ("DELETE", f"/v1/batch-query/jobs/{job_id}", None),
        ("DELETE", f"/aquarium/api/v1/jobs/{job_id}", None),
        ("GET", "/aquarium/api/v1/jobs", None),
        ("POST", "/v1/object/Account", {"Name": "x", "Currency": "USD", "BillCycleDay": 1}),
        ("POST", "/api/rest/v1/reportlabels", {"name": "forged"}),
        ("POST", "/reporting/api/rest/v1/settings", {"emailDomains": ["evil.example"]}),
    ):
        answer = client.request(method, path, json=body, headers=cookie)
        assert answer.status_code == 401, (method, path, answer.text)
    assert _status(client, job_id) == "submitted"


# -- the APIs: a browser's remembered Basic password is no use to another site --------------------

CROSS_SITE = {**DEMO, "Sec-Fetch-Site": "cross-site"}


def test_a_state_changing_api_request_from_another_sites_page_is_refused(client: Client) -> None:
    """A browser given the Basic password once (the APIs send a Basic challenge) sends it with
    any site's form post; the browser also says where the post came from, and it is refused
    (HTTP 403, the family's envelope) before anything is done."""
    job_id = _submitted(client)
    before = client.request("GET", "/aquarium/api/v1/jobs", headers=DEMO).json()["jobs"]
    for site in ("cross-site", "same-site", "Cross-Site"):
        headers = {**DEMO, "Sec-Fetch-Site": site}
        for method, path, body, family_code in (
            ("POST", "/v1/batch-query/", JOB, "90009"),
            ("POST", "/apps/api/batch-query/", JOB, "90009"),
            ("DELETE", f"/aquarium/api/v1/jobs/{job_id}", None, "forbidden"),
            ("POST", "/v1/object/Account", {"Name": "x", "Currency": "USD"}, "INVALID_LOGIN"),
            ("POST", "/api/rest/v1/settings", {"emailDomains": ["evil.example"]}, "loginFailed"),
            ("POST", "/reporting/api/rest/v1/reportlabels", {"name": "forged"}, "loginFailed"),
        ):
            answer = client.request(method, path, json=body, headers=headers)
            assert answer.status_code == 403, (site, method, path, answer.text)
            assert answer.headers["Zuora-Request-Id"]
            assert family_code in answer.text, answer.text
            assert "Cross-site" in answer.text or "another site" in answer.text, answer.text
    after = client.request("GET", "/aquarium/api/v1/jobs", headers=DEMO).json()["jobs"]
    assert after == before and _status(client, job_id) == "submitted"
    settings = client.request("GET", "/api/rest/v1/settings", headers=DEMO).json()["response"]
    assert "evil.example" not in settings["emailDomains"]


def test_reads_and_this_sites_own_requests_are_not_refused(client: Client) -> None:
    for site in ("same-origin", "none"):
        answer = client.request(
            "POST", "/v1/batch-query/", json=JOB, headers={**DEMO, "Sec-Fetch-Site": site}
        )
        assert answer.status_code == 200 and answer.json()["status"] == "submitted", answer.text
    job_id = _submitted(client)
    read = client.request("GET", f"/v1/batch-query/jobs/{job_id}", headers=CROSS_SITE)
    assert read.status_code == 200 and read.json()["id"] == job_id
    # The Job Finder's pages are judged by their CSRF token, not by the header.
    page = client.request("POST", f"/jobs/{job_id}/cancel", headers={"Sec-Fetch-Site": "none"})
    assert page.status_code in {303, 401, 403}
