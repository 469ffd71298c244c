"""``aquarium tenant add-field / remove-field / fields / set-invoice-settlement`` as a user runs
them: against a data dir a real ``aquarium serve`` holds (the command goes through the server,
since DuckDB lets only the server open the file), and against one no server holds (the command
changes the files itself, and ``datagen`` then fills the field)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance import dataquery_support as dq
from tests.acceptance import support
from tests.acceptance import test_tap_zuora as tap_zuora

pytestmark = pytest.mark.xdist_group("acceptance-fields")

FEATURES = "/aquarium/api/v1/tenant/features"


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``aquarium ARGS --data-dir DATA_DIR``, whatever its exit code."""
    return subprocess.run(
        [sys.executable, "-m", "aquarium", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=support.hermetic_env(COLUMNS="200"),
        timeout=120,
        check=False,
    )


def refused(done: subprocess.CompletedProcess[str], words: str) -> None:
    """Exit code 1 and one line on stderr saying ``words``; never a traceback."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert words.lower() in lines[0].lower(), lines[0]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("fields") / "data"
    yield from support.serving(support.start_server("fields", data_dir, demo_scale=0.02, workers=1))


@pytest.fixture(scope="module")
def client(served: support.RunningServer) -> httpx.Client:
    return served.client()


def _fields(client: httpx.Client, name: str = "Account") -> list[str]:
    xml = client.get(f"/v1/describe/{name}").text
    return [part.split("</name>")[0] for part in xml.split("<name>")[2:]]


def test_a_field_added_through_the_server_is_there_at_once(
    served: support.RunningServer, client: httpx.Client
) -> None:
    done = cli(
        served.data_dir, "tenant", "add-field", "demo", "Account", "Region__c", "picklist",
        "--values", "EU,US", "--label", "Region",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Account.Region__c (picklist (EU, US), label 'Region') added" in done.stdout
    assert "Region__c" in _fields(client)
    body = support.stateless("select Id, Region__c from Account limit 2", useQueryLabels=True)
    finished = support.run_job(client, body)
    rows = support.parse_csv(support.download(client, finished["batches"][0]["fileId"]).content)
    assert rows[0] == ["Account.Id", "Account.Region__c"] and len(rows) == 3
    listed = cli(served.data_dir, "tenant", "fields", "demo")
    assert listed.returncode == 0 and "Region__c" in listed.stdout and "EU, US" in listed.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("demo", "Account", "Region", "text"), "must end in '__c'"),
        (("demo", "Account", "Kind__c", "picklist"), "needs its values"),
        (("demo", "Account", "Kind__c", "colour"), "unknown type 'colour'"),
        (("demo", "Nothing", "Kind__c", "text"), "there is no object 'Nothing'"),
        (("nobody", "Account", "Kind__c", "text"), "unknown tenant 'nobody'"),
    ],
)
def test_bad_fields_are_one_line_and_exit_1(
    served: support.RunningServer, args: tuple[str, ...], words: str
) -> None:
    refused(cli(served.data_dir, "tenant", "add-field", *args), words)


def test_a_second_field_of_the_same_name_in_any_case_is_refused(
    served: support.RunningServer,
) -> None:
    added = cli(served.data_dir, "tenant", "add-field", "demo", "Account", "Twice__c", "text")
    assert added.returncode == 0, added.stderr
    again = cli(served.data_dir, "tenant", "add-field", "demo", "Account", "twice__c", "number")
    refused(again, "already has a custom field 'Twice__c'")


def test_invoice_settlement_switches_and_the_server_sees_it(
    served: support.RunningServer, client: httpx.Client
) -> None:
    assert client.get(FEATURES).json() == {"invoiceSettlement": True}
    done = cli(served.data_dir, "tenant", "set-invoice-settlement", "demo", "off")
    assert done.returncode == 0 and "off" in done.stdout, done.stderr
    deadline = time.monotonic() + 5
    while client.get(FEATURES).json() != {"invoiceSettlement": False}:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    refused(cli(served.data_dir, "tenant", "set-invoice-settlement", "demo", "maybe"), "on or off")
    assert cli(served.data_dir, "tenant", "set-invoice-settlement", "demo", "on").returncode == 0


def test_removing_it_through_the_server(
    served: support.RunningServer, client: httpx.Client
) -> None:
    # Its own field: tests of a module may run in any order on a worker.
    added = cli(served.data_dir, "tenant", "add-field", "demo", "Account", "Gone__c", "date")
    assert added.returncode == 0, added.stderr
    assert "Gone__c" in _fields(client)
    done = cli(served.data_dir, "tenant", "remove-field", "demo", "Account", "Gone__c")
    assert done.returncode == 0, done.stderr
    assert "Gone__c" not in _fields(client)
    again = cli(served.data_dir, "tenant", "remove-field", "demo", "Account", "Gone__c")
    refused(again, "no custom field 'Gone__c'")


def test_without_a_server_the_command_changes_the_files_and_datagen_fills_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    generate = ("datagen", "--tenant", "acme", "--scale", "0.02", "--seed", "2")
    assert cli(data_dir, *generate).returncode == 0
    added = cli(data_dir, "tenant", "add-field", "acme", "Account", "Score__c", "number")
    assert added.returncode == 0, added.stderr
    query = ("query", "--tenant", "acme", "select Score__c from Account where Score__c = null")
    before = cli(data_dir, *query)
    assert before.returncode == 0, before.stderr
    lines = before.stdout.splitlines()
    assert lines[0] == "Account.Score__c" and len(lines) > 1  # the column, null for every row
    assert cli(data_dir, *generate).returncode == 0
    after = cli(data_dir, "query", "--tenant", "acme", "select count(Score__c) from Account")
    assert after.returncode == 0 and int(after.stdout.splitlines()[1]) > 0, after.stdout
    listed = cli(data_dir, "tenant", "fields", "acme", "Invoice")
    assert listed.returncode == 0 and "Score__c" not in listed.stdout


def test_the_admin_api_over_http(served: support.RunningServer, client: httpx.Client) -> None:
    """Every answer is also checked against openapi.json (the autouse fixture of conftest)."""
    fields = "/aquarium/api/v1/custom-fields"
    body = {"object": "Subscription", "name": "Plan__c", "type": "boolean", "label": "Plan"}
    created = client.post(fields, json=body)
    assert created.status_code == 201, created.text
    assert created.json() == body
    assert client.get(fields, params={"object": "Subscription"}).json() == {"fields": [body]}
    bad = client.post(fields, json={**body, "name": "Plan"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_custom_field"
    assert client.delete(f"{fields}/Subscription/Plan__c").status_code == 204
    gone = client.delete(f"{fields}/Subscription/Plan__c")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert client.put(FEATURES, json={"invoiceSettlement": False}).json() == {
        "invoiceSettlement": False
    }
    assert client.put(FEATURES, json={"invoiceSettlement": True}).status_code == 200
    added = cli(
        served.data_dir, "user", "add", "clerk", "--tenant", "demo", "--password", "clerk-pw"
    )
    assert added.returncode == 0, added.stderr
    clerk = served.client(auth=("clerk", "clerk-pw"))
    deadline = time.monotonic() + 5
    while (answer := clerk.get(fields)).status_code == 401:  # until the server reloads
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"


def test_tap_zuora_discovers_the_custom_fields(
    served: support.RunningServer, client: httpx.Client
) -> None:
    """tap-zuora (from PyPI, unchanged) sees a tenant's custom fields with their types."""
    fields = "/aquarium/api/v1/custom-fields"
    declared = [
        {"object": "Account", "name": "Segment__c", "type": "picklist", "values": ["SMB", "ENT"]},
        {"object": "Subscription", "name": "Renewed__c", "type": "date"},
        {"object": "Invoice", "name": "Score__c", "type": "number"},
    ]
    for body in declared:
        assert client.post(fields, json=body).status_code == 201
    try:
        streams = tap_zuora.discover(served)
    finally:
        for body in declared:
            client.delete(f"{fields}/{body['object']}/{body['name']}")
    account = streams["Account"]["schema"]["properties"]
    assert account["Segment__c"]["type"] == ["string", "null"]
    renewed = streams["Subscription"]["schema"]["properties"]["Renewed__c"]
    assert renewed == {"type": ["string", "null"], "format": "date-time"}
    assert streams["Invoice"]["schema"]["properties"]["Score__c"]["type"] == ["number", "null"]
    assert "Segment__c" not in streams["Contact"]["schema"]["properties"]


def test_data_query_sees_a_custom_field_in_lower_case(
    served: support.RunningServer, client: httpx.Client
) -> None:
    """Data Query names a custom field in lower case with its ``__c`` (reference 8.4) and
    DESCRIBE gives its API name as the Comment."""
    done = cli(served.data_dir, "tenant", "add-field", "demo", "Account", "Tier__c", "text")
    assert done.returncode == 0, done.stderr
    described = dq.json_lines(dq.download(dq.run(client, dq.body("DESCRIBE account"))))
    tier = [row for row in described if row["Column"] == "tier__c"]
    assert tier == [{"Column": "tier__c", "Type": "varchar", "Extra": "", "Comment": "Tier__c"}]
    job = dq.run(client, dq.body("select id, TIER__C from account where tier__c is null", "CSV"))
    rows = support.parse_csv(dq.download(job))
    assert rows[0] == ["id", "tier__c"] and len(rows) > 1
