"""The ledger and revenue generators: deterministic, and the same whether built whole or sliced."""

from __future__ import annotations

import pyarrow as pa
import pytest

from aquarium.catalog import model
from aquarium.datagen import generate, ledger, revenue

SCALE = 0.02
#: Objects whose builders this family owns, and a core object it adds a column to.
OWN = (*ledger.BUILDERS, *revenue.BUILDERS)
AUDIT = ("CreatedById", "UpdatedById")  # drawn per slice, so they differ between slicings


def _tables(seed: int = 3) -> dict[str, pa.Table]:
    out: dict[str, list[pa.Table]] = {}
    for name, table in generate.generate(model.default(), scale=SCALE, seed=seed):
        out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in out.items()}


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return _tables()


def test_same_seed_same_ledger(tables: dict[str, pa.Table]) -> None:
    again = _tables()
    built = [name for name in OWN if name in tables]
    assert len(built) >= 16
    for name in built:
        assert tables[name].equals(again[name]), name


def test_sliced_builds_equal_whole_ones(
    tables: dict[str, pa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate, "CHUNK_ROWS", 97)
    sliced = _tables()
    compared = 0
    for name in (*OWN, "InvoiceItem"):
        if name not in tables:
            continue
        whole = tables[name].drop_columns(list(AUDIT))
        assert sliced[name].drop_columns(list(AUDIT)).equals(whole), name
        compared += tables[name].num_rows > 97
    assert compared >= 3
