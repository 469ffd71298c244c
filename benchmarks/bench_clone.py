"""``aquarium clone`` of a scale-1 tenant between two servers, beside DuckDB reading the same files.

A generated tenant (scale ``AQUARIUM_CLONE_BENCH_SCALE``, default 1) is served by one
``aquarium serve``; an empty data dir by another. The clone runs as the command does
(:mod:`aquarium.services.tenant_clone` reading the source over HTTP: Describe, one stateful
session per object started for later refreshes, stateless AQuA jobs, downloads; then
``aquarium load``'s service through the target server), each step timed. The reference is
DuckDB's ``CREATE TABLE ... AS SELECT * FROM read_csv(...)`` of the same downloaded files into
a fresh database (types sniffed, nothing checked): the floor for reading those bytes into tables.

Then the check the issue asks of a clone: every object exported again from the copy, through
the target server with the same queries, has the same header and the same rows as the source's
export (multiset digest of the lines, ``benchmarks/row_digest.py``: the rows of an export without
``ORDER BY`` may come in another order). Objects that differ are named in the output.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from aquarium import client, datagen
from aquarium.catalog import model
from aquarium.cli import clone, data, load
from aquarium.domain import tenancy
from aquarium.engines import duckdb_snapshot, loading
from aquarium.services import clone_sessions, tenant_clone, tenant_directory
from aquarium.store import database, logins_repo
from benchmarks import row_digest, server_process

_literal = duckdb_snapshot.sql_literal

SCALE = float(os.environ.get("AQUARIUM_CLONE_BENCH_SCALE", "1"))
TENANT = "bench"
USER, PASSWORD = "bench", "bench"
COPY_USER, COPY_PASSWORD = "copier", "copier"


def _reference(work: Path, files: Path) -> float:
    """Seconds for DuckDB to read every file of ``files`` into a table of a fresh database."""
    path = work / "reference.duckdb"
    with duckdb.connect(str(path), config={"memory_limit": loading.LOAD_MEMORY_LIMIT}) as con:
        start = time.perf_counter()
        for file in sorted(files.iterdir()):
            table = file.name.split(".")[0]
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_csv({_literal(str(file))})')
        seconds = time.perf_counter() - start
    path.unlink()
    return seconds


def _clone(
    source_url: str, target_dir: Path, files: Path
) -> tuple[tenant_clone.ClonePlan, float, float, float, float, int]:
    """Plan, start the sessions, export and load as ``aquarium clone`` does; (the plan, plan s,
    sessions s, export s, load s, rows)."""
    credentials = client.Credentials.basic(USER, PASSWORD)
    with client.Client(source_url, credentials) as source:
        start = time.perf_counter()
        planned = tenant_clone.plan(source, catalog=model.default())
        clone._declare(
            planned.custom_fields,
            "copy",
            tenancy.DEFAULT_TIME_ZONE,
            target_dir,
            data.EngineName.duckdb,
            None,
        )
        planning = time.perf_counter() - start
        names = [one.name for one in planned.objects]
        start = time.perf_counter()
        clone_sessions.advance(source, names, tenant="copy", catalog=model.default())
        sessions = time.perf_counter() - start
        exported = tenant_clone.export(source, planned, files)
    loaded = load.load_into(files, "copy", False, target_dir, data.EngineName.duckdb, None)
    return planned, planning, sessions, exported.seconds, loaded.seconds, loaded.total_rows


def _digest(path: Path) -> tuple[bytes, row_digest.Digest]:
    """The header line of the CSV at ``path`` and the digest of its rows after it."""
    digest = row_digest.RowDigest()
    with path.open("rb") as handle:
        header = handle.readline()
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return header, digest.finish()


def _differing(
    target_url: str, planned: tenant_clone.ClonePlan, files: Path, back: Path
) -> list[str]:
    """Export every planned object from the copy into ``back``; the objects whose header or
    rows differ from the source's export in ``files``."""
    credentials = client.Credentials.basic(COPY_USER, COPY_PASSWORD)
    with client.Client(target_url, credentials) as copy:
        tenant_clone.export(copy, planned, back)
    different = []
    for one in planned.objects:
        source_header, source_rows = _digest(files / f"{one.name}.csv")
        copy_header, copy_rows = _digest(back / f"{one.name}.csv")
        if source_header != copy_header or not source_rows.same_rows(copy_rows):
            different.append(one.name)
    return different


def run() -> str:
    work = Path(tempfile.mkdtemp(prefix="aquarium-bench-clone-"))
    try:
        source_dir, target_dir = work / "source", work / "target"
        files, back = work / "files", work / "back"
        for directory in (target_dir, files, back):
            directory.mkdir()
        datagen.generate_into(source_dir, TENANT, scale=SCALE, seed=7)
        with database.opened(None, source_dir) as metadata, metadata.begin() as conn:
            logins_repo.add_user(conn, TENANT, USER, PASSWORD)
        with (
            server_process.ServerProcess(source_dir) as source,
            server_process.ServerProcess(target_dir) as target,
        ):
            planned, planning, sessions, export_s, load_s, rows = _clone(
                source.url, target_dir, files
            )
            with database.opened(None, target_dir) as metadata, metadata.begin() as conn:
                logins_repo.add_user(conn, "copy", COPY_USER, COPY_PASSWORD)
            time.sleep(2 * tenant_directory.TENANTS_POLL_S)  # the server sees the new login
            different = _differing(target.url, planned, files, back)
        reference = _reference(work, files)
        size_mb = sum(f.stat().st_size for f in files.iterdir()) / 1e6
        objects = len(list(files.iterdir()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = planning + sessions + export_s + load_s
    return "\n".join(
        [
            f"### aquarium clone, scale {SCALE:g} ({objects} objects, {size_mb:.1f} MB of CSV), "
            "server to server over HTTP",
            "",
            "| step | seconds | rows/s |",
            "|---|---|---|",
            f"| Describe + custom fields | {planning:.2f} | |",
            f"| stateful sessions started (one per object, Ids only) | {sessions:.2f} | |",
            f"| AQuA export + download | {export_s:.2f} | {rows / export_s:,.0f} |",
            f"| aquarium load (through the target server) | {load_s:.2f} | {rows / load_s:,.0f} |",
            f"| **clone, all steps** ({rows:,} rows) | {total:.2f} | {rows / total:,.0f} |",
            f"| DuckDB read_csv of the same files | {reference:.2f} | {rows / reference:,.0f} |",
            "",
            f"Copy against source, object by object (header and rows, {objects} objects): "
            + (
                f"**{len(different)} differ**: {', '.join(different)}" if different else "identical"
            ),
        ]
    )
