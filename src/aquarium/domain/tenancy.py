"""Tenants and who may act for them: limits, users, OAuth clients, and the authenticated principal.

Everything here is an immutable value. Where the values are kept is ``store/tenants_repo.py``;
how credentials are checked is ``services/auth.py``. The secret-hashing scheme lives here because
both of those layers need it and ``store/`` must not import ``services/``.

Errors: ``errors.TenancyError`` (a configuration request that cannot be honoured: unknown
tenant, duplicate user, bad time zone, bad limit, ...) and its ``errors.TenantsFileError`` (a
legacy ``tenants.json`` that cannot be imported, or a malformed ``secret.key``), in the one tree
of ``domain/errors.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aquarium.domain import errors

#: a tenant's time zone when none is given (Zuora tenants default to Pacific time)
DEFAULT_TIME_ZONE = "America/Los_Angeles"

# Zuora's documented limits (reference aqua.md section 4.3); every tenant may override them.
DEFAULT_MAX_QUERIES_PER_JOB = 50
DEFAULT_MAX_STATELESS_JOBS = 50
DEFAULT_MAX_STATEFUL_JOBS = 50
DEFAULT_QUERY_TIME_LIMIT_S = 3 * 3600  # seconds
DEFAULT_FILE_RETENTION_S = 3 * 86400  # seconds
DEFAULT_JOB_RETENTION_S = 180 * 86400  # seconds
DEFAULT_MAX_FILE_BYTES = 2047 * 1024 * 1024  # bytes
DEFAULT_SEGMENT_ROWS = 500_000  # rows per segment file
DEFAULT_STATEFUL_OFFSET_S = 0  # seconds
# Reporting (reference reporting.md section 8; the concurrency limit is ours, Zuora names none).
DEFAULT_MAX_REPORT_RUNS = 10  # runs of one tenant in QUERYDATA or PROCESSINGDATA at once
DEFAULT_SUMMARY_TIME_LIMIT_S = 3600  # seconds; a longer summary run ends in ERROR
# Data Query, Live (reference dataquery.md section 9): 5 queries in progress per tenant, 10 more
# may wait in accepted, 1 hour per attempt, 500,000 output rows.
DEFAULT_MAX_DATA_QUERIES = 5
DEFAULT_MAX_QUEUED_DATA_QUERIES = 10
DEFAULT_DATA_QUERY_TIME_LIMIT_S = 3600
DEFAULT_DATA_QUERY_MAX_ROWS = 500_000
DEFAULT_REPORT_RUN_RETENTION_S = 60 * 86400  # seconds runs stay listed and kept
#: seconds Data Query jobs stay listed and kept: Zuora keeps their history 30 days
DEFAULT_DATA_QUERY_RETENTION_S = 30 * 86400
MAX_STATEFUL_OFFSET_S = 3600  # seconds; the request `offset` has the same 0-3600 range

# scrypt parameters for stored passwords and client secrets (about 60 ms and 16 MiB per check,
# which is why services/auth.py caches successful checks).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_SALT_BYTES = 16
SCRYPT_HASH_BYTES = 32
HASH_SCHEME = "scrypt"
# Refuse stored parameters that would make one check cost more than this (a hand-edited file).
SCRYPT_MAX_MEM_BYTES = 256 * 1024 * 1024


class AuthMethod(StrEnum):
    """How a request proved who it is."""

    BASIC = "basic"  #: ``Authorization: Basic base64(user:password)``
    HEADERS = "headers"  #: ``apiAccessKeyId`` + ``apiSecretAccessKey`` headers (user / password)
    BEARER = "bearer"  #: ``Authorization: Bearer <token>`` from ``POST /oauth/token``
    SESSION = (
        "session"  #: the Job Finder's signed session cookie (a user signed in with a password)
    )


@dataclass(frozen=True)
class Limits:
    """Per-tenant limits; the defaults are Zuora's (reference aqua.md section 4.3)."""

    max_queries_per_job: int = DEFAULT_MAX_QUERIES_PER_JOB
    max_stateless_jobs: int = DEFAULT_MAX_STATELESS_JOBS
    max_stateful_jobs: int = DEFAULT_MAX_STATEFUL_JOBS
    query_time_limit_s: int = DEFAULT_QUERY_TIME_LIMIT_S
    file_retention_s: int = DEFAULT_FILE_RETENTION_S
    job_retention_s: int = DEFAULT_JOB_RETENTION_S
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    segment_rows: int = DEFAULT_SEGMENT_ROWS
    #: the tenant's "AQuA API Stateful Mode Time Offset", used when a request sends no ``offset``
    stateful_offset_s: int = DEFAULT_STATEFUL_OFFSET_S
    #: report runs executing at once; more wait in STARTED
    max_report_runs: int = DEFAULT_MAX_REPORT_RUNS
    #: how long a Summary report run may take (a Detail run has ``query_time_limit_s``)
    summary_time_limit_s: int = DEFAULT_SUMMARY_TIME_LIMIT_S
    #: how long finished report runs are kept (their result files: ``file_retention_s``)
    report_run_retention_s: int = DEFAULT_REPORT_RUN_RETENTION_S
    #: Data Query jobs in_progress at once; more wait in accepted
    max_data_queries: int = DEFAULT_MAX_DATA_QUERIES
    #: Data Query jobs that may wait in accepted; a submit beyond is refused (HTTP 429)
    max_queued_data_queries: int = DEFAULT_MAX_QUEUED_DATA_QUERIES
    #: how long one Data Query job may run; longer ones fail
    data_query_time_limit_s: int = DEFAULT_DATA_QUERY_TIME_LIMIT_S
    #: the most rows a Data Query result may hold; a larger one fails
    data_query_max_rows: int = DEFAULT_DATA_QUERY_MAX_ROWS
    #: how long finished Data Query jobs are kept (their result files: ``file_retention_s``)
    data_query_retention_s: int = DEFAULT_DATA_QUERY_RETENTION_S


