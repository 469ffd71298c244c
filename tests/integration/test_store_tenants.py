"""The tenants repository on SQLite and PostgreSQL: every function, its refusals, logins unique
across tenants (by the database), and the generation every write moves."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
import sqlalchemy as sa

from aquarium.domain import errors, tenancy
from aquarium.store import logins_repo, tables, tenants_repo
from tests.integration import test_store_migrations as support

store = support.store
engine = support.engine
_T = TypeVar("_T")

PGP_KEY = (
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGZ0ZXN0\n=abcd\n"
    "-----END PGP PUBLIC KEY BLOCK-----\n"
)
THREADS = 6


def write(engine: sa.Engine, action: Callable[[sa.Connection], _T]) -> _T:
    with engine.begin() as conn:
        return action(conn)


def read(engine: sa.Engine, action: Callable[[sa.Connection], _T]) -> _T:
    with engine.connect() as conn:
        return action(conn)


def tenant(engine: sa.Engine, name: str) -> tenancy.Tenant:
    found = read(engine, lambda c: tenants_repo.get_tenant(c, name))
    assert found is not None
    return found


def generation(engine: sa.Engine) -> int:
    return read(engine, tenants_repo.generation)


def test_an_empty_store(engine: sa.Engine) -> None:
    assert read(engine, tenants_repo.names) == []
    assert read(engine, tenants_repo.all_tenants) == {}
    assert read(engine, lambda c: tenants_repo.get_tenant(c, "demo")) is None
    assert read(engine, lambda c: tenants_repo.time_zone(c, "demo")) is None
    assert generation(engine) == 0


def test_round_trip(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        tenants_repo.add_tenant(conn, "acme", time_zone="Europe/Berlin")
        logins_repo.add_user(conn, "acme", "alice", "wonderland", admin=True)
        logins_repo.add_user(conn, "acme", "bob", "builder")
        logins_repo.add_client(conn, "acme", "acme-client", "s3cret")
        limits = tenants_repo.set_limits(conn, "acme", {"file_retention_s": 60})
        limits = tenants_repo.set_limits(conn, "acme", {"segment_rows": 10})
        tenants_repo.set_pgp_key(conn, "acme", PGP_KEY)
        stored = tenants_repo.set_partners(conn, "acme", [" stitch", "fivetran", "stitch"])
        tenants_repo.set_file_segmentation(conn, "acme", True)
        tenants_repo.add_tenant(conn, "globex", time_zone="UTC")

    acme = tenant(engine, "acme")
    assert acme.time_zone == "Europe/Berlin"
    assert acme.limits == limits
    assert limits == dataclasses.replace(tenancy.Limits(), file_retention_s=60, segment_rows=10)
    assert [(u.name, u.admin) for u in acme.users] == [("alice", True), ("bob", False)]
    assert tenancy.verify_secret("wonderland", acme.users[0].password_hash)
    assert [c.client_id for c in acme.clients] == ["acme-client"]
    assert tenancy.verify_secret("s3cret", acme.clients[0].secret_hash)
    assert acme.partners == stored == ("stitch", "fivetran")
    assert acme.accepts_partner("stitch") and not acme.accepts_partner("other")
    assert acme.file_segmentation is True
    assert acme.pgp_public_key == PGP_KEY
    assert read(engine, tenants_repo.all_tenants) == {
        "acme": acme,
        "globex": tenancy.Tenant("globex", "UTC"),
    }
    assert read(engine, tenants_repo.names) == ["acme", "globex"]
    assert read(engine, lambda c: tenants_repo.time_zone(c, "acme")) == "Europe/Berlin"


def test_nothing_but_hashes_is_stored(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        tenants_repo.add_tenant(conn, "acme", time_zone="UTC")
        logins_repo.add_user(conn, "acme", "alice", "wonderland")
        logins_repo.add_client(conn, "acme", "cid", "s3cret-client")
    with engine.connect() as conn:
        rows = [
            json.dumps([str(v) for v in row])
            for table in (tables.tenants, tables.tenant_users, tables.tenant_clients)
            for row in conn.execute(sa.select(table))
        ]
    assert rows and not any("wonderland" in r or "s3cret-client" in r for r in rows)


def test_every_write_moves_the_generation_and_a_refused_one_does_not(engine: sa.Engine) -> None:
    writes: list[Callable[[sa.Connection], object]] = [
        lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"),
        lambda c: tenants_repo.record_tenant(c, "acme", time_zone="Asia/Tokyo"),
        lambda c: logins_repo.add_user(c, "acme", "alice", "pw"),
        lambda c: logins_repo.add_client(c, "acme", "cid", "secret"),
        lambda c: tenants_repo.set_limits(c, "acme", {"max_report_runs": 3}),
        lambda c: tenants_repo.set_partners(c, "acme", ["stitch"]),
        lambda c: tenants_repo.set_file_segmentation(c, "acme", True),
        lambda c: tenants_repo.set_pgp_key(c, "acme", PGP_KEY),
        lambda c: tenants_repo.put_tenant(c, tenancy.Tenant("globex", "UTC")),
        tenants_repo.ensure_demo,
    ]
    seen = [generation(engine)]
    for change in writes:
        write(engine, change)
        seen.append(generation(engine))
    assert seen == sorted(set(seen)), "strictly increasing"
    before = generation(engine)
    with pytest.raises(errors.TenancyError):
        write(engine, lambda c: logins_repo.add_user(c, "globex", "alice", "pw"))
    write(engine, tenants_repo.ensure_demo)  # nothing missing: nothing written
    assert generation(engine) == before


def test_record_tenant_adds_or_sets_the_time_zone_and_keeps_the_rest(engine: sa.Engine) -> None:
    created = write(engine, lambda c: tenants_repo.record_tenant(c, "acme"))
    assert created == tenancy.Tenant("acme", tenancy.DEFAULT_TIME_ZONE)
    write(engine, lambda c: logins_repo.add_user(c, "acme", "alice", "pw"))
    changed = write(engine, lambda c: tenants_repo.record_tenant(c, "acme", time_zone="UTC"))
    assert changed.time_zone == "UTC" and [u.name for u in changed.users] == ["alice"]
    kept = write(engine, lambda c: tenants_repo.record_tenant(c, "acme"))
    assert kept == changed == tenant(engine, "acme")


def test_ensure_demo_is_idempotent(engine: sa.Engine) -> None:
    first = write(engine, tenants_repo.ensure_demo)
    second = write(engine, tenants_repo.ensure_demo)
    assert first == second == tenant(engine, "demo")
    assert first.time_zone == "America/Los_Angeles"
    assert [(u.name, u.admin) for u in first.users] == [("demo", True)]
    assert [c.client_id for c in first.clients] == [tenants_repo.DEMO_CLIENT_ID]
    assert tenancy.verify_secret("demo", first.users[0].password_hash)
    assert tenancy.verify_secret("demo", first.clients[0].secret_hash)


def test_ensure_demo_completes_a_datagen_tenant(engine: sa.Engine) -> None:
    # `aquarium datagen --tenant demo` records the tenant through record_tenant, without logins.
    write(engine, lambda c: tenants_repo.record_tenant(c, "demo", time_zone="Europe/Paris"))
    write(engine, lambda c: logins_repo.add_user(c, "demo", "someone", "else"))
    demo = write(engine, tenants_repo.ensure_demo)
    assert demo.time_zone == "Europe/Paris"  # an existing tenant keeps its settings
    assert [u.name for u in demo.users] == ["someone", "demo"]
    assert len(demo.clients) == 1
    assert write(engine, tenants_repo.ensure_demo) == demo


def test_ensure_demo_leaves_a_demo_login_of_another_tenant_alone(engine: sa.Engine) -> None:
    write(engine, lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"))
    write(engine, lambda c: logins_repo.add_user(c, "acme", "demo", "not-demo"))
    demo = write(engine, tenants_repo.ensure_demo)
    assert demo.users == () and len(demo.clients) == 1
    assert [u.name for u in tenant(engine, "acme").users] == ["demo"]


def test_logins_are_unique_across_tenants(engine: sa.Engine) -> None:
    write(engine, lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"))
    write(engine, lambda c: tenants_repo.add_tenant(c, "globex", time_zone="UTC"))
    write(engine, lambda c: logins_repo.add_user(c, "acme", "alice", "pw"))
    write(engine, lambda c: logins_repo.add_client(c, "acme", "cid", "secret"))
    for name in ("globex", "acme"):
        with pytest.raises(errors.TenancyError) as refused:
            write(engine, lambda c, t=name: logins_repo.add_user(c, t, "alice", "other"))
        assert refused.value.reason == "user 'alice' already exists (tenant 'acme')"
    write(engine, lambda c: logins_repo.add_user(c, "globex", "gus", "pw"))
    with pytest.raises(errors.TenancyError) as refused:
        write(engine, lambda c: logins_repo.add_client(c, "globex", "cid", "secret"))
    assert refused.value.reason == "client 'cid' already exists (tenant 'acme')"
    # A user and a client may share a name: they are looked up in different places.
    write(engine, lambda c: logins_repo.add_client(c, "globex", "alice", "secret"))
    assert [u.name for u in tenant(engine, "acme").users] == ["alice"]
    assert [u.name for u in tenant(engine, "globex").users] == ["gus"]
    # put_tenant goes through the same primary key.
    taken = tenancy.Tenant("initech", "UTC", users=tenant(engine, "acme").users)
    with pytest.raises(errors.TenancyError, match=r"(?i)user 'alice' already exists"):
        write(engine, lambda c: tenants_repo.put_tenant(c, taken))
    assert read(engine, tenants_repo.names) == ["acme", "globex"]


def test_racing_writers_all_land_and_one_name_goes_to_one_tenant(engine: sa.Engine) -> None:
    write(engine, lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"))
    write(engine, lambda c: tenants_repo.add_tenant(c, "globex", time_zone="UTC"))
    barrier = threading.Barrier(THREADS, timeout=30)
    outcomes: list[str] = []

    def add(index: int) -> None:
        barrier.wait()
        try:
            write(engine, lambda c: logins_repo.add_user(c, "acme", f"u{index}", "pw"))
            owner = "globex" if index % 2 else "acme"
            write(engine, lambda c: logins_repo.add_user(c, owner, "shared", "pw"))
            outcomes.append("added")
        except errors.TenancyError as exc:
            outcomes.append(exc.reason)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("added") == 1
    owner = next(t for t in ("acme", "globex") if tenant(engine, t).user("shared"))
    refusals = [outcome for outcome in outcomes if outcome != "added"]
    assert refusals == [f"user 'shared' already exists (tenant {owner!r})"] * (THREADS - 1)
    users = [u.name for u in tenant(engine, "acme").users if u.name != "shared"]
    assert sorted(users) == sorted(f"u{n}" for n in range(THREADS))
    assert generation(engine) == 2 + 2 * THREADS - (THREADS - 1)  # refused writes roll back


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../../etc/passwd", "/etc/localtime"])
def test_bad_time_zone_refused(engine: sa.Engine, zone: str) -> None:
    with pytest.raises(errors.TenancyError, match=r"(?i)unknown time zone"):
        write(engine, lambda c: tenants_repo.add_tenant(c, "acme", time_zone=zone))
    with pytest.raises(errors.TenancyError, match=r"(?i)unknown time zone"):
        write(engine, lambda c: tenants_repo.record_tenant(c, "acme", time_zone=zone))
    assert read(engine, tenants_repo.names) == []


@pytest.mark.parametrize("name", ["Acme", "", "1acme", "a-b", "x" * 41])
def test_bad_tenant_name_refused(engine: sa.Engine, name: str) -> None:
    with pytest.raises(errors.TenancyError, match=r"(?i)tenant name .* must be 1-40 lowercase"):
        write(engine, lambda c: tenants_repo.add_tenant(c, name, time_zone="UTC"))
    with pytest.raises(errors.TenancyError, match=r"(?i)tenant name"):
        write(engine, lambda c: tenants_repo.record_tenant(c, name))


REFUSALS: list[tuple[Callable[[sa.Connection], object], str]] = [
    (lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"), "tenant 'acme' already exists"),
    (lambda c: logins_repo.add_user(c, "acme", "al:ice", "pw"), "user name 'al:ice' must be non-"),
    (lambda c: logins_repo.add_user(c, "acme", "", "pw"), "user name '' must be non-empty"),
    (lambda c: logins_repo.add_user(c, "acme", " al", "pw"), "without ':' or surrounding spaces"),
    (lambda c: logins_repo.add_user(c, "acme", "x" * 256, "pw"), "longer than 255 characters"),
    (lambda c: logins_repo.add_user(c, "acme", "alice", ""), "the password must not be empty"),
    (lambda c: logins_repo.add_client(c, "acme", "c\n", "s"), "client id 'c\\n' must be non-"),
    (lambda c: logins_repo.add_client(c, "acme", "cid", ""), "the client secret must not be em"),
    (lambda c: tenants_repo.set_limits(c, "acme", {"nope": 1}), "unknown limit 'nope'; known lim"),
    (lambda c: tenants_repo.set_limits(c, "acme", {"segment_rows": 0}), "limit segment_rows: mu"),
    (
        lambda c: tenants_repo.set_limits(c, "acme", {"stateful_offset_s": 3601}),
        "limit stateful_offset_s: must be at most 3600",
    ),
    (
        lambda c: tenants_repo.set_limits(c, "acme", {"stateful_offset_s": -1}),
        "limit stateful_offset_s: must be at least 0",
    ),
    (
        lambda c: tenants_repo.set_limits(c, "acme", {"max_stateless_jobs": True}),  # type: ignore[dict-item]
        "limit max_stateless_jobs: expected an integer, found boolean",
    ),
    (lambda c: tenants_repo.set_pgp_key(c, "acme", "hello"), "not an ASCII-armoured PGP public"),
    (lambda c: tenants_repo.set_partners(c, "acme", ["a", " "]), "partners[1]: a partner id must"),
]


@pytest.mark.parametrize(("attempt", "message"), REFUSALS)
def test_refusals_say_what_is_wrong(
    engine: sa.Engine, attempt: Callable[[sa.Connection], object], message: str
) -> None:
    write(engine, lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"))
    before = generation(engine)
    with pytest.raises(errors.TenancyError) as refused:
        write(engine, attempt)
    assert message in refused.value.reason
    assert tenant(engine, "acme") == tenancy.Tenant("acme", "UTC")
    assert generation(engine) == before


CHANGES_OF_GHOST: list[Callable[[sa.Connection], object]] = [
    lambda c: logins_repo.add_user(c, "ghost", "alice", "pw"),
    lambda c: logins_repo.add_client(c, "ghost", "cid", "secret"),
    lambda c: tenants_repo.set_limits(c, "ghost", {"segment_rows": 5}),
    lambda c: tenants_repo.set_partners(c, "ghost", ["stitch"]),
    lambda c: tenants_repo.set_file_segmentation(c, "ghost", True),
    lambda c: tenants_repo.set_pgp_key(c, "ghost", None),
]


@pytest.mark.parametrize("attempt", CHANGES_OF_GHOST)
def test_changing_an_unknown_tenant_is_refused(
    engine: sa.Engine, attempt: Callable[[sa.Connection], object]
) -> None:
    with pytest.raises(errors.TenancyError) as refused:
        write(engine, attempt)
    assert refused.value.reason == "unknown tenant 'ghost'"
    assert read(engine, tenants_repo.all_tenants) == {}


def test_settings_can_be_taken_back(engine: sa.Engine) -> None:
    write(engine, lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"))
    write(engine, lambda c: tenants_repo.set_pgp_key(c, "acme", "  " + PGP_KEY.strip() + "\n\n"))
    assert tenant(engine, "acme").pgp_public_key == PGP_KEY  # armour kept, spaces trimmed
    write(engine, lambda c: tenants_repo.set_partners(c, "acme", ["stitch"]))
    write(engine, lambda c: tenants_repo.set_file_segmentation(c, "acme", True))
    write(engine, lambda c: tenants_repo.set_pgp_key(c, "acme", None))
    write(engine, lambda c: tenants_repo.set_partners(c, "acme", []))
    write(engine, lambda c: tenants_repo.set_file_segmentation(c, "acme", False))
    assert tenant(engine, "acme") == tenancy.Tenant("acme", "UTC")
    assert tenant(engine, "acme").accepts_partner("anyone")


def test_put_tenant_replaces_a_placeholder_and_every_setting(engine: sa.Engine) -> None:
    with engine.begin() as conn:  # as a migration would make it for a tenant that jobs name
        conn.execute(tables.tenants.insert().values(name="acme"))
    assert tenant(engine, "acme") == tenancy.Tenant("acme", tenancy.DEFAULT_TIME_ZONE)
    write(engine, lambda c: logins_repo.add_user(c, "acme", "old", "pw"))
    whole = tenancy.Tenant(
        "acme",
        "Asia/Tokyo",
        limits=tenancy.Limits(segment_rows=7),
        users=(tenancy.User("alice", tenancy.hash_secret("pw"), admin=True),),
        clients=(tenancy.OAuthClient("cid", tenancy.hash_secret("s"), user="alice"),),
        partners=("stitch",),
        file_segmentation=True,
        pgp_public_key=PGP_KEY,
    )
    write(engine, lambda c: tenants_repo.put_tenant(c, whole))
    assert tenant(engine, "acme") == whole
    write(engine, lambda c: tenants_repo.put_tenant(c, tenancy.Tenant("acme", "UTC")))
    assert tenant(engine, "acme") == tenancy.Tenant("acme", "UTC")
    broken = dataclasses.replace(whole, users=(tenancy.User("bob", "plain"),))
    with pytest.raises(errors.TenancyError, match=r"(?i)users\[0\].password_hash: malformed"):
        write(engine, lambda c: tenants_repo.put_tenant(c, broken))


def test_only_the_limits_set_are_stored(engine: sa.Engine) -> None:
    write(engine, lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"))
    write(engine, lambda c: tenants_repo.set_limits(c, "acme", {"segment_rows": 10}))
    write(engine, lambda c: tenants_repo.set_limits(c, "acme", {"stateful_offset_s": 0}))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(tables.tenants.c.limits)).scalar_one()
    assert json.loads(stored) == {"segment_rows": 10, "stateful_offset_s": 0}


def test_stored_limits_of_a_newer_release_are_read_and_broken_ones_reported(
    engine: sa.Engine,
) -> None:
    write(engine, lambda c: tenants_repo.add_tenant(c, "acme", time_zone="UTC"))
    limits = tables.tenants.c.limits
    with engine.begin() as conn:
        conn.execute(sa.update(tables.tenants).values({limits: '{"segment_rows": 9, "new": 1}'}))
    assert tenant(engine, "acme").limits.segment_rows == 9
    for stored, message in [
        ("[]", "tenant 'acme': the stored limits are not a JSON object"),
        ('{"segment_rows": 0}', "tenant 'acme': stored limit segment_rows: must be at least 1"),
    ]:
        with engine.begin() as conn:
            conn.execute(sa.update(tables.tenants).values({limits: stored}))
        with pytest.raises(errors.TenancyError) as refused:
            read(engine, tenants_repo.all_tenants)
        assert refused.value.reason == message
