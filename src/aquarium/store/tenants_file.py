"""The tenants known to a data directory, in ``DATA_DIR/tenants.json``.

One JSON document holds every tenant with its time zone, limits, users, OAuth clients, partners,
feature switches and PGP key (passwords and secrets only as scrypt hashes)::

    {"version": 1,
     "tenants": {"demo": {"time_zone": "America/Los_Angeles",
                          "limits": {"max_queries_per_job": 50, ...},
                          "users": [{"name": "demo", "password_hash": "scrypt$...", "admin": true}],
                          "clients": [{"client_id": "1111...", "secret_hash": "scrypt$..."}],
                          "partners": [], "file_segmentation": false, "pgp_public_key": null}}}

An entry may leave out anything but ``time_zone`` (older files held only that); the defaults fill
in. Every change is a read-modify-write under an exclusive lock on ``.tenants.lock``, written to a
temporary file (mode 0600) and renamed over the old one, so a crash never leaves half a file and
two processes never lose each other's change. Loading validates everything and raises
:class:`~aquarium.domain.tenancy.TenantsFileError` naming the file and the offending entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import tempfile
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from aquarium.domain import errors, tenancy
from aquarium.engines import naming

TENANTS_FILE = "tenants.json"
LOCK_FILE = ".tenants.lock"
FORMAT_VERSION = 1
FILE_MODE = 0o600

DEMO_TENANT = "demo"
DEMO_TIME_ZONE = "America/Los_Angeles"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
DEMO_CLIENT_ID = "11111111-2222-3333-4444-555555555555"
DEMO_CLIENT_SECRET = "demo"

PGP_PUBLIC_KEY_HEADER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
PGP_PUBLIC_KEY_FOOTER = "-----END PGP PUBLIC KEY BLOCK-----"

Tenants = dict[str, tenancy.Tenant]
_T = TypeVar("_T")


# -- reading ---------------------------------------------------------------------------------------


def load(data_dir: Path) -> Tenants:
    """Every tenant of ``data_dir`` by name; empty when there is no tenants file yet.

    Raises :class:`~aquarium.domain.tenancy.TenantsFileError` for a file that is not valid JSON or
    does not follow the format (wrong types, unknown keys, bad time zone, duplicate user or
    client ids across tenants, ...).
    """
    path = data_dir / TENANTS_FILE
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise tenancy.TenantsFileError(f"{path}: {exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise tenancy.TenantsFileError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    try:
        return _tenants_from_json(document)
    except _MalformedError as exc:
        raise tenancy.TenantsFileError(f"{path}: {exc}") from exc


def get_tenant(data_dir: Path, name: str) -> tenancy.Tenant:
    """The tenant called ``name``; :class:`~aquarium.domain.tenancy.TenancyError` if unknown."""
    return _require(load(data_dir), name)


def tenant_time_zone(data_dir: Path, tenant: str) -> str | None:
    """The tenant's time zone, or ``None`` when the data directory does not know the tenant."""
    found = load(data_dir).get(tenant)
    return None if found is None else found.time_zone


def tenant_names(data_dir: Path) -> list[str]:
    """Every tenant recorded in the data directory, sorted."""
    return sorted(load(data_dir))


# -- changing --------------------------------------------------------------------------------------


def record_tenant(data_dir: Path, tenant: str, *, time_zone: str) -> None:
    """Add ``tenant`` with its time zone, or change the time zone of an existing one."""
    check_name(tenant)
    check_time_zone(time_zone)

    def change(tenants: Tenants) -> None:
        existing = tenants.get(tenant)
        tenants[tenant] = (
            tenancy.Tenant(name=tenant, time_zone=time_zone)
            if existing is None
            else dataclasses.replace(existing, time_zone=time_zone)
        )

    _update(data_dir, change)


def save_tenant(data_dir: Path, tenant: tenancy.Tenant) -> None:
    """Store ``tenant`` whole, replacing any tenant of that name (after full validation)."""
    _check_tenant(tenant)

    def change(tenants: Tenants) -> None:
        tenants[tenant.name] = tenant
        _check_unique_logins(tenants)

    _update(data_dir, change)


def add_tenant(data_dir: Path, name: str, *, time_zone: str) -> tenancy.Tenant:
    """Create tenant ``name`` with default limits and no logins; an error if it exists."""
    check_name(name)
    check_time_zone(time_zone)
    created = tenancy.Tenant(name=name, time_zone=time_zone)

    def change(tenants: Tenants) -> None:
        if name in tenants:
            raise tenancy.TenancyError(f"tenant {name!r} already exists")
        tenants[name] = created

    _update(data_dir, change)
    return created


