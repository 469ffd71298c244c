"""Credential checks, bearer tokens and Authorization header parsing (no files involved)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator

import pytest

from aquarium.domain import errors, tenancy
from aquarium.services import auth

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
SECRET = b"k" * 32
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CHEAP_N = 2**4  # scrypt work factor for these tests only: the real one costs ~60 ms a check


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode("utf-8")).decode("ascii")


@pytest.fixture(scope="module", autouse=True)
def cheap_scrypt() -> Iterator[None]:
    """Hash with a tiny work factor so the module runs in milliseconds; the format is the same."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tenancy, "SCRYPT_N", CHEAP_N)
        patch.setattr(auth, "_DUMMY_HASH", auth._DUMMY_HASH.replace(f"${2**14}$", f"${CHEAP_N}$"))
        yield


@pytest.fixture(scope="module")
def tenants() -> dict[str, tenancy.Tenant]:
    demo = tenancy.Tenant(
        name="demo",
        time_zone="America/Los_Angeles",
        users=(tenancy.User("demo", auth.hash_secret("demo"), admin=True),),
        clients=(tenancy.OAuthClient(CLIENT_ID, auth.hash_secret("demo"), user="demo"),),
    )
    acme = tenancy.Tenant(
        name="acme",
        time_zone="UTC",
        users=(tenancy.User("jörg", auth.hash_secret("pä:ss wörd")),),
    )
    return {"demo": demo, "acme": acme}


@pytest.fixture
def authenticator(tenants: dict[str, tenancy.Tenant]) -> auth.Authenticator:
    return auth.Authenticator(tenants, SECRET)


# -- hashing ---------------------------------------------------------------------------------------


def test_hash_round_trip_and_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenancy, "SCRYPT_N", 2**14)  # the real work factor, for this test
    stored = auth.hash_secret("s3cret")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(bytes.fromhex(salt)) == 16
    assert len(bytes.fromhex(digest)) == 32
    assert auth.verify_secret("s3cret", stored)
    assert not auth.verify_secret("s3cret ", stored)
    assert not auth.verify_secret("", stored)


def test_hashes_are_salted() -> None:
    assert auth.hash_secret("same") != auth.hash_secret("same")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text",
        "bcrypt$16384$8$1$00$00",
        "scrypt$16384$8$1$zz$00",
        "scrypt$1000$8$1$00$00",  # n not a power of two
        "scrypt$1073741824$8$1$00$00",  # would need 128 GiB
        "scrypt$16384$8$1$$00",
    ],
)
def test_malformed_hash_never_verifies(stored: str) -> None:
    assert not auth.verify_secret("anything", stored)


# -- users -----------------------------------------------------------------------------------------


def test_basic_and_headers(authenticator: auth.Authenticator) -> None:
    basic = authenticator.basic("demo", "demo")
    assert basic == tenancy.Principal("demo", "demo", admin=True, how=tenancy.AuthMethod.BASIC)
    headers = authenticator.headers("demo", "demo")
    assert headers is not None
    assert headers.how == "headers"
    assert (headers.tenant, headers.name, headers.admin) == ("demo", "demo", True)


def test_wrong_password_and_unknown_user(authenticator: auth.Authenticator) -> None:
    assert authenticator.basic("demo", "Demo") is None
    assert authenticator.basic("demo", "") is None
    assert authenticator.basic("nobody", "demo") is None
    assert authenticator.headers("demo", "nope") is None


def test_client_credentials_are_not_user_credentials(authenticator: auth.Authenticator) -> None:
    assert authenticator.basic(CLIENT_ID, "demo") is None


