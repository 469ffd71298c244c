"""What a tenant's configuration may hold: pydantic models, and their errors as TenancyError.

Every value that reaches the ``tenants`` tables passes through here, whether it comes from the
admin CLI (:mod:`aquarium.store.tenants_repo`) or from a legacy ``tenants.json``
(:mod:`aquarium.store.tenants_file`). The constrained types carry their own messages, so an
error reads the same from either source; from a file it is prefixed with where the value was
(``tenants.demo.users[0].name: ...``).

The limits are one JSON document per tenant (``tenants.limits``) rather than a column each: a
tenant's limits are only ever read and written together, never queried, and the set grows with
features (the report-run limits came after the AQuA ones). :class:`LimitsModel` is built from
``domain.tenancy.LIMIT_KEYS``, so a new limit needs neither a migration on two databases nor a
second list here; only the limits a tenant set are stored, the others follow the domain's
defaults.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import ErrorDetails, PydanticCustomError

from aquarium.domain import errors, tenancy
from aquarium.engines import naming

LEGACY_FORMAT_VERSION = 1
NAME_CHARS = 255  # longest user name, client id or partner id (the columns' size)
PGP_PUBLIC_KEY_HEADER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
PGP_PUBLIC_KEY_FOOTER = "-----END PGP PUBLIC KEY BLOCK-----"
MAX_PROBLEMS = 3  # errors named in one message; the rest are counted
_T = TypeVar("_T")


# -- constrained values ----------------------------------------------------------------------------


def _tenant_name(value: str) -> str:
    try:
        return naming.check_tenant_name(value)
    except errors.AquariumError as exc:
        raise PydanticCustomError("tenant_name", exc.reason) from None


def _time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise PydanticCustomError(
            "time_zone", "unknown time zone {zone}", {"zone": repr(value)}
        ) from None
    return value


def _login(what: str) -> Any:
    def check(value: str) -> str:
        # ':' would make "user:password" ambiguous in a Basic header.
        if not value or value != value.strip() or ":" in value or not value.isprintable():
            raise PydanticCustomError(
                "login_name",
                "{what} {value} must be non-empty, printable, without ':' or surrounding spaces",
                {"what": what, "value": repr(value)},
            )
        if len(value) > NAME_CHARS:
            raise PydanticCustomError(
                "login_name",
                "{what} is longer than {n} characters",
                {"what": what, "n": NAME_CHARS},
            )
        return value

    return pydantic.AfterValidator(check)


def _secret(what: str) -> Any:
    def check(value: str) -> str:
        if not value:
            raise PydanticCustomError("secret", "the {what} must not be empty", {"what": what})
        return value

    return pydantic.AfterValidator(check)


def _stored_hash(what: str) -> Any:
    def check(value: str) -> str:
        if tenancy.parse_hash(value) is None:
            raise PydanticCustomError(
                "secret_hash",
                "malformed {what} (expected {scheme}$n$r$p$salt$hash)",
                {"what": what, "scheme": tenancy.HASH_SCHEME},
            )
        return value

    return pydantic.AfterValidator(check)


def _pgp_key(value: str) -> str:
    text = value.strip()
    if not (text.startswith(PGP_PUBLIC_KEY_HEADER) and text.endswith(PGP_PUBLIC_KEY_FOOTER)):
        raise PydanticCustomError(
            "pgp_key",
            "not an ASCII-armoured PGP public key (expected {header} ... {footer})",
            {"header": PGP_PUBLIC_KEY_HEADER, "footer": PGP_PUBLIC_KEY_FOOTER},
        )
    return text + "\n"


def _partner(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("partner", "a partner id must not be empty")
    if len(value) > NAME_CHARS:
        raise PydanticCustomError(
            "partner", "a partner id is longer than {n} characters", {"n": NAME_CHARS}
        )
    return value


TenantName = Annotated[str, Field(strict=True), pydantic.AfterValidator(_tenant_name)]
TimeZone = Annotated[str, Field(strict=True), pydantic.AfterValidator(_time_zone)]
UserName = Annotated[str, Field(strict=True), _login("user name")]
ClientId = Annotated[str, Field(strict=True), _login("client id")]
Password = Annotated[str, Field(strict=True), _secret("password")]
ClientSecret = Annotated[str, Field(strict=True), _secret("client secret")]
PasswordHash = Annotated[str, Field(strict=True), _stored_hash("password hash")]
SecretHash = Annotated[str, Field(strict=True), _stored_hash("secret hash")]
#: ASCII armour, kept as its text with one final newline
PgpKey = Annotated[str, Field(strict=True), pydantic.AfterValidator(_pgp_key)]
#: a partner id, surrounding spaces removed
PartnerId = Annotated[str, Field(strict=True), pydantic.AfterValidator(_partner)]


# -- limits ----------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


#: domain.tenancy.check_limit's rules: every limit is a positive integer but the stateful offset
PositiveLimit = Annotated[int, Field(strict=True, ge=1)]
OffsetLimit = Annotated[int, Field(strict=True, ge=0, le=tenancy.MAX_STATEFUL_OFFSET_S)]


class LimitsModel(_Strict):
    """Some or all of a tenant's limits (``None``: not given); one field per
    ``domain.tenancy.LIMIT_KEYS`` entry, in the same order (a unit test keeps them in step)."""

    max_queries_per_job: PositiveLimit | None = None
    max_stateless_jobs: PositiveLimit | None = None
    max_stateful_jobs: PositiveLimit | None = None
    query_time_limit_s: PositiveLimit | None = None
    file_retention_s: PositiveLimit | None = None
    job_retention_s: PositiveLimit | None = None
    max_file_bytes: PositiveLimit | None = None
    segment_rows: PositiveLimit | None = None
    stateful_offset_s: OffsetLimit | None = None
    max_report_runs: PositiveLimit | None = None
    summary_time_limit_s: PositiveLimit | None = None
    report_run_retention_s: PositiveLimit | None = None
    max_data_queries: PositiveLimit | None = None
    max_queued_data_queries: PositiveLimit | None = None
    data_query_time_limit_s: PositiveLimit | None = None
    data_query_max_rows: PositiveLimit | None = None
    data_query_retention_s: PositiveLimit | None = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # One message naming the key and the choices, rather than pydantic's "extra inputs".
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in cls.model_fields)
            if unknown:
                raise PydanticCustomError(
                    "unknown_limit",
                    "unknown limit {key}; known limits: {known}",
                    {"key": repr(unknown[0]), "known": ", ".join(cls.model_fields)},
                )
        return data

    def overrides(self) -> dict[str, int]:
        """The limits given, by name (the others keep their defaults)."""
        return self.model_dump(exclude_none=True)

    def applied_to(self, limits: tenancy.Limits) -> tenancy.Limits:
        """``limits`` with the ones given here replaced."""
        return dataclasses.replace(limits, **self.overrides())


# -- a whole tenant, as the legacy file holds it ---------------------------------------------------


class UserModel(_Strict):
    name: UserName
    password_hash: PasswordHash
    admin: bool = False


class ClientModel(_Strict):
    client_id: ClientId
    secret_hash: SecretHash
    #: the user of the tenant the client acts as; absent (files from before owners): the
    #: tenant's first admin user, else its first user (``domain.tenancy.default_client_user``)
    user: UserName | None = None


class TenantModel(_Strict):
    """One tenant's entry of ``tenants.json``; only ``time_zone`` is required."""

    time_zone: TimeZone
    limits: LimitsModel = Field(default_factory=LimitsModel)
    users: list[UserModel] = Field(default_factory=list)
    clients: list[ClientModel] = Field(default_factory=list)
    partners: list[PartnerId] = Field(default_factory=list)
    file_segmentation: bool = False
    pgp_public_key: PgpKey | None = None

    @pydantic.model_validator(mode="after")
    def _clients_act_as_own_users(self) -> TenantModel:
        names = {user.name for user in self.users}
        for index, client in enumerate(self.clients):
            if client.user is not None and client.user not in names:
                raise PydanticCustomError(
                    "client_user",
                    "clients[{index}].user: {user} is no user of this tenant",
                    {"index": index, "user": repr(client.user)},
                )
        return self

    def to_domain(self, name: str) -> tenancy.Tenant:
        """The tenant called ``name`` (repeated partner ids once, in their first place); a
        client without a user acts as the tenant's default one."""
        users = tuple(tenancy.User(u.name, u.password_hash, u.admin) for u in self.users)
        default_user = tenancy.default_client_user(users)
        return tenancy.Tenant(
            name=name,
            time_zone=self.time_zone,
            limits=self.limits.applied_to(tenancy.Limits()),
            users=users,
            clients=tuple(
                tenancy.OAuthClient(c.client_id, c.secret_hash, c.user or default_user)
                for c in self.clients
            ),
            partners=tuple(dict.fromkeys(self.partners)),
            file_segmentation=self.file_segmentation,
            pgp_public_key=self.pgp_public_key,
        )


