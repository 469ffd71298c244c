"""The test-control API over real HTTP (issue 16): a server started with the switch, and the
shared one started without it.

Control calls and fault answers go through plain httpx clients: neither is in openapi.json (the
control routes exist only with the switch, and a fault answers what the document does not).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquarium import client
from tests import tenants_setup
from tests.acceptance import support

CONTROL = "/aquarium/api/v1/control"
USER_AUTH = ("tester", "tester-password")  # a demo user who is no administrator
OTHER_ADMIN = ("other-admin", "other-admin-password")
UNKNOWN_JOB = "0" * 32
JOB_PATH = "/v1/batch-query/jobs/" + UNKNOWN_JOB
# The code under test, also in the CLI's subprocesses (a worktree's src beats the installed one).
EXIT_NOT_FOUND = 4


@pytest.fixture(scope="module")
def control_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("control") / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.add_user(data_dir, "demo", *USER_AUTH)
    tenants_setup.add_tenant(data_dir, "other", time_zone="UTC")
    tenants_setup.add_user(data_dir, "other", *OTHER_ADMIN, admin=True)
    server = support.start_server(
        "control", data_dir, demo_scale=0.05, env={"AQUARIUM_TEST_CONTROL": "1"}
    )
    yield from support.serving(server)


@pytest.fixture
def demo(control_server: support.RunningServer) -> Iterator[httpx.Client]:
    """demo/demo, an administrator of its tenant; the tenant's rules and requests cleared."""
    with httpx.Client(base_url=control_server.base_url, auth=support.DEMO_AUTH) as client:
        assert client.delete(CONTROL + "/faults").status_code == 204
        assert client.delete(CONTROL + "/requests").status_code == 204
        yield client


def _seen(client: httpx.Client, limit: int = 100) -> list[dict[str, Any]]:
    response = client.get(CONTROL + "/requests", params={"limit": limit})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["requests"]
    return found


def _add(client: httpx.Client, rule: dict[str, Any]) -> dict[str, Any]:
    response = client.post(CONTROL + "/faults", json=rule)
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()
    return added


# -- the switch ------------------------------------------------------------------------------------


def test_a_server_with_the_switch_says_so(control_server: support.RunningServer) -> None:
    assert httpx.get(control_server.base_url + "/healthz").json() == {
        "status": "ok",
        "testControl": True,
    }
    log = control_server.log_path.read_text("utf-8")
    assert "WARNING: TEST CONTROL IS ON" in log  # stderr
    assert "level='warning' event='TEST CONTROL IS ON" in log  # the log line


def test_without_the_switch_nothing_of_it_is_there(server: support.RunningServer) -> None:
    assert httpx.get(server.base_url + "/healthz").json() == {
        "status": "ok",
        "testControl": False,
    }
    with httpx.Client(base_url=server.base_url, auth=support.DEMO_AUTH) as client:
        unknown = client.get("/aquarium/api/v1/no-such-thing")
        assert unknown.status_code == 404
        calls = [
            ("GET", CONTROL + "/requests", None),
            ("DELETE", CONTROL + "/requests", None),
            ("GET", CONTROL + "/faults", None),
            ("POST", CONTROL + "/faults", {"match": {"kind": "aqua"}, "count": 1}),
            ("GET", CONTROL + "/faults/log", None),
            ("DELETE", CONTROL + "/faults/f1", None),
            ("DELETE", CONTROL + "/faults", None),
        ]
        for method, path, body in calls:
            response = client.request(method, path, json=body)
            assert response.status_code == 404, (method, path)
            assert response.json()["error"]["code"] == unknown.json()["error"]["code"]
        # No recording middleware either: a job poll is answered as ever.
        assert client.get(JOB_PATH).json()["errorCode"] == "90002"


# -- requests seen -------------------------------------------------------------------------------


def test_requests_seen_say_what_the_integration_sent(demo: httpx.Client) -> None:
    body = json.dumps(support.stateless("select Id from Account")).encode()
    submitted = demo.post("/v1//batch-query/", content=body, params={"trace": "1"})
    assert submitted.status_code == 200, submitted.text
    job = demo.get(f"/v1/batch-query/jobs/{submitted.json()['id']}")
    first, second = _seen(demo)  # the control calls themselves are not among them
    assert first["method"] == "POST"
    assert first["path"] == "/v1/batch-query"  # as routed: slashes collapsed
    assert first["query"] == "trace=1"
    assert first["status"] == 200
    assert first["bodySha256"] == hashlib.sha256(body).hexdigest()
    assert first["bodyBytes"] == len(body)
    assert first["faultId"] is None
    assert first["durationMs"] >= 0
    assert first["startedAt"] <= second["startedAt"]
    assert second["path"] == f"/v1/batch-query/jobs/{job.json()['id']}"
    assert second["bodySha256"] == hashlib.sha256(b"").hexdigest()
    assert second["bodyBytes"] == 0
    assert _seen(demo, limit=1) == [second]
    assert demo.delete(CONTROL + "/requests").status_code == 204
    assert _seen(demo) == []


