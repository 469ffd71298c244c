"""Test control's reset over real HTTP (issue 16): a server started with ``AQUARIUM_TEST_CONTROL=1``
saves the demo tenant as a named snapshot and restores it: billing data, runs and result files
exactly as saved (docs/testing-your-integration.md, "Reset"); the shared server, started without
the switch, has none of it.

Control calls go through plain httpx clients: the control routes are not in openapi.json.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquarium import client
from tests import tenants_setup
from tests.acceptance import support

SNAPSHOTS = "/aquarium/api/v1/control/snapshots"
CLOCK = "/aquarium/api/v1/control/clock"
CLERK = ("clerk", "clerk-password")  # a demo user who is not an administrator
HOUR_S = "3600"
EXIT_NOT_FOUND = 4
TIMEOUT_S = 120.0  # a save copies the tenant twice: seconds on a busy machine


@pytest.fixture(scope="module")
def reset_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("reset") / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.add_user(data_dir, "demo", *CLERK)
    env = {"AQUARIUM_TEST_CONTROL": "1", "AQUARIUM_PURGE_INTERVAL_S": HOUR_S}
    yield from support.serving(support.start_server("reset", data_dir, demo_scale=0.05, env=env))


@pytest.fixture
def admin(reset_server: support.RunningServer) -> Iterator[httpx.Client]:
    """The demo administrator; the tenant's clock is reset after the test."""
    with httpx.Client(
        base_url=reset_server.base_url, auth=support.DEMO_AUTH, timeout=TIMEOUT_S
    ) as made:
        yield made
        assert made.post(CLOCK, json={"action": "reset"}).status_code == 200


