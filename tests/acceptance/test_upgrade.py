"""A data dir written by the previous release opens with this one and keeps everything.

The fixtures under ``tests/fixtures/upgrade/`` were made by ``make_fixture.py`` running the
release before this one (``manifest.json`` says which commit): ``previous-sqlite`` keeps its
metadata in ``data/metadata.sqlite3``, ``previous-postgres`` in ``metadata.sql``, a dump that
is restored here into a fresh database. Each test module run copies a variant, starts the
current ``aquarium serve`` on the copy and checks, over HTTP only, every job, file, user, OAuth
client, tenant setting, report, label, report run and the stateful session, then the same again
after a restart (``upgrade_checks.py`` says what each check compares).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import shutil
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import conninfo, sql

from aquarium.catalog import model
from tests.acceptance import support
from tests.acceptance import upgrade_checks as checks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade"
VARIANTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# Zuora's rule, which Aquarium follows: a session idle this long starts over with a full load.
FULL_LOAD_AFTER = dt.timedelta(days=180)
BOUNDARY = dt.timedelta(days=1)  # too close to FULL_LOAD_AFTER to say which load is right

pytestmark = pytest.mark.xdist_group("acceptance-upgrade")

_OPEN: list[checks.Upgraded] = []


@pytest.fixture(autouse=True)
def _upgraded_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for up in _OPEN:
            print(f"\n===== log of {up.server.name} ({up.server.log_path}) =====")
            print(up.server.log_tail())


@pytest.fixture(scope="module", params=VARIANTS)
def upgraded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[checks.Upgraded]:
    """The current server over a fresh copy of one fixture variant."""
    variant: str = request.param
    fixture = FIXTURES / f"previous-{variant}"
    manifest: dict[str, Any] = json.loads((fixture / "manifest.json").read_text("utf-8"))
    data_dir = tmp_path_factory.mktemp(f"upgrade-{variant}") / "data"
    copy_data_dir(fixture / "data", data_dir, manifest)
    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {}
        if variant == "postgres":
            dump = (fixture / "metadata.sql").read_text("utf-8")
            url = stack.enter_context(restored(request.getfixturevalue("pg_dsn"), dump))
            env["AQUARIUM_METADATA_URL"] = url
        server = checks.start(variant, data_dir, env, 1, manifest)
        up = checks.Upgraded(variant, manifest, data_dir, env, server)
        _OPEN.append(up)
        try:
            yield up
        finally:
            _OPEN.remove(up)
            up.server.stop()


def copy_data_dir(source: Path, target: Path, manifest: dict[str, Any]) -> None:
    """Copy the fixture's data dir with the permissions the old server gave its files (git
    keeps only the executable bit)."""
    shutil.copytree(source, target)
    for name, described in manifest["data_dir"].items():
        os.chmod(target / name, int(described["mode"], 8))


@contextlib.contextmanager
def restored(pg_dsn: str, dump: str) -> Iterator[str]:
    """A new database on ``pg_dsn``'s server holding ``dump`` (pg_dump's plain SQL); yields its
    URL and drops it afterwards."""
    name = f"aq_upgrade_{uuid.uuid4().hex[:12]}"
    admin = conninfo.make_conninfo(pg_dsn, dbname="postgres")
    url = urllib.parse.urlsplit(pg_dsn)._replace(path=f"/{name}").geturl()
    # psql meta-commands (pg_dump writes \restrict and \unrestrict) are for psql, not the server.
    statements = "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statements.encode("utf-8"))
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# -- what was there --------------------------------------------------------------------------------


def test_every_job_answers_as_before(upgraded: checks.Upgraded) -> None:
    checks.check_jobs(upgraded)


def test_every_file_downloads_with_the_same_bytes(upgraded: checks.Upgraded) -> None:
    checks.check_files(upgraded)


def test_old_users_and_oauth_clients_still_sign_in(upgraded: checks.Upgraded) -> None:
    checks.check_sign_in(upgraded)


def test_reports_labels_and_report_runs_are_kept(upgraded: checks.Upgraded) -> None:
    checks.check_reports(upgraded)
    checks.check_report_runs(upgraded)
    checks.check_run_lists(upgraded)


def test_the_job_api_lists_and_describes_the_old_jobs_and_runs(upgraded: checks.Upgraded) -> None:
    checks.check_job_finder(upgraded)


def test_the_data_dir_is_kept_and_the_old_tenants_file_too(upgraded: checks.Upgraded) -> None:
    fixture = FIXTURES / f"previous-{upgraded.variant}" / "data"
    checks.assert_data_dir_kept(upgraded.data_dir)
    original = (fixture / "tenants.json").read_bytes()
    checks.assert_old_tenants_file_kept_as_backup(upgraded.data_dir, original)


# -- what it still does ----------------------------------------------------------------------------


def test_the_second_tenants_settings_still_apply(upgraded: checks.Upgraded) -> None:
    """acme's partners, query limit, time zone, segmentation and PGP key came from the old
    tenants.json; each shows on the wire."""
    acme = upgraded.tenant_client("acme")
    settings = upgraded.manifest["tenants"]["acme"]
    stateful = {"format": "csv", "version": "1.1", "project": f"after-upgrade-{uuid.uuid4().hex}"}
    query = [{"name": "accounts", "query": "select Id, Name from Account"}]
    refused = acme.post(
        "/v1/batch-query/", json={**stateful, "partner": "unknown", "queries": query}
    )
    support.assert_error(refused, "90019")
    too_many = ["select Id from Account"] * (settings["limits"]["max_queries_per_job"] + 1)
    support.assert_error(acme.post("/v1/batch-query/", json=support.stateless(*too_many)), "90004")

    zoned = support.run_job(acme, support.stateless("select Id, CreatedDate from Account"))
    rows = checks.csv_of(acme, zoned["batches"][0])[1:]
    assert rows and all(row[1].endswith("+0900") for row in rows), rows[:3]  # Asia/Tokyo

    # A first (full) load of a new session of a known partner is segmented, segment_rows each.
    segmented = support.run_job(
        acme, {**stateful, "partner": settings["partners"][-1], "queries": query}
    )
    batch = segmented["batches"][0]
    assert "fileId" not in batch
    expected = math.ceil(
        upgraded.manifest["session"]["accounts"] / settings["limits"]["segment_rows"]
    )
    assert len(batch["segments"]) == expected, batch

    encrypted = support.run_job(acme, support.stateless("select Id from Account", encrypted="pgp"))
    file_id = encrypted["batches"][0]["fileId"]
    assert support.download(acme, file_id).headers["content-type"] == "application/pgp-encrypted"
    # demo has no key: the key above is acme's own, not any key.
    demo = upgraded.tenant_client("demo")
    assert (
        demo.post(
            "/v1/batch-query/", json=support.stateless("select Id from Account", encrypted="pgp")
        ).status_code
        == 400
    )
    upgraded.made += [("acme", zoned["id"]), ("acme", segmented["id"]), ("acme", encrypted["id"])]


def test_the_stateful_session_continues_where_it_stood(upgraded: checks.Upgraded) -> None:
    """The next job of the fixture's session, sent without incrementalTime, exports exactly the
    window after the stored one: the account changed after the session's last job, not the one
    changed before it (unless the fixture is old enough for Zuora's full-load rule)."""
    session = upgraded.manifest["session"]
    acme = upgraded.tenant_client(session["tenant"])
    path = f"/v1/batch-query/jobs/partner/{session['partner']}/project/{session['project']}"
    last = acme.get(path)
    assert last.status_code == 200 and last.json()["id"] == session["jobs"][-1], last.text

    body = {
        "format": "csv",
        "version": "1.1",
        "partner": session["partner"],
        "project": session["project"],
        "useQueryLabels": "true",
        "queries": [{**query, "type": "zoqlexport"} for query in session["queries"]],
    }
    done = support.run_job(acme, body)
    upgraded.made.append((session["tenant"], done["id"]))
    accounts = checks.csv_of(acme, done["batches"][0])
    assert accounts[0][0] == "Account.Id"
    last_end = dt.datetime.fromisoformat(session["windows"][session["jobs"][-1]]["end"])
    idle = dt.datetime.now(dt.UTC) - last_end
    if abs(idle - FULL_LOAD_AFTER) < BOUNDARY:
        pytest.skip(f"the fixture's session is {idle.days} days old, at the full-load boundary")
    if idle > FULL_LOAD_AFTER:
        assert [b["full"] for b in done["batches"]] == [True, True], done
        assert len(accounts) - 1 == session["accounts"]
        return
    assert [b["full"] for b in done["batches"]] == [False, False], done
    assert [row[0] for row in accounts[1:]] == [session["changed_after_last_job"]]
    assert done["batches"][1]["recordCount"] == 0


def test_a_new_job_runs_and_is_listed_with_the_old_ones(upgraded: checks.Upgraded) -> None:
    demo = upgraded.tenant_client("demo")
    body = support.stateless("select AccountNumber, Name from Account", "select Id from Invoice")
    done = support.run_job(demo, body)
    upgraded.made.append(("demo", done["id"]))
    assert [b["status"] for b in done["batches"]] == ["completed", "completed"]
    rows = checks.csv_of(demo, done["batches"][0])
    assert len(rows) - 1 == done["batches"][0]["recordCount"] > 0
    listed = checks.list_jobs(demo)
    assert done["id"] in listed
    old = {job["id"] for job in upgraded.manifest["jobs"] if job["tenant"] == "demo"}
    assert old <= set(listed)


def test_every_catalogue_object_answers_for_every_old_tenant(upgraded: checks.Upgraded) -> None:
    """The billing schemas of the previous release lack what the catalogue has gained since
    (acme's even lacks a table the fixture dropped): opening the data dir adds every missing
    table and column, empty, so each object answers ``select *`` with its own header."""
    names = [obj.name for obj in model.default()]
    for tenant, described in upgraded.manifest["tenants"].items():
        per_job = described["limits"].get("max_queries_per_job", 50)  # Zuora's default: 50
        client = upgraded.tenant_client(tenant)
        for start in range(0, len(names), per_job):
            chunk = names[start : start + per_job]
            body = support.stateless(*(f"select * from {name} limit 1" for name in chunk))
            done = support.run_job(client, body)
            upgraded.made.append((tenant, done["id"]))
            assert [b["status"] for b in done["batches"]] == ["completed"] * len(chunk)


def test_a_restart_keeps_everything(upgraded: checks.Upgraded) -> None:
    """Opening the upgraded data dir a second time changes nothing (the upgrade ran once)."""
    upgraded.restart()
    checks.check_jobs(upgraded)
    checks.check_files(upgraded)
    checks.check_sign_in(upgraded)
    checks.check_reports(upgraded)
    checks.check_report_runs(upgraded)
    checks.check_run_lists(upgraded)
    checks.check_job_finder(upgraded)
    checks.check_made_after_upgrade(upgraded)
    checks.assert_data_dir_kept(upgraded.data_dir)
