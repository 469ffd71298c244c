"""File segmentation: one batch's result as several files of at most N records each.

Zuora (reference §6): a tenant switch; only full loads of stateful jobs are segmented (an
incremental load or a stateless job always gets one ``fileId``), and not when the query uses
a function or an alias. Each segment holds at most ``segment_rows`` records (500,000 unless the
tenant's limit says otherwise) and starts with the header row; the batch then answers
``segments: [ids...]`` instead of ``fileId``. An empty result is one segment holding the header.

The engine writes the CSV once (its own bulk writer, in the job's snapshot) into a pipe
(:mod:`piped`), and a reader cuts it into segments as it is written, so the whole plain CSV
is never on disk: a segment is handed to a packager thread as soon as it is complete, and is
gzipped (zipped, encrypted) beside the reader while the reader writes the next one.

Records are told apart from lines by counting quotes: RFC 4180 doubles a quote inside a quoted
field, so a record ends at the first line end where the number of quotes seen since the record
began is even (a quoted field may hold a newline). Each segment is packaged (and encrypted)
like a whole file, by :func:`writer.package`. Disk at any
moment: the packaged segments, one plain segment being packaged and one being written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aquarium.domain import errors
from aquarium.engines import base
from aquarium.export import piped, writer
from aquarium.zoql import ast, lower, parse

QUOTE = ord('"')
WRITE_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True)
class Segment:
    """One written, packaged segment and the id it will be published under."""

    file_id: str
    written: writer.WrittenFile


def applies(*, enabled: bool, stateful: bool, full: bool, query: str, dialect: ast.Dialect) -> bool:
    """Whether a batch's result is segmented (Zuora's rules, module docstring).

    A query that does not parse is not segmented (it fails later, with its own error).
    """
    if not (enabled and stateful and full):
        return False
    try:
        statement = parse.parse(query, dialect)
    except errors.ZoqlError:
        return False
    return all(
        item.alias is None and not isinstance(item.expr, ast.Call) for item in statement.select
    )


def records(handle: BinaryIO) -> Iterator[bytes]:
    """The CSV records of ``handle``, each with its line end(s), in order."""
    pending: list[bytes] = []
    inside = False  # within a quoted field that continues on the next line
    for line in handle:
        if line.count(QUOTE) % 2:
            inside = not inside
        if inside:
            pending.append(line)
            continue
        if pending:
            pending.append(line)
            yield b"".join(pending)
            pending.clear()
        else:
            yield line
    if pending:  # an unterminated quoted field: give it back as written
        yield b"".join(pending)


def split(
    source: Path, targets: Callable[[], Path], rows_per_segment: int
) -> list[tuple[Path, int]]:
    """Cut the CSV ``source`` (header first) into files of at most ``rows_per_segment`` records
    plus the header; ``targets()`` names each next file. Returns ``(path, records)`` in order,
    always at least one (an empty result is its header alone)."""
    written: list[tuple[Path, int]] = []
    with source.open("rb") as handle:
        cut(handle, targets, rows_per_segment, lambda path, count: written.append((path, count)))
    return written


def cut(
    handle: BinaryIO,
    targets: Callable[[], Path],
    rows_per_segment: int,
    completed: Callable[[Path, int], None],
) -> None:
    """Cut the CSV read from ``handle`` as :func:`split` does, telling ``completed(path,
    records)`` of each file once it is written and closed, in order, at least once."""
    if rows_per_segment < 1:
        raise ValueError(f"rows_per_segment must be at least 1, not {rows_per_segment}")
    rows = records(handle)
    header = next(rows, b"")
    out: BinaryIO | None = None
    count = 0
    try:
        for record in rows:
            if out is None or count == rows_per_segment:
                if out is not None:
                    out.close()
                    completed(Path(out.name), count)
                out = _open(targets(), header)
                count = 0
            out.write(record)
            count += 1
        if out is None:
            out = _open(targets(), header)
        out.close()
        completed(Path(out.name), count)
    finally:
        if out is not None and not out.closed:
            out.close()


def _open(path: Path, header: bytes) -> BinaryIO:
    out = path.open("wb", buffering=WRITE_BUFFER_BYTES)
    out.write(header)
    return out


class _Packager(threading.Thread):
    """Packages each complete plain segment beside the reader that cuts them, so the engine
    never waits for a segment's gzip unless the next one is complete too (then the reader
    waits: at most one segment waits for packaging while the next is written)."""

    def __init__(
        self,
        package_one: Callable[[Path, int], Segment],
        run_stopped: Callable[[], bool] | None,
    ) -> None:
        super().__init__(name="aquarium-segment-packager", daemon=True)
        self._package_one = package_one
        self._run_stopped = run_stopped
        self._pending: queue.SimpleQueue[tuple[Path, int] | None] = queue.SimpleQueue()
        self._free = threading.Semaphore(1)
        self.stopping = threading.Event()
        self.packaged: list[Segment] = []
        self.failure: BaseException | None = None

    def hand(self, plain: Path, count: int) -> None:
        """Queue ``plain`` once the previous segment is packaged; raises the packager's error."""
        while not self._free.acquire(timeout=piped.POLL_S):
            self.check()
        self.check()
        self._pending.put((plain, count))

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def stopped(self) -> bool:
        """Whether packaging should end now: the reader stopped, or the run was (a cancel
        does not wait for a segment's gzip while the engine waits on a full pipe)."""
        return self.stopping.is_set() or (self._run_stopped is not None and self._run_stopped())

    def run(self) -> None:
        while (item := self._pending.get()) is not None:
            try:
                self.packaged.append(self._package_one(*item))
            except BaseException as exc:  # raised by the reader before its next read
                if not self.stopping.is_set():
                    self.failure = exc
                return
            finally:
                self._free.release()

    def finish(self) -> list[Segment]:
        """Wait for the queued segments; the packaged ones in order."""
        self._pending.put(None)
        self.join()
        self.check()
        return self.packaged

    def stop(self) -> None:
        """Abandon the queued segment and the one being packaged."""
        self.stopping.set()
        self._pending.put(None)
        self.join()


