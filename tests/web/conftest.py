"""Browser fixtures: Playwright driving Debian's Chromium headless (ARCHITECTURE §4).

``make install`` apt-installs ``/usr/bin/chromium`` when run as root (CI); a machine without it
fails here with a message saying so rather than skipping the Review App's tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.collector_process import Collector

CHROMIUM = os.environ.get("ANNOTRACE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the web tests. Package scope, not session: Playwright's sync API keeps an
    event loop running in the main thread while it is open, and ``asyncio.run`` in tests collected
    after this package would fail."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`make install` as root does it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, collector: Collector) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) whose relative URLs go to the session collector."""
    ctx = browser.new_context(base_url=collector.web, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, name: str, next_path: str = "/review") -> None:
    """Say who is labeling, the way a labeler does on first visit."""
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Name or e-mail").fill(name)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**{next_path}")
