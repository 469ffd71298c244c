"""The registry of kinds: which handler runs which kind of run (``{kind: handler}``).

A handler loads a claimed run's particulars and does its work; everything else (claiming,
admission, heartbeats, stopping, recovery) is the runner's, the same for every kind. Adding a
kind is a state machine in ``domain/jobs.py``, a handler here, and its routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import sqlalchemy as sa

from aquarium.domain import runs
from aquarium.runner import aqua_execution, context, dataquery_execution, report_execution, running


class KindHandler(Protocol):
    #: the kind of run it handles
    kind: runs.Kind

    def load(self, conn: sa.Connection, tenant: str, run_id: str) -> object | None:
        """The claimed run's record with its particulars (None if it vanished)."""
        ...

    def run(self, ctx: context.ExecutionContext, record: object, run: running.RunningRun) -> None:
        """Do the run's work in this thread, moving it through its machine's events; return
        when it has ended or been stopped (``run.reason``)."""
        ...


def default() -> Mapping[runs.Kind, KindHandler]:
    """A handler for every kind Aquarium knows."""
    handlers: tuple[KindHandler, ...] = (
        aqua_execution.Handler(),
        report_execution.Handler(),
        dataquery_execution.Handler(),
    )
    return {handler.kind: handler for handler in handlers}