def write_segments(
    snapshot: base.Snapshot,
    query: lower.LoweredQuery,
    scratch: Path,
    new_file: Callable[[], tuple[str, Path]],
    *,
    file_format: str,
    query_name: str,
    csv: base.CsvOptions,
    rows_per_segment: int,
    encrypt_to: str | None = None,
    progress: writer.Progress | None = None,
    stopped: Callable[[], bool] | None = None,
) -> list[Segment]:
    """Run ``query`` into a pipe at ``scratch`` (removed afterwards) and cut what it writes into
    segments, each packaged as soon as it is complete; ``progress`` hears how far the engine has
    written. ``stopped`` says the run was stopped: the segment being packaged is abandoned (the
    engine's interrupt cannot reach it while it waits on a full pipe), and the export ends with
    the engine's error or :class:`piped.Abandoned`.

    ``new_file()`` gives each segment's id and the temporary path to write it to; on failure
    the caller discards those paths (the partial segments are there).
    """
    ids: dict[Path, str] = {}

    def target() -> Path:
        file_id, path = new_file()
        plain = path.with_name(path.name + ".csv")
        ids[plain] = file_id
        return plain

    def package_one(plain: Path, count: int) -> Segment:
        return Segment(
            ids[plain],
            writer.package(
                plain,
                plain.with_name(plain.name.removesuffix(".csv")),
                file_format=file_format,
                query_name=query_name,
                record_count=count,
                encrypt_to=encrypt_to,
                stopped=packager.stopped,
            ),
        )

    packager = _Packager(package_one, stopped)

    def cut_and_package(stream: BinaryIO) -> list[Segment]:
        packager.start()
        try:
            cut(stream, target, rows_per_segment, packager.hand)
        except BaseException:
            packager.stop()
            packager.check()  # the packager's error, when it is why the reader stopped
            raise
        return packager.finish()

    try:
        _, written = piped.run(
            scratch,
            lambda fifo: snapshot.copy_csv(query, fifo, dataclasses.replace(csv, paced=True)),
            cut_and_package,
            progress=progress,
            check=packager.check,
        )
        return written
    finally:
        # Any plain segment not yet packaged (after a failure).
        for leftover in ids:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
