"""Real ``aquarium`` processes for benchmarks: start, wait until ready, read RSS, stop."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from aquarium import storage


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    def __init__(self, data_dir: Path, *, workers: int = 2) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log = data_dir / "server.log"
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            "aquarium",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"server did not start; log:\n{self.log.read_text()}")

    def peak_rss_mb(self) -> float:
        """The process's peak resident set size so far (VmHWM), in MiB."""
        assert self.process is not None
        return peak_rss_mb(self.process.pid)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        # The jobs' result files (gigabytes a run at scale 50; runs piled up 29 GB once and
        # filled the disk): no benchmark reads a file of an earlier run. Their jobs stay in the
        # metadata, whose file rows the server's retention sweep drops in time.
        shutil.rmtree(self.data_dir / storage.RESULTS_DIR, ignore_errors=True)


def env_scale(default: float) -> float:
    return float(os.environ.get("AQUARIUM_BENCH_SCALE", default))


def peak_rss_mb(pid: int) -> float:
    """Process ``pid``'s peak resident set size so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class NodeProcess:
    """Any ``aquarium`` process (a scale-out API node or worker): started by :meth:`start`, ready
    when ``url``'s ``/healthz`` answers or when its log holds ``ready``; SIGTERM to stop."""

    def __init__(self, command: list[str], log: Path, url: str = "", ready: str = "") -> None:
        self.command, self.log, self.url, self.ready = command, log, url, ready
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> NodeProcess:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            if self._is_ready():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.command[3]} did not start; log:\n{self.log.read_text()}")

    def _is_ready(self) -> bool:
        if self.ready:
            return self.ready in self.log.read_text(errors="replace")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def peak_rss_mb(self) -> float:
        assert self.process is not None
        return peak_rss_mb(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
