"""Write one batch's result file: the engine's COPY, packaged as it is written, then the SHA-256.

The engine writes plain CSV with its own bulk writer. For ``gzip`` and ``zip`` it writes into a
pipe (:mod:`piped`) and the reader compresses as it reads (constant memory, and no plain copy
of the result on disk); with ``encrypt_to`` the packaged file is then PGP-encrypted (:mod:`pgp`:
compress first, then encrypt). The checksum and size are of the bytes a client downloads. For
plain CSV the engine writes the final file itself, and the checksum is computed while it writes
(``follower.FileFollower`` follows the growing file, and counts its progress in the same read).
Segmented results (:mod:`segments`) package each segment with :func:`package`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from aquarium.engines import base
from aquarium.export import follower, pgp, piped
from aquarium.zoql import lower

CHUNK_BYTES = follower.CHUNK_BYTES
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


Progress = follower.Progress


def zip_entry_name(query_name: str) -> str:
    """``<query name>.csv``, with path separators and control characters made ``_``: unzipping
    a result never writes outside the folder it is unzipped in (``../x`` stays one file)."""
    safe = "".join("_" if char in "/\\" or ord(char) < 0x20 else char for char in query_name)
    return f"{safe}.csv"


@contextlib.contextmanager
def packaging(packed: Path, *, file_format: str, query_name: str) -> Iterator[BinaryIO]:
    """A stream whose bytes become ``packed``, packaged as ``file_format`` as they are written
    (constant memory; the zip entry is Zip64 since its size is not known in advance)."""
    if file_format == "GZIP":
        with gzip.open(packed, "wb", compresslevel=6) as packed_gzip:
            yield cast(BinaryIO, packed_gzip)
    elif file_format == "ZIP":
        entry = zipfile.ZipInfo(zip_entry_name(query_name), time.localtime()[:6])
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = (stat.S_IFREG | 0o644) << 16
        with (
            zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive,
            archive.open(entry, "w", force_zip64=True) as packed_entry,
        ):
            yield cast(BinaryIO, packed_entry)
    else:
        with packed.open("wb", buffering=CHUNK_BYTES) as packed_plain:
            yield packed_plain


def packed_path(target: Path, encrypt_to: str | None) -> Path:
    """Where the packaged file is written: ``target`` itself, or beside it when it is then
    encrypted into ``target``."""
    return target if encrypt_to is None else target.with_name(target.name + ".packed")


def seal(
    packed: Path,
    target: Path,
    *,
    file_format: str,
    record_count: int,
    encrypt_to: str | None,
    sha256: str | None = None,
) -> WrittenFile:
    """Encrypt the packaged ``packed`` into ``target`` when ``encrypt_to`` is given (``packed``
    is removed), and describe ``target`` (``sha256`` when the caller hashed it already).

    Raises :class:`errors.EncryptionFailed` when encryption is asked for and fails.
    """
    if encrypt_to is not None:
        try:
            pgp.encrypt_file(packed, target, encrypt_to)
        finally:
            with contextlib.suppress(FileNotFoundError):
                packed.unlink()
        sha256 = None
    return WrittenFile(
        path=target,
        record_count=record_count,
        size=target.stat().st_size,
        sha256=sha256 or sha256_of(target),
        content_type=pgp.CONTENT_TYPE if encrypt_to is not None else CONTENT_TYPES[file_format],
    )


def package(
    plain: Path,
    target: Path,
    *,
    file_format: str,
    query_name: str,
    record_count: int,
    encrypt_to: str | None = None,
    stopped: Callable[[], bool] | None = None,
) -> WrittenFile:
    """Turn the plain CSV ``plain`` into ``target``: packaged as ``file_format``, then encrypted
    to the armoured public key ``encrypt_to`` unless it is None. ``plain`` is consumed (moved or
    removed). ``stopped`` is asked between chunks: when it says yes, packaging ends with
    :class:`piped.Abandoned` (a cancelled job does not wait for a whole segment's gzip).

    Raises :class:`errors.EncryptionFailed` when encryption is asked for and fails.
    """
    packed = packed_path(target, encrypt_to)
    try:
        if file_format in ("GZIP", "ZIP"):
            with (
                plain.open("rb") as source,
                packaging(packed, file_format=file_format, query_name=query_name) as out,
            ):
                while chunk := source.read(CHUNK_BYTES):
                    if stopped is not None and stopped():
                        raise piped.Abandoned("packaging was stopped")
                    out.write(chunk)
        else:
            plain.replace(packed)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            packed.unlink()
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            plain.unlink()
    return seal(
        packed, target, file_format=file_format, record_count=record_count, encrypt_to=encrypt_to
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
        # The file clients download is the one the engine writes: hash it as it grows.
        reader = follower.FileFollower(target, hash_it=True, progress=progress)
        try:
            rows = snapshot.copy_csv(query, target, csv)
        except BaseException:
            reader.abandon()
            raise
        sha256 = reader.finish()
        assert sha256 is not None
        return WrittenFile(
            path=target,
            record_count=rows,
            size=target.stat().st_size,
            sha256=sha256,
            content_type=CONTENT_TYPES[file_format],
        )
    # The engine writes into a pipe and the file is packaged as it is read (piped.py): no
    # plain copy of the whole result on disk. The FIFO takes the name the plain CSV had.
    packed = packed_path(target, encrypt_to)

    def pack(stream: BinaryIO) -> None:
        try:
            with packaging(packed, file_format=file_format, query_name=query_name) as out:
                while chunk := stream.read(CHUNK_BYTES):
                    out.write(chunk)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                packed.unlink()
            raise

    rows, _ = piped.run(
        target.with_name(target.name + ".csv"),
        lambda fifo: snapshot.copy_csv(query, fifo, dataclasses.replace(csv, paced=True)),
        pack,
        progress=progress,
    )
    return seal(packed, target, file_format=file_format, record_count=rows, encrypt_to=encrypt_to)