class LegacyFile(_Strict):
    """``DATA_DIR/tenants.json`` as releases before the tenants tables wrote it (format 1)."""

    version: int = LEGACY_FORMAT_VERSION
    tenants: dict[TenantName, TenantModel] = Field(default_factory=dict)

    @pydantic.field_validator("version")
    @classmethod
    def _supported(cls, version: int) -> int:
        if version != LEGACY_FORMAT_VERSION:
            raise PydanticCustomError(
                "version",
                "unsupported version {version} (this Aquarium reads {supported})",
                {"version": repr(version), "supported": LEGACY_FORMAT_VERSION},
            )
        return version

    @pydantic.model_validator(mode="after")
    def _logins_unique(self) -> LegacyFile:
        # User names and client ids identify their tenant, so each may appear only once overall.
        for kind, logins in (
            ("user", [(u.name, t) for t, e in self.tenants.items() for u in e.users]),
            ("client", [(c.client_id, t) for t, e in self.tenants.items() for c in e.clients]),
        ):
            owners: dict[str, str] = {}
            for login, tenant in logins:
                if login in owners:
                    raise PydanticCustomError(
                        "duplicate_login",
                        "{kind} {login} is defined more than once (tenants {first} and {second})",
                        {
                            "kind": kind,
                            "login": repr(login),
                            "first": repr(owners[login]),
                            "second": repr(tenant),
                        },
                    )
                owners[login] = tenant
        return self

    def to_domain(self) -> dict[str, tenancy.Tenant]:
        """Every tenant of the file by name."""
        return {name: entry.to_domain(name) for name, entry in self.tenants.items()}


