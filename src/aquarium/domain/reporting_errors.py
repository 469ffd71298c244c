"""The Reporting API's refusals: the ``ReportingError`` branch of the tree in ``errors.py``.

Each class says what happened; ``message`` is the whole text Zuora answers (reference
reporting.md section 3.3), given by the service that refuses, since most carry an id or a value.
The HTTP status and the ``errorCode`` (``ZAN-USAGE-REST-ERROR``, ``ZAN-REST-ERROR``) are chosen
by ``api/errors.py``, never here.
"""

from __future__ import annotations

from aquarium.domain import errors


class ReportingError(errors.AquariumError):
    """A refused Reporting API request; ``message`` is Zuora's whole text (no reason)."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


class ReportNotFound(ReportingError):
    """No report of the caller's tenant has this id (two wordings: reference 3.3)."""


class ReportRunNotFound(ReportingError):
    """No run of the caller's tenant has this id (export words it as a failed export)."""


class LabelNotFound(ReportingError):
    """No label of the caller's tenant has the id in the path."""


class ParentLabelNotFound(ReportingError):
    """A new label's ``parentId`` names no label of the tenant (a bad value in the body)."""


class ReportDeleteNotAllowed(ReportingError):
    """Only the report's creator or a tenant administrator may delete it."""


class ReportRunCancelNotAllowed(ReportingError):
    """Only the user who started the run or a tenant administrator may cancel it."""


class AdministratorRequired(ReportingError):
    """Only a tenant administrator may do this (update tenant settings [TUPD], transfer report
    ownership: Zuora's Reporting Administrator role [XFER])."""


class ReportRunNotCancellable(ReportingError):
    """The run has finished (COMPLETED, ERROR, INVALID): a cancel changes nothing."""


class ReportRunNotCompleted(ReportingError):
    """The run's results were asked for before it COMPLETED."""


class ReportResultsExpired(ReportingError):
    """The run's result files are past their retention."""


class NoCompletedRun(ReportingError):
    """The caller has no completed run of the report in the retention window."""


class InvalidReportingRequest(ReportingError):
    """A parameter or body value Zuora's validation refuses; the message says which and why."""


class EntityConflict(ReportingError):
    """Both ``entityId`` and ``entityName`` headers were sent; Zuora takes one [OVR]."""


class MissingParameter(ReportingError):
    """A required query parameter is absent (Spring's ``Required ... parameter`` words)."""


class UnreadableJson(ReportingError):
    """The body cannot be read as the JSON the endpoint takes (Jackson's words)."""


class RequestBodyMissing(ReportingError):
    """An endpoint that reads a body got none (Spring's words)."""


class IdempotencyKeyReused(ReportingError):
    """An ``Idempotency-Key`` named another operation in the last 24 hours (Zuora: HTTP 422,
    "a mismatch of tenant IDs, URLs or HTTP methods")."""
