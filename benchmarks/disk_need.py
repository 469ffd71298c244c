"""How much disk the moonshot benchmark needs, worked out before it writes a byte.

At scale 1000 the benchmark writes tens of GB; a disk that fills half-way through an hour's
run gives nothing but a broken data dir. So the need is estimated from the scales, stated, and
compared with the free space first; the benchmark refuses to start when it is short.

What takes room (figures measured on this project's data, seed 1):

- the DuckDB file of each scale not generated yet: about 78 MB a scale unit and 26 MB whatever
  the scale (103.6 MB at scale 1, 179.3 MB at 2, 415.8 MB at 5, 3.78 GB at 50); the moonshot
  generates InvoiceItem only (``datagen --objects InvoiceItem``): 8 MB a scale unit (39.9 MB
  at scale 5), so scale 1000 takes about 8 GB, not 78;
- the job at each scale: a segmented AQuA job cuts and packages segments as the engine writes
  into a pipe (``export/piped.py``), so at most two plain segments are on disk at once (the one
  being cut and the one being packaged); a segment holds ``segment_rows`` rows (500,000 unless
  set) of 527 bytes each (every InvoiceItem field, label headers, scale 1). The jobs run one
  after the other: only the larger one's peak counts; InvoiceItem is about 100,000 rows a
  scale unit (98,821 at scale 1, 4,842,431 at scale 50);
- the gzip segments each job leaves in the result store (gzip -6: 11.6% of the CSV);
- scratch: DuckDB's spill files, logs; then a margin over all of it.

DuckDB's reference COPY writes to a FIFO and is hashed as it is read: it needs no disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GB = 1_000_000_000  # bytes
DUCKDB_BYTES_PER_SCALE_UNIT = 78_000_000  # bytes: (415.8 MB - 103.6 MB) / 4, scales 1 to 5
DUCKDB_FIXED_BYTES = 26_000_000  # bytes whatever the scale
#: bytes a scale unit when only InvoiceItem is filled: 39.9 MB at scale 5 / 5, rounded up
INVOICE_ITEM_DUCKDB_BYTES_PER_SCALE_UNIT = 8_000_000
INVOICE_ITEMS_PER_SCALE_UNIT = 100_000  # rows, rounded up from 98,821 (scale 1)
CSV_BYTES_PER_ROW = 560  # bytes: 527 measured at scale 1, rounded up
PLAIN_SEGMENTS_AT_PEAK = 2  # the segment being cut and the one being packaged
SEGMENT_ROWS = 500_000  # Zuora's default
GZIP_FRACTION = 0.15  # gzip segments' size over the plain CSV's (0.116 measured)
SCRATCH_BYTES = 2 * GB  # DuckDB spill, logs, the metadata files
MARGIN = 0.15  # over the sum


@dataclass(frozen=True)
class DiskNeed:
    """The estimate, part by part (what, bytes), and its total with the margin."""

    parts: tuple[tuple[str, int], ...]
    total: int

    def describe(self) -> str:
        shown = ", ".join(f"{what} {_gb(size)}" for what, size in self.parts)
        return f"{_gb(self.total)} ({shown}, +{MARGIN:.0%} margin)"


def invoice_items(scale: float) -> int:
    """The InvoiceItem rows expected at ``scale`` (rounded up)."""
    return math.ceil(INVOICE_ITEMS_PER_SCALE_UNIT * scale)


def estimate(
    scales: dict[float, bool],
    segment_rows: int = SEGMENT_ROWS,
    invoice_items_only: frozenset[float] = frozenset(),
) -> DiskNeed:
    """The disk needed for one job at each scale of ``scales``, mapped to whether its data
    exists already (then its DuckDB file needs no new room), segments of ``segment_rows``;
    the scales in ``invoice_items_only`` are generated with InvoiceItem alone."""
    parts: list[tuple[str, int]] = []
    for scale, generated in sorted(scales.items()):
        if not generated:
            per_unit = (
                INVOICE_ITEM_DUCKDB_BYTES_PER_SCALE_UNIT
                if scale in invoice_items_only
                else DUCKDB_BYTES_PER_SCALE_UNIT
            )
            duckdb_bytes = DUCKDB_FIXED_BYTES + math.ceil(per_unit * scale)
            parts.append((f"DuckDB file at scale {scale:g}", duckdb_bytes))
    csv_bytes = {scale: invoice_items(scale) * CSV_BYTES_PER_ROW for scale in scales}
    if csv_bytes:
        largest = max(csv_bytes, key=lambda scale: csv_bytes[scale])
        segment_bytes = min(segment_rows * CSV_BYTES_PER_ROW, csv_bytes[largest])
        parts.append(
            (
                f"job peak at scale {largest:g} (plain segments)",
                PLAIN_SEGMENTS_AT_PEAK * segment_bytes,
            )
        )
        kept = math.ceil(GZIP_FRACTION * sum(csv_bytes.values()))
        parts.append(("gzip segments kept", kept))
    parts.append(("scratch", SCRATCH_BYTES))
    total = math.ceil(sum(size for _, size in parts) * (1 + MARGIN))
    return DiskNeed(tuple(parts), total)


def refuse_if_short(need: DiskNeed, free: int, where: str) -> None:
    """Raise ``SystemExit`` saying what is needed and what is free when ``free`` < the need."""
    if free < need.total:
        raise SystemExit(
            f"moonshot: not enough disk in {where}: needs {need.describe()}, "
            f"{_gb(free)} free; free {_gb(need.total - free)} more, or set "
            "AQUARIUM_MOONSHOT_SCALE lower"
        )


def _gb(size: int) -> str:
    return f"{size / GB:,.1f} GB"
