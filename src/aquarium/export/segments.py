"""File segmentation: one batch's result as several files of at most N records each.

Zuora (reference §6): a tenant switch; only full loads of stateful jobs are segmented (an
incremental load or a stateless job always gets one ``fileId``), and not when the query uses
a function or an alias. Each segment holds at most ``segment_rows`` records (500,000 unless the
tenant's limit says otherwise) and starts with the header row; the batch then answers
``segments: [ids...]`` instead of ``fileId``. An empty result is one segment holding the header.

The engine writes the whole CSV once (its own bulk writer, in the job's snapshot); it is then
cut into segments by streaming its lines. Records are told apart from lines by counting quotes:
RFC 4180 doubles a quote inside a quoted field, so a record ends at the first line end where the
number of quotes seen since the record began is even (a quoted field may hold a newline).
Each segment is packaged (and encrypted) like a whole file, by :func:`writer.package`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aquarium.domain import errors
from aquarium.engines import base
from aquarium.export import follower, writer
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
    if rows_per_segment < 1:
        raise ValueError(f"rows_per_segment must be at least 1, not {rows_per_segment}")
    written: list[tuple[Path, int]] = []
    with source.open("rb") as handle:
        rows = records(handle)
        header = next(rows, b"")
        out: BinaryIO | None = None
        count = 0
        try:
            for record in rows:
                if out is None or count == rows_per_segment:
                    if out is not None:
                        out.close()
                        written.append((Path(out.name), count))
                    out = _open(targets(), header)
                    count = 0
                out.write(record)
                count += 1
            if out is None:
                out = _open(targets(), header)
            out.close()
            written.append((Path(out.name), count))
        finally:
            if out is not None and not out.closed:
                out.close()
    return written


def _open(path: Path, header: bytes) -> BinaryIO:
    out = path.open("wb", buffering=WRITE_BUFFER_BYTES)
    out.write(header)
    return out


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
) -> list[Segment]:
    """Run ``query`` into ``scratch`` (removed afterwards) and cut it into packaged segments;
    ``progress`` hears how far the engine has written.

    ``new_file()`` gives each segment's id and the temporary path to write it to; on failure
    the caller discards those paths (the partial segments are there).
    """
    ids: dict[Path, str] = {}

    def target() -> Path:
        file_id, path = new_file()
        plain = path.with_name(path.name + ".csv")
        ids[plain] = file_id
        return plain

    try:
        with follower.following(scratch, progress):
            snapshot.copy_csv(query, scratch, csv)
        pieces = split(scratch, target, rows_per_segment)
        scratch.unlink()
        return [
            Segment(
                ids[plain],
                writer.package(
                    plain,
                    plain.with_name(plain.name.removesuffix(".csv")),
                    file_format=file_format,
                    query_name=query_name,
                    record_count=count,
                    encrypt_to=encrypt_to,
                ),
            )
            for plain, count in pieces
        ]
    finally:
        # The whole CSV and any plain segment not yet packaged (after a failure).
        for leftover in (scratch, *ids):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
