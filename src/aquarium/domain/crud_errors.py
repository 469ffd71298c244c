"""The object CRUD API's refusals: the ``WriteError`` branch of the tree in ``errors.py``.

Each refusal carries the problems Zuora lists in ``Errors`` (a ``Code`` such as
``INVALID_VALUE`` and a ``Message``); ``api/envelopes.py`` writes them in Zuora's shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aquarium.domain.errors import AquariumError


@dataclass(frozen=True)
class WriteProblem:
    """One reason a write was refused, as Zuora lists it in ``Errors``."""

    code: str
    message: str


class WriteError(AquariumError):
    """A refused object CRUD write or read; ``problems`` holds every reason (at least one)."""

    code: str = "INVALID_VALUE"
    message = "The write was refused."

    def __init__(self, reason: str, *, problems: Sequence[WriteProblem] = ()) -> None:
        super().__init__(reason)
        self.problems: tuple[WriteProblem, ...] = tuple(problems) or (
            WriteProblem(self.code, reason),
        )


class UnknownObject(WriteError):
    code = "INVALID_TYPE"


class RowNotFound(WriteError):
    code = "INVALID_ID"


class InvalidField(WriteError):
    code = "INVALID_FIELD"


class InvalidValue(WriteError):
    code = "INVALID_VALUE"


class MissingRequiredValue(WriteError):
    code = "MISSING_REQUIRED_VALUE"


class LegacyObject(WriteError):
    """A write of an object that a feature of the tenant replaced (Invoice Settlement's legacy
    objects): still exported, no longer created, changed or deleted."""

    code = "INVALID_TYPE"
