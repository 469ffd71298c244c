"""The AQuA submit body: Zuora's quirks accepted, wrong input refused with Zuora's codes."""

from __future__ import annotations

from typing import Any

import pytest

from aquarium.domain import errors
from aquarium.engines import base
from aquarium.services import aqua_request
from aquarium.store import tables
from aquarium.zoql import ast

TZ = "America/Los_Angeles"


def parse(body: object, **kwargs: Any) -> aqua_request.JobRequest:
    return aqua_request.parse(body, time_zone=TZ, **kwargs)


def one_query(**extra: Any) -> dict[str, Any]:
    return {"queries": [{"name": "q", "query": "select Id from Account"}], **extra}


def test_documented_composite_body_is_accepted() -> None:
    # reference §2: every documented top-level field at once
    body = {
        "format": "csv",
        "version": "1.1",
        "name": "Example",
        "encrypted": "none",
        "useQueryLabels": "true",
        "dateTimeUtc": "true",
        "partner": "salesforce",
        "project": "00170000011K3Ub",
        "notifyUrl": "https://example/cb?jobId=${JOBID}&status=${STATUS}",
        "incrementalTime": "2015-01-21 10:30:01",
        "offset": 600,
        "nullReplacement": "NULL",
        "sourceData": "LIVE",
        "queries": [
            {
                "name": "Account",
                "query": "select Id, Name, UpdatedDate from Account",
                "type": "zoqlexport",
                "apiVersion": "58.0",
                "convertToCurrencies": "EUR,GBP",
                "deleted": {"column": "Deleted", "format": "Boolean", "forceExport": True},
            }
        ],
    }
    request = parse(body)
    assert request.stateful
    assert request.format == "CSV"
    assert request.use_query_labels and request.date_time_utc
    assert request.offset == 600
    assert request.incremental_time is not None
    # 2015-01-21 10:30:01 Pacific is 1421865001000 ms (reference §2.1)
    assert int(request.incremental_time.timestamp() * 1000) == 1421865001000
    (query,) = request.queries
    assert query.deleted == aqua_request.DeletedSpec("Deleted", "Boolean", True)
    assert query.api_version == "58.0"


@pytest.mark.parametrize(
    ("version", "expected"), [("1.0", "1.0"), (1.1, "1.1"), ("1.2", "1.2"), (1, "1.0")]
)
def test_version_as_string_or_number(version: object, expected: str) -> None:
    assert parse(one_query(version=version)).version == expected


def test_defaults_name_and_type_of_queries() -> None:
    request = parse(
        {
            "queries": [
                {"query": "select Id from Account"},
                {"query": "select Id from Invoice", "type": "ZOQL"},
            ]
        }
    )
    assert [q.name for q in request.queries] == ["query0", "query1"]
    assert [q.type for q in request.queries] == [ast.Dialect.EXPORT, ast.Dialect.ZOQL]
    assert request.format == "CSV" and request.version == "1.0" and not request.stateful


@pytest.mark.parametrize("fmt", ["csv", "CSV", "Gzip", "zip"])
def test_format_is_case_insensitive_and_upper_cased(fmt: str) -> None:
    assert parse(one_query(format=fmt)).format == fmt.upper()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], errors.MalformedRequest),
        ("text", errors.MalformedRequest),
        (one_query(format="json"), errors.MalformedRequest),
        (one_query(version="2.0"), errors.MalformedRequest),
        (one_query(useQueryLabels="yes"), errors.MalformedRequest),
        (one_query(offset=3601), errors.MalformedRequest),
        (one_query(name="x" * 33), errors.MalformedRequest),
        ({"queries": "select Id from Account"}, errors.MalformedRequest),
        ({"queries": []}, errors.NoQueries),
        ({"version": "1.0"}, errors.NoQueries),
        ({"queries": [{"query": "select Id from Account"}] * 51}, errors.TooManyQueries),
        (one_query(notifyUrl="h" * 5000), errors.NotifyUrlTooLong),
        (one_query(incrementalTime="2015-01-21T10:30:01"), errors.InvalidIncrementalTime),
        (one_query(incrementalTime="2015-02-30 10:30:01"), errors.InvalidIncrementalTime),
        ({"queries": [{"query": ""}]}, errors.ZoqlError),
        ({"queries": [{"query": 5}]}, errors.ZoqlError),
        (
            {"queries": [{"query": "select Id from Account", "convertToCurrencies": "EURO"}]},
            errors.InvalidCurrency,
        ),
        (
            {
                "queries": [
                    {
                        "query": "select Id from Account",
                        "deleted": {"column": "d", "format": "Numeric"},
                    }
                ]
            },
            errors.StatelessDeletedColumns,
        ),
        (
            {
                "queries": [
                    {
                        "query": "select Id from Account",
                        "deleted": {"column": "d", "format": "boolean", "forceExport": True},
                    }
                ]
            },
            errors.MalformedRequest,
        ),
    ],
)
def test_bad_bodies_get_zuoras_errors(body: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse(body)


def test_unknown_partner_refused_only_when_partners_are_configured() -> None:
    body = one_query(version="1.1", partner="nobody", project="p")
    assert parse(body).partner == "nobody"
    with pytest.raises(errors.PartnerNotRecognized):
        parse(body, partners=("salesforce",))


def test_stateful_needs_both_partner_and_project() -> None:
    assert not parse(one_query(version="1.1", partner="p")).stateful
    assert not parse(one_query(version="1.0", partner="p", project="q")).stateful
    assert parse(one_query(version="1.2", partner="p", project="q")).stateful


def test_unknown_fields_are_ignored() -> None:
    assert parse(one_query(somethingNew=True, warehouseSize="xsmall")).queries


# -- issue 11, defects 5 and 7: refused at submit what could never work ------------------------
@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("a\nb", "a line feed"),  # the 3-record file that read as 5
        ("a\r\nb", "a line feed or a return"),
        (",", "a comma"),
        ('"', "a double quote"),
        ("N/A, none", "a comma"),
        ("x" * 101, "limited to 100 characters"),
    ],
)
def test_a_null_replacement_the_csv_cannot_hold_is_refused(value: str, words: str) -> None:
    with pytest.raises(errors.MalformedRequest, match="'nullReplacement' ") as caught:
        parse(one_query(nullReplacement=value))
    assert words in caught.value.reason


