"""Where a server's export spends its time: py-spy samples a real server process while it runs
the AQuA benchmark's export (``select * from InvoiceItem``, scale 50), every thread, 100 times a
second (idle threads are not sampled); the samples are summed by the Python function on top of
each stack (time inside DuckDB counts against the Python call that entered it, e.g. ``_run``).

``python -m benchmarks profile-export`` prints the top functions by share of samples, split into
the threads that ran the export and the rest (the API's event loop, the runner's pulse).
"""

from __future__ import annotations

import collections
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks import bench_aqua
from benchmarks.server_process import ServerProcess

RATE = 100  # samples per second
TOP = 12


def _leaf(stack: str) -> str:
    """``function (file:line)`` of a collapsed stack's innermost frame, without the line."""
    frame = stack.rsplit(";", 1)[-1]
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].rsplit('/', 1)[-1]})" if where else name


def summarize(collapsed: str) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    """(all samples, samples by leaf in export threads, samples by leaf elsewhere) from
    py-spy's raw (collapsed) output: ``thread;frame;frame count`` per line."""
    export: collections.Counter[str] = collections.Counter()
    other: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        exporting = "ranged_copy" in stack or "copy_csv" in stack or "write_result" in stack
        (export if exporting else other)[_leaf(stack)] += samples
    return total, export, other


def run() -> str:
    data_dir = bench_aqua._data_dir()
    with (
        ServerProcess(data_dir) as server,
        httpx.Client(base_url=server.url, auth=bench_aqua.AUTH, timeout=600) as client,
        tempfile.TemporaryDirectory() as scratch,
    ):
        assert server.process is not None
        bench_aqua._export(client)  # warm: the first export reads the file from disk
        out = Path(scratch) / "profile.txt"
        command = [
            str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
            str(server.process.pid), "--rate", str(RATE), "--format", "raw", "--threads",
            "--nonblocking", "--output", str(out), "--duration", "600",
        ]  # fmt: skip
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # py-spy attached
        result: list[tuple[float, int]] = []
        worker = threading.Thread(target=lambda: result.append(bench_aqua._export(client)))
        worker.start()
        worker.join()
        spy.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
        spy.wait(60)
        total, export, rest = summarize(out.read_text())
    seconds, rows = result[0]
    in_export = sum(export.values())
    lines = [
        f"### Profile of one export (py-spy, {RATE} Hz, every thread): {rows:,} rows in "
        f"{seconds:.1f} s",
        "",
        f"{total:,} samples of running threads (py-spy leaves idle ones out): {in_export:,} "
        f"in the export's thread, {total - in_export:,} elsewhere in the server.",
        "",
        "| where (innermost Python frame) | share of the export's samples |",
        "|---|---|",
    ]
    for name, count in export.most_common(TOP):
        lines.append(f"| `{name}` | {count / max(in_export, 1):.1%} |")
    lines += ["", "| elsewhere in the server (innermost Python frame) | samples |", "|---|---|"]
    for name, count in rest.most_common(TOP):
        lines.append(f"| `{name}` | {count:,} |")
    return "\n".join(lines)