def test_requests_seen_are_the_tenants_own(
    control_server: support.RunningServer, demo: httpx.Client
) -> None:
    with httpx.Client(base_url=control_server.base_url, auth=OTHER_ADMIN) as other:
        other.delete(CONTROL + "/requests")
        assert other.get(JOB_PATH).status_code == 200
        assert [seen["path"] for seen in _seen(other)] == [JOB_PATH]
    assert _seen(demo) == []
    # Unauthenticated requests belong to no tenant: not recorded.
    assert httpx.get(control_server.base_url + JOB_PATH).status_code == 401
    assert _seen(demo) == []


def test_bad_limits_and_callers_are_refused(
    control_server: support.RunningServer, demo: httpx.Client
) -> None:
    for limit in ("0", "1001", "x", "-1"):
        response = demo.get(CONTROL + "/requests", params={"limit": limit})
        assert response.status_code == 400, limit
        assert response.json()["error"]["code"] == "bad_request"
        assert "limit" in response.json()["error"]["message"].lower()
    with httpx.Client(base_url=control_server.base_url, auth=USER_AUTH) as user:
        for method, path in (("GET", "/requests"), ("GET", "/faults"), ("DELETE", "/faults")):
            response = user.request(method, CONTROL + path)
            assert response.status_code == 403, path
            assert response.json()["error"]["code"] == "forbidden"
        refused = user.post(CONTROL + "/faults", json={"match": {"kind": "aqua"}})
        assert refused.status_code == 403
    with httpx.Client(base_url=control_server.base_url) as nobody:
        assert nobody.get(CONTROL + "/faults").status_code == 401


# -- faults ----------------------------------------------------------------------------------------


def test_rate_limited_for_the_next_n_matching_requests(demo: httpx.Client) -> None:
    added = _add(
        demo,
        {
            "match": {"endpoint": "GET /v1/batch-query/jobs/*"},
            "action": {"type": "http", "status": 429, "retryAfterSeconds": 2},
            "count": 2,
        },
    )
    assert (added["fired"], added["remaining"], added["active"]) == (0, 2, True)
    assert demo.get("/v1/describe").status_code == 200  # not matching: untouched
    for _ in range(2):
        limited = demo.get(JOB_PATH)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "2"
        assert limited.headers["RateLimit-Remaining"] == "0"
        assert limited.headers["RateLimit-Reset"] == "2"
        assert limited.headers["RateLimit-Limit"].startswith("50000")
        assert "Retry after 2 seconds" in limited.json()["message"]
        assert "zuora-request-id" in limited.headers
    assert demo.get(JOB_PATH).json()["errorCode"] == "90002"  # the rule is used up
    [listed] = demo.get(CONTROL + "/faults").json()["faults"]
    assert listed["id"] == added["id"]
    assert (listed["fired"], listed["remaining"], listed["active"]) == (2, 0, False)
    firings = demo.get(CONTROL + "/faults/log").json()["firings"]
    assert [(f["ruleId"], f["method"], f["path"]) for f in firings] == [
        (added["id"], "GET", JOB_PATH)
    ] * 2
    statuses = [(seen["path"], seen["status"], seen["faultId"]) for seen in _seen(demo)]
    assert statuses == [
        ("/v1/describe", 200, None),
        (JOB_PATH, 429, added["id"]),
        (JOB_PATH, 429, added["id"]),
        (JOB_PATH, 200, None),
    ]


def test_500_and_503_for_a_while_and_removing_a_rule(demo: httpx.Client) -> None:
    failing = _add(
        demo,
        {
            "match": {"endpoint": "POST /v1/batch-query", "kind": "aqua"},
            "action": {"type": "http", "status": 500},
            "count": 1,
        },
    )
    unavailable = _add(
        demo,
        {
            "match": {"kind": "report"},
            "action": {"type": "http", "status": 503, "message": "maintenance"},
            "durationSeconds": 600,
        },
    )
    failed = demo.post("/v1/batch-query/", json=support.stateless("select Id from Account"))
    assert failed.status_code == 500
    assert failed.json()["errorCode"] == "90010"  # AQuA's own internal error body
    for _ in range(2):
        down = demo.get("/api/rest/v1/reportruns/" + UNKNOWN_JOB)
        assert (down.status_code, down.json()) == (503, {"message": "maintenance"})
    assert demo.delete(CONTROL + "/faults/" + unavailable["id"]).status_code == 204
    assert demo.get("/api/rest/v1/reportruns/" + UNKNOWN_JOB).status_code == 404
    assert [rule["id"] for rule in demo.get(CONTROL + "/faults").json()["faults"]] == [
        failing["id"]
    ]
    gone = demo.delete(CONTROL + "/faults/" + unavailable["id"])
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"


