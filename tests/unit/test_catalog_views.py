"""A tenant's view of the catalogue (``catalog/views.py``): features hide objects and the joins
to them, custom fields come after the standard ones, legacy objects turn read-only; the rules a
new custom field's name, type and object follow; the cache of ``services/tenant_catalogs.py``."""

from __future__ import annotations

import pytest

from aquarium.catalog import model, views
from aquarium.domain import tenancy, tenancy_errors
from aquarium.services import tenant_catalogs

IS = tenancy.INVOICE_SETTLEMENT
# A stand-in catalogue: one object of the Invoice Settlement family, one legacy object it
# replaces, and a core object that joins the new one.
DOCUMENT = {
    "objects": {
        "Account": {"fields": {"Name": {"type": "text"}}},
        "Invoice": {
            "fields": {"AccountId": {"type": "text"}},
            "related": {"Account": {"key": "AccountId"}},
        },
        "CreditMemo": {
            "feature": IS,
            "fields": {"AccountId": {"type": "text"}},
            "related": {"Account": {"key": "AccountId"}},
        },
        "InvoicePayment": {"deprecated_by": IS, "fields": {"InvoiceId": {"type": "text"}}},
        "Note": {
            "fields": {"CreditMemoId": {"type": "text"}, "InvoiceId": {"type": "text"}},
            "related": {
                "CreditMemo": {"key": "CreditMemoId"},
                "CreditMemoAccount": {"object": "Account", "via": "CreditMemo", "key": "AccountId"},
                "Invoice": {"key": "InvoiceId"},
            },
        },
    }
}
SHIPPED = model.parse(DOCUMENT)
REGION = tenancy.CustomField(
    "Account", "Region__c", tenancy.CustomFieldType.PICKLIST, "Region", ("EU", "US")
)
SCORE = tenancy.CustomField("Account", "Score__c", tenancy.CustomFieldType.NUMBER, "Score")


def test_a_feature_that_is_off_hides_its_objects_and_the_joins_to_them() -> None:
    off = views.tenant_view(SHIPPED, features=frozenset())
    assert off.object("CreditMemo") is None
    assert off.require("Note").relation("CreditMemo") is None
    assert off.require("Note").relation("CreditMemoAccount") is None  # its first hop is gone
    assert off.require("Note").relation("Invoice") is not None
    assert not off.read_only(off.require("InvoicePayment"))


def test_a_feature_that_is_on_shows_them_and_makes_legacy_objects_read_only() -> None:
    on = views.tenant_view(SHIPPED, features=frozenset({IS}))
    assert on.require("CreditMemo").name == "CreditMemo"
    assert on.require("Note").relation("CreditMemoAccount") is not None
    assert on.read_only(on.require("InvoicePayment"))
    assert not on.read_only(on.require("Invoice"))
    assert not SHIPPED.read_only(SHIPPED.require("InvoicePayment"))


def test_custom_fields_follow_the_standard_fields_in_declaration_order() -> None:
    view = views.tenant_view(SHIPPED, features=None, fields=(SCORE, REGION))
    account = view.require("Account")
    assert [f.name for f in account.fields][-3:] == ["UpdatedDate", "Score__c", "Region__c"]
    region = account.field("REGION__C")
    assert region is not None and region.custom and region.exportable
    assert region.type is model.FieldType.PICKLIST and region.options == ("EU", "US")
    score = account.field("Score__c")
    assert score is not None and score.type is model.FieldType.DECIMAL and score.label == "Score"
    # The shipped catalogue is not touched, and other objects are shared as they are.
    assert SHIPPED.require("Account").field("Region__c") is None
    assert view.require("Invoice") is SHIPPED.require("Invoice")


def test_the_storage_view_has_every_object_whatever_the_features() -> None:
    stored = views.storage_view(SHIPPED, (REGION,))
    assert stored.object("CreditMemo") is not None
    assert stored.require("Account").field("Region__c") is not None