def add_user(
    data_dir: Path, tenant: str, user: str, password: str, *, admin: bool = False
) -> tenancy.User:
    """Add a login to ``tenant``. User names are unique across all tenants (Basic has no tenant)."""
    _check_login_name("user name", user)
    _check_secret("password", password)
    created = tenancy.User(name=user, password_hash=tenancy.hash_secret(password), admin=admin)

    def change(tenants: Tenants) -> None:
        found = _require(tenants, tenant)
        owner = _user_owner(tenants, user)
        if owner is not None:
            raise tenancy.TenancyError(f"user {user!r} already exists (tenant {owner!r})")
        tenants[tenant] = dataclasses.replace(found, users=(*found.users, created))

    _update(data_dir, change)
    return created


def add_client(data_dir: Path, tenant: str, client_id: str, secret: str) -> tenancy.OAuthClient:
    """Add an OAuth client to ``tenant``. Client ids are unique across all tenants."""
    _check_login_name("client id", client_id)
    _check_secret("client secret", secret)
    created = tenancy.OAuthClient(client_id=client_id, secret_hash=tenancy.hash_secret(secret))

    def change(tenants: Tenants) -> None:
        found = _require(tenants, tenant)
        owner = _client_owner(tenants, client_id)
        if owner is not None:
            raise tenancy.TenancyError(f"client {client_id!r} already exists (tenant {owner!r})")
        tenants[tenant] = dataclasses.replace(found, clients=(*found.clients, created))

    _update(data_dir, change)
    return created


def set_limits(data_dir: Path, tenant: str, **changes: int) -> tenancy.Limits:
    """Change some of ``tenant``'s limits (keyword = limit name); returns the new limits."""
    for key, value in changes.items():
        tenancy.check_limit(key, value)
    result: list[tenancy.Limits] = []

    def change(tenants: Tenants) -> None:
        found = _require(tenants, tenant)
        limits = dataclasses.replace(found.limits, **changes)
        tenants[tenant] = dataclasses.replace(found, limits=limits)
        result.append(limits)

    _update(data_dir, change)
    return result[0]


def set_pgp_key(data_dir: Path, tenant: str, armored_key: str | None) -> None:
    """Set (or with ``None`` remove) the ASCII-armoured PGP public key results are encrypted to."""
    if armored_key is not None:
        armored_key = armored_key.strip() + "\n"
        _check_pgp_key(armored_key)
    _replace_fields(data_dir, tenant, pgp_public_key=armored_key)


def set_partners(data_dir: Path, tenant: str, partners: tuple[str, ...]) -> None:
    """Set the partner ids ``tenant`` accepts; an empty tuple accepts any partner."""
    cleaned = tuple(dict.fromkeys(partner.strip() for partner in partners))
    if any(not partner for partner in cleaned):
        raise tenancy.TenancyError("a partner id must not be empty")
    _replace_fields(data_dir, tenant, partners=cleaned)


def set_file_segmentation(data_dir: Path, tenant: str, enabled: bool) -> None:
    """Switch the file segmentation feature of ``tenant`` on or off."""
    _replace_fields(data_dir, tenant, file_segmentation=enabled)


def ensure_demo(data_dir: Path) -> tenancy.Tenant:
    """Make sure tenant ``demo`` exists with user ``demo``/``demo`` (admin) and the demo client.

    Creates only what is missing (the tenant may already exist, e.g. made by ``aquarium
    datagen``); an existing demo user or client is left as it is, never duplicated. Returns the
    demo tenant as stored.
    """
    result: list[tenancy.Tenant] = []

    def change(tenants: Tenants) -> None:
        demo = tenants.get(DEMO_TENANT) or tenancy.Tenant(DEMO_TENANT, DEMO_TIME_ZONE)
        if _user_owner(tenants, DEMO_USER) is None:
            user = tenancy.User(DEMO_USER, tenancy.hash_secret(DEMO_PASSWORD), admin=True)
            demo = dataclasses.replace(demo, users=(*demo.users, user))
        if _client_owner(tenants, DEMO_CLIENT_ID) is None:
            client = tenancy.OAuthClient(DEMO_CLIENT_ID, tenancy.hash_secret(DEMO_CLIENT_SECRET))
            demo = dataclasses.replace(demo, clients=(*demo.clients, client))
        tenants[DEMO_TENANT] = demo
        result.append(demo)

    _update(data_dir, change)
    return result[0]


# -- validation ------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """``name`` when it is a valid tenant name; :class:`~aquarium.domain.tenancy.TenancyError`."""
    try:
        return naming.check_tenant_name(name)
    except errors.AquariumError as exc:
        raise tenancy.TenancyError(exc.reason) from None


