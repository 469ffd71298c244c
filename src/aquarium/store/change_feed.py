"""Changes to runs told across processes: PostgreSQL ``NOTIFY`` out, ``LISTEN`` in.

In scale-out mode a run changes in one process (a worker finishes a batch, an API node records a
cancel) while others hold views of it: API nodes cache rendered job documents and stream the Job
Finder's events, workers run the statement a cancel must stop. :class:`PgChangeNotifier` is the
:class:`~aquarium.domain.notifier.Notifier` that announces a committed change on the channel
:data:`CHANNEL`; :class:`ChangeListener` hears every process's announcements and hands them to the
local listeners. A process skips its own announcements (it told its listeners already).

``NOTIFY`` is delivered only to connections listening at the time, so a listener that lost its
connection may have missed changes: :class:`ChangeListener` says so (``on_gap``) when it loses
and again when it regains the connection, and its owner drops whatever it derived meanwhile.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

from aquarium import observability

CHANNEL = "aquarium_runs"
RECONNECT_S = 0.5  # seconds between attempts to listen again after the connection was lost
WAKE_S = 0.25  # seconds a listener waits for a notification before it checks for stop()

log = observability.logger(__name__)


def new_origin() -> str:
    """A process's name on the channel (so it can skip its own announcements)."""
    return secrets.token_hex(6)


def psycopg_dsn(url: str) -> str:
    """``url`` (a PostgreSQL URL, SQLAlchemy's ``postgresql+psycopg://`` form too) as psycopg
    and the job queue take it."""
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _payload(origin: str, tenant: str, run_id: str) -> str:
    return f"{origin}\t{tenant}\t{run_id}"


class PgChangeNotifier:
    """Announces "run X of tenant T changed" to every process listening on :data:`CHANNEL`."""

    def __init__(self, metadata: sa.Engine, origin: str) -> None:
        self._metadata = metadata
        self.origin = origin

    def job_changed(self, tenant: str, job_id: str) -> None:
        try:
            with self._metadata.connect() as conn:
                conn.execute(
                    sa.select(sa.func.pg_notify(CHANNEL, _payload(self.origin, tenant, job_id)))
                )
                conn.commit()
        except sa.exc.SQLAlchemyError:
            # The change itself is committed; views elsewhere catch up by their own means
            # (workers poll their runs, API nodes drop their cache on a gap).
            log.exception("announcing a run's change failed", run_id=job_id)


class ChangeListener:
    """A thread that listens on :data:`CHANNEL` and calls ``on_change(tenant, run_id)`` for
    every other process's announcement, and ``on_gap(listening)`` when the connection is lost
    (``False``) or (re)established (``True``): changes between the two were missed."""

    def __init__(
        self,
        dsn: str,
        origin: str,
        on_change: Callable[[str, str], None],
        on_gap: Callable[[bool], None] = lambda listening: None,
    ) -> None:
        self._dsn = psycopg_dsn(dsn)
        self.origin = origin
        self._on_change = on_change
        self._on_gap = on_gap
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while a connection listens

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="aquarium-changes", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self._listen()
                failing = False
            except (psycopg.Error, OSError):
                if not failing:  # once per outage
                    log.exception("listening for run changes failed; retrying")
                failing = True
            if self.listening.is_set():
                self.listening.clear()
                self._on_gap(False)
            self._stop.wait(RECONNECT_S)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self._on_gap(True)
            while not self._stop.is_set():
                for notice in conn.notifies(timeout=WAKE_S):
                    self._heard(notice.payload)

    def _heard(self, payload: str) -> None:
        parts = payload.split("\t")
        if len(parts) != 3 or parts[0] == self.origin:
            return
        try:
            self._on_change(parts[1], parts[2])
        except Exception:
            log.exception("a listener of run changes failed", run_id=parts[2])
