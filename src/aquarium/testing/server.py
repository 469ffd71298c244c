"""An embedded Aquarium server for an integration's tests: made from a template data dir, started
with test control on a free port, reset between tests (:mod:`aquarium.testing.plugin`).

Usable without pytest too::

    template = ensure_template(Path(".aquarium-template"), scale=0.05)
    with TestServer.start(template, Path("run")) as server:
        server.faults.http(429, endpoint="GET /v1/batch-query/jobs/*", count=2)
        ...  # the integration under test, against server.url with server.auth
        server.reset()
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from aquarium.client import Client, ClientError, Credentials, control
from aquarium.store import tenants_repo

USER = tenants_repo.DEMO_USER  #: the demo tenant's administrator
PASSWORD = tenants_repo.DEMO_PASSWORD
CLIENT_ID = tenants_repo.DEMO_CLIENT_ID  #: its OAuth client
CLIENT_SECRET = tenants_repo.DEMO_CLIENT_SECRET
TENANT = "demo"
READY_WITHIN_S = 120.0  # a first start generates the demo tenant's data
STOP_WITHIN_S = 15.0
MADE_MARKER = ".aquarium-template-made"  # in a template once it is complete
LOG_NAME = "aquarium-server.log"
START_SNAPSHOT = "pytest-start"  #: the tenant as the server started: what reset() restores
SETTLE_WITHIN_S = 30.0  # for the runs a test left behind to end once cancelled


class ServerFailed(RuntimeError):
    """The server did not start (its log's tail is in the message)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_template(directory: Path, *, scale: float) -> Path:
    """A data dir holding the demo tenant at ``scale`` (its administrator ``demo``/``demo``),
    made by a first start of a server unless ``directory`` holds one already. Several processes
    (pytest-xdist workers) may ask at once: one makes it, the others wait for it."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory.parent / f".{directory.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / MADE_MARKER).exists():
            for stale in directory.iterdir():  # a template an earlier run left half made
                if stale.is_dir():
                    shutil.rmtree(stale)
                else:
                    stale.unlink()
            with TestServer.start(directory, demo_scale=scale):
                pass
            (directory / MADE_MARKER).write_text(f"scale {scale:g}\n")
    return directory


@dataclass
class TestServer:
    """One ``aquarium serve --test-control`` process over ``data_dir`` and a client of it (as
    the demo tenant's administrator): ``faults``, ``clock``, ``requests`` are its test control
    (:mod:`aquarium.client.control`)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(self.url, Credentials.basic(USER, PASSWORD))
        # Made with the template (a copy of it has it already), or now for a template of the
        # user's own: the restore before each test then swaps in a ready copy.
        saved = {found.get("name") for found in self.snapshots.list()}
        if START_SNAPSHOT not in saved:
            self.snapshots.save(START_SNAPSHOT)

    @classmethod
    def start(
        cls, data_dir: Path, copy_to: Path | None = None, *, demo_scale: float = 0.05
    ) -> TestServer:
        """Start a server over ``data_dir`` (or over a copy of it made at ``copy_to``)."""
        if copy_to is not None:
            shutil.copytree(data_dir, copy_to, ignore=shutil.ignore_patterns(MADE_MARKER))
            data_dir = copy_to
        port = free_port()
        command = [sys.executable, "-m", "aquarium", "serve", "--data-dir", str(data_dir)]
        command += ["--port", str(port), "--test-control", "--demo-scale", f"{demo_scale:g}"]
        with (data_dir / LOG_NAME).open("ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_WITHIN_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return cls(url, data_dir, process)
            time.sleep(0.1)
        _stop(process)
        raise ServerFailed(f"the Aquarium server did not start; its log ends:\n{_tail(data_dir)}")

    @property
    def auth(self) -> tuple[str, str]:
        """Basic credentials of the demo tenant's administrator, as ``httpx`` takes them."""
        return (USER, PASSWORD)

    @property
    def faults(self) -> control.Faults:
        return self.client.control.faults

    @property
    def clock(self) -> control.Clock:
        return self.client.control.clock

    @property
    def requests(self) -> control.Requests:
        return self.client.control.requests

    def http(self, **kwargs: object) -> httpx.Client:
        """A plain ``httpx`` client on the server, authenticated as the administrator."""
        return httpx.Client(base_url=self.url, auth=self.auth, **kwargs)  # type: ignore[arg-type]

    @property
    def snapshots(self) -> control.Snapshots:
        return self.client.control.snapshots

    def reset(self) -> None:
        """Back to the start: no fault rules, no firings, no requests seen, real time, and
        the tenant's billing data, jobs and files as the server started (the runs a test left
        running are cancelled first)."""
        self.faults.clear()
        self.clock.reset()
        self._cancel_active()
        self.snapshots.restore(START_SNAPSHOT)
        self.requests.clear()  # last: the job list read above is a request of the tenant

    def _cancel_active(self) -> None:
        cancel = {
            "aqua": self.client.cancel,
            "report": self.client.cancel_report_run,
            "dataquery": self.client.data_queries.cancel,
        }
        deadline = time.monotonic() + SETTLE_WITHIN_S
        while active := self.client.jobs(status="active", limit=100).jobs:
            if time.monotonic() > deadline:
                names = ", ".join(f"{job.kind} {job.id} ({job.status})" for job in active)
                raise ServerFailed(f"runs still active after being cancelled: {names}")
            for job in active:
                with contextlib.suppress(ClientError):  # ended meanwhile
                    cancel[job.kind](job.id)
            time.sleep(0.05)

    def log_tail(self) -> str:
        return _tail(self.data_dir)

    def stop(self) -> None:
        self.client.close()
        _stop(self.process)

    def __enter__(self) -> TestServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_WITHIN_S)


def _tail(data_dir: Path, lines: int = 40) -> str:
    try:
        text = (data_dir / LOG_NAME).read_text("utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running(template: Path, where: Path) -> Iterator[TestServer]:
    """A server over a copy of ``template`` made at ``where``, stopped at the end."""
    server = TestServer.start(template, where)
    try:
        yield server
    finally:
        server.stop()