def test_cache_hit_still_rejects_wrong_password(
    authenticator: auth.Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert authenticator.basic("demo", "demo") is not None
    calls: list[str] = []
    real_verify = auth.verify_secret

    def counting_verify(secret: str, stored: str) -> bool:
        calls.append(secret)
        return real_verify(secret, stored)

    monkeypatch.setattr(auth, "verify_secret", counting_verify)
    for _ in range(100):
        assert authenticator.basic("demo", "demo") is not None
    assert authenticator.headers("demo", "demo") is not None
    assert calls == []  # served from the cache
    assert authenticator.basic("demo", "wrong") is None
    assert calls == ["wrong"]  # a different password is never a cache hit
    assert authenticator.basic("demo", "wrong") is None
    assert calls == ["wrong", "wrong"]  # failures are not remembered


def test_cache_is_bounded(tenants: dict[str, tenancy.Tenant]) -> None:
    authenticator = auth.Authenticator(tenants, SECRET, cache_entries=1)
    assert authenticator.basic("demo", "demo") is not None
    assert authenticator.basic("jörg", "pä:ss wörd") is not None
    assert len(authenticator._cache) == 1


def test_rebuilt_authenticator_forgets_removed_users(
    authenticator: auth.Authenticator, tenants: dict[str, tenancy.Tenant]
) -> None:
    assert authenticator.basic("jörg", "pä:ss wörd") is not None
    rebuilt = auth.Authenticator({"demo": tenants["demo"]}, SECRET)
    assert rebuilt.basic("jörg", "pä:ss wörd") is None


def test_short_server_secret_refused(tenants: dict[str, tenancy.Tenant]) -> None:
    with pytest.raises(errors.TenancyError):
        auth.Authenticator(tenants, b"short")


# -- tokens ----------------------------------------------------------------------------------------


def test_token_round_trip(authenticator: auth.Authenticator) -> None:
    grant = authenticator.issue_token(CLIENT_ID, "demo", now=NOW)
    assert grant is not None
    wire = grant.to_wire()
    assert list(wire) == ["access_token", "token_type", "expires_in", "scope", "jti"]
    assert wire["token_type"] == "bearer"
    assert wire["expires_in"] == 3599
    assert "user.demo" in grant.scope.split(" ")
    principal = authenticator.bearer(grant.access_token, now=NOW + dt.timedelta(seconds=3598))
    # The client acts as the user it belongs to: the user's name and rights (reference 2.2).
    assert principal == tenancy.Principal(
        "demo", "demo", admin=True, how=tenancy.AuthMethod.BEARER, client=CLIENT_ID
    )


def _owned(user: tenancy.User | None, *, owner: str | None) -> dict[str, tenancy.Tenant]:
    demo = tenancy.Tenant(
        name="demo",
        time_zone="UTC",
        users=() if user is None else (user,),
        clients=(tenancy.OAuthClient(CLIENT_ID, auth.hash_secret("demo"), user=owner),),
    )
    other = tenancy.Tenant(
        name="other", time_zone="UTC", users=(tenancy.User("olga", auth.hash_secret("o"), True),)
    )
    return {"demo": demo, "other": other}


def test_a_token_acts_as_whoever_owns_the_client_now() -> None:
    alice = tenancy.User("alice", auth.hash_secret("a"), admin=False)
    bob = tenancy.User("bob", auth.hash_secret("b"), admin=True)
    before = _owned(alice, owner="alice")
    grant = auth.Authenticator(before, SECRET).issue_token(CLIENT_ID, "demo", now=NOW)
    assert grant is not None
    principal = auth.Authenticator(before, SECRET).bearer(grant.access_token, now=NOW)
    assert principal is not None and (principal.name, principal.admin) == ("alice", False)
    after = _owned(bob, owner="bob")
    principal = auth.Authenticator(after, SECRET).bearer(grant.access_token, now=NOW)
    assert principal is not None and (principal.name, principal.admin) == ("bob", True)


@pytest.mark.parametrize("owner", [None, "gone", "olga"], ids=["none", "removed", "foreign"])
def test_a_client_of_nobody_gets_no_token_and_its_tokens_stop(owner: str | None) -> None:
    alice = tenancy.User("alice", auth.hash_secret("a"), admin=True)
    grant = auth.Authenticator(_owned(alice, owner="alice"), SECRET).issue_token(
        CLIENT_ID, "demo", now=NOW
    )
    assert grant is not None
    # The owner went (the store set it to null), or names a user of no tenant or another one.
    orphaned = auth.Authenticator(_owned(None, owner=owner), SECRET)
    assert orphaned.bearer(grant.access_token, now=NOW) is None
    assert orphaned.issue_token(CLIENT_ID, "demo", now=NOW) is None


def test_tokens_survive_a_restart(
    authenticator: auth.Authenticator, tenants: dict[str, tenancy.Tenant]
) -> None:
    grant = authenticator.issue_token(CLIENT_ID, "demo", now=NOW)
    assert grant is not None
    restarted = auth.Authenticator(tenants, SECRET)
    assert restarted.bearer(grant.access_token, now=NOW) is not None
    other_secret = auth.Authenticator(tenants, b"x" * 32)
    assert other_secret.bearer(grant.access_token, now=NOW) is None


def test_each_token_is_unique(authenticator: auth.Authenticator) -> None:
    first = authenticator.issue_token(CLIENT_ID, "demo", now=NOW)
    second = authenticator.issue_token(CLIENT_ID, "demo", now=NOW)
    assert first is not None and second is not None
    assert first.jti != second.jti
    assert first.access_token != second.access_token


def test_bad_client_credentials_get_no_token(authenticator: auth.Authenticator) -> None:
    assert authenticator.issue_token(CLIENT_ID, "wrong", now=NOW) is None
    assert authenticator.issue_token("unknown", "demo", now=NOW) is None
    assert authenticator.issue_token("demo", "demo", now=NOW) is None  # a user is no client


def test_expired_token(authenticator: auth.Authenticator) -> None:
    grant = authenticator.issue_token(CLIENT_ID, "demo", now=NOW)
    assert grant is not None
    assert authenticator.bearer(grant.access_token, now=NOW + dt.timedelta(seconds=3599)) is None
    assert authenticator.bearer(grant.access_token, now=NOW + dt.timedelta(days=1)) is None


def _forge(token: str, **changes: object) -> str:
    body, _, signature = token.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature


def test_tampered_token(authenticator: auth.Authenticator) -> None:
    grant = authenticator.issue_token(CLIENT_ID, "demo", now=NOW)
    assert grant is not None
    token = grant.access_token
    body, _, signature = token.partition(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert authenticator.bearer(f"{body}.{flipped}", now=NOW) is None
    assert authenticator.bearer(_forge(token, exp=2**40), now=NOW) is None
    assert authenticator.bearer(_forge(token, tenant="acme"), now=NOW) is None
    assert authenticator.bearer(token + "!", now=NOW) is None
    assert authenticator.bearer(body, now=NOW) is None


def test_token_of_a_removed_client(
    authenticator: auth.Authenticator, tenants: dict[str, tenancy.Tenant]
) -> None:
    grant = authenticator.issue_token(CLIENT_ID, "demo", now=NOW)
    assert grant is not None
    without_clients = {
        name: tenancy.Tenant(name=t.name, time_zone=t.time_zone, users=t.users)
        for name, t in tenants.items()
    }
    assert auth.Authenticator(without_clients, SECRET).bearer(grant.access_token, now=NOW) is None


@pytest.mark.parametrize(
    "token", ["", ".", "a.b", "...", "é.é", "eyJ9.", "bnVsbA.AAAA", "\x00", "a" * 10_000]
)
def test_garbage_tokens(authenticator: auth.Authenticator, token: str) -> None:
    assert authenticator.bearer(token, now=NOW) is None


# -- Authorization header --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        _basic("demo:demo"),
        "basic " + _basic("demo:demo").split()[1],
        "BASIC    " + _basic("demo:demo").split()[1] + "  ",
        "  Basic\t" + _basic("demo:demo").split()[1],
        "Basic " + _basic("demo:demo").split()[1].rstrip("="),  # padding left out
    ],
)
def test_basic_header_variants(authenticator: auth.Authenticator, header: str) -> None:
    principal = authenticator.from_authorization(header, None, None, now=NOW)
    assert principal is not None
    assert (principal.tenant, principal.name, principal.how) == ("demo", "demo", "basic")


