"""Stateful incremental export vs the full load it follows (issue 4), side by side in one run.

A session's first job exports every InvoiceItem row (full load); then 1% of InvoiceItem rows
change; the session's next job exports only those. Target: incremental <= 10% of the full time.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

from aquarium.engines import naming
from benchmarks import bench_aqua
from benchmarks.server_process import ServerProcess

CHANGED_FRACTION = 0.01


def _job(client: httpx.Client) -> tuple[float, dict[str, Any]]:
    body = {
        "version": "1.1",
        "partner": "bench",
        "project": "incremental",
        "queries": [{"name": "items", "query": bench_aqua.EXPORT_QUERY}],
    }
    start = time.perf_counter()
    job_id = client.post("/v1/batch-query/", json=body).json()["id"]
    job = bench_aqua._wait(client, job_id, until={"completed", "aborted", "cancelled"})
    seconds = time.perf_counter() - start
    if job["status"] != "completed":
        raise RuntimeError(f"job ended {job['status']}: {job}")
    return seconds, job["batches"][0]


def _change_rows(data_dir: Path) -> int:
    """Touch 1% of InvoiceItem rows, as updates would (no server runs: no gate needed)."""
    schema = naming.schema_name("demo")
    with duckdb.connect(str(data_dir / naming.DUCKDB_FILE)) as con:
        total = con.execute(f'SELECT count(*) FROM {schema}."InvoiceItem"').fetchone()
        changed = con.execute(
            f'UPDATE {schema}."InvoiceItem" SET "Quantity" = "Quantity" + 1, '
            '"UpdatedDate" = now() WHERE hash("Id") % 100 = 0'
        ).fetchone()
    assert total is not None and changed is not None
    return int(changed[0])


def run() -> str:
    source = bench_aqua._data_dir()
    work = source.parent / f"{source.name}-incremental"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("results", "metadata.sqlite3*"))
    try:
        with (
            ServerProcess(work) as server,
            httpx.Client(base_url=server.url, auth=bench_aqua.AUTH, timeout=600) as client,
        ):
            full_s, full = _job(client)
        changed = _change_rows(work)
        with (
            ServerProcess(work) as server,
            httpx.Client(base_url=server.url, auth=bench_aqua.AUTH, timeout=600) as client,
        ):
            incr_s, incremental = _job(client)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return "\n".join(
        [
            f"### Stateful incremental export, scale {bench_aqua.SCALE:g}",
            "",
            "| measure | full load | incremental after 1% changed | ratio / target |",
            "|---|---|---|---|",
            f"| submit to completed | {full_s:.2f} s ({full['recordCount']:,} rows, "
            f"full={full['full']}) | {incr_s:.2f} s ({incremental['recordCount']:,} rows, "
            f"full={incremental['full']}; {changed:,} rows changed) | "
            f"{incr_s / full_s:.3f} (target <= 0.10) |",
        ]
    )
