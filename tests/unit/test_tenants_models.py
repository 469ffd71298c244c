"""The pydantic models of a tenant's configuration agree with the domain's rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aquarium.domain import errors, tenancy
from aquarium.store import tenants_models


def test_one_limit_field_per_domain_limit_in_the_same_order() -> None:
    assert tuple(tenants_models.LimitsModel.model_fields) == tenancy.LIMIT_KEYS


@given(
    key=st.sampled_from(tenancy.LIMIT_KEYS),
    value=st.one_of(st.integers(-5, 5), st.integers(3590, 3610), st.integers(), st.booleans()),
)
def test_limits_model_accepts_exactly_what_check_limit_accepts(key: str, value: int) -> None:
    try:
        tenancy.check_limit(key, value)
        domain_accepts = True
    except errors.TenancyError:
        domain_accepts = False
    try:
        checked = tenants_models.check_limits({key: value})
    except errors.TenancyError:
        assert not domain_accepts
    else:
        assert domain_accepts
        assert getattr(checked.applied_to(tenancy.Limits()), key) == value


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        (["stitch", " fivetran ", "stitch"], ["stitch", "fivetran", "stitch"]),
        ([], []),
    ],
)
def test_partner_ids_are_trimmed(value: list[str], normalised: list[str]) -> None:
    assert tenants_models.check(tenants_models.PARTNERS, value) == normalised


def test_a_message_names_a_few_problems_and_counts_the_rest() -> None:
    entry = {"time_zone": 1, "users": 2, "clients": 3, "partners": 4, "file_segmentation": 5}
    with pytest.raises(errors.TenancyError) as refused:
        tenants_models.check(tenants_models.TENANT_MODEL, entry, root="tenants.acme")
    assert refused.value.reason == (
        "tenants.acme.time_zone: expected a string, found integer; "
        "tenants.acme.users: expected an array, found integer; "
        "tenants.acme.clients: expected an array, found integer (and 2 more)"
    )


def test_a_whole_tenant_is_checked_and_normalised() -> None:
    armour = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----"
    tenant = tenancy.Tenant("acme", "UTC", partners=("a", "a ", "b"), pgp_public_key=armour)
    checked = tenants_models.check_tenant(tenant)
    assert checked.partners == ("a", "b") and checked.pgp_public_key == armour + "\n"
    with pytest.raises(errors.TenancyError, match=r"(?i)tenant name 'Acme'"):
        tenants_models.check_tenant(tenancy.Tenant("Acme", "UTC"))
