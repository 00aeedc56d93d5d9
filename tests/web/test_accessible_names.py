"""Every form control on every page has an accessible name (issue 6: "a real <label>, so it
works with screen readers"), checked by the browser's own accessibility tree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.collector_process import Collector
from tests.web.conftest import sign_in
from tests.web.review_sessions import Review, make_review, sdk
from tests.web.trace_data import genai_trace

CONTROLS = "input:not([type=hidden]), select, textarea, button"


@pytest.fixture(scope="module")
def review(collector: Collector) -> Iterator[Review]:
    with sdk(collector):
        yield make_review(collector, traces=1)


NAME_OF = """el => {
  const byId = (ids) => ids.split(/\\s+/).map((id) => document.getElementById(id)?.innerText || "").join(" ");
  return [el.labels ? Array.from(el.labels).map((l) => l.innerText).join(" ") : "",
          el.getAttribute("aria-label") || "", byId(el.getAttribute("aria-labelledby") || ""), el.title || "",
          el.tagName === "BUTTON" ? el.innerText : "", ["submit", "button"].includes(el.type) ? el.value : ""]
    .join(" ").trim();
}"""


def unnamed_controls(page: Page) -> list[str]:
    """Visible controls with no label, aria-label(ledby), title or (button) text."""
    return [
        control.evaluate("el => el.outerHTML.slice(0, 120)")
        for control in page.locator(CONTROLS).all()
        if control.is_visible() and not control.evaluate(NAME_OF)
    ]


def test_the_check_finds_an_unlabelled_control(page: Page) -> None:
    page.set_content('<label for="a">Name</label><input id="a"><input id="b"><button aria-label="Go"></button>')
    assert unnamed_controls(page) == ['<input id="b">']


def test_every_control_on_every_page_has_a_name(page: Page, collector: Collector, review: Review) -> None:
    trace = genai_trace(collector)
    sign_in(page, "screen-reader@example.com", next_path="/login")
    for path in (
        "/login",
        "/",
        f"/experiments/{trace.experiment_id}/traces",
        f"/traces/{trace.trace_id}",
        f"/traces/{trace.trace_id}?span={trace.chat}",
        "/review",
        review.path,
    ):
        page.goto(path)
        assert unnamed_controls(page) == [], path
