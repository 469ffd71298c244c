"""What "keeps everything" means for a data dir made by the previous release, checked over HTTP.

Each ``check_*`` function takes an :class:`Upgraded` server and compares what it answers with
the fixture's ``manifest.json`` (``tests/fixtures/upgrade/make_fixture.py`` wrote it while the
previous release answered the same requests). Only the wire is used: the code behind it is
free to change completely.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.acceptance import support

REPORTING = "/api/rest/v1"
JOB_API = "/aquarium/api/v1/jobs"
JOB_API_PAGE = 500  # the job API's largest page
#: Members of the job API's document compared across the upgrade (progress figures are not).
FINDER_KEYS = (
    "id",
    "kind",
    "name",
    "status",
    "createdBy",
    "createdAt",
    "startedAt",
    "finishedAt",
    "partner",
    "project",
    "reportId",
    "viewType",
    "message",
    "settings",
    "downloads",
)


@dataclass
class Upgraded:
    """A current server over a copy of one fixture variant, restartable."""

    variant: str
    manifest: dict[str, Any]
    data_dir: Path
    env: dict[str, str]
    server: support.RunningServer
    starts: int = 1
    #: (tenant, job id) of jobs the tests made after the upgrade; a restart must keep them too
    made: list[tuple[str, str]] = field(default_factory=list)

    def password(self, user: str) -> str:
        for tenant in self.manifest["tenants"].values():
            for known in tenant["users"]:
                if known["name"] == user:
                    password: str = known["password"]
                    return password
        raise KeyError(user)

    def user_of(self, tenant: str) -> str:
        """The tenant's first user (an admin in both fixture tenants)."""
        name: str = self.manifest["tenants"][tenant]["users"][0]["name"]
        return name

    def client(self, user: str) -> httpx.Client:
        """An HTTP Basic client of ``user`` (a user of the fixture)."""
        return self.server.client(auth=(user, self.password(user)))

    def tenant_client(self, tenant: str) -> httpx.Client:
        return self.client(self.user_of(tenant))

    def restart(self) -> None:
        self.server.stop()
        self.starts += 1
        self.server = start(self.variant, self.data_dir, self.env, self.starts, self.manifest)


