"""``client.data_queries`` against a real server: the whole round trip, the server's refusals as
the client's exceptions, the pre-signed download resumed with ``Range``, and the Data Query
example of docs/cli.md, run as it is written."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import aquarium
from aquarium import client
from aquarium.client import files, keys
from tests.acceptance import support
from tests.acceptance.test_cli_client import RecordingTransport
from tests.unit.test_client_dataquery import PUBLIC_PEM

SOURCE_DIR = str(Path(aquarium.__file__).resolve().parents[1])
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
BALANCES = "select accountnumber, balance from account"
Status = client.DataQueryStatus


@pytest.fixture
def api(server: support.RunningServer) -> Iterator[client.Client]:
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    with client.Client(server.base_url, credentials) as made:
        yield made


def test_submit_wait_download_json_lines(api: client.Client, tmp_path: Path) -> None:
    seen: list[Status] = []
    job = api.data_queries.submit(BALANCES, output_format="json")
    assert job.status is Status.ACCEPTED and job.output_format == "JSON"
    done = api.data_queries.wait(
        job.id, on_progress=lambda j: seen.append(j.status), timeout=support.JOB_TIMEOUT_S
    )
    assert done.status is Status.COMPLETED and seen[-1] is Status.COMPLETED
    assert done.output_rows and done.processing_time_ms is not None and done.data_file
    saved = api.data_queries.download(done.id, tmp_path / "balances.jsonl")
    rows = [json.loads(line) for line in saved.read_text("utf-8").splitlines()]
    assert len(rows) == done.output_rows
    assert set(rows[0]) == {"accountnumber", "balance"}


def test_a_download_resumes_with_a_range_and_sends_no_credentials(
    server: support.RunningServer, api: client.Client, tmp_path: Path
) -> None:
    done = api.data_queries.wait(api.data_queries.submit(BALANCES).id, timeout=60)
    whole = api.data_queries.download(done.id, tmp_path / "whole.csv").read_bytes()
    transport = RecordingTransport()
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    target = tmp_path / "resumed.csv"
    half = len(whole) // 2
    files.part_path(target).write_bytes(whole[:half])
    with client.Client(server.base_url, credentials, transport=transport) as recording:
        recording.data_queries.download(done.id, target)
    assert target.read_bytes() == whole and not files.part_path(target).exists()
    assert transport.ranges == [None, f"bytes={half}-"]  # the GET of the job, then the file


def test_the_servers_refusals_are_the_clients_exceptions(api: client.Client) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(client.NotFound, match=f"No such query: {unknown}"):
        api.data_queries.get(unknown)
    done = api.data_queries.wait(api.data_queries.submit("select 1 as one").id, timeout=60)
    with pytest.raises(client.Refused) as refused:
        api.data_queries.cancel(done.id)
    assert refused.value.code == "1003"
    assert refused.value.message == f"Query job {done.id} is not in accepted or in_progress status"
    with pytest.raises(client.Refused) as bad:
        api.data_queries.submit("select 1", output_format="xml")
    assert bad.value.code == "400" and bad.value.message
    with pytest.raises(client.Refused) as bad_filter:
        api.data_queries.list(query_status="sleeping")
    assert bad_filter.value.code == "400"


def test_a_failed_job_carries_the_reason(api: client.Client) -> None:
    failed = api.data_queries.wait(api.data_queries.submit("select x from account").id, timeout=60)
    assert failed.status is Status.FAILED and failed.finished
    assert failed.error_message and "cannot be resolved" in failed.error_message
    assert failed.data_file is None
    with pytest.raises(client.ClientError, match=r"failed: .*cannot be resolved"):
        api.data_queries.download(failed.id, Path("never-written"))


def test_the_same_idempotency_key_gets_the_same_job(api: client.Client) -> None:
    first = api.data_queries.submit("select 2 as two", idempotency_key="dq-client-test-1")
    again = api.data_queries.submit("select 2 as two", idempotency_key="dq-client-test-1")
    other = api.data_queries.submit("select 2 as two")
    assert again.id == first.id != other.id


def test_list_is_newest_first_and_filters_by_status(api: client.Client) -> None:
    older = api.data_queries.wait(api.data_queries.submit("select 3 as three").id, timeout=60)
    newer = api.data_queries.wait(api.data_queries.submit("select 4 as four").id, timeout=60)
    listed = api.data_queries.list(page_size=2)
    assert [j.id for j in listed] == [newer.id, older.id]
    completed = api.data_queries.list(query_status="completed", page_size=1000)
    assert {j.status for j in completed} == {Status.COMPLETED}


def test_an_encrypted_result_is_not_the_plain_text(api: client.Client, tmp_path: Path) -> None:
    key = keys.encryption_key(PUBLIC_PEM)
    assert base64.b64decode(key)[:4] == b"\x30\x81\x9f\x30"
    job = api.data_queries.submit(BALANCES, encryption_key=key)
    done = api.data_queries.wait(job.id, timeout=60)
    assert done.status is Status.COMPLETED, done.error_message
    data = api.data_queries.download(done.id, tmp_path / "balances.enc").read_bytes()
    assert b"accountnumber" not in data


def test_the_data_query_example_in_the_docs_runs(
    server: support.RunningServer, tmp_path: Path
) -> None:
    examples = re.findall(r"```python\n(.*?)```", DOCS.read_text("utf-8"), re.DOTALL)
    (example,) = [e for e in examples if "data_queries" in e]
    script = example.replace(client.DEFAULT_URL, server.base_url)
    env = support.hermetic_env(PYTHONPATH=SOURCE_DIR, HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "completed"
    first = (tmp_path / "balances.jsonl").read_text("utf-8").splitlines()[0]
    assert set(json.loads(first)) == {"accountnumber", "balance"}


def test_no_credentials_go_to_the_data_file_link(
    server: support.RunningServer, api: client.Client
) -> None:
    done = api.data_queries.wait(api.data_queries.submit(BALANCES).id, timeout=60)
    assert done.data_file and done.data_file.startswith(server.base_url)
    assert httpx.get(done.data_file, timeout=30.0).status_code == 200
