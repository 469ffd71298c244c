"""Snapshot names (domain/snapshots.py): what becomes a directory and part of a schema name."""

from __future__ import annotations

import pytest

from aquarium.domain import errors, snapshots
from aquarium.engines import tenant_copies


@pytest.mark.parametrize("name", ["clean", "a", "0", "after-login_2", "x" * 40])
def test_good_names_pass_unchanged(name: str) -> None:
    assert snapshots.check_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "Clean", "-x", "_x", "a.b", "..", "a/b", "a\\b", "a b", "x" * 41, "é", "a$b", "a\n"],
)
def test_bad_names_are_refused_saying_what_a_name_may_be(name: str) -> None:
    with pytest.raises(errors.InvalidControlRequest) as refused:
        snapshots.check_name(name)
    assert snapshots.NAME_RULE in refused.value.reason


@pytest.mark.parametrize("name", [None, 7, ["clean"], {"name": "clean"}])
def test_a_name_that_is_no_string_is_refused(name: object) -> None:
    with pytest.raises(errors.InvalidControlRequest, match="must be a string"):
        snapshots.check_name(name)


def test_a_long_bad_name_is_shown_cut_short() -> None:
    with pytest.raises(errors.InvalidControlRequest) as refused:
        snapshots.check_name("Z" * 5000)
    assert len(refused.value.reason) < 300


def test_copies_of_two_tenants_or_names_never_share_a_schema_or_table() -> None:
    # '$' is in no tenant or snapshot name, so the parts cannot slide into each other.
    assert tenant_copies.template_schema("a", "b_c") != tenant_copies.template_schema("a_b", "c")
    assert tenant_copies.spare_table("a", "b") != tenant_copies.spare_table("a_b", "")
    assert not tenant_copies.template_schema("demo", "x").startswith("tenant_")
