"""The test-control API's state (``--test-control``): fault rules, their firings, requests seen.

Built only when the server is started with ``--test-control`` (``AQUARIUM_TEST_CONTROL=1``);
without it nothing of this exists in the process (``server.py``). The state lives in the memory
of the server process: a restart forgets it, and each API node of a scale-out deployment has its
own (a test speaks to one node).

Everything is per tenant, the tenant of the administrator who calls the control API
(:meth:`ControlService.admin_tenant`): a rule of tenant A never fires for tenant B's requests, and
A sees only its own requests and firings. Per tenant at most :data:`REQUESTS_KEPT` requests and
:data:`FIRINGS_KEPT` firings are kept, the oldest dropped first.

Thread-safe: the recording middleware calls it on the event loop, the routes from threads.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aquarium.domain import errors, tenancy, tenancy_errors
from aquarium.domain import faults as fault_rules  # (ControlService.faults lists the rules)

REQUESTS_KEPT = 1000  # per tenant
FIRINGS_KEPT = 1000  # per tenant
DEFAULT_REQUESTS_LIMIT = 100
RULES_KEPT = 1000  # per tenant: a test that adds more has lost track of its rules


@dataclass(frozen=True)
class SeenRequest:
    """One request of a tenant as the server saw it (control requests are not recorded)."""

    method: str
    path: str
    query: str
    status: int
    body_sha256: str
    body_bytes: int
    started_at: dt.datetime
    duration_ms: float
    #: the fault rule that fired on it, if one did
    fault_id: str | None = None

    def document(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "bodySha256": self.body_sha256,
            "bodyBytes": self.body_bytes,
            "startedAt": _iso(self.started_at),
            "durationMs": round(self.duration_ms, 3),
            "faultId": self.fault_id,
        }


@dataclass(frozen=True)
class Firing:
    """A rule fired on a request: what the edge must do."""

    rule_id: str
    action: fault_rules.Action


@dataclass
class _Armed:
    """A rule of a tenant with its counters; kept (inactive) once used up, for the listing."""

    id: str
    rule: fault_rules.FaultRule
    created_at: dt.datetime
    until: dt.datetime | None
    remaining: int | None
    fired: int = 0
    #: the runs a counted run rule took (it applies to their later steps without counting)
    runs: set[str] = field(default_factory=set)

    def active(self, now: dt.datetime) -> bool:
        if self.remaining is not None:
            return self.remaining > 0
        return self.until is not None and now < self.until

    def takes(self, now: dt.datetime, run_id: str | None) -> bool:
        """Whether the rule fires now (for a step of run ``run_id``), counting it if it does."""
        if run_id is not None and run_id in self.runs:
            return True
        if not self.active(now):
            return False
        if self.remaining is not None:
            self.remaining -= 1
            if run_id is not None:
                self.runs.add(run_id)
        return True

    def document(self, now: dt.datetime) -> dict[str, object]:
        return {
            "id": self.id,
            **fault_rules.document(self.rule),
            "createdAt": _iso(self.created_at),
            "fired": self.fired,
            "remaining": self.remaining,
            "until": _iso(self.until) if self.until is not None else None,
            "active": self.active(now),
        }


@dataclass
class _Tenant:
    rules: list[_Armed] = field(default_factory=list)
    firings: collections.deque[dict[str, object]] = field(
        default_factory=lambda: collections.deque(maxlen=FIRINGS_KEPT)
    )
    requests: collections.deque[SeenRequest] = field(
        default_factory=lambda: collections.deque(maxlen=REQUESTS_KEPT)
    )


class ControlService:
    """Fault rules, firing log and requests seen, per tenant (see the module docstring)."""

    def __init__(self, now: Callable[[], dt.datetime]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._tenants: dict[str, _Tenant] = collections.defaultdict(_Tenant)
        self._ids = itertools.count(1)

    @staticmethod
    def admin_tenant(caller: tenancy.Principal) -> str:
        """The caller's tenant; :class:`tenancy_errors.AdminRequired` unless the caller is one
        of its administrators."""
        if not caller.admin:
            raise tenancy_errors.AdminRequired("the test-control API is for administrators")
        return caller.tenant

    # -- faults --------------------------------------------------------------------------------
    def add_fault(self, tenant: str, document: object) -> dict[str, object]:
        """Arm the rule ``document`` (``domain/faults.py``) for ``tenant``; its listing entry."""
        rule = fault_rules.parse_rule(document)
        now = self._now()
        until = None
        if rule.duration_s is not None:
            until = now + dt.timedelta(seconds=rule.duration_s)
        with self._lock:
            rules = self._tenants[tenant].rules
            if len(rules) >= RULES_KEPT:
                raise errors.InvalidControlRequest(
                    f"the tenant has {RULES_KEPT} fault rules already: remove some first"
                )
            armed = _Armed(f"f{next(self._ids)}", rule, now, until, rule.count)
            rules.append(armed)
            return armed.document(now)

    def faults(self, tenant: str) -> list[dict[str, object]]:
        """The tenant's rules in the order they were added, used-up ones included."""
        now = self._now()
        with self._lock:
            return [armed.document(now) for armed in self._tenants[tenant].rules]

    def remove_fault(self, tenant: str, rule_id: str) -> None:
        """Remove one rule; :class:`errors.NotFound` when the tenant has none of that id."""
        with self._lock:
            rules = self._tenants[tenant].rules
            kept = [armed for armed in rules if armed.id != rule_id]
            if len(kept) == len(rules):
                raise errors.NotFound(f"no fault rule {rule_id!r}")
            rules[:] = kept

    def remove_faults(self, tenant: str) -> None:
        """Remove every rule of the tenant and its firing log: a fresh start (removing one rule
        keeps the log)."""
        with self._lock:
            self._tenants[tenant].rules.clear()
            self._tenants[tenant].firings.clear()

    def firings(self, tenant: str) -> list[dict[str, object]]:
        """The tenant's firings, oldest first."""
        with self._lock:
            return list(self._tenants[tenant].firings)

    def fire(self, tenant: str, method: str, path: str, query: str) -> Firing | None:
        """The first active request rule of ``tenant`` matching the request, counted and logged
        as fired; ``None`` when none matches (the request is handled as usual)."""

        def matches(action: fault_rules.Action, match: fault_rules.Match) -> bool:
            return isinstance(action, fault_rules.REQUEST_ACTIONS) and match.matches(method, path)

        where = {
            "method": method, "path": path, "query": query, "jobId": None, "batch": None,
            "phase": None,
        }  # fmt: skip
        return self._fire(tenant, matches, where)

    def run_fault(self, tenant: str, step: fault_rules.Step) -> fault_rules.Action | None:
        """The action of the first active run rule of ``tenant`` matching the run about to do
        ``step`` (:func:`fault_rules.applies`), logged as fired; ``None``: do it as usual.

        The runner asks before each step: each AQuA batch, each report run phase, a Data Query
        job's statement (``runner/injected_faults.py``)."""

        def matches(action: fault_rules.Action, match: fault_rules.Match) -> bool:
            return (
                isinstance(action, fault_rules.RUN_ACTIONS)
                and fault_rules.applies(action, step)
                and match.matches_step(step)
            )

        where = {
            "method": None, "path": None, "query": None, "jobId": step.run_id,
            "batch": step.batch, "phase": step.phase,
        }  # fmt: skip
        firing = self._fire(tenant, matches, where, run_id=step.run_id)
        return None if firing is None else firing.action

    def _fire(
        self,
        tenant: str,
        matches: Callable[[fault_rules.Action, fault_rules.Match], bool],
        where: Mapping[str, object],
        *,
        run_id: str | None = None,
    ) -> Firing | None:
        if tenant not in self._tenants:
            return None
        now = self._now()
        with self._lock:
            state = self._tenants[tenant]
            for armed in state.rules:
                if matches(armed.rule.action, armed.rule.match) and armed.takes(now, run_id):
                    armed.fired += 1
                    action = armed.rule.action.type
                    entry = {"at": _iso(now), "ruleId": armed.id, "action": action, **where}
                    state.firings.append(entry)
                    return Firing(armed.id, armed.rule.action)
        return None

    # -- requests seen ---------------------------------------------------------------------------
    def record(self, tenant: str, seen: SeenRequest) -> None:
        with self._lock:
            self._tenants[tenant].requests.append(seen)

    def requests(self, tenant: str, limit: int = DEFAULT_REQUESTS_LIMIT) -> list[dict[str, object]]:
        """The tenant's last ``limit`` requests, oldest first; InvalidControlRequest for a
        ``limit`` outside 1..:data:`REQUESTS_KEPT`."""
        if not 1 <= limit <= REQUESTS_KEPT:
            raise errors.InvalidControlRequest(
                f"limit must be a whole number from 1 to {REQUESTS_KEPT}"
            )
        with self._lock:
            kept = list(self._tenants[tenant].requests)
        return [seen.document() for seen in kept[-limit:]]

    def clear_requests(self, tenant: str) -> None:
        with self._lock:
            self._tenants[tenant].requests.clear()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