def check_time_zone(time_zone: str) -> str:
    """``time_zone`` when it is an IANA zone name known to :mod:`zoneinfo`."""
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise tenancy.TenancyError(f"unknown time zone {time_zone!r}") from None
    return time_zone


def _check_login_name(what: str, value: str) -> None:
    # ':' would make "user:password" ambiguous in a Basic header.
    if not value or value != value.strip() or ":" in value or not value.isprintable():
        raise tenancy.TenancyError(
            f"{what} {value!r} must be non-empty, printable, without ':' or surrounding spaces"
        )


def _check_secret(what: str, value: str) -> None:
    if not value:
        raise tenancy.TenancyError(f"the {what} must not be empty")


def _check_pgp_key(armored_key: str) -> None:
    text = armored_key.strip()
    if not (text.startswith(PGP_PUBLIC_KEY_HEADER) and text.endswith(PGP_PUBLIC_KEY_FOOTER)):
        raise tenancy.TenancyError(
            f"not an ASCII-armoured PGP public key (expected {PGP_PUBLIC_KEY_HEADER} ... "
            f"{PGP_PUBLIC_KEY_FOOTER})"
        )


def _check_tenant(tenant: tenancy.Tenant) -> None:
    check_name(tenant.name)
    check_time_zone(tenant.time_zone)
    for key in tenancy.LIMIT_KEYS:
        tenancy.check_limit(key, getattr(tenant.limits, key))
    for user in tenant.users:
        _check_login_name("user name", user.name)
        if tenancy.parse_hash(user.password_hash) is None:
            raise tenancy.TenancyError(f"user {user.name!r} has a malformed password hash")
    for client in tenant.clients:
        _check_login_name("client id", client.client_id)
        if tenancy.parse_hash(client.secret_hash) is None:
            raise tenancy.TenancyError(f"client {client.client_id!r} has a malformed secret hash")
    if any(not partner for partner in tenant.partners):
        raise tenancy.TenancyError("a partner id must not be empty")
    if tenant.pgp_public_key is not None:
        _check_pgp_key(tenant.pgp_public_key)


def _check_unique_logins(tenants: Tenants) -> None:
    """User names and client ids identify their tenant, so each may appear only once overall."""
    users: set[str] = set()
    clients: set[str] = set()
    for tenant in tenants.values():
        for user in tenant.users:
            if user.name in users:
                raise tenancy.TenancyError(f"user {user.name!r} is defined more than once")
            users.add(user.name)
        for client in tenant.clients:
            if client.client_id in clients:
                raise tenancy.TenancyError(f"client {client.client_id!r} is defined more than once")
            clients.add(client.client_id)


def _user_owner(tenants: Tenants, user: str) -> str | None:
    return next((t.name for t in tenants.values() if t.user(user) is not None), None)


def _client_owner(tenants: Tenants, client_id: str) -> str | None:
    return next((t.name for t in tenants.values() if t.client(client_id) is not None), None)


def _require(tenants: Tenants, name: str) -> tenancy.Tenant:
    found = tenants.get(name)
    if found is None:
        raise tenancy.TenancyError(f"unknown tenant {name!r}")
    return found


# -- writing ---------------------------------------------------------------------------------------


def _replace_fields(data_dir: Path, tenant: str, **fields: Any) -> None:
    def change(tenants: Tenants) -> None:
        tenants[tenant] = dataclasses.replace(_require(tenants, tenant), **fields)

    _update(data_dir, change)


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the data directory's tenants file across processes."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _update(data_dir: Path, change: Callable[[Tenants], None]) -> None:
    """Load, apply ``change`` (which edits the mapping in place or raises), validate, write."""
    with _locked(data_dir):
        tenants = load(data_dir)
        change(tenants)
        _write(data_dir, tenants)


def _write(data_dir: Path, tenants: Tenants) -> None:
    document = {
        "version": FORMAT_VERSION,
        "tenants": {name: _tenant_to_json(tenants[name]) for name in sorted(tenants)},
    }
    fd, temp = tempfile.mkstemp(dir=data_dir, prefix=".tenants-", suffix=".json.tmp")
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp already uses 0600; say so rather than rely on it
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, data_dir / TENANTS_FILE)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


# -- JSON mapping ----------------------------------------------------------------------------------


class _MalformedError(Exception):
    """A structural problem in the document; ``load`` adds the path."""


_TENANT_KEYS = frozenset(
    {"time_zone", "limits", "users", "clients", "partners", "file_segmentation", "pgp_public_key"}
)


