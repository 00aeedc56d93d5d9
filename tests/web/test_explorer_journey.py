"""Issue 6's explorer journey: a feedback added to a span in the trace page shows as a column in
the experiment's trace table (seed 001: "back in the traces list the new label shows as a column")."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.collector_process import Collector
from tests.web.conftest import sign_in
from tests.web.trace_data import genai_trace


def test_feedback_added_on_a_span_shows_as_a_column(page: Page, collector: Collector) -> None:
    trace = genai_trace(collector)
    sign_in(page, "reviewer@example.com", next_path=f"/traces/{trace.trace_id}")
    page.locator(f'#span-tree a[data-span="{trace.chat}"]').click()
    expect(page.locator("#span-detail")).to_have_attribute("data-span", trace.chat)

    form = page.locator("#a-form")
    form.get_by_label("Feedback").check()
    form.get_by_label("Name").fill("helpfulness")
    form.get_by_label("Data type").select_option("number")
    form.get_by_label("Value").fill("5")
    form.get_by_role("button", name="Create").click()
    expect(page.locator("#assessments .a-status")).to_contain_text("created")

    page.locator("header, main").get_by_role("link", name=trace.experiment, exact=True).first.click()
    expect(page.get_by_role("link", name="helpfulness", exact=True)).to_be_visible()
    row = page.locator("#traces-table tbody tr").filter(has=page.locator(f'a[href="/traces/{trace.trace_id}"]'))
    expect(row.locator('td[data-column="feedback.helpfulness"]')).to_have_text("5")
    rows = collector.sql(
        "SELECT span_id, source_type, source_id, value FROM assessments "
        f"WHERE trace_id = '{trace.trace_id}' AND assessment_name = 'helpfulness'"
    )
    assert rows == [{"span_id": trace.chat, "source_type": "HUMAN", "source_id": "reviewer@example.com", "value": "5"}]
