"""Write one batch's result file: the engine's COPY, then packaging, then the SHA-256.

The engine writes plain CSV with its own bulk writer; ``gzip`` and ``zip`` wrap it by streaming
(constant memory); with ``encrypt_to`` the packaged file is then PGP-encrypted (:mod:`pgp`:
compress first, then encrypt). The checksum and size are of the bytes a client downloads. For
plain CSV the checksum is computed while the engine writes (``follower.FileFollower`` follows
the growing file, and counts its progress in the same read).
Segmented results (:mod:`segments`) package each segment with :func:`package`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from aquarium.engines import base
from aquarium.export import follower, pgp
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


def _gzip(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, CHUNK_BYTES)


def zip_entry_name(query_name: str) -> str:
    """``<query name>.csv``, with path separators and control characters made ``_``: unzipping
    a result never writes outside the folder it is unzipped in (``../x`` stays one file)."""
    safe = "".join("_" if char in "/\\" or ord(char) < 0x20 else char for char in query_name)
    return f"{safe}.csv"


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
            _zip(plain, packed, zip_entry_name(query_name))
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
    plain = target.with_name(target.name + ".csv")
    try:
        with follower.following(plain, progress):
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
