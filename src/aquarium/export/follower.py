"""Follow a file while an engine writes it: its SHA-256 and its progress, in one reader.

Engines write CSV strictly front to back, so the bytes already on disk are final: one thread
reads each new byte once, feeds the checksum (when asked) and, every :data:`PROGRESS_S`, tells
``progress`` how many rows (lines past the header; generated text holds no raw line breaks,
CONTRACT.md) and bytes are written so far. Nothing reads the file twice.

Rows so far are counted by :class:`RowCounter`, exactly: counting every line end costs about
1.1 s of CPU on a 2.5 GB export (beside 1.65 s of SHA-256), but an estimate from sampled chunks
overshot the final count (98,840 shown for 98,821 rows), and a progress past the total is wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

CHUNK_BYTES = 1 << 20
POLL_S = 0.05  # seconds to wait at the current end of the file for more bytes
PROGRESS_S = 1.0  # seconds between progress reports of a growing file

Progress = Callable[[int, int], None]  #: (rows written so far, bytes written so far)


class RowCounter:
    """Rows (lines past the header) and bytes of a CSV seen chunk by chunk, front to back."""

    def __init__(self) -> None:
        self.size = 0
        self._lines = 0

    def take(self, chunk: bytes | bytearray | memoryview) -> None:
        counted = chunk if isinstance(chunk, bytes | bytearray) else bytes(chunk)
        self._lines += counted.count(b"\n")
        self.size += len(chunk)

    def rows(self) -> int:
        """The rows written so far."""
        return max(self._lines - 1, 0)


class FileFollower:
    """Reads ``path`` as it grows until :meth:`finish` (or :meth:`abandon`) is called.

    ``hash_it`` makes :meth:`finish` return the SHA-256 of the whole file; ``progress`` (when
    given) hears ``(rows, bytes)`` about every ``interval_s``. A progress callback that raises
    is dropped (progress is advisory and must never break an export); a read error is raised
    by :meth:`finish` in the caller's thread.
    """

    def __init__(
        self,
        path: Path,
        *,
        hash_it: bool,
        progress: Progress | None = None,
        interval_s: float | None = None,
    ) -> None:
        self.path = path
        self._digest = hashlib.sha256() if hash_it else None
        self._progress = progress
        self._interval_s = PROGRESS_S if interval_s is None else interval_s
        self._counter = RowCounter()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._follow, name="aquarium-follow", daemon=True)
        self._thread.start()

    def _take(self, chunk: bytes) -> None:
        if self._digest is not None:
            self._digest.update(chunk)
        if self._progress is not None:
            self._counter.take(chunk)

    def _report(self) -> None:
        if self._progress is None:
            return
        try:
            self._progress(self._counter.rows(), self._counter.size)
        except Exception:
            self._progress = None

    def _follow(self) -> None:
        try:
            while not self.path.exists():
                if self._done.wait(POLL_S):
                    break
            if not self.path.exists():
                return
            next_report = time.monotonic() + self._interval_s
            with self.path.open("rb") as handle:
                while True:
                    chunk = handle.read(CHUNK_BYTES)
                    if chunk:
                        self._take(chunk)
                    elif self._done.is_set():
                        # The writer has finished: one last read catches its final bytes.
                        while chunk := handle.read(CHUNK_BYTES):
                            self._take(chunk)
                        return
                    else:
                        self._done.wait(POLL_S)
                    if time.monotonic() >= next_report:
                        self._report()
                        next_report = time.monotonic() + self._interval_s
        except BaseException as exc:  # reported by finish(), in the caller's thread
            self._error = exc

    def finish(self) -> str | None:
        """Call once the writer is done; the SHA-256 of the whole file (None unless hashing)."""
        self._done.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return None if self._digest is None else self._digest.hexdigest()

    def abandon(self) -> None:
        """The write failed: stop following."""
        self._done.set()
        self._thread.join()


@contextlib.contextmanager
def following(path: Path, progress: Progress | None) -> Iterator[None]:
    """Report the progress of the file at ``path`` while the block writes it (nothing when
    ``progress`` is None)."""
    if progress is None:
        yield
        return
    follower = FileFollower(path, hash_it=False, progress=progress)
    try:
        yield
    finally:
        follower.abandon()