def test_a_submit_refused_with_zuoras_code(demo: httpx.Client) -> None:
    _add(
        demo,
        {
            "match": {"endpoint": "POST /v1/batch-query", "kind": "aqua"},
            "action": {
                "type": "refuse",
                "errorCode": "90028",
                "message": "The total number of concurrent jobs has exceeded the limit.",
            },
            "count": 1,
        },
    )
    body = support.stateless("select Id from Account")
    refused = demo.post("/v1/batch-query/", json=body)
    assert refused.status_code == 200
    assert refused.json() == {
        "id": None,
        "status": "error",
        "errorCode": "90028",
        "message": "The total number of concurrent jobs has exceeded the limit.",
    }
    assert demo.post("/v1/batch-query/", json=body).json()["status"] == "submitted"


def test_a_job_aborted_at_batch_k(demo: httpx.Client) -> None:
    rule = _add(
        demo,
        {
            "match": {"kind": "aqua"},
            "action": {"type": "abort", "batch": 2, "message": "Simulated outage"},
            "count": 1,
        },
    )
    body = support.stateless("select Id from Account", "select Id from Invoice")
    submitted = support.submit_ok(demo, body)
    done = support.wait_for_job(demo, submitted["id"])
    assert done["status"] == "aborted"
    first, second = done["batches"]
    assert first["status"] == "completed" and first["fileId"]
    assert second["status"] == "aborted"
    assert second["message"] == "The query execution has been aborted. Simulated outage."
    [firing] = demo.get(CONTROL + "/faults/log").json()["firings"]
    assert (firing["ruleId"], firing["jobId"], firing["batch"]) == (rule["id"], done["id"], 2)
    assert support.run_job(demo, body)["status"] == "completed"  # used up


def test_rules_are_the_callers_tenants(
    control_server: support.RunningServer, demo: httpx.Client
) -> None:
    _add(demo, {"match": {"kind": "aqua"}, "action": {"type": "http", "status": 503}, "count": 5})
    with httpx.Client(base_url=control_server.base_url, auth=OTHER_ADMIN) as other:
        assert other.get(JOB_PATH).json()["errorCode"] == "90002"
        assert other.get(CONTROL + "/faults").json() == {"faults": []}
    assert demo.get(JOB_PATH).status_code == 503