# -- validation and messages -----------------------------------------------------------------------

TENANT_NAME = TypeAdapter(TenantName)
TIME_ZONE = TypeAdapter(TimeZone)
USER_NAME = TypeAdapter(UserName)
CLIENT_ID = TypeAdapter(ClientId)
PASSWORD = TypeAdapter(Password)
CLIENT_SECRET = TypeAdapter(ClientSecret)
PGP_KEY = TypeAdapter(PgpKey)
PARTNERS = TypeAdapter(list[PartnerId])
TENANT_MODEL = TypeAdapter(TenantModel)


def check(adapter: TypeAdapter[_T], value: object, *, root: str = "") -> _T:
    """``value`` validated by ``adapter`` (one of those above); its normalised form. ``root``
    names the value in messages (``partners`` -> ``partners[1]: ...``).

    Raises :class:`~aquarium.domain.errors.TenancyError` with every problem, where it was and why.
    """
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError as exc:
        raise errors.TenancyError(describe(exc, root=root)) from None


def check_limits(changes: Mapping[str, object]) -> LimitsModel:
    """``changes`` (limit name -> value) as a :data:`LimitsModel`; TenancyError if any is wrong."""
    try:
        return LimitsModel.model_validate(dict(changes))
    except pydantic.ValidationError as exc:
        # "limit segment_rows: must be at least 1"; an unknown limit's message says it all.
        problems = [_problem(e, "limit ") if e["loc"] else _text(e) for e in exc.errors()]
        raise errors.TenancyError(_joined(problems)) from None


def check_tenant(tenant: tenancy.Tenant) -> tenancy.Tenant:
    """``tenant`` when every part of it is valid (its name, zone, limits, logins, hashes, ...)."""
    check(TENANT_NAME, tenant.name)
    entry = {
        "time_zone": tenant.time_zone,
        "limits": dataclasses.asdict(tenant.limits),
        "users": [dataclasses.asdict(u) for u in tenant.users],
        "clients": [dataclasses.asdict(c) for c in tenant.clients],
        "partners": list(tenant.partners),
        "file_segmentation": tenant.file_segmentation,
        "pgp_public_key": tenant.pgp_public_key,
    }
    return check(TENANT_MODEL, entry).to_domain(tenant.name)


def describe(exc: pydantic.ValidationError, *, root: str = "") -> str:
    """One line naming each problem: ``where: what`` (``where`` left out when there is none)."""
    return _joined([_problem(error, root) for error in exc.errors()])


def _joined(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_PROBLEMS])
    hidden = len(problems) - MAX_PROBLEMS
    return f"{shown} (and {hidden} more)" if hidden > 0 else shown


_EXPECTED = {
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
}
_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _problem(error: ErrorDetails, root: str) -> str:
    where = _where(root, error["loc"])
    text = _text(error)
    return f"{where}: {text}" if where else text


def _where(root: str, loc: tuple[int | str, ...]) -> str:
    where = root
    for part in loc:
        if part == "[key]":  # the key of a mapping was the problem, not its value
            continue
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where += f".{part}" if where and not where.endswith(" ") else str(part)
    return where


def _text(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in _EXPECTED:
        found = _JSON_TYPES.get(type(error["input"]), type(error["input"]).__name__)
        return f"expected {_EXPECTED[kind]}, found {found}"
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    return error["msg"]  # our own checks' messages, and pydantic's for anything else
