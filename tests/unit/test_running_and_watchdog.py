"""A run's stop reason is set once and read everywhere; the watchdog enforces deadlines and
repeats interrupts until the run's thread lets go (fakes only: no engine, no store)."""

from __future__ import annotations

import threading
import time

from aquarium.domain import runs
from aquarium.runner import running, watchdog

Reason = runs.StopReason


class CountingSnapshot:
    def __init__(self) -> None:
        self.interrupts = 0

    def interrupt(self) -> None:
        self.interrupts += 1


def _run() -> tuple[running.RunningRun, CountingSnapshot]:
    run = running.RunningRun("r" * 32, "acme", runs.Kind.AQUA)
    snapshot = CountingSnapshot()
    run.attach(snapshot)
    return run, snapshot


def test_the_first_reason_wins_and_every_stop_interrupts() -> None:
    run, snapshot = _run()
    assert run.reason is None
    assert run.stop(Reason.CANCEL)
    assert not run.stop(Reason.TIME_LIMIT)
    assert not run.stop(Reason.SHUTDOWN)
    assert run.reason is Reason.CANCEL
    assert snapshot.interrupts == 3


def _race(run: running.RunningRun) -> list[Reason]:
    """Every reason stops ``run`` at once, from its own thread; the reasons that won."""
    barrier = threading.Barrier(len(Reason))
    won: list[Reason] = []

    def stop(reason: Reason) -> None:
        barrier.wait()
        if run.stop(reason):
            won.append(reason)

    threads = [threading.Thread(target=stop, args=(reason,)) for reason in Reason]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_racing_stops_agree_on_one_reason() -> None:
    for _ in range(50):
        run, _ = _run()
        assert _race(run) == [run.reason]


def test_a_stop_decided_earlier_is_dated_from_the_decision() -> None:
    run, _ = _run()
    before = time.perf_counter()
    run.stop(Reason.CANCEL, decided_s_ago=0.2)
    assert run.stopped_at is not None and run.stopped_at <= before - 0.19


def test_an_engine_that_fails_to_interrupt_is_not_an_error() -> None:
    class Broken:
        def interrupt(self) -> None:
            raise RuntimeError("connection closed")

    run = running.RunningRun("r" * 32, "acme", runs.Kind.REPORT, snapshot=Broken())
    assert run.stop(Reason.SHUTDOWN)


def test_the_watchdog_stops_a_run_past_its_deadline() -> None:
    run, snapshot = _run()
    dog = watchdog.Watchdog(lambda: [run])
    run.limit(10.0)
    assert run.deadline is not None
    dog.look(run.deadline - 0.001, time.perf_counter())
    assert run.reason is None and snapshot.interrupts == 0
    dog.look(run.deadline, time.perf_counter())
    assert run.reason is Reason.TIME_LIMIT and snapshot.interrupts == 1
    run.limit(None)
    assert run.deadline is None


def test_the_watchdog_repeats_interrupts_until_the_thread_lets_go() -> None:
    run, snapshot = _run()
    dog = watchdog.Watchdog(lambda: [run])
    run.stop(Reason.CANCEL)
    assert run.stopped_at is not None
    for tick in range(3):
        dog.look(time.monotonic(), run.stopped_at + tick * watchdog.TICK_S)
    assert snapshot.interrupts == 1 + 3
    dog.look(time.monotonic(), run.stopped_at + watchdog.REINTERRUPT_FOR_S + 1)
    assert snapshot.interrupts == 4, "it gives up after REINTERRUPT_FOR_S"
    run.finished.set()
    dog.look(time.monotonic(), run.stopped_at)
    assert snapshot.interrupts == 4, "a run whose thread let go is left alone"


def test_the_watchdog_thread_acts_on_its_own() -> None:
    run, snapshot = _run()
    dog = watchdog.Watchdog(lambda: [run])
    dog.start()
    try:
        run.limit(0.0)
        deadline = time.monotonic() + 10
        while run.reason is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        dog.stop()
    assert run.reason is Reason.TIME_LIMIT
    assert snapshot.interrupts >= 1


def test_a_pause_ends_when_the_run_is_stopped_and_not_before() -> None:
    run, _ = _run()
    run.pause(0)  # a pause of nothing returns: the run goes on
    assert run.reason is None
    paused = threading.Event()
    done = threading.Event()

    def hang() -> None:
        paused.set()
        run.pause(None)  # until stopped
        done.set()

    thread = threading.Thread(target=hang)
    thread.start()
    assert paused.wait(10)
    assert not done.is_set()
    run.stop(Reason.CANCEL)
    thread.join(10)
    assert done.is_set() and run.reason is Reason.CANCEL
    run.pause(3600)  # a stopped run never waits again
