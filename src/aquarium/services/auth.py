"""Who is calling: HTTP Basic, the ``apiAccessKeyId`` headers and OAuth bearer tokens.

Reference aqua.md section 1.2 and CONTRACT.md "Everywhere". Users (Basic, headers) and OAuth
clients (``POST /oauth/token``, then ``Authorization: Bearer``) are configured per tenant in the
metadata database (``store/tenants_repo.py``); names and client ids are unique across tenants,
so the credentials alone say which tenant a request belongs to.

Bearer tokens are self-contained and survive restarts::

    base64url(JSON {"tenant", "client", "exp", "jti"}) "." base64url(HMAC-SHA256(secret, payload))

signed with the server secret in ``DATA_DIR/secret.key``. A token acts as the user its client
belongs to (``OAuthClient.user``: that user's name and rights, as in Zuora, where an OAuth
client acts as the user it was made for), looked up at each request: a client given another
user acts as that one from the next request on. A token stops working when it expires, when the
server secret changes, when its client is removed, or when the client has no user (its user was
removed); such a client gets no new token either.

Every method answers ``None`` for anything that does not authenticate (unknown user, wrong
password, garbage header, tampered or expired token) and never raises for bad input, so the edge
maps ``None`` to HTTP 401 and nothing else does.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aquarium.domain import errors, tenancy

TOKEN_TYPE = "bearer"
TOKEN_LIFETIME_S = 3599  # seconds; the expires_in Zuora answers (reference aqua.md 1.2)
CACHE_ENTRIES = 10_000  # successful credential checks remembered per Authenticator
SECRET_FILE = "secret.key"
SECRET_BYTES = 32
SECRET_FILE_MODE = 0o600
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_TOKEN_CONTEXT = b"aquarium.oauth.v1."  # domain separation for the token MAC
# A well-formed hash nobody's secret matches: unknown names still pay one scrypt, so response
# times do not tell which user names exist.
_DUMMY_HASH = (
    f"{tenancy.HASH_SCHEME}${tenancy.SCRYPT_N}${tenancy.SCRYPT_R}${tenancy.SCRYPT_P}$"
    f"{'00' * tenancy.SCRYPT_SALT_BYTES}${'00' * tenancy.SCRYPT_HASH_BYTES}"
)


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of a password or client secret (``scrypt$n$r$p$salt_hex$hash_hex``)."""
    return tenancy.hash_secret(secret)


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches ``stored`` (constant-time; ``False`` for a malformed hash)."""
    return tenancy.verify_secret(secret, stored)


@dataclass(frozen=True)
class TokenGrant:
    """The answer to ``POST /oauth/token``; :meth:`to_wire` is the JSON body."""

    access_token: str
    scope: str
    jti: str
    token_type: str = TOKEN_TYPE
    expires_in: int = TOKEN_LIFETIME_S

    def to_wire(self) -> dict[str, str | int]:
        """The response document, keys in Zuora's order."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
            "jti": self.jti,
        }


@dataclass(frozen=True)
class _Login:
    tenant: str
    name: str
    admin: bool
    secret_hash: str
    #: a client's user (whom its tokens act as); ``None`` for users, and for a client of nobody
    user: str | None = None


