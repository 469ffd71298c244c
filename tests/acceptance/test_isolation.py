"""Tenants are invisible to each other: a foreign id answers exactly like an unknown one."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.acceptance import support
from tests.acceptance.conftest import OTHER_AUTH, OTHER_CLIENT

UNKNOWN_ID = "0" * 32


@pytest.fixture(scope="module")
def other(server: support.RunningServer) -> httpx.Client:
    return server.client(auth=OTHER_AUTH)


@pytest.fixture(scope="module")
def demo_job(demo: httpx.Client) -> dict[str, Any]:
    body = support.stateless("select Id from Account", partner="salesforce", project="iso")
    body["version"] = "1.1"
    return support.run_job(demo, body)


def test_each_tenant_queries_its_own_data(demo: httpx.Client, other: httpx.Client) -> None:
    ours = support.run_job(demo, support.stateless("select Id from Account"))
    theirs = support.run_job(other, support.stateless("select Id from Account"))
    our_ids = support.parse_csv(support.download(demo, ours["batches"][0]["fileId"]).content)
    their_ids = support.parse_csv(support.download(other, theirs["batches"][0]["fileId"]).content)
    assert ours["batches"][0]["recordCount"] == 50
    assert theirs["batches"][0]["recordCount"] == 20  # datagen --scale 0.02
    assert not {row[0] for row in our_ids[1:]} & {row[0] for row in their_ids[1:]}


def test_each_tenant_writes_datetimes_in_its_own_time_zone(
    demo: httpx.Client, other: httpx.Client
) -> None:
    offsets = {}
    for name, client in (("demo", demo), ("other", other)):
        done = support.run_job(client, support.stateless("select Id, CreatedDate from Account"))
        rows = support.parse_csv(support.download(client, done["batches"][0]["fileId"]).content)
        offsets[name] = {row[1][-5:] for row in rows[1:]}
    assert offsets["demo"] <= {"-0800", "-0700"}, offsets  # America/Los_Angeles
    assert offsets["other"] <= {"+0100", "+0200"}, offsets  # Europe/Paris


def test_foreign_job_answers_like_an_unknown_job(
    other: httpx.Client, demo_job: dict[str, Any]
) -> None:
    for method in ("GET", "DELETE"):
        for prefix in ("/v1/batch-query", "/apps/api/batch-query"):
            foreign = other.request(method, f"{prefix}/jobs/{demo_job['id']}")
            unknown = other.request(method, f"{prefix}/jobs/{UNKNOWN_ID}")
            assert foreign.status_code == unknown.status_code == 200
            assert (
                foreign.json()
                == unknown.json()
                == {
                    "id": None,
                    "errorCode": "90002",
                    "message": "Invalid Job Id.",
                }
            )


def test_foreign_job_stays_untouched_after_a_foreign_delete(
    demo: httpx.Client, other: httpx.Client, demo_job: dict[str, Any]
) -> None:
    other.delete(f"/v1/batch-query/jobs/{demo_job['id']}")
    assert support.get_job(demo, demo_job["id"]) == demo_job


def test_foreign_file_answers_like_an_unknown_file(
    other: httpx.Client, demo_job: dict[str, Any]
) -> None:
    file_id = demo_job["batches"][0]["fileId"]
    for path in ("/v1/file/", "/v1/files/", "/apps/api/file/"):
        foreign = other.get(path + file_id)
        unknown = other.get(path + UNKNOWN_ID)
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.content == unknown.content
        assert foreign.headers["content-type"] == unknown.headers["content-type"]


def test_foreign_session_has_no_last_completed_job(
    other: httpx.Client, demo_job: dict[str, Any]
) -> None:
    response = other.get("/v1/batch-query/jobs/partner/salesforce/project/iso")
    assert response.json() == {"id": None, "errorCode": "90002", "message": "Invalid Job Id."}


def test_bearer_token_of_another_tenant_sees_only_its_tenant(
    server: support.RunningServer, demo_job: dict[str, Any]
) -> None:
    grant = httpx.post(
        server.base_url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=OTHER_CLIENT,
    )
    assert grant.status_code == 200, grant.text
    bearer = server.client(
        auth=None, headers={"Authorization": f"Bearer {grant.json()['access_token']}"}
    )
    assert bearer.get(f"/v1/batch-query/jobs/{demo_job['id']}").json()["errorCode"] == "90002"
    assert bearer.get("/v1/file/" + demo_job["batches"][0]["fileId"]).status_code == 404
    own = support.run_job(bearer, support.stateless("select Id from Account"))
    assert own["batches"][0]["recordCount"] == 20


def test_same_partner_project_in_two_tenants_are_two_sessions(
    demo: httpx.Client, other: httpx.Client
) -> None:
    project = f"shared-{uuid.uuid4().hex[:8]}"
    body = support.stateless("select Id from Account", partner="salesforce", project=project)
    body["version"] = "1.1"
    ours = support.run_job(demo, body)
    path = f"/v1/batch-query/jobs/partner/salesforce/project/{project}"
    assert other.get(path).json()["errorCode"] == "90002"
    theirs = support.run_job(other, body)
    assert demo.get(path).json()["id"] == ours["id"]
    assert other.get(path).json()["id"] == theirs["id"]
