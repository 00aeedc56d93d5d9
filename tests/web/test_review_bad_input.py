"""The Review App's bad input (issue 6): an out-of-range number, an over-long text, a missing answer,
a stale page after the schemas changed, a double submit. Each gets an inline message next to its
field, what was typed stays, and nothing is saved twice (checked in SQL). Most cases post the
form with httpx exactly as a browser without JS would; the browser cases check what the labeler
sees and that the page's script sends one post however often Submit is pressed."""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from starlette.datastructures import FormData

from annotrace.collector.store.queries.label_schemas import LabelSchema
from annotrace.collector.store.queries.labeling_review import MyAnswer
from annotrace.collector.web.pages import review_form
from tests.collector_process import Collector
from tests.web.review_sessions import Review, assessments_of, define_questions, make_review, sdk

USER = "checker"


@pytest.fixture(scope="module")
def review(collector: Collector) -> Iterator[Review]:
    with sdk(collector):
        yield make_review(collector, traces=4)


@pytest.fixture
def http(collector: Collector) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=collector.web, cookies={"annotrace_user": USER}, timeout=30) as client:
        yield client


def _fingerprint(http: httpx.Client, review: Review, number: int) -> str:
    page = http.get(f"{review.path}?item={number}")
    assert page.status_code == 200, page.text
    found = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page.text)
    assert found is not None
    return found.group(1)


def _form(fingerprint: str, **answers: str) -> dict[str, str]:
    return {"fingerprint": fingerprint, **{f"a:{name}": value for name, value in answers.items()}}


def _error_of(html: str, question: int) -> str:
    found = re.search(rf'<p class="field-error" id="q{question}-error">([^<]*)</p>', html)
    assert found is not None, html
    return html_text.unescape(found.group(1))


def test_out_of_range_number_and_over_long_text_are_shown_inline(
    http: httpx.Client, collector: Collector, review: Review
) -> None:
    item = review.items[0]
    form = _form(_fingerprint(http, review, 1), quality="Good", score="7", better="x" * 201)
    form["c:quality"] = "my comment"
    response = http.post(f"{review.path}/items/{item}", data=form)
    assert response.status_code == 422
    html = response.text
    assert _error_of(html, 1) == "7 is outside the range [1, 5] (min_value, max_value)."
    assert _error_of(html, 2) == "Text of 201 characters is longer than max_length 200."
    assert 'id="q1-v" name="a:score" value="7"' in html and "aria-invalid" in html
    assert 'aria-describedby="q1-hint q1-error"' in html
    assert "x" * 201 + "</textarea>" in html  # nothing typed is lost
    assert 'value="Good" checked' in html and ">my comment</textarea>" in html
    assert "2 answers need your attention" in html
    assert assessments_of(collector, item, USER) == []  # all or nothing: the valid answer was not saved either


def test_missing_and_malformed_answers(http: httpx.Client, collector: Collector, review: Review) -> None:
    item = review.items[1]
    response = http.post(
        f"{review.path}/items/{item}", data=_form(_fingerprint(http, review, 2), score="lots", better="   ")
    )
    assert response.status_code == 422
    assert _error_of(response.text, 0) == "Choose one of the options."
    assert _error_of(response.text, 1) == "'lots' is not a number."
    assert _error_of(response.text, 2) == "Enter your answer."
    tampered = http.post(
        f"{review.path}/items/{item}",
        data=_form(_fingerprint(http, review, 2), quality="Great", score="2", better="ok"),
    )
    assert tampered.status_code == 422
    assert _error_of(tampered.text, 0) == "'Great' is not one of the options ['Good', 'Bad', 'Unsure']."
    assert assessments_of(collector, item, USER) == []