class Authenticator:
    """Checks credentials against a snapshot of the tenants; rebuild it when they change.

    Thread-safe. Successful checks of a (name, secret) pair are remembered (at most
    :data:`CACHE_ENTRIES`, least recently used dropped first) so a client polling many times a
    second does not pay scrypt each time; failures are never remembered. The cache key is a keyed
    hash of name and secret, so a wrong secret never hits it, and the cache dies with the instance.
    """

    def __init__(
        self,
        tenants: Mapping[str, tenancy.Tenant],
        secret: bytes,
        *,
        cache_entries: int = CACHE_ENTRIES,
    ) -> None:
        if len(secret) < SECRET_BYTES // 2:
            raise errors.TenancyError("the server secret is too short")
        self._secret = secret
        self._users: dict[str, _Login] = {}
        self._clients: dict[str, _Login] = {}
        for tenant in tenants.values():
            for user in tenant.users:
                login = _Login(tenant.name, user.name, user.admin, user.password_hash)
                self._users[user.name] = login
            for client in tenant.clients:
                login = _Login(
                    tenant.name, client.client_id, False, client.secret_hash, client.user
                )
                self._clients[client.client_id] = login
        self._cache_entries = cache_entries
        self._cache: collections.OrderedDict[bytes, _Login] = collections.OrderedDict()
        self._cache_key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    # -- users -------------------------------------------------------------------------------------

    def basic(self, username: str, password: str) -> tenancy.Principal | None:
        """The user ``username`` if ``password`` is theirs, else ``None``."""
        login = self._check(self._users, "user", username, password)
        return None if login is None else _principal(login, tenancy.AuthMethod.BASIC)

    def headers(
        self, api_access_key_id: str, api_secret_access_key: str
    ) -> tenancy.Principal | None:
        """Like :meth:`basic`, for the ``apiAccessKeyId`` / ``apiSecretAccessKey`` headers."""
        login = self._check(self._users, "user", api_access_key_id, api_secret_access_key)
        return None if login is None else _principal(login, tenancy.AuthMethod.HEADERS)

    # -- OAuth -------------------------------------------------------------------------------------

    def issue_token(
        self, client_id: str, client_secret: str, *, now: dt.datetime
    ) -> TokenGrant | None:
        """A bearer token for the client, valid :data:`TOKEN_LIFETIME_S` from ``now``; ``None``
        when the id or secret is wrong, or the client acts as nobody (its user is gone)."""
        login = self._check(self._clients, "client", client_id, client_secret)
        user = None if login is None else self._user_of(login)
        if login is None or user is None:
            return None
        jti = str(uuid.uuid4())
        payload = {
            "tenant": login.tenant,
            "client": login.name,
            "exp": int(now.timestamp()) + TOKEN_LIFETIME_S,
            "jti": jti,
        }
        body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        token = f"{body}.{_b64encode(self._sign(body))}"
        scope = f"entity.{login.tenant} tenant.{login.tenant} user.{user.name}"
        return TokenGrant(access_token=token, scope=scope, jti=jti)

    def bearer(self, token: str, *, now: dt.datetime) -> tenancy.Principal | None:
        """The user the token's client acts as, or ``None`` when the token is malformed, forged
        or expired, or its client no longer exists or acts as nobody."""
        payload = self._verified_payload(token)
        if payload is None:
            return None
        tenant, client, expires = payload.get("tenant"), payload.get("client"), payload.get("exp")
        if not isinstance(client, str) or not isinstance(expires, int):
            return None
        if now.timestamp() >= expires:
            return None
        login = self._clients.get(client)
        if login is None or login.tenant != tenant:
            return None
        user = self._user_of(login)
        if user is None:
            return None
        return _principal(user, tenancy.AuthMethod.BEARER, client=login.name)

    # -- HTTP --------------------------------------------------------------------------------------

    def from_authorization(
        self,
        header_value: str | None,
        api_access_key_id: str | None,
        api_secret_access_key: str | None,
        *,
        now: dt.datetime,
    ) -> tenancy.Principal | None:
        """The principal of a request from its ``Authorization`` header (``Basic`` or ``Bearer``,
        scheme case-insensitive) or, failing that, the ``apiAccessKeyId`` /
        ``apiSecretAccessKey`` headers. ``None`` when neither authenticates."""
        principal = self._authorization(header_value, now=now) if header_value else None
        if principal is None and api_access_key_id and api_secret_access_key:
            principal = self.headers(api_access_key_id, api_secret_access_key)
        return principal

    def basic_pair(self, header_value: str | None) -> tuple[str, str] | None:
        """``(name, secret)`` from an ``Authorization: Basic`` header without checking them (the
        token endpoint reads client credentials this way); ``None`` for anything else."""
        scheme, credentials = _split_authorization(header_value or "")
        return decode_basic(credentials) if scheme == "basic" else None

    def _authorization(self, header_value: str, *, now: dt.datetime) -> tenancy.Principal | None:
        scheme, credentials = _split_authorization(header_value)
        if scheme == "bearer":
            return self.bearer(credentials, now=now)
        pair = decode_basic(credentials) if scheme == "basic" else None
        return None if pair is None else self.basic(*pair)

    # -- internals ---------------------------------------------------------------------------------

    def _user_of(self, client: _Login) -> _Login | None:
        """The user of the client's own tenant it acts as; ``None`` when it has none."""
        user = self._users.get(client.user) if client.user is not None else None
        return user if user is not None and user.tenant == client.tenant else None

    def _check(
        self, logins: Mapping[str, _Login], kind: str, name: str, secret: str
    ) -> _Login | None:
        key = self._cache_key_for(kind, name, secret)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        login = logins.get(name)
        if login is None:
            verify_secret(secret, _DUMMY_HASH)
            return None
        if not verify_secret(secret, login.secret_hash):
            return None
        with self._lock:
            self._cache[key] = login
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
        return login

    def _cache_key_for(self, kind: str, name: str, secret: str) -> bytes:
        # Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        material = f"{kind}\0{len(name)}\0{name}\0{secret}".encode("utf-8", "surrogatepass")
        return hmac.new(self._cache_key, material, hashlib.sha256).digest()

    def _sign(self, body: str) -> bytes:
        return hmac.new(
            self._secret, _TOKEN_CONTEXT + body.encode("ascii"), hashlib.sha256
        ).digest()

    def _verified_payload(self, token: str) -> dict[str, Any] | None:
        body, dot, signature = token.partition(".")
        if not dot or _BASE64URL.fullmatch(body) is None:
            return None
        # Compare the text, not decoded bytes: base64's last character carries unused bits, and
        # a token differing only there is not the one we issued.
        expected = _b64encode(self._sign(body))
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected.encode("ascii")):
            return None
        raw = _b64decode(body)
        try:
            payload = json.loads(raw) if raw is not None else None
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            return None
        return payload if isinstance(payload, dict) else None


