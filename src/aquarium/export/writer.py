"""Write one batch's result file: the engine's COPY, then packaging, then the SHA-256.

The engine writes plain CSV with its own bulk writer; ``gzip`` and ``zip`` wrap it by streaming
(constant memory); with ``encrypt_to`` the packaged file is then PGP-encrypted (:mod:`pgp`:
compress first, then encrypt). The checksum and size are of the bytes a client downloads. For
plain CSV the checksum is computed while the engine writes (:class:`TailHasher` follows the
growing file), so hashing a multi-gigabyte export adds almost nothing to the job's time.
Segmented results (:mod:`segments`) package each segment with :func:`package`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aquarium.engines import base
from aquarium.export import pgp
from aquarium.zoql import lower

CHUNK_BYTES = 1 << 20
CONTENT_TYPES = {
    "CSV": "text/csv;charset=UTF-8",
    "GZIP": "application/x-gzip;charset=UTF-8",
    "ZIP": "application/zip;charset=UTF-8",
}


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    record_count: int
    size: int
    sha256: str
    content_type: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class TailHasher:
    """Hashes a file while another writer appends to it; :meth:`finish` returns the digest.

    Engines write CSV strictly front to back, so the bytes already on disk are final.
    """

    POLL_S = 0.05  # seconds to wait at the current end of the file for more bytes

    def __init__(self, path: Path) -> None:
        self.path = path
        self._digest = hashlib.sha256()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._follow, name="aquarium-hash", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        try:
            while not self.path.exists():
                if self._done.wait(self.POLL_S):
                    break
            if not self.path.exists():
                return
            with self.path.open("rb") as handle:
                while True:
                    chunk = handle.read(CHUNK_BYTES)
                    if chunk:
                        self._digest.update(chunk)
                    elif self._done.is_set():
                        # The writer has finished: one last read catches its final bytes.
                        while chunk := handle.read(CHUNK_BYTES):
                            self._digest.update(chunk)
                        return
                    else:
                        self._done.wait(self.POLL_S)
        except BaseException as exc:  # reported by finish(), in the caller's thread
            self._error = exc

    def finish(self) -> str:
        """Call once the writer is done; the SHA-256 of the whole file."""
        self._done.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()

    def abandon(self) -> None:
        """The write failed: stop following."""
        self._done.set()
        self._thread.join()


Progress = Callable[[int, int], None]  #: (rows written so far, bytes written so far)
PROGRESS_S = 1.0  # seconds between progress reports of a growing result


class ProgressWatcher:
    """Reports how far an engine has written a CSV file, about every :data:`PROGRESS_S`.

    Rows are the lines past the header (generated text holds no raw line breaks; CONTRACT.md),
    counted on the bytes already on disk, which engines write strictly front to back. Only
    what is new since the last look is read.
    """

    def __init__(self, path: Path, report: Progress, interval_s: float | None = None) -> None:
        self.path = path
        self.report = report
        self.interval_s = PROGRESS_S if interval_s is None else interval_s
        self._lines = 0
        self._size = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="aquarium-progress", daemon=True)
        self._thread.start()

    def _look(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._size)
                while chunk := handle.read(CHUNK_BYTES):
                    self._lines += chunk.count(b"\n")
                    self._size += len(chunk)
        except FileNotFoundError:
            return
        self.report(max(self._lines - 1, 0), self._size)

    def _watch(self) -> None:
        while not self._done.wait(self.interval_s):
            try:
                self._look()
            except Exception:  # progress is advisory: never let it break an export
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


@contextlib.contextmanager
def watching(path: Path, report: Progress | None) -> Iterator[None]:
    """Report progress of the file at ``path`` while the block runs (nothing when ``report``
    is None)."""
    if report is None:
        yield
        return
    watcher = ProgressWatcher(path, report)
    try:
        yield
    finally:
        watcher.stop()


def _gzip(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, CHUNK_BYTES)


def _zip(source: Path, target: Path, entry_name: str) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(source, arcname=entry_name)


def package(
    plain: Path,
    target: Path,
    *,
    file_format: str,
    query_name: str,
    record_count: int,
    encrypt_to: str | None = None,
) -> WrittenFile:
    """Turn the plain CSV ``plain`` into ``target``: packaged as ``file_format``, then encrypted
    to the armoured public key ``encrypt_to`` unless it is None. ``plain`` is consumed (moved or
    removed).

    Raises :class:`errors.EncryptionFailed` when encryption is asked for and fails.
    """
    encrypt = encrypt_to is not None
    packed = target.with_name(target.name + ".packed") if encrypt else target
    try:
        if file_format == "GZIP":
            _gzip(plain, packed)
        elif file_format == "ZIP":
            _zip(plain, packed, f"{query_name}.csv")
        else:
            plain.replace(packed)
        if encrypt:
            pgp.encrypt_file(packed, target, encrypt_to)
    finally:
        for leftover in (plain, packed) if encrypt else (plain,):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return WrittenFile(
        path=target,
        record_count=record_count,
        size=target.stat().st_size,
        sha256=sha256_of(target),
        content_type=pgp.CONTENT_TYPE if encrypt else CONTENT_TYPES[file_format],
    )


def write_result(
    snapshot: base.Snapshot,
    query: lower.LoweredQuery,
    target: Path,
    *,
    file_format: str,
    query_name: str,
    csv: base.CsvOptions,
    encrypt_to: str | None = None,
    progress: Progress | None = None,
) -> WrittenFile:
    """Run ``query`` into ``target`` packaged as ``file_format`` (CSV, GZIP or ZIP), then
    encrypted to the armoured public key ``encrypt_to`` unless it is None (see :func:`package`).
    ``progress`` hears how far the engine has written while it writes.
    """
    if file_format == "CSV" and encrypt_to is None:
        hasher = TailHasher(target)
        try:
            with watching(target, progress):
                rows = snapshot.copy_csv(query, target, csv)
        except BaseException:
            hasher.abandon()
            raise
        return WrittenFile(
            path=target,
            record_count=rows,
            size=target.stat().st_size,
            sha256=hasher.finish(),
            content_type=CONTENT_TYPES[file_format],
        )
    plain = target.with_name(target.name + ".csv")
    try:
        with watching(plain, progress):
            rows = snapshot.copy_csv(query, plain, csv)
        return package(
            plain,
            target,
            file_format=file_format,
            query_name=query_name,
            record_count=rows,
            encrypt_to=encrypt_to,
        )
    finally:
        with contextlib.suppress(FileNotFoundError):
            plain.unlink()
