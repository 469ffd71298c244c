"""The legacy ``tenants.json`` of an older data dir: imported once when the metadata store is
opened (SQLite in the data dir, or PostgreSQL), then kept only as a backup."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aquarium.domain import errors, tenancy
from aquarium.store import database, logins_repo, tables, tenants_file, tenants_repo
from tests.integration import test_store_migrations as support

PGP_KEY = (
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGZ0ZXN0\n=abcd\n"
    "-----END PGP PUBLIC KEY BLOCK-----\n"
)
HASHES = {secret: tenancy.hash_secret(secret) for secret in ("wonderland", "builder", "s3cret")}
OPENERS = 4


@pytest.fixture(params=support.BACKENDS)
def url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The metadata store's URL: ``None`` (SQLite in the data dir) or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        with support.pg_database(request.getfixturevalue("pg_dsn")) as made:
            yield made


def legacy_document() -> dict[str, Any]:
    """A file as the release before the tenants tables wrote it (every key present)."""
    limits = dataclasses.asdict(dataclasses.replace(tenancy.Limits(), segment_rows=10))
    return {
        "version": 1,
        "tenants": {
            "acme": {
                "time_zone": "Europe/Berlin",
                "limits": limits,
                "users": [
                    {"name": "alice", "password_hash": HASHES["wonderland"], "admin": True},
                    {"name": "bob", "password_hash": HASHES["builder"], "admin": False},
                ],
                "clients": [{"client_id": "acme-client", "secret_hash": HASHES["s3cret"]}],
                "partners": ["stitch", "fivetran"],
                "file_segmentation": True,
                "pgp_public_key": PGP_KEY,
            },
            "globex": {
                "time_zone": "UTC",
                "limits": dataclasses.asdict(tenancy.Limits()),
                "users": [],
                "clients": [],
                "partners": [],
                "file_segmentation": False,
                "pgp_public_key": None,
            },
        },
    }


def write_legacy(data_dir: Path, document: object) -> bytes:
    data_dir.mkdir(parents=True, exist_ok=True)
    raw = (json.dumps(document, indent=2) + "\n").encode()
    (data_dir / tenants_file.TENANTS_FILE).write_bytes(raw)
    return raw


def stored(url: str | None, data_dir: Path) -> dict[str, tenancy.Tenant]:
    with database.opened(url, data_dir) as engine, engine.connect() as conn:
        return tenants_repo.all_tenants(conn)


def imports(url: str | None, data_dir: Path) -> list[dict[str, Any]]:
    """The import records, without opening (and so importing) through open_metadata."""
    engine = database.connect(url or database.sqlite_url(data_dir))
    try:
        database.migrate(engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(tables.tenant_imports)).mappings()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()


def files(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir() if p.name.startswith("tenants"))


def test_a_legacy_file_is_imported_whole_and_kept_as_a_backup(
    url: str | None, tmp_path: Path
) -> None:
    raw = write_legacy(tmp_path, legacy_document())
    engine = database.open_metadata(url, tmp_path)
    try:
        with engine.connect() as conn:
            found = tenants_repo.all_tenants(conn)
            assert tenants_repo.generation(conn) > 0
    finally:
        engine.dispose()

    acme = found["acme"]
    assert acme.time_zone == "Europe/Berlin"
    assert acme.limits == dataclasses.replace(tenancy.Limits(), segment_rows=10)
    assert [(u.name, u.password_hash, u.admin) for u in acme.users] == [
        ("alice", HASHES["wonderland"], True),
        ("bob", HASHES["builder"], False),
    ]
    # A client from before owners acts as the tenant's first admin.
    assert acme.clients == (tenancy.OAuthClient("acme-client", HASHES["s3cret"], "alice"),)
    assert acme.partners == ("stitch", "fivetran")
    assert acme.file_segmentation is True and acme.pgp_public_key == PGP_KEY
    assert found["globex"] == tenancy.Tenant("globex", "UTC")
    # The file is not read any more: renamed, byte for byte, so nobody edits it in vain.
    assert files(tmp_path) == ["tenants.json.imported"]
    assert (tmp_path / "tenants.json.imported").read_bytes() == raw
    [record] = imports(url, tmp_path)
    assert record["sha256"] == hashlib.sha256(raw).hexdigest()
    assert record["tenants"] == 2 and record["imported_at"].tzinfo is not None
    assert record["source"] == str(tmp_path / tenants_file.TENANTS_FILE)


def test_a_file_with_every_optional_key_missing(url: str | None, tmp_path: Path) -> None:
    write_legacy(tmp_path, {"tenants": {"demo": {"time_zone": "America/Los_Angeles"}}})
    assert stored(url, tmp_path) == {"demo": tenancy.Tenant("demo", "America/Los_Angeles")}
    write_legacy(tmp_path, {})  # no tenants at all: imported (as nothing), moved aside too
    assert stored(url, tmp_path) == {"demo": tenancy.Tenant("demo", "America/Los_Angeles")}
    assert files(tmp_path) == ["tenants.json.imported", "tenants.json.imported.1"]


def test_a_file_is_imported_once_and_later_changes_stay(url: str | None, tmp_path: Path) -> None:
    raw = write_legacy(tmp_path, legacy_document())
    with database.opened(url, tmp_path) as engine, engine.begin() as conn:
        tenants_repo.record_tenant(conn, "acme", time_zone="Asia/Tokyo")
        logins_repo.add_user(conn, "acme", "carol", "pw")
    # The backup put back (or a crash between the import and the rename): not imported again.
    (tmp_path / tenants_file.TENANTS_FILE).write_bytes(raw)
    acme = stored(url, tmp_path)["acme"]
    assert acme.time_zone == "Asia/Tokyo"
    assert [u.name for u in acme.users] == ["alice", "bob", "carol"]
    assert files(tmp_path) == ["tenants.json.imported", "tenants.json.imported.1"]
    assert len(imports(url, tmp_path)) == 1
    # Other content is another file: imported, its tenants replacing those of the same name.
    document = legacy_document()
    document["tenants"] = {"acme": {"time_zone": "UTC"}}
    write_legacy(tmp_path, document)
    after = stored(url, tmp_path)
    assert after["acme"] == tenancy.Tenant("acme", "UTC") and "globex" in after
    assert len(imports(url, tmp_path)) == 2


def test_a_placeholder_row_of_a_name_in_the_file_is_replaced(
    url: str | None, tmp_path: Path
) -> None:
    engine = database.open_metadata(url, tmp_path)
    try:
        with engine.begin() as conn:  # as a migration makes them for tenants that jobs name
            conn.execute(tables.tenants.insert().values(name="acme"))
    finally:
        engine.dispose()
    write_legacy(tmp_path, legacy_document())
    acme = stored(url, tmp_path)["acme"]
    assert acme.time_zone == "Europe/Berlin" and len(acme.users) == 2


MALFORMED = [
    ("{not json", "not valid JSON (line 1, column 2"),
    ("[]", "expected an object, found array"),
    ('{"version": 2}', "version: unsupported version 2 (this Aquarium reads 1)"),
    ('{"tenants": {"demo": {}}}', "tenants.demo.time_zone: missing"),
    ('{"tenants": {"demo": {"time_zone": "Nowhere/City"}}}', "unknown time zone 'Nowhere/City'"),
    ('{"tenants": {"Demo": {"time_zone": "UTC"}}}', "tenants.Demo: tenant name 'Demo' must be"),
    ('{"tenants": {"demo": {"time_zone": "UTC", "colour": 1}}}', "tenants.demo.colour: unknown"),
    ('{"tenants": {"demo": {"time_zone": 5}}}', "tenants.demo.time_zone: expected a string"),
    (
        '{"tenants": {"demo": {"time_zone": "UTC", "limits": {"segment_rows": true}}}}',
        "tenants.demo.limits.segment_rows: expected an integer, found boolean",
    ),
    (
        '{"tenants": {"demo": {"time_zone": "UTC", "limits": {"colour": 1}}}}',
        "tenants.demo.limits: unknown limit 'colour'",
    ),
    (
        '{"tenants": {"demo": {"time_zone": "UTC", "users": [{"name": "x"}]}}}',
        "tenants.demo.users[0].password_hash: missing",
    ),
    (
        '{"tenants": {"demo": {"time_zone": "UTC", '
        '"users": [{"name": "x", "password_hash": "plain"}]}}}',
        "tenants.demo.users[0].password_hash: malformed password hash",
    ),
    (
        '{"tenants": {"demo": {"time_zone": "UTC", "partners": "stitch"}}}',
        "tenants.demo.partners: expected an array, found string",
    ),
    (
        '{"tenants": {"demo": {"time_zone": "UTC", "pgp_public_key": "hello"}}}',
        "tenants.demo.pgp_public_key: not an ASCII-armoured PGP public key",
    ),
    (
        '{"tenants": {"a": {"time_zone": "UTC", "clients": [{"client_id": "c", "secret_hash": '
        f'"{HASHES["s3cret"]}"}}]}}, "b": {{"time_zone": "UTC", "clients": [{{"client_id": "c", '
        f'"secret_hash": "{HASHES["s3cret"]}"}}]}}}}}}',
        "client 'c' is defined more than once (tenants 'a' and 'b')",
    ),
    (b"\xff\xfe{}", "not UTF-8 text"),
]


@pytest.mark.parametrize(("content", "message"), MALFORMED)
def test_a_malformed_file_imports_nothing_and_says_where(
    url: str | None, tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / tenants_file.TENANTS_FILE
    raw = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(raw)
    for _ in range(2):  # and again: nothing was half done the first time
        with pytest.raises(errors.TenantsFileError) as caught:
            database.open_metadata(url, tmp_path)
        described = caught.value.describe()
        assert described.startswith(f"The tenants file is malformed. {path}: ")
        assert message in described
    assert path.read_bytes() == raw, "left in place, to be fixed"
    assert files(tmp_path) == ["tenants.json"]
    assert imports(url, tmp_path) == []


def test_a_login_some_other_tenant_has_imports_nothing(url: str | None, tmp_path: Path) -> None:
    with database.opened(url, tmp_path) as engine, engine.begin() as conn:
        tenants_repo.add_tenant(conn, "initech", time_zone="UTC")
        logins_repo.add_user(conn, "initech", "bob", "pw")
    write_legacy(tmp_path, legacy_document())
    with pytest.raises(errors.TenantsFileError) as caught:
        database.open_metadata(url, tmp_path)
    assert caught.value.reason == (
        f"{tmp_path / 'tenants.json'}: tenants.acme: user 'bob' already exists (tenant 'initech')"
    )
    engine = database.connect(url or database.sqlite_url(tmp_path))
    try:
        with engine.connect() as conn:
            assert tenants_repo.names(conn) == ["initech"]
    finally:
        engine.dispose()
    assert files(tmp_path) == ["tenants.json"]


def test_data_dirs_opened_at_once_import_once(url: str | None, tmp_path: Path) -> None:
    write_legacy(tmp_path, legacy_document())
    barrier = threading.Barrier(OPENERS, timeout=30)
    failures: list[BaseException] = []

    def open_store() -> None:
        try:
            barrier.wait()
            database.open_metadata(url, tmp_path).dispose()
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(imports(url, tmp_path)) == 1
    assert files(tmp_path) == ["tenants.json.imported"]
    found = stored(url, tmp_path)
    assert sorted(found) == ["acme", "globex"] and len(found["acme"].users) == 2
