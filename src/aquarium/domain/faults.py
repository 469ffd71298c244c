"""Fault rules of the test-control API (``--test-control``): what a rule matches, what it does.

A rule arrives as JSON (``POST /aquarium/api/v1/control/faults``, see
docs/testing-your-integration.md)::

    {"match": {"endpoint": "GET /v1/batch-query/jobs/*", "kind": "aqua"},
     "action": {"type": "http", "status": 429, "retryAfterSeconds": 2},
     "count": 3}

- ``match.endpoint``: an HTTP method (or ``*``) and a path pattern, matched against the path as
  the server routes it (repeated slashes collapsed, no trailing slash); in the pattern ``*`` is
  any text within one path segment and ``**`` any text across segments;
- ``match.kind``: ``aqua``, ``report`` or ``dataquery``, the API family of the path (or of the
  run, for a run action); a rule names an endpoint, a kind, or both;
- ``match.partner``, ``match.project`` (AQuA, run actions): the job's ``partner`` / ``project``,
  equal as written; ``match.query`` (run actions): a regular expression *searched* (Python
  ``re.search``: a plain substring is one too) in an AQuA batch's ZOQL, a Data Query job's SQL,
  or a report run's report name and data source name;
- ``action``: ``http`` answers the request itself with ``status`` 429 (Zuora's rate-limit answer),
  500 (the API family's own internal error) or 503, optional ``message`` (429 and 503) and
  ``retryAfterSeconds``; ``refuse`` (AQuA rules only: ``match.kind`` ``aqua``) answers with
  AQuA's error body, HTTP 200, ``errorCode`` and ``message`` as given (a submit refused as Zuora
  refuses it); ``disconnect`` lets the answer start and closes the connection half-way through
  its body (a result file's download); ``abort`` (AQuA jobs: ``match.kind`` ``aqua``, no
  endpoint) makes the runner fail a job's ``batch`` k (1 = the first query) with ``message``,
  through the job state machine as a failing query would (the job ``aborted``); ``fail``
  (``match.kind`` ``report`` or ``dataquery``) ends a run in ``phase`` (a report run's
  ``QUERYDATA`` or ``PROCESSINGDATA``, a Data Query job's ``in_progress``) as that API ends a
  failing run, with ``message`` (report run ``ERROR``, Data Query job ``failed``);
  ``latency`` waits ``milliseconds`` before each phase (AQuA: each batch) of a matching run;
  ``hang`` keeps a matching run in its running phase until it is cancelled or its time limit
  stops it. These four are the *run actions*: they match runs, never an endpoint, and need a
  ``match.kind``;
- exactly one of ``count`` (the next N matching requests, or runs for a run action: a run the
  rule took applies it in every later phase without counting again) and ``durationSeconds``
  (every matching request or run for that long).

:func:`parse_rule` reads such a document strictly: an unknown member, a value of the wrong type
or out of range is :class:`errors.InvalidControlRequest` naming the field. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from aquarium.domain import errors, fault_paths

HTTP_STATUSES = (429, 500, 503)
MAX_COUNT = 1_000_000
MAX_DURATION_S = 24 * 3600.0  # seconds: a day is longer than any test
MAX_RETRY_AFTER_S = 3600  # seconds
DEFAULT_RETRY_AFTER_S = 1  # seconds
MAX_MESSAGE_CHARS = 1000
MAX_PATTERN_CHARS = fault_paths.MAX_PATTERN_CHARS
MAX_BATCH = 50  # an AQuA job holds at most 50 queries (90004)
MAX_LATENCY_MS = 600_000  # milliseconds: ten minutes before a phase is more than any test needs
#: The phase names a ``fail`` rule may give, per kind (the run's status while it does that work).
FAIL_PHASES: dict[str, tuple[str, ...]] = {
    "report": ("QUERYDATA", "PROCESSINGDATA"),
    "dataquery": ("in_progress",),
}
#: What an AQuA run's steps are called (each batch is one: :attr:`Step.batch` says which).
BATCH_PHASE = "batch"
ERROR_CODE = re.compile(r"[0-9A-Z_-]{1,40}")


# The request side lives in fault_paths.py; its names stay reachable from here.
Kind = fault_paths.Kind
Endpoint = fault_paths.Endpoint
kind_of = fault_paths.kind_of
normal_path = fault_paths.normal_path


@dataclass(frozen=True)
class Match:
    """Which requests a rule applies to (the caller's tenant's only: the service scopes it)."""

    endpoint: Endpoint | None
    kind: Kind | None
    partner: str | None = None
    project: str | None = None
    #: searched in the run's texts (:attr:`Step.texts`)
    query: re.Pattern[str] | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether a request of ``method`` on the routed ``path`` is one of these."""
        if self.kind is not None and kind_of(path) is not self.kind:
            return False
        return self.endpoint is None or self.endpoint.matches(method, path)

    def matches_step(self, step: Step) -> bool:
        """Whether the run about to do ``step`` is one of these."""
        if self.kind is not None and step.kind is not self.kind:
            return False
        if self.partner is not None and step.partner != self.partner:
            return False
        if self.project is not None and step.project != self.project:
            return False
        query = self.query
        return query is None or any(query.search(text) for text in step.texts)