#: Every limit's name, in declaration order (the keys of a tenant's stored ``limits``).
LIMIT_KEYS: tuple[str, ...] = tuple(Limits.__dataclass_fields__)


def check_limit(key: str, value: int) -> None:
    """Raise :class:`errors.TenancyError` unless ``value`` is acceptable for the limit ``key``.

    Every limit is a positive integer except ``stateful_offset_s``, which is 0-3600 seconds.
    """
    if key not in LIMIT_KEYS:
        raise errors.TenancyError(f"unknown limit {key!r}; known limits: {', '.join(LIMIT_KEYS)}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.TenancyError(f"limit {key} must be an integer, not {value!r}")
    if key == "stateful_offset_s":
        if not 0 <= value <= MAX_STATEFUL_OFFSET_S:
            raise errors.TenancyError(f"limit {key} must be between 0 and {MAX_STATEFUL_OFFSET_S}")
    elif value < 1:
        raise errors.TenancyError(f"limit {key} must be at least 1")


@dataclass(frozen=True)
class User:
    """A login for HTTP Basic and the ``apiAccessKeyId`` headers; names are unique overall."""

    name: str
    password_hash: str
    admin: bool = False


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth client (``client_credentials`` grant). Ids are unique across tenants.

    In Zuora an OAuth client belongs to a user and acts as that user (reference reporting.md
    2.2: the ``/reporting`` paths take OAuth only). ``user`` names that user of the same tenant;
    ``None`` (its user was removed) means the client acts as nobody: its tokens are refused.
    """

    client_id: str
    secret_hash: str
    #: the user of the tenant the client acts as (rights and name); ``None``: nobody
    user: str | None = None


#: The tenant feature of Zuora's Invoice Settlement (``catalog.model.ObjectDef.feature``).
INVOICE_SETTLEMENT = "InvoiceSettlement"


class CustomFieldType(StrEnum):
    """The types a custom field may have (``aquarium tenant add-field ... TYPE``)."""

    TEXT = "text"  #: free text
    PICKLIST = "picklist"  #: one of the field's values
    NUMBER = "number"  #: a decimal number (DECIMAL(18, 4))
    DATE = "date"  #: a calendar day
    DATETIME = "datetime"  #: an instant
    BOOLEAN = "boolean"  #: true / false


@dataclass(frozen=True)
class CustomField:
    """A custom field a tenant declared on one object (``Name__c``), in order of declaration."""

    object: str  #: the object's name as the catalogue spells it
    name: str  #: the API name, ending in ``__c``
    type: CustomFieldType
    label: str
    values: tuple[str, ...] = ()  #: a picklist's values, in order


@dataclass(frozen=True)
class Tenant:
    """One tenant's configuration. ``partners`` empty means any partner id is accepted."""

    name: str
    time_zone: str
    limits: Limits = Limits()
    users: tuple[User, ...] = ()
    clients: tuple[OAuthClient, ...] = ()
    partners: tuple[str, ...] = ()
    file_segmentation: bool = False
    pgp_public_key: str | None = None
    #: Zuora's Invoice Settlement: its objects exist, the legacy ones it replaces are read-only
    invoice_settlement: bool = True
    #: the custom fields declared on its objects, by object then order of declaration
    custom_fields: tuple[CustomField, ...] = ()

    @property
    def features(self) -> frozenset[str]:
        """The tenant features that are on (``catalog.model.ObjectDef.feature`` values)."""
        return frozenset({INVOICE_SETTLEMENT}) if self.invoice_settlement else frozenset()

    def user(self, name: str) -> User | None:
        """The user called ``name``, or ``None``."""
        return next((user for user in self.users if user.name == name), None)

    def client(self, client_id: str) -> OAuthClient | None:
        """The OAuth client with ``client_id``, or ``None``."""
        return next((client for client in self.clients if client.client_id == client_id), None)

    def default_client_user(self) -> str | None:
        """Who a client given no user acts as: the first admin user, else the first user (in
        order of creation); ``None`` for a tenant without users."""
        return default_client_user(self.users)

    def accepts_partner(self, partner: str) -> bool:
        """Whether a job may name ``partner`` (any partner when none are configured)."""
        return not self.partners or partner in self.partners


def default_client_user(users: Sequence[User]) -> str | None:
    """The user an OAuth client acts as when none is named: the first admin of ``users``, else
    the first of them; ``None`` when there are none. Migration 0009 gave every client that
    existed before owners this same user."""
    chosen = next((user for user in users if user.admin), users[0] if users else None)
    return None if chosen is None else chosen.name


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user, signed in (Basic, headers, the Job Finder) or through one
    of the user's OAuth clients (bearer token)."""

    tenant: str
    #: the user name (for a bearer token: the user the OAuth client acts as)
    name: str
    admin: bool
    how: AuthMethod
    #: the OAuth client id when the request came with one of its bearer tokens
    client: str | None = None


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of a password or client secret: ``scrypt$n$r$p$salt_hex$hash_hex``."""
    salt = secrets.token_bytes(SCRYPT_SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"{HASH_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches the ``stored`` hash; ``False`` for a malformed hash, never raises.

    The comparison is constant-time.
    """
    parsed = parse_hash(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    return hmac.compare_digest(_scrypt(secret, salt, n, r, p, length=len(expected)), expected)


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    """``(n, r, p, salt, digest)`` of a stored hash, or ``None`` when it is not one we can check."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != HASH_SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    power_of_two = n > 1 and n & (n - 1) == 0
    if not power_of_two or r < 1 or p < 1 or not salt or not digest:
        return None
    if 128 * r * n * p > SCRYPT_MAX_MEM_BYTES:
        return None
    return n, r, p, salt, digest


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int, *, length: int = 32) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=length,
        # OpenSSL needs a little more than 128 * r * n bytes; its default cap is 32 MiB.
        maxmem=128 * r * n * p + 2 * 1024 * 1024,
    )


def callers_tenant(caller: Principal, tenant_of: Callable[[str], Tenant | None]) -> Tenant:
    """The tenant ``caller`` acts for; :class:`errors.NotAuthenticated` when it no longer exists
    (removed since the caller's credentials were checked)."""
    found = tenant_of(caller.tenant)
    if found is None:
        raise errors.NotAuthenticated("the tenant no longer exists")
    return found
