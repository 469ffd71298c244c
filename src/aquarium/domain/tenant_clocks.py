"""Movable clocks, one per tenant, for testing integrations (``--test-control``).

A tenant's clock is the server's clock moved by an offset, or stopped at a frozen instant::

    clocks = TenantClocks(SystemClock())
    clocks.advance("acme", dt.timedelta(days=4))   # acme's "now" is four days ahead
    clock_for(clocks, "acme").now()                # what acme's jobs, files and queries see
    clock_for(SystemClock(), "acme")               # test control off: the server's clock itself

Every place that knows the tenant it works for asks :func:`clock_for`; with test control off the
server's clock is a plain ``SystemClock`` and :func:`clock_for` hands it back unchanged. A tenant
nobody moved runs on the server's clock. The state lives in the server's memory: a restart
resets every tenant to real time, and in scale-out each process would have its own (use the
embedded server for tests that move time).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aquarium.domain import clock as clock_port

NO_OFFSET = dt.timedelta(0)


class ClockMoveError(ValueError):
    """A move the clock refuses (backwards by ``advance``, a naive instant); the text says why."""


@dataclass(frozen=True)
class TenantTime:
    """Where one tenant's clock stands relative to the server's."""

    #: added to the server's now while the clock runs
    offset: dt.timedelta = NO_OFFSET
    #: the instant the clock is stopped at; None: it runs
    frozen_at: dt.datetime | None = None

    def now(self, base_now: dt.datetime) -> dt.datetime:
        """The tenant's now when the server's is ``base_now``."""
        return self.frozen_at if self.frozen_at is not None else base_now + self.offset

    def freeze(self, base_now: dt.datetime, at: dt.datetime | None = None) -> TenantTime:
        """Stopped at ``at`` (default: where it stands now)."""
        return TenantTime(self.offset, _aware(at) if at is not None else self.now(base_now))

    def set(self, base_now: dt.datetime, at: dt.datetime, *, frozen: bool) -> TenantTime:
        """At ``at`` (forwards or backwards), stopped there or running on from there."""
        at = _aware(at)
        return TenantTime(self.offset, at) if frozen else TenantTime(at - base_now, None)

    def advance(self, by: dt.timedelta) -> TenantTime:
        """Moved forwards by ``by`` (a frozen clock stays frozen, at the later instant)."""
        if by < NO_OFFSET:
            raise ClockMoveError("a clock only advances forwards; use set to go back")
        if self.frozen_at is not None:
            return TenantTime(self.offset, self.frozen_at + by)
        return TenantTime(self.offset + by, None)


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ClockMoveError("an instant needs a time zone offset (e.g. 2026-12-07T10:00:00Z)")
    return at.astimezone(dt.UTC)


#: a move of one tenant's clock, given where it stands and the server's now
Move = Callable[[TenantTime, dt.datetime], TenantTime]
#: told of a tenant's clock advanced by a duration
AdvanceListener = Callable[[str, dt.timedelta], None]


class TenantClock:
    """One tenant's view of :class:`TenantClocks`: a ``Clock``."""

    def __init__(self, clocks: TenantClocks, tenant: str) -> None:
        self.clocks = clocks
        self.tenant = tenant

    def now(self) -> dt.datetime:
        return self.clocks.now_of(self.tenant)


class TenantClocks:
    """The server's clock (``now``) and every tenant's moved one (:meth:`of`); thread-safe."""

    def __init__(self, base: clock_port.Clock) -> None:
        self.base = base
        self._times: dict[str, TenantTime] = {}
        self._lock = threading.Lock()
        self._advance_listeners: list[AdvanceListener] = []

    def now(self) -> dt.datetime:
        """The server's own now (heartbeats, sign-ins: what no tenant owns)."""
        return self.base.now()

    def of(self, tenant: str) -> TenantClock:
        return TenantClock(self, tenant)

    def now_of(self, tenant: str) -> dt.datetime:
        return self.time_of(tenant).now(self.base.now())

    def time_of(self, tenant: str) -> TenantTime:
        """Where ``tenant``'s clock stands (no offset, running, for a tenant never moved)."""
        with self._lock:
            return self._times.get(tenant, TenantTime())

    def freeze(self, tenant: str, at: dt.datetime | None = None) -> TenantTime:
        return self._move(tenant, lambda time, base_now: time.freeze(base_now, at))

    def set(self, tenant: str, at: dt.datetime, *, frozen: bool) -> TenantTime:
        return self._move(tenant, lambda time, base_now: time.set(base_now, at, frozen=frozen))

    def advance(self, tenant: str, by: dt.timedelta) -> TenantTime:
        """Forwards by ``by``; then every advance listener hears of it."""
        moved = self._move(tenant, lambda time, _: time.advance(by))
        for listener in list(self._advance_listeners):
            listener(tenant, by)
        return moved

    def on_advance(self, listener: AdvanceListener) -> None:
        """Call ``listener(tenant, by)`` after each advance (the runner hastens time limits)."""
        self._advance_listeners.append(listener)

    def moved(self) -> tuple[str, ...]:
        """The tenants whose clock is not the server's."""
        with self._lock:
            return tuple(self._times)

    def reset(self, tenant: str) -> TenantTime:
        """Back to the server's clock."""
        with self._lock:
            self._times.pop(tenant, None)
        return TenantTime()

    def _move(self, tenant: str, move: Move) -> TenantTime:
        with self._lock:
            moved = move(self._times.get(tenant, TenantTime()), self.base.now())
            self._times[tenant] = moved
            return moved


def clock_for(clock: clock_port.Clock, tenant: str) -> clock_port.Clock:
    """The clock ``tenant`` sees: its own when ``clock`` is the per-tenant :class:`TenantClocks`
    (test control on), else ``clock`` itself."""
    return clock.of(tenant) if isinstance(clock, TenantClocks) else clock


def moved_tenants(clock: clock_port.Clock) -> tuple[str, ...]:
    """The tenants whose clock ``clock`` has moved (none for a plain clock)."""
    return clock.moved() if isinstance(clock, TenantClocks) else ()


def on_advance(clock: clock_port.Clock, listener: AdvanceListener) -> None:
    """``listener(tenant, by)`` after each advance of a tenant's clock (never for a plain
    clock, whose tenants' time is not moved)."""
    if isinstance(clock, TenantClocks):
        clock.on_advance(listener)