@dataclass(frozen=True)
class Step:
    """A run about to do one piece of its work, as a rule sees it."""

    kind: Kind
    run_id: str
    #: ``QUERYDATA`` / ``PROCESSINGDATA`` (report), ``in_progress`` (Data Query), ``batch`` (AQuA)
    phase: str
    #: the AQuA batch about to run (1 = the job's first query); None for the other kinds
    batch: int | None = None
    partner: str | None = None
    project: str | None = None
    #: what ``match.query`` is searched in: the batch's ZOQL, the job's SQL, the report's name
    #: and data source name
    texts: tuple[str, ...] = ()


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
class Fail:
    """End a matching report run or Data Query job in ``phase`` as its API ends a failing run."""

    phase: str
    message: str

    type = "fail"


@dataclass(frozen=True)
class Latency:
    """Wait ``milliseconds`` before each phase of a matching run (a cancel cuts it short)."""

    milliseconds: int

    type = "latency"


@dataclass(frozen=True)
class Hang:
    """Keep a matching run in its running phase until it is stopped (cancel, time limit)."""

    type = "hang"


@dataclass(frozen=True)
class Disconnect:
    """Start the answer, then close the connection half-way through its body."""

    type = "disconnect"


Action = HttpFault | Refuse | Disconnect | Abort | Fail | Latency | Hang
#: The actions taken on a request at the edge; the others are taken by the runner on a run.
REQUEST_ACTIONS = (HttpFault, Refuse, Disconnect)
#: The actions the runner takes on a run, before one of its steps (:func:`applies`).
RUN_ACTIONS = (Abort, Fail, Latency, Hang)


def applies(action: Action, step: Step) -> bool:
    """Whether a run action applies to ``step`` itself (its match aside): ``abort`` to its batch,
    ``fail`` to its phase, ``latency`` and ``hang`` to every step."""
    if isinstance(action, Abort):
        return step.batch == action.batch
    if isinstance(action, Fail):
        return step.phase == action.phase
    return isinstance(action, Latency | Hang)


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
    _check_run_rule(match, action)
    count, duration = rule.get("count"), rule.get("durationSeconds")
    if (count is None) == (duration is None):
        raise _invalid("count", "and durationSeconds: give exactly one of them")
    if count is not None:
        return FaultRule(match, action, count=_whole(count, "count", 1, MAX_COUNT))
    return FaultRule(match, action, duration_s=_seconds(duration))


def _check_run_rule(match: Match, action: Action) -> None:
    """Run actions match runs (a kind, never an endpoint); request actions match requests."""
    if not isinstance(action, RUN_ACTIONS):
        for name in ("partner", "project", "query"):
            if getattr(match, name) is not None:
                raise _invalid(
                    f"match.{name}", "is used only with run actions (abort, fail, latency, hang)"
                )
        return
    if match.endpoint is not None:
        raise _invalid("match.endpoint", f"is not used with '{action.type}': it matches runs")
    if match.kind is None:
        raise _invalid("match.kind", f"is required for a '{action.type}' action")
    if isinstance(action, Abort) and match.kind is not Kind.AQUA:
        raise _invalid("match.kind", "must be 'aqua' for an 'abort' action (AQuA jobs)")
    if isinstance(action, Fail):
        phases = FAIL_PHASES.get(match.kind.value)
        if phases is None:
            raise _invalid(
                "match.kind", "must be 'report' or 'dataquery' for 'fail' ('abort' fails AQuA jobs)"
            )
        if action.phase not in phases:
            raise _invalid("action.phase", f"must be one of {', '.join(phases)} for this kind")
    if (match.partner is not None or match.project is not None) and match.kind is not Kind.AQUA:
        field = "match.partner" if match.partner is not None else "match.project"
        raise _invalid(field, "is used only with 'match.kind' 'aqua' (AQuA stateful jobs)")