def test_a_download_cut_half_way(demo: httpx.Client) -> None:
    done = support.run_job(demo, support.stateless("select Id, Name from Account"))
    file_id = done["batches"][0]["fileId"]
    whole = support.download(demo, file_id).content
    assert len(whole) > 100
    rule = _add(
        demo,
        {"match": {"endpoint": "GET /v1/file/*"}, "action": {"type": "disconnect"}, "count": 1},
    )
    with pytest.raises(httpx.RemoteProtocolError):
        demo.get("/v1/file/" + file_id)
    assert support.download(demo, file_id).content == whole  # once only
    cut = [seen for seen in _seen(demo) if seen["faultId"] == rule["id"]]
    assert [(seen["path"], seen["status"]) for seen in cut] == [("/v1/file/" + file_id, 200)]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"match": {"kind": "soap"}, "action": {"type": "disconnect"}, "count": 1}, "match.kind"),
        ({"match": {"kind": "aqua"}, "action": {"type": "http", "status": 404}, "count": 1}, ""),
        ({"match": {"kind": "aqua"}, "action": {"type": "disconnect"}}, "count"),
        ({"match": {"kind": "aqua"}, "action": {"type": "disconnect"}, "count": 1, "x": 1}, "x"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field(
    demo: httpx.Client, rule: dict[str, Any], field: str
) -> None:
    response = demo.post(CONTROL + "/faults", json=rule)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith(f"'{field or 'action.status'}'"), error
    assert demo.get(CONTROL + "/faults").json() == {"faults": []}
    not_json = demo.post(CONTROL + "/faults", content=b"{nope")
    assert not_json.status_code == 400


# -- the Python client and the CLI ---------------------------------------------------------------


def test_the_python_client(control_server: support.RunningServer, demo: httpx.Client) -> None:
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    with client.Client(control_server.base_url, credentials) as aquarium_client:
        control = aquarium_client.control
        rule = control.faults.http(503, endpoint="GET /v1/batch-query/jobs/*", count=1)
        refusal = control.faults.refuse("90028", "Too many jobs.")
        with pytest.raises(client.Refused):  # the client sees the refusal as Zuora's
            aquarium_client.submit(["select Id from Account"])
        with pytest.raises(client.ClientError):
            aquarium_client.job(UNKNOWN_JOB)
        listed = {one["id"]: one for one in control.faults.list()}
        assert listed[rule["id"]]["fired"] == listed[refusal["id"]]["fired"] == 1
        assert [f["ruleId"] for f in control.faults.log()] == [refusal["id"], rule["id"]]
        assert [(s["method"], s["status"]) for s in control.requests.list()] == [
            ("POST", 200),
            ("GET", 503),
        ]
        control.faults.remove(rule["id"])
        with pytest.raises(client.NotFound):
            control.faults.remove(rule["id"])
        control.clear()
        assert control.faults.list() == [] and control.requests.list() == []
        assert control.faults.log() == []


def test_the_clients_on_a_server_without_the_switch(
    server: support.RunningServer, tmp_path: Path
) -> None:
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    with (
        client.Client(server.base_url, credentials) as aquarium_client,
        pytest.raises(client.NotFound, match="--test-control"),
    ):
        aquarium_client.control.requests.list()
    done = _cli(server, tmp_path, "fault", "list")
    assert done.returncode == EXIT_NOT_FOUND
    assert done.stderr.strip() == (
        "error: not found: this server has no test control (start it with --test-control)"
    )


def _cli(server: support.RunningServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return support.control_cli(server, home, *args)


def _ok(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if done.stdout.startswith(("{", "[")) else done.stdout


@pytest.mark.slow
@pytest.mark.timeout(360)  # 17 CLI processes, each a Python start: minutes on a busy machine
def test_the_cli(control_server: support.RunningServer, demo: httpx.Client, tmp_path: Path) -> None:
    added = _ok(
        _cli(
            control_server,
            tmp_path,
            "fault",
            "add",
            "--endpoint",
            "GET /v1/batch-query/jobs/*",
            "--http",
            "429",
            "--retry-after",
            "3",
            "--count",
            "2",
            "--json",
        )
    )
    assert added["action"] == {"type": "http", "status": 429, "retryAfterSeconds": 3}
    assert demo.get(JOB_PATH).status_code == 429
    [listed] = _ok(_cli(control_server, tmp_path, "fault", "list", "--json"))["faults"]
    assert (listed["id"], listed["fired"], listed["remaining"]) == (added["id"], 1, 1)
    assert f"{added['id']}" in _ok(_cli(control_server, tmp_path, "fault", "list"))
    [firing] = _ok(_cli(control_server, tmp_path, "fault", "log", "--json"))["firings"]
    assert firing["path"] == JOB_PATH
    seen = _ok(_cli(control_server, tmp_path, "requests", "--json", "--clear"))["requests"]
    assert [(one["path"], one["status"]) for one in seen] == [(JOB_PATH, 429)]
    assert _ok(_cli(control_server, tmp_path, "requests", "--json")) == {"requests": []}
    _ok(_cli(control_server, tmp_path, "fault", "remove", added["id"]))
    missing = _cli(control_server, tmp_path, "fault", "remove", added["id"])
    assert missing.returncode == EXIT_NOT_FOUND
    assert "no fault rule" in missing.stderr.lower()
    assert "Traceback" not in missing.stderr
    refused = _cli(control_server, tmp_path, "fault", "add", "--kind", "soap", "--http", "429")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    bad_rule = _cli(
        control_server, tmp_path, "fault", "add", "--rule", '{"match": {"kind": "aqua"}}'
    )
    assert bad_rule.returncode != 0
    assert "'action'" in bad_rule.stderr and "Traceback" not in bad_rule.stderr
    aborting = _ok(
        _cli(
            control_server,
            tmp_path,
            "fault",
            "add",
            "--abort-batch",
            "2",
            "--message",
            "x",
            "--json",
        )
    )
    assert (aborting["match"], aborting["action"]) == (
        {"kind": "aqua"},
        {"type": "abort", "batch": 2, "message": "x"},
    )
    assert demo.get("/v1/describe").status_code == 200
    _ok(_cli(control_server, tmp_path, "clear"))
    assert _ok(_cli(control_server, tmp_path, "fault", "list", "--json")) == {"faults": []}
    assert _ok(_cli(control_server, tmp_path, "requests", "--json")) == {"requests": []}
