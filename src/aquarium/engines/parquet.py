"""Typed Parquet from engine text output (engines whose bulk writer only writes CSV)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
from sqlglot import exp

from aquarium.zoql import formatting


def csv_to_parquet(csv_path: Path, parquet_path: Path, types: Sequence[str]) -> int:
    """Read a header-less CSV of ``len(types)`` columns named ``c1..cN`` with those DuckDB
    types and write it as Parquet; returns the row count. Empty fields are nulls."""
    columns = ", ".join(
        f"{exp.Literal.string(f'c{i + 1}').sql(dialect=formatting.DUCKDB)}: "
        f"{exp.Literal.string(kind).sql(dialect=formatting.DUCKDB)}"
        for i, kind in enumerate(types)
    )
    source = exp.Literal.string(str(csv_path)).sql(dialect=formatting.DUCKDB)
    target = exp.Literal.string(str(parquet_path)).sql(dialect=formatting.DUCKDB)
    with duckdb.connect() as conn:
        conn.execute("SET threads = 1")
        found = conn.execute(
            f"COPY (SELECT * FROM read_csv({source}, header = false, columns = {{{columns}}})) "
            f"TO {target} (FORMAT parquet)"
        ).fetchone()
    return int(found[0]) if found else 0