def document(rule: FaultRule) -> dict[str, object]:
    """The rule as its JSON document again (what :func:`parse_rule` reads)."""
    found: dict[str, object] = {
        "match": _match_document(rule.match),
        "action": _action_document(rule.action),
    }
    if rule.count is not None:
        found["count"] = rule.count
    else:
        found["durationSeconds"] = rule.duration_s
    return found


def _match_document(given: Match) -> dict[str, object]:
    match: dict[str, object] = {}
    if given.endpoint is not None:
        match["endpoint"] = str(given.endpoint)
    if given.kind is not None:
        match["kind"] = given.kind.value
    if given.partner is not None:
        match["partner"] = given.partner
    if given.project is not None:
        match["project"] = given.project
    if given.query is not None:
        match["query"] = given.query.pattern
    return match


def _action_document(given: Action) -> dict[str, object]:
    action: dict[str, object] = {"type": given.type}
    if isinstance(given, HttpFault):
        action["status"] = given.status
        action["retryAfterSeconds"] = given.retry_after_s
        if given.message is not None:
            action["message"] = given.message
    elif isinstance(given, Refuse):
        action.update(errorCode=given.error_code, message=given.message)
    elif isinstance(given, Abort):
        action.update(batch=given.batch, message=given.message)
    elif isinstance(given, Fail):
        action.update(phase=given.phase, message=given.message)
    elif isinstance(given, Latency):
        action["milliseconds"] = given.milliseconds
    return action


def _parse_match(value: object) -> Match:
    if value is None:
        raise _invalid("match", "is required")
    given = _object(value, "match", {"endpoint", "kind", "partner", "project", "query"})
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
        partner=_name(given.get("partner"), "match.partner"),
        project=_name(given.get("project"), "match.project"),
        query=_query(given.get("query")),
    )


def _name(value: object, name: str) -> str | None:
    """An optional partner or project name, compared as written."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_PATTERN_CHARS:
        raise _invalid(name, f"must be a non-empty string of at most {MAX_PATTERN_CHARS} chars")
    return value


def _query(value: object) -> re.Pattern[str] | None:
    """An optional ``match.query``: a regular expression, searched (not anchored)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_PATTERN_CHARS:
        raise _invalid(
            "match.query",
            f"must be a regular expression of 1 to {MAX_PATTERN_CHARS} chars (a substring is one)",
        )
    try:
        return re.compile(value)
    except re.error as exc:
        raise _invalid("match.query", f"is not a valid regular expression: {exc}") from None


def _parse_action(value: object) -> Action:
    if value is None:
        raise _invalid("action", "is required")
    members = {
        "type", "status", "message", "retryAfterSeconds", "errorCode", "batch", "phase",
        "milliseconds",
    }  # fmt: skip
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
    if kind in ("fail", "latency", "hang"):
        return _parse_phase_action(given)
    if kind != "http":
        raise _invalid(
            "action.type",
            "must be 'http', 'refuse', 'disconnect', 'abort', 'fail', 'latency' or 'hang'",
        )
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


def _parse_phase_action(given: Mapping[str, object]) -> Fail | Latency | Hang:
    kind = given.get("type")
    if kind == "hang":
        _only(given, "action", {"type"})
        return Hang()
    if kind == "latency":
        _only(given, "action", {"type", "milliseconds"})
        return Latency(_whole(given.get("milliseconds"), "action.milliseconds", 1, MAX_LATENCY_MS))
    _only(given, "action", {"type", "phase", "message"})
    phase = given.get("phase")
    known = sorted({name for names in FAIL_PHASES.values() for name in names})
    if not isinstance(phase, str) or phase not in known:
        raise _invalid("action.phase", f"must be one of {', '.join(known)}")
    return Fail(phase, _message(given.get("message")))


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
