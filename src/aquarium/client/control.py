"""The test-control API of a server started with ``--test-control`` (``Client.control``).

Fault rules, the requests the server saw and the tenant's clock, for the caller's tenant (its
administrators only); docs/testing-your-integration.md describes them. Results are the server's
JSON documents::

    with Client(url, Credentials.basic("demo", "demo")) as aquarium:
        aquarium.control.requests.clear()
        rule = aquarium.control.faults.http(429, endpoint="GET /v1/batch-query/jobs/*", count=2)
        ...  # run the integration under test
        assert aquarium.control.faults.list()[0]["fired"] == 2
        sent = [seen["path"] for seen in aquarium.control.requests.list()]
        aquarium.control.clock.advance(days=4)  # files expire, sessions go stale

On a server without the switch every call raises :class:`~aquarium.client.errors.NotFound`
saying so.
"""

from __future__ import annotations

import builtins
import urllib.parse
from collections.abc import Mapping
from typing import Any

from aquarium.client import errors, session

PREFIX = "/aquarium/api/v1/control"
SWITCHED_OFF = "this server has no test control (start it with --test-control)"

Document = dict[str, Any]


class Control:
    """``faults``, ``requests``, ``clock`` and ``snapshots`` of the test-control API."""

    def __init__(self, http: session.Session) -> None:
        self.faults = Faults(http)
        self.requests = Requests(http)
        self.clock = Clock(http)
        self.snapshots = Snapshots(http)

    def clear(self) -> None:
        """A fresh start for the tenant: no rules, no firings, no requests seen."""
        self.faults.clear()
        self.requests.clear()


def _call(http: session.Session, method: str, path: str, **kwargs: Any) -> Any:
    try:
        return http.call(method, PREFIX + path, **kwargs)
    except errors.NotFound as exc:
        # An unknown fault id or snapshot is a 404 too; anything else is the API's absence.
        if exc.message.lower().startswith(("no fault rule", "no snapshot", "no billing data")):
            raise
        raise errors.NotFound(SWITCHED_OFF) from None


def _quoted(name: str) -> str:
    """``name`` as one path segment (the server judges it: a bad name is a 400, not a path)."""
    return urllib.parse.quote(name, safe="") or "%20"


def _list(document: Any, member: str) -> list[Document]:
    found = document.get(member) if isinstance(document, dict) else None
    if not isinstance(found, list):
        raise errors.ClientError(f"unexpected answer from the test-control API: no {member!r}")
    return found


