"""How errors become HTTP responses: one table per API family, and the pages.

This module holds the tables and chooses the family; ``api/error_responses.py`` answers with them
(the framework's exception handlers, the web guard's pages).

The family is chosen once per request, from the path (:func:`family_of`): AQuA (batch-query,
files, describe, OAuth: everything under ``/v1/`` but objects, ``/apps/api/``, ``/oauth/``),
object CRUD (``/v1/object/``), Reporting (``/api/rest/``, ``/reporting/api/rest/``), Aquarium's
job API (``/aquarium/api/``), and the web pages (everything else). Each family's table maps error
classes to (HTTP status, code, envelope); the **first** row naming the error's class or one of its
ancestors wins, so a row for a subclass comes before its parent's. ``code`` is the family's code
for the row, or ``None`` where each class carries its own (AQuA's 9000x codes, the CRUD codes).
No table names ``AquariumError`` itself: ``tests/unit/test_error_tables.py`` walks the whole tree
and fails for a class some table does not map.

Every family answers every error in its own envelope, the framework's own ones too (an unknown
route or method under its prefix, unreadable parameters) and unexpected exceptions:

- AQuA: Zuora's ``{"id": null, "status": "error", "errorCode", "message"}``; refusals are HTTP 200
  (CONTRACT.md), malformed bodies 400 (JSON beyond the shared limits too: UnacceptableJson),
  oversized 413, bad credentials 401, unknown files 404 (``{"status": "error", "message"}``),
  oversized files 403 (Zuora's XML).
- Object CRUD: ``{"Success": false, "Errors": [{"Code", "Message"}]}``.
- Reporting: ``{"success": false, "response": "<JSON string>", "links": null}`` (reference
  reporting.md 3.3) with ``ZAN-USAGE-REST-ERROR``, ``ZAN-REST-ERROR`` or ``loginFailed``; text
  that is not JSON is Zuora's documented 500, JSON beyond the shared limits our 400.
- Job API: ``{"error": {"code", "message"}}`` (docs/job-finder-api.md).
- The CLI's local endpoints (``/aquarium/api/v1/local/``): the job API's envelope, the message
  as the CLI prints it and a ZOQL error's caret ``excerpt``.
- Web pages: an HTML page (``web/pages.py``); the framework's own 404/405 keep its default.

An unexpected exception, and an error no client should see the words of (an engine failure, a
configuration fault, an error of another family), is answered as :class:`errors.InternalError`
(HTTP 500, no detail) and logged with the request; so is an engine's text kept out of every body.
"""

from __future__ import annotations

from aquarium.api import envelopes

# The tables' vocabulary, re-exported: callers name ``api.errors.Family`` and the rest.
from aquarium.api.error_model import FAMILY_PREFIXES as FAMILY_PREFIXES  # noqa: PLC0414
from aquarium.api.error_model import Family as Family  # noqa: PLC0414
from aquarium.api.error_model import Kinds as Kinds  # noqa: PLC0414
from aquarium.api.error_model import Row as Row  # noqa: PLC0414
from aquarium.api.error_model import Table as Table  # noqa: PLC0414
from aquarium.api.error_model import family_of as family_of  # noqa: PLC0414
from aquarium.domain import crud_errors, errors, reporting_errors, tenancy_errors
from aquarium.domain import dataquery_errors as dq_errors
from aquarium.web import pages

# -- the tables ------------------------------------------------------------------------------------

#: Failures of ours rather than refusals of a request: every family answers them as InternalError.
INTERNAL: Kinds = (
    errors.InternalError,
    errors.QueryFailed,
    errors.QueryInterrupted,
    errors.ProcessingInterrupted,
    errors.TenantDataMissing,
    errors.TenancyError,
    errors.CatalogError,
    errors.DataGenerationError,
    errors.LoadError,
)
#: Refusals of other families: raised on these paths they are a bug, so answered as internal.
FROM_AQUA: Kinds = (errors.AquaError, errors.ZoqlError, errors.FileTooLarge)
FROM_REPORTING: Kinds = (reporting_errors.ReportingError, errors.ReportDefinitionError)
FROM_DATAQUERY: Kinds = (dq_errors.DataQueryError,)
FROM_JOBS: Kinds = (
    errors.JobAlreadyFinished,
    errors.SnapshotBusy,
    errors.JobCancelNotAllowed,
    tenancy_errors.AdminRequired,
)

