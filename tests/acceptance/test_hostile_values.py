"""Issue 11, defects 2 and 4 over real HTTP: dates at the calendar's edge and numbers of 51 digits
in ZOQL, report filters (``is during`` too), the job API's ``since``/``until`` and the run list's
filters. They were 500s (``OverflowError``) or jobs aborted with DuckDB's "Binder Error ...
BIGNUM"; now each is answered, with the rows the words mean.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.acceptance import support

EDGES = ("'9999-12-31'", "'9999-12-31T23:59:59-12:00'", "'0001-01-01T00:00:00+14:00'")
BIG = "9" * 51
REPORTS = "/api/rest/v1"


def _count(client: httpx.Client, query: str) -> int:
    done = support.run_job(client, support.stateless(query))
    [batch] = done["batches"]
    assert batch["message"] == "", batch
    count: int = batch["recordCount"]
    return count


@pytest.mark.parametrize("literal", EDGES)
def test_zoql_dates_at_the_calendars_edge_give_the_rows_they_mean(
    scratch: httpx.Client, literal: str
) -> None:
    created = _count(scratch, "select Id from Account where CreatedDate is not null")
    assert created > 0
    after_the_end = literal == "'0001-01-01T00:00:00+14:00'"
    everyone, nobody = (">", "<") if after_the_end else ("<", ">")
    where = "select Id from Account where CreatedDate {} " + literal
    assert _count(scratch, where.format(everyone)) == created
    assert _count(scratch, where.format(nobody)) == 0
    assert _count(scratch, where.format("=")) == 0


def test_zoql_numbers_of_51_digits_give_the_rows_they_mean(scratch: httpx.Client) -> None:
    with_balance = _count(scratch, "select Id from Account where Balance is not null")
    assert with_balance > 0
    assert _count(scratch, f"select Id from Account where Balance > {BIG}") == 0
    assert _count(scratch, f"select Id from Account where Balance < {BIG}") == with_balance
    assert _count(scratch, f"select Id from Account where Balance > -1.{BIG}") == with_balance
    grouped = f"select Status, count(*) from Account group by Status having sum(Balance) < {BIG}"
    assert _count(scratch, grouped) == _count(
        scratch, "select Status from Account group by Status having count(Balance) > 0"
    )


# -- report filters -------------------------------------------------------------------------------


def _run(client: httpx.Client, filters: list[dict[str, Any]]) -> dict[str, Any]:
    definition = {"selectedFields": [{"id": "Account.Name"}], "detailFilters": filters}
    created = client.post(
        f"{REPORTS}/reports", json={"name": "edges", "dsName": "Account", "definition": definition}
    )
    assert created.status_code == 200, created.text
    report_id = created.json()["response"]["id"]
    started = client.post(f"{REPORTS}/reports/{report_id}/reportrun?viewType=Detail")
    assert started.status_code == 200, started.text
    run_id = started.json()["response"]["reportRunId"]
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while True:
        run: dict[str, Any] = client.get(f"{REPORTS}/reportruns/{run_id}").json()["response"]
        if run["status"] in {"COMPLETED", "ERROR", "INVALID", "CANCELLED"}:
            return run
        assert time.monotonic() < deadline, run
        time.sleep(support.POLL_INTERVAL_S)


def _filter(field: str, operator: str, value: object) -> dict[str, Any]:
    return {"field": {"id": field}, "operator": {"value": operator}, "value": value}


@pytest.mark.parametrize(
    ("filters", "plain"),
    [
        ([_filter("Account.CreatedDate", "<", "9999-12-31")], "CreatedDate is not null"),
        (
            [_filter("Account.CreatedDate", "<", "9999-12-31T23:59:59-12:00")],
            "CreatedDate is not null",
        ),
        (
            [_filter("Account.CreatedDate", ">", "0001-01-01T00:00:00+14:00")],
            "CreatedDate is not null",
        ),
        ([_filter("Account.CreatedDate", ">=", "9999-12-31")], "CreatedDate is null"),
        (
            [
                _filter(
                    "Account.CreatedDate",
                    "is during",
                    {"start": "0001-01-01T00:00:00+14:00", "end": "9999-12-31T23:59:59-12:00"},
                )
            ],
            "CreatedDate is not null",
        ),
        (
            [_filter("Account.CreatedDate", "is during", ["2000-01-01", "9999-12-31"])],
            "CreatedDate >= '2000-01-01'",
        ),
        (
            [_filter("Account.CreatedDate", "is not during", ["0001-01-01", "9999-12-31"])],
            "CreatedDate is null",
        ),
        ([_filter("Account.Balance", ">", BIG)], "Balance is null and Balance is not null"),
        (
            [_filter("Account.Balance", "<", BIG), _filter("Account.Balance", "!=", BIG)],
            "Balance is not null",
        ),
        ([_filter("Account.Balance", "not in", [BIG, "1.00001"])], "Balance is not null"),
    ],
)
def test_report_filters_at_the_edges_give_the_rows_they_mean(
    scratch: httpx.Client, filters: list[dict[str, Any]], plain: str
) -> None:
    expected = _count(scratch, f"select Id from Account where {plain}")
    run = _run(scratch, filters)
    assert run["status"] == "COMPLETED", run
    assert run["rowCount"] == expected, run


# -- metadata filters -----------------------------------------------------------------------------


def test_the_job_lists_take_instants_at_the_calendars_edge(scratch: httpx.Client) -> None:
    support.run_job(scratch, support.stateless("select Id from Account"))
    wide = {"since": "0001-01-01T00:00:00+14:00", "until": "9999-12-31T23:59:59-12:00"}
    listed = scratch.get("/aquarium/api/v1/jobs", params=wide)
    assert listed.status_code == 200, listed.text
    assert listed.json()["jobs"], listed.json()
    empty = scratch.get("/aquarium/api/v1/jobs", params={"since": wide["until"]})
    assert empty.status_code == 200 and empty.json()["jobs"] == []
    # The calendar's last day as a plain date, as the issue wrote it.
    last_day = scratch.get("/aquarium/api/v1/jobs", params={"until": "9999-12-31"})
    assert last_day.status_code == 200 and last_day.json()["jobs"], last_day.text
    after = scratch.get("/aquarium/api/v1/jobs", params={"since": "9999-12-31"})
    assert after.status_code == 200 and after.json()["jobs"] == [], after.text
    runs = scratch.post(
        f"{REPORTS}/reportruns",
        json={
            "filters": [
                {"field": "startedOn", "operator": ">", "value": wide["since"]},
                {"field": "startedOn", "operator": "<", "value": wide["until"]},
            ]
        },
    )
    assert runs.status_code == 200, runs.text
    beyond = scratch.post(
        f"{REPORTS}/reportruns",
        json={"filters": [{"field": "updatedOn", "operator": ">=", "value": wide["until"]}]},
    )
    assert beyond.status_code == 200 and beyond.json()["response"]["totalCount"] == 0
    every = scratch.post(f"{REPORTS}/reportruns", json={}).json()["response"]["totalCount"]
    for operator, expected in (("<", every), (">=", 0)):
        plain = scratch.post(
            f"{REPORTS}/reportruns",
            json={"filters": [{"field": "startedOn", "operator": operator, "value": "9999-12-31"}]},
        )
        assert plain.status_code == 200, plain.text
        assert plain.json()["response"]["totalCount"] == expected, (operator, plain.text)


def test_values_that_cannot_be_stored_are_refused_not_500(scratch: httpx.Client) -> None:
    account = scratch.post("/v1/object/Account", json={"Name": "Edge", "Currency": "USD",
                                                    "BillCycleDay": 1}).json()["Id"]  # fmt: skip
    method = scratch.post("/v1/object/PaymentMethod", json={"AccountId": account, "Type": "Check"})
    assert method.status_code == 200, method.text
    changed = scratch.put(
        f"/v1/object/PaymentMethod/{method.json()['Id']}",
        json={"LastTransactionDateTime": "9999-12-31T23:59:59-12:00"},
    )
    assert changed.status_code == 400, changed.text
    assert "outside years 1-9999" in json.dumps(changed.json())
    late = support.submit(
        scratch,
        {
            **support.stateless("select Id from Account"),
            "version": "1.1",
            "partner": "salesforce",
            "project": "edges",
            "incrementalTime": "9999-12-31 23:59:59",
        },
    )
    assert late["errorCode"] == "90015" and "outside years 1-9999" in late["message"], late
