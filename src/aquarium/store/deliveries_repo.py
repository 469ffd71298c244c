"""What the job queue holds for runs, read from Procrastinate's own table (scale-out).

A delivery of run X waits in ``procrastinate_jobs`` with status ``todo`` and the queueing lock X
(``runner/queue.py``); looking there first spares the dispatcher a refused insert per run it
would deliver again.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

_WAITING = sa.text(
    "SELECT queueing_lock FROM procrastinate_jobs "
    "WHERE status = 'todo' AND queueing_lock IN :run_ids"
).bindparams(sa.bindparam("run_ids", expanding=True))


def waiting(conn: sa.Connection, run_ids: Collection[str]) -> set[str]:
    """Those of ``run_ids`` whose delivery waits in the queue."""
    if not run_ids:
        return set()
    return {str(lock) for (lock,) in conn.execute(_WAITING, {"run_ids": list(run_ids)})}
