"""The error of the Data Query SQL layer.

::

    Exception
    └── DataQuerySqlError   a query refused before it runs: syntax, a statement that is not a
        │                   read, an unknown table, column or function, a recursive CTE
        └── DataQueryRefused   the engine's guard refused the translated statement (a second
                               line of defence: reaching it means the translation let through
                               something it should not have)

Messages follow Trino's wording where Zuora documents it (dataquery.md section 10), e.g.
``Column 'updateddate' cannot be resolved``, ``Table 'owl.data.acccount' does not exist``.
"""

from __future__ import annotations


class DataQuerySqlError(Exception):
    """A query refused before it runs; ``line`` and ``column`` are 1-based, ``None`` if unknown."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        # Trino prefixes ``line L:C: `` (dataquery.md section 10); keep the message a substring.
        if self.line is None or self.column is None:
            return self.message
        return f"line {self.line}:{self.column}: {self.message}"


class DataQueryRefused(DataQuerySqlError):
    """The engine guard (``engines/dataquery_guard.py``) refused a translated statement: it would
    reach beyond the tenant's billing tables. The message is plain, never the engine's text."""
