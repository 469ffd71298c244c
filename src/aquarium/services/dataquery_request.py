"""A Data Query submit body, read and checked (reference dataquery.md section 2).

Zuora documents one refusal, ``Unable to process JSON``; Aquarium says which field and why
(decision 12.7, docs/data-query.md). Enum values are matched without regard to case and shown
as Zuora spells them. Unknown fields are ignored, as Zuora's JSON reader does with fields it
does not know (the SDKs add ``additional_properties``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aquarium.dataquery import output
from aquarium.domain import dataquery_errors as dq_errors

#: Zuora's limit on ``query`` through the API (reference section 9).
MAX_QUERY_CHARS = 1_000_000
SOURCES = ("LIVE", "WAREHOUSE", "DATAHUB")
WAREHOUSE_SIZES = ("xsmall", "NULL")
TARGETS = ("S3",)


@dataclass(frozen=True)
class DataQueryRequest:
    query: str
    output_format: output.OutputFormat
    compression: output.Compression
    column_separator: str | None
    encryption_key: str | None
    read_deleted: bool
    source_data: str
    use_index_join: bool
    warehouse_size: str | None


def _bad(message: str) -> dq_errors.DataQueryBadRequest:
    return dq_errors.DataQueryBadRequest(message)


def _choice(body: Mapping[str, object], name: str, choices: tuple[str, ...]) -> str:
    value = body.get(name)
    if value is None:
        raise _bad(f"{name} is required: one of {', '.join(choices)}")
    if isinstance(value, str):
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
    raise _bad(f"{name} must be one of {', '.join(choices)}, not {_shown(value)}")


def _optional_choice(
    body: Mapping[str, object], name: str, choices: tuple[str, ...], default: str | None
) -> str | None:
    return default if body.get(name) is None else _choice(body, name, choices)


def _boolean(body: Mapping[str, object], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise _bad(f"{name} must be true or false, not {_shown(value)}")


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _query(body: Mapping[str, object]) -> str:
    query = body.get("query")
    if query is None:
        raise _bad("query is required: one SQL statement")
    if not isinstance(query, str):
        raise _bad("query must be a string holding one SQL statement")
    if not query.strip():
        raise _bad("query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise _bad(f"query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    return query


def _output(body: Mapping[str, object]) -> None:
    target = body.get("output")
    if target is None:
        raise _bad('output is required: {"target": "S3"}')
    if not isinstance(target, Mapping):
        raise _bad('output must be an object: {"target": "S3"}')
    _choice(target, "target", TARGETS)


def _separator(body: Mapping[str, object], fmt: output.OutputFormat) -> str | None:
    value = body.get("columnSeparator")
    if fmt is not output.OutputFormat.DSV:
        if value is not None:
            raise _bad(f"columnSeparator applies to outputFormat DSV only, not {fmt.value}")
        return None
    if value is None:
        raise _bad("columnSeparator is required with outputFormat DSV: one character")
    if not isinstance(value, str) or len(value) != 1:
        raise _bad(f"columnSeparator must be one character, not {_shown(value)}")
    problem = output.check_column_separator(value)
    if problem is not None:
        raise _bad(problem)
    return value


def _encryption_key(body: Mapping[str, object]) -> str | None:
    value = body.get("encryptionKey")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad("encryptionKey must be a string: a base64 RSA public key")
    problem = output.check_encryption_key(value)
    if problem is not None:
        raise _bad(problem)
    return value


def parse(body: object) -> DataQueryRequest:
    """The request ``body`` (parsed JSON) asks for; :class:`DataQueryBadRequest` says why not."""
    if not isinstance(body, Mapping):
        raise _bad("the body must be a JSON object")
    query = _query(body)
    fmt = output.OutputFormat(_choice(body, "outputFormat", tuple(output.OutputFormat)))
    compression = output.Compression(_choice(body, "compression", tuple(output.Compression)))
    _output(body)
    return DataQueryRequest(
        query=query,
        output_format=fmt,
        compression=compression,
        column_separator=_separator(body, fmt),
        encryption_key=_encryption_key(body),
        read_deleted=_boolean(body, "readDeleted"),
        source_data=_optional_choice(body, "sourceData", SOURCES, "LIVE") or "LIVE",
        use_index_join=_boolean(body, "useIndexJoin"),
        warehouse_size=_optional_choice(body, "warehouseSize", WAREHOUSE_SIZES, None),
    )
