"""engines/memory_gate.py: statements go in together while their columns fit the capacity, a
wider one runs alone, waiting is first come first served, a stop reaches a waiting statement and
no wait is endless.

Judged by the order things happen in, staged with events; never by how long they take.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from aquarium.domain import errors
from aquarium.engines import memory_gate

WAIT_S = 10.0  # generous: only a broken gate makes a test wait this long
CAPACITY = 100


def never() -> bool:
    return False


class Statement:
    """A statement of ``columns`` columns in a thread: admitted, then held until finished."""

    def __init__(
        self,
        gate: memory_gate.MemoryGate,
        log: list[str],
        name: str,
        columns: int,
        stopped: Callable[[], bool] = never,
    ) -> None:
        self.admitted = threading.Event()
        self._finish = threading.Event()
        self.error: BaseException | None = None

        def run() -> None:
            try:
                with gate.admit(columns, stopped=stopped):
                    log.append(f"{name} in")
                    self.admitted.set()
                    assert self._finish.wait(WAIT_S)
                    log.append(f"{name} out")
            except BaseException as exc:
                self.error = exc
                self.admitted.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self._finish.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive()


def queued(gate: memory_gate.MemoryGate, count: int) -> None:
    """Return once ``count`` statements wait at ``gate``."""
    for _ in range(int(WAIT_S / memory_gate.POLL_S)):
        if gate.waiting == count:
            return
        threading.Event().wait(memory_gate.POLL_S)
    raise AssertionError(f"{gate.waiting} statements wait, not {count}")


def test_statements_that_fit_run_together() -> None:
    gate, log = memory_gate.MemoryGate(CAPACITY), []
    statements = [Statement(gate, log, name, 30) for name in "abc"]
    for statement in statements:
        assert statement.admitted.wait(WAIT_S)
    for statement in statements:
        statement.finish()
    assert sorted(log[:3]) == ["a in", "b in", "c in"]


def test_one_that_does_not_fit_waits_and_those_after_it_wait_behind_it() -> None:
    gate, log = memory_gate.MemoryGate(CAPACITY), []
    running = Statement(gate, log, "running", 60)
    assert running.admitted.wait(WAIT_S)
    big = Statement(gate, log, "big", 60)
    queued(gate, 1)
    small = Statement(gate, log, "small", 1)  # would fit, but comes after big
    queued(gate, 2)
    running.finish()
    assert big.admitted.wait(WAIT_S) and small.admitted.wait(WAIT_S)
    big.finish()
    small.finish()
    assert log[:4] == ["running in", "running out", "big in", "small in"]


def test_a_statement_wider_than_the_capacity_runs_alone() -> None:
    gate, log = memory_gate.MemoryGate(CAPACITY), []
    before = Statement(gate, log, "before", 1)
    assert before.admitted.wait(WAIT_S)
    hog = Statement(gate, log, "hog", 2_000)
    queued(gate, 1)
    after = Statement(gate, log, "after", 1)
    queued(gate, 2)
    before.finish()
    assert hog.admitted.wait(WAIT_S)
    assert not after.admitted.is_set()
    hog.finish()
    assert after.admitted.wait(WAIT_S)
    after.finish()
    assert log == ["before in", "before out", "hog in", "hog out", "after in", "after out"]


def test_a_stop_reaches_a_waiting_statement_and_the_queue_moves_on() -> None:
    gate, log = memory_gate.MemoryGate(CAPACITY), []
    running = Statement(gate, log, "running", CAPACITY)
    assert running.admitted.wait(WAIT_S)
    stop = threading.Event()
    stopped = Statement(gate, log, "stopped", 10, stopped=stop.is_set)
    queued(gate, 1)
    stop.set()
    gate.wake()
    assert stopped.admitted.wait(WAIT_S)
    assert isinstance(stopped.error, errors.QueryInterrupted)
    stopped.thread.join(WAIT_S)
    running.finish()
    again = Statement(gate, log, "again", 10)
    assert again.admitted.wait(WAIT_S)
    again.finish()
    assert "stopped in" not in log and gate.waiting == 0


def test_the_head_of_the_queue_waits_only_so_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory_gate, "HEAD_WAIT_S", 0.0)
    gate, log = memory_gate.MemoryGate(CAPACITY), []
    long_running = Statement(gate, log, "long", CAPACITY)
    assert long_running.admitted.wait(WAIT_S)
    next_one = Statement(gate, log, "next", CAPACITY)
    assert next_one.admitted.wait(WAIT_S)
    next_one.finish()
    long_running.finish()
    assert log[:3] == ["long in", "next in", "next out"]


@pytest.mark.parametrize(
    ("written", "columns"),
    [("152.5 MiB", 305), ("160MB", 305), ("61.0 MiB", 122), ("1.5 GiB", 3072), ("100 KiB", 1)],
)
def test_the_capacity_of_a_budget(written: str, columns: int) -> None:
    assert memory_gate.capacity_of(written) == columns


def test_a_budget_that_is_no_size_is_refused() -> None:
    with pytest.raises(ValueError, match="not a memory size"):
        memory_gate.capacity_of("lots")


class Limits:
    """DuckDB's memory limit as a fake: what was set, in order; a lower one fails while
    ``held_mb`` (memory the running statements hold) does not fit in it."""

    def __init__(self) -> None:
        self.set: list[str] = []
        self.held_mb = 0

    def apply(self, limit: str) -> bool:
        if memory_gate.bytes_of(limit) < self.held_mb * 10**6:
            return False
        self.set.append(limit)
        return True


SCAN, WORKING, BUILDING = memory_gate.Need.SCAN, memory_gate.Need.WORKING, memory_gate.Need.BUILDING


def budgeted(building: str = "") -> tuple[memory_gate.MemoryGate, Limits]:
    limits = Limits()
    budget = memory_gate.Budget(limits.apply, scan="200MB", working="384MB", building=building)
    return memory_gate.MemoryGate(CAPACITY, budget), limits


def test_a_lookup_leaves_the_limit_as_it_is() -> None:
    gate, limits = budgeted(building="2GB")
    with gate.admit(10, stopped=never, need=None):
        assert limits.set == []
    assert limits.set == []


def test_the_working_size_stays_in_force_while_nothing_runs() -> None:
    gate, limits = budgeted()
    first = gate.admit(10, stopped=never, need=WORKING)
    second = gate.admit(10, stopped=never, need=WORKING)
    with first, second:
        assert limits.set == []  # in force already
    assert limits.set == []


def test_the_scan_size_is_in_force_while_only_paced_scans_run() -> None:
    gate, limits = budgeted(building="2GB")
    with gate.admit(10, stopped=never, need=SCAN):
        assert limits.set == ["200MB"]
        with gate.admit(10, stopped=never, need=SCAN):
            assert limits.set == ["200MB"]  # lowered once for both
    assert limits.set == ["200MB", "384MB"]  # back to the working size: the cache serves


def test_without_a_building_size_a_statement_that_builds_gets_the_working_one() -> None:
    gate, limits = budgeted()
    with gate.admit(10, stopped=never, need=SCAN):
        with gate.admit(10, stopped=never, need=BUILDING):
            assert limits.set == ["200MB", "384MB"]
        assert limits.set == ["200MB", "384MB", "200MB"]


def test_the_largest_size_held_is_in_force_and_the_limit_steps_down_as_they_end() -> None:
    gate, limits = budgeted(building="2GB")
    paced = gate.admit(10, stopped=never, need=SCAN)
    working = gate.admit(10, stopped=never, need=WORKING)
    building = gate.admit(10, stopped=never, need=BUILDING)
    with paced:
        assert limits.set == ["200MB"]
        with working:
            assert limits.set == ["200MB", "384MB"]
            with building:
                assert limits.set == ["200MB", "384MB", "2GB"]
                with gate.admit(10, stopped=never, need=WORKING):
                    assert limits.set == ["200MB", "384MB", "2GB"]  # never under a builder
            assert limits.set == ["200MB", "384MB", "2GB", "384MB"]  # the plain one still runs
        assert limits.set == ["200MB", "384MB", "2GB", "384MB", "200MB"]  # the paced one runs
    assert limits.set == ["200MB", "384MB", "2GB", "384MB", "200MB", "384MB"]


def test_a_builder_alone_raises_straight_to_its_size_and_falls_back_to_the_working_one() -> None:
    gate, limits = budgeted(building="2GB")
    with gate.admit(10, stopped=never, need=BUILDING):
        assert limits.set == ["2GB"]
        with gate.admit(10, stopped=never, need=None):  # a lookup beside it
            assert limits.set == ["2GB"]
    assert limits.set == ["2GB", "384MB"]


def test_a_bulk_write_holds_the_working_budget_without_room() -> None:
    gate, limits = budgeted(building="2GB")
    with gate.admit(1, stopped=never, need=SCAN):
        with gate.holding():
            assert limits.set == ["200MB", "384MB"]
            with gate.admit(CAPACITY - 1, stopped=never, need=None):  # its room is all there
                pass
        assert limits.set == ["200MB", "384MB", "200MB"]


def test_a_lower_limit_that_cannot_be_set_steps_up_and_is_set_when_the_next_one_comes() -> None:
    gate, limits = budgeted(building="2GB")
    with gate.admit(10, stopped=never, need=SCAN), gate.admit(10, stopped=never, need=BUILDING):
        limits.held_mb = 300  # the paced scan holds more than the scan size, for a moment
    assert limits.set == ["200MB", "2GB", "384MB"]  # the next size up that could be set
    limits.held_mb = 0
    with gate.admit(10, stopped=never, need=SCAN):
        assert limits.set == ["200MB", "2GB", "384MB", "200MB"]


def test_a_limit_that_cannot_be_lowered_at_all_stays_until_it_can() -> None:
    gate, limits = budgeted(building="2GB")
    with gate.admit(10, stopped=never, need=BUILDING):
        limits.held_mb = 500
    assert limits.set == ["2GB"]
    limits.held_mb = 0
    with gate.admit(10, stopped=never, need=None):
        assert limits.set == ["2GB"]  # a lookup changes nothing
    with gate.admit(10, stopped=never, need=WORKING):
        assert limits.set == ["2GB", "384MB"]


class SlowLimits(Limits):
    """Limits whose lowering waits for ``go`` (DuckDB evicting blocks), in whichever thread."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.lowering = threading.Event()
        self.lowering_in: list[str] = []

    def apply(self, limit: str) -> bool:
        if self.set and memory_gate.bytes_of(limit) < memory_gate.bytes_of(self.set[-1]):
            self.lowering_in.append(threading.current_thread().name)
            self.lowering.set()
            assert self.go.wait(WAIT_S)
        return super().apply(limit)


