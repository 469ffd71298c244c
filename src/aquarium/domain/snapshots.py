"""What a test-control snapshot of a tenant is called (services/tenant_snapshots.py).

A name is 1-40 lowercase letters, digits, ``_`` or ``-``, starting with a letter or a digit: it
becomes a directory under ``DATA_DIR/snapshots/<tenant>/`` and part of a DuckDB schema name,
so it can hold no path separator, no dot (``..``) and no capital (two names differing only in
case would share a directory on a case-insensitive file system).
"""

from __future__ import annotations

import re

from aquarium.domain import errors

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
NAME_RULE = "1-40 lowercase letters, digits, '_' or '-', starting with a letter or a digit"


def check_name(name: object) -> str:
    """``name`` when it is a valid snapshot name; else :class:`errors.InvalidControlRequest`
    saying what a name may be."""
    if not isinstance(name, str):
        raise errors.InvalidControlRequest(f"'name' must be a string of {NAME_RULE}")
    if NAME.fullmatch(name) is None:
        shown = name if len(name) <= 60 else name[:60] + "..."
        raise errors.InvalidControlRequest(f"snapshot name {shown!r} must be {NAME_RULE}")
    return name