def test_a_double_submit_saves_once(http: httpx.Client, collector: Collector, review: Review) -> None:
    item = review.items[2]
    form = _form(_fingerprint(http, review, 3), quality="Bad", score="2.5", better="Twice?")
    first = http.post(f"{review.path}/items/{item}", data=form)
    second = http.post(f"{review.path}/items/{item}", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == f"{review.path}?item=4"  # my next open item (1 and 2 failed above)
    rows = assessments_of(collector, item, USER)
    assert [(r["assessment_name"], r["value"]) for r in rows] == [
        ("better", '"Twice?"'),
        ("quality", '"Bad"'),
        ("score", "2.5"),
    ]
    history = collector.sql(
        f"SELECT operation, count(*) AS n FROM assessment_history WHERE trace_id = '{item}' "
        "GROUP BY operation ORDER BY operation"
    )
    assert history == [{"operation": "create", "n": 3}, {"operation": "update", "n": 3}]  # upserted, not doubled


def test_the_page_posts_once_however_often_submit_is_pressed(page: Page, collector: Collector, review: Review) -> None:
    page.context.add_cookies([{"name": "annotrace_user", "value": "presser", "url": collector.web}])
    item = review.items[3]
    page.goto(f"{review.path}?item=4")
    page.keyboard.press("1")
    page.get_by_role("spinbutton").fill("5")
    page.get_by_role("group", name="What should it have said?").get_by_role("textbox").fill("Once.")
    page.evaluate(
        "() => { const f = document.getElementById('review-form'); f.requestSubmit(); f.requestSubmit(); "
        "document.getElementById('submit-button').click(); }"
    )
    expect(page.locator("#item-title")).to_contain_text("Item 1 of 4")
    assert len(assessments_of(collector, item, "presser")) == 3
    history = collector.sql(
        f"SELECT operation, count(*) AS n FROM assessment_history WHERE trace_id = '{item}' "
        "AND snapshot->>'$.source_id' = 'presser' GROUP BY operation"
    )
    assert history == [{"operation": "create", "n": 3}], history


def test_inline_messages_in_the_browser_keep_what_was_typed(page: Page, collector: Collector, review: Review) -> None:
    page.context.add_cookies([{"name": "annotrace_user", "value": "typist", "url": collector.web}])
    page.goto(f"{review.path}?item=1")
    page.get_by_role("group", name="Is the answer correct?").get_by_label("Unsure").check()
    number = page.get_by_role("group", name="How helpful is it?").get_by_role("spinbutton")
    number.fill("9")
    text = page.get_by_role("group", name="What should it have said?").get_by_role("textbox")
    text.fill("Kept.")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_text("9 is outside the range [1, 5]")).to_be_visible()
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_be_focused()
    expect(number).to_have_accessible_description(re.compile("outside the range"))
    expect(number).to_have_value("9")
    expect(text).to_have_value("Kept.")
    expect(page.get_by_role("group", name="Is the answer correct?").get_by_label("Unsure")).to_be_checked()
    number.fill("3")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#item-title")).to_contain_text("Item 2 of 4")
    assert len(assessments_of(collector, review.items[0], "typist")) == 3


def test_a_stale_page_saves_nothing_and_shows_the_current_questions(collector: Collector) -> None:
    with sdk(collector):
        review = make_review(collector, traces=1)
        with httpx.Client(base_url=collector.web, cookies={"annotrace_user": USER}, timeout=30) as http:
            shown = _fingerprint(http, review, 1)
            define_questions(max_score=3, max_length=5)  # the owner narrows two questions meanwhile
            response = http.post(
                f"{review.path}/items/{review.items[0]}", data=_form(shown, quality="Good", score="4", better="abc")
            )
            assert response.status_code == 409
            html = response.text
            assert "The questions of this session changed after you opened this item, so nothing was saved" in html
            assert 'max="3"' in html and 'maxlength="5"' in html  # the current questions
            assert _error_of(html, 1) == "4 is outside the range [1, 3] (min_value, max_value)."
            assert 'value="Good" checked' in html and ">abc</textarea>" in html  # still-valid answers kept
            assert assessments_of(collector, review.items[0], USER) == []
            fresh = re.search(r'name="fingerprint" value="([0-9a-f]+)"', html)
            assert fresh is not None and fresh.group(1) != shown
            again = http.post(
                f"{review.path}/items/{review.items[0]}",
                data=_form(fresh.group(1), quality="Good", score="3", better="abc"),
            )
            assert again.status_code == 303
    assert len(assessments_of(collector, review.items[0], USER)) == 3


