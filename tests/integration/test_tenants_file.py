"""The tenants file and the server secret on a real (temporary) data directory."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from aquarium.domain import tenancy
from aquarium.services import auth
from aquarium.store import tenants_file

PGP_KEY = (
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGZ0ZXN0\n=abcd\n"
    "-----END PGP PUBLIC KEY BLOCK-----\n"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_empty_data_dir(tmp_path: Path) -> None:
    assert tenants_file.load(tmp_path / "nothing") == {}
    assert tenants_file.tenant_names(tmp_path) == []
    assert tenants_file.tenant_time_zone(tmp_path, "demo") is None


def test_round_trip(tmp_path: Path) -> None:
    tenants_file.add_tenant(tmp_path, "acme", time_zone="Europe/Berlin")
    tenants_file.add_user(tmp_path, "acme", "alice", "wonderland", admin=True)
    tenants_file.add_user(tmp_path, "acme", "bob", "builder")
    tenants_file.add_client(tmp_path, "acme", "acme-client", "s3cret")
    limits = tenants_file.set_limits(tmp_path, "acme", file_retention_s=60, segment_rows=10)
    tenants_file.set_pgp_key(tmp_path, "acme", PGP_KEY)
    tenants_file.set_partners(tmp_path, "acme", ("stitch", "fivetran", "stitch"))
    tenants_file.set_file_segmentation(tmp_path, "acme", True)

    acme = tenants_file.load(tmp_path)["acme"]
    assert acme.time_zone == "Europe/Berlin"
    assert acme.limits == limits
    assert acme.limits == dataclasses.replace(
        tenancy.Limits(), file_retention_s=60, segment_rows=10
    )
    assert [(u.name, u.admin) for u in acme.users] == [("alice", True), ("bob", False)]
    assert auth.verify_secret("wonderland", acme.users[0].password_hash)
    assert [c.client_id for c in acme.clients] == ["acme-client"]
    assert auth.verify_secret("s3cret", acme.clients[0].secret_hash)
    assert acme.partners == ("stitch", "fivetran")
    assert acme.accepts_partner("stitch") and not acme.accepts_partner("other")
    assert acme.file_segmentation is True
    assert acme.pgp_public_key == PGP_KEY

    # save_tenant writes back exactly what load read
    tenants_file.save_tenant(tmp_path, acme)
    assert tenants_file.load(tmp_path) == {"acme": acme}
    assert tenants_file.get_tenant(tmp_path, "acme") == acme


def test_file_holds_no_plain_secrets_and_is_private(tmp_path: Path) -> None:
    tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")
    tenants_file.add_user(tmp_path, "acme", "alice", "wonderland")
    tenants_file.add_client(tmp_path, "acme", "acme-client", "s3cret-client")
    path = tmp_path / tenants_file.TENANTS_FILE
    text = path.read_text("utf-8")
    assert "wonderland" not in text and "s3cret-client" not in text
    assert json.loads(text)["version"] == 1
    assert _mode(path) == 0o600


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")
    for zone in ("Asia/Tokyo", "UTC", "America/New_York"):
        tenants_file.record_tenant(tmp_path, "acme", time_zone=zone)
    with pytest.raises(tenancy.TenancyError):
        tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")  # a failed change, too
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [tenants_file.LOCK_FILE, tenants_file.TENANTS_FILE]
    assert tenants_file.tenant_time_zone(tmp_path, "acme") == "America/New_York"


def test_concurrent_changes_are_not_lost(tmp_path: Path) -> None:
    tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")
    threads = [
        threading.Thread(target=tenants_file.add_user, args=(tmp_path, "acme", f"u{i}", "pw"))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    users = tenants_file.load(tmp_path)["acme"].users
    assert sorted(u.name for u in users) == sorted(f"u{i}" for i in range(8))


def test_record_tenant_keeps_everything_else(tmp_path: Path) -> None:
    tenants_file.ensure_demo(tmp_path)
    tenants_file.record_tenant(tmp_path, "demo", time_zone="UTC")
    demo = tenants_file.load(tmp_path)["demo"]
    assert demo.time_zone == "UTC"
    assert [u.name for u in demo.users] == ["demo"]


def test_ensure_demo_is_idempotent(tmp_path: Path) -> None:
    first = tenants_file.ensure_demo(tmp_path)
    second = tenants_file.ensure_demo(tmp_path)
    assert first == second
    demo = tenants_file.load(tmp_path)["demo"]
    assert demo == first
    assert demo.time_zone == "America/Los_Angeles"
    assert [(u.name, u.admin) for u in demo.users] == [("demo", True)]
    assert [c.client_id for c in demo.clients] == ["11111111-2222-3333-4444-555555555555"]
    authenticator = auth.Authenticator(tenants_file.load(tmp_path), b"s" * 32)
    assert authenticator.basic("demo", "demo") is not None
    assert authenticator.issue_token(demo.clients[0].client_id, "demo", now=_now()) is not None


def test_ensure_demo_completes_a_datagen_tenant(tmp_path: Path) -> None:
    # `aquarium datagen --tenant demo` records the tenant through record_tenant, without logins.
    tenants_file.record_tenant(tmp_path, "demo", time_zone="Europe/Paris")
    tenants_file.add_user(tmp_path, "demo", "someone", "else")
    demo = tenants_file.ensure_demo(tmp_path)
    assert demo.time_zone == "Europe/Paris"  # an existing tenant keeps its settings
    assert [u.name for u in demo.users] == ["someone", "demo"]
    assert len(demo.clients) == 1
    assert tenants_file.ensure_demo(tmp_path) == demo


def test_legacy_file_with_time_zones_only(tmp_path: Path) -> None:
    (tmp_path / tenants_file.TENANTS_FILE).write_text(
        json.dumps({"tenants": {"demo": {"time_zone": "America/Los_Angeles"}}})
    )
    demo = tenants_file.load(tmp_path)["demo"]
    assert demo == tenancy.Tenant("demo", "America/Los_Angeles")
    assert tenants_file.ensure_demo(tmp_path).users[0].name == "demo"


def test_duplicate_user_across_tenants_refused(tmp_path: Path) -> None:
    tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")
    tenants_file.add_tenant(tmp_path, "globex", time_zone="UTC")
    tenants_file.add_user(tmp_path, "acme", "alice", "pw")
    for tenant in ("globex", "acme"):
        with pytest.raises(tenancy.TenancyError, match=r"(?i)user 'alice' already exists"):
            tenants_file.add_user(tmp_path, tenant, "alice", "other")
    tenants_file.add_client(tmp_path, "acme", "cid", "secret")
    with pytest.raises(tenancy.TenancyError, match=r"(?i)client 'cid' already exists"):
        tenants_file.add_client(tmp_path, "globex", "cid", "secret")
    assert [u.name for u in tenants_file.load(tmp_path)["acme"].users] == ["alice"]


def test_save_tenant_refuses_duplicate_logins(tmp_path: Path) -> None:
    tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")
    tenants_file.add_user(tmp_path, "acme", "alice", "pw")
    acme = tenants_file.get_tenant(tmp_path, "acme")
    globex = tenancy.Tenant("globex", "UTC", users=acme.users)
    with pytest.raises(tenancy.TenancyError, match=r"(?i)more than once"):
        tenants_file.save_tenant(tmp_path, globex)
    assert tenants_file.tenant_names(tmp_path) == ["acme"]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../../etc/passwd", "/etc/localtime"])
def test_bad_time_zone_refused(tmp_path: Path, zone: str) -> None:
    with pytest.raises(tenancy.TenancyError, match=r"(?i)unknown time zone"):
        tenants_file.add_tenant(tmp_path, "acme", time_zone=zone)
    with pytest.raises(tenancy.TenancyError, match=r"(?i)unknown time zone"):
        tenants_file.record_tenant(tmp_path, "acme", time_zone=zone)
    assert tenants_file.load(tmp_path) == {}


@pytest.mark.parametrize("name", ["Acme", "", "1acme", "a-b", "x" * 41])
def test_bad_tenant_name_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(tenancy.TenancyError, match=r"(?i)tenant name"):
        tenants_file.add_tenant(tmp_path, name, time_zone="UTC")


def test_other_refusals(tmp_path: Path) -> None:
    with pytest.raises(tenancy.TenancyError, match=r"(?i)unknown tenant 'ghost'"):
        tenants_file.add_user(tmp_path, "ghost", "alice", "pw")
    tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")
    refusals: list[tuple[Callable[[], object], str]] = [
        (lambda: tenants_file.add_user(tmp_path, "acme", "al:ice", "pw"), "without ':'"),
        (lambda: tenants_file.add_user(tmp_path, "acme", "", "pw"), "non-empty"),
        (lambda: tenants_file.add_user(tmp_path, "acme", "alice", ""), "must not be empty"),
        (lambda: tenants_file.add_client(tmp_path, "acme", "cid", ""), "must not be empty"),
        (lambda: tenants_file.set_limits(tmp_path, "acme", nope=1), "unknown limit 'nope'"),
        (lambda: tenants_file.set_limits(tmp_path, "acme", segment_rows=0), "at least 1"),
        (lambda: tenants_file.set_limits(tmp_path, "acme", stateful_offset_s=3601), "between"),
        (lambda: tenants_file.set_pgp_key(tmp_path, "acme", "hello"), "PGP public key"),
        (lambda: tenants_file.set_partners(tmp_path, "acme", ("",)), "partner id"),
    ]
    for attempt, message in refusals:
        with pytest.raises(tenancy.TenancyError, match=r"(?i)" + message):
            attempt()
    assert tenants_file.load(tmp_path)["acme"] == tenancy.Tenant("acme", "UTC")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON (line 1, column 2"),
        ("[]", "the document: expected an object"),
        ('{"version": 2}', "unsupported version 2"),
        ('{"tenants": {"demo": {}}}', "tenants.demo: missing time_zone"),
        ('{"tenants": {"demo": {"time_zone": "Nowhere/City"}}}', "unknown time zone"),
        ('{"tenants": {"Demo": {"time_zone": "UTC"}}}', "tenants.Demo: tenant name"),
        ('{"tenants": {"demo": {"time_zone": "UTC", "colour": 1}}}', "unknown keys ['colour']"),
        ('{"tenants": {"demo": {"time_zone": 5}}}', "tenants.demo.time_zone: expected str"),
        (
            '{"tenants": {"demo": {"time_zone": "UTC", "limits": {"segment_rows": true}}}}',
            "tenants.demo.limits.segment_rows: expected int",
        ),
        (
            '{"tenants": {"demo": {"time_zone": "UTC", "users": [{"name": "x"}]}}}',
            "tenants.demo.users[0]: missing password_hash",
        ),
        (
            '{"tenants": {"demo": {"time_zone": "UTC", '
            '"users": [{"name": "x", "password_hash": "plain"}]}}}',
            "malformed password hash",
        ),
        (
            '{"tenants": {"demo": {"time_zone": "UTC", "partners": "stitch"}}}',
            "tenants.demo.partners: expected an array",
        ),
    ],
)
def test_malformed_file_gives_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / tenants_file.TENANTS_FILE
    path.write_text(content)
    with pytest.raises(tenancy.TenantsFileError) as caught:
        tenants_file.load(tmp_path)
    described = caught.value.describe()
    assert described.startswith("The tenants file is malformed. ")
    assert str(path) in described
    assert message in described
    with pytest.raises(tenancy.TenantsFileError):  # and nothing overwrites a broken file
        tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")
    assert path.read_text() == content


def test_duplicate_login_in_file_is_malformed(tmp_path: Path) -> None:
    tenants_file.add_tenant(tmp_path, "acme", time_zone="UTC")
    tenants_file.add_user(tmp_path, "acme", "alice", "pw")
    path = tmp_path / tenants_file.TENANTS_FILE
    document = json.loads(path.read_text())
    document["tenants"]["globex"] = document["tenants"]["acme"]
    path.write_text(json.dumps(document))
    with pytest.raises(
        tenancy.TenantsFileError, match=r"(?i)user 'alice' is defined more than once"
    ):
        tenants_file.load(tmp_path)


def test_server_secret_is_created_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    secret = auth.load_or_create_secret(data_dir)
    assert len(secret) == 32
    assert auth.load_or_create_secret(data_dir) == secret
    path = data_dir / auth.SECRET_FILE
    assert _mode(path) == 0o600
    assert sorted(p.name for p in data_dir.iterdir()) == [auth.SECRET_FILE]


def test_short_server_secret_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / auth.SECRET_FILE).write_bytes(b"short")
    with pytest.raises(tenancy.TenantsFileError, match=r"(?i)5 bytes"):
        auth.load_or_create_secret(tmp_path)


def test_authenticator_from_data_dir(tmp_path: Path) -> None:
    tenants_file.ensure_demo(tmp_path)
    grant = auth.Authenticator.from_data_dir(tmp_path).issue_token(
        tenants_file.DEMO_CLIENT_ID, tenants_file.DEMO_CLIENT_SECRET, now=_now()
    )
    assert grant is not None
    # a restarted server (new Authenticator, same data dir) accepts the token
    principal = auth.Authenticator.from_data_dir(tmp_path).bearer(grant.access_token, now=_now())
    assert principal is not None and principal.tenant == "demo"


def _now() -> dt.datetime:
    return dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
