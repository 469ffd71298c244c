"""Test control's movable clock per tenant: the moves, who sees them, and how requests are read
(fakes only: a FakeClock under the tenants' clocks, a recorded sweep)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from aquarium.domain import clock as clock_port
from aquarium.domain import errors, runs, tenancy, tenancy_errors, tenant_clocks
from aquarium.runner import running, watchdog
from aquarium.services import clock_control
from aquarium.testing import FakeClock

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
ADMIN = tenancy.Principal("acme", "root", True, tenancy.AuthMethod.BASIC)
USER = tenancy.Principal("acme", "clerk", False, tenancy.AuthMethod.BASIC)


def _clocks() -> tuple[FakeClock, tenant_clocks.TenantClocks]:
    base = FakeClock(T0)
    return base, tenant_clocks.TenantClocks(base)


# -- the clock --------------------------------------------------------------------------------


def test_a_tenant_nobody_moved_runs_on_the_servers_clock() -> None:
    base, clocks = _clocks()
    assert clocks.of("acme").now() == T0
    base.advance(seconds=5)
    assert clocks.of("acme").now() == T0 + dt.timedelta(seconds=5)
    assert clocks.moved() == ()


def test_advance_moves_one_tenant_and_keeps_it_running() -> None:
    base, clocks = _clocks()
    clocks.advance("acme", 4 * DAY)
    assert clocks.of("acme").now() == T0 + 4 * DAY
    assert clocks.of("other").now() == T0
    assert clocks.now() == T0  # the server's own now stays real
    base.advance(seconds=10)
    assert clocks.of("acme").now() == T0 + 4 * DAY + dt.timedelta(seconds=10)
    assert clocks.moved() == ("acme",)


def test_a_frozen_clock_stands_still_and_advances_only_when_told() -> None:
    base, clocks = _clocks()
    clocks.freeze("acme")
    base.advance(hours=3)
    assert clocks.of("acme").now() == T0
    clocks.advance("acme", DAY)
    base.advance(hours=3)
    assert clocks.of("acme").now() == T0 + DAY
    assert clocks.time_of("acme").frozen_at == T0 + DAY


def test_freeze_at_an_instant_and_set_running_from_one() -> None:
    base, clocks = _clocks()
    at = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    clocks.freeze("acme", at)
    assert clocks.of("acme").now() == at
    clocks.set("acme", at, frozen=False)
    base.advance(seconds=30)
    assert clocks.of("acme").now() == at + dt.timedelta(seconds=30)
    assert clocks.time_of("acme").frozen_at is None


def test_set_may_go_back_but_advance_may_not() -> None:
    _, clocks = _clocks()
    past = T0 - 365 * DAY
    clocks.set("acme", past, frozen=True)
    assert clocks.of("acme").now() == past
    with pytest.raises(tenant_clocks.ClockMoveError, match="forwards"):
        clocks.advance("acme", -DAY)
    assert clocks.of("acme").now() == past


def test_an_instant_without_an_offset_is_refused() -> None:
    _, clocks = _clocks()
    with pytest.raises(tenant_clocks.ClockMoveError, match="time zone"):
        clocks.set("acme", dt.datetime(2030, 1, 1), frozen=True)


def test_reset_returns_to_real_time() -> None:
    _, clocks = _clocks()
    clocks.advance("acme", 4 * DAY)
    clocks.freeze("acme")
    clocks.reset("acme")
    assert clocks.of("acme").now() == T0
    assert clocks.moved() == ()


def test_clock_for_a_plain_clock_is_that_clock() -> None:
    plain = FakeClock(T0)
    assert tenant_clocks.clock_for(plain, "acme") is plain
    assert tenant_clocks.moved_tenants(plain) == ()
    system = clock_port.SystemClock()
    assert tenant_clocks.clock_for(system, "acme") is system


def test_clock_for_test_control_clocks_is_the_tenants() -> None:
    _, clocks = _clocks()
    clocks.advance("acme", DAY)
    assert tenant_clocks.clock_for(clocks, "acme").now() == T0 + DAY
    assert tenant_clocks.moved_tenants(clocks) == ("acme",)


def test_advance_listeners_hear_each_advance_and_nothing_else() -> None:
    _, clocks = _clocks()
    heard: list[tuple[str, dt.timedelta]] = []
    tenant_clocks.on_advance(clocks, lambda tenant, by: heard.append((tenant, by)))
    clocks.freeze("acme")
    clocks.set("acme", T0 + DAY, frozen=False)
    clocks.advance("acme", 2 * DAY)
    assert heard == [("acme", 2 * DAY)]
    tenant_clocks.on_advance(FakeClock(), lambda tenant, by: heard.append((tenant, by)))


# -- time limits --------------------------------------------------------------------------------


def test_an_advance_past_a_runs_time_limit_stops_it_at_the_next_look() -> None:
    run = running.RunningRun("r" * 32, "acme", runs.Kind.AQUA)
    run.limit(3600)
    dog = watchdog.Watchdog(lambda: [run])
    dog.look(time.monotonic(), time.perf_counter())
    assert run.reason is None
    run.hasten((4 * DAY).total_seconds())
    dog.look(time.monotonic(), time.perf_counter())
    assert run.reason is runs.StopReason.TIME_LIMIT


def test_hasten_leaves_a_run_without_a_limit_alone() -> None:
    run = running.RunningRun("r" * 32, "acme", runs.Kind.AQUA)
    run.hasten(10.0)
    assert run.deadline is None


# -- the control requests ------------------------------------------------------------------------


def _control() -> tuple[FakeClock, clock_control.ClockControl, list[str]]:
    base, clocks = _clocks()
    swept: list[str] = []
    return base, clock_control.ClockControl(clocks, swept.append), swept


def test_advance_sweeps_the_tenant_and_answers_where_the_clock_stands() -> None:
    _, control, swept = _control()
    answer = control.move("acme", {"action": "advance", "by": {"days": 4, "hours": 1.5}})
    assert swept == ["acme"]
    assert answer == {
        "tenant": "acme",
        "now": "2026-11-05T13:30:00Z",
        "frozen": False,
        "offsetSeconds": 4 * 86400 + 5400.0,
        "serverNow": "2026-11-01T12:00:00Z",
    }


def test_freeze_set_and_reset_through_requests() -> None:
    base, control, swept = _control()
    assert control.move("acme", {"action": "freeze"})["frozen"] is True
    base.advance(seconds=60)
    assert control.document("acme")["now"] == "2026-11-01T12:00:00Z"
    answer = control.move("acme", {"action": "set", "at": "2027-01-01T00:00:00+01:00"})
    assert answer["now"] == "2026-12-31T23:00:00Z" and answer["frozen"] is False
    answer = control.move("acme", {"action": "set", "at": "2027-01-01T00:00:00Z", "frozen": True})
    assert answer["frozen"] is True
    assert swept == ["acme", "acme"]  # after each set
    answer = control.move("acme", {"action": "reset"})
    assert answer["now"] == "2026-11-01T12:01:00Z" and answer["offsetSeconds"] == 0
    assert swept == ["acme", "acme"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([], "the body must be a JSON object"),
        ({}, "'action' must be one of"),
        ({"action": "rewind"}, "'action' must be one of"),
        ({"action": "reset", "by": {"days": 1}}, "reset takes no 'by'"),
        ({"action": "advance"}, "'by' must be an object"),
        ({"action": "advance", "by": {}}, "'by' must be an object"),
        ({"action": "advance", "by": {"weeks": 1}}, "'by' takes no 'weeks'"),
        ({"action": "advance", "by": {"days": -1}}, "'by.days' must be a number"),
        ({"action": "advance", "by": {"days": "4"}}, "'by.days' must be a number"),
        ({"action": "advance", "by": {"days": True}}, "'by.days' must be a number"),
        ({"action": "advance", "by": {"days": 10**9}}, "'by.days' is beyond"),
        ({"action": "set"}, "'at' is required"),
        ({"action": "set", "at": "tomorrow"}, "'at' is not an ISO-8601"),
        ({"action": "set", "at": 1700000000}, "'at' must be"),
        ({"action": "set", "at": "2027-01-01T00:00:00"}, "'at' needs a time zone"),
        ({"action": "set", "at": "2027-01-01T00:00:00Z", "frozen": "yes"}, "'frozen' must"),
        ({"action": "freeze", "at": "2027-13-01T00:00:00Z"}, "'at' is not an ISO-8601"),
    ],
)
def test_bad_requests_name_the_member(body: Any, named: str) -> None:
    _, control, swept = _control()
    with pytest.raises(errors.InvalidParameters) as refused:
        control.move("acme", body)
    assert refused.value.reason.startswith(named), refused.value.reason
    assert control.document("acme")["offsetSeconds"] == 0
    assert swept == []


def test_only_administrators_move_the_clock() -> None:
    assert clock_control.ClockControl.admin_tenant(ADMIN) == "acme"
    with pytest.raises(tenancy_errors.AdminRequired):
        clock_control.ClockControl.admin_tenant(USER)
