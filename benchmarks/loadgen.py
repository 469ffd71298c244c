"""A tiny keep-alive HTTP/1.1 load generator on asyncio streams.

It spends a few microseconds of CPU per request, so on a 2-core machine the server under test,
not the client, sets the pace (a general-purpose client would take a core for itself).
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]  # nearest rank


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _client(
    host: str, port: int, request: bytes, deadline: float, result: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            if status != 200:
                result.errors += 1
            else:
                result.latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


def poll(
    host: str, port: int, path: str, *, user: str, password: str, clients: int, seconds: float
) -> LoadResult:
    """``clients`` connections each GETting ``path`` back to back for ``seconds``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {token}\r\n\r\n"
    ).encode()
    result = LoadResult()

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(
            *(_client(host, port, request, deadline, result) for _ in range(clients))
        )
        result.seconds = time.perf_counter() - started

    asyncio.run(run())
    return result
