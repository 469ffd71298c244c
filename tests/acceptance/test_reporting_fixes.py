"""Issue 11's Reporting fixes over real HTTP, each as a client saw it: the run list's ``dsName``
was always null; a CANCELLED run showed ``completedOn`` (the time of the cancel) and ``rowCount``;
``POST /reports/transfer-ownership`` reached Save a Report with the id ``transfer-ownership``;
there was no ``/settings``. (OAuth clients acting as their user, ``Idempotency-Key``, the charset
and ``entityId`` with ``entityName``: ``test_reporting.py``.)
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.acceptance import support

REPORTS = "/api/rest/v1"
TERMINAL = {"COMPLETED", "ERROR", "INVALID", "CANCELLED"}
COLUMNS = ["status", "dsName", "completedOn", "rowCount", "errorMessage"]


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True, response.text
    return response.json()["response"]


def _ended(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while True:
        run: dict[str, Any] = _ok(client.get(f"{REPORTS}/reportruns/{run_id}"))
        if run["status"] in TERMINAL:
            return run
        assert time.monotonic() < deadline, run
        time.sleep(support.POLL_INTERVAL_S)


def test_the_run_list_shows_each_runs_data_source_and_only_what_its_status_has(
    scratch: httpx.Client,
) -> None:
    definition = {"selectedFields": [{"id": "InvoiceItem.Id"}, {"id": "InvoiceItem.ChargeName"}]}
    body = {"name": "run list columns", "dsName": "InvoiceItem", "definition": definition}
    report = _ok(scratch.post(f"{REPORTS}/reports", json=body))
    run_path = f"{REPORTS}/reports/{report['id']}/reportrun?viewType=Detail"
    completed = _ok(scratch.post(run_path))["reportRunId"]
    assert _ended(scratch, completed)["status"] == "COMPLETED"
    # Cancelled at once: in whichever phase it is, or refused because it already finished.
    cancelled = _ok(scratch.post(run_path))["reportRunId"]
    scratch.delete(f"{REPORTS}/reportruns/{cancelled}")
    _ended(scratch, cancelled)
    listed = _ok(
        scratch.post(
            f"{REPORTS}/reportruns",
            json={"columns": COLUMNS, "pagination": {"pageSize": 1000}},
        )
    )
    shown = {element["id"]: element for element in listed["elements"]}
    for run_id in (completed, cancelled):
        element = shown[run_id]
        assert element["dsName"] == "InvoiceItem", element  # was always null
        assert element["errorMessage"] is None, element
        if element["status"] == "COMPLETED":
            assert element["completedOn"] is not None and element["rowCount"] > 0, element
        else:
            assert element["status"] == "CANCELLED", element
            assert element["completedOn"] is None and element["rowCount"] is None, element
    assert shown[completed]["status"] == "COMPLETED"
    by_source = {"field": "dsName", "operator": "=", "value": "InvoiceItem"}
    filtered = _ok(scratch.post(f"{REPORTS}/reportruns", json={"filters": [by_source]}))
    assert {completed, cancelled} <= {e["id"] for e in filtered["elements"]}


def test_transfer_ownership_is_its_own_operation_and_settings_exist(scratch: httpx.Client) -> None:
    for prefix in (REPORTS, "/reporting" + REPORTS):
        answer = scratch.post(f"{prefix}/reports/transfer-ownership", json={})
        assert answer.status_code == 400, answer.text
        inner = json.loads(answer.json()["response"])
        assert inner["errorCode"] == "ZAN-USAGE-REST-ERROR"
        assert "Send reportIds or reportNames" in inner["message"], inner  # not a Save
        settings = _ok(scratch.get(f"{prefix}/settings"))
        assert isinstance(settings["emailDomains"], list), settings


def test_a_report_name_cannot_inject_headers_or_paths_into_the_export(
    scratch: httpx.Client,
) -> None:
    """The export's file name comes from the report's name, which may hold anything JSON
    holds: quotes, CR/LF, slashes. The name is written with letters, digits and ' -_.' only."""
    name = 'evil"\r\nX-Injected: 1; filename=../../etc/passwd'
    definition = {"selectedFields": [{"id": "Account.Name"}]}
    body = {"name": name, "dsName": "Account", "definition": definition}
    report = _ok(scratch.post(f"{REPORTS}/reports", json=body))
    run_id = _ok(scratch.post(f"{REPORTS}/reports/{report['id']}/reportrun?viewType=Detail"))[
        "reportRunId"
    ]
    assert _ended(scratch, run_id)["status"] == "COMPLETED"
    exported = scratch.get(f"{REPORTS}/reportruns/export/{run_id}")
    assert exported.status_code == 200, exported.text
    assert "x-injected" not in exported.headers
    disposition = exported.headers["content-disposition"]
    # Starlette writes it as filename="..." or, holding a space, as filename*=utf-8''...
    assert "evil___X-Injected_" in disposition and disposition.endswith("etc_passwd.csv")
    assert not any(bad in disposition for bad in ("\r", "\n", "/", '"evil"')), disposition