def lowering_later() -> tuple[memory_gate.MemoryGate, SlowLimits]:
    limits = SlowLimits()
    budget = memory_gate.Budget(
        limits.apply, scan="200MB", working="384MB", building="2GB", lower_later=True
    )
    return memory_gate.MemoryGate(CAPACITY, budget), limits


def test_an_ended_builder_leaves_the_lowering_to_the_budgets_thread() -> None:
    gate, limits = lowering_later()
    try:
        with gate.admit(10, stopped=never, need=BUILDING):
            assert limits.set == ["2GB"]
        # Back here with the lowering begun elsewhere and not done: nothing waited for it.
        assert limits.lowering.wait(WAIT_S)
        assert limits.set == ["2GB"]
        limits.go.set()
        assert gate.rested(timeout=WAIT_S)
        assert limits.set == ["2GB", "384MB"]
        assert limits.lowering_in == ["aquarium-memory-limit"]
    finally:
        gate.close()


def test_once_closed_the_ending_statement_lowers_the_limit_itself() -> None:
    gate, limits = lowering_later()
    limits.go.set()
    gate.close()  # no thread any more: nothing is handed over
    with gate.admit(10, stopped=never, need=BUILDING):
        pass
    assert limits.set == ["2GB", "384MB"]  # closed: lowered on the ending statement's thread
    assert gate.rested(timeout=0)


def test_the_next_statement_finds_the_size_it_needs_whatever_the_thread_did() -> None:
    gate, limits = lowering_later()
    limits.go.set()
    try:
        for _ in range(20):  # the thread and the next statement race for the lowering
            with gate.admit(10, stopped=never, need=BUILDING):
                assert limits.set[-1] == "2GB"
            with gate.admit(10, stopped=never, need=SCAN):
                assert limits.set[-1] == "200MB"
        assert gate.rested(timeout=WAIT_S)
        assert limits.set[-1] == "384MB"
    finally:
        gate.close()


def test_a_gate_without_a_budget_changes_no_limit() -> None:
    gate = memory_gate.MemoryGate(CAPACITY)
    with gate.holding(), gate.admit(10, stopped=never, need=BUILDING):
        assert gate.budget is None


@pytest.mark.parametrize(
    ("written", "size"),
    [("200MB", 200 * 10**6), ("366.2 MiB", int(366.2 * 2**20)), ("1GiB", 2**30), ("2 gb", 2e9)],
)
def test_the_bytes_of_a_size(written: str, size: float) -> None:
    assert memory_gate.bytes_of(written) == int(size)
