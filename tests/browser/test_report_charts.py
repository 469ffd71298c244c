"""A completed Summary run opens as a chart beside its table (the vendored Chart.js), from the
run's own report data; the table stays, and is all there is without JavaScript."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.acceptance import support
from tests.browser import conftest

LINES_REPORT = "Invoice amounts by month and currency"  # saved by the test (not over InvoiceItem,
# a slow view here): rows the invoice month (CM), columns the account currency
LINES_DEFINITION = {
    "rowFields": [{"id": "Invoice.InvoiceDate", "dateOptions": {"groupBy": "CM"}}],
    "colFields": [{"id": "Account.Currency"}],
    "valFields": [{"id": "Invoice.Amount", "aggregation": "SUM"}],
}
BARS_REPORT = "Accounts by status"  # rows: status; columns: currency; values: COUNT and SUM

# How many painted pixels a canvas has (alpha > 0): a chart drew something.
PAINTED = """canvas => {
  const { width, height } = canvas;
  const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { painted += 1; } }
  return painted;
}"""


def _completed_summary(api: httpx.Client, name: str, view: str = "Summary") -> dict[str, Any]:
    found = api.get("/api/rest/v1/reports/search", params={"query": name}).json()
    report = next(r for r in found["response"]["reports"] if r["name"] == name)
    started = api.post(f"/api/rest/v1/reports/{report['id']}/reportrun?viewType={view}").json()
    run_id = started["response"]["reportRunId"]
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.get(f"/api/rest/v1/reportruns/{run_id}").json()["response"]
        if run["status"] not in {"STARTED", "QUERYDATA", "PROCESSINGDATA"}:
            assert run["status"] == "COMPLETED", run
            return run
        time.sleep(support.POLL_INTERVAL_S)
    pytest.fail(f"report run {run_id} did not finish")


def _save_lines_report(api: httpx.Client) -> None:
    found = api.get("/api/rest/v1/reports/search", params={"query": LINES_REPORT}).json()
    if any(r["name"] == LINES_REPORT for r in found["response"]["reports"]):
        return
    body = {"name": LINES_REPORT, "dsName": "Invoice", "definition": json.dumps(LINES_DEFINITION)}
    saved = api.post("/api/rest/v1/reports", json=body)
    assert saved.status_code == 200, saved.text


def _column_groups(api: httpx.Client, run: dict[str, Any], key: str) -> set[str]:
    data = api.get(
        f"/api/rest/v1/reportruns/reportdata/{run['id']}", params={"offset": 1, "pageSize": 5000}
    ).json()["response"]
    return {row[key] for row in data["page"]}


def test_a_summary_by_month_is_drawn_as_lines_one_per_currency(
    signed_in: Page, api: httpx.Client
) -> None:
    _save_lines_report(api)
    run = _completed_summary(api, LINES_REPORT)
    currencies = _column_groups(api, run, "Account.Currency")
    page = signed_in
    page.goto("/reports/runs")
    page.locator(f"tr[data-job='{run['id']}'] [data-role=results]").click()
    expect(page).to_have_url(f"{page.url.split('/reports')[0]}/reports/runs/{run['id']}")
    figure = page.locator("figure.report-chart")
    expect(figure).to_have_attribute("data-chart-ready", "1")
    expect(figure).to_have_attribute("data-kind", "line")
    canvas = figure.locator("canvas")
    expect(canvas).to_have_attribute("data-series", str(len(currencies)))
    assert canvas.evaluate(PAINTED) > 1000
    expect(figure.locator("h3")).to_have_text("SUM of 'Invoice: Amount'")
    expect(figure.locator("[data-role=chart-note]")).to_be_hidden()
    # The table beside it: the same run's report data, headed as the export is.
    headers = page.locator("table.report-data thead th")
    expect(headers.first).to_have_text("Invoice: Invoice Date")
    expect(page.locator("table.report-data tbody tr").first).to_be_visible()
    page.screenshot(path=str(conftest.ARTIFACTS / "report-chart-lines.png"), full_page=True)


def test_a_summary_by_status_is_drawn_as_bars_one_chart_per_value(
    signed_in: Page, api: httpx.Client
) -> None:
    run = _completed_summary(api, BARS_REPORT)
    currencies = _column_groups(api, run, "Account.Currency")
    page = signed_in
    page.goto(f"/jobs/{run['id']}")
    page.locator("[data-role=results]").click()
    figure = page.locator("figure.report-chart")
    expect(figure).to_have_attribute("data-chart-ready", "2")  # COUNT and SUM: two charts
    expect(figure).to_have_attribute("data-kind", "bar")
    canvases = figure.locator("canvas")
    expect(canvases).to_have_count(2)
    for index in range(2):
        expect(canvases.nth(index)).to_have_attribute("data-series", str(len(currencies)))
        assert canvases.nth(index).evaluate(PAINTED) > 1000
    page.screenshot(path=str(conftest.ARTIFACTS / "report-chart-bars.png"), full_page=True)


def test_without_javascript_the_results_are_the_table(browser: Browser, api: httpx.Client) -> None:
    run = _completed_summary(api, BARS_REPORT)
    web_server_url = str(api.base_url).rstrip("/")
    context = browser.new_context(base_url=web_server_url, java_script_enabled=False)
    try:
        page = context.new_page()
        conftest.sign_in(page, start=f"/reports/runs/{run['id']}")
        page.goto(f"/reports/runs/{run['id']}")
        expect(page.locator("table.report-data tbody tr").first).to_be_visible()
        expect(page.locator("figure.report-chart canvas")).to_have_count(0)
        expect(page.locator("[data-role=chart-note]")).to_be_visible()
        page.screenshot(path=str(conftest.ARTIFACTS / "report-chart-no-js.png"), full_page=True)
    finally:
        context.close()


def test_a_detail_run_has_a_table_and_no_chart(signed_in: Page, api: httpx.Client) -> None:
    run_id = _completed_summary(api, "Open invoices", "Detail")["id"]
    page = signed_in
    page.goto(f"/reports/runs/{run_id}")
    expect(page.locator("table.report-data tbody tr").first).to_be_visible()
    expect(page.locator("figure.report-chart")).to_have_count(0)
    chart = page.request.get(f"/reports/runs/{run_id}/chart")
    assert chart.status == 400
