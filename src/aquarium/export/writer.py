"""Write one batch's result file: the engine's COPY, then packaging, then the SHA-256.

The engine writes plain CSV with its own bulk writer; ``gzip`` and ``zip`` wrap it by streaming
(constant memory). The checksum and size are of the bytes a client downloads.
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


def _gzip(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, CHUNK_BYTES)


def _zip(source: Path, target: Path, entry_name: str) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(source, arcname=entry_name)


def write_result(
    snapshot: base.Snapshot,
    query: lower.LoweredQuery,
    target: Path,
    *,
    file_format: str,
    query_name: str,
    csv: base.CsvOptions,
) -> WrittenFile:
    """Run ``query`` into ``target`` packaged as ``file_format`` (CSV, GZIP or ZIP)."""
    if file_format == "CSV":
        rows = snapshot.copy_csv(query, target, csv)
    else:
        plain = target.with_name(target.name + ".csv")
        try:
            rows = snapshot.copy_csv(query, plain, csv)
            if file_format == "GZIP":
                _gzip(plain, target)
            else:
                _zip(plain, target, f"{query_name}.csv")
        finally:
            with contextlib.suppress(FileNotFoundError):
                plain.unlink()
    return WrittenFile(
        path=target,
        record_count=rows,
        size=target.stat().st_size,
        sha256=sha256_of(target),
        content_type=CONTENT_TYPES[file_format],
    )
