"""The AQuA submit body: parsed, normalised and validated into a :class:`JobRequest`.

Zuora's quirks reproduced here (reference §2, CONTRACT.md "AQuA"): ``version`` as string or
number, booleans as JSON booleans or the strings "true"/"false", ``format`` case-insensitive,
queries without ``name`` (``query0``...) or ``type`` (``zoqlexport``), unknown fields ignored.
Wrong kinds of values are :class:`errors.MalformedRequest` (HTTP 400); Zuora's own rules give
its codes (90004, 90014, 90015, 90016, 90019, 90021 ...).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aquarium.domain import errors
from aquarium.engines import base
from aquarium.runner import notify
from aquarium.services import currencies
from aquarium.zoql import ast

VERSIONS = {"1.0": "1.0", "1.1": "1.1", "1.2": "1.2"}
NUMBER_VERSIONS = {1.0: "1.0", 1.1: "1.1", 1.2: "1.2"}
STATEFUL_VERSIONS = frozenset({"1.1", "1.2"})  # 1.2 behaves as 1.1 (CONTRACT.md)
FORMATS = ("CSV", "GZIP", "ZIP")
ENCRYPTIONS = ("none", "pgp")
SOURCE_DATA = ("LIVE", "WAREHOUSE")
DELETED_FORMATS = ("Numeric", "Boolean")  # capitalised exactly (reference §2.2)
MAX_NAME_CHARS = 32
MAX_NOTIFY_URL_CHARS = 5000
# Where Zuora documents no limit, what the metadata columns hold (store/tables.py; PostgreSQL
# enforces them) and a file name can be: a query's name names its zip entry.
MAX_QUERY_NAME_CHARS = 255
MAX_SESSION_CHARS = 255  # partner, project
MAX_API_VERSION_CHARS = 16
MAX_OFFSET_S = 3600
DEFAULT_API_VERSION = "91.0"
INCREMENTAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


@dataclass(frozen=True)
class DeletedSpec:
    """A query's ``deleted`` section: the flag column's header and format."""

    column: str
    format: str
    force_export: bool

    def wire(self) -> dict[str, Any]:
        return {"column": self.column, "format": self.format}


@dataclass(frozen=True)
class QuerySpec:
    name: str
    query: str
    type: ast.Dialect
    api_version: str
    convert_to_currencies: str | None
    deleted: DeletedSpec | None


@dataclass(frozen=True)
class JobRequest:
    """A submit body after normalisation; ``raw_version`` etc. are what the wire echoes."""

    name: str | None
    version: str
    format: str
    encrypted: str
    use_query_labels: bool
    date_time_utc: bool
    partner: str | None
    project: str | None
    notify_url: str | None
    incremental_time: dt.datetime | None
    offset: int | None
    null_replacement: str | None
    source_data: str | None
    use_last_completed_job_queries: bool
    queries: tuple[QuerySpec, ...]

    @property
    def stateful(self) -> bool:
        """Stateful iff version 1.1/1.2 and both partner and project are set (reference §5.1)."""
        return self.version in STATEFUL_VERSIONS and bool(self.partner) and bool(self.project)


def _malformed(reason: str) -> errors.MalformedRequest:
    return errors.MalformedRequest(reason)


def _string(body: Mapping[str, Any], key: str, limit: int | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _malformed(f"'{key}' must be a string")
    text = str(value)
    if limit is not None and len(text) > limit:
        raise _malformed(f"'{key}' is limited to {limit:,} characters; it has {len(text):,}")
    return text


def _boolean(body: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise _malformed(f"'{key}' must be true or false")


def _choice(body: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = _string(body, key)
    if value is None:
        return default
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise _malformed(f"'{key}' must be one of {', '.join(choices)}, not {value!r}")


def _version(body: Mapping[str, Any]) -> str:
    value = body.get("version", "1.0")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _malformed("'version' must be 1.0, 1.1 or 1.2")
    # A number must be the version itself: 1.04 is not "1.0" (Zuora's OpenAPI types it Float).
    text = NUMBER_VERSIONS.get(value, "") if isinstance(value, int | float) else value.strip()
    if text not in VERSIONS:
        raise _malformed(f"'version' must be 1.0, 1.1 or 1.2, not {value!r}")
    return VERSIONS[text]


def _incremental_time(body: Mapping[str, Any], time_zone: str) -> dt.datetime | None:
    value = body.get("incrementalTime")
    if value is None or value == "":
        return None
    # Read in the tenant's zone (Zuora: Pacific for US data centers), echoed as epoch ms.
    if not isinstance(value, str) or INCREMENTAL_TIME.fullmatch(value.strip()) is None:
        raise errors.InvalidIncrementalTime(f"expected 'YYYY-MM-DD hh:mm:ss', got {value!r}")
    try:
        naive = dt.datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
        aware = naive.replace(tzinfo=zoneinfo.ZoneInfo(time_zone))
        aware.astimezone(dt.UTC)  # the window is compared in UTC: it must exist there
    except ValueError as exc:
        raise errors.InvalidIncrementalTime(str(exc)) from None
    except OverflowError:
        raise errors.InvalidIncrementalTime(
            f"{value!r} in {time_zone} falls outside years 1-9999 in UTC"
        ) from None
    return aware


def _offset(body: Mapping[str, Any]) -> int | None:
    value = body.get("offset")
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OFFSET_S:
        raise _malformed(f"'offset' must be a whole number of seconds from 0 to {MAX_OFFSET_S}")
    return value


def _notify_url(body: Mapping[str, Any]) -> str | None:
    value = _string(body, "notifyUrl")
    if not value:
        return value  # none: echoed as sent, never called
    if len(value) >= MAX_NOTIFY_URL_CHARS:
        raise errors.NotifyUrlTooLong(f"it has {len(value):,} characters")
    problem = notify.template_problem(value)
    if problem is not None:
        raise _malformed(f"'notifyUrl' {problem}")
    return value


def _null_replacement(body: Mapping[str, Any]) -> str | None:
    value = _string(body, "nullReplacement")
    problem = None if value is None else base.null_problem(value)
    if problem is not None:
        raise _malformed(f"'nullReplacement' {problem}")
    return value


def _deleted(item: Mapping[str, Any], name: str) -> DeletedSpec | None:
    value = item.get("deleted")
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 1:  # the OpenAPI types it as an array
        value = value[0]
    if not isinstance(value, Mapping):
        raise _malformed(f"query '{name}': 'deleted' must be an object with column and format")
    column = value.get("column")
    if not isinstance(column, str) or not column.strip():
        raise _malformed(f"query '{name}': 'deleted.column' must name the flag column")
    deleted_format = value.get("format")
    if deleted_format not in DELETED_FORMATS:
        raise _malformed(
            f"query '{name}': 'deleted.format' must be 'Numeric' or 'Boolean' "
            f"(capitalised), not {deleted_format!r}"
        )
    force = _boolean(value, "forceExport")
    return DeletedSpec(column.strip(), str(deleted_format), force)


def _currencies(item: Mapping[str, Any], name: str) -> str | None:
    value = _string(item, "convertToCurrencies")
    if value is None or not value.strip():
        return None
    codes = [code.strip() for code in value.split(",")]
    bad = [code for code in codes if code not in currencies.ISO_4217]
    if bad:
        raise errors.InvalidCurrency(f"query '{name}': {', '.join(map(repr, bad))}")
    return ",".join(codes)


def _query(item: object, index: int) -> QuerySpec:
    if not isinstance(item, Mapping):
        raise _malformed(f"queries[{index}] must be an object with a 'query'")
    name = _string(item, "name", MAX_QUERY_NAME_CHARS) or f"query{index}"
    text = item.get("query")
    if not isinstance(text, str) or not text.strip():
        raise errors.ZoqlError("the query text is missing", query_name=name)
    kind = (_string(item, "type") or ast.Dialect.EXPORT.value).strip().lower()
    if kind not in {d.value for d in ast.Dialect}:
        raise _malformed(f"query '{name}': 'type' must be zoql or zoqlexport, not {kind!r}")
    return QuerySpec(
        name=name,
        query=text,
        type=ast.Dialect(kind),
        api_version=_string(item, "apiVersion", MAX_API_VERSION_CHARS) or DEFAULT_API_VERSION,
        convert_to_currencies=_currencies(item, name),
        deleted=_deleted(item, name),
    )


def _queries(body: Mapping[str, Any], version: str, max_queries: int) -> tuple[QuerySpec, ...]:
    value = body.get("queries")
    if value is None:
        value = []
    if not isinstance(value, list):
        raise _malformed("'queries' must be an array")
    if len(value) > max_queries:
        raise errors.TooManyQueries(f"the request has {len(value)} queries")
    if not value and version == "1.0":
        raise errors.NoQueries()
    return tuple(_query(item, index) for index, item in enumerate(value))


def parse(
    body: object, *, time_zone: str, partners: tuple[str, ...] = (), max_queries: int = 50
) -> JobRequest:
    """Validate a submit body. Raises AquaError subclasses or MalformedRequest."""
    if not isinstance(body, Mapping):
        raise _malformed("the body must be a JSON object")
    version = _version(body)
    name = _string(body, "name")
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise _malformed(f"'name' is limited to {MAX_NAME_CHARS} characters")
    notify_url = _notify_url(body)
    partner = _string(body, "partner", MAX_SESSION_CHARS)
    project = _string(body, "project", MAX_SESSION_CHARS)
    if partner and partners and partner not in partners:
        raise errors.PartnerNotRecognized(f"unknown partner {partner!r}")
    request = JobRequest(
        name=name,
        version=version,
        format=_choice(body, "format", FORMATS, "CSV"),
        encrypted=_choice(body, "encrypted", ENCRYPTIONS, "none"),
        use_query_labels=_boolean(body, "useQueryLabels"),
        date_time_utc=_boolean(body, "dateTimeUtc"),
        partner=partner or None,
        project=project or None,
        notify_url=notify_url,
        incremental_time=_incremental_time(body, time_zone),
        offset=_offset(body),
        null_replacement=_null_replacement(body),
        source_data=_choice(body, "sourceData", SOURCE_DATA, "LIVE")
        if body.get("sourceData") is not None
        else None,
        use_last_completed_job_queries=_boolean(body, "useLastCompletedJobQueries"),
        queries=_queries(body, version, max_queries),
    )
    _check_deleted_sections(request)
    return request


def _check_deleted_sections(request: JobRequest) -> None:
    for query in request.queries:
        if query.deleted is not None and not request.stateful and not query.deleted.force_export:
            raise errors.StatelessDeletedColumns(
                f"query '{query.name}': set deleted.forceExport to true in a stateless job"
            )


class StoredQuery(Protocol):
    """What a stored batch remembers of the query it ran."""

    @property
    def name(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def batch_type(self) -> str: ...
    @property
    def api_version(self) -> str | None: ...
    @property
    def deleted_json(self) -> str | None: ...


def spec_of(batch: StoredQuery) -> QuerySpec:
    """A stored batch's query as a request query (to rerun a stateful session's queries)."""
    deleted = None
    if batch.deleted_json:
        section = json.loads(batch.deleted_json)
        deleted = DeletedSpec(section["column"], section["format"], force_export=False)
    return QuerySpec(
        name=batch.name,
        query=batch.query,
        type=ast.Dialect(batch.batch_type),
        api_version=batch.api_version or DEFAULT_API_VERSION,
        convert_to_currencies=None,
        deleted=deleted,
    )
