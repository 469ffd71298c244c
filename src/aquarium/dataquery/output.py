"""The result file of a Data Query job: the engine's rows as JSON Lines, CSV, TSV or DSV,
optionally gzip- or zip-compressed, optionally encrypted (dataquery.md 7).

The engine writes the rows with its own writer (``Snapshot.copy_rows``; gzip included); a zip
wraps that file in one entry, and encryption (:mod:`encryption`) wraps the packaged file. Every
stage streams. The file appears at its path only when complete (written under a temporary name,
then renamed); its checksum and size are those of the bytes a client downloads.

Decisions where Zuora is silent (dataquery.md 12.10, 12.11; values: ``engines/row_text.py``):

- JSON is JSON Lines: one compact object per row, keys the column labels; an empty result is an
  empty file. CSV, TSV and DSV start with a header row of the labels, quote a field only when it
  holds the separator, a quote, a return or a line feed (a quote doubled), end lines with
  ``\\n``; a null is an empty field, an empty string ``""``; an empty result is the header alone.
- A zip holds one entry, ``<entry name>.<format extension>`` (``<job id>.csv``).
- Extensions: ``jsonl``, ``csv``, ``tsv``, ``dsv``, then ``.gz`` / ``.zip``, then ``.enc``.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aquarium.dataquery import encryption
from aquarium.engines import base
from aquarium.export import follower, writer

decrypt_file = encryption.decrypt_file


class OutputFormat(enum.StrEnum):
    """``outputFormat`` of a job (wire values)."""

    JSON = "JSON"  #: JSON Lines
    CSV = "CSV"  #: comma-separated, header row
    TSV = "TSV"  #: tab-separated, header row
    DSV = "DSV"  #: separated by the job's ``columnSeparator``, header row


class Compression(enum.StrEnum):
    """``compression`` of a job (wire values)."""

    NONE = "NONE"  #: the file as written
    GZIP = "GZIP"  #: gzip of the file
    ZIP = "ZIP"  #: a zip archive holding the file as its one entry


EXTENSIONS = {
    OutputFormat.JSON: "jsonl",
    OutputFormat.CSV: "csv",
    OutputFormat.TSV: "tsv",
    OutputFormat.DSV: "dsv",
}
COMPRESSED_EXTENSIONS = {Compression.NONE: "", Compression.GZIP: ".gz", Compression.ZIP: ".zip"}
ENCRYPTED_EXTENSION = ".enc"
CONTENT_TYPES = {
    OutputFormat.JSON: "application/x-ndjson",
    OutputFormat.CSV: "text/csv;charset=UTF-8",
    OutputFormat.TSV: "text/tab-separated-values;charset=UTF-8",
    OutputFormat.DSV: "text/plain;charset=UTF-8",
}
COMPRESSED_CONTENT_TYPES = {
    Compression.GZIP: "application/gzip",
    Compression.ZIP: "application/zip",
}
#: Compact, as the engines write (``{"Table":"account"}``), non-ASCII kept as UTF-8.
JSON_OPTIONS: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}
SEPARATORS = {OutputFormat.CSV: ",", OutputFormat.TSV: "\t"}
#: What a column separator may not be: the quote, and what ends a line.
FORBIDDEN_SEPARATORS = {'"': "a double quote", "\r": "a return", "\n": "a line feed"}


@dataclass(frozen=True)
class OutputSpec:
    """How a job's result file is written."""

    format: OutputFormat
    compression: Compression = Compression.NONE
    column_separator: str | None = None  # DSV only (one character, validated by the service)
    encryption_key: str | None = None  # base64 DER RSA public key (check_encryption_key)
    time_zone: str = "UTC"  # IANA zone timestamps are rendered in (the tenant's zone)

    def file_extension(self) -> str:
        """``jsonl``, ``csv.gz``, ``tsv.zip``, ``csv.gz.enc`` ..."""
        extension = EXTENSIONS[self.format] + COMPRESSED_EXTENSIONS[self.compression]
        return extension + (ENCRYPTED_EXTENSION if self.encryption_key else "")

    def content_type(self) -> str:
        """The download's Content-Type: of the outermost layer (encryption, compression)."""
        if self.encryption_key:
            return encryption.CONTENT_TYPE
        return COMPRESSED_CONTENT_TYPES.get(self.compression, CONTENT_TYPES[self.format])

    def delimiter(self) -> str:
        """The field separator of a delimited format; :class:`ValueError` for DSV without one
        (the service requires it). One :func:`check_column_separator` refuses is the engine's
        to refuse (``QueryFailed``: PostgreSQL takes only a one-byte separator)."""
        if self.format is OutputFormat.DSV:
            if not self.column_separator:
                raise ValueError("DSV needs a column separator")
            return self.column_separator
        return SEPARATORS.get(self.format, ",")

    def layout(self, *, gzip: bool) -> base.RowLayout:
        """What the engine writes for this spec (gzip-compressed or not)."""
        if self.format is OutputFormat.JSON:
            return base.RowLayout(base.RowFormat.JSON_LINES, gzip=gzip, time_zone=self.time_zone)
        return base.RowLayout(
            base.RowFormat.DELIMITED,
            delimiter=self.delimiter(),
            gzip=gzip,
            time_zone=self.time_zone,
        )


