"""Browser tier: Playwright (sync API) driving Debian's chromium against a real server process.

- ``web_server`` (session): ``aquarium serve`` over a demo tenant generated at scale 0.05 in which
  ``InvoiceItem`` and ``Usage`` are slow views (their first row takes minutes), so a job or
  report run over them stays running until it is cancelled; everything else is quick. Besides
  demo (an admin) the tenant has :data:`VIEWER`, who is not.
- ``page``: a fresh browser context (no cookies) per test; ``signed_in`` is one signed in as
  demo/demo. A screenshot of the last page of every test is saved under
  ``test-artifacts/browser/``; when a test fails the server's log tail is printed.

Chromium is ``/usr/bin/chromium`` (``make test`` installs the Debian package when it is missing,
through ``.ci/prepare``); without it these tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

import aquarium
from aquarium import datagen
from aquarium.engines import naming
from tests import tenants_setup
from tests.acceptance import support
from tests.integration.test_runner_support import make_slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
SLOW_TABLES = ("InvoiceItem", "Usage")
SCALE = 0.05
VIEWER = ("viewer", "viewer-password")  # a user of the demo tenant who is not an admin
WAIT_MS = 30_000  # how long an expected page state may take to appear
SOURCE_DIR = Path(aquarium.__file__).resolve().parents[1]  # the code under test, for the server

_SERVERS: list[support.RunningServer] = []
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires chromium: {reason}")
        pytest.skip(reason)
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("web") / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.add_user(data_dir, "demo", *VIEWER)
    datagen.generate_into(data_dir, "demo", scale=SCALE, seed=1)
    with duckdb.connect(str(data_dir / naming.DUCKDB_FILE)) as con:
        for table in SLOW_TABLES:
            make_slow(con, table)
    pythonpath = os.pathsep.join(
        p for p in (str(SOURCE_DIR), os.environ.get("PYTHONPATH", "")) if p
    )
    server = support.start_server(
        "web", data_dir, demo_scale=SCALE, workers=4, env={"PYTHONPATH": pythonpath}
    )
    _SERVERS.append(server)
    try:
        yield server
    finally:
        _SERVERS.remove(server)
        server.stop()


@pytest.fixture
def api(web_server: support.RunningServer) -> httpx.Client:
    """The server's Zuora-shaped API as demo/demo (HTTP Basic)."""
    return web_server.client()


@pytest.fixture
def context(
    browser: Browser, web_server: support.RunningServer, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    made = browser.new_context(
        base_url=web_server.base_url, viewport={"width": 1280, "height": 860}
    )
    made.set_default_timeout(WAIT_MS)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    if not opened.is_closed():
        opened.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for server in _SERVERS:
            print(f"\n===== log of server '{server.name}' ({server.log_path}) =====")
            print(server.log_tail())


@pytest.fixture
def signed_in(page: Page) -> Page:
    """``page`` after signing in as demo/demo (on the Jobs page)."""
    sign_in(page)
    return page


def sign_in(page: Page, user: str = "demo", password: str = "demo", start: str = "/jobs") -> None:
    page.goto(start)
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/(jobs|reports|objects)"))
