"""Fault rules of the test-control API (``--test-control``): what a rule matches, what it does.

A rule arrives as JSON (``POST /aquarium/api/v1/control/faults``, see
docs/testing-your-integration.md)::

    {"match": {"endpoint": "GET /v1/batch-query/jobs/*", "kind": "aqua"},
     "action": {"type": "http", "status": 429, "retryAfterSeconds": 2},
     "count": 3}

- ``match.endpoint``: an HTTP method (or ``*``) and a path pattern, matched against the path as
  the server routes it (repeated slashes collapsed, no trailing slash); in the pattern ``*`` is
  any text within one path segment and ``**`` any text across segments;
- ``match.kind``: ``aqua``, ``report`` or ``dataquery``, the API family of the path; a rule names
  an endpoint, a kind, or both;
- ``action``: ``http`` answers the request itself with ``status`` 429 (Zuora's rate-limit answer),
  500 (the API family's own internal error) or 503, optional ``message`` (429 and 503) and
  ``retryAfterSeconds``; ``refuse`` (AQuA rules only: ``match.kind`` ``aqua``) answers with
  AQuA's error body, HTTP 200, ``errorCode`` and ``message`` as given (a submit refused as Zuora
  refuses it); ``disconnect`` lets the answer start and closes the connection half-way through
  its body (a result file's download); ``abort`` (AQuA jobs: ``match.kind`` ``aqua``, no
  endpoint) makes the runner fail a job's ``batch`` k (1 = the first query) with ``message``,
  through the job state machine as a failing query would (the job ``aborted``);
- exactly one of ``count`` (the next N matching requests, or jobs for ``abort``) and
  ``durationSeconds`` (every matching request or job for that long).

:func:`parse_rule` reads such a document strictly: an unknown member, a value of the wrong type
or out of range is :class:`errors.InvalidControlRequest` naming the field. Pure: no I/O, no clock.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from aquarium.domain import errors

HTTP_STATUSES = (429, 500, 503)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"})
MAX_COUNT = 1_000_000
MAX_DURATION_S = 24 * 3600.0  # seconds: a day is longer than any test
MAX_RETRY_AFTER_S = 3600  # seconds
DEFAULT_RETRY_AFTER_S = 1  # seconds
MAX_MESSAGE_CHARS = 1000
MAX_PATTERN_CHARS = 500
MAX_BATCH = 50  # an AQuA job holds at most 50 queries (90004)
ERROR_CODE = re.compile(r"[0-9A-Z_-]{1,40}")
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
            raise _invalid(
                "match.endpoint",
                f"must be a method and a path pattern, like 'GET /v1/files/*' (got {text!r})",
            )
        method, pattern = parts[0].upper(), normal_path(parts[1])
        if len(pattern) > MAX_PATTERN_CHARS:
            raise _invalid("match.endpoint", f"the path pattern is over {MAX_PATTERN_CHARS} chars")
        pieces = re.split(r"(\*\*|\*)", pattern)
        wild = {"**": ".*", "*": "[^/]*"}
        regex = "".join(wild.get(piece) or re.escape(piece) for piece in pieces)
        return cls(method, pattern, re.compile(f"^{regex}$"))

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self.regex.match(path) is not None

    def __str__(self) -> str:
        return f"{self.method} {self.pattern}"


@dataclass(frozen=True)
class Match:
    """Which requests a rule applies to (the caller's tenant's only: the service scopes it)."""

    endpoint: Endpoint | None
    kind: Kind | None

    def matches(self, method: str, path: str) -> bool:
        """Whether a request of ``method`` on the routed ``path`` is one of these."""
        if self.kind is not None and kind_of(path) is not self.kind:
            return False
        return self.endpoint is None or self.endpoint.matches(method, path)


@dataclass(frozen=True)
class HttpFault:
    """Answer the request with ``status`` instead of handling it."""

    status: int
    message: str | None = None
    retry_after_s: int = DEFAULT_RETRY_AFTER_S

    type = "http"


@dataclass(frozen=True)
class Refuse:
    """Answer with AQuA's error body: HTTP 200, ``error_code`` and ``message``."""

    error_code: str
    message: str

    type = "refuse"


@dataclass(frozen=True)
class Abort:
    """Fail batch ``batch`` (1-based) of a matching AQuA job with ``message``."""

    batch: int
    message: str

    type = "abort"


@dataclass(frozen=True)
class Disconnect:
    """Start the answer, then close the connection half-way through its body."""

    type = "disconnect"


Action = HttpFault | Refuse | Disconnect | Abort
#: The actions taken on a request at the edge; the others are taken by the runner on a job.
REQUEST_ACTIONS = (HttpFault, Refuse, Disconnect)


@dataclass(frozen=True)
class FaultRule:
    """A rule as read: ``count`` or ``duration_s`` (exactly one is set)."""

    match: Match
    action: Action
    count: int | None = None
    duration_s: float | None = None


def parse_rule(document: object) -> FaultRule:
    """A fault rule from its JSON document; InvalidControlRequest naming the field otherwise."""
    rule = _object(document, "the rule", {"match", "action", "count", "durationSeconds"})
    match = _parse_match(rule.get("match"))
    action = _parse_action(rule.get("action"))
    if isinstance(action, Refuse) and match.kind is not Kind.AQUA:
        raise _invalid("match.kind", "must be 'aqua' for a 'refuse' action (AQuA's error body)")
    if isinstance(action, Abort):
        if match.kind is not Kind.AQUA:
            raise _invalid("match.kind", "must be 'aqua' for an 'abort' action (AQuA jobs)")
        if match.endpoint is not None:
            raise _invalid("match.endpoint", "is not used with 'abort': it matches jobs")
    count, duration = rule.get("count"), rule.get("durationSeconds")
    if (count is None) == (duration is None):
        raise _invalid("count", "and durationSeconds: give exactly one of them")
    if count is not None:
        return FaultRule(match, action, count=_whole(count, "count", 1, MAX_COUNT))
    return FaultRule(match, action, duration_s=_seconds(duration))


