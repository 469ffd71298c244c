"""The composition root of ``aquarium worker``: a worker process of a scale-out deployment.

A worker opens the deployment's stores (``deployment.py``: PostgreSQL metadata and billing data,
shared result files), runs Procrastinate's worker on the job queue with ``concurrency`` threads,
and hands each delivery to a :class:`~aquarium.runner.queue_worker.QueueWorker`, which claims the
run and runs it like the embedded runner does. It hears cancels on the change feed, announces
its own changes there (API nodes refresh their views), and recovers the runs of workers whose
heartbeat stopped.

SIGTERM or SIGINT stops it gracefully: running runs are interrupted, requeued and delivered
again (another worker starts them over), then the queue's worker stops.

``aquarium serve --database-url`` without ``--no-workers`` runs the same worker inside the API
process (:class:`QueueWorkerProcess` in a thread of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

from procrastinate import jobs as queue_jobs

from aquarium import deployment, observability
from aquarium.domain import clock as clock_port
from aquarium.domain import notifier as notifier_port
from aquarium.runner import policy, queue, queue_worker
from aquarium.settings import Settings
from aquarium.store import change_feed

#: seconds the queue's worker waits for a delivery still running after the runner let go of
#: it (the run is requeued already; this only lets its thread return)
HAND_BACK_S = 10.0

log = observability.logger(__name__)


class QueueWorkerProcess:
    """Procrastinate's worker loop feeding a :class:`QueueWorker`, over ``stores``."""

    def __init__(
        self,
        stores: deployment.Stores,
        clock: clock_port.Clock,
        notifier: notifier_port.Notifier,
        settings: Settings,
    ) -> None:
        self.stores = stores
        self.settings = settings
        self.concurrency = settings.concurrency or os.cpu_count() or 2
        dsn = change_feed.psycopg_dsn(settings.database_url)
        dispatcher = queue.QueueDispatcher(
            dsn, stores.metadata, policy.executing_limits(stores.tenants.tenant)
        )
        self.runner = queue_worker.QueueWorker(
            stores.context(clock, notifier),
            dispatcher,
            heartbeat_s=settings.heartbeat_s,
            stale_after_s=settings.stale_after_s,
        )
        self.listener = change_feed.ChangeListener(
            settings.database_url, change_feed.new_origin(), self.runner.heard
        )
        self.app = queue.worker_app(dsn, self.runner.deliver)
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()

    async def run(self) -> None:
        """Work until :meth:`request_stop`; then hand running runs back and return."""
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self._stop_requested.is_set():  # asked before the loop ran (a quick server stop)
            self._stop.set()
        # Procrastinate runs each delivery in the loop's default executor: room for all.
        self._loop.set_default_executor(
            ThreadPoolExecutor(self.concurrency + 2, thread_name_prefix="aquarium-run")
        )
        self.listener.start()
        self.runner.start()
        log.info("worker ready", worker=self.runner.worker_id, concurrency=self.concurrency)
        async with self.app.open_async():
            work = asyncio.create_task(
                self.app.run_worker_async(
                    queues=[queue.QUEUE],
                    name=self.runner.worker_id,
                    concurrency=self.concurrency,
                    install_signal_handlers=False,
                    listen_notify=True,
                    delete_jobs="successful",
                    update_heartbeat_interval=self.settings.heartbeat_s,
                    stalled_worker_timeout=self.settings.stale_after_s,
                    shutdown_graceful_timeout=HAND_BACK_S,
                )
            )
            stalled = asyncio.create_task(self._drop_stalled_deliveries())
            await self._stop.wait()
            log.info("worker stopping: handing its runs back", worker=self.runner.worker_id)
            with ThreadPoolExecutor(1) as own:  # the default executor's threads are busy
                await self._loop.run_in_executor(own, self.runner.stop)
            for task in (stalled, work):
                task.cancel()
            await asyncio.gather(work, stalled, return_exceptions=True)
        self.listener.stop()
        log.info("worker stopped", worker=self.runner.worker_id)

    def request_stop(self) -> None:
        """Stop, from any thread or a signal handler of the loop, even before :meth:`run`."""
        self._stop_requested.set()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def _drop_stalled_deliveries(self) -> None:
        """Deliveries held by a worker whose heartbeat stopped: its runs are recovered (and
        delivered again) through the runs table, so the dead deliveries are only removed."""
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(self.settings.stale_after_s)
            try:
                stalled = await manager.get_stalled_jobs(
                    queue=queue.QUEUE, seconds_since_heartbeat=self.settings.stale_after_s
                )
                for job in stalled:
                    assert job.id is not None
                    await manager.finish_job_by_id_async(
                        job.id, status=queue_jobs.Status.FAILED, delete_job=True
                    )
                    log.info("removed a dead worker's delivery", delivery=job.id)
            except Exception:
                log.exception("looking for stalled deliveries failed")

    # -- in a thread of the API process (serve --database-url without --no-workers) -----------
    def start(self) -> None:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.run()), name="aquarium-queue-worker", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=HAND_BACK_S + 10)
            self._thread = None


def run(settings: Settings) -> None:
    """``aquarium worker``: work until SIGTERM or SIGINT."""
    clock = clock_port.SystemClock()
    stores = deployment.open_stores(settings)
    notifier = change_feed.PgChangeNotifier(stores.metadata, change_feed.new_origin())
    process = QueueWorkerProcess(stores, clock, notifier, settings)
    stores.tenants.start()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, process.request_stop)
        await process.run()

    try:
        asyncio.run(main())
    finally:
        with contextlib.suppress(Exception):
            stores.close()
