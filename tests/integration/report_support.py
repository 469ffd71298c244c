"""Shared pieces of the report-run tests: reports over the runner tests' billing data, a server
whose report runs are stepped by hand, and readers of report data and exports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aquarium import testing
from aquarium.api import errors as api_errors
from aquarium.domain import jobs, tenancy
from aquarium.domain.reporting_errors import ReportingError
from aquarium.engines import duckdb_engine, naming
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import Harness

RS = jobs.ReportRunStatus
__all__ = ["ReportingError"]
ADMIN = support.PRINCIPAL
NINA = tenancy.Principal(tenant="demo", name="nina", admin=False, how=tenancy.AuthMethod.BASIC)

DETAIL = {
    "selectedFields": [
        {"id": "Invoice.InvoiceNumber", "sortDir": "ASC", "sortPriority": 0},
        {"id": "InvoiceItem.ChargeName"},
        {"id": "InvoiceItem.ChargeAmount", "sortDir": "DESC", "sortPriority": 1},
        {"id": "Invoice.InvoiceDate"},
        {"id": "Account.Name"},
    ],
}
# The benchmark's report: invoiced amounts per invoice month and account currency.
SUMMARY = {
    "rowFields": [{"id": "Invoice.InvoiceDate", "dateOptions": {"groupBy": "CM"}}],
    "colFields": [{"id": "Account.Currency"}],
    "valFields": [{"id": "InvoiceItem.ChargeAmount", "aggregation": "SUM"}],
}
BOTH = DETAIL | SUMMARY


def save_report(
    h: Harness, definition: dict[str, Any], *, ds: str = "InvoiceItem", name: str = "r"
) -> str:
    body = {"name": name, "dsName": ds, "definition": json.dumps(definition)}
    report_id: str = h.srv.services.reports.create(ADMIN, body)["id"]
    return report_id


def status_of(error: ReportingError) -> int:
    """The HTTP status the Reporting API answers ``error`` with (the table in api/errors.py)."""
    return api_errors.REPORTING.status_of(error)


def runs(h: Harness) -> Any:
    return h.srv.services.report_runs


def start_run(
    h: Harness,
    report_id: str,
    view: str = "Detail",
    body: object = None,
    who: tenancy.Principal = ADMIN,
) -> str:
    run_id: str = runs(h).run(who, report_id, view, body)["reportRunId"]
    return run_id


def wait_run(h: Harness, run_id: str, *statuses: jobs.ReportRunStatus) -> dict[str, Any]:
    wanted = {status.value for status in (statuses or jobs.REPORT_RUN_TERMINAL)}

    def reached() -> dict[str, Any] | None:
        document: dict[str, Any] = runs(h).get(ADMIN, run_id)
        return document if document["status"] in wanted else None

    found: dict[str, Any] = support.wait_for(reached, f"run {run_id} to be {wanted}")
    return found


def all_rows(h: Harness, run_id: str) -> list[dict[str, str]]:
    total = runs(h).get(ADMIN, run_id)["rowCount"]
    rows: list[dict[str, str]] = []
    offset = 1
    while len(rows) < total:
        page = runs(h).data(ADMIN, run_id, str(offset), "997")["page"]
        assert page, (offset, total)
        rows += page
        offset += len(page)
    return rows


def export_text(h: Harness, run_id: str, pivoted: str | None = None) -> str:
    found = runs(h).export(ADMIN, run_id, pivoted)
    raw = found.path.read_bytes()
    assert raw[:2] == b"\xff\xfe"
    assert found.content_type == "text/csv;charset=utf-16"
    return raw[2:].decode("utf-16-le")


def scalar(h: Harness, sql: str) -> Any:
    """One value from the harness's billing data, read in a snapshot of the server's engine."""
    with h.srv.engine.snapshot(support.TENANT) as snapshot:
        assert isinstance(snapshot, duckdb_engine.DuckDbSnapshot)
        statement = sql.replace("{s}", naming.schema_name(support.TENANT))
        row = snapshot.cursor.execute(statement).fetchone()
    assert row is not None
    return row[0]


@dataclass
class Stepped:
    """A server whose report runs advance only when the test steps them."""

    h: Harness
    runner: testing.SteppingRunner

    def step(self, run_id: str) -> jobs.ReportRunStatus | None:
        return self.runner.step(run_id)


def stepped(make_server: support.ServerFactory, **kwargs: Any) -> Stepped:
    """A harness whose report runs only move when stepped (its in-process runner never starts)."""
    h = make_server(start=False, **kwargs)
    assert h.srv.runner is not None
    runner = testing.SteppingRunner(h.srv.runner.ctx)
    runs(h).runner = runner
    h.srv.runner = None  # nothing else claims the runs
    h.srv.start()
    return Stepped(h, runner)
