"""Signed, expiring links to Data Query result files (the ``dataFile`` of a completed job).

Zuora's ``dataFile`` is a pre-signed object-store URL that works without credentials (reference
dataquery.md section 7). Aquarium serves the file itself at
``/query/results/{tenant}/{file_id}/{name}?expires=<unix seconds>&signature=<hex>``: the signature
is an HMAC-SHA256, under a key derived from the server's secret, of the tenant, the file id and
the expiry, so a link cannot be altered to reach another file or live longer. Each GET of a job
mints a fresh link (decision 12.1, docs/data-query.md); the file itself lives as long as the
tenant's ``file_retention_s``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import urllib.parse
from dataclasses import dataclass

#: What the link's key is for, so it never equals a key derived for something else.
_CONTEXT = b"aquarium data query result link v1"
PREFIX = "/query/results"
#: Default lifetime of a link: as long as Zuora's pre-signed result URLs are commonly kept.
DEFAULT_LIFETIME_S = 3600


@dataclass(frozen=True)
class DataFileLinks:
    """Makes and checks result links under ``secret`` (the server's, from its data dir)."""

    secret: bytes
    lifetime_s: int = DEFAULT_LIFETIME_S

    def _key(self) -> bytes:
        return hmac.new(self.secret, _CONTEXT, hashlib.sha256).digest()

    def _signature(self, tenant: str, file_id: str, expires: int) -> str:
        message = f"{tenant}\n{file_id}\n{expires}".encode()
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, tenant: str, file_id: str, name: str, now: dt.datetime) -> str:
        """An absolute link to the file, valid ``lifetime_s`` from ``now``."""
        expires = int(now.timestamp()) + self.lifetime_s
        query = urllib.parse.urlencode(
            {"expires": expires, "signature": self._signature(tenant, file_id, expires)}
        )
        path = "/".join(urllib.parse.quote(part, safe="") for part in (tenant, file_id, name))
        return f"{base_url.rstrip('/')}{PREFIX}/{path}?{query}"

    def problem(
        self,
        tenant: str,
        file_id: str,
        expires: str | None,
        signature: str | None,
        now: dt.datetime,
    ) -> str | None:
        """Why a link does not open its file (a sentence), or None when it does."""
        if not expires or not signature or not expires.isdecimal() or len(expires) > 12:
            return "This link to a query result is incomplete: ask the job for a new dataFile."
        expected = self._signature(tenant, file_id, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace")):
            return "This link to a query result is not valid: ask the job for a new dataFile."
        if int(expires) <= now.timestamp():
            return "This link to a query result has expired: ask the job for a new dataFile."
        return None