def _tenant_to_json(tenant: tenancy.Tenant) -> dict[str, Any]:
    return {
        "time_zone": tenant.time_zone,
        "limits": dataclasses.asdict(tenant.limits),
        "users": [dataclasses.asdict(user) for user in tenant.users],
        "clients": [dataclasses.asdict(client) for client in tenant.clients],
        "partners": list(tenant.partners),
        "file_segmentation": tenant.file_segmentation,
        "pgp_public_key": tenant.pgp_public_key,
    }


def _tenants_from_json(document: Any) -> Tenants:
    document = _object(document, "the document")
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise _MalformedError(
            f"unsupported version {version!r} (this Aquarium reads {FORMAT_VERSION})"
        )
    _check_keys(document, {"version", "tenants"}, "the document", required=set())
    entries = _object(document.get("tenants", {}), "tenants")
    tenants: Tenants = {}
    for name, entry in entries.items():
        where = f"tenants.{name}"
        tenant = _tenant_from_json(name, _object(entry, where), where)
        try:
            _check_tenant(tenant)
        except tenancy.TenancyError as exc:
            raise _MalformedError(f"{where}: {exc.reason}") from None
        tenants[name] = tenant
    try:
        _check_unique_logins(tenants)
    except tenancy.TenancyError as exc:
        raise _MalformedError(exc.reason) from None
    return tenants


def _tenant_from_json(name: str, entry: dict[str, Any], where: str) -> tenancy.Tenant:
    _check_keys(entry, _TENANT_KEYS, where, required={"time_zone"})
    pgp_key = entry.get("pgp_public_key")
    return tenancy.Tenant(
        name=name,
        time_zone=_typed(entry["time_zone"], str, f"{where}.time_zone"),
        limits=_limits_from_json(entry.get("limits", {}), f"{where}.limits"),
        users=_list(entry, "users", where, _user_from_json),
        clients=_list(entry, "clients", where, _client_from_json),
        partners=_list(entry, "partners", where, lambda item, at: _typed(item, str, at)),
        file_segmentation=_typed(
            entry.get("file_segmentation", False), bool, f"{where}.file_segmentation"
        ),
        pgp_public_key=None if pgp_key is None else _typed(pgp_key, str, f"{where}.pgp_public_key"),
    )


def _limits_from_json(value: Any, where: str) -> tenancy.Limits:
    entry = _object(value, where)
    _check_keys(entry, set(tenancy.LIMIT_KEYS), where, required=set())
    return tenancy.Limits(**{key: _typed(entry[key], int, f"{where}.{key}") for key in entry})


def _user_from_json(value: Any, where: str) -> tenancy.User:
    entry = _object(value, where)
    _check_keys(
        entry, {"name", "password_hash", "admin"}, where, required={"name", "password_hash"}
    )
    return tenancy.User(
        name=_typed(entry["name"], str, f"{where}.name"),
        password_hash=_typed(entry["password_hash"], str, f"{where}.password_hash"),
        admin=_typed(entry.get("admin", False), bool, f"{where}.admin"),
    )


def _client_from_json(value: Any, where: str) -> tenancy.OAuthClient:
    entry = _object(value, where)
    _check_keys(entry, {"client_id", "secret_hash"}, where, required={"client_id", "secret_hash"})
    return tenancy.OAuthClient(
        client_id=_typed(entry["client_id"], str, f"{where}.client_id"),
        secret_hash=_typed(entry["secret_hash"], str, f"{where}.secret_hash"),
    )


def _list(
    entry: dict[str, Any], key: str, where: str, parse: Callable[[Any, str], _T]
) -> tuple[_T, ...]:
    items = entry.get(key, [])
    if not isinstance(items, list):
        raise _MalformedError(f"{where}.{key}: expected an array, found {type(items).__name__}")
    return tuple(parse(item, f"{where}.{key}[{index}]") for index, item in enumerate(items))


def _check_keys(
    entry: dict[str, Any], known: set[str] | frozenset[str], where: str, *, required: set[str]
) -> None:
    unknown = set(entry) - known
    if unknown:
        raise _MalformedError(f"{where}: unknown keys {sorted(unknown)}")
    missing = required - set(entry)
    if missing:
        raise _MalformedError(f"{where}: missing {', '.join(sorted(missing))}")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _MalformedError(f"{where}: expected an object, found {type(value).__name__}")
    return value


def _typed(value: Any, kind: type[_T], where: str) -> _T:
    # bool is an int subclass, but `true` is no limit value.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _MalformedError(f"{where}: expected {kind.__name__}, found {type(value).__name__}")
    return value
