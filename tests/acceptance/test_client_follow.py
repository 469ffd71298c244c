"""``aquarium.client`` against a real server: waits follow the event stream (they never poll),
and ``aqua download FILE_ID`` names each file after what the server says it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import aquarium
from aquarium import client
from aquarium.domain import jobs
from tests.acceptance import support

SOURCE_DIR = str(Path(aquarium.__file__).resolve().parents[1])


def never_poll(seconds: float) -> None:
    raise AssertionError(f"the wait polled (slept {seconds} s) instead of following events")


def test_a_wait_follows_the_job_through_the_event_stream(server: support.RunningServer) -> None:
    credentials = client.Credentials.basic(*support.DEMO_AUTH)
    seen: list[tuple[str, int]] = []
    with client.Client(server.base_url, credentials, sleep=never_poll) as api:
        job = api.submit(["select Id from Account", "select Id from InvoiceItem"], name="follow")
        done = api.wait(
            job.id,
            on_progress=lambda j, d: seen.append(
                (j.status.value, sum(b.rows_written for b in d.batches) if d else -1)
            ),
            timeout=support.JOB_TIMEOUT_S,
        )
        assert done.status is jobs.JobStatus.COMPLETED
        assert seen[-1][0] == "completed" and seen[-1][1] > 0  # the detail, read on each event
        run = api.run_report(
            next(r.id for r in api.reports("Open invoices") if r.name == "Open invoices")
        )
        finished = api.wait_report_run(run, timeout=support.JOB_TIMEOUT_S)
    assert finished.status is jobs.ReportRunStatus.COMPLETED


@pytest.mark.parametrize(("format", "suffix"), [("gzip", ".csv.gz"), ("zip", ".zip")])
def test_download_by_file_id_names_the_file_by_its_type(
    server: support.RunningServer,
    demo: httpx.Client,
    tmp_path: Path,
    format: str,
    suffix: str,
) -> None:
    done = support.run_job(demo, support.stateless("select Id from Account", format=format))
    file_id = done["batches"][0]["fileId"]
    env = support.hermetic_env(
        PYTHONPATH=SOURCE_DIR,
        HOME=str(tmp_path),
        AQUARIUM_URL=server.base_url,
        AQUARIUM_USER="demo",
        AQUARIUM_PASSWORD="demo",
    )
    saved = subprocess.run(
        [sys.executable, "-m", "aquarium", "aqua", "download", file_id, "--to", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert saved.returncode == 0, saved.stderr
    path = tmp_path / f"{file_id}{suffix}"
    assert saved.stdout.strip() == f"saved {path}"
    assert path.read_bytes() == support.download(demo, file_id).content