def test_basic_header_with_non_ascii_credentials(authenticator: auth.Authenticator) -> None:
    header = _basic("jörg:pä:ss wörd")  # the password may contain ':'
    principal = authenticator.from_authorization(header, None, None, now=NOW)
    assert principal is not None and principal.tenant == "acme"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        "Basic",
        "Basic ",
        "Basic !!!!",
        "Basic ä",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":demo").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
        "Basic " + base64.b64encode(b"demo:wrong").decode(),
        "Digest " + base64.b64encode(b"demo:demo").decode(),
        base64.b64encode(b"demo:demo").decode(),
        "Bearer",
        "Bearer garbage",
        "Bearer é",
        "Token abc",
        "\x00\x01",
    ],
)
def test_bad_authorization_headers(authenticator: auth.Authenticator, header: str) -> None:
    assert authenticator.from_authorization(header, None, None, now=NOW) is None


def test_bearer_header(authenticator: auth.Authenticator) -> None:
    grant = authenticator.issue_token(CLIENT_ID, "demo", now=NOW)
    assert grant is not None
    for scheme in ("Bearer", "bearer", "BEARER"):
        header = f"{scheme}  {grant.access_token} "
        principal = authenticator.from_authorization(header, None, None, now=NOW)
        assert principal is not None and principal.how == "bearer"