def _save(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.post(SNAPSHOTS, json={"name": name})
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


def _restore(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.post(f"{SNAPSHOTS}/{name}/restore")
    assert response.status_code == 200, response.text
    restored: dict[str, Any] = response.json()
    return restored


def _new_account(client: httpx.Client, name: str) -> str:
    response = client.post(
        "/v1/object/account", json={"Name": name, "Currency": "USD", "BillCycleDay": 1}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["Id"])


def _job_is_unknown(client: httpx.Client, job_id: str) -> bool:
    return client.get(f"/v1/batch-query/jobs/{job_id}").json().get("errorCode") == "90002"


def test_a_restore_brings_back_the_data_runs_and_files_as_saved(
    admin: httpx.Client, reset_server: support.RunningServer
) -> None:
    results = reset_server.data_dir / "results" / "demo"
    earlier = support.run_job(admin, support.stateless("select Id, Name from Account"))
    earlier_file = earlier["batches"][0]["fileId"]
    earlier_bytes = support.download(admin, earlier_file).content

    saved = _save(admin, "clean")

    assert saved["name"] == "clean" and saved["rows"] > 0
    assert saved["files"] >= 1 and saved["bytes"] >= len(earlier_bytes)
    assert [one["name"] for one in admin.get(SNAPSHOTS).json()["snapshots"]] == ["clean"]
    for _ in range(2):  # the second restore swaps in the spare made after the first
        account = _new_account(admin, "Made after the save")
        later = support.run_job(admin, support.stateless("select Id from Account"))
        later_file = later["batches"][0]["fileId"]
        assert (results / later_file).is_file()
        # Four days on, retention sweeps every file away (the earlier one too), then back.
        moved = admin.post(CLOCK, json={"action": "advance", "by": {"days": 4}})
        assert moved.status_code == 200, moved.text
        assert not (results / earlier_file).exists()
        assert admin.post(CLOCK, json={"action": "reset"}).status_code == 200

        restored = _restore(admin, "clean")

        assert restored == saved
        assert admin.get(f"/v1/object/account/{account}").status_code == 404
        assert _job_is_unknown(admin, later["id"])
        assert admin.get(f"/v1/file/{later_file}").status_code == 404
        assert not (results / later_file).exists()
        assert support.get_job(admin, earlier["id"])["status"] == "completed"
        assert support.download(admin, earlier_file).content == earlier_bytes


def test_remove_then_the_name_is_unknown(admin: httpx.Client) -> None:
    # The refusal while runs wait (409) is tests/integration/test_tenant_snapshots.py's: here a
    # job would race the restore.
    _save(admin, "gone")
    assert admin.delete(f"{SNAPSHOTS}/gone").status_code == 204
    assert "gone" not in [one["name"] for one in admin.get(SNAPSHOTS).json()["snapshots"]]
    for response in (
        admin.delete(f"{SNAPSHOTS}/gone"),
        admin.post(f"{SNAPSHOTS}/gone/restore"),
    ):
        assert response.status_code == 404, response.text
        assert "no snapshot 'gone'" in response.json()["error"]["message"].lower()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Clean"},
        {"name": "../x"},
        {"name": ""},
        {"name": "a" * 41},
        {"name": 7},
        {},
        {"name": "ok", "extra": 1},
        ["clean"],
    ],
)
def test_bad_names_and_bodies_are_a_400(admin: httpx.Client, body: object) -> None:
    response = admin.post(SNAPSHOTS, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


def test_a_bad_name_in_the_path_is_a_400(admin: httpx.Client) -> None:
    response = admin.post(SNAPSHOTS + "/Bad.Name/restore")
    assert response.status_code == 400, response.text
    assert "snapshot name 'bad.name'" in response.json()["error"]["message"].lower()


def test_only_administrators(reset_server: support.RunningServer) -> None:
    with httpx.Client(base_url=reset_server.base_url, auth=CLERK) as clerk:
        calls = [
            ("POST", SNAPSHOTS, {"name": "clean"}),
            ("GET", SNAPSHOTS, None),
            ("POST", SNAPSHOTS + "/clean/restore", None),
            ("DELETE", SNAPSHOTS + "/clean", None),
        ]
        for method, path, body in calls:
            response = clerk.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"]["code"] == "forbidden"


def test_without_the_switch_there_are_no_snapshots(server: support.RunningServer) -> None:
    with httpx.Client(base_url=server.base_url, auth=support.DEMO_AUTH) as plain:
        unknown = plain.get("/aquarium/api/v1/no-such-thing")
        for method, path, body in [
            ("POST", SNAPSHOTS, {"name": "clean"}),
            ("GET", SNAPSHOTS, None),
            ("POST", SNAPSHOTS + "/clean/restore", None),
            ("DELETE", SNAPSHOTS + "/clean", None),
        ]:
            response = plain.request(method, path, json=body)
            assert response.status_code == 404, (method, path)
            assert response.json() == unknown.json()
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    with (
        client.Client(server.base_url, credentials) as aquarium_client,
        pytest.raises(client.NotFound, match="--test-control"),
    ):
        aquarium_client.control.snapshots.list()


def test_the_python_client(reset_server: support.RunningServer, admin: httpx.Client) -> None:
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    with client.Client(reset_server.base_url, credentials, timeout=TIMEOUT_S) as aquarium_client:
        snapshots = aquarium_client.control.snapshots
        saved = snapshots.save("from-client")
        account = _new_account(admin, "Client test")
        assert snapshots.restore("from-client") == saved
        assert admin.get(f"/v1/object/account/{account}").status_code == 404
        assert "from-client" in [one["name"] for one in snapshots.list()]
        snapshots.remove("from-client")
        with pytest.raises(client.NotFound, match=r"(?i)no snapshot 'from-client'"):
            snapshots.restore("from-client")


def _cli(server: support.RunningServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return support.control_cli(server, home, "reset", *args)


@pytest.mark.slow
@pytest.mark.timeout(360)
def test_the_cli(reset_server: support.RunningServer, tmp_path: Path) -> None:
    saved = _cli(reset_server, tmp_path, "save", "cli")
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.startswith("saved cli ")
    listed = _cli(reset_server, tmp_path, "list")
    assert listed.returncode == 0 and "cli " in listed.stdout
    restored = _cli(reset_server, tmp_path, "restore", "cli", "--json")
    assert restored.returncode == 0, restored.stderr
    assert '"name": "cli"' in restored.stdout
    assert _cli(reset_server, tmp_path, "remove", "cli").returncode == 0
    missing = _cli(reset_server, tmp_path, "restore", "cli")
    assert missing.returncode == EXIT_NOT_FOUND
    assert "no snapshot 'cli'" in missing.stderr.lower() and "Traceback" not in missing.stderr
    bad = _cli(reset_server, tmp_path, "save", "Not/Good")
    assert bad.returncode != 0 and "snapshot name" in bad.stderr.lower()
    assert "Traceback" not in bad.stderr