AQUA = Table(
    Family.AQUA,
    (
        Row(
            (errors.NotAuthenticated,),
            401,
            None,
            envelopes.aqua(envelopes.own_message, challenge=True),
        ),
        Row((errors.CrossSiteRequest,), 403, None, envelopes.aqua_own),
        Row((errors.RequestTooLarge,), 413, None, envelopes.aqua_own),
        Row((errors.MalformedRequest,), 400, None, envelopes.aqua_own),
        Row((errors.NotFound,), 404, None, envelopes.aqua_not_found),
        Row((errors.FileTooLarge,), 403, None, envelopes.xml),
        Row((errors.RouteNotFound,), 404, "50000090", envelopes.aqua(envelopes.own_message)),
        Row((errors.MethodNotAllowed,), 405, "50000090", envelopes.aqua(envelopes.own_message)),
        # A refused AQuA request is HTTP 200 with Zuora's error body (CONTRACT.md "AQuA").
        Row((errors.AquaError, errors.ZoqlError), 200, None, envelopes.aqua_own),
        Row(
            (
                *INTERNAL,
                *FROM_REPORTING,
                *FROM_JOBS,
                *FROM_DATAQUERY,
                crud_errors.WriteError,
                errors.ApiUnavailable,
            ),
            500,
            errors.InternalError.code,
            envelopes.aqua(envelopes.internal_words),
            internal=True,
        ),
    ),
)

# Zuora's CRUD error codes (its ErrorCode list); the problems of a WriteError carry their own.
OBJECTS = Table(
    Family.OBJECTS,
    (
        Row(
            (errors.NotAuthenticated,),
            401,
            "INVALID_LOGIN",
            envelopes.crud(envelopes.fixed("Authentication failed."), challenge=True),
        ),
        Row(
            (errors.CrossSiteRequest,),
            403,
            "INVALID_LOGIN",
            envelopes.crud(envelopes.fixed("Cross-site requests are not accepted.")),
        ),
        Row(
            (crud_errors.UnknownObject, crud_errors.RowNotFound),
            404,
            None,
            envelopes.crud_problems,
        ),
        Row((crud_errors.WriteError,), 400, None, envelopes.crud_problems),
        Row((errors.RequestTooLarge,), 413, "INVALID_VALUE", envelopes.crud(envelopes.reason)),
        Row((errors.UnacceptableJson,), 400, "INVALID_VALUE", envelopes.crud(envelopes.reason)),
        Row(
            (errors.MalformedRequest,),
            400,
            "INVALID_VALUE",
            envelopes.crud(envelopes.fixed("The request body is not valid JSON")),
        ),
        Row((errors.ApiUnavailable,), 404, "API_DISABLED", envelopes.crud(envelopes.own_message)),
        Row((errors.RouteNotFound,), 404, "INVALID_VALUE", envelopes.crud(envelopes.own_message)),
        Row(
            (errors.MethodNotAllowed,), 405, "INVALID_VALUE", envelopes.crud(envelopes.own_message)
        ),
        Row(
            (*INTERNAL, *FROM_AQUA, *FROM_REPORTING, *FROM_JOBS, *FROM_DATAQUERY, errors.NotFound),
            500,
            "UNKNOWN_ERROR",
            envelopes.crud(envelopes.internal_words),
            internal=True,
        ),
    ),
)

USAGE_ERROR = "ZAN-USAGE-REST-ERROR"  # a refusal of what was asked (reference 3.3)
REST_ERROR = "ZAN-REST-ERROR"  # the framework could not read the request
LOGIN_FAILED = "loginFailed"


def _could_not_read(error: errors.AquariumError) -> str:
    # Zuora's Reporting service answers unreadable JSON with a 500 REST error [CREATE].
    return f"Could not read JSON: {error.reason}"


#: The class's own words in the Reporting envelope (Zuora's whole text, given by the service).
_REPORTING_OWN = envelopes.reporting(envelopes.own_message)
#: Reporting refusals of an unknown thing and of a caller without the right (pages answer so too).
REPORTING_NOT_FOUND: Kinds = (
    reporting_errors.ReportNotFound,
    reporting_errors.ReportRunNotFound,
    reporting_errors.LabelNotFound,
)
REPORTING_NOT_ALLOWED: Kinds = (
    reporting_errors.ReportDeleteNotAllowed,
    reporting_errors.ReportRunCancelNotAllowed,
    reporting_errors.AdministratorRequired,
)

