"""A Data Query session in the shape the Airbyte Zuora source runs it (reference dataquery.md
8.7 and section 10): discover with ``SHOW TABLES`` and ``DESCRIBE``, then read a table
incrementally with ``TIMESTAMP`` bounds, JSON lines, the file fetched from ``dataFile`` with no
credentials; and the cursor fallback on ``Column '...' cannot be resolved``."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.acceptance import dataquery_support as dq
from tests.acceptance import support


def _literal(instant: dt.datetime) -> str:
    """How the source renders a bound: ``'%Y-%m-%d %H:%M:%S.%f %Z'`` with a ``±HH:MM`` zone."""
    text = instant.strftime("%Y-%m-%d %H:%M:%S.%f %z")
    return f"{text[:-2]}:{text[-2:]}"


def _read(client: httpx.Client, query: str) -> list[dict[str, object]]:
    job = dq.run(client, dq.body(query))
    records = dq.json_lines(dq.download(job))
    assert job["outputRows"] == len(records)
    return records


def test_discover_then_read_incrementally(demo: httpx.Client) -> None:
    tables = [row["Table"] for row in _read(demo, "SHOW TABLES")]
    assert "account" in tables and tables == sorted(tables)
    columns = {row["Column"]: row["Type"] for row in _read(demo, "DESCRIBE account")}
    assert columns["updateddate"] == "timestamp with time zone"
    assert columns["createddate"] == "timestamp with time zone"

    everything = _read(demo, "select * from account")
    assert set(everything[0]) == set(columns)
    stamps = sorted(dt.datetime.fromisoformat(str(row["updateddate"])) for row in everything)
    middle = stamps[len(stamps) // 2]
    pacific = dt.timezone(dt.timedelta(hours=-7))
    start = _literal(middle.astimezone(pacific))
    end = _literal(dt.datetime.now(pacific) + dt.timedelta(days=1))
    query = (
        f"select * from account where updateddate >= TIMESTAMP '{start}' "
        f"and updateddate <= TIMESTAMP '{end}' order by updateddate asc"
    )
    window = _read(demo, query)
    read = [dt.datetime.fromisoformat(str(row["updateddate"])) for row in window]
    assert read == sorted(read)
    assert len(window) == sum(1 for stamp in stamps if stamp >= middle)
    assert {row["id"] for row in window} <= {row["id"] for row in everything}


def test_a_table_without_the_cursor_column_says_so_in_trinos_words(demo: httpx.Client) -> None:
    """The source matches this text to fall back from updateddate to createddate, then to a
    full read (reference section 10)."""
    tables = {row["Table"] for row in _read(demo, "SHOW TABLES")}
    without = None
    for table in sorted(tables):
        columns = {row["Column"] for row in _read(demo, f"DESCRIBE {table}")}
        if "updateddate" not in columns:
            without = table
            break
    if without is None:  # every object has UpdatedDate: any column name shows the wording
        without = "account"
        failed = dq.fail(demo, dq.body("select * from account where nosuchcursor >= now()"))
        assert "Column 'nosuchcursor' cannot be resolved" in failed["errorMessage"]
        return
    failed = dq.fail(
        demo, dq.body(f"select * from {without} where updateddate >= TIMESTAMP '2020-01-01'")
    )
    assert "Column 'updateddate' cannot be resolved" in failed["errorMessage"]


def test_the_official_sdk_shape_with_a_bearer_token(server: support.RunningServer) -> None:
    """zuora-sdk's data_queries_api(): OAuth client credentials, then Bearer on /query/jobs."""
    token = httpx.post(
        server.base_url + "/oauth/token",
        data={
            "client_id": "other-client",
            "client_secret": "other-secret",
            "grant_type": "client_credentials",
        },
    )
    assert token.status_code == 200, token.text
    bearer = server.client(
        auth=None, headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    job = dq.run(bearer, dq.body("select count(*) as n from account", "CSV"))
    rows = support.parse_csv(dq.download(job))
    assert rows[0] == ["n"] and int(rows[1][0]) > 0
