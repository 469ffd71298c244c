"""Job Finder sessions: a signed cookie saying who signed in, until when, and its CSRF token.

::

    cookie = base64url(JSON {"v", "tenant", "user", "exp", "csrf", "pw"})
             "." base64url(HMAC-SHA256(server secret, CONTEXT + body))

- Signed with the server secret (``DATA_DIR/secret.key``) under a context of its own, so an OAuth
  bearer token is never accepted as a session, nor a session cookie as a token.
- ``exp`` is an idle expiry: every authenticated page renews it (at most once a minute), so a
  session ends after ``web_session_idle_s`` seconds without a request.
- ``pw`` is a MAC of the user's stored password hash: changing the password, or removing the
  user or the tenant, ends every session of that user at their next request.
- ``csrf`` is random per sign-in; state-changing forms carry it in a hidden field and scripts in
  the ``X-CSRF-Token`` header. The sign-in form, which comes before any session, uses a random
  value in a short-lived cookie and the same value in the form (double submit).

Nothing is kept on the server. Signing out deletes the cookie; a copy of it taken earlier stays
valid until it expires (the idle expiry bounds that).

Everything here answers ``None`` or ``False`` for anything that does not verify and never raises
for bad input. No HTTP in this module: ``web/guard.py`` reads and writes the cookies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, replace

from aquarium.domain import errors, tenancy

VERSION = 1
COOKIE = "aquarium_session"
LOGIN_COOKIE = "aquarium_signin"  # the sign-in form's double-submit CSRF value
LOGIN_COOKIE_MAX_AGE_S = 3600  # seconds a sign-in form stays usable
CSRF_FIELD = "csrf"  # hidden form field
CSRF_HEADER = "x-csrf-token"  # header for scripts
RENEW_AFTER_S = 60  # seconds: renew the idle expiry no more often than this
TOKEN_BYTES = 32
MAX_COOKIE_CHARS = 4096  # browsers keep at most ~4 KB per cookie; anything longer is not ours
_CONTEXT = b"aquarium.web.session.v1."  # domain separation for the session MAC
_PASSWORD_CONTEXT = b"aquarium.web.password.v1."
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Session:
    """A signed-in user of one tenant; ``expires`` is seconds since the epoch (UTC)."""

    tenant: str
    user: str
    expires: int
    csrf: str
    #: MAC of the user's password hash when the session began
    password_mark: str


class SessionCodec:
    """Issues, signs and checks sessions with the server secret."""

    def __init__(self, secret: bytes, idle_s: int) -> None:
        if len(secret) < TOKEN_BYTES // 2:
            raise errors.TenancyError("the server secret is too short")
        self._secret = secret
        self.idle_s = idle_s

    def issue(self, tenant: str, user: tenancy.User, now: float) -> Session:
        """A new session for ``user`` of ``tenant``, with a new CSRF token."""
        return Session(
            tenant=tenant,
            user=user.name,
            expires=int(now) + self.idle_s,
            csrf=new_token(),
            password_mark=self._password_mark(user.password_hash),
        )

    def encode(self, session: Session) -> str:
        """The cookie value of ``session``."""
        payload = {
            "v": VERSION,
            "tenant": session.tenant,
            "user": session.user,
            "exp": session.expires,
            "csrf": session.csrf,
            "pw": session.password_mark,
        }
        body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{_b64encode(self._sign(body))}"

    def decode(self, cookie: str | None, now: float) -> Session | None:
        """The session in ``cookie`` if we signed it and it has not expired, else ``None``."""
        payload = self._verified_payload(cookie or "")
        if payload is None or payload.get("v") != VERSION:
            return None
        fields = (payload.get(key) for key in ("tenant", "user", "exp", "csrf", "pw"))
        tenant, user, expires, csrf, mark = fields
        if not all(isinstance(value, str) for value in (tenant, user, csrf, mark)):
            return None
        if isinstance(expires, bool) or not isinstance(expires, int) or now >= expires:
            return None
        return Session(str(tenant), str(user), expires, str(csrf), str(mark))

    def renewed(self, session: Session, now: float) -> Session | None:
        """``session`` with its idle expiry pushed back, or ``None`` when it is fresh enough."""
        expires = int(now) + self.idle_s
        if expires - session.expires < RENEW_AFTER_S:
            return None
        return replace(session, expires=expires)

    def principal(
        self, session: Session, tenant: tenancy.Tenant | None
    ) -> tenancy.Principal | None:
        """Who ``session`` acts as, checked against the tenant as configured now: ``None`` when
        the tenant or user is gone or the password changed since sign-in."""
        user = tenant.user(session.user) if tenant is not None else None
        if tenant is None or user is None:
            return None
        if not hmac.compare_digest(session.password_mark, self._password_mark(user.password_hash)):
            return None
        return tenancy.Principal(
            tenant=tenant.name, name=user.name, admin=user.admin, how=tenancy.AuthMethod.SESSION
        )

    def _password_mark(self, password_hash: str) -> str:
        mac = hmac.new(self._secret, _PASSWORD_CONTEXT + password_hash.encode(), hashlib.sha256)
        return _b64encode(mac.digest()[:16])

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._secret, _CONTEXT + body.encode("ascii"), hashlib.sha256).digest()

    def _verified_payload(self, cookie: str) -> dict[str, object] | None:
        if len(cookie) > MAX_COOKIE_CHARS:
            return None
        body, dot, signature = cookie.partition(".")
        if not dot or _BASE64URL.fullmatch(body) is None:
            return None
        expected = _b64encode(self._sign(body))
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected.encode("ascii")):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError):  # JSONDecodeError, UnicodeDecodeError alike
            return None
        return payload if isinstance(payload, dict) else None


def new_token() -> str:
    """A fresh random CSRF token (URL-safe text)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Whether a submitted CSRF token is the expected one (constant time; ``False`` when
    either is missing or empty)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