def test_a_field_of_a_hidden_object_is_left_out() -> None:
    memo = tenancy.CustomField("CreditMemo", "Why__c", tenancy.CustomFieldType.TEXT, "Why")
    assert (
        views.tenant_view(SHIPPED, features=frozenset(), fields=(memo,)).object("CreditMemo")
        is None
    )
    on = views.tenant_view(SHIPPED, features=frozenset({IS}), fields=(memo,))
    assert on.require("CreditMemo").field("Why__c") is not None


def _check(name: str, **kwargs: object) -> tenancy.CustomField:
    arguments: dict[str, object] = {"object_name": "Account", "name": name, "field_type": "text"}
    arguments.update(kwargs)
    return views.check_new_field(model.default(), (REGION,), **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Region", "must end in '__c'"),
        ("Region__C", "must end in '__c'"),
        ("__c", "must start with a letter"),
        ("_x__c", "must start with a letter"),
        ("9x__c", "must start with a letter"),
        ("Éclair__c", "must start with a letter"),
        ("Sales Rep__c", "letters, digits and '_' only"),
        ("Sales-Rep__c", "letters, digits and '_' only"),
        ("A" * 61 + "__c", "at most 63"),
        ("region__c", "already has a custom field 'Region__c'"),
    ],
)
def test_names_follow_zuoras_rules(name: str, words: str) -> None:
    with pytest.raises(tenancy_errors.CustomFieldError, match=words):
        _check(name)


def test_a_good_field_is_spelt_as_the_catalogue_spells_its_object() -> None:
    made = _check("Sales_Rep_2__c", object_name="account", label=None)
    assert made == tenancy.CustomField(
        "Account", "Sales_Rep_2__c", tenancy.CustomFieldType.TEXT, "Sales Rep 2"
    )
    assert len(_check("A" * 60 + "__c").name) == views.MAX_NAME


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"object_name": "RatePlanChargeTier"}, "takes no custom fields"),
        ({"object_name": "Nothing"}, "there is no object"),
        ({"field_type": "colour"}, "unknown type 'colour'"),
        ({"field_type": "picklist"}, "needs its values"),
        ({"field_type": "picklist", "values": ["a", " "]}, "may not be empty"),
        ({"field_type": "picklist", "values": ["Gold", "GOLD"]}, "given twice"),
        ({"field_type": "date", "values": ["a"]}, "only a picklist"),
        ({"label": "x" * 256}, "label is longer"),
    ],
)
def test_types_values_and_objects_are_checked(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(tenancy_errors.CustomFieldError, match="(?i)" + words):
        _check("Fine__c", **kwargs)


def test_a_standard_field_name_is_refused() -> None:
    extended = model.parse({"objects": {"Account": {"fields": {"Legacy__c": {"type": "text"}}}}})
    with pytest.raises(tenancy_errors.CustomFieldError, match="already has a standard field"):
        views.check_new_field(
            extended, (), object_name="Account", name="legacy__c", field_type="text"
        )


def test_every_custom_field_object_of_the_catalogue_takes_them() -> None:
    shipped = model.default()
    present = [name for name in views.CUSTOM_FIELD_OBJECTS if shipped.object(name) is not None]
    assert {"Account", "Subscription", "RatePlanCharge", "Invoice", "Usage"} <= set(present)
    for name in present:
        assert _check("Ok__c", object_name=name).object == name


def test_tenant_catalogues_are_built_once_per_change_of_settings() -> None:
    catalogs = tenant_catalogs.TenantCatalogs(SHIPPED)
    plain = tenancy.Tenant("acme", "UTC")
    first = catalogs.of(plain)
    assert catalogs.of(tenancy.Tenant("acme", "UTC")) is first
    with_field = catalogs.of(tenancy.Tenant("acme", "UTC", custom_fields=(REGION,)))
    assert with_field is not first and with_field.require("Account").field("Region__c")
    off = catalogs.of(tenancy.Tenant("acme", "UTC", invoice_settlement=False))
    assert off.object("CreditMemo") is None
    assert catalogs.named("nobody").object("CreditMemo") is not None  # the default: on
