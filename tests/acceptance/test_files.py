"""Result files: CSV framing, header styles, value formats, gzip/zip, the three download paths."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from typing import Any

import httpx
import pytest

from tests.acceptance import support

ACCOUNT_QUERY = "select Id, Name, CreatedDate, ParentId, BillToContact.Id from Account"
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}")
FILE_PATHS = ("/v1/file/", "/v1/files/", "/apps/api/file/")


def account_rows(client: httpx.Client, **top: Any) -> list[list[str]]:
    done = support.run_job(client, support.stateless(ACCOUNT_QUERY, **top))
    (batch,) = done["batches"]
    rows = support.parse_csv(support.download(client, batch["fileId"]).content)
    assert len(rows) == batch["recordCount"] + 1
    return rows


@pytest.mark.parametrize("flag", [True, "true"])
def test_use_query_labels_true_writes_object_dot_field_headers(
    demo: httpx.Client, flag: object
) -> None:
    rows = account_rows(demo, useQueryLabels=flag)
    assert rows[0] == [
        "Account.Id",
        "Account.Name",
        "Account.CreatedDate",
        "Account.ParentId",
        "BillToContact.Id",
    ]


@pytest.mark.parametrize("top", [{}, {"useQueryLabels": False}, {"useQueryLabels": "false"}])
def test_use_query_labels_false_or_absent_writes_label_headers(
    demo: httpx.Client, top: dict[str, Any]
) -> None:
    rows = account_rows(demo, **top)
    header = rows[0]
    assert header[0] == "Account: ID"
    assert header[1] == "Account: Name"
    assert header[-1] == "Bill To: ID"
    assert all(": " in name for name in header), header


def test_datetimes_are_iso_with_the_tenant_offset_without_colon(demo: httpx.Client) -> None:
    rows = account_rows(demo, useQueryLabels=True)
    created = [row[2] for row in rows[1:]]
    assert created and all(DATETIME.fullmatch(value) for value in created), created[:3]
    # The demo tenant lives in America/Los_Angeles: -0800 in winter, -0700 in summer.
    assert {value[-5:] for value in created} <= {"-0800", "-0700"}, created[:3]


def test_date_time_utc_writes_plus_0000(demo: httpx.Client) -> None:
    local = {row[0]: row[2] for row in account_rows(demo, useQueryLabels=True)[1:]}
    utc = {
        row[0]: row[2] for row in account_rows(demo, useQueryLabels=True, dateTimeUtc="true")[1:]
    }
    assert utc.keys() == local.keys()
    assert all(DATETIME.fullmatch(value) and value.endswith("+0000") for value in utc.values())
    assert utc != local


def test_null_replacement_fills_null_values(demo: httpx.Client) -> None:
    plain = {row[0]: row[3] for row in account_rows(demo, useQueryLabels=True)[1:]}
    replaced = {
        row[0]: row[3]
        for row in account_rows(demo, useQueryLabels=True, nullReplacement="NULL")[1:]
    }
    orphans = {account for account, parent in plain.items() if parent == ""}
    assert orphans, "the demo data should have accounts without a parent"
    assert replaced.keys() == plain.keys()
    for account, parent in replaced.items():
        assert parent == ("NULL" if account in orphans else plain[account])


def test_every_download_path_serves_the_same_csv(demo: httpx.Client) -> None:
    done = support.run_job(demo, support.stateless("select Id, Name from Account"))
    file_id = done["batches"][0]["fileId"]
    bodies = []
    for path in FILE_PATHS:
        response = support.download(demo, file_id, path)
        assert response.headers["content-type"].startswith("text/csv"), response.headers
        bodies.append(response.content)
    assert bodies[0] == bodies[1] == bodies[2]
    support.parse_csv(bodies[0])


@pytest.mark.parametrize("fmt", ["gzip", "GZip"])
def test_gzip_format_is_the_csv_gzip_compressed(demo: httpx.Client, fmt: str) -> None:
    csv_job = support.run_job(demo, support.stateless("select Id, Name from Account"))
    expected = support.download(demo, csv_job["batches"][0]["fileId"]).content
    done = support.run_job(demo, support.stateless("select Id, Name from Account", format=fmt))
    assert done["format"] == "GZIP"
    for path in FILE_PATHS:
        response = support.download(demo, done["batches"][0]["fileId"], path)
        assert response.headers["content-type"].startswith("application/x-gzip"), response.headers
        assert gzip.decompress(response.content) == expected


@pytest.mark.parametrize("fmt", ["zip", "ZIP"])
def test_zip_format_holds_one_entry_named_after_the_query(demo: httpx.Client, fmt: str) -> None:
    body = support.stateless("select Id, Name from Account", format=fmt)
    body["queries"][0]["name"] = "Accounts"
    done = support.run_job(demo, body)
    assert done["format"] == "ZIP"
    response = support.download(demo, done["batches"][0]["fileId"])
    assert response.headers["content-type"].startswith("application/zip"), response.headers
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["Accounts.csv"]
        rows = support.parse_csv(archive.read("Accounts.csv"))
    assert rows[0] == ["Account: ID", "Account: Name"]
    assert len(rows) == done["batches"][0]["recordCount"] + 1


def test_csv_format_is_echoed_upper_case(demo: httpx.Client) -> None:
    submitted = support.submit_ok(demo, support.stateless("select Id from Account", format="cSv"))
    assert submitted["format"] == "CSV"
    assert support.wait_for_job(demo, submitted["id"])["format"] == "CSV"
