"""Scale-out deployments for the acceptance tier, and the choice between them and ``serve``.

A :class:`ScaleOut` is what ``docs`` call a scale-out deployment, started for real: a fresh
PostgreSQL database of its own (metadata, billing data, job queue), API nodes
(``aquarium serve --no-workers``) and worker processes (``aquarium worker``), all on one shared
data dir. It answers like :class:`support.RunningServer` (``base_url``, ``client()``,
``data_dir``, ``log_tail()``, ``stop()``), so a test written against the embedded server runs
against it unchanged; ``tests/tenants_setup.py`` changes its tenants through
:attr:`ScaleOut.metadata_url`.

A test module opts into both deployments with ``DEPLOYMENTS = deployments.BOTH``
(``tests/acceptance/conftest.py`` parametrises its ``deployment`` fixture); a test that cannot
hold on scale-out says why with ``@pytest.mark.embedded_only(reason)``.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from psycopg import sql

from tests.acceptance import openapi_check, support

EMBEDDED = "embedded"
SCALE_OUT = "scale-out"
BOTH = (EMBEDDED, SCALE_OUT)
#: the log line a worker writes once it takes deliveries (aquarium/worker.py)
WORKER_READY = "worker ready"
STOP_TIMEOUT_S = 20.0


def database_named(dsn: str, name: str) -> str:
    """``dsn`` (a PostgreSQL URL) pointing at the database ``name`` instead."""
    return sa.make_url(dsn).set(database=name).render_as_string(hide_password=False)


def create_database(dsn: str, label: str) -> str:
    """A new empty database ``aq_t_<label>_<random>`` on ``dsn``'s server; its URL."""
    name = f"aq_t_{label.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_named(dsn, name)


def drop_database(dsn: str, url: str) -> None:
    """Drop the database of ``url`` (its connections terminated first), from ``dsn``'s server."""
    name = sa.make_url(url).database
    assert name, url
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@dataclass
class Process:
    """One process of a deployment: an API node (with its ``base_url``) or a worker."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes]
    base_url: str = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"

    def signal(self, signum: int) -> None:
        if self.alive():
            self.popen.send_signal(signum)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if it is still there after ``timeout`` s."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=timeout)


def _spawn(
    name: str, args: list[str], env: dict[str, str], log_path: Path, base_url: str = ""
) -> Process:
    command = [sys.executable, "-m", "aquarium", *args]
    with log_path.open("wb") as log:
        popen = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    return Process(name, command, env, log_path, popen, base_url)


@dataclass
class ScaleOut:
    """A scale-out deployment: its database, its API nodes and workers, one shared data dir.

    ``env`` is given to every process (``AQUARIUM_HEARTBEAT_S``, ``AQUARIUM_DEMO_SCALE``...).
    """

    name: str
    data_dir: Path
    metadata_url: str
    admin_dsn: str
    env: dict[str, str]
    #: the workers :func:`start` starts, and their ``--concurrency``
    initial_workers: int = 2
    concurrency: int = 2
    api_nodes: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    clients: list[httpx.Client] = field(default_factory=list)
    _started: int = 0

    @property
    def base_url(self) -> str:
        """The first API node's URL."""
        return self.api_nodes[0].base_url

    @property
    def log_path(self) -> Path:
        return self.api_nodes[0].log_path if self.api_nodes else self.data_dir

    @property
    def processes(self) -> list[Process]:
        return [*self.api_nodes, *self.workers]

    def client(
        self,
        auth: tuple[str, str] | None = support.DEMO_AUTH,
        *,
        node: Process | None = None,
        **kwargs: Any,
    ) -> httpx.Client:
        """An httpx client of ``node`` (by default the first API node), as
        :meth:`support.RunningServer.client` makes them."""
        hooks = kwargs.pop("event_hooks", {})
        hooks = {**hooks, "response": [*hooks.get("response", []), openapi_check.check]}
        base_url = (node or self.api_nodes[0]).base_url
        made = httpx.Client(base_url=base_url, auth=auth, timeout=30.0, event_hooks=hooks, **kwargs)
        self.clients.append(made)
        return made

    def log_tail(self, lines: int = support.LOG_TAIL_LINES) -> str:
        """The tail of every process's log, each under its name."""
        parts = []
        for process in self.processes:
            tail = "\n".join(process.log().splitlines()[-lines:])
            state = "running" if process.alive() else f"exited {process.popen.returncode}"
            parts.append(f"--- {process.name} (pid {process.pid}, {state}) ---\n{tail}")
        return "\n".join(parts)

    def _log_path(self, role: str) -> Path:
        self._started += 1
        return self.data_dir.parent / f"{self.name}-{role}{self._started}.log"

    def _environment(self, more: Mapping[str, str] | None) -> dict[str, str]:
        return support.hermetic_env(**{**self.env, **(more or {})})

    def start_api_node(self, port: int | None = None) -> Process:
        """One more API node (``serve --no-workers``), healthy when this returns."""
        port = port or support.free_port()
        args = ["serve", "--no-workers", "--database-url", self.metadata_url]
        args += ["--data-dir", str(self.data_dir), "--port", str(port)]
        node = _spawn(
            f"{self.name}-api:{port}",
            args,
            self._environment(None),
            self._log_path("api"),
            f"http://127.0.0.1:{port}",
        )
        self.api_nodes.append(node)
        _wait_until(node, lambda: _healthy(node.base_url), "healthy", self)
        return node

    def restart_api_node(self, node: Process) -> Process:
        """Stop ``node`` (SIGTERM) and start it again on the same port, in the same place."""
        node.stop()
        self.api_nodes.remove(node)
        port = int(node.base_url.rsplit(":", 1)[1])
        restarted = self.start_api_node(port)
        self.api_nodes.remove(restarted)
        self.api_nodes.insert(0, restarted)
        return restarted

    def start_worker(
        self, concurrency: int | None = None, env: Mapping[str, str] | None = None
    ) -> Process:
        """One more worker process, taking deliveries when this returns."""
        worker = self._spawn_worker(concurrency, env)
        self._wait_ready(worker)
        return worker

    def _spawn_worker(self, concurrency: int | None, env: Mapping[str, str] | None) -> Process:
        args = ["worker", "--database-url", self.metadata_url, "--data-dir", str(self.data_dir)]
        args += ["--concurrency", str(concurrency or self.concurrency)]
        log_path = self._log_path("worker")
        worker = _spawn(
            f"{self.name}-worker{len(self.workers) + 1}", args, self._environment(env), log_path
        )
        self.workers.append(worker)
        return worker

    def _wait_ready(self, worker: Process) -> None:
        _wait_until(worker, lambda: WORKER_READY in worker.log(), "ready", self)

    def worker_with_pid(self, pid: int) -> Process:
        (found,) = [worker for worker in self.workers if worker.pid == pid]
        return found

    def stop(self) -> None:
        """Every process stopped, the database dropped."""
        for made in self.clients:
            made.close()
        for process in reversed(self.processes):
            process.stop()
        drop_database(self.admin_dsn, self.metadata_url)


