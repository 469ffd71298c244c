"""The Jobs pages: live statuses (SSE, polling fallback), Cancel with confirmation, downloads,
and the same pages without JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.acceptance import support
from tests.browser import conftest

SLOW = "select * from InvoiceItem"  # a slow view here: runs until it is cancelled
QUICK = "select AccountNumber, Name from Account"


def test_a_running_job_updates_live_and_is_cancelled_from_the_page(
    signed_in: Page, api: httpx.Client
) -> None:
    page = signed_in
    expect(page.locator(".live")).to_have_attribute("data-mode", "live")
    page.evaluate("window.__stayed = true")
    job = support.submit_ok(api, support.stateless(SLOW, name="slow items"))

    row = page.locator(f"tr[data-job='{job['id']}']")
    expect(row).to_have_attribute("data-status", "executing")
    expect(row.locator("progress")).to_be_visible()
    expect(row.locator("[data-role=progress]")).to_contain_text("0 of 1 query")
    assert page.evaluate("window.__stayed") is True, "the row came without a page load"
    page.screenshot(path=str(conftest.ARTIFACTS / "jobs-running.png"), full_page=True)

    questions: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    row.locator("button:has-text('Cancel')").click()
    assert questions and "slow items" in questions[0]
    assert support.get_job(api, job["id"])["status"] == "executing", "dismissing keeps it"

    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button:has-text('Cancel')").click()
    expect(page.locator(".notice")).to_have_text("The job was cancelled.")
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row.locator("[data-role=status]")).to_have_text("cancelled")
    assert support.get_job(api, job["id"])["status"] == "cancelled"


def test_a_job_page_follows_its_job_and_cancels_it(signed_in: Page, api: httpx.Client) -> None:
    page = signed_in
    job = support.submit_ok(api, support.stateless(QUICK, SLOW, name="two queries"))
    page.goto(f"/jobs/{job['id']}")
    first, second = page.locator("tr[data-batch]").all()
    expect(first).to_have_attribute("data-status", "completed")
    expect(second).to_have_attribute("data-status", "executing")
    expect(second.locator("progress")).to_be_visible()
    support.wait_for_job(api, job["id"], lambda doc: doc["batches"][0]["status"] == "completed")
    expect(first.locator(".checksum code")).to_have_text(_sha256_of(api, job["id"], 0))

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".job-head button:has-text('Cancel')").click()
    expect(page.locator(".job")).to_have_attribute("data-status", "cancelled")
    expect(second).to_have_attribute("data-status", "cancelled")
    expect(page.locator(".live")).to_have_attribute("data-mode", "done")
    expect(page.locator(".job-head button:has-text('Cancel')")).to_have_count(0)


def test_without_event_source_the_jobs_page_polls(page: Page, api: httpx.Client) -> None:
    page.add_init_script("delete window.EventSource;")
    conftest.sign_in(page)
    expect(page.locator(".live")).to_have_attribute("data-mode", "polling")
    page.evaluate("window.__stayed = true")
    job = support.submit_ok(api, support.stateless(QUICK, name="polled"))
    row = page.locator(f"tr[data-job='{job['id']}']")
    expect(row).to_have_attribute("data-status", "completed")
    expect(row.locator("a:has-text('Download')")).to_be_visible()
    assert page.evaluate("window.__stayed") is True


def test_download_a_finished_file_from_the_job_page_and_the_list(
    signed_in: Page, api: httpx.Client
) -> None:
    page = signed_in
    done = support.run_job(api, support.stateless(QUICK, name="accounts"))
    file_id = done["batches"][0]["fileId"]
    expected = support.download(api, file_id).content

    page.goto(f"/jobs/{done['id']}")
    link = page.locator("#files ~ .table-wrap [data-role=download]").first
    with page.expect_download() as from_page:
        link.click()
    assert Path(from_page.value.path()).read_bytes() == expected
    assert from_page.value.suggested_filename == "accounts-q0.csv"
    href = link.get_attribute("href")
    assert href == f"/jobs/{done['id']}/files/{file_id}"
    resumed = page.request.get(href, headers={"Range": "bytes=10-", "Accept-Encoding": "gzip"})
    assert resumed.status == 206, "sent as stored, so a download can resume"
    assert resumed.body() == expected[10:]

    page.goto("/jobs")
    with page.expect_download() as from_list:
        page.locator(f"tr[data-job='{done['id']}'] a:has-text('Download')").click()
    assert Path(from_list.value.path()).read_bytes() == expected


def test_a_file_of_another_job_is_not_served_under_this_one(
    signed_in: Page, api: httpx.Client
) -> None:
    one = support.run_job(api, support.stateless(QUICK, name="one"))
    other = support.run_job(api, support.stateless(QUICK, name="other"))
    response = signed_in.goto(f"/jobs/{one['id']}/files/{other['batches'][0]['fileId']}")
    assert response is not None and response.status == 404
    expect(signed_in.locator("h1")).to_have_text("Not found")


def test_the_pages_work_without_javascript(
    browser: Browser, web_server: support.RunningServer, api: httpx.Client
) -> None:
    done = support.run_job(api, support.stateless(QUICK, name="no script"))
    context = browser.new_context(base_url=web_server.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        conftest.sign_in(page)
        row = page.locator(f"tr[data-job='{done['id']}']")
        expect(row.locator("[data-role=status]")).to_have_text("completed")
        page.goto(f"/jobs/{done['id']}")
        expect(page.locator("tr[data-batch] .checksum code")).to_have_text(
            _sha256_of(api, done["id"], 0)
        )
        page.goto("/reports")
        expect(page.locator("tr[data-report]")).to_have_count(6)
        page.goto("/objects/Invoice")
        expect(page.locator("table.fields")).to_contain_text("InvoiceNumber")
        page.screenshot(path=str(conftest.ARTIFACTS / "object-without-js.png"), full_page=True)
    finally:
        context.close()


def _sha256_of(api: httpx.Client, job_id: str, batch: int) -> str:
    job = api.get(f"/aquarium/api/v1/jobs/{job_id}").json()
    return str(job["batches"][batch]["sha256"])


def test_filters_and_pages_follow_the_job_api(signed_in: Page, api: httpx.Client) -> None:
    page = signed_in
    made = [
        support.run_job(api, support.stateless(QUICK, name=f"paged {i}", version="1.1"))["id"]
        for i in range(3)
    ]
    page.goto("/jobs?createdBy=demo&status=completed&limit=2")
    expect(page.locator("select[name=status]")).to_have_value("completed")
    rows = page.locator("tr[data-job]")
    expect(rows).to_have_count(2)
    assert [r.get_attribute("data-job") for r in rows.all()] == made[::-1][:2]
    page.click("a:has-text('Next page')")
    expect(page.locator("tr[data-job]").first).to_have_attribute("data-job", made[0])
    expect(page).to_have_url(re.compile(r"/jobs\?status=completed&createdBy=demo&limit=2&cursor="))
    page.click("a:has-text('First page')")
    expect(page.locator("tr[data-job]").first).to_have_attribute("data-job", made[2])

    found = api.get("/api/rest/v1/reports/search", params={"query": "Accounts by status"})
    report_id = found.json()["response"]["reports"][0]["id"]
    run = api.post(f"/api/rest/v1/reports/{report_id}/reportrun", params={"viewType": "Summary"})
    run_id = run.json()["response"]["reportRunId"]
    page.goto("/jobs")
    page.select_option("select[name=kind]", "report")
    page.click("button:has-text('Apply')")
    expect(page).to_have_url(re.compile(r"/jobs\?kind=report&"))
    expect(page.locator(f"tr[data-job='{run_id}']")).to_contain_text("Report run · Summary")
    kinds = page.locator("tr[data-job] td.name .sub").all_text_contents()
    assert all(kind.startswith("Report run") for kind in kinds), kinds
