"""Helpers of the acceptance tier: a real ``aquarium serve`` process, raw HTTP, polling.

Nothing here uses Aquarium's own client code: the server is a subprocess and every call is plain
HTTP (httpx, or a socket where even httpx's default headers would be in the way).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

import aquarium
from tests.acceptance import openapi_check

DEMO_AUTH = ("demo", "demo")
DEMO_CLIENT = ("11111111-2222-3333-4444-555555555555", "demo")
STARTUP_TIMEOUT_S = 90.0
JOB_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.05
TERMINAL = frozenset({"completed", "aborted", "cancelled", "error"})
LOG_TAIL_LINES = 200
#: the code under test, first on a child process's path (a worktree's src beats the installed one)
SOURCE_DIR = str(Path(aquarium.__file__).resolve().parents[1])
CLI_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hermetic_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without any ``AQUARIUM_*`` setting, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AQUARIUM_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def aquarium_cli(data_dir: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run ``aquarium ARGS --data-dir DATA_DIR`` (``env`` added to a hermetic environment) and
    return its stdout; fail loudly otherwise."""
    command = [sys.executable, "-m", "aquarium", *args, "--data-dir", str(data_dir)]
    environment = hermetic_env(**(env or {}))
    done = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=120, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def control_cli(server: RunningServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``aquarium control ARGS`` against ``server`` as the demo user (``HOME`` at ``home``,
    the connection from the environment); its outcome, whatever it is."""
    env = hermetic_env(
        PYTHONPATH=SOURCE_DIR,
        HOME=str(home),
        AQUARIUM_URL=server.base_url,
        AQUARIUM_USER=DEMO_AUTH[0],
        AQUARIUM_PASSWORD=DEMO_AUTH[1],
    )
    return subprocess.run(
        [sys.executable, "-m", "aquarium", "control", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


@dataclass
class RunningServer:
    """One ``aquarium serve`` subprocess, its data dir and its log file (stdout + stderr)."""

    name: str
    base_url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    clients: list[httpx.Client] = field(default_factory=list)
    #: its metadata is the SQLite file of ``data_dir`` (``tests/tenants_setup.py``)
    metadata_url: str | None = None

    def client(self, auth: tuple[str, str] | None = DEMO_AUTH, **kwargs: Any) -> httpx.Client:
        """An httpx client on this server (closed when the server stops); every answer it gets
        is checked against openapi.json (``openapi_check``)."""
        hooks = kwargs.pop("event_hooks", {})
        hooks = {**hooks, "response": [*hooks.get("response", []), openapi_check.check]}
        made = httpx.Client(
            base_url=self.base_url, auth=auth, timeout=30.0, event_hooks=hooks, **kwargs
        )
        self.clients.append(made)
        return made

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for made in self.clients:
            made.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


class Serving(Protocol):
    """A running deployment as a failing test shows it: ``RunningServer`` or
    ``deployments.ScaleOut``."""

    name: str

    @property
    def log_path(self) -> Path: ...

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str: ...

    def stop(self) -> None: ...


#: The deployments tests are using now: a failing test prints the tail of each one's log
#: (tests/conftest.py).
RUNNING: list[Serving] = []


def serving(server: RunningServer) -> Iterator[RunningServer]:
    """Yield ``server`` for a fixture, its log shown with any failure meanwhile; stop it after."""
    RUNNING.append(server)
    try:
        yield server
    finally:
        RUNNING.remove(server)
        server.stop()


def sigint_as_default() -> None:
    """For ``Popen(preexec_fn=...)``: a child that a test interrupts with SIGINT gets Python's
    handler even when the test run was started in the background (a shell without job control
    starts background commands with SIGINT ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_server(
    name: str,
    data_dir: Path,
    *,
    demo_scale: float,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
) -> RunningServer:
    """Start ``aquarium serve`` on a free port and wait until ``/healthz`` answers 200;
    ``env`` adds to (or overrides) the server's environment."""
    port = free_port()
    log_path = data_dir.parent / f"{name}-server.log"
    command = [
        sys.executable,
        "-m",
        "aquarium",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    environment = hermetic_env(AQUARIUM_DEMO_SCALE=str(demo_scale), **(env or {}))
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    server = RunningServer(name, f"http://127.0.0.1:{port}", data_dir, log_path, process)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise AssertionError(
                f"server {name} exited with {process.returncode}:\n{server.log_tail()}"
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.base_url + "/healthz", timeout=2.0).status_code == 200:
                return server
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"server {name} not healthy in time:\n{server.log_tail()}")
        time.sleep(0.1)


# -- AQuA calls ------------------------------------------------------------------------------------


def submit(client: httpx.Client, body: object, path: str = "/v1/batch-query/") -> dict[str, Any]:
    """POST a job; the HTTP status must be 200; returns the JSON answer (job or error)."""
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def submit_ok(client: httpx.Client, body: object, path: str = "/v1/batch-query/") -> dict[str, Any]:
    document = submit(client, body, path)
    assert document.get("status") == "submitted", document
    assert is_id(document["id"]), document
    return document


def get_job(client: httpx.Client, job_id: str, prefix: str = "/v1/batch-query") -> dict[str, Any]:
    response = client.get(f"{prefix}/jobs/{job_id}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def wait_for_job(
    client: httpx.Client,
    job_id: str,
    until: Callable[[dict[str, Any]], bool] = lambda doc: doc["status"] in TERMINAL,
    *,
    timeout: float = JOB_TIMEOUT_S,
    prefix: str = "/v1/batch-query",
) -> dict[str, Any]:
    """Poll the job until ``until(document)`` holds; fail with the last document on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        document = get_job(client, job_id, prefix)
        if until(document):
            return document
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not get there in {timeout} s: {document}")
        time.sleep(POLL_INTERVAL_S)


def run_job(client: httpx.Client, body: object, path: str = "/v1/batch-query/") -> dict[str, Any]:
    """Submit, wait, and insist on ``completed``; returns the completed job document."""
    submitted = submit_ok(client, body, path)
    done = wait_for_job(client, submitted["id"], prefix=path.rstrip("/"))
    assert done["status"] == "completed", done
    return done


def stateless(*queries: str, **top: Any) -> dict[str, Any]:
    """A version 1.0 body with queries named ``q0``, ``q1``..."""
    return {
        "format": "csv",
        "version": "1.0",
        **top,
        "queries": [
            {"name": f"q{i}", "query": text, "type": "zoqlexport"} for i, text in enumerate(queries)
        ],
    }


def download(client: httpx.Client, file_id: str, path: str = "/v1/file/") -> httpx.Response:
    response = client.get(path + file_id)
    assert response.status_code == 200, response.text
    return response


def parse_csv(data: bytes) -> list[list[str]]:
    """A result file's rows, checking Zuora's CSV framing: UTF-8, no BOM, ``\\n`` line ends."""
    assert not data.startswith(b"\xef\xbb\xbf"), "a result CSV must not start with a BOM"
    assert b"\r" not in data, "a result CSV ends its lines with \\n only"
    assert data.endswith(b"\n"), "a result CSV ends with a line end"
    text = data.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def is_id(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    )


def assert_error(response: httpx.Response, code: str, *, http_status: int = 200) -> dict[str, Any]:
    """Zuora's refusal envelope: ``{"id": null, "status": "error", "errorCode", "message"}``."""
    assert response.status_code == http_status, response.text
    document: dict[str, Any] = response.json()
    assert document["id"] is None, document
    assert document["status"] == "error", document
    assert document["errorCode"] == code, document
    assert isinstance(document["message"], str) and document["message"], document
    return document


# -- raw HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


def raw_request(
    base_url: str,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> RawResponse:
    """One HTTP/1.1 exchange over a socket with exactly ``headers`` (plus Host, Content-Length)."""
    host, port = base_url.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    if parsed.get("transfer-encoding", "").lower() == "chunked":
        payload = _dechunk(payload)
    return RawResponse(int(status_line.split()[1]), parsed, payload)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