class Faults:
    """Fault rules: add, list, remove; the firing log."""

    def __init__(self, http: session.Session) -> None:
        self._http = http

    def add(self, rule: Mapping[str, Any]) -> Document:
        """Arm ``rule`` (its JSON document); the rule as listed, with its ``id``."""
        added: Document = _call(self._http, "POST", "/faults", json=dict(rule))
        return added

    def http(
        self,
        status: int,
        *,
        endpoint: str | None = None,
        kind: str | None = None,
        count: int | None = None,
        duration_s: float | None = None,
        message: str | None = None,
        retry_after_s: int | None = None,
    ) -> Document:
        """Answer matching requests with ``status`` (429, 500 or 503); ``count=1`` unless a
        duration is given."""
        action: Document = {"type": "http", "status": status}
        if message is not None:
            action["message"] = message
        if retry_after_s is not None:
            action["retryAfterSeconds"] = retry_after_s
        return self.add(
            rule(action, endpoint=endpoint, kind=kind, count=count, duration_s=duration_s)
        )

    def refuse(
        self,
        error_code: str,
        message: str,
        *,
        endpoint: str | None = "POST /v1/batch-query",
        count: int | None = None,
        duration_s: float | None = None,
    ) -> Document:
        """Refuse matching AQuA requests (a submit, by default) with Zuora's ``error_code``."""
        action = {"type": "refuse", "errorCode": error_code, "message": message}
        return self.add(
            rule(action, endpoint=endpoint, kind="aqua", count=count, duration_s=duration_s)
        )

    def disconnect(
        self,
        *,
        endpoint: str | None = "GET /v1/file*/*",
        kind: str | None = None,
        count: int | None = None,
        duration_s: float | None = None,
    ) -> Document:
        """Close the connection half-way through matching answers (a result file, by default)."""
        action = {"type": "disconnect"}
        return self.add(
            rule(action, endpoint=endpoint, kind=kind, count=count, duration_s=duration_s)
        )

    def abort_batch(
        self,
        batch: int,
        message: str,
        *,
        count: int | None = None,
        duration_s: float | None = None,
        **runs: str | None,
    ) -> Document:
        """Fail batch ``batch`` (1 = the first query) of the next AQuA jobs with ``message``
        (the job ends ``aborted``; embedded servers, whose runner is in the server process).
        ``runs``: ``partner``, ``project``, ``query`` narrow the jobs (:func:`rule`)."""
        action = {"type": "abort", "batch": batch, "message": message}
        return self.add(rule(action, kind="aqua", count=count, duration_s=duration_s, **runs))

    def fail(
        self,
        kind: str,
        phase: str,
        message: str,
        *,
        count: int | None = None,
        duration_s: float | None = None,
        query: str | None = None,
    ) -> Document:
        """End the next runs of ``kind`` (``report`` or ``dataquery``) in ``phase`` with
        ``message``, as their API ends a failing run: a report run in ``QUERYDATA`` or
        ``PROCESSINGDATA`` ends ``ERROR``, a Data Query job in ``in_progress`` ends ``failed``."""
        action = {"type": "fail", "phase": phase, "message": message}
        return self.add(rule(action, kind=kind, count=count, duration_s=duration_s, query=query))

    def latency(
        self,
        milliseconds: int,
        kind: str,
        *,
        count: int | None = None,
        duration_s: float | None = None,
        **runs: str | None,
    ) -> Document:
        """Wait ``milliseconds`` before each phase (an AQuA job: each batch) of the next runs of
        ``kind``; a cancel ends the wait at once. ``runs``: ``partner``, ``project``, ``query``."""
        action = {"type": "latency", "milliseconds": milliseconds}
        return self.add(rule(action, kind=kind, count=count, duration_s=duration_s, **runs))

    def hang(
        self,
        kind: str,
        *,
        count: int | None = None,
        duration_s: float | None = None,
        **runs: str | None,
    ) -> Document:
        """Keep the next runs of ``kind`` in their running phase until they are cancelled
        (DELETE) or their time limit stops them. ``runs``: ``partner``, ``project``, ``query``."""
        return self.add(
            rule({"type": "hang"}, kind=kind, count=count, duration_s=duration_s, **runs)
        )

    def list(self) -> list[Document]:
        """Every rule of the tenant, used-up ones included: ``fired``, ``remaining``,
        ``active``."""
        return _list(_call(self._http, "GET", "/faults"), "faults")

    def remove(self, rule_id: str) -> None:
        """Remove one rule; :class:`~aquarium.client.errors.NotFound` for an unknown id."""
        _call(self._http, "DELETE", "/faults/" + rule_id)

    def clear(self) -> None:
        """Remove every rule of the tenant, and the firing log."""
        _call(self._http, "DELETE", "/faults")

    def log(self) -> builtins.list[Document]:
        """Every firing: ``at``, ``ruleId``, ``action``, and the request's ``method``, ``path``,
        ``query`` or the run's ``jobId``, ``phase`` and (AQuA) ``batch``."""
        return _list(_call(self._http, "GET", "/faults/log"), "firings")