REPORTING = Table(
    Family.REPORTING,
    (
        Row(
            (errors.NotAuthenticated,),
            401,
            LOGIN_FAILED,
            envelopes.reporting(envelopes.fixed("Authentication failed.")),
        ),
        Row((errors.CrossSiteRequest,), 403, LOGIN_FAILED, envelopes.reporting(envelopes.reason)),
        Row((errors.RequestTooLarge,), 413, REST_ERROR, envelopes.reporting(envelopes.described)),
        Row((errors.InvalidParameters,), 400, REST_ERROR, envelopes.reporting(envelopes.reason)),
        # JSON that parses but breaks a limit every endpoint shares (a lone surrogate, deep
        # nesting, a huge number): our refusal, not a parse error, so 400 rather than Zuora's 500.
        Row((errors.UnacceptableJson,), 400, REST_ERROR, envelopes.reporting(_could_not_read)),
        Row((errors.MalformedRequest,), 500, REST_ERROR, envelopes.reporting(_could_not_read)),
        Row(
            (reporting_errors.UnreadableJson, reporting_errors.RequestBodyMissing),
            500,
            REST_ERROR,
            _REPORTING_OWN,
        ),
        Row((reporting_errors.MissingParameter,), 400, REST_ERROR, _REPORTING_OWN),
        Row((errors.RouteNotFound,), 404, REST_ERROR, envelopes.reporting(envelopes.own_message)),
        Row(
            (errors.MethodNotAllowed,), 405, REST_ERROR, envelopes.reporting(envelopes.own_message)
        ),
        Row(REPORTING_NOT_FOUND, 404, USAGE_ERROR, _REPORTING_OWN),
        Row(REPORTING_NOT_ALLOWED, 403, USAGE_ERROR, _REPORTING_OWN),
        Row((reporting_errors.IdempotencyKeyReused,), 422, USAGE_ERROR, _REPORTING_OWN),
        Row((errors.ApiUnavailable,), 503, USAGE_ERROR, _REPORTING_OWN),
        # Every other refusal of what was asked is a 400 usage error; ReportingError itself last,
        # so a new kind of Reporting refusal is one too until it is given a row of its own.
        Row(
            (
                reporting_errors.ParentLabelNotFound,
                reporting_errors.ReportRunNotCancellable,
                reporting_errors.ReportRunNotCompleted,
                reporting_errors.ReportResultsExpired,
                reporting_errors.NoCompletedRun,
                reporting_errors.InvalidReportingRequest,
                reporting_errors.EntityConflict,
                errors.ReportDefinitionError,
                reporting_errors.ReportingError,
            ),
            400,
            USAGE_ERROR,
            envelopes.reporting(envelopes.described),
        ),
        Row(
            (
                *INTERNAL,
                *FROM_AQUA,
                *FROM_JOBS,
                *FROM_DATAQUERY,
                crud_errors.WriteError,
                errors.NotFound,
            ),
            500,
            REST_ERROR,
            envelopes.reporting(envelopes.internal_words),
            internal=True,
        ),
    ),
)

JOBS = Table(
    Family.JOBS,
    (
        Row(
            (errors.NotAuthenticated,),
            401,
            "unauthorized",
            envelopes.jobs(envelopes.reason, challenge=True),
        ),
        # A job that went away between two steps of a request is as unknown as any other.
        Row(
            (
                errors.NotFound,
                errors.RouteNotFound,
                errors.InvalidJobId,
                reporting_errors.ReportRunNotFound,
                tenancy_errors.CustomFieldNotFound,
            ),
            404,
            "not_found",
            envelopes.jobs(envelopes.reason),
        ),
        Row(
            (errors.JobCancelNotAllowed, errors.CrossSiteRequest, tenancy_errors.AdminRequired),
            403,
            "forbidden",
            envelopes.jobs(envelopes.reason),
        ),
        # The admin API of custom fields: a field that cannot be added, or a bad settings value.
        Row(
            (tenancy_errors.CustomFieldError,),
            400,
            "invalid_custom_field",
            envelopes.jobs(envelopes.reason),
        ),
        Row((errors.JobAlreadyFinished,), 409, "not_cancellable", envelopes.jobs(envelopes.reason)),
        Row((errors.SnapshotBusy,), 409, "busy", envelopes.jobs(envelopes.reason)),
        Row((errors.RequestTooLarge,), 413, "too_large", envelopes.jobs(envelopes.reason)),
        Row(
            (errors.MethodNotAllowed,), 405, "method_not_allowed", envelopes.jobs(envelopes.reason)
        ),
        Row((errors.MalformedRequest,), 400, "bad_request", envelopes.jobs(envelopes.reason)),
        Row(
            (
                *INTERNAL,
                *FROM_AQUA,
                *FROM_REPORTING,
                *FROM_DATAQUERY,
                crud_errors.WriteError,
                errors.ApiUnavailable,
            ),
            500,
            "internal_error",
            envelopes.jobs(envelopes.internal_words),
            internal=True,
        ),
    ),
)