class StoredRequest(Protocol):
    """What a stored Data Query job says about its file (``dataquery_repo.DataQueryRecord``)."""

    @property
    def output_format(self) -> str: ...
    @property
    def compression(self) -> str: ...
    @property
    def column_separator(self) -> str | None: ...
    @property
    def encryption_key(self) -> str | None: ...


def spec_of(job: StoredRequest, time_zone: str = "UTC") -> OutputSpec:
    """The result file ``job`` asked for, its timestamps in ``time_zone``."""
    return OutputSpec(
        format=OutputFormat(job.output_format),
        compression=Compression(job.compression),
        column_separator=job.column_separator,
        encryption_key=job.encryption_key,
        time_zone=time_zone,
    )


def check_encryption_key(text: str) -> str | None:
    """Why ``text`` is unusable as ``encryptionKey`` (a plain sentence), or None."""
    return encryption.check_key(text)


def check_column_separator(text: str) -> str | None:
    """Why ``text`` is unusable as ``columnSeparator`` (a plain sentence), or None.

    One ASCII character (PostgreSQL's COPY takes no other), not a quote or a line end.
    """
    if len(text) != 1:
        return "columnSeparator must be exactly one character"
    if not text.isascii() or text == "\x00":
        return "columnSeparator must be an ASCII character other than NUL"
    if text in FORBIDDEN_SEPARATORS:
        return f"columnSeparator cannot be {FORBIDDEN_SEPARATORS[text]}"
    return None


def zip_entry_name(entry_name: str, spec: OutputSpec) -> str:
    """``<entry name>.<format extension>``, path separators and control characters made
    ``_``, so that unzipping never writes outside the folder it unzips in."""
    safe = "".join("_" if char in "/\\" or ord(char) < 0x20 else char for char in entry_name)
    return f"{safe}.{EXTENSIONS[spec.format]}"


def _stage(path: Path, name: str) -> Path:
    return path.with_name(f"{path.name}.{name}")


def _finish(written: Path, rows: int, spec: OutputSpec, path: Path, entry_name: str) -> Path:
    """Zip and encrypt ``written`` as ``spec`` asks, leaving the result at ``path``."""
    current = written
    if spec.compression is Compression.ZIP:
        zipped = _stage(path, "zip")
        with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(current, arcname=zip_entry_name(entry_name, spec))
        current.unlink()
        current = zipped
    if spec.encryption_key:
        encrypted = _stage(path, "enc")
        encryption.encrypt_file(current, encrypted, spec.encryption_key)
        current.unlink()
        current = encrypted
    current.replace(path)
    return path


def _written(
    path: Path, rows: int, spec: OutputSpec, sha256: str | None = None
) -> writer.WrittenFile:
    return writer.WrittenFile(
        path=path,
        record_count=rows,
        size=path.stat().st_size,
        sha256=sha256 or writer.sha256_of(path),
        content_type=spec.content_type(),
    )


def _cleanup(path: Path) -> None:
    for name in ("rows", "zip", "enc"):
        with contextlib.suppress(FileNotFoundError):
            _stage(path, name).unlink()


def write_query(
    snapshot: base.Snapshot, sql: str, spec: OutputSpec, path: Path, *, entry_name: str
) -> writer.WrittenFile:
    """Run ``sql`` (engine SQL, one SELECT) in ``snapshot`` and write its result file at
    ``path`` as ``spec`` says. Engine errors and an interrupt propagate as the error tree's
    (``QueryFailed``, ``QueryInterrupted``, ``EncryptionFailed``), leaving nothing behind."""
    rows_file = _stage(path, "rows")
    layout = spec.layout(gzip=spec.compression is Compression.GZIP)
    # When the engine's file is the download, hash it as it grows (engines write front to
    # back): a multi-gigabyte result is not read a second time.
    final = spec.compression is not Compression.ZIP and not spec.encryption_key
    reader = follower.FileFollower(rows_file, hash_it=True) if final else None
    try:
        try:
            rows = snapshot.copy_rows(sql, rows_file, layout)
        except BaseException:
            if reader is not None:
                reader.abandon()
            raise
        sha256 = reader.finish() if reader is not None else None
        return _written(_finish(rows_file, rows, spec, path, entry_name), rows, spec, sha256)
    finally:
        _cleanup(path)


def _text(columns: Sequence[str], rows: Sequence[Sequence[str]], spec: OutputSpec) -> str:
    """The file's text (a metadata answer is a few hundred rows at most: built in memory)."""
    out = io.StringIO()
    if spec.format is OutputFormat.JSON:
        for row in rows:
            out.write(json.dumps(dict(zip(columns, row, strict=True)), **JSON_OPTIONS))
            out.write("\n")
    else:
        table = csv.writer(out, delimiter=spec.delimiter(), lineterminator="\n")
        table.writerow(columns)
        table.writerows(rows)
    return out.getvalue()


def write_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    spec: OutputSpec,
    path: Path,
    *,
    entry_name: str,
) -> writer.WrittenFile:
    """Write a metadata answer (``SHOW TABLES`` / ``DESCRIBE`` rows, all text) at ``path`` as
    ``spec`` says, in the same layout as :func:`write_query` writes a query's rows."""
    rows_file = _stage(path, "rows")
    try:
        text = _text(columns, rows, spec)
        with base.open_output(rows_file, compress=spec.compression is Compression.GZIP) as out:
            out.write(text.encode("utf-8"))
        return _written(_finish(rows_file, len(rows), spec, path, entry_name), len(rows), spec)
    finally:
        _cleanup(path)