def _healthy(base_url: str) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(base_url + "/healthz", timeout=2.0).status_code == 200
    return False


def _wait_until(
    process: Process, ready: Callable[[], bool], what: str, deployment: ScaleOut
) -> None:
    deadline = time.monotonic() + support.STARTUP_TIMEOUT_S
    while not ready():
        if not process.alive():
            raise AssertionError(
                f"{process.name} exited with {process.popen.returncode}:\n{deployment.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{process.name} not {what} in time:\n{deployment.log_tail()}")
        time.sleep(0.1)


def scale_out(
    name: str,
    data_dir: Path,
    admin_dsn: str,
    *,
    demo_scale: float,
    workers: int = 2,
    concurrency: int = 2,
    env: Mapping[str, str] | None = None,
) -> ScaleOut:
    """A deployment on a fresh database of ``admin_dsn``'s server, not started yet: set its
    tenants up (``tests/tenants_setup.py`` with it, :func:`datagen`), then :func:`start` it.

    ``demo_scale`` is the demo tenant's, generated by the first API node's first start.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    url = create_database(admin_dsn, name)
    environment = {"AQUARIUM_DEMO_SCALE": str(demo_scale), **(env or {})}
    return ScaleOut(name, data_dir, url, admin_dsn, environment, workers, concurrency)


def start(deployment: ScaleOut) -> ScaleOut:
    """One API node, then the workers :func:`scale_out` was given; stopped again on failure."""
    try:
        deployment.start_api_node()
        started = [deployment._spawn_worker(None, None) for _ in range(deployment.initial_workers)]
        for worker in started:
            deployment._wait_ready(worker)
    except BaseException:
        deployment.stop()
        raise
    return deployment


def datagen(
    deployment: ScaleOut, tenant: str, *, scale: float, seed: int = 1, time_zone: str = ""
) -> str:
    """``aquarium datagen --engine postgres`` into the deployment (billing data and metadata)."""
    args = ["datagen", "--engine", "postgres", "--dsn", deployment.metadata_url]
    args += ["--tenant", tenant, "--scale", str(scale), "--seed", str(seed)]
    if time_zone:
        args += ["--time-zone", time_zone]
    return support.aquarium_cli(
        deployment.data_dir, *args, env={"AQUARIUM_METADATA_URL": deployment.metadata_url}
    )


@contextlib.contextmanager
def metadata_connection(deployment: ScaleOut) -> Iterator[psycopg.Connection[Any]]:
    """A plain autocommit connection to the deployment's database (runs table, pg_stat_...)."""
    with psycopg.connect(deployment.metadata_url, autocommit=True) as conn:
        yield conn