class Snapshots:
    """Named snapshots of the tenant's billing data, runs and files (the ``reset`` of
    docs/testing-your-integration.md)::

        aquarium.control.snapshots.save("clean")
        ...  # a test changes data, runs jobs
        aquarium.control.snapshots.restore("clean")  # as saved, in well under a second
    """

    def __init__(self, http: session.Session) -> None:
        self._http = http

    def save(self, name: str) -> Document:
        """Save the tenant as ``name`` (replacing a snapshot of that name); its listing entry:
        ``name``, ``created``, ``rows``, ``runRows``, ``files``, ``bytes``."""
        saved: Document = _call(self._http, "POST", "/snapshots", json={"name": name})
        return saved

    def list(self) -> list[Document]:
        """The tenant's snapshots, oldest first."""
        return _list(_call(self._http, "GET", "/snapshots"), "snapshots")

    def restore(self, name: str) -> Document:
        """Put the tenant back as saved in ``name``; :class:`~aquarium.client.errors.NotFound`
        for an unknown name, a 409 error while runs of the tenant wait or execute."""
        restored: Document = _call(self._http, "POST", f"/snapshots/{_quoted(name)}/restore")
        return restored

    def remove(self, name: str) -> None:
        """Remove a snapshot; :class:`~aquarium.client.errors.NotFound` for an unknown name."""
        _call(self._http, "DELETE", f"/snapshots/{_quoted(name)}")


class Requests:
    """The requests the server saw from the tenant (the control API's own excepted)."""

    def __init__(self, http: session.Session) -> None:
        self._http = http

    def list(self, limit: int = 100) -> list[Document]:
        """The last ``limit`` requests, oldest first: ``method``, ``path``, ``query``,
        ``status``, ``bodySha256``, ``bodyBytes``, ``startedAt``, ``durationMs``, ``faultId``."""
        answer = _call(self._http, "GET", "/requests", params={"limit": limit})
        return _list(answer, "requests")

    def clear(self) -> None:
        _call(self._http, "DELETE", "/requests")


class Clock:
    """The tenant's clock: every call answers where it stands afterwards: ``tenant``, ``now``,
    ``frozen``, ``offsetSeconds``, ``serverNow``."""

    def __init__(self, http: session.Session) -> None:
        self._http = http

    def show(self) -> Document:
        return self.move(None)

    def freeze(self, at: str | None = None) -> Document:
        """Stop it where it stands, or at ``at`` (ISO-8601 with an offset)."""
        return self.move({"action": "freeze", **({"at": at} if at is not None else {})})

    def set(self, at: str, *, frozen: bool = False) -> Document:
        """Put it at ``at`` (backwards too), running on unless ``frozen``."""
        return self.move({"action": "set", "at": at, "frozen": frozen})

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> Document:
        """Move it forwards; what expired meanwhile (files, sessions) is swept at once."""
        by = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
        return self.move({"action": "advance", "by": {k: v for k, v in by.items() if v}})

    def reset(self) -> Document:
        """Back to real time."""
        return self.move({"action": "reset"})

    def move(self, body: Mapping[str, Any] | None) -> Document:
        """Send ``body`` as it is (``{"action": ..., "at"|"by": ...}``; None: only look)."""
        found = (
            _call(self._http, "GET", "/clock")
            if body is None
            else _call(self._http, "POST", "/clock", json=dict(body))
        )
        if not isinstance(found, dict):
            raise errors.ClientError("unexpected answer from the test-control API: no clock")
        return found


def rule(
    action: Mapping[str, Any],
    *,
    endpoint: str | None = None,
    kind: str | None = None,
    count: int | None = None,
    duration_s: float | None = None,
    partner: str | None = None,
    project: str | None = None,
    query: str | None = None,
) -> Document:
    """A rule's JSON document; ``count`` 1 unless ``duration_s`` is given. ``partner`` and
    ``project`` (AQuA) and ``query`` (a regular expression searched in the run's ZOQL, SQL or
    report name and data source) narrow the runs a run action applies to."""
    match: Document = {}
    if endpoint is not None:
        match["endpoint"] = endpoint
    if kind is not None:
        match["kind"] = kind
    for name, value in (("partner", partner), ("project", project), ("query", query)):
        if value is not None:
            match[name] = value
    found: Document = {"match": match, "action": dict(action)}
    if duration_s is not None:
        found["durationSeconds"] = duration_s
    if count is not None or duration_s is None:
        found["count"] = 1 if count is None else count
    return found
