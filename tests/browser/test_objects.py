"""The Objects pages: the catalogue, and the ZOQL box that runs a statement as an AQuA job."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.acceptance import support


def test_the_catalogue_lists_objects_fields_and_related_objects(signed_in: Page) -> None:
    page = signed_in
    page.goto("/objects")
    page.locator("table.objects a", has_text="Invoice").first.click()
    expect(page.locator("h1")).to_contain_text("Invoice")
    expect(page.locator("table.fields")).to_contain_text("Balance")
    expect(page.locator("table.related")).to_contain_text("Account")


def test_a_bad_query_shows_zuoras_error_with_line_and_column(signed_in: Page) -> None:
    page = signed_in
    page.goto("/objects/Account")
    page.fill("textarea[name=query]", "select AccountNumber,\n  Nmae from Account")
    page.click("button:has-text('Run query')")
    error = page.locator("[data-role=zoql-error]")
    expect(error).to_contain_text(
        "There is a syntax error in one of the queries in the AQuA input."
    )
    expect(error).to_contain_text("line 2, column 3")
    expect(error).to_contain_text("Nmae")
    expect(error.locator("pre.excerpt")).to_have_text("  Nmae from Account\n  ^")
    expect(page.locator("textarea[name=query]")).to_have_value(
        "select AccountNumber,\n  Nmae from Account"
    )


def test_a_query_shows_its_first_rows_as_aqua_wrote_them(
    signed_in: Page, api: httpx.Client
) -> None:
    page = signed_in
    page.goto("/objects")
    page.fill("textarea[name=query]", "select AccountNumber, Name from Account")
    page.keyboard.press("Control+Enter")
    rows = page.locator("table[data-role=rows]")
    expect(rows.locator("tbody tr")).to_have_count(20)
    job_id = page.locator("#result a").first.inner_text()
    job = support.get_job(api, job_id)
    assert job["status"] == "completed" and job["name"] == "Objects page query"
    written = support.parse_csv(support.download(api, job["batches"][0]["fileId"]).content)
    shown = [
        [cell.text_content() for cell in row.locator("td").all()]
        for row in rows.locator("tbody tr").all()
    ]
    assert [h.text_content() for h in rows.locator("th").all()] == written[0]
    assert shown == written[1:21]
