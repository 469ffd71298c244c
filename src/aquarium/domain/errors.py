"""The one exception tree of Aquarium, each leaf with its Zuora code and message.

::

    AquariumError                    code, message (Zuora's text), reason (our precise detail)
    ├── ZoqlError                    90005 + line, column, caret excerpt
    │   └── DistinctWithoutCountError 90020
    ├── AquaError                    an AQuA request refused; HTTP 200 with Zuora's error body
    │   ├── InvalidJobId              90002
    │   ├── JobNotCancellable         90003 (the job's own status is echoed)
    │   ├── TooManyQueries            90004
    │   ├── StatelessDeletedColumns   90012
    │   ├── NotifyUrlTooLong          90014
    │   ├── InvalidIncrementalTime    90015
    │   ├── NoQueries                 90016
    │   ├── DeletedNotSupported       90017
    │   ├── PartnerNotRecognized      90019
    │   ├── InvalidCurrency           90021
    │   ├── QueryTimeLimit            90027 (a batch's message, not a submit answer)
    │   └── TooManyJobs               90028
    ├── MalformedRequest             not JSON, not an object, or a wrong kind of value (400)
    ├── RequestTooLarge              a body over the size limit (HTTP 413)
    ├── NotAuthenticated             missing or bad credentials (HTTP 401)
    ├── NotFound                     unknown, expired or foreign file (HTTP 404)
    ├── FileTooLarge                 over Zuora's 2,047 MB download cap (HTTP 403)
    ├── ReportDefinitionError        a report definition (or run-time filter) that cannot be run
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
        """Zuora's message followed by our reason as a sentence, on one line."""
        if not self.reason:
            return self.message
        reason = self.reason[0].upper() + self.reason[1:]
        if reason[-1] not in ".!?":
            reason += "."
        return f"{self.message} {reason}"


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


class ReportDefinitionError(AquariumError):
    """A Reporting definition or run-time filter that cannot become a query; ``reason`` says
    which part and why (the Reporting API states it in its own envelope)."""

    message = "The report definition cannot be run."

    def describe(self) -> str:
        return self.reason or self.message


class CatalogError(AquariumError):
    """The catalogue data file is inconsistent; raised at load time, never for user input."""

    message = "The object catalogue is invalid."


class DataGenerationError(AquariumError):
    """Bad arguments to the synthetic data generator."""

    message = "Cannot generate billing data."


class AquaError(AquariumError):
    """A refused AQuA request, answered as Zuora does: HTTP 200 with an error body."""


class InvalidJobId(AquaError):
    code = "90002"
    message = "Invalid Job Id."


class JobNotCancellable(AquaError):
    """DELETE on a finished job; ``status`` is the job's unchanged status."""

    code = "90003"
    message = "Invalid Job Id for job cancellation."

    def __init__(self, job_id: str, status: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(f"the job is already {status}")


class TooManyQueries(AquaError):
    code = "90004"
    message = (
        "Invalid number of queries allowed. "
        "A maximum of 50 queries are supported in an AQuA request."
    )


class StatelessDeletedColumns(AquaError):
    code = "90012"
    message = "Stateless AQuA does not support deleted columns."


class NotifyUrlTooLong(AquaError):
    code = "90014"
    message = "notifyURL must be less than 5000 characters in length."


class InvalidIncrementalTime(AquaError):
    code = "90015"
    message = "The incremental timestamp is invalid."


class NoQueries(AquaError):
    code = "90016"
    message = "There are no queries included in the AQuA version 1.0 request."


class DeletedNotSupported(AquaError):
    code = "90017"
    message = (
        "Objects included in the queries do not support the querying of deleted records. "
        'Remove "Deleted" section in the JSON request and retry the request.'
    )


class PartnerNotRecognized(AquaError):
    code = "90019"
    message = "Partner ID is not recognized."


class InvalidCurrency(AquaError):
    code = "90021"
    message = "Invalid currency specified in the convertToCurrencies request parameter."


class QueryTimeLimit(AquaError):
    code = "90027"
    message = "The query exceeded maximum processing time."


class TooManyJobs(AquaError):
    code = "90028"
    message = "The total number of concurrent jobs has exceeded the limit allowed by the system."


class MalformedRequest(AquariumError):
    """The body is not a JSON object or a field has the wrong kind of value (HTTP 400)."""

    code = "50000090"  # what Zuora answers for e.g. "format": "json" (reference §1.4)
    message = "Oops, request is malformed. Please check your request."


class RequestTooLarge(AquariumError):
    code = "50000090"
    message = "Oops, request is malformed. Please check your request."


class NotAuthenticated(AquariumError):
    code = "90009"
    message = "User is not authorized."


class NotFound(AquariumError):
    message = "Not found."


class FileTooLarge(AquariumError):
    message = "<security:max-object-size>2047MB</security:max-object-size>"
