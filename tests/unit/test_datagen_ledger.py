"""The ledger and revenue generators: deterministic, and the same whether built whole or sliced."""

from __future__ import annotations

import pyarrow as pa
import pytest

from aquarium.catalog import model
from aquarium.datagen import generate, ledger, postings, revenue

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


def test_the_catalogue_has_the_whole_family() -> None:
    catalog = model.default()
    for name in (*ledger.BUILDERS, *revenue.BUILDERS):
        source = catalog.require(name).source
        assert source.startswith(("https://docs.zuora.com/", "https://developer.zuora.com/")), name
    for posting in postings.SOURCES:
        detail = catalog.require(posting.detail)
        assert detail.feature == posting.feature, posting.detail
        assert detail.relation(posting.source) is not None, posting.detail
        assert detail.relation("JournalRun") is not None, posting.detail
        assert catalog.require(posting.source).relation("JournalEntry") is not None, posting.source
    assert len(postings.SOURCES) == 17
    for name in revenue.BUILDERS:
        expected = "InvoiceSettlement" if "Memo" in name else None
        assert catalog.require(name).feature == expected, name


def test_same_seed_same_ledger(tables: dict[str, pa.Table]) -> None:
    again = _tables()
    built = [name for name in OWN if name in tables]
    assert len(built) == len(OWN) == 31  # 3 + 17 details + 11 revenue
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
