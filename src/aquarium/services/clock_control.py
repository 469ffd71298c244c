"""Test control's clock: show, freeze, set, advance or reset the clock of the caller's tenant.

Only on a server started with ``--test-control`` (``AQUARIUM_TEST_CONTROL=1``), for the
tenant's administrators. The clock itself is ``domain/tenant_clocks.py``; this module reads the
requests (``POST /aquarium/api/v1/control/clock``), and after an advance or a set runs the
tenant's retention sweep at once, so what would have expired meanwhile is gone when the answer
comes.

A request::

    {"action": "freeze"}                                   # stop the clock where it stands
    {"action": "freeze", "at": "2026-12-01T00:00:00Z"}     # stop it at an instant
    {"action": "set", "at": "2026-12-01T00:00:00Z"}        # run on from an instant
    {"action": "set", "at": "...", "frozen": true}         # stop it at an instant
    {"action": "advance", "by": {"days": 4, "hours": 2}}   # forwards (a frozen clock too)
    {"action": "reset"}                                    # back to real time
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aquarium.domain import errors, tenancy, tenancy_errors, tenant_clocks

ACTIONS = ("freeze", "set", "advance", "reset")
#: the members of ``by``, each a number ≥ 0 of that unit
DURATION_UNITS = ("days", "hours", "minutes", "seconds")
#: which members each action takes besides ``action``
MEMBERS: dict[str, frozenset[str]] = {
    "freeze": frozenset({"at"}),
    "set": frozenset({"at", "frozen"}),
    "advance": frozenset({"by"}),
    "reset": frozenset(),
}
MAX_ADVANCE = dt.timedelta(days=3650)  # one advance; further is surely a typing slip


@dataclass
class ClockControl:
    clocks: tenant_clocks.TenantClocks
    #: the tenant's retention sweep, run after an advance (services/retention_sweep.py)
    sweep_tenant: Callable[[str], None]

    @staticmethod
    def admin_tenant(caller: tenancy.Principal) -> str:
        """The caller's tenant; :class:`tenancy_errors.AdminRequired` unless an administrator."""
        if not caller.admin:
            raise tenancy_errors.AdminRequired("the clock is for administrators")
        return caller.tenant

    def document(self, tenant: str) -> dict[str, Any]:
        """Where the tenant's clock stands: ``now``, ``frozen``, ``offsetSeconds`` (from the
        server's clock; 0 for a frozen one that was never offset)."""
        time = self.clocks.time_of(tenant)
        base_now = self.clocks.now()
        now = time.now(base_now)
        return {
            "tenant": tenant,
            "now": _iso(now),
            "frozen": time.frozen_at is not None,
            "offsetSeconds": (now - base_now).total_seconds(),
            "serverNow": _iso(base_now),
        }

    def move(self, tenant: str, payload: object) -> dict[str, Any]:
        """Apply the request ``payload``; the clock's document afterwards. Bad input raises
        :class:`errors.InvalidParameters` naming the member."""
        action, members = _request(payload)
        try:
            if action == "freeze":
                at = members.get("at")
                self.clocks.freeze(tenant, _instant(at) if at is not None else None)
            elif action == "set":
                if "at" not in members:
                    raise errors.InvalidParameters("'at' is required for set")
                frozen = members.get("frozen", False)
                if not isinstance(frozen, bool):
                    raise errors.InvalidParameters("'frozen' must be true or false")
                self.clocks.set(tenant, _instant(members["at"]), frozen=frozen)
                self.sweep_tenant(tenant)  # a set forwards skips time as an advance does
            elif action == "advance":
                self.clocks.advance(tenant, _duration(members.get("by")))
                self.sweep_tenant(tenant)
            else:
                self.clocks.reset(tenant)
        except tenant_clocks.ClockMoveError as exc:
            raise errors.InvalidParameters(str(exc)) from exc
        return self.document(tenant)


def _request(payload: object) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(payload, dict):
        raise errors.InvalidParameters("the body must be a JSON object")
    action = payload.get("action")
    if action not in ACTIONS:
        raise errors.InvalidParameters(f"'action' must be one of {', '.join(ACTIONS)}")
    unknown = sorted(set(payload) - {"action"} - MEMBERS[action])
    if unknown:
        raise errors.InvalidParameters(
            f"{action} takes no {', '.join(repr(name) for name in unknown)}"
        )
    return action, payload


def _instant(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise errors.InvalidParameters("'at' must be an ISO-8601 instant with an offset")
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise errors.InvalidParameters(f"'at' is not an ISO-8601 instant: {value!r}") from None
    if at.tzinfo is None:
        raise errors.InvalidParameters("'at' needs a time zone offset (e.g. Z or +01:00)")
    return at


def _duration(value: object) -> dt.timedelta:
    if not isinstance(value, dict) or not value:
        raise errors.InvalidParameters("'by' must be an object of days, hours, minutes, seconds")
    unknown = sorted(set(value) - set(DURATION_UNITS))
    if unknown:
        raise errors.InvalidParameters(f"'by' takes no {', '.join(repr(name) for name in unknown)}")
    total = dt.timedelta(0)
    for unit, amount in value.items():
        valid = isinstance(amount, int | float) and not isinstance(amount, bool)
        if not valid or not math.isfinite(amount) or amount < 0:
            raise errors.InvalidParameters(f"'by.{unit}' must be a number of {unit}, 0 or more")
        if amount * _SECONDS[unit] > MAX_ADVANCE.total_seconds():
            raise errors.InvalidParameters(
                f"'by.{unit}' is beyond one advance's {MAX_ADVANCE.days} days"
            )
        total += dt.timedelta(seconds=amount * _SECONDS[unit])
    if total > MAX_ADVANCE:
        raise errors.InvalidParameters(f"'by' is beyond one advance's {MAX_ADVANCE.days} days")
    return total


_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
