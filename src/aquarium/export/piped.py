"""The engine writes into a pipe and a reader thread consumes the CSV as it is written.

A gzip, zip or segmented result used to cost the whole plain CSV on disk first (about 52 GB
for 100 million invoice items), then a second copy for segments. Instead the path the engine
is given is a FIFO (``os.mkfifo``, at the same temporary name, so the runner's sweep of
temporaries still finds a leftover one), and a reader thread packages what comes out of it.

How nothing blocks forever, whichever side fails:

- The read end is opened first, non-blocking (it never waits for a writer), then a *keeper*
  write end is opened here: the engine's own open() never waits for a reader, and the reader
  never sees end-of-file before :func:`run` closes the keeper, after the engine returned (the
  engine has then closed its end too, or, for an interrupted DuckDB ``COPY``, may close it
  later: the reader is not waiting for that, see the next point).
- The reader waits for bytes with ``select`` in short turns, so when the engine fails or is
  interrupted it is told to stop (``abandoned``) and does, within :data:`POLL_S`.
- A reader that fails (disk full, a packager that raised) closes the read end at once: an
  engine writing gets EPIPE (Python ignores SIGPIPE, for DuckDB's threads too) instead of
  waiting on a full pipe. The reader only fails after it has read bytes, so the engine has
  opened its end by then and cannot be left waiting in open(). The error that reaches the
  caller is the reader's; the engine's broken pipe is only its context.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

from aquarium.export import follower

POLL_S = 0.05  # seconds a reader waits for bytes before it looks whether it was abandoned
PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size; a pipe holds 64 KiB unless asked
CHUNK_BYTES = follower.CHUNK_BYTES

Result = TypeVar("Result")


class Abandoned(Exception):
    """The export was stopped: the reader (or a packager) ends without finishing its work."""


class EngineStopped(Abandoned):
    """The engine failed or was interrupted: its error is the one to raise, not this."""


class PipeStream(io.RawIOBase):
    """The read end of the FIFO as a raw stream: waits for bytes until every writer is gone
    (end of file), counts rows and bytes for ``progress`` like :class:`follower.FileFollower`
    and raises :class:`EngineStopped` once ``abandoned`` is set. ``check`` is called before every
    read: what it raises stops the reader (a packager working beside it that failed)."""

    def __init__(
        self,
        fd: int,
        abandoned: threading.Event,
        progress: follower.Progress | None,
        interval_s: float,
        check: Callable[[], None] | None,
    ) -> None:
        super().__init__()
        self._check = check
        self._fd = fd
        self._abandoned = abandoned
        self._progress = progress
        self._interval_s = interval_s
        self._next_report = time.monotonic() + interval_s
        self.counted = follower.RowCounter()

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        while True:
            if self._abandoned.is_set():
                raise EngineStopped("the engine stopped writing")
            if self._check is not None:
                self._check()
            try:
                count = os.readv(self._fd, [buffer])
            except BlockingIOError:
                select.select([self._fd], [], [], POLL_S)
                continue
            if self._progress is not None:
                self.counted.take(memoryview(buffer)[:count])
                if time.monotonic() >= self._next_report:
                    self._report()
            return count

    def _report(self) -> None:
        assert self._progress is not None
        try:
            self._progress(self.counted.rows(), self.counted.size)
        except Exception:  # advisory, as in follower.FileFollower
            self._progress = None
        self._next_report = time.monotonic() + self._interval_s

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


class _Reader(threading.Thread, Generic[Result]):
    def __init__(self, stream: PipeStream, consume: Callable[[BinaryIO], Result]) -> None:
        super().__init__(name="aquarium-pipe-reader", daemon=True)
        self.stream = stream
        self.consume = consume
        self.result: Result | None = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with io.BufferedReader(self.stream, CHUNK_BYTES) as buffered:
                self.result = self.consume(buffered)
        except BaseException as exc:  # raised by run(), in the caller's thread
            self.failure = exc
        finally:
            self.stream.close()  # an engine still writing gets EPIPE, not a full pipe


def run(
    path: Path,
    write: Callable[[Path], int],
    consume: Callable[[BinaryIO], Result],
    *,
    progress: follower.Progress | None = None,
    interval_s: float | None = None,
    check: Callable[[], None] | None = None,
) -> tuple[int, Result]:
    """Make a FIFO at ``path``, run ``write(path)`` (the engine: it returns the rows written)
    in this thread while ``consume`` reads the stream in another; ``(rows, consume's result)``.
    ``progress`` hears the rows and bytes read so far, ``check`` is asked before every read
    (:class:`PipeStream`).

    ``consume`` must stop where :class:`EngineStopped` reaches it and leave no file of its own
    behind when it raises. The FIFO is removed in every case. Raises the reader's error when
    the reader failed (an engine then failing on the closed pipe is only its cause), otherwise
    the engine's.
    """
    os.mkfifo(path, 0o600)
    try:
        read_fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            keeper = os.open(path, os.O_WRONLY)
        except BaseException:
            os.close(read_fd)
            raise
        with contextlib.suppress(OSError):  # EPERM past the user's pipe-max-size: keep 64 KiB
            fcntl.fcntl(read_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        abandoned = threading.Event()
        interval = follower.PROGRESS_S if interval_s is None else interval_s
        stream = PipeStream(read_fd, abandoned, progress, interval, check)
        reader: _Reader[Result] = _Reader(stream, consume)
        try:
            reader.start()
        except BaseException:
            stream.close()
            os.close(keeper)
            raise
        try:
            rows = write(path)
        except BaseException as engine_error:
            abandoned.set()
            os.close(keeper)
            reader.join()
            if reader.failure is not None and not isinstance(reader.failure, EngineStopped):
                raise reader.failure from engine_error
            raise
        os.close(keeper)
        reader.join()
        if reader.failure is not None:
            raise reader.failure
        return rows, reader.result  # type: ignore[return-value]
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