def test_api_access_key_headers(authenticator: auth.Authenticator) -> None:
    principal = authenticator.from_authorization(None, "demo", "demo", now=NOW)
    assert principal is not None and principal.how == "headers"
    assert authenticator.from_authorization(None, "demo", "wrong", now=NOW) is None
    assert authenticator.from_authorization(None, "demo", None, now=NOW) is None
    assert authenticator.from_authorization(None, None, "demo", now=NOW) is None
    assert authenticator.from_authorization("", "", "", now=NOW) is None
    assert authenticator.from_authorization(None, None, None, now=NOW) is None


def test_authorization_header_wins_and_falls_back(authenticator: auth.Authenticator) -> None:
    valid = _basic("demo:demo")
    both = authenticator.from_authorization(valid, "jörg", "pä:ss wörd", now=NOW)
    assert both is not None and both.how == "basic"
    fallback = authenticator.from_authorization("Bearer junk", "demo", "demo", now=NOW)
    assert fallback is not None and fallback.how == "headers"


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        (base64.b64encode(b"a:b").decode(), ("a", "b")),
        (base64.b64encode(b"a:").decode(), ("a", "")),
        (base64.b64encode("ü:ß".encode("latin-1")).decode(), ("ü", "ß")),
        ("", None),
        ("YQ", None),  # "a": no colon
        ("@@@@", None),
    ],
)
def test_decode_basic(credentials: str, expected: tuple[str, str] | None) -> None:
    assert auth.decode_basic(credentials) == expected


def test_basic_pair_reads_without_checking(authenticator: auth.Authenticator) -> None:
    header = "basic  " + base64.b64encode(f"{CLIENT_ID}:demo".encode()).decode()
    assert authenticator.basic_pair(header) == (CLIENT_ID, "demo")
    assert authenticator.basic_pair(None) is None
    assert authenticator.basic_pair("") is None
    assert authenticator.basic_pair("Bearer abc") is None
    assert authenticator.basic_pair("Basic ###") is None


def test_a_signature_differing_only_in_unused_base64_bits_is_refused() -> None:
    tenant = tenancy.Tenant(
        name="demo",
        time_zone="UTC",
        users=(tenancy.User("u", tenancy.hash_secret("p")),),
        clients=(tenancy.OAuthClient("cid", tenancy.hash_secret("s"), user="u"),),
    )
    authenticator = auth.Authenticator({"demo": tenant}, b"k" * 32)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    grant = authenticator.issue_token("cid", "s", now=now)
    assert grant is not None
    body, _, signature = grant.access_token.partition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 32 signature bytes leave 2 unused bits in the last character: its 3 siblings decode alike.
    last = alphabet.index(signature[-1])
    siblings = [alphabet[(last & ~3) | low] for low in range(4) if (last & ~3) | low != last]
    assert authenticator.bearer(grant.access_token, now=now) is not None
    for sibling in siblings:
        assert authenticator.bearer(f"{body}.{signature[:-1]}{sibling}", now=now) is None
