"""SQL data types as sqlglot nodes, parsed once and copied per use (parsing is the slow part)."""

from __future__ import annotations

import functools

from sqlglot import exp


@functools.cache
def _parsed(name: str) -> exp.DataType:
    return exp.DataType.build(name)


def build(name: str) -> exp.DataType:
    """A fresh ``DataType`` node for ``name`` (e.g. ``"TEXT"``, ``"DECIMAL(38, 6)"``)."""
    return _parsed(name).copy()
