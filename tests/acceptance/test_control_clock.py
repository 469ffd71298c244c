"""Test control's clock over real HTTP: a server started with ``AQUARIUM_TEST_CONTROL=1`` lets
an administrator move the demo tenant's time, and what would have happened meanwhile has
happened when the answer comes (docs/testing-your-integration.md, "Clock").

The clock server sweeps retention only once an hour by itself, so a file gone right after an
advance was removed by the advance's own sweep. A server without the switch has no clock path.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import tenants_setup
from tests.acceptance import support
from tests.acceptance.conftest import DEMO_PARTNERS

CLOCK = "/aquarium/api/v1/control/clock"
CLERK = ("clerk", "clerk-password")  # a demo user who is not an administrator
HOUR_S = "3600"


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("clock") / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.set_partners(data_dir, "demo", DEMO_PARTNERS)
    tenants_setup.add_user(data_dir, "demo", *CLERK)
    env = {"AQUARIUM_TEST_CONTROL": "1", "AQUARIUM_PURGE_INTERVAL_S": HOUR_S}
    yield from support.serving(support.start_server("clock", data_dir, demo_scale=0.05, env=env))


@pytest.fixture
def admin(clock_server: support.RunningServer) -> Iterator[httpx.Client]:
    """The demo administrator's client; the demo tenant's clock is reset after the test."""
    client = clock_server.client()
    yield client
    assert client.post(CLOCK, json={"action": "reset"}).status_code == 200


def _move(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post(CLOCK, json=body)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def test_advancing_four_days_expires_a_completed_jobs_file_at_once(
    admin: httpx.Client, clock_server: support.RunningServer
) -> None:
    done = support.run_job(admin, support.stateless("select Id from Account"))
    file_id = done["batches"][0]["fileId"]
    assert support.download(admin, file_id).content.startswith(b"Account")
    stored = clock_server.data_dir / "results" / "demo" / file_id
    assert stored.is_file()

    moved = _move(admin, action="advance", by={"days": 4})

    assert moved["offsetSeconds"] >= 4 * 86400 and moved["frozen"] is False
    assert not stored.exists()  # the advance swept it
    expired = admin.get(f"/v1/file/{file_id}")
    unknown = admin.get(f"/v1/file/{uuid.uuid4().hex}")
    assert expired.status_code == unknown.status_code == 404
    assert expired.json() == unknown.json()
    # The job is kept longer than its files: it is still there, completed.
    assert support.get_job(admin, done["id"])["status"] == "completed"


def test_a_relative_date_in_a_query_is_read_on_the_tenants_clock(admin: httpx.Client) -> None:
    query = "select Id from Account where CreatedDate < 'today'"
    now_real = support.run_job(admin, support.stateless(query))
    assert now_real["batches"][0]["recordCount"] > 0

    moved = _move(admin, action="set", at="1990-06-01T12:00:00Z", frozen=True)
    assert moved["now"] == "1990-06-01T12:00:00Z" and moved["frozen"] is True

    in_1990 = support.run_job(admin, support.stateless(query))
    assert in_1990["batches"][0]["recordCount"] == 0


def test_a_stateful_session_left_idle_past_180_days_loads_everything_again(
    admin: httpx.Client,
) -> None:
    body = support.stateless("select Id from Account", version="1.1")
    body |= {"partner": DEMO_PARTNERS[1], "project": f"clock-{uuid.uuid4().hex[:8]}"}
    first = support.run_job(admin, body)["batches"][0]["recordCount"]
    assert first > 0
    assert support.run_job(admin, body)["batches"][0]["recordCount"] == 0

    _move(admin, action="advance", by={"days": 181})

    assert support.run_job(admin, body)["batches"][0]["recordCount"] == first


def test_rows_written_after_an_advance_reach_the_next_window(admin: httpx.Client) -> None:
    body = support.stateless("select Id from Account", version="1.1")
    body |= {"partner": DEMO_PARTNERS[1], "project": f"clock-{uuid.uuid4().hex[:8]}"}
    support.run_job(admin, body)
    _move(admin, action="advance", by={"hours": 6})
    assert support.run_job(admin, body)["batches"][0]["recordCount"] == 0

    created = admin.post(
        "/v1/object/account", json={"Name": "Clock Inc", "Currency": "USD", "BillCycleDay": 1}
    )
    assert created.status_code == 200, created.text

    done = support.run_job(admin, body)
    rows = support.parse_csv(support.download(admin, done["batches"][0]["fileId"]).content)
    assert [row[0] for row in rows[1:]] == [created.json()["Id"]]


def test_show_freeze_and_reset(admin: httpx.Client) -> None:
    shown = admin.get(CLOCK)
    assert shown.status_code == 200
    assert shown.json()["tenant"] == "demo" and shown.json()["frozen"] is False
    frozen = _move(admin, action="freeze", at="2030-01-01T00:00:00+02:00")
    assert frozen["now"] == "2029-12-31T22:00:00Z"
    assert admin.get(CLOCK).json()["now"] == "2029-12-31T22:00:00Z"
    reset = _move(admin, action="reset")
    assert reset["frozen"] is False and reset["offsetSeconds"] == 0


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"action": "advance", "by": {"days": -1}}, "'by.days'"),
        ({"action": "set", "at": "not a date"}, "'at'"),
        ({"action": "jump"}, "'action'"),
    ],
)
def test_a_bad_move_is_400_naming_the_member(
    admin: httpx.Client, body: dict[str, Any], named: str
) -> None:
    response = admin.post(CLOCK, json=body)
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]["message"]


def test_the_clock_is_for_administrators(clock_server: support.RunningServer) -> None:
    clerk = clock_server.client(auth=CLERK)
    assert clerk.get(CLOCK).status_code == 403
    assert clerk.post(CLOCK, json={"action": "advance", "by": {"days": 4}}).status_code == 403
    assert clock_server.client(auth=None).get(CLOCK).status_code == 401


def test_a_server_without_test_control_has_no_clock(demo: httpx.Client) -> None:
    assert demo.get(CLOCK).status_code == 404
    assert demo.post(CLOCK, json={"action": "advance", "by": {"days": 4}}).status_code == 404


def _cli(server: support.RunningServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return support.control_cli(server, home, "clock", *args)


def test_the_cli_moves_and_shows_the_clock(
    admin: httpx.Client, clock_server: support.RunningServer, tmp_path: Path
) -> None:
    advanced = _cli(clock_server, tmp_path, "advance", "--days", "2", "--hours", "1", "--json")
    assert advanced.returncode == 0, advanced.stderr
    assert json.loads(advanced.stdout)["offsetSeconds"] >= 2 * 86400 + 3600
    frozen = _cli(clock_server, tmp_path, "set", "2031-05-01T00:00:00Z", "--frozen")
    assert frozen.returncode == 0, frozen.stderr
    assert "demo: 2031-05-01T00:00:00Z (frozen" in frozen.stdout
    assert admin.get(CLOCK).json()["now"] == "2031-05-01T00:00:00Z"
    shown = _cli(clock_server, tmp_path, "show", "--json")
    assert json.loads(shown.stdout)["frozen"] is True
    assert _cli(clock_server, tmp_path, "reset").returncode == 0
    assert admin.get(CLOCK).json()["frozen"] is False


def test_the_cli_says_what_is_wrong_in_one_line(
    clock_server: support.RunningServer, tmp_path: Path
) -> None:
    bad = _cli(clock_server, tmp_path, "set", "next tuesday")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ") and "'at'" in bad.stderr
    assert "Traceback" not in bad.stderr
    nothing = _cli(clock_server, tmp_path, "advance")
    assert nothing.returncode == 2 and nothing.stderr.startswith("error: say how far")


def test_the_cli_against_a_server_without_test_control_is_not_found(
    server: support.RunningServer, tmp_path: Path
) -> None:
    done = _cli(server, tmp_path, "show")
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
