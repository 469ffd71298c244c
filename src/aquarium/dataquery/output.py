"""PROVISIONAL placeholder (replaced by the dqout branch): Data Query result files."""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aquarium.engines import base
from aquarium.export import writer
from aquarium.zoql import lower


class OutputFormat(enum.StrEnum):
    JSON = "JSON"
    CSV = "CSV"
    TSV = "TSV"
    DSV = "DSV"


class Compression(enum.StrEnum):
    NONE = "NONE"
    GZIP = "GZIP"
    ZIP = "ZIP"


@dataclass(frozen=True)
class OutputSpec:
    format: OutputFormat
    compression: Compression = Compression.NONE
    column_separator: str | None = None
    encryption_key: str | None = None
    time_zone: str = "UTC"

    def file_extension(self) -> str:
        return "jsonl" if self.format is OutputFormat.JSON else self.format.value.lower()

    def content_type(self) -> str:
        return "application/x-ndjson" if self.format is OutputFormat.JSON else "text/csv"


def check_encryption_key(text: str) -> str | None:
    return None


def write_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    spec: OutputSpec,
    path: Path,
    *,
    entry_name: str,
) -> writer.WrittenFile:
    with path.open("w", encoding="utf-8", newline="") as out:
        if spec.format is OutputFormat.JSON:
            for row in rows:
                out.write(json.dumps(dict(zip(columns, row, strict=True))) + "\n")
        else:
            sep = {"CSV": ",", "TSV": "\t"}.get(spec.format.value, spec.column_separator or ",")
            w = csv.writer(out, delimiter=sep, lineterminator="\n")
            w.writerow(columns)
            w.writerows(rows)
    return writer.WrittenFile(
        path, len(rows), path.stat().st_size, writer.sha256_of(path), spec.content_type()
    )


def write_query(
    snapshot: base.Snapshot, sql: str, spec: OutputSpec, path: Path, *, entry_name: str
) -> writer.WrittenFile:
    query = lower.LoweredQuery(
        sql=sql, headers=(), header_in_sql=True, session_time_zone=spec.time_zone
    )
    cursor = snapshot.cursor  # type: ignore[attr-defined]
    snapshot.fetch(query)
    columns = [d[0] for d in cursor.execute(sql).description]
    rows = snapshot.fetch(query)
    return write_rows(columns, rows, spec, path, entry_name=entry_name)
