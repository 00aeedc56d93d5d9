"""The identity page: a labeler's name is kept in a cookie and shown on every page."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.collector_process import Collector
from tests.web.conftest import sign_in


def test_name_is_remembered_and_shown(page: Page) -> None:
    sign_in(page, "ada@example.com", next_path="/login")
    expect(page.get_by_text("Signed in as")).to_contain_text("ada@example.com")
    page.goto("/login")
    expect(page.get_by_label("Name or e-mail")).to_have_value("ada@example.com")


def test_blank_name_gets_an_inline_message(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Name or e-mail").fill("   ")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text("Enter your name or e-mail address.")
    expect(page.get_by_label("Name or e-mail")).to_have_attribute("aria-invalid", "true")


def test_next_never_leaves_the_site(collector: Collector) -> None:
    response = httpx.post(f"{collector.web}/login", data={"name": "bob", "next": "//evil.example/x"})
    assert response.status_code == 303
    assert response.headers["location"] == "/review"
    assert "annotrace_user=bob" in response.headers["set-cookie"]


def test_login_page_has_a_json_twin(collector: Collector) -> None:
    response = httpx.get(f"{collector.web}/login.json", params={"next": "/review/abc"})
    assert response.status_code == 200
    assert response.json() == {"next": "/review/abc", "name": "", "error": None, "login_with_password": False}