def document(rule: FaultRule) -> dict[str, object]:
    """The rule as its JSON document again (what :func:`parse_rule` reads)."""
    match: dict[str, object] = {}
    if rule.match.endpoint is not None:
        match["endpoint"] = str(rule.match.endpoint)
    if rule.match.kind is not None:
        match["kind"] = rule.match.kind.value
    action: dict[str, object] = {"type": rule.action.type}
    if isinstance(rule.action, HttpFault):
        action["status"] = rule.action.status
        action["retryAfterSeconds"] = rule.action.retry_after_s
        if rule.action.message is not None:
            action["message"] = rule.action.message
    elif isinstance(rule.action, Refuse):
        action["errorCode"] = rule.action.error_code
        action["message"] = rule.action.message
    elif isinstance(rule.action, Abort):
        action["batch"] = rule.action.batch
        action["message"] = rule.action.message
    found: dict[str, object] = {"match": match, "action": action}
    if rule.count is not None:
        found["count"] = rule.count
    else:
        found["durationSeconds"] = rule.duration_s
    return found


def _parse_match(value: object) -> Match:
    if value is None:
        raise _invalid("match", "is required")
    given = _object(value, "match", {"endpoint", "kind"})
    endpoint, kind = given.get("endpoint"), given.get("kind")
    if endpoint is None and kind is None:
        raise _invalid("match", "name an endpoint, a kind, or both")
    if endpoint is not None and not isinstance(endpoint, str):
        raise _invalid("match.endpoint", "must be a string like 'GET /v1/files/*'")
    if kind is not None and kind not in {k.value for k in Kind}:
        raise _invalid("match.kind", f"must be one of {', '.join(k.value for k in Kind)}")
    return Match(
        Endpoint.parse(endpoint) if endpoint is not None else None,
        Kind(kind) if kind is not None else None,
    )


def _parse_action(value: object) -> Action:
    if value is None:
        raise _invalid("action", "is required")
    members = {"type", "status", "message", "retryAfterSeconds", "errorCode", "batch"}
    given = _object(value, "action", members)
    kind = given.get("type")
    if kind == "disconnect":
        _only(given, "action", {"type"})
        return Disconnect()
    if kind == "refuse":
        return _parse_refuse(given)
    if kind == "abort":
        _only(given, "action", {"type", "batch", "message"})
        batch = _whole(given.get("batch"), "action.batch", 1, MAX_BATCH)
        return Abort(batch, _message(given.get("message")))
    if kind != "http":
        raise _invalid("action.type", "must be 'http', 'refuse', 'disconnect' or 'abort'")
    _only(given, "action", {"type", "status", "message", "retryAfterSeconds"})
    status = given.get("status")
    if status not in HTTP_STATUSES or isinstance(status, bool):
        raise _invalid("action.status", f"must be one of {', '.join(map(str, HTTP_STATUSES))}")
    message = given.get("message")
    if message is not None and status == 500:
        raise _invalid(
            "action.message", "is not used with status 500 (the API's own internal error answers)"
        )
    if message is not None and (not isinstance(message, str) or not message.strip()):
        raise _invalid("action.message", "must be a non-empty string")
    if message is not None and len(message) > MAX_MESSAGE_CHARS:
        raise _invalid("action.message", f"must be at most {MAX_MESSAGE_CHARS} characters")
    retry = given.get("retryAfterSeconds", DEFAULT_RETRY_AFTER_S)
    retry_s = _whole(retry, "action.retryAfterSeconds", 0, MAX_RETRY_AFTER_S)
    return HttpFault(int(status), message, retry_s)


def _parse_refuse(given: Mapping[str, object]) -> Refuse:
    _only(given, "action", {"type", "errorCode", "message"})
    code, message = given.get("errorCode"), given.get("message")
    if not isinstance(code, str) or not ERROR_CODE.fullmatch(code):
        raise _invalid("action.errorCode", "must be a Zuora error code like '90028'")
    return Refuse(code, _message(message))


def _message(message: object) -> str:
    """A required ``action.message``."""
    if not isinstance(message, str) or not message.strip() or len(message) > MAX_MESSAGE_CHARS:
        raise _invalid(
            "action.message", f"must be a non-empty string of at most {MAX_MESSAGE_CHARS} chars"
        )
    return message


def _object(value: object, name: str, allowed: set[str]) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _invalid(name, "must be a JSON object")
    _only(value, name, allowed)
    return value


def _only(value: Mapping[str, object], name: str, allowed: set[str]) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        prefix = "" if name == "the rule" else f"{name}."
        raise _invalid(
            prefix + unknown[0], f"is not a member here; known: {', '.join(sorted(allowed))}"
        )


def _whole(value: object, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _invalid(name, f"must be a whole number from {low} to {high:,}")
    return value


def _seconds(value: object) -> float:
    name = "durationSeconds"
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _invalid(name, "must be a number of seconds")
    if not 0 < value <= MAX_DURATION_S:
        raise _invalid(name, f"must be more than 0 and at most {MAX_DURATION_S:,.0f}")
    return float(value)


def _invalid(field: str, why: str) -> errors.InvalidControlRequest:
    named = field if field == "the rule" else f"'{field}'"
    return errors.InvalidControlRequest(f"{named} {why}")
