"""Faults a test asked for (``--test-control``), taken by a run's thread before each step.

Each kind's handler calls :func:`before` before each of its steps (an AQuA batch, a report run
phase, a Data Query job's statement) with its time limit already running. A ``latency`` or
``hang`` waits on the run's stop (:meth:`running.RunningRun.pause`), so a cancel, the time
limit or a shutdown ends the wait at once; the handler then reads ``run.reason`` as it does
before any statement, and the run ends as that stop always ends it. An ``abort`` or ``fail``
returns its message: the handler fails the step as a failing statement would, through the
run's state machine.
"""

from __future__ import annotations

from aquarium.domain import faults
from aquarium.runner import context, running

MS_PER_S = 1000


def before(ctx: context.ExecutionContext, run: running.RunningRun, step: faults.Step) -> str | None:
    """Take the tenant's fault for ``step``, if any: wait (latency, hang) or return the message
    to fail the step with (abort, fail); None when the step goes on (check ``run.reason``)."""
    action = ctx.faults.run_fault(run.tenant, step)
    if isinstance(action, faults.Latency):
        run.pause(action.milliseconds / MS_PER_S)
    elif isinstance(action, faults.Hang):
        run.pause(None)
    elif isinstance(action, faults.Abort | faults.Fail):
        return action.message
    return None
