"""A server killed with ``kill -9`` while a job runs: the next start runs every query of the job
again in one new snapshot (the dead attempt's file withdrawn) and removes the dead attempt's
partial file. AQuA promises one snapshot per job; files of two attempts would break it."""

from __future__ import annotations

import signal
from pathlib import Path

import duckdb
import pytest

from aquarium.engines import naming
from tests.acceptance import support

TENANT = "demo"
SCHEMA = naming.schema_name(TENANT)
# A count over this many numbers takes minutes: the query only ends when it is interrupted.
ENDLESS_ROWS = 10**11
QUERIES = ("select Id, Name from Account", "select * from Usage", "select * from Product")


def _make_slow(data_dir: Path, table: str) -> None:
    with duckdb.connect(str(data_dir / naming.DUCKDB_FILE)) as con:
        con.execute(f'ALTER TABLE {SCHEMA}."{table}" RENAME TO "{table}_base"')
        con.execute(
            f'CREATE VIEW {SCHEMA}."{table}" AS SELECT b.* FROM {SCHEMA}."{table}_base" b, '
            f"(SELECT count(*) AS n FROM range({ENDLESS_ROWS}) WHERE range % 7 = 3) s "
            "WHERE s.n >= 0"
        )


def _make_fast_again(data_dir: Path, table: str) -> None:
    with duckdb.connect(str(data_dir / naming.DUCKDB_FILE)) as con:
        con.execute(f'DROP VIEW {SCHEMA}."{table}"')
        con.execute(f'ALTER TABLE {SCHEMA}."{table}_base" RENAME TO "{table}"')


def _partials(data_dir: Path) -> list[Path]:
    return [path for path in (data_dir / "results").rglob("*") if ".partial" in path.name]


@pytest.mark.slow
def test_a_killed_servers_job_runs_again_whole_in_one_new_snapshot(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    support.aquarium_cli(data_dir, "datagen", "--tenant", TENANT, "--scale", "0.05")
    _make_slow(data_dir, "Usage")
    first = support.start_server("crash", data_dir, demo_scale=0.05, workers=1)
    try:
        client = first.client()
        job_id = support.submit_ok(client, support.stateless(*QUERIES))["id"]
        running = support.wait_for_job(
            client,
            job_id,
            lambda job: (
                [b["status"] for b in job["batches"]] == ["completed", "executing", "pending"]
                and bool(_partials(data_dir))
            ),
        )
        dead_file = running["batches"][0]["fileId"]
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
    finally:
        first.stop()
    assert _partials(data_dir), "the killed attempt left its partial file"

    _make_fast_again(data_dir, "Usage")
    second = support.start_server("crash-again", data_dir, demo_scale=0.05, workers=1)
    try:
        client = second.client()
        done = support.wait_for_job(client, job_id)
        assert done["status"] == "completed", done
        assert [b["status"] for b in done["batches"]] == ["completed"] * 3
        # Every query ran again: the first one's file is a new one, and the dead attempt's
        # file is gone (withdrawn at once, its bytes removed).
        files = [b["fileId"] for b in done["batches"]]
        assert dead_file not in files
        assert client.get(f"/v1/file/{dead_file}").status_code == 404
        on_disk = {path.name for path in (data_dir / "results" / TENANT).iterdir()}
        assert dead_file not in on_disk
        assert set(files) <= on_disk
        for file_id, batch in zip(files, done["batches"], strict=True):
            rows = support.parse_csv(support.download(client, file_id).content)
            assert len(rows) - 1 == batch["recordCount"]
        assert _partials(data_dir) == []
    finally:
        second.stop()
