"""The server running on a data dir: its discovery file, and asking it to run a data command.

``aquarium serve`` writes ``DATA_DIR/server.json`` (mode 0600) once it is ready, with its
process id, the URL it answers on locally and a random token made at each start, and removes it
when it stops cleanly. The data commands (``query``, ``simulate``, ``datagen``, ``demo``) call
:func:`find`: a file whose process is gone (the server was killed) is ignored, and so is one
whose server does not answer or serves another data dir (a copied data dir); otherwise they run
through the server's local endpoints (:mod:`aquarium.api.local_routes`) and the server does the
work on its own engine, since DuckDB lets only one process open the file for writing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import httpx

DISCOVERY_FILE = "server.json"
LOCAL_PATH = "/aquarium/api/v1/local"  # api/local_routes.PREFIX
TOKEN_HEADER = "X-Aquarium-Local-Token"  # api/local_routes.TOKEN_HEADER
ANSWER_TIMEOUT_S = 5.0  # seconds for the server to take a call (the work itself may run long)
CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class Discovery:
    """What ``server.json`` says."""

    pid: int
    url: str
    token: str


class Unavailable(Exception):
    """The server stopped answering in the middle of a command, or failed; one line to show."""


class Refused(Exception):
    """The server refused the command: ``message`` as the direct path words it, and a ZOQL
    error's caret ``excerpt``."""

    def __init__(self, message: str, excerpt: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.excerpt = excerpt


def discovery_path(data_dir: Path) -> Path:
    return data_dir / DISCOVERY_FILE


def publish(data_dir: Path, url: str, token: str) -> None:
    """Write the discovery file (readable by its owner only), replacing any other."""
    path = discovery_path(data_dir)
    scratch = path.with_name(f".{DISCOVERY_FILE}.{os.getpid()}")
    document = {
        "pid": os.getpid(),
        "url": url,
        "token": token,
        "startedAt": dt.datetime.now(dt.UTC).isoformat(),
    }
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out)
    os.replace(scratch, path)


def withdraw(data_dir: Path, token: str) -> None:
    """Remove the discovery file if it is the one written with ``token`` (not a later
    server's)."""
    path = discovery_path(data_dir)
    found = _parse(path)
    if found is not None and found.token == token:
        path.unlink(missing_ok=True)


def read(data_dir: Path) -> Discovery | None:
    """The discovery file's content if its process is alive; ``None`` when there is no file,
    it is unreadable, or its process is gone."""
    found = _parse(discovery_path(data_dir))
    return found if found is not None and pid_alive(found.pid) else None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (possibly another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parse(path: Path) -> Discovery | None:
    try:
        document = json.loads(path.read_text("utf-8"))
        return Discovery(int(document["pid"]), str(document["url"]), str(document["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find(data_dir: Path, transport: httpx.BaseTransport | None = None) -> LocalServer | None:
    """The server running on ``data_dir`` and answering, or ``None`` (see the module
    docstring); close it after use."""
    found = read(data_dir)
    if found is None:
        return None
    server = LocalServer(found, transport=transport)
    if server.serves(data_dir):
        return server
    server.close()
    return None


class LocalServer:
    """Calls of a running server's local endpoints (a context manager)."""

    def __init__(self, found: Discovery, *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = found.url
        self._http = httpx.Client(
            base_url=found.url,
            headers={TOKEN_HEADER: found.token, "Accept-Encoding": "identity"},
            timeout=httpx.Timeout(ANSWER_TIMEOUT_S, read=None),  # simulate runs as long as asked
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def serves(self, data_dir: Path) -> bool:
        """Whether the server answers, takes the token, and serves ``data_dir``."""
        try:
            response = self._http.get(LOCAL_PATH, timeout=ANSWER_TIMEOUT_S)
            document = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return False
        return isinstance(document, dict) and document.get("dataDir") == str(data_dir.resolve())

    def query(self, body: Mapping[str, Any], out: BinaryIO) -> None:
        """Write the query's CSV to ``out`` as the server sends it."""
        try:
            with self._http.stream("POST", LOCAL_PATH + "/query", json=dict(body)) as response:
                if response.status_code != 200:
                    response.read()
                    raise self._refusal(response)
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    out.write(chunk)
        except httpx.HTTPError as exc:
            raise self._lost(exc) from None
        out.flush()

    def simulate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("simulate", body)

    def datagen(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("datagen", body)

    def load(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("load", body)

    def add_field(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("add-field", body)

    def remove_field(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("remove-field", body)

    def _call(self, command: str, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(f"{LOCAL_PATH}/{command}", json=dict(body))
        except httpx.HTTPError as exc:
            raise self._lost(exc) from None
        if response.status_code != 200:
            raise self._refusal(response)
        document: dict[str, Any] = response.json()
        return document

    def _lost(self, exc: httpx.HTTPError) -> Unavailable:
        return Unavailable(
            f"the server at {self.url} stopped answering ({exc or type(exc).__name__}); "
            "see its log, and run the command again"
        )

    def _refusal(self, response: httpx.Response) -> Exception:
        try:
            found = response.json().get("error")
        except (ValueError, AttributeError):
            found = None
        if response.status_code < 500 and isinstance(found, dict) and found.get("message"):
            excerpt = found.get("excerpt")
            return Refused(str(found["message"]), excerpt if isinstance(excerpt, str) else None)
        return Unavailable(
            f"the server at {self.url} failed to run the command (HTTP {response.status_code}); "
            "see its log"
        )
