"""Data Query jobs through the real service, runner, DuckDB engine and result store: results
checked against the billing data itself, visibility between users, restart, and the link."""

from __future__ import annotations

import csv
import io
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest

from aquarium.domain import dataquery_errors as dq_errors
from aquarium.domain import tenancy
from tests.integration import report_support as rs
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import ServerFactory

make_server = support.make_server
billing_file = support.billing_file
ADMIN = support.PRINCIPAL
NINA = tenancy.Principal(tenant="demo", name="nina", admin=False, how=tenancy.AuthMethod.BASIC)
BASE = "http://aquarium.test/"


def _body(query: str, output_format: str = "CSV", **more: Any) -> dict[str, Any]:
    return {
        "query": query,
        "outputFormat": output_format,
        "compression": "NONE",
        "output": {"target": "S3"},
        **more,
    }


def _run(h: support.Harness, query: str, who: tenancy.Principal = ADMIN) -> dict[str, Any]:
    service = h.srv.services.data_queries
    assert service is not None
    job = service.submit(who, _body(query), BASE)
    done: dict[str, Any] = support.wait_for(
        lambda: (
            (found := service.get(who, job["id"], BASE))["queryStatus"]
            in {"completed", "failed", "cancelled"}
            and found
        ),
        f"data query {job['id']} to end",
    )
    return done


def _rows(h: support.Harness, job: dict[str, Any]) -> list[list[str]]:
    service = h.srv.services.data_queries
    assert service is not None
    url = urllib.parse.urlsplit(job["dataFile"])
    _, _, _, tenant, file_id, _ = url.path.split("/")
    params = dict(urllib.parse.parse_qsl(url.query))
    found = service.data_file(tenant, file_id, params["expires"], params["signature"])
    return list(csv.reader(io.StringIO(found.path.read_text("utf-8"), newline="")))


def test_an_aggregate_matches_the_billing_data(make_server: ServerFactory) -> None:
    h = make_server(workers=1)
    job = _run(
        h,
        "select accountid, count(*) as items, sum(chargeamount) as total from invoiceitem "
        "group by accountid order by accountid",
    )
    assert job["queryStatus"] == "completed", job
    rows = _rows(h, job)
    assert rows[0] == ["accountid", "items", "total"]
    accounts = rs.scalar(
        h, 'select count(distinct "AccountId") from {s}."InvoiceItem" where "_DeletedDate" is null'
    )
    total = rs.scalar(
        h, 'select sum("ChargeAmount") from {s}."InvoiceItem" where "_DeletedDate" is null'
    )
    assert job["outputRows"] == len(rows) - 1 == accounts
    assert sum(Decimal(row[2]) for row in rows[1:]) == total


def test_users_see_their_own_jobs_and_admins_everyones(make_server: ServerFactory) -> None:
    h = make_server(workers=1)
    service = h.srv.services.data_queries
    assert service is not None
    mine = _run(h, "select 1 as one", NINA)
    theirs = _run(h, "select 2 as two", ADMIN)
    assert service.get(NINA, mine["id"], BASE)["queryStatus"] == "completed"
    with pytest.raises(dq_errors.DataQueryAccessDenied) as denied:
        service.get(NINA, theirs["id"], BASE)
    assert denied.value.message == f"Access denied for restricted job {theirs['id']}"
    with pytest.raises(dq_errors.DataQueryAccessDenied):
        service.cancel(NINA, theirs["id"], BASE)
    assert [job["id"] for job in service.list_jobs(NINA, None, None, BASE)] == [mine["id"]]
    listed = [job["id"] for job in service.list_jobs(ADMIN, None, None, BASE)]
    assert listed == [theirs["id"], mine["id"]]
    assert service.get(ADMIN, mine["id"], BASE)["createdBy"] != theirs["createdBy"]


def test_jobs_and_their_files_survive_a_restart(make_server: ServerFactory) -> None:
    h = make_server(workers=1)
    job = _run(h, "select accountnumber from account order by 1")
    rows = _rows(h, job)
    h.stop()
    again = make_server(workers=1, data_dir=h.data_dir)
    service = again.srv.services.data_queries
    assert service is not None
    found = service.get(ADMIN, job["id"], BASE)
    assert found["queryStatus"] == "completed" and found["outputRows"] == job["outputRows"]
    assert _rows(again, found) == rows


def test_a_dashed_or_plain_id_finds_the_job(make_server: ServerFactory) -> None:
    h = make_server(workers=1)
    service = h.srv.services.data_queries
    assert service is not None
    job = _run(h, "select 1 as one")
    plain = job["id"].replace("-", "")
    assert service.get(ADMIN, plain, BASE)["id"] == job["id"]
    assert service.get(ADMIN, job["id"].upper(), BASE)["id"] == job["id"]