def _split_authorization(header_value: str) -> tuple[str, str]:
    """(lower-case scheme, credentials) of an Authorization header; ``("", "")`` if malformed."""
    parts = header_value.split(None, 1)
    if len(parts) != 2:
        return "", ""
    return parts[0].lower(), parts[1].strip()


def decode_basic(credentials: str) -> tuple[str, str] | None:
    """``(user, password)`` from the base64 part of a Basic header, or ``None`` if it is not one.

    The text is read as UTF-8, falling back to Latin-1 (RFC 7617 leaves the charset open and old
    clients send Latin-1). Padding may be missing.
    """
    if not credentials.isascii():
        return None
    try:
        raw = base64.b64decode(credentials + "=" * (-len(credentials) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    user, colon, password = text.partition(":")
    if not colon or not user:
        return None
    return user, password


def load_or_create_secret(data_dir: Path) -> bytes:
    """The server secret in ``DATA_DIR/secret.key``: 32 random bytes, made on first use (mode 0600).

    Safe when several processes start at once: the file appears complete or not at all. Raises
    :class:`~aquarium.domain.errors.TenantsFileError` for a file too short to be a secret.
    """
    path = data_dir / SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read_secret(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    temp = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if another process got there first; then its secret wins.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        os.unlink(temp)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    secret = path.read_bytes()
    if len(secret) < SECRET_BYTES:
        raise errors.TenantsFileError(
            f"{path} holds {len(secret)} bytes; a server secret has {SECRET_BYTES}. "
            "Delete it to make a new one (issued tokens stop working).",
            message="The server secret is malformed.",
        )
    return secret


def _principal(
    login: _Login, how: tenancy.AuthMethod, *, client: str | None = None
) -> tenancy.Principal:
    return tenancy.Principal(
        tenant=login.tenant, name=login.name, admin=login.admin, how=how, client=client
    )


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    # urlsafe_b64decode skips stray characters; a token with any is not one we issued.
    if _BASE64URL.fullmatch(text) is None:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
