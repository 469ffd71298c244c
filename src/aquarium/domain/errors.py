"""The one exception tree of Aquarium, each leaf with its Zuora code and message.

::

    AquariumError                    code, message (Zuora's text), reason (our precise detail)
    ├── ZoqlError                    90005 + line, column, caret excerpt
    │   └── DistinctWithoutCountError 90020
    ├── AquaError                    an AQuA request refused (Zuora's error body, HTTP 200)
    │   ├── InvalidJobId              90002 Invalid Job Id.
    │   ├── JobNotCancellable         90003 Invalid Job Id for job cancellation. (own status)
    │   ├── TooManyQueries            90004 Invalid number of queries allowed. ...
    │   ├── StatelessDeletedColumns   90012 Stateless AQuA does not support deleted columns.
    │   ├── NotifyUrlTooLong          90014 notifyURL must be less than 5000 characters ...
    │   ├── InvalidIncrementalTime    90015 The incremental timestamp is invalid.
    │   ├── NoQueries                 90016 There are no queries included in the AQuA ...
    │   ├── DeletedNotSupported       90017 Objects included in the queries do not support ...
    │   ├── PartnerNotRecognized      90019 Partner ID is not recognized.
    │   ├── InvalidCurrency           90021 Invalid currency specified in the ...
    │   ├── QueryTimeLimit            90027 (a batch's message, not a submit answer)
    │   └── TooManyJobs               90028 The total number of concurrent jobs has exceeded ...
    ├── MalformedRequest             50000090 Oops, request is malformed. Please check ...
    │   ├── InvalidParameters         a query, path or header parameter the router cannot read
    │   ├── IdempotencyConflict       an Idempotency-Key reused for another body within 24 h
    │   ├── UnacceptableJson          JSON beyond what any endpoint reads: text that is not
    │   │                             Unicode or holds NUL, deep nesting, numbers past 64 bits
    │   ├── BadJobQuery               a job-list parameter that cannot be read (job API)
    │   └── InvalidControlRequest     a test-control request that cannot be read (a fault rule)
    ├── RequestTooLarge              50000090, a body over the size limit
    ├── NotAuthenticated             90009 User is not authorized. (missing or bad credentials)
    ├── CrossSiteRequest             90009, HTTP 403: another site's page sent this request
    ├── NotFound                     an unknown, expired or foreign file, object, job or asset
    ├── RouteNotFound                Not Found: no endpoint at this path
    ├── MethodNotAllowed             Method Not Allowed: the path has no such method
    ├── ApiUnavailable               an API this server was built without (Reporting, CRUD)
    ├── FileTooLarge                 Zuora's 2,047 MB download cap
    ├── JobAlreadyFinished           job API: cancel of a finished job
    ├── JobCancelNotAllowed          job API: the caller may not cancel this job
    ├── SnapshotBusy                 test control: a tenant snapshot saved or restored while
    │                                its runs wait or execute (HTTP 409)
    ├── AdminRequired                only the tenant's administrators may (tenancy_errors.py)
    ├── ReportingError               a Reporting refusal; message is Zuora's whole text
    │   │                            (domain/reporting_errors.py)
    │   ├── ReportNotFound            An error occurred. The report with ID {id} does not exist.
    │   ├── ReportRunNotFound         The report run with id {id} does not exist.
    │   ├── LabelNotFound             An error occurred. The label with ID {id} does not exist.
    │   ├── ParentLabelNotFound       the same words, for a new label's parentId
    │   ├── ReportDeleteNotAllowed    Only the creator of the report or an administrator ...
    │   ├── ReportRunCancelNotAllowed Only the user who started the report run or an ...
    │   ├── AdministratorRequired     Only an administrator can ... (settings, ownership)
    │   ├── ReportRunNotCancellable   The report run {id} is already {STATUS} and cannot ...
    │   ├── ReportRunNotCompleted     The report run {id} is {STATUS}; its results exist ...
    │   ├── ReportResultsExpired      The results of report run {id} are no longer kept ...
    │   ├── NoCompletedRun            The current user has not run this report yet. ...
    │   ├── InvalidReportingRequest   a value Zuora's validation refuses (the message says which)
    │   ├── EntityConflict            Send entityId or entityName, not both.
    │   ├── IdempotencyKeyReused      This Idempotency-Key was used ... for another request
    │   ├── MissingParameter          Required String parameter '{name}' is not present.
    │   ├── UnreadableJson            Could not read JSON: ... (as Jackson words it)
    │   └── RequestBodyMissing        Required request body content is missing
    ├── DataQueryError               a Data Query refusal, {"code", "message"} (dataquery_errors.py)
    │   ├── DataQueryBadRequest       400 a submit body or parameter that is not acceptable
    │   ├── DataQueryUnsupportedMediaType 415 HTTP 415 Unsupported Media Type
    │   ├── DataQueryNotFound         1001 No such query: {id}
    │   ├── DataQueryNotCancellable   1003 Query job {id} is not in accepted or in_progress ...
    │   ├── DataQueryAccessDenied     1009 Access denied for restricted job {id}
    │   ├── DataQueryQueueFull        429 the tenant's queue of accepted jobs is full
    │   └── DataFileUnavailable       403 a dataFile link forged, expired, or its file gone
    ├── WriteError                   object CRUD: problems, each a Zuora (Code, Message)
    │                                (crud_errors.py)
    │   ├── UnknownObject             INVALID_TYPE  not a catalogue object
    │   ├── RowNotFound               INVALID_ID    no live row with that id
    │   ├── InvalidField              INVALID_FIELD unknown field, or one only the system writes
    │   ├── InvalidValue              INVALID_VALUE wrong type, not an option, dangling reference
    │   ├── MissingRequiredValue      MISSING_REQUIRED_VALUE
    │   └── LegacyObject              INVALID_TYPE  a legacy object of a feature that is on
    ├── ReportDefinitionError        a report definition (or run-time filter) that cannot be run
    ├── InternalError                90010 Internal Server Error. (how an unexpected failure is
    │                                answered; its own text is logged, never sent)
    ├── QueryFailed                  90007 The query execution has been aborted. (what failed in
    │   │                            a client's terms: a batch's or run's message, never an
    │   │                            answer; the engine's own words in ``engine_text``, logged)
    │   ├── EngineOutOfMemory         the statement needed more than the engine's memory budget
    │   ├── WriteConflict             a billing write given up for a concurrent one (a deadlock)
    │   └── EncryptionFailed          the result could not be PGP-encrypted
    ├── QueryInterrupted             90007, the running statement was stopped (cancel, limit)
    ├── ProcessingInterrupted        a report run's processing was stopped
    ├── TenantDataMissing            the tenant has no billing data in this engine
    ├── TenancyError                 a tenant configuration request that cannot be honoured
    │   ├── TenantsFileError          the tenants file (or server secret) is malformed
    │   └── CustomFieldError          a custom field that cannot be added (tenancy_errors.py)
    │       └── CustomFieldNotFound    no custom field of that name on that object
    ├── CatalogError                 a malformed catalogue file (a packaging bug, never user input)
    ├── DataGenerationError          bad generator arguments (scale, tenant name, engine)
    └── LoadError                    files ``aquarium load`` refuses (file, row, column, value)

Classes say what happened, never an HTTP status: ``api/errors.py`` maps each class to a status,
a code and an envelope, once per API family (AQuA, object CRUD, Reporting, the job API) and for
the web pages. The API, the CLI and the UI all render an error's words through
:func:`AquariumError.describe`, so a person sees the same words everywhere.
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


class LoadError(AquariumError):
    """Files ``aquarium load`` refuses before it writes anything: a name that is no object, a
    column the catalogue does not have, a value that does not parse, a missing or repeated Id;
    ``reason`` names the file (and the row, column and value)."""

    message = "Cannot load the files."

    def describe(self) -> str:
        # The reason starts with a file name, whose letter case is not ours to change.
        return f"{self.message} {self.reason}" if self.reason else self.message


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
    """The body is not a JSON object or a field has the wrong kind of value."""

    code = "50000090"  # what Zuora answers for e.g. "format": "json" (reference §1.4)
    message = "Oops, request is malformed. Please check your request."


class InvalidParameters(MalformedRequest):
    """A query, path or header parameter the router cannot read; ``reason`` names it."""


class IdempotencyConflict(MalformedRequest):
    """The Idempotency-Key was used within 24 h for a different request body."""


class UnacceptableJson(MalformedRequest):
    """JSON that parses but that no endpoint accepts (``services/json_input.py``): text that is
    not valid Unicode (a lone surrogate) or holds NUL, arrays and objects nested too deep, an
    integer beyond 64 bits, a number that is not finite. ``reason`` says which and where."""


class BadJobQuery(MalformedRequest):
    """A job API list request with a parameter that cannot be read; ``reason`` says which."""

    message = "The request cannot be read."


class InvalidControlRequest(MalformedRequest):
    """A test-control request (``--test-control``) that cannot be read: a fault rule or a
    parameter; ``reason`` names the field and why."""

    message = "The test-control request cannot be read."


class RequestTooLarge(AquariumError):
    code = "50000090"
    message = "Oops, request is malformed. Please check your request."


class NotAuthenticated(AquariumError):
    code = "90009"
    message = "User is not authorized."


class CrossSiteRequest(AquariumError):
    """A browser sent this state-changing API request from another site's page (its
    ``Sec-Fetch-Site`` header says so): refused before the credentials are read, so a password
    a browser remembers for this server cannot be used by another site (docs/security.md)."""

    code = "90009"
    message = "User is not authorized."


class NotFound(AquariumError):
    message = "Not found."


class RouteNotFound(AquariumError):
    """No endpoint at the requested path (the framework found no route)."""

    message = "Not Found"


class MethodNotAllowed(AquariumError):
    """The path exists but not with this method; ``allowed`` lists the methods it has."""

    message = "Method Not Allowed"

    def __init__(self, reason: str = "", *, allowed: str | None = None) -> None:
        self.allowed = allowed
        super().__init__(reason)


class ApiUnavailable(AquariumError):
    """An API this server was built without; ``message`` names it."""

    message = "This API is not available on this server."


class FileTooLarge(AquariumError):
    message = "<security:max-object-size>2047MB</security:max-object-size>"


class JobAlreadyFinished(AquariumError):
    """A job API cancel of a job that has finished: nothing changes."""

    message = "The job has finished and cannot be cancelled."


class SnapshotBusy(AquariumError):
    """A test-control snapshot of a tenant saved or restored while some of its runs wait or
    execute (services/tenant_snapshots.py); ``reason`` names them."""

    message = "The tenant has runs in progress."


class JobCancelNotAllowed(AquariumError):
    """The caller may not cancel this job (a report run another user started)."""

    message = "You may not do this."


class InternalError(AquariumError):
    """An unexpected failure as a client is told of it: Zuora's 90010 and nothing more."""

    code = "90010"
    message = "Internal Server Error."


