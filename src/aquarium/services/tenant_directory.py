"""The tenants of the metadata store, held in memory by every process that serves or runs jobs.

Every API node and worker reads tenants (logins, limits, features, custom fields) from here, so
a change committed by any process (``aquarium tenant ...``, the admin API, another node on the
same PostgreSQL) reaches all of them within :data:`TENANTS_POLL_S`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import tenancy
from aquarium.services import auth
from aquarium.store import database, tenants_repo

log = observability.logger(__name__)


#: seconds between two reads of the tenants generation: a running server sees a change made
#: elsewhere (the admin CLI, another node) within this long
TENANTS_POLL_S = 0.25


@dataclass(frozen=True)
class _TenantsSnapshot:
    generation: int
    tenants: dict[str, tenancy.Tenant]
    authenticator: auth.Authenticator


class TenantDirectory:
    """The tenants of the metadata store, held in memory and reloaded when they change.

    Requests only read the snapshot: no file ``stat`` and no query per request. While the
    directory runs (:meth:`start`), a thread reads the one-row tenants generation every
    :data:`TENANTS_POLL_S` and reloads everything when it has moved, so a change committed by
    another process (``aquarium user add``, another node on the same PostgreSQL) is seen within
    that period. Polling is one primary-key read a few times a second, whatever the request
    rate, and works the same on SQLite and PostgreSQL (run changes, which must reach other
    processes faster, travel on the change feed instead: ``store/change_feed.py``). Each
    reload builds a new :class:`~aquarium.services.auth.Authenticator`, so its cache of
    successful checks never outlives a changed password or a removed login.
    """

    def __init__(
        self, metadata: sa.Engine, secret: bytes, *, poll_s: float = TENANTS_POLL_S
    ) -> None:
        self.secret = secret
        self._metadata = metadata
        self._poll_s = poll_s
        self._reload_lock = threading.Lock()
        self._snapshot = _TenantsSnapshot(-1, {}, auth.Authenticator({}, secret))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def refresh(self) -> bool:
        """Reload now if the generation moved since the last load; whether it did."""
        with self._reload_lock, database.read_only(self._metadata) as conn:
            if conn.dialect.name == "postgresql":  # one consistent picture over several queries
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                generation = tenants_repo.generation(conn)
                if generation == self._snapshot.generation:
                    return False
                tenants = tenants_repo.all_tenants(conn)
            authenticator = auth.Authenticator(tenants, self.secret)
            self._snapshot = _TenantsSnapshot(generation, tenants, authenticator)
        log.info("tenants loaded", tenants=len(tenants), generation=generation)
        return True

    def start(self) -> None:
        """Watch the generation from a background thread until :meth:`stop`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._watch, name="aquarium-tenants", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _watch(self) -> None:
        failing = False
        while not self._stop.wait(self._poll_s):
            try:
                self.refresh()
            except Exception:
                if not failing:  # once per outage, not four times a second
                    log.exception("reading tenants failed; serving the ones loaded before")
                failing = True
            else:
                failing = False

    def tenant(self, name: str) -> tenancy.Tenant | None:
        return self._snapshot.tenants.get(name)

    @property
    def authenticator(self) -> auth.Authenticator:
        return self._snapshot.authenticator
