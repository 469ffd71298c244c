"""Every authentication style of CONTRACT.md, and 401 exactly for bad or missing credentials."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.acceptance import support

UNKNOWN_ID = "0" * 32
# (method, path) of every Zuora-shaped endpoint; the job/file ids need not exist: 401 comes first.
ENDPOINTS = [
    ("POST", "/v1/batch-query/"),
    ("POST", "/v1/batch-query"),
    ("POST", "/apps/api/batch-query/"),
    ("GET", f"/v1/batch-query/jobs/{UNKNOWN_ID}"),
    ("GET", f"/apps/api/batch-query/jobs/{UNKNOWN_ID}"),
    ("DELETE", f"/v1/batch-query/jobs/{UNKNOWN_ID}"),
    ("DELETE", f"/apps/api/batch-query/jobs/{UNKNOWN_ID}"),
    ("GET", "/v1/batch-query/jobs/partner/salesforce/project/p1"),
    ("GET", "/apps/api/batch-query/jobs/partner/salesforce/project/p1"),
    ("GET", f"/v1/file/{UNKNOWN_ID}"),
    ("GET", f"/v1/files/{UNKNOWN_ID}"),
    ("GET", f"/apps/api/file/{UNKNOWN_ID}"),
    ("GET", "/v1/describe"),
    ("GET", "/v1/describe/Account"),
]
BAD_CREDENTIALS = {
    "none": {},
    "basic wrong password": {"Authorization": support.basic("demo", "wrong")},
    "basic unknown user": {"Authorization": support.basic("nobody", "demo")},
    "basic garbage": {"Authorization": "Basic !!!not-base64"},
    "headers wrong secret": {"apiAccessKeyId": "demo", "apiSecretAccessKey": "wrong"},
    "headers id only": {"apiAccessKeyId": "demo"},
    "bearer garbage": {"Authorization": "Bearer not-a-token"},
    "bearer empty": {"Authorization": "Bearer "},
    "unknown scheme": {"Authorization": "Digest username=demo"},
}
JOB_BODY = json.dumps(support.stateless("select Id from Account")).encode()


def token(server: support.RunningServer, **kwargs: object) -> dict[str, object]:
    response = httpx.post(server.base_url + "/oauth/token", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    document: dict[str, object] = response.json()
    return document


def assert_token_document(document: dict[str, object]) -> None:
    assert list(document) == ["access_token", "token_type", "expires_in", "scope", "jti"]
    assert document["token_type"] == "bearer"
    assert document["expires_in"] == 3599
    assert isinstance(document["access_token"], str) and document["access_token"]
    assert isinstance(document["scope"], str)
    assert isinstance(document["jti"], str) and document["jti"]


def test_basic_auth_submits_and_reads(server: support.RunningServer) -> None:
    client = server.client(auth=support.DEMO_AUTH)
    support.run_job(client, support.stateless("select Id from Account"))


def test_api_access_key_headers_authenticate(server: support.RunningServer) -> None:
    client = server.client(
        auth=None, headers={"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}
    )
    done = support.run_job(client, support.stateless("select Id from Account"))
    support.download(client, done["batches"][0]["fileId"])
    assert client.get("/v1/describe").status_code == 200


def test_oauth_token_from_form_fields_then_bearer(server: support.RunningServer) -> None:
    client_id, secret = support.DEMO_CLIENT
    document = token(
        server,
        data={"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"},
    )
    assert_token_document(document)
    bearer = server.client(
        auth=None, headers={"Authorization": f"Bearer {document['access_token']}"}
    )
    done = support.run_job(bearer, support.stateless("select Id from Account"))
    for path in ("/v1/file/", "/apps/api/file/"):
        support.download(bearer, done["batches"][0]["fileId"], path)


def test_oauth_token_from_basic_header_with_only_grant_type(server: support.RunningServer) -> None:
    document = token(server, data={"grant_type": "client_credentials"}, auth=support.DEMO_CLIENT)
    assert_token_document(document)
    bearer = {"Authorization": f"Bearer {document['access_token']}"}
    assert httpx.get(server.base_url + "/v1/describe", headers=bearer).status_code == 200


def test_oauth_tokens_are_distinct_per_grant(server: support.RunningServer) -> None:
    form = {"grant_type": "client_credentials"}
    first = token(server, data=form, auth=support.DEMO_CLIENT)
    second = token(server, data=form, auth=support.DEMO_CLIENT)
    assert first["jti"] != second["jti"]


def test_oauth_token_with_bad_client_secret_is_401(server: support.RunningServer) -> None:
    client_id, _ = support.DEMO_CLIENT
    response = httpx.post(
        server.base_url + "/oauth/token",
        data={"client_id": client_id, "client_secret": "wrong", "grant_type": "client_credentials"},
    )
    assert response.status_code == 401


def test_tampered_bearer_token_is_401(server: support.RunningServer) -> None:
    document = token(server, data={"grant_type": "client_credentials"}, auth=support.DEMO_CLIENT)
    access = str(document["access_token"])
    payload, _, signature = access.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tenant"] = "other"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for forged in (f"{forged_payload}.{signature}", f"{payload}.{flipped}", access + "x"):
        response = httpx.get(
            server.base_url + "/v1/describe", headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 401, forged


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS), ids=list(BAD_CREDENTIALS))
def test_bad_or_missing_credentials_are_401_on_every_endpoint(
    server: support.RunningServer, credentials: str
) -> None:
    for method, path in ENDPOINTS:
        body = JOB_BODY if method == "POST" else b""
        response = support.raw_request(
            server.base_url, method, path, BAD_CREDENTIALS[credentials], body
        )
        assert response.status == 401, (method, path, response.status, response.body)


def test_good_credentials_never_get_401_for_bad_requests(demo: httpx.Client) -> None:
    answers = [
        demo.get(f"/v1/batch-query/jobs/{UNKNOWN_ID}"),
        demo.get("/v1/batch-query/jobs/None"),
        demo.delete(f"/v1/batch-query/jobs/{UNKNOWN_ID}"),
        demo.get(f"/v1/file/{UNKNOWN_ID}"),
        demo.get("/v1/file/not-an-id"),
        demo.get("/v1/describe/NoSuchObject"),
        demo.post("/v1/batch-query/", content=b"{not json"),
        demo.post("/v1/batch-query/", json={"version": "9.9", "queries": []}),
        demo.get("/v1/batch-query/jobs/partner/nobody/project/nothing"),
    ]
    assert all(answer.status_code != 401 for answer in answers), [
        (a.request.url, a.status_code) for a in answers
    ]