class QueryInterrupted(AquariumError):
    """The running statement was stopped by ``Snapshot.interrupt`` (e.g. a job cancel)."""

    code = "90007"
    message = "The query execution has been aborted."


class QueryFailed(AquariumError):
    """The engine refused or failed the statement at run time.

    ``reason`` says what failed in a client's terms, and becomes a batch's or a run's message;
    ``engine_text`` holds the engine's own words ("Binder Error: ..."), for the log only.
    """

    code = "90007"
    message = "The query execution has been aborted."

    def __init__(self, reason: str = "", *, engine_text: str | None = None) -> None:
        self.engine_text = engine_text
        super().__init__(reason)


def operator_words(error: AquariumError) -> str:
    """:meth:`AquariumError.describe` plus the engine's own words when there are some: for the
    server's operator (the CLI, its local endpoints), never for an API client."""
    engine_text = getattr(error, "engine_text", None)
    described = error.describe()
    return f"{described} (engine: {engine_text})" if engine_text else described


class EngineOutOfMemory(QueryFailed):
    """The statement needed more memory than the engine's budget (DuckDB's ``memory_limit``),
    which every statement running at the same moment shares."""


class WriteConflict(QueryFailed):
    """The engine rolled a billing write transaction back so that a concurrent one could finish
    (PostgreSQL's deadlock detection): nothing of it remains, and running it again may work."""


class EncryptionFailed(QueryFailed):
    """The result could not be encrypted (no key any more, an unusable key, no ``gpg``).

    A :class:`QueryFailed`, so the batch aborts with this reason.
    """


class ProcessingInterrupted(AquariumError):
    """A report run's processing was stopped (``ReportProcessor.interrupt``); files removed."""

    message = "The report run's processing was interrupted."


class TenantDataMissing(AquariumError):
    """The tenant has no billing data in this engine (run ``aquarium datagen`` first)."""

    message = "The tenant has no billing data."


class TenancyError(AquariumError):
    """A tenant configuration request that cannot be honoured; ``reason`` says why."""

    message = "Invalid tenant configuration."


class TenantsFileError(TenancyError):
    """The tenants file (or the server secret) exists but cannot be read as written."""

    message = "The tenants file is malformed."
