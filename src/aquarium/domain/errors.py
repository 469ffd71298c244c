"""The one exception tree of Aquarium, each leaf with its Zuora code and message.

::

    AquariumError                    code, message (Zuora's text), reason (our precise detail)
    ├── ZoqlError                    90005 + line, column, caret excerpt
    │   └── DistinctWithoutCountError 90020
    ├── CatalogError                 a malformed catalogue file (a packaging bug, never user input)
    └── DataGenerationError          bad generator arguments (scale, tenant name, engine)

The API, the CLI and the UI all render an error through :func:`AquariumError.describe`, so a
person sees the same words everywhere. Mapping to HTTP happens once, at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass

SYNTAX_ERROR_MESSAGE = "There is a syntax error in one of the queries in the AQuA input."
DISTINCT_WITHOUT_COUNT_MESSAGE = "Invalid Distinct column, without Count function."


class AquariumError(Exception):
    """Base of every error Aquarium raises on purpose.

    ``code`` is Zuora's error code (a string, as on the wire) or ``None`` where Zuora has none;
    ``message`` is Zuora's exact text; ``reason`` is our precise explanation, appended for people.
    """

    code: str | None = None
    message: str = "Internal Server Error."

    def __init__(self, reason: str = "", *, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        self.reason = reason
        super().__init__(self.describe())

    def describe(self) -> str:
        """Zuora's message followed by our reason, as one line."""
        return f"{self.message} {self.reason}".strip() if self.reason else self.message


@dataclass(frozen=True)
class SourcePosition:
    """A 1-based line and column in a query text, with the excerpt that locates it."""

    line: int
    column: int
    excerpt: str

    @classmethod
    def locate(cls, text: str, offset: int) -> SourcePosition:
        """The position of character ``offset`` (0-based) in ``text``; past the end clamps to it."""
        offset = max(0, min(offset, len(text)))
        line = text.count("\n", 0, offset) + 1
        line_start = text.rfind("\n", 0, offset) + 1
        line_end = text.find("\n", offset)
        source_line = text[line_start : line_end if line_end != -1 else len(text)]
        column = offset - line_start + 1
        # Long lines are cut around the caret so the excerpt stays readable in logs and UIs.
        window_start = max(0, column - 1 - 60)
        shown = source_line[window_start : window_start + 120]
        caret = " " * (column - 1 - window_start) + "^"
        return cls(line=line, column=column, excerpt=f"{shown}\n{caret}")


class ZoqlError(AquariumError):
    """A query that cannot run: Zuora's 90005 text plus where and why.

    ``query_name`` names the query within the job (``'q2'``) when known.
    """

    code = "90005"
    message = SYNTAX_ERROR_MESSAGE

    def __init__(
        self,
        reason: str,
        position: SourcePosition | None = None,
        *,
        query_name: str | None = None,
    ) -> None:
        self.position = position
        self.query_name = query_name
        super().__init__(reason)

    def in_query(self, query_name: str) -> ZoqlError:
        """The same error, attributed to the named query of a job."""
        clone = type(self)(self.reason, self.position, query_name=query_name)
        clone.message = self.message
        return clone

    def describe(self) -> str:
        where = []
        if self.query_name is not None:
            where.append(f"Query '{self.query_name}'")
        if self.position is not None:
            where.append(f"line {self.position.line}, column {self.position.column}")
        prefix = ", ".join(where)
        detail = f"{prefix}: {self.reason}" if prefix else self.reason
        return f"{self.message} {detail}"


class DistinctWithoutCountError(ZoqlError):
    """``distinct`` used anywhere but inside ``count()`` (Zuora 90020)."""

    code = "90020"
    message = DISTINCT_WITHOUT_COUNT_MESSAGE


class CatalogError(AquariumError):
    """The catalogue data file is inconsistent; raised at load time, never for user input."""

    message = "The object catalogue is invalid."


class DataGenerationError(AquariumError):
    """Bad arguments to the synthetic data generator."""

    message = "Cannot generate billing data."
