"""The shapes of the error tables of ``api/errors.py``: the API families, which path belongs
to which, and a table's rows (error classes -> HTTP status, code, envelope)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aquarium.api import envelopes
from aquarium.domain import errors


class Family(StrEnum):
    """Who answers a request's errors, by its path."""

    AQUA = "aqua"  #: AQuA, result files, describe, OAuth
    OBJECTS = "objects"  #: Zuora's object CRUD
    REPORTING = "reporting"  #: the Reporting API, both path families
    JOBS = "jobs"  #: Aquarium's own job API
    DATAQUERY = "dataquery"  #: the Data Query API and its signed result links
    LOCAL = "local"  #: the CLI's data commands run by the server (api/local_routes.py)
    WEB = "web"  #: the Job Finder's pages, and any other path


#: First match wins; a prefix matches the path with a slash appended (``/v1/object`` included).
FAMILY_PREFIXES: tuple[tuple[str, Family], ...] = (
    ("/v1/object/", Family.OBJECTS),
    ("/query/", Family.DATAQUERY),
    ("/api/rest/", Family.REPORTING),
    ("/reporting/api/rest/", Family.REPORTING),
    ("/aquarium/api/v1/local/", Family.LOCAL),
    ("/aquarium/api/", Family.JOBS),
    ("/v1/", Family.AQUA),
    ("/apps/api/", Family.AQUA),
    ("/oauth/", Family.AQUA),
)


def family_of(path: str) -> Family:
    """The family of a request path; repeated slashes count as one (CONTRACT.md)."""
    normal = "/".join(part for part in path.split("/") if part)
    slashed = f"/{normal}/"
    for prefix, family in FAMILY_PREFIXES:
        if slashed.startswith(prefix):
            return family
    return Family.WEB


Kinds = tuple[type[errors.AquariumError], ...]


@dataclass(frozen=True)
class Row:
    """Errors of ``kinds`` (or their subclasses) answer ``status`` with ``code`` in ``envelope``."""

    kinds: Kinds
    status: int
    code: str | None
    envelope: envelopes.Envelope
    #: a failure of ours, not a refusal: logged with the request, answered without detail
    internal: bool = False


@dataclass(frozen=True)
class Table:
    family: Family
    rows: tuple[Row, ...]

    def row_for(self, kind: type[errors.AquariumError]) -> Row | None:
        """The first row naming ``kind`` or an ancestor; None when no row does."""
        for row in self.rows:
            if issubclass(kind, row.kinds):
                return row
        return None

    def status_of(self, error: errors.AquariumError) -> int:
        """The HTTP status this family answers ``error`` with."""
        return (self.row_for(type(error)) or self.internal_row).status

    @property
    def internal_row(self) -> Row:
        found = self.row_for(errors.InternalError)
        assert found is not None, f"the {self.family} table answers InternalError"
        return found
