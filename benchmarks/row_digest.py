"""Digests of a CSV stream, fed in chunks of any size: exact and order-independent.

Used by the moonshot benchmark to compare an AQuA job's segments with DuckDB's own COPY of the
same SQL without keeping either on disk. Both sides run with ``preserve_insertion_order =
false``, so DuckDB may emit the same rows in another order on each side; the exact SHA-256 then
differs while the rows are the same. The multiset digest tells the two cases apart: the sum,
modulo 2**64, of each line's SHA-256 read as a 64-bit integer, beside the number of lines.
Sorting 100 million rows to compare them would cost more than the export itself.

A line is what ends in ``\\n``: a record whose quoted field holds a newline is several lines,
which changes nothing for a multiset (records that move move their lines with them). A last
line without ``\\n`` counts as a line.

:class:`SegmentJoiner` undoes segmentation: each segment of a job starts with the header row
(``export/segments.py``); joined, only the first segment's header is kept, so the join equals
the whole CSV. :class:`GzipStream` unpacks a gzip download chunk by chunk (every member, should
a file hold several).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

NEWLINE = b"\n"
MASK_64 = (1 << 64) - 1
GZIP_WBITS = zlib.MAX_WBITS | 16  # zlib's way of saying "gzip header and trailer"


@dataclass(frozen=True)
class Digest:
    """The exact SHA-256 (hex) of the bytes, the multiset digest of their lines and the count."""

    sha256: str
    multiset: int
    lines: int

    def same_rows(self, other: Digest) -> bool:
        """The same lines the same number of times, in whatever order."""
        return (self.multiset, self.lines) == (other.multiset, other.lines)


def line_value(line: bytes) -> int:
    """A line's contribution to the multiset digest (its line end excluded)."""
    return int.from_bytes(hashlib.sha256(line).digest()[:8], "little")


class RowDigest:
    """Feed bytes with :meth:`update`, in chunks cut anywhere; :meth:`finish` gives the digest."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._sum = 0
        self._lines = 0
        self._tail = b""  # the start of a line whose end has not arrived yet

    def update(self, chunk: bytes) -> None:
        self._sha.update(chunk)
        lines = (self._tail + chunk).split(NEWLINE)
        self._tail = lines.pop()
        self._sum = (self._sum + sum(map(line_value, lines))) & MASK_64
        self._lines += len(lines)

    def finish(self) -> Digest:
        if self._tail:
            self._sum = (self._sum + line_value(self._tail)) & MASK_64
            self._lines += 1
            self._tail = b""
        return Digest(self._sha.hexdigest(), self._sum, self._lines)


class SegmentJoiner:
    """The bytes of consecutive segments as one CSV: from the second segment on, everything up
    to and including its first ``\\n`` (the header row) is dropped.

    Call :meth:`start_segment` before each segment's first chunk, then :meth:`join` with its
    chunks in order. A header row holds no newline inside a field: its names are the
    catalogue's field names or labels.
    """

    def __init__(self) -> None:
        self._segments = 0
        self._in_header = False

    def start_segment(self) -> None:
        self._segments += 1
        self._in_header = self._segments > 1

    def join(self, chunk: bytes) -> bytes:
        if not self._in_header:
            return chunk
        end = chunk.find(NEWLINE)
        if end < 0:
            return b""
        self._in_header = False
        return chunk[end + 1 :]


class GzipStream:
    """Unpacks gzip data given in chunks; several members in a row are unpacked in turn."""

    def __init__(self) -> None:
        self._unpacker = zlib.decompressobj(GZIP_WBITS)

    def unpack(self, chunk: bytes) -> bytes:
        out = [self._unpacker.decompress(chunk)]
        while self._unpacker.eof and self._unpacker.unused_data:
            rest = self._unpacker.unused_data
            self._unpacker = zlib.decompressobj(GZIP_WBITS)
            out.append(self._unpacker.decompress(rest))
        return b"".join(out)

    def finish(self) -> bytes:
        """What is left; raises ``EOFError`` when the data stopped inside a member."""
        rest = self._unpacker.flush()
        if not self._unpacker.eof:
            raise EOFError("the gzip data ended inside a member")
        return rest


def digest_segments(segments: Iterable[Iterable[bytes]]) -> Digest:
    """The digest of the whole CSV that ``segments`` (each an iterable of gzip chunks) make."""
    digest = RowDigest()
    for chunk in joined_csv(segments):
        digest.update(chunk)
    return digest.finish()


def joined_csv(segments: Iterable[Iterable[bytes]]) -> Iterator[bytes]:
    """The plain CSV bytes of gzip ``segments``, headers after the first dropped."""
    joiner = SegmentJoiner()
    for segment in segments:
        joiner.start_segment()
        unpacker = GzipStream()
        for chunk in segment:
            yield joiner.join(unpacker.unpack(chunk))
        yield joiner.join(unpacker.finish())