@pytest.mark.parametrize("value", ["", "NULL", "\\N", "null", " ", "N/A", "∅", "'", "#", "\t"])
def test_null_replacements_written_faithfully_are_kept(value: str) -> None:
    assert parse(one_query(nullReplacement=value)).null_replacement == value


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "must be an http or https URL, not file"),
        ("javascript:alert(1)", "must be an http or https URL, not javascript"),
        ("https://example.com/cb\r\nX-Injected: 1", "control character"),
        ("https://example.com/cb?job=${JOBID}\n", "control character"),
        ("example.com/cb", "not one without a scheme"),
        ("https:///cb", "has no host name"),
        ("https://exa mple.com/", "no valid host name"),
        ("http://example.com:99999/", "no valid port"),
    ],
)
def test_a_notify_url_that_can_never_be_called_is_refused(url: str, words: str) -> None:
    with pytest.raises(errors.MalformedRequest, match="'notifyUrl' ") as caught:
        parse(one_query(notifyUrl=url))
    assert words in caught.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "https://example/cb?jobId=${JOBID}&status=${STATUS}",
        "http://127.0.0.1:8000/${JOBID}",
        "HTTPS://Hooks.Example.com/a b",
        " https://example.com/padded ",
        "http://[::1]/x",
        "https://bücher.example/x",
    ],
)
def test_callable_notify_urls_are_kept_as_sent(url: str) -> None:
    assert parse(one_query(notifyUrl=url)).notify_url == url


def test_a_notify_url_of_5000_characters_is_still_90014() -> None:
    with pytest.raises(errors.NotifyUrlTooLong):
        parse(one_query(notifyUrl="https://example.com/" + "a" * 5000))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"queries": [{"name": "n" * 100_000, "query": "select Id from Account"}]}, "'name'"),
        (one_query(version="1.1", partner="p" * 256, project="x"), "'partner'"),
        (one_query(version="1.1", partner="p", project="x" * 256), "'project'"),
        ({"queries": [{"query": "select Id from Account", "apiVersion": "9" * 17}]}, "apiVersion"),
    ],
)
def test_text_longer_than_its_column_is_refused(body: dict[str, Any], words: str) -> None:
    with pytest.raises(errors.MalformedRequest, match="is limited to") as caught:
        parse(body)
    assert words in caught.value.reason


def test_text_as_long_as_its_column_is_kept() -> None:
    request = parse(
        {
            "version": "1.1",
            "partner": "p" * 255,
            "project": "x" * 255,
            "queries": [{"name": "n" * 255, "query": "select Id from Account"}],
        }
    )
    assert request.queries[0].name == "n" * 255 and request.partner == "p" * 255


def test_the_limits_are_the_columns() -> None:
    def length(column: Any) -> int:
        found: int = column.type.length
        return found

    batches, aqua = tables.batches.c, tables.aqua_jobs.c
    assert length(batches.name) == aqua_request.MAX_QUERY_NAME_CHARS
    assert length(batches.api_version) == aqua_request.MAX_API_VERSION_CHARS
    assert length(aqua.partner) == length(aqua.project) == aqua_request.MAX_SESSION_CHARS
    assert length(aqua.null_replacement) >= base.MAX_NULL_CHARS
