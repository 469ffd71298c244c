"""Refusals of a tenant's settings through its administrators: custom fields and features.

Leaves of the one tree drawn in :mod:`aquarium.domain.errors` (kept here so that module stays
small); mapped to HTTP in ``api/errors.py`` like every other class.
"""

from __future__ import annotations

from aquarium.domain import errors


class AdminRequired(errors.AquariumError):
    """Only an administrator of the tenant may do this (its custom fields, its features)."""

    message = "Only an administrator of the tenant may do this."


class CustomFieldError(errors.TenancyError):
    """A custom field that cannot be added: its name, type, values or object; nothing changed."""

    message = "Invalid custom field."


class CustomFieldNotFound(CustomFieldError):
    """No custom field of that name on that object of the tenant."""

    message = "No such custom field."
