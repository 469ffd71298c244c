"""Signing in and out, and bad input: wrong password, forged CSRF, unknown jobs, expired
sessions."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from aquarium.services import auth
from aquarium.web import sessions
from tests import tenants_setup
from tests.acceptance import support

SIGN_IN_PAGE = re.compile(r"/login\?")


def _expired_cookie(server: support.RunningServer) -> str:
    """A session cookie for demo signed with the server's secret, expired an hour ago."""
    codec = sessions.SessionCodec(auth.load_or_create_secret(server.data_dir), idle_s=60)
    user = tenants_setup.load(server.data_dir)["demo"].user("demo")
    assert user is not None
    return codec.encode(codec.issue("demo", user, time.time() - 3600))


def _replace_session(context: BrowserContext, server: support.RunningServer, value: str) -> None:
    context.add_cookies([{"name": sessions.COOKIE, "value": value, "url": server.base_url}])


def test_sign_in_sets_a_safe_cookie_and_returns_to_the_page_asked_for(
    page: Page, context: BrowserContext
) -> None:
    page.goto("/objects/Account")
    expect(page).to_have_url(SIGN_IN_PAGE)
    page.fill("input[name=user]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(re.compile(r"/objects/Account$"))
    expect(page.locator(".who")).to_contain_text("demo")
    (cookie,) = [c for c in context.cookies() if c["name"] == sessions.COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"


def test_a_wrong_password_says_so_and_nothing_else(page: Page, context: BrowserContext) -> None:
    for user, password in (("demo", "not-the-password"), ("nobody-here", "demo")):
        page.goto("/jobs")
        page.fill("input[name=user]", user)
        page.fill("input[name=password]", password)
        page.click("button:has-text('Sign in')")
        expect(page.locator(".problem")).to_have_text("Wrong user name or password.")
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.locator("input[name=password]")).to_have_value("")
        assert password not in page.content()
    assert not [c for c in context.cookies() if c["name"] == sessions.COOKIE]
    page.goto("/jobs")
    expect(page).to_have_url(SIGN_IN_PAGE)


def test_sign_out_ends_the_session(signed_in: Page) -> None:
    page = signed_in
    page.click("button:has-text('Sign out')")
    expect(page.locator(".notice")).to_have_text("You have signed out.")
    page.goto("/reports")
    expect(page).to_have_url(SIGN_IN_PAGE)


def test_a_forged_csrf_token_is_refused_and_changes_nothing(
    signed_in: Page, api: httpx.Client
) -> None:
    page = signed_in
    before = api.get("/aquarium/api/v1/jobs", params={"kind": "report", "limit": 500}).json()
    page.goto("/reports")
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged')")
    page.locator("tr[data-report]").first.locator("button:has-text('Run Detail')").click()
    expect(page.locator("h1")).to_have_text("Request refused")
    expect(page.locator("main")).to_contain_text("nothing was changed")
    after = api.get("/aquarium/api/v1/jobs", params={"kind": "report", "limit": 500}).json()
    assert [run["id"] for run in after["jobs"]] == [run["id"] for run in before["jobs"]]

    job = support.submit_ok(api, support.stateless("select * from InvoiceItem", name="kept"))
    missing = page.request.post(f"/jobs/{job['id']}/cancel", form={"next": "/jobs"})
    assert missing.status == 403
    assert support.get_job(api, job["id"])["status"] in {"submitted", "executing"}
    api.delete(f"/v1/batch-query/jobs/{job['id']}")


def test_an_unknown_job_shows_a_not_found_page(signed_in: Page) -> None:
    for job_id in ("0" * 32, "not-a-job"):
        response = signed_in.goto(f"/jobs/{job_id}")
        assert response is not None and response.status == 404
        expect(signed_in.locator("h1")).to_have_text("Not found")
        expect(signed_in.locator(".problem")).to_contain_text(job_id)


def test_an_expired_session_goes_back_to_sign_in_then_on(
    signed_in: Page, context: BrowserContext, web_server: support.RunningServer
) -> None:
    page = signed_in
    # Leave the live Jobs page first: its script would also notice the ended session and
    # load the sign-in form at the same time as the navigation below, and two forms loaded at
    # once carry different sign-in tokens.
    page.goto("/objects")
    _replace_session(context, web_server, _expired_cookie(web_server))
    page.goto("/reports/runs?status=finished")
    expect(page).to_have_url(SIGN_IN_PAGE)
    expect(page.locator(".problem")).to_have_text("Your session has ended. Please sign in again.")
    page.fill("input[name=user]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(re.compile(r"/reports/runs\?status=finished$"))


def test_an_open_page_goes_to_sign_in_when_its_session_has_expired(
    signed_in: Page,
    context: BrowserContext,
    web_server: support.RunningServer,
    api: httpx.Client,
) -> None:
    page = signed_in
    expect(page.locator(".live")).to_have_attribute("data-mode", "live")
    _replace_session(context, web_server, _expired_cookie(web_server))
    support.run_job(api, support.stateless("select Name from Product", name="nudge"))
    expect(page).to_have_url(SIGN_IN_PAGE)
    expect(page.locator(".problem")).to_have_text("Your session has ended. Please sign in again.")
    page.fill("input[name=user]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(re.compile(r"/jobs$"))
