"""Per-document relevance in the Review App (issue 13, item 7), in Chromium: each document of a
RETRIEVER span gets relevant / not relevant, saved with the item's answers as span-level
``retrieval_relevance`` feedback on that span with the document's position (``chunk_index``),
and shown again when the labeler comes back to the item. A document left unanswered saves nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.collector_process import Collector
from tests.web.conftest import sign_in
from tests.web.review_sessions import Review, make_review, sdk

LABELER = "docs@example.com"


@pytest.fixture(scope="module")
def review(collector: Collector) -> Iterator[Review]:
    with sdk(collector):
        yield make_review(collector, traces=1)


def _answer_questions(page: Page) -> None:
    page.get_by_role("group", name="Is the answer correct?").get_by_label("Good").check()
    page.get_by_role("group", name="How helpful is it?").get_by_role("spinbutton").fill("4")
    page.get_by_role("group", name="What should it have said?").get_by_role("textbox").fill("Five days.")


def test_each_retrieved_document_gets_a_relevance_answer(page: Page, collector: Collector, review: Review) -> None:
    sign_in(page, LABELER, review.path)
    first = page.get_by_role("group", name="Is document 1 relevant?")
    second = page.get_by_role("group", name="Is document 2 relevant?")
    first.get_by_label("relevant", exact=True).check()
    second.get_by_label("not relevant").check()
    _answer_questions(page)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("progressbar", name="My progress")).to_have_attribute("aria-valuenow", "1")

    trace_id = review.items[0]
    rows = collector.sql(
        "SELECT a.span_id, s.span_type, json_extract_string(a.metadata, '$.chunk_index') AS position, a.value, "
        "json_extract_string(a.metadata, '$.\"annotrace.document_id\"') AS document_id FROM assessments a "
        f"JOIN spans s USING (trace_id, span_id) WHERE a.trace_id = '{trace_id}' "
        f"AND a.assessment_name = 'retrieval_relevance' AND a.source_id = '{LABELER}' ORDER BY position"
    )
    assert [(r["span_type"], r["position"], r["value"], r["document_id"]) for r in rows] == [
        ("RETRIEVER", "0", "true", "kb-1"),
        ("RETRIEVER", "1", "false", "kb-2"),
    ]

    page.goto(f"{review.path}?item=1")  # back to the item: my answers are shown; a change updates, not adds
    expect(first.get_by_label("relevant", exact=True)).to_be_checked()
    expect(second.get_by_label("not relevant")).to_be_checked()
    second.get_by_label("relevant", exact=True).check()
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator(".review-item")).to_have_count(0)  # saved: on to the summary (nothing else is open)
    after = collector.sql(
        f"SELECT json_extract_string(metadata, '$.chunk_index') AS position, value FROM assessments "
        f"WHERE trace_id = '{trace_id}' AND assessment_name = 'retrieval_relevance' AND source_id = '{LABELER}' "
        "ORDER BY position"
    )
    assert after == [{"position": "0", "value": "true"}, {"position": "1", "value": "true"}]