def start(
    variant: str, data_dir: Path, env: dict[str, str], starts: int, manifest: dict[str, Any]
) -> support.RunningServer:
    return support.start_server(
        f"upgrade-{variant}-{starts}", data_dir, demo_scale=manifest["demo_scale"], env=env
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ok(response: httpx.Response) -> Any:
    """The ``response`` member of a successful Reporting answer."""
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["success"] is True, document
    return document["response"]


# -- AQuA ------------------------------------------------------------------------------------------


INCREMENTAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def check_jobs(up: Upgraded) -> None:
    """Every job answers GET exactly as the previous release did (statuses, batches, record
    counts, file ids and segments, messages, start times), but for what issue 12 changed on
    purpose: GET gives a stateful job's ``incrementalTime`` as a string (a production client
    decodes a string), where the previous release echoed the request's epoch milliseconds."""
    for job in up.manifest["jobs"]:
        document = support.get_job(up.tenant_client(job["tenant"]), job["id"])
        before = dict(job["document"])
        now = document.pop("incrementalTime", None)
        had = before.pop("incrementalTime", None)
        assert document == before, f"job {job['key']} changed"
        stateful = before["version"] in ("1.1", "1.2") and "partner" in before
        if stateful:
            assert isinstance(now, str) and INCREMENTAL_TIME.fullmatch(now), (job["key"], now)
        else:
            assert now is None and had is None, job["key"]


def check_files(up: Upgraded) -> None:
    """Every result file downloads with the same bytes and content type."""
    for file in up.manifest["files"]:
        response = support.download(up.tenant_client(file["tenant"]), file["id"])
        assert (len(response.content), sha256(response.content)) == (
            file["size"],
            file["sha256"],
        ), f"file {file['id']} of job {file['job']} changed"
        assert response.headers["content-type"] == file["content_type"]


def check_made_after_upgrade(up: Upgraded) -> None:
    """Jobs made since the upgrade are still there (after a restart), completed."""
    for tenant, job_id in up.made:
        assert support.get_job(up.tenant_client(tenant), job_id)["status"] == "completed"


def check_sign_in(up: Upgraded) -> None:
    """Every user signs in with HTTP Basic and the apiAccessKeyId headers, a wrong password is
    refused, and every OAuth client gets a token that works."""
    for name, tenant in up.manifest["tenants"].items():
        job_id = next(job["id"] for job in up.manifest["jobs"] if job["tenant"] == name)
        path = f"/v1/batch-query/jobs/{job_id}"
        for user in tenant["users"]:
            basic = httpx.get(up.server.base_url + path, auth=(user["name"], user["password"]))
            assert basic.status_code == 200 and basic.json()["id"] == job_id, basic.text
            headers = {"apiAccessKeyId": user["name"], "apiSecretAccessKey": user["password"]}
            keyed = httpx.get(up.server.base_url + path, headers=headers)
            assert keyed.status_code == 200 and keyed.json()["id"] == job_id, keyed.text
            wrong = httpx.get(up.server.base_url + path, auth=(user["name"], "not-the-password"))
            assert wrong.status_code == 401
        for client in tenant["clients"]:
            form = {"client_id": client["id"], "client_secret": client["secret"]}
            token = httpx.post(
                up.server.base_url + "/oauth/token",
                data={**form, "grant_type": "client_credentials"},
            )
            assert token.status_code == 200, token.text
            bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
            answer = httpx.get(up.server.base_url + path, headers=bearer)
            assert answer.status_code == 200 and answer.json()["id"] == job_id, answer.text


def check_job_finder(up: Upgraded) -> None:
    """Aquarium's job API lists every old job and report run, and describes each as before."""
    things = [*up.manifest["jobs"], *up.manifest["report_runs"]]
    for tenant in up.manifest["tenants"]:
        client = up.tenant_client(tenant)
        listed = list_jobs(client)
        for thing in (t for t in things if t["tenant"] == tenant):
            assert thing["id"] in listed, f"{thing['key']} is not in the job list"
            assert listed[thing["id"]]["status"] == thing["finder"]["status"]
            response = client.get(f"{JOB_API}/{thing['id']}")
            assert response.status_code == 200, response.text
            document = response.json()
            before = thing["finder"]
            assert {k: document.get(k) for k in FINDER_KEYS} == {
                k: before.get(k) for k in FINDER_KEYS
            }, f"{thing['key']} changed in the job API"


def list_jobs(client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every job of the client's tenant in the job API's list, by id (all pages)."""
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"limit": JOB_API_PAGE}
    while True:
        response = client.get(JOB_API, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        found.update((job["id"], job) for job in page["jobs"])
        if not page["nextCursor"]:
            return found
        params["cursor"] = page["nextCursor"]


# -- Reporting -------------------------------------------------------------------------------------


def check_reports(up: Upgraded) -> None:
    """Report definitions, their labels, and every label's reports and sub-labels."""
    for report in up.manifest["reports"]:
        client = up.tenant_client(report["tenant"])
        assert ok(client.get(f"{REPORTING}/reports/report/{report['id']}")) == report["document"]
        labels = ok(client.get(f"{REPORTING}/reports/{report['id']}/reportlabels"))
        assert labels == report["labels"], report["name"]
    for label in up.manifest["labels"]:
        client = up.tenant_client(label["tenant"])
        path = f"{REPORTING}/reports/reportlabels/{label['id']}/report-details"
        assert ok(client.get(path)) == label["report_details"], label["name"]
        children = ok(client.get(f"{REPORTING}/reportlabels/{label['id']}/reportlabels"))
        assert children == label["children"], label["name"]


def as_now(run: dict[str, Any], shown: dict[str, Any]) -> dict[str, Any]:
    """``shown`` (a run document or list element the previous release answered for ``run``) as
    this release answers it. Issue 11 changed it on purpose: a CANCELLED run was stopped and never
    completed, so it shows no ``completedOn``; only a COMPLETED run has a result, so only it
    shows a ``rowCount`` (a list element: ``None``)."""
    status = run["document"]["status"]
    gone = set()
    if status == "CANCELLED":
        gone.add("completedOn")
    if status != "COMPLETED":
        gone.add("rowCount")
    if "reportDefinition" in shown:  # the run document: absent members
        return {key: value for key, value in shown.items() if key not in gone}
    return {key: None if key in gone else value for key, value in shown.items()}


def check_report_runs(up: Upgraded) -> None:
    """Every run answers as before (but for :func:`as_now`); completed runs keep their data and
    export bytes."""
    for run in up.manifest["report_runs"]:
        client = up.tenant_client(run["tenant"])
        expected = as_now(run, run["document"])
        assert ok(client.get(f"{REPORTING}/reportruns/{run['id']}")) == expected
        for pivoted, expected in (run.get("exports") or {}).items():
            exported = client.get(f"{REPORTING}/reportruns/export/{run['id']}?pivoted={pivoted}")
            assert exported.status_code == 200, exported.text
            assert (len(exported.content), sha256(exported.content)) == (
                expected["size"],
                expected["sha256"],
            ), f"export of run {run['key']} (pivoted={pivoted}) changed"
        if "data" in run:
            page = f"{REPORTING}/reportruns/reportdata/{run['id']}?offset=1&pageSize=10000"
            assert ok(client.get(page)) == run["data"], run["key"]


def check_run_lists(up: Upgraded) -> None:
    """Each user's run list shows the old runs it showed before, with the same columns: an
    admin every run of the tenant, anyone else only their own."""
    columns = up.manifest["run_list_columns"]
    users = {user for run in up.manifest["report_runs"] for user in run["listed_for"]}
    for user in sorted(users):
        body = {"columns": columns, "pagination": {"currentPage": 1, "pageSize": 1000}}
        answer = ok(up.client(user).post(f"{REPORTING}/reportruns", json=body))
        listed = {element["id"]: element for element in answer["elements"]}
        for run in up.manifest["report_runs"]:
            if user in run["listed_for"]:
                expected = as_now(run, run["listed_for"][user])
                assert listed.get(run["id"]) == expected, (user, run["key"])
            else:
                assert run["id"] not in listed, f"{user} now sees run {run['key']}"


# -- the data dir ----------------------------------------------------------------------------------


def assert_old_tenants_file_kept_as_backup(data_dir: Path, original: bytes) -> None:
    """The previous release's ``tenants.json`` survives the upgrade byte for byte, under its own
    name or as a backup anywhere in the data dir (where and how it is named is the upgrade's
    choice); its users and clients are checked to work by :func:`check_sign_in`."""
    kept = [
        path.relative_to(data_dir)
        for path in data_dir.rglob("*")
        if path.is_file() and path.stat().st_size == len(original) and path.read_bytes() == original
    ]
    assert kept, f"no copy of the old tenants.json is left in {data_dir}"


def assert_data_dir_kept(data_dir: Path) -> None:
    """The billing data is where it was (result files are checked by downloading them)."""
    assert (data_dir / "billing.duckdb").is_file()


def csv_of(client: httpx.Client, batch: dict[str, Any]) -> list[list[str]]:
    """A completed batch's CSV rows (the header row first; segments joined, each without its
    own header)."""
    file_ids = batch.get("segments") or [batch["fileId"]]
    rows: list[list[str]] = []
    for file_id in file_ids:
        parsed = support.parse_csv(support.download(client, file_id).content)
        rows.extend(parsed if not rows else parsed[1:])
    return rows
