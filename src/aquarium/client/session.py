"""Credentials and the HTTP session under :class:`~aquarium.client.Client`.

A user and password travel as HTTP Basic on every request. An OAuth client first gets a bearer
token from ``POST /oauth/token`` (``client_credentials``); the token is renewed shortly before
it expires and, once, when an answer is 401 anyway (a server restarted with a new key, a clock
that drifted). Every transport failure becomes :class:`~aquarium.client.errors.ServerUnreachable`
and every error answer goes through :func:`~aquarium.client.errors.raise_for_answer`.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

import aquarium
from aquarium.client import errors

TOKEN_PATH = "/oauth/token"
TOKEN_RENEW_MARGIN_S = 60.0  # seconds before a token's expiry when it is renewed
DEFAULT_TIMEOUT_S = 30.0  # seconds to connect, or to wait for any read or write
USER_AGENT = f"aquarium-client/{aquarium.__version__}"

Params = Mapping[str, str | int | list[str]]


@dataclass(frozen=True)
class Credentials:
    """A user and password (HTTP Basic), or an OAuth client id and secret (bearer tokens).

    Build them with :meth:`basic` or :meth:`oauth`; anything else (both kinds, neither, half a
    pair) raises :class:`~aquarium.client.errors.ConfigError`. Secrets stay out of ``repr``.
    """

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        basic = (self.user, self.password)
        oauth = (self.client_id, self.client_secret)
        if any(v is not None for v in basic) and any(v is not None for v in oauth):
            raise errors.ConfigError("give a user and password or an OAuth client, not both")
        if any(v is None for v in basic) and any(v is None for v in oauth):
            raise errors.ConfigError(
                "credentials need a user and a password, or an OAuth client id and secret"
            )

    @classmethod
    def basic(cls, user: str, password: str) -> Credentials:
        return cls(user=user, password=password)

    @classmethod
    def oauth(cls, client_id: str, client_secret: str) -> Credentials:
        return cls(client_id=client_id, client_secret=client_secret)

    @property
    def is_oauth(self) -> bool:
        return self.client_id is not None


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float  # on the session's monotonic clock


class Session:
    """One httpx connection pool on ``base_url``, authenticated as ``credentials``."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._clock = clock
        self._token: _Token | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request; raise the answer's error, else return its decoded JSON."""
        request = self._http.build_request(method, path, params=params, json=json, headers=headers)
        response = self._send(request, stream=False)
        errors.raise_for_answer(response)
        if response.status_code == 204:  # No Content (a DELETE of the test-control API)
            return None
        try:
            return response.json()
        except ValueError:
            raise errors.ClientError(
                f"unexpected answer from the server to {method} {path}: not JSON"
            ) from None

    @contextlib.contextmanager
    def stream(
        self,
        path: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        passthrough: Collection[int] = (),
        timeout: httpx.Timeout | None = None,
        authenticated: bool = True,
    ) -> Iterator[httpx.Response]:
        """A streamed GET; statuses of 400 and above raise unless listed in ``passthrough``.

        ``path`` may also be an absolute URL. ``timeout`` replaces the session's for this
        request (e.g. a longer read timeout). ``authenticated=False`` sends no credentials at
        all: for a pre-signed URL (Data Query's ``dataFile``), which may be on another host and
        which a store such as S3 refuses when an ``Authorization`` header comes with it.
        """
        request = self._http.build_request(
            "GET", path, params=params, headers=headers, timeout=timeout or self._http.timeout
        )
        if authenticated:
            response = self._send(request, stream=True)
        else:
            response = self._send_plain(request, stream=True)
        try:
            if response.status_code >= 400 and response.status_code not in passthrough:
                response.read()
                errors.raise_for_answer(response)
            yield response
        finally:
            response.close()

    def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        response = self._send_once(request, stream=stream, renew=False)
        if response.status_code == 401 and self._credentials.is_oauth:
            response.close()
            response = self._send_once(request, stream=stream, renew=True)
        return response

    def _send_once(self, request: httpx.Request, *, stream: bool, renew: bool) -> httpx.Response:
        request.headers["Authorization"] = self._authorization(renew=renew)
        return self._send_plain(request, stream=stream)

    def _send_plain(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        try:
            return self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise errors.unreachable(self.base_url, exc) from None

    def _authorization(self, *, renew: bool) -> str:
        credentials = self._credentials
        if credentials.user is not None and credentials.password is not None:
            pair = f"{credentials.user}:{credentials.password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        now = self._clock()
        if renew or self._token is None or now >= self._token.renew_at:
            self._token = self._fetch_token(now)
        return f"Bearer {self._token.value}"

    def _fetch_token(self, now: float) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id or "",
            "client_secret": self._credentials.client_secret or "",
        }
        try:
            response = self._http.post(TOKEN_PATH, data=form)
        except httpx.TransportError as exc:
            raise errors.unreachable(self.base_url, exc) from None
        try:
            document: Any = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            document = {}
        if response.status_code in {400, 401}:
            # OAuth's own error shape: {"error": "invalid_client", "error_description": ...}
            raise errors.NotAuthenticated(
                str(document.get("error_description") or document.get("error") or "")
            )
        errors.raise_for_answer(response)
        token, expires_in = document.get("access_token"), document.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int):
            raise errors.ClientError("unexpected answer from the server to POST /oauth/token")
        return _Token(token, renew_at=now + max(expires_in - TOKEN_RENEW_MARGIN_S, 0.0))
