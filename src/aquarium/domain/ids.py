"""Zuora-style ids: 32 lowercase hexadecimal characters."""

from __future__ import annotations

import re
import secrets

ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    """A fresh random id."""
    return secrets.token_hex(16)


def is_id(value: str) -> bool:
    """Whether ``value`` has the shape of an id (and so contains no path characters)."""
    return ID_PATTERN.fullmatch(value) is not None