def test_add_an_entry_without_javascript(http: httpx.Client, collector: Collector, review: Review) -> None:
    """Without JS, "Add an entry" posts the form: the item comes back (200) with what was typed, no
    inline messages yet, and nothing saved."""
    form = _form(_fingerprint(http, review, 2), quality="Bad", score="3")
    form["_add_row"] = "better"
    response = http.post(f"{review.path}/items/{review.items[1]}", data=form)
    assert response.status_code == 200
    assert 'value="Bad" checked' in response.text and 'value="3"' in response.text
    assert 'class="field-error"' not in response.text
    assert assessments_of(collector, review.items[1], USER) == []


def _schema(input_type: str, spec: dict[str, Any], enable_comment: bool = False) -> LabelSchema:
    now = datetime(2025, 1, 1)
    return LabelSchema("ls-1", "1", "q", "expectation", "Q", None, enable_comment, input_type, spec, None, now, now)


@pytest.mark.parametrize(
    ("input_type", "spec", "posted", "value", "problem"),
    [
        ("text_list", {"max_count": 2, "max_length_each": 5}, ["ab", "", "cd"], ["ab", "cd"], None),
        ("text_list", {"max_count": 2, "max_length_each": 5}, ["a", "b", "c"], None, "3 texts, more than max_count 2."),
        (
            "text_list",
            {"max_count": None, "max_length_each": 5},
            ["abcdef"],
            None,
            "Text of 6 characters is longer than max_length_each 5.",
        ),
        ("text_list", {}, ["", " "], None, "Enter at least one entry."),
        ("categorical_list", {"options": ["x", "y"]}, ["y", "x"], ["y", "x"], None),
        ("categorical_list", {"options": ["x", "y"]}, [], None, "Choose at least one option."),
        ("pass_fail", {"positive_label": "Pass", "negative_label": "Fail"}, ["false"], False, None),
        (
            "pass_fail",
            {"positive_label": "Pass", "negative_label": "Fail"},
            ["maybe"],
            None,
            "Choose one of the options.",
        ),
        ("numeric", {"min_value": None, "max_value": None}, ["1e400"], None, "'1e400' is not a number."),
        ("numeric", {"min_value": 0, "max_value": 1}, ["0.25"], 0.25, None),
        ("text", {"max_length": 3}, ["a\r\nb"], "a\nb", None),  # CRLF counts as one character, as in the browser
    ],
)
def test_every_input_type_is_judged_before_saving(
    input_type: str, spec: dict[str, Any], posted: list[str], value: Any, problem: str | None
) -> None:
    schema = _schema(input_type, spec)
    parsed = review_form.parse([schema], FormData([("a:q", v) for v in posted]), {})
    (question,) = parsed.questions
    assert question.error == problem
    assert parsed.answers == ([] if problem else [("q", value, None)])


def test_an_emptied_comment_clears_the_earlier_one() -> None:
    schema = _schema("text", {"max_length": None}, enable_comment=True)
    earlier = {"q": MyAnswer("old", "old comment")}
    assert review_form.parse([schema], FormData([("a:q", "new"), ("c:q", "")]), earlier).answers == [("q", "new", "")]
    assert review_form.parse([schema], FormData([("a:q", "new")]), {}).answers == [("q", "new", None)]
    assert review_form.parse([schema], FormData([("a:q", "new"), ("c:q", "why")]), {}).answers == [("q", "new", "why")]
