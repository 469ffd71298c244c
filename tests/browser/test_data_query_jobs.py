"""Data Query jobs in the Jobs pages: submitted over ``POST /query/jobs``, they appear in the list
live, filter by kind, show their query, rows and errors in detail, download and cancel there as
the other kinds do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.acceptance import dataquery_support as dq
from tests.browser import conftest

QUERY = "select accountnumber, name\nfrom account\norder by accountnumber"
SLOW = "select * from usage"  # a slow view here: runs until it is cancelled


def test_a_data_query_job_is_listed_live_shown_and_downloaded(
    signed_in: Page, api: httpx.Client
) -> None:
    page = signed_in
    expect(page.locator(".live")).to_have_attribute("data-mode", "live")
    page.evaluate("window.__stayed = true")
    dashed = dq.submitted(api, QUERY)
    job_id = dashed.replace("-", "")

    row = page.locator(f"tr[data-job='{job_id}']")
    expect(row).to_have_attribute("data-status", "completed")
    assert page.evaluate("window.__stayed") is True, "the row came without a page load"
    expect(row.locator("td.name a")).to_have_text(
        "select accountnumber, name from account order by accountnumber"
    )
    expect(row.locator("td.name .sub")).to_have_text("Data Query · CSV")
    done = dq.wait_for(api, dashed)
    expect(row.locator("[data-role=progress]")).to_contain_text(f"{done['outputRows']} rows")
    expected = httpx.get(done["dataFile"]).content

    page.select_option("select[name=kind]", "dataquery")
    page.click("button:has-text('Apply')")
    expect(page).to_have_url(re.compile(r"/jobs\?kind=dataquery"))
    expect(page.locator(f"tr[data-job='{job_id}']")).to_be_visible()
    kinds = page.locator("tr[data-job] td.name .sub").all_text_contents()
    assert kinds and all(kind.startswith("Data Query") for kind in kinds), kinds
    with page.expect_download() as from_list:
        page.locator(f"tr[data-job='{job_id}'] a:has-text('Download')").click()
    assert Path(from_list.value.path()).read_bytes() == expected

    page.locator(f"tr[data-job='{job_id}'] td.name a").click()
    expect(page).to_have_url(re.compile(f"/jobs/{job_id}$"))
    expect(page.locator("[data-role=query]")).to_have_text(QUERY)
    expect(page.locator(".job")).to_have_attribute("data-status", "completed")
    expect(page.locator("[data-role=rows]")).to_have_text(str(done["outputRows"]))
    expect(page.locator(".facts:not(.settings)")).to_contain_text(dashed)
    expect(page.locator(".settings")).to_contain_text("outputFormat")
    page.screenshot(path=str(conftest.ARTIFACTS / "data-query-job.png"), full_page=True)
    link = page.locator("#files ~ .table-wrap [data-role=download]")
    expect(link).to_have_text(f"{dashed}.csv")
    with page.expect_download() as from_page:
        link.click()
    assert Path(from_page.value.path()).read_bytes() == expected
    assert from_page.value.suggested_filename == f"{dashed}.csv"
    lines = expected.decode().splitlines()
    assert lines[0] == "accountnumber,name" and len(lines) == done["outputRows"] + 1


def test_a_failed_data_query_shows_its_error_with_the_position(
    signed_in: Page, api: httpx.Client
) -> None:
    dashed = dq.submitted(api, "select nosuch from account")
    failed = dq.wait_for(api, dashed)
    signed_in.goto(f"/jobs/{dashed.replace('-', '')}")
    expect(signed_in.locator(".job")).to_have_attribute("data-status", "failed")
    expect(signed_in.locator(".problem")).to_have_text(failed["errorMessage"])
    expect(signed_in.locator(".problem")).to_contain_text("line 1:8")
    expect(signed_in.locator(".facts:not(.settings)")).to_contain_text(failed["errorCode"])
    expect(signed_in.locator("#files + .empty")).to_have_text("This job has no files to download.")


def test_a_running_data_query_is_cancelled_from_its_page(
    signed_in: Page, api: httpx.Client
) -> None:
    page = signed_in
    dashed = dq.submitted(api, SLOW)
    page.goto(f"/jobs/{dashed.replace('-', '')}")
    expect(page.locator(".job")).to_have_attribute("data-status", "in_progress")
    expect(page.locator(".live")).to_have_attribute("data-mode", "live")

    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.locator(".job-head button:has-text('Cancel')").click()
    expect(page.locator(".job")).to_have_attribute("data-status", "cancelled")
    assert questions and questions[0].startswith("Cancel the data query")
    expect(page.locator(".live")).to_have_attribute("data-mode", "done")
    expect(page.locator(".job-head button:has-text('Cancel')")).to_have_count(0)
    assert dq.wait_for(api, dashed)["queryStatus"] == "cancelled"
