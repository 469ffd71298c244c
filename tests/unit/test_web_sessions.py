"""Job Finder sessions and the edge's small rules: signing, expiry, CSRF, where to go next."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from aquarium.domain import tenancy
from aquarium.services import auth
from aquarium.web import guard, pages, sessions

SECRET = b"s" * 32
NOW = 1_800_000_000.0  # seconds since the epoch
IDLE_S = 8 * 3600
USER = tenancy.User("demo", "scrypt$16$8$1$00$11", admin=True)
TENANT = tenancy.Tenant("demo", "UTC", users=(USER,))


@pytest.fixture
def codec() -> sessions.SessionCodec:
    return sessions.SessionCodec(SECRET, IDLE_S)


def test_a_session_round_trips_until_it_expires(codec: sessions.SessionCodec) -> None:
    session = codec.issue("demo", USER, NOW)
    cookie = codec.encode(session)
    assert codec.decode(cookie, NOW) == session
    assert codec.decode(cookie, NOW + IDLE_S - 1) == session
    assert codec.decode(cookie, NOW + IDLE_S) is None
    assert session.expires == NOW + IDLE_S
    assert len(session.csrf) >= 40


def test_each_sign_in_gets_its_own_csrf_token(codec: sessions.SessionCodec) -> None:
    assert codec.issue("demo", USER, NOW).csrf != codec.issue("demo", USER, NOW).csrf


def test_a_tampered_or_foreign_cookie_is_nobody(codec: sessions.SessionCodec) -> None:
    cookie = codec.encode(codec.issue("demo", USER, NOW))
    body, _, signature = cookie.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["user"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    other = sessions.SessionCodec(b"o" * 32, IDLE_S)
    for bad in (
        f"{forged}.{signature}",
        other.encode(codec.issue("demo", USER, NOW)),
        cookie[:-2],
        "",
        None,
        "no-dot",
        "é.é",
        "x" * 5000,
    ):
        assert codec.decode(bad, NOW) is None, bad


def test_an_oauth_token_is_not_a_session() -> None:
    client = tenancy.OAuthClient("c1", auth.hash_secret("secret"), user=USER.name)
    authenticator = auth.Authenticator(
        {"demo": tenancy.Tenant("demo", "UTC", users=(USER,), clients=(client,))}, SECRET
    )
    grant = authenticator.issue_token("c1", "secret", now=dt.datetime.now(dt.UTC))
    assert grant is not None
    assert sessions.SessionCodec(SECRET, IDLE_S).decode(grant.access_token, NOW) is None


def test_the_idle_expiry_is_renewed_at_most_once_a_minute(codec: sessions.SessionCodec) -> None:
    session = codec.issue("demo", USER, NOW)
    assert codec.renewed(session, NOW + sessions.RENEW_AFTER_S - 1) is None
    renewed = codec.renewed(session, NOW + sessions.RENEW_AFTER_S)
    assert renewed is not None
    assert renewed.expires == NOW + sessions.RENEW_AFTER_S + IDLE_S
    assert renewed.csrf == session.csrf


def test_the_principal_is_checked_against_the_tenant_as_it_is_now(
    codec: sessions.SessionCodec,
) -> None:
    session = codec.issue("demo", USER, NOW)
    principal = codec.principal(session, TENANT)
    assert principal == tenancy.Principal("demo", "demo", True, tenancy.AuthMethod.SESSION)
    new_password = tenancy.User("demo", "scrypt$16$8$1$00$22", admin=True)
    assert codec.principal(session, tenancy.Tenant("demo", "UTC", users=(new_password,))) is None
    assert codec.principal(session, tenancy.Tenant("demo", "UTC")) is None
    assert codec.principal(session, None) is None


@pytest.mark.parametrize(
    ("expected", "given", "matches"),
    [("abc", "abc", True), ("abc", "abd", False), ("abc", None, False), ("", "", False)],
)
def test_csrf_tokens_match_only_when_equal_and_present(
    expected: str, given: str | None, matches: bool
) -> None:
    assert sessions.tokens_match(expected, given) is matches


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/objects/Account", "/objects/Account"),
        ("/jobs?status=active", "/jobs?status=active"),
        (None, "/jobs"),
        ("https://evil.example/", "/jobs"),
        ("//evil.example/", "/jobs"),
        ("/\\evil.example", "/jobs"),
        ("/login?next=/jobs", "/jobs"),
        ("/jobs\r\nSet-Cookie: x", "/jobs"),
    ],
)
def test_after_signing_in_only_paths_of_this_site(asked: str | None, goes: str) -> None:
    assert guard.safe_next(asked) == goes


def test_display_filters() -> None:
    assert pages.when("2026-12-01T10:00:00.123Z") == "2026-12-01 10:00:00 UTC"
    assert pages.when(None) == "—"
    assert pages.size(980) == "980 B"
    assert pages.size(9_800_000) == "9.8 MB"
    assert pages.duration(40) == "40 ms"
    assert pages.duration(185_000) == "3 min 5 s"
    assert pages.shown(True) == "yes"
    assert pages.status_class("QUERYDATA") == "active"
    assert pages.status_class("cancelled") == "cancelled"
    assert pages.status_class("INVALID") == "failed"
