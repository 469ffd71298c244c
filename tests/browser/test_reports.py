"""The Reports pages: run a report from its definition, cancel the run, download an export."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser import conftest

SLOW_REPORT = "Usage by account"  # over Usage, a slow view here
QUICK_REPORT = "Accounts by status"


def test_run_a_report_and_cancel_its_run(signed_in: Page, api: httpx.Client) -> None:
    page = signed_in
    page.goto("/reports")
    page.locator("tr[data-report]", has_text=SLOW_REPORT).locator(
        "button:has-text('Run Detail')"
    ).click()
    expect(page).to_have_url(re.compile(r"/reports/runs\?notice=run-started$"))
    expect(page.locator(".notice")).to_contain_text("The report run has started")
    run = page.locator("tr[data-job]", has_text=SLOW_REPORT).first
    expect(run).to_have_attribute("data-status", re.compile(r"^(STARTED|QUERYDATA)$"))
    run_id = run.get_attribute("data-job")
    assert run_id is not None
    expect(run).to_contain_text("Report run · Detail")

    page.once("dialog", lambda dialog: dialog.accept())
    run.locator("button:has-text('Cancel')").click()
    row = page.locator(f"tr[data-job='{run_id}']")
    expect(row).to_have_attribute("data-status", "CANCELLED")
    expect(page.locator(".notice")).to_have_text("The job was cancelled.")
    answer = api.get(f"/api/rest/v1/reportruns/{run_id}").json()
    assert answer["response"]["status"] == "CANCELLED"


def test_download_a_report_runs_export(signed_in: Page, api: httpx.Client) -> None:
    page = signed_in
    page.goto("/reports")
    page.locator("tr[data-report]", has_text=QUICK_REPORT).locator(
        "button:has-text('Run Summary')"
    ).click()
    run = page.locator("tr[data-job]", has_text=QUICK_REPORT).first
    expect(run).to_have_attribute("data-status", "COMPLETED")
    run_id = run.get_attribute("data-job")
    with page.expect_download() as exported:
        run.locator("a:has-text('Download')").click()
    expected = api.get(f"/api/rest/v1/reportruns/export/{run_id}")
    assert expected.status_code == 200
    assert Path(exported.value.path()).read_bytes() == expected.content

    page.goto(f"/jobs/{run_id}")
    crosstab = page.locator("[data-role=download]", has_text="crosstab")
    with page.expect_download() as pivoted:
        crosstab.click()
    expected = api.get(f"/api/rest/v1/reportruns/export/{run_id}", params={"pivoted": "true"})
    assert Path(pivoted.value.path()).read_bytes() == expected.content


def test_someone_elses_run_needs_an_admin_to_cancel(page: Page, api: httpx.Client) -> None:
    reports = api.get("/api/rest/v1/reports/search", params={"query": SLOW_REPORT}).json()
    report_id = reports["response"]["reports"][0]["id"]
    started = api.post(f"/api/rest/v1/reports/{report_id}/reportrun", params={"viewType": "Detail"})
    run_id = started.json()["response"]["reportRunId"]
    try:
        conftest.sign_in(page, *conftest.VIEWER, start="/reports/runs")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator(f"tr[data-job='{run_id}'] button:has-text('Cancel')").click()
        expect(page.locator("h1")).to_have_text("Not allowed")
        expect(page.locator(".problem")).to_contain_text("administrator")
        status = api.get(f"/api/rest/v1/reportruns/{run_id}").json()["response"]["status"]
        assert status in {"STARTED", "QUERYDATA"}
    finally:
        api.delete(f"/api/rest/v1/reportruns/{run_id}")
