"""Zuora-style ids: 32 lowercase hexadecimal characters.

Data Query shows its job ids as dashed UUIDs (``3a3e85c4-96e7-486b-ae02-827120104301``, reference
dataquery.md 3.1): the same 32 digits, stored as every other id and dashed on the wire.
"""

from __future__ import annotations

import re
import secrets
import uuid

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_DASHED = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: The namespace of the UUIDs that stand for a tenant's users on the Data Query wire.
USER_NAMESPACE = uuid.UUID("6f1d4c8e-5a2b-4e7f-9c3d-0b8a7e6f5d4c")


def new_id() -> str:
    """A fresh random id."""
    return secrets.token_hex(16)


def new_uuid() -> str:
    """A fresh random id that is also a version-4 UUID (a Data Query job's)."""
    return uuid.uuid4().hex


def is_id(value: str) -> bool:
    """Whether ``value`` has the shape of an id (and so contains no path characters)."""
    return ID_PATTERN.fullmatch(value) is not None


def dashed(value: str) -> str:
    """The id as a dashed UUID (8-4-4-4-12)."""
    return str(uuid.UUID(hex=value))


def from_uuid(value: str) -> str | None:
    """The stored id of a dashed (or plain) UUID as a client sends it; None for anything else."""
    if _DASHED.fullmatch(value):
        return value.replace("-", "").lower()
    return value if is_id(value) else None


def user_uuid(tenant: str, user: str) -> str:
    """A stable dashed UUID standing for the tenant's user ``user`` (Data Query's ``createdBy``)."""
    return str(uuid.uuid5(USER_NAMESPACE, f"{tenant}/{user}"))
