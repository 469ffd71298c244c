"""The machine's state while a benchmark ran: load average and where the CPU time went.

The machine these benchmarks run on is shared and virtual: another process's work, or another
guest on the host (CPU steal), moves every figure. Printing the state beside each benchmark's
output says how quiet the run was, so two runs' figures can be read against each other.

Load average is read at the start and at the end (``/proc/loadavg``: 1, 5 and 15 minutes). The
shares of CPU time are the difference of the ``cpu`` line of ``/proc/stat`` between the two
readings, over every core: steal (time the hypervisor gave another guest while this one wanted
to run), iowait (idle with disk I/O outstanding) and busy (user, nice, system, irq, softirq).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PROC_STAT = Path("/proc/stat")
PROC_LOADAVG = Path("/proc/loadavg")

# Columns of /proc/stat's cpu line (proc(5)); guest time is already counted in user.
USER, NICE, SYSTEM, IDLE, IOWAIT, IRQ, SOFTIRQ, STEAL = range(8)


@dataclass(frozen=True)
class Reading:
    """One look at the machine: load averages (1, 5, 15 min) and cumulative CPU ticks."""

    load: tuple[float, float, float]
    ticks: tuple[int, ...]


@dataclass(frozen=True)
class MachineState:
    """The machine between two readings; shares in percent of all CPU time (every core)."""

    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float]
    steal_pct: float
    iowait_pct: float
    busy_pct: float

    def describe(self, name: str) -> str:
        """``Machine during <name>: load 1.02/0.80/0.50 -> ..., steal 0.3%, ...``."""
        return f"Machine during {name}: {self.summary()}"

    def summary(self) -> str:
        """``load 1.02/0.80/0.50 -> 1.10/0.85/0.52, steal 0.3%, iowait 1.2%, busy 97%``."""
        return (
            f"load {_load(self.load_start)} -> {_load(self.load_end)}, "
            f"steal {self.steal_pct:.1f}%, iowait {self.iowait_pct:.1f}%, "
            f"busy {self.busy_pct:.0f}%"
        )


@dataclass
class Watch:
    """Filled in when the ``watching()`` block ends."""

    state: MachineState | None = field(default=None)


def read(stat: Path = PROC_STAT, loadavg: Path = PROC_LOADAVG) -> Reading:
    """The machine now; zeros where the files are missing (not Linux), so a run still prints."""
    try:
        first = stat.read_text().splitlines()[0].split()
        ticks = tuple(int(value) for value in first[1 : STEAL + 2])
        load_fields = loadavg.read_text().split()
        load = (float(load_fields[0]), float(load_fields[1]), float(load_fields[2]))
    except (OSError, IndexError, ValueError):
        return Reading((0.0, 0.0, 0.0), (0,) * (STEAL + 1))
    return Reading(load, ticks + (0,) * (STEAL + 1 - len(ticks)))


def between(start: Reading, end: Reading) -> MachineState:
    """The state from ``start`` to ``end``; every share 0 when no tick passed."""
    delta = [after - before for before, after in zip(start.ticks, end.ticks, strict=True)]
    total = sum(delta)

    def pct(*columns: int) -> float:
        return 100.0 * sum(delta[c] for c in columns) / total if total > 0 else 0.0

    return MachineState(
        load_start=start.load,
        load_end=end.load,
        steal_pct=pct(STEAL),
        iowait_pct=pct(IOWAIT),
        busy_pct=pct(USER, NICE, SYSTEM, IRQ, SOFTIRQ),
    )


@contextlib.contextmanager
def watching() -> Iterator[Watch]:
    """``with watching() as watch: ...``; afterwards ``watch.state`` holds the interval's state
    (also when the block raised)."""
    watch = Watch()
    start = read()
    try:
        yield watch
    finally:
        watch.state = between(start, read())


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{value:.2f}" for value in load)
