"""The Data Query API's refusals: the ``DataQueryError`` branch of the tree in ``errors.py``.

Zuora answers them as ``{"code": <int>, "message": <text>}`` (reference dataquery.md section 6);
``code`` here is that integer as text, ``message`` the whole text, given by the service since
most name a job id. The HTTP status is chosen by ``api/errors.py``, never here. A query that
cannot run is no refusal: the submit succeeds and the job ends ``failed`` with its reason.
"""

from __future__ import annotations

from aquarium.domain import errors


class DataQueryError(errors.AquariumError):
    """A refused Data Query request; ``message`` is the whole text."""

    code = "400"

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


class DataQueryBadRequest(DataQueryError):
    """The submit body or a parameter is not acceptable (Zuora documents ``Unable to process
    JSON``; Aquarium says which field and why)."""


class DataQueryUnsupportedMediaType(DataQueryError):
    """A submit without ``Content-Type: application/json`` (HTTP 415)."""

    code = "415"


class DataQueryNotFound(DataQueryError):
    """No job of the caller's tenant has this id: ``No such query: <id>``."""

    code = "1001"


class DataQueryNotCancellable(DataQueryError):
    """DELETE of a job that has ended: ``Query job <id> is not in accepted or in_progress
    status``."""

    code = "1003"


class DataQueryAccessDenied(DataQueryError):
    """A user who is not an administrator asked for another user's job."""

    code = "1009"


class DataQueryQueueFull(DataQueryError):
    """The tenant already has its limit of jobs waiting in ``accepted`` (HTTP 429)."""

    code = "429"


class DataFileUnavailable(DataQueryError):
    """A ``dataFile`` link whose signature does not match, that has expired, or whose file is
    no longer kept."""

    code = "403"
