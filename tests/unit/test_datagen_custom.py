"""Datagen fills a tenant's custom fields: plausible values by type, some nulls, the same for
the same seed and field, whatever other fields the tenant declared."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aquarium.catalog import model, views
from aquarium.datagen import generate
from aquarium.datagen import world as w
from aquarium.domain import tenancy

T = tenancy.CustomFieldType
REGION = tenancy.CustomField("Account", "Region__c", T.PICKLIST, "Region", ("EU", "US", "APAC"))
OTHERS = (
    tenancy.CustomField("Account", "Score__c", T.NUMBER, "Score"),
    tenancy.CustomField("Account", "Since__c", T.DATE, "Since"),
    tenancy.CustomField("Account", "Seen__c", T.DATETIME, "Seen"),
    tenancy.CustomField("Account", "Vip__c", T.BOOLEAN, "VIP"),
    tenancy.CustomField("Account", "Motto__c", T.TEXT, "Motto"),
    tenancy.CustomField("Invoice", "Po__c", T.TEXT, "PO"),
)
SCALE = 0.05


def _tables(fields: tuple[tenancy.CustomField, ...], seed: int = 3) -> dict[str, pa.Table]:
    catalog = views.storage_view(model.default(), fields)
    wanted = {"Account", "Invoice"}
    return {
        name: table
        for name, table in generate.generate(catalog, scale=SCALE, seed=seed)
        if name in wanted
    }


@pytest.fixture(scope="module")
def full() -> dict[str, pa.Table]:
    return _tables((REGION, *OTHERS))


def test_values_are_plausible_for_their_type(full: dict[str, pa.Table]) -> None:
    account = full["Account"]
    assert account.column_names[-6:] == [
        "Region__c", "Score__c", "Since__c", "Seen__c", "Vip__c", "Motto__c",
    ]  # fmt: skip
    region = account["Region__c"]
    assert set(region.drop_null().to_pylist()) <= {"EU", "US", "APAC"}
    for name in ("Region__c", "Score__c", "Since__c", "Seen__c", "Vip__c", "Motto__c"):
        nulls = account[name].null_count
        assert 0 < nulls < account.num_rows, name  # some filled, some left empty
    days = account["Since__c"].drop_null().to_pylist()
    start, end = (
        dt.date(1970, 1, 1) + dt.timedelta(w.START_DAY),
        dt.date(1970, 1, 1) + dt.timedelta(w.END_DAY),
    )
    assert start <= min(days) and max(days) <= end
    assert pc.min(account["Score__c"]).as_py() >= 0
    assert all(isinstance(v, str) and v for v in account["Motto__c"].drop_null().to_pylist())
    assert full["Invoice"].column_names[-1] == "Po__c"


def test_same_seed_same_values_and_each_field_on_its_own(full: dict[str, pa.Table]) -> None:
    again = _tables((REGION, *OTHERS))
    assert again["Account"].equals(full["Account"])
    alone = _tables((REGION,))
    assert alone["Account"]["Region__c"].equals(full["Account"]["Region__c"])
    # The standard columns do not move when fields are declared.
    plain = _tables(())
    standard = plain["Account"].column_names
    assert full["Account"].select(standard).equals(plain["Account"])


def test_another_seed_other_values(full: dict[str, pa.Table]) -> None:
    other = _tables((REGION,), seed=4)
    assert not other["Account"]["Region__c"].equals(full["Account"]["Region__c"])
