"""Signed result links (services/data_file_links.py): what they open, and when they stop."""

from __future__ import annotations

import datetime as dt
import urllib.parse

from aquarium.services import data_file_links

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
LINKS = data_file_links.DataFileLinks(b"server secret", lifetime_s=600)
FILE = "a" * 32


def _parts(url: str) -> tuple[str, str, str, str]:
    split = urllib.parse.urlsplit(url)
    params = dict(urllib.parse.parse_qsl(split.query))
    _, _, _, tenant, file_id, _ = split.path.split("/")
    return tenant, file_id, params["expires"], params["signature"]


def test_a_link_opens_its_file_until_it_expires() -> None:
    url = LINKS.url("https://aq.example/", "demo", FILE, "job.csv", NOW)
    assert url.startswith("https://aq.example/query/results/demo/" + FILE + "/job.csv?")
    tenant, file_id, expires, signature = _parts(url)
    assert LINKS.problem(tenant, file_id, expires, signature, NOW) is None
    later = NOW + dt.timedelta(seconds=599)
    assert LINKS.problem(tenant, file_id, expires, signature, later) is None
    expired = LINKS.problem(tenant, file_id, expires, signature, NOW + dt.timedelta(seconds=600))
    assert expired is not None and "expired" in expired


def test_a_link_opens_nothing_else() -> None:
    tenant, file_id, expires, signature = _parts(LINKS.url("http://x/", "demo", FILE, "j", NOW))
    assert LINKS.problem("other", file_id, expires, signature, NOW) is not None
    assert LINKS.problem(tenant, "b" * 32, expires, signature, NOW) is not None
    assert LINKS.problem(tenant, file_id, str(int(expires) + 1), signature, NOW) is not None
    assert LINKS.problem(tenant, file_id, expires, signature.upper(), NOW) is not None
    for bad in (None, "", "12x", "9" * 40):
        assert LINKS.problem(tenant, file_id, bad, signature, NOW) is not None
    assert LINKS.problem(tenant, file_id, expires, None, NOW) is not None
    assert LINKS.problem(tenant, file_id, expires, "é", NOW) is not None


def test_another_secret_signs_differently() -> None:
    other = data_file_links.DataFileLinks(b"another secret", lifetime_s=600)
    parts = _parts(LINKS.url("http://x/", "demo", FILE, "j", NOW))
    assert other.problem(*parts, NOW) is not None