# ``aquarium query / simulate / datagen`` run by the server for its data dir's owner (the token of
# DATA_DIR/server.json): a refusal carries the line the command prints when it runs without a
# server, engine words included, since that is what the same person would read then.
LOCAL = Table(
    Family.LOCAL,
    (
        Row((errors.NotAuthenticated,), 401, "unauthorized", envelopes.local),
        Row((errors.CrossSiteRequest,), 403, "forbidden", envelopes.local),
        Row((errors.NotFound, errors.RouteNotFound), 404, "not_found", envelopes.local),
        Row((errors.MethodNotAllowed,), 405, "method_not_allowed", envelopes.local),
        Row(
            (
                errors.ZoqlError,
                errors.AquaError,
                errors.MalformedRequest,
                errors.RequestTooLarge,
                errors.DataGenerationError,
                errors.LoadError,
                errors.TenantDataMissing,
                errors.TenancyError,
                errors.QueryFailed,
                errors.QueryInterrupted,
                crud_errors.WriteError,
                errors.CatalogError,
            ),
            400,
            "refused",
            envelopes.local,
        ),
        Row(
            (
                errors.InternalError,
                errors.ProcessingInterrupted,
                errors.ApiUnavailable,
                errors.FileTooLarge,
                *FROM_REPORTING,
                *FROM_JOBS,
                *FROM_DATAQUERY,
            ),
            500,
            "internal_error",
            envelopes.jobs(envelopes.internal_words),
            internal=True,
        ),
    ),
)

WEB = Table(
    Family.WEB,
    (
        Row((errors.NotAuthenticated,), 401, None, envelopes.page(pages.SIGN_IN_AGAIN)),
        Row(
            (
                errors.NotFound,
                errors.RouteNotFound,
                errors.ApiUnavailable,
                errors.InvalidJobId,
                *REPORTING_NOT_FOUND,
                tenancy_errors.CustomFieldNotFound,
            ),
            404,
            None,
            envelopes.page(pages.NOT_FOUND),
        ),
        Row(
            (errors.JobNotCancellable, errors.JobAlreadyFinished, errors.SnapshotBusy),
            409,
            None,
            envelopes.page(pages.NOT_CANCELLABLE),
        ),
        Row(
            (
                errors.JobCancelNotAllowed,
                errors.CrossSiteRequest,
                tenancy_errors.AdminRequired,
                *REPORTING_NOT_ALLOWED,
            ),
            403,
            None,
            envelopes.page(pages.NOT_ALLOWED),
        ),
        Row((tenancy_errors.CustomFieldError,), 400, None, envelopes.page(pages.REFUSED)),
        Row(INTERNAL, 500, None, envelopes.page_unexpected, internal=True),
        Row(
            (
                errors.MalformedRequest,
                errors.RequestTooLarge,
                errors.MethodNotAllowed,
                errors.FileTooLarge,
                errors.AquaError,
                errors.ZoqlError,
                crud_errors.WriteError,
                *FROM_REPORTING,
                *FROM_DATAQUERY,
            ),
            400,
            None,
            envelopes.page(pages.REFUSED),
        ),
    ),
)

_DQ = envelopes.dataquery(envelopes.own_message)


def _unable_to_process(error: errors.AquariumError) -> str:
    # Zuora's one documented words for a body it cannot read, then which part and why.
    return f"Unable to process JSON: {error.reason}" if error.reason else "Unable to process JSON"


# Data Query (reference dataquery.md section 6): {"code": <int>, "message"}; the refusals carry
# Zuora's code (1001, 1003, 1009, ...), the framework's own ones the HTTP status as code.
DATAQUERY = Table(
    Family.DATAQUERY,
    (
        Row(
            (errors.NotAuthenticated,),
            401,
            None,
            envelopes.dataquery(envelopes.fixed("Authentication error"), bare=True),
        ),
        Row((errors.CrossSiteRequest,), 403, "403", envelopes.dataquery(envelopes.reason)),
        Row((errors.RequestTooLarge,), 413, "413", envelopes.dataquery(envelopes.reason)),
        Row((errors.MalformedRequest,), 400, "400", envelopes.dataquery(_unable_to_process)),
        Row((errors.RouteNotFound,), 404, "404", _DQ),
        Row((errors.MethodNotAllowed,), 405, "405", _DQ),
        Row((dq_errors.DataQueryNotFound,), 404, None, _DQ),
        Row((dq_errors.DataQueryAccessDenied, dq_errors.DataFileUnavailable), 403, None, _DQ),
        Row((dq_errors.DataQueryUnsupportedMediaType,), 415, None, _DQ),
        Row((dq_errors.DataQueryQueueFull,), 429, None, _DQ),
        Row((errors.ApiUnavailable,), 503, "503", _DQ),
        Row((dq_errors.DataQueryError,), 400, None, _DQ),
        Row(
            (
                *INTERNAL,
                *FROM_AQUA,
                *FROM_REPORTING,
                *FROM_JOBS,
                crud_errors.WriteError,
                errors.NotFound,
            ),
            500,
            "500",
            envelopes.dataquery(envelopes.internal_words),
            internal=True,
        ),
    ),
)

TABLES: dict[Family, Table] = {
    table.family: table for table in (AQUA, OBJECTS, REPORTING, JOBS, DATAQUERY, LOCAL, WEB)
}
