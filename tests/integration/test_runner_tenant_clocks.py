"""The runner and the retention sweep on test control's per-tenant clocks (a FakeClock below
them): each tenant's files expire by its own clock, and an advance counts against the time
limit of the tenant's running query. Judged by outcome, never by time."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from aquarium.domain import errors, tenant_clocks
from aquarium.runner import inprocess
from aquarium.testing import FakeClock
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import BS, JS, PRINCIPAL, TENANT, ServerFactory

make_server = support.make_server
billing_file = support.billing_file
HELD_S = 60.0  # seconds the hooked engine holds a batch at most (until the run is stopped)
POLL_S = 0.01  # seconds between the hook's looks at whether the run is being stopped


def test_the_periodic_sweep_judges_a_tenant_by_its_own_clock(make_server: ServerFactory) -> None:
    clocks = tenant_clocks.TenantClocks(FakeClock())
    h = make_server(workers=1, clock=clocks)
    record = h.wait_terminal(h.submit(support.FAST_QUERIES[0]))
    file_id = record.batches[0].file_id or ""
    path = h.aqua.file(PRINCIPAL, file_id).path

    clocks.advance("someone-else", dt.timedelta(days=4))
    h.srv.purge_once()
    assert path.is_file()

    clocks.advance(TENANT, dt.timedelta(days=3))
    h.srv.purge_once()
    assert not path.exists()
    with pytest.raises(errors.NotFound):
        h.aqua.file(PRINCIPAL, file_id)
    assert h.files_of(record.id) == []


def test_an_advance_past_the_limit_stops_the_running_query(make_server: ServerFactory) -> None:
    clocks = tenant_clocks.TenantClocks(FakeClock())
    h = make_server(workers=1, start=False, clock=clocks, limits={"query_time_limit_s": 3600})
    runner = h.srv.runner
    assert isinstance(runner, inprocess.InProcessRunner)
    holding, waited = threading.Event(), threading.Event()

    def hold() -> None:
        """Keep the first batch running (packaging) until something stops it."""
        holding.set()
        for _ in range(int(HELD_S / POLL_S)):
            if any(run.reason is not None for run in runner.in_progress()):
                return
            waited.wait(POLL_S)

    support.hook_engine(h, after_copy=hold)
    h.srv.start()
    job_id = h.submit(support.FAST_QUERIES[0], support.FAST_QUERIES[1])
    assert holding.wait(HELD_S)

    clocks.advance(TENANT, dt.timedelta(hours=2))
    record = h.wait_terminal(job_id)

    assert record.status == JS.ABORTED
    assert [b.status for b in record.batches] == [BS.ABORTED, BS.CANCELLED]
    assert record.batches[0].message == errors.QueryTimeLimit().describe()
