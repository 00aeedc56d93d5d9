"""The Review App end to end (issue 6 "Tests"): an expert opens a session's ``url``, says who they
are, labels three traces with the mouse and with the keyboard, goes back and edits, reaches the
"all done" summary, and the labels come back through ``search_traces`` and SQL with the right
values and source. Also: an assigned session is offered only to its labeler."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

import annotrace
from tests.collector_process import Collector
from tests.web.conftest import sign_in
from tests.web.review_sessions import Review, assessments_of, make_review, sdk

EXPERT = "expert@example.com"


@pytest.fixture(scope="module")
def review(collector: Collector) -> Iterator[Review]:
    with sdk(collector):
        yield make_review(collector)


def _question(page: Page, title: str):  # a Playwright Locator
    return page.get_by_role("group", name=title)


def _on_item(page: Page, number: int) -> None:
    expect(page.locator("#item-title")).to_contain_text(f"Item {number} of 3")


def test_expert_labels_three_traces_with_mouse_and_keyboard(page: Page, collector: Collector, review: Review) -> None:
    # The link the session's creator shares; the first visit asks who is labeling.
    url = review.session.url
    assert url == f"{collector.web}{review.path}"
    page.goto(url)
    expect(page).to_have_url(f"{collector.web}/login?next={review.path}")
    page.get_by_label("Name or e-mail").fill(EXPERT)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(url)

    # Item 1: what the expert reads, then the mouse.
    _on_item(page, 1)
    expect(page.get_by_role("progressbar", name="My progress")).to_have_attribute("aria-valuenow", "0")
    expect(page.locator(".chat .bubble.role-assistant").first).to_contain_text("Answer to: Question")
    expect(page.get_by_role("link", name="https://kb.example.com/refunds")).to_be_visible()
    expect(page.get_by_text("file:///srv/notes.txt")).to_be_visible()
    assert page.get_by_role("link", name="file:///srv/notes.txt").count() == 0  # only http(s) URIs are links
    quality = _question(page, "Is the answer correct?")
    expect(quality).to_contain_text("Judge the response only.")
    quality.get_by_label("Good").check()
    quality.get_by_label("Comment").fill("Cites the refund policy.")
    number = _question(page, "How helpful is it?").get_by_role("spinbutton")
    expect(number).to_have_attribute("min", "1")
    expect(number).to_have_attribute("max", "5")
    number.fill("4")
    better = _question(page, "What should it have said?").get_by_role("textbox")
    expect(better).to_have_attribute("maxlength", "200")
    better.fill("Refunds take five business days.")
    page.get_by_role("button", name="Submit", exact=True).click()

    # Item 2: the keyboard only. Digits pick options, j / arrows move, Esc leaves a field, Enter submits.
    _on_item(page, 2)
    expect(page.get_by_role("progressbar", name="My progress")).to_have_attribute("aria-valuenow", "1")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("2")  # the first unanswered choice question: "Bad"
    expect(_question(page, "Is the answer correct?").get_by_label("Bad")).to_be_checked()
    page.keyboard.press("j")  # the next unanswered question: the number
    expect(_question(page, "How helpful is it?").get_by_role("spinbutton")).to_be_focused()
    page.keyboard.type("2")
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowDown")
    expect(_question(page, "What should it have said?").get_by_role("textbox")).to_be_focused()
    page.keyboard.type("It should give the number of days.")
    page.keyboard.press("Enter")  # a new line in a text area, not a submit
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")

    # Item 3 is shown; go back (ArrowLeft = Previous) to item 2: my answers are there, and editable.
    _on_item(page, 3)
    page.keyboard.press("ArrowLeft")
    _on_item(page, 2)
    expect(_question(page, "Is the answer correct?").get_by_label("Bad")).to_be_checked()
    expect(_question(page, "How helpful is it?").get_by_role("spinbutton")).to_have_value("2")
    expect(_question(page, "What should it have said?").get_by_role("textbox")).to_have_value(
        "It should give the number of days.\n"
    )
    _question(page, "How helpful is it?").get_by_role("spinbutton").fill("3")
    page.get_by_role("button", name="Submit", exact=True).click()

    # Back on item 3 (the next one still open): the keyboard again, "k" and "j" too.
    _on_item(page, 3)
    page.keyboard.press("3")
    page.keyboard.press("k")  # from nowhere, k goes to the last question
    expect(_question(page, "What should it have said?").get_by_role("textbox")).to_be_focused()
    page.keyboard.type("Say it is unsure.")
    page.keyboard.press("Escape")
    page.keyboard.press("k")
    page.keyboard.type("1")
    page.keyboard.press("Enter")  # Enter in a single-line field submits

    # All done: the summary, with links back to every item and my answers.
    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    expect(page.locator(".review-done")).to_contain_text("You completed 3 and skipped 0 of 3 items")
    expect(page.get_by_role("link", name="Item 2")).to_have_attribute("href", f"{review.path}?item=2")
    expect(page.locator(".review-done")).to_contain_text("Cites the refund policy.")
    expect(page.get_by_role("progressbar", name="My progress")).to_have_attribute("aria-valuenow", "3")

    # The labels, through search_traces (the session's run) ...
    expected = {
        review.items[0]: ("Good", "Cites the refund policy.", 4, "Refunds take five business days."),
        review.items[1]: ("Bad", None, 3, "It should give the number of days.\n"),
        review.items[2]: ("Unsure", None, 1, "Say it is unsure."),
    }
    with sdk(collector):
        annotrace.set_experiment(review.experiment)
        labeled = annotrace.search_traces(run_id=review.session.mlflow_run_id)
    assert sorted(labeled["trace_id"]) == sorted(expected)
    for _, row in labeled.iterrows():
        quality, comment, score, better = expected[row["trace_id"]]
        found = {a["assessment_name"]: a for a in row["assessments"]}
        assert set(found) == {"quality", "score", "better"}
        assert found["quality"]["feedback"]["value"] == quality
        assert found["quality"].get("rationale") == comment
        assert found["score"]["feedback"]["value"] == score
        assert found["better"]["expectation"]["value"] == better
        assert {a["source"]["source_id"] for a in found.values()} == {EXPERT}
        assert {a["source"]["source_type"] for a in found.values()} == {"HUMAN"}

    # ... and through SQL: one row per question and item (the edit updated, nothing doubled).
    for trace_id, (quality, comment, score, better) in expected.items():
        rows = assessments_of(collector, trace_id, EXPERT)
        assert [
            (r["assessment_name"], json.loads(r["value"]), r["rationale"], r["source_type"], r["source_id"])
            for r in rows
        ] == [
            ("better", better, None, "HUMAN", EXPERT),
            ("quality", quality, comment, "HUMAN", EXPERT),
            ("score", score, None, "HUMAN", EXPERT),
        ]
    status = collector.sql(
        f"SELECT count(*) AS n FROM labeling_item_status WHERE session_id = "
        f"'{review.session.mlflow_run_id}' AND user_id = '{EXPERT}' AND status = 'completed'"
    )
    assert status == [{"n": 3}]


def test_an_assigned_session_is_only_for_its_labelers(page: Page, collector: Collector) -> None:
    with sdk(collector):
        review = make_review(collector, traces=1, assigned_users=["alice"])
    sid = review.session.mlflow_run_id

    # bob: not offered, and the link answers 403 with a clear message (page and REST API alike)
    with httpx.Client(base_url=collector.web, cookies={"annotrace_user": "bob"}, timeout=30) as bob:
        assert sid not in [s["session_id"] for s in bob.get("/review.json").json()["sessions"]]
        denied = bob.get(review.path)
        assert denied.status_code == 403
        text = html.unescape(denied.text)
        assert "User 'bob' is not assigned to labeling session" in text and "alice" in text
        posted = bob.post(f"{review.path}/items/{review.items[0]}", data={"a:quality": "Good"})
        assert posted.status_code == 403
        api = bob.post(
            f"/api/v1/labeling/sessions/{sid}/items/{review.items[0]}/answers",
            json={"user": "bob", "schema": "quality", "value": "Good"},
        )
        assert api.status_code == 403 and api.json()["error_code"] == "PERMISSION_DENIED"
    assert assessments_of(collector, review.items[0], "bob") == []

    # alice: offered with her progress, and she can label
    sign_in(page, "alice")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=review.session.name))
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")
    row.get_by_role("link", name=review.session.name).click()
    _on_item_of(page, 1, 1)
    page.keyboard.press("1")
    _question(page, "How helpful is it?").get_by_role("spinbutton").fill("5")
    _question(page, "What should it have said?").get_by_role("textbox").fill("Fine as is.")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    assert [r["assessment_name"] for r in assessments_of(collector, review.items[0], "alice")] == [
        "better",
        "quality",
        "score",
    ]


def _on_item_of(page: Page, number: int, total: int) -> None:
    expect(page.locator("#item-title")).to_contain_text(f"Item {number} of {total}")


def test_pass_fail_checkboxes_and_a_list_of_texts(page: Page, collector: Collector) -> None:
    with sdk(collector):
        review = make_review(collector, traces=1, other_questions=True)
    page.context.add_cookies([{"name": "annotrace_user", "value": "lister", "url": collector.web}])
    page.goto(review.path)
    page.get_by_role("group", name="Is it safe?").get_by_label("Unsafe").check()
    page.keyboard.press("j")  # from the radio just clicked to the checkboxes: digits toggle them
    page.keyboard.press("1")
    page.keyboard.press("3")
    topics = page.get_by_role("group", name="Which topics does it cover?")
    expect(topics.get_by_label("billing")).to_be_checked()
    expect(topics.get_by_label("shipping")).to_be_checked()
    facts = page.get_by_role("group", name="Which facts must it state?")
    facts.get_by_label("Entry 1").fill("Refunds take 5 days")
    facts.get_by_role("button", name="Add an entry").click()
    expect(facts.get_by_label("Entry 2")).to_be_focused()
    page.keyboard.type("Ask for the order number")
    facts.get_by_role("button", name="Add an entry").click()
    page.keyboard.type("to be removed")
    expect(facts.get_by_role("button", name="Add an entry")).to_be_disabled()  # max_count 3
    facts.get_by_role("button", name="Remove entry 3").click()
    expect(facts.get_by_role("textbox")).to_have_count(2)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    rows = {r["assessment_name"]: json.loads(r["value"]) for r in assessments_of(collector, review.items[0], "lister")}
    assert rows == {
        "safe": False,
        "topics": ["billing", "shipping"],
        "facts": ["Refunds take 5 days", "Ask for the order number"],
    }
    page.get_by_role("link", name="Item 1").click()  # back from the summary: all of it pre-filled
    expect(page.get_by_role("group", name="Is it safe?").get_by_label("Unsafe")).to_be_checked()
    expect(facts.get_by_label("Entry 2")).to_have_value("Ask for the order number")


def test_it_works_without_javascript(browser: Browser, collector: Collector) -> None:
    with sdk(collector):
        review = make_review(collector, traces=2)
    context = browser.new_context(base_url=collector.web, java_script_enabled=False)
    try:
        context.add_cookies([{"name": "annotrace_user", "value": "nojs", "url": collector.web}])
        page = context.new_page()
        page.goto(review.path)
        page.get_by_label("Bad").check()
        page.get_by_role("spinbutton").fill("1")
        page.get_by_role("group", name="What should it have said?").get_by_role("textbox").fill("Plain HTML.")
        page.get_by_role("button", name="Submit", exact=True).click()
        expect(page).to_have_url(f"{collector.web}{review.path}?item=2")  # POST -> 303 -> the next item
        page.get_by_role("button", name="Skip").click()
        expect(page.get_by_role("heading", name="All done")).to_be_visible()
        expect(page.locator(".review-done")).to_contain_text("You completed 1 and skipped 1 of 2 items")
    finally:
        context.close()
    assert len(assessments_of(collector, review.items[0], "nojs")) == 3
