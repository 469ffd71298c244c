"""What a request fault rule matches: the API family of a path and endpoint patterns.

Part of the fault rules (``domain/faults.py``, which describes them): ``match.kind`` of a request
is :func:`kind_of` its routed path, ``match.endpoint`` an :class:`Endpoint`. Pure: no I/O.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from aquarium.domain import errors

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"})
MAX_PATTERN_CHARS = 500
_SLASHES = re.compile(r"/{2,}")


class Kind(enum.StrEnum):
    """The API family a request belongs to, by its path."""

    #: AQuA: ``/v1/batch-query``, ``/apps/api/batch-query``, result files
    AQUA = "aqua"
    #: Reporting: ``/api/rest/v1``, ``/reporting/api/rest/v1``
    REPORT = "report"
    #: Data Query: ``/query/``
    DATAQUERY = "dataquery"


_KIND_PATHS: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (re.compile(r"^/(v1|apps/api)/batch-query(/|$)"), Kind.AQUA),
    (re.compile(r"^/(v1/files?|apps/api/file)/"), Kind.AQUA),
    (re.compile(r"^/(reporting/)?api/rest/v1(/|$)"), Kind.REPORT),
    (re.compile(r"^/query(/|$)"), Kind.DATAQUERY),
)


def kind_of(path: str) -> Kind | None:
    """The API family of a routed path; ``None`` for anything else (describe, OAuth, pages)."""
    for pattern, kind in _KIND_PATHS:
        if pattern.match(path):
            return kind
    return None


def normal_path(path: str) -> str:
    """``path`` as the server routes it: repeated slashes collapsed, no trailing slash."""
    path = _SLASHES.sub("/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path


@dataclass(frozen=True)
class Endpoint:
    """A method (``*``: any) and a path pattern; :meth:`matches` a request."""

    method: str
    pattern: str
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``"GET /v1/files/*"``; InvalidControlRequest naming ``match.endpoint`` if unreadable."""
        parts = text.split()
        if len(parts) != 2 or parts[0].upper() not in METHODS or not parts[1].startswith("/"):
            raise errors.InvalidControlRequest(
                "'match.endpoint' must be a method and a path pattern, like 'GET /v1/files/*' "
                f"(got {text!r})"
            )
        method, pattern = parts[0].upper(), normal_path(parts[1])
        if len(pattern) > MAX_PATTERN_CHARS:
            raise errors.InvalidControlRequest(
                f"'match.endpoint' the path pattern is over {MAX_PATTERN_CHARS} chars"
            )
        pieces = re.split(r"(\*\*|\*)", pattern)
        wild = {"**": ".*", "*": "[^/]*"}
        regex = "".join(wild.get(piece) or re.escape(piece) for piece in pieces)
        return cls(method, pattern, re.compile(f"^{regex}$"))

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self.regex.match(path) is not None

    def __str__(self) -> str:
        return f"{self.method} {self.pattern}"
