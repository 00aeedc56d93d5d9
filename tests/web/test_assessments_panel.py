"""The trace page's assessments panel: seed 001's steps done by a person in the browser.

Each step goes through the MLflow REST API from the page's script; after each one the stored row
is read back with SQL (and once through the SDK), so the test checks what was stored, not just
what the page shows.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

import annotrace
from annotrace.entities import Feedback
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app
from tests.web.conftest import sign_in
from tests.web.trace_data import genai_trace

__all__ = ["app"]  # the SDK fixture, imported for pytest

USER = "ada@example.com"


def stored(collector: Collector, trace_id: str) -> list[dict[str, Any]]:
    rows = collector.sql(
        "SELECT assessment_id, assessment_name, kind, span_id, value, rationale, source_type, source_id, overrides, "
        f"valid, version FROM assessments WHERE trace_id = '{trace_id}' ORDER BY create_time, assessment_id"
    )
    for row in rows:
        row["value"] = None if row["value"] is None else json.loads(row["value"])
    return rows


def select(page: Page, span_id: str) -> None:
    page.locator(f'#span-tree a[data-span="{span_id}"]').click()
    expect(page.locator("#span-detail")).to_have_attribute("data-span", span_id)


def item(page: Page, name: str, nth: int = 0) -> Locator:
    return page.locator("#assessments .a-item").filter(has=page.locator(".a-name", has_text=name)).nth(nth)


def status(page: Page) -> Locator:
    return page.locator("#assessments .a-status")


def test_seed_001_label_a_span_and_the_trace(page: Page, app: Collector) -> None:
    collector = app
    trace = genai_trace(collector)
    sign_in(page, USER, next_path=f"/traces/{trace.trace_id}")

    # click the span to label; fill the form: Feedback, name, Number, value, rationale; Create
    select(page, trace.chat)
    expect(page.locator("#assessments h2")).to_contain_text("on span chat")
    form = page.locator("#a-form")
    form.get_by_label("Feedback").check()
    form.get_by_label("Name").fill("quality")
    form.get_by_label("Data type").select_option("number")
    form.get_by_label("Value").fill("4")
    form.get_by_label("Rationale (optional)").fill("clear answer")
    form.get_by_role("button", name="Create").dblclick()  # a double click stores it once
    expect(status(page)).to_have_text("Feedback \u201cquality\u201d created.")
    expect(item(page, "quality").locator(".a-value")).to_have_text("4")
    expect(item(page, "quality").locator(".a-meta")).to_contain_text(f"HUMAN · {USER}")
    [feedback] = stored(collector, trace.trace_id)
    assert {k: v for k, v in feedback.items() if k != "assessment_id"} == {
        "assessment_name": "quality",
        "kind": "feedback",
        "span_id": trace.chat,
        "value": 4,
        "rationale": "clear answer",
        "source_type": "HUMAN",
        "source_id": USER,
        "overrides": None,
        "valid": True,
        "version": 1,
    }

    # the root span means the whole trace: an Expectation with a JSON value
    select(page, trace.root)
    expect(page.locator("#assessments h2")).to_contain_text("on the whole trace")
    expect(page.locator("#assessments .a-item")).to_have_count(0)  # the span's feedback is not listed here
    form = page.locator("#a-form")
    form.get_by_label("Expectation").check()
    form.get_by_label("Data type").select_option("json")
    form.get_by_label("Name").fill("expected_facts")
    facts = {"facts": ["Refunds take 5 business days."], "must_mention_order": True}
    form.get_by_label("Value").fill(json.dumps(facts))
    form.get_by_role("button", name="Create").click()
    expect(status(page)).to_have_text("Expectation \u201cexpected_facts\u201d created.")
    expect(item(page, "expected_facts").locator(".a-value pre")).to_contain_text('"must_mention_order": true')
    expectation = stored(collector, trace.trace_id)[1]
    assert (
        expectation["kind"],
        expectation["span_id"],
        expectation["value"],
        expectation["source_type"],
        expectation["source_id"],
    ) == ("expectation", None, facts, "HUMAN", USER)

    # edit it: value and rationale, in place (Escape first: back to the button, nothing changed)
    edit_button = item(page, "expected_facts").get_by_role("button", name="Edit expected_facts")
    edit_button.click()
    page.keyboard.press("Escape")
    expect(page.locator("#a-form").get_by_role("heading")).to_have_text("Add an assessment")
    expect(edit_button).to_be_focused()
    edit_button.click()
    edit = item(page, "expected_facts").locator("#a-form")
    expect(edit.get_by_role("heading")).to_have_text("Edit expected_facts")
    expect(edit.get_by_label("Value")).to_have_value(json.dumps(facts, indent=2))
    facts["facts"].append("Annual plans are prorated.")
    edit.get_by_label("Value").fill(json.dumps(facts))
    edit.get_by_label("Rationale (optional)").fill("both documents matter")
    edit.get_by_role("button", name="Save").click()
    expect(status(page)).to_have_text("Expectation \u201cexpected_facts\u201d saved.")
    expect(item(page, "expected_facts")).to_contain_text("both documents matter")
    edited = stored(collector, trace.trace_id)[1]
    assert edited["assessment_id"] == expectation["assessment_id"]
    assert (edited["value"], edited["rationale"], edited["version"], edited["source_id"]) == (
        facts,
        "both documents matter",
        2,
        USER,
    )

    # override the feedback: a new value replaces it, the old one stays, invalid
    select(page, trace.chat)
    item(page, "quality").get_by_role("button", name="Override quality").click()
    override = item(page, "quality").locator("#a-form")
    expect(override.get_by_label("Value")).to_have_value("4")
    override.get_by_label("Value").fill("2.5")
    override.get_by_label("Rationale (optional)").fill("missed the refund date")
    override.get_by_role("button", name="Override").click()
    expect(status(page)).to_have_text("Feedback \u201cquality\u201d overridden.")
    expect(item(page, "quality", 0)).to_have_class(re.compile(r"\binvalid\b"))
    expect(item(page, "quality", 0).locator(".a-state")).to_have_text("overridden")
    expect(item(page, "quality", 1).locator(".a-value")).to_have_text("2.5")
    rows = {row["assessment_id"]: row for row in stored(collector, trace.trace_id)}
    new_id = next(i for i, row in rows.items() if row["overrides"] == feedback["assessment_id"])
    assert rows[feedback["assessment_id"]]["valid"] is False
    assert (rows[new_id]["value"], rows[new_id]["span_id"], rows[new_id]["valid"], rows[new_id]["source_id"]) == (
        2.5,
        trace.chat,
        True,
        USER,
    )
    sdk = annotrace.get_assessment(trace.trace_id, new_id)
    assert isinstance(sdk, Feedback)
    assert (sdk.value, sdk.overrides, sdk.span_id, sdk.source.source_type, sdk.source.source_id) == (
        2.5,
        feedback["assessment_id"],
        trace.chat,
        "HUMAN",
        USER,
    )

    # delete the override: the first feedback is valid again
    delete = item(page, "quality", 1).get_by_role("button", name="Delete quality")
    delete.click()
    expect(item(page, "quality", 1).get_by_role("button", name="Confirm delete quality")).to_be_visible()
    item(page, "quality", 1).get_by_role("button", name="Confirm delete quality").click()
    expect(status(page)).to_have_text("\u201cquality\u201d deleted.")
    expect(page.locator("#assessments .a-item")).to_have_count(1)
    expect(item(page, "quality")).not_to_have_class(re.compile(r"\binvalid\b"))
    after = stored(collector, trace.trace_id)
    assert [(row["assessment_id"], row["valid"]) for row in after] == [
        (feedback["assessment_id"], True),
        (expectation["assessment_id"], True),
    ]


def test_bad_input_gets_inline_messages_and_stores_nothing(page: Page, collector: Collector) -> None:
    trace = genai_trace(collector)
    sign_in(page, USER, next_path=f"/traces/{trace.trace_id}")
    form = page.locator("#a-form")
    create = form.get_by_role("button", name="Create")
    name_error, value_error = form.locator("#a-name-error"), form.locator("#a-value-error")

    create.click()  # blank name, blank number
    expect(name_error).to_have_text("Enter a name.")
    expect(form.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(value_error).to_have_text("Enter a number, e.g. 4 or 0.85.")
    expect(form.get_by_label("Name")).to_be_focused()

    form.get_by_label("Name").fill("score")
    expect(name_error).to_be_hidden()
    form.get_by_label("Value").fill("four")
    create.click()
    expect(value_error).to_have_text("Enter a number, e.g. 4 or 0.85.")
    expect(form.get_by_label("Value")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Value").fill("4")
    expect(value_error).to_be_hidden()

    expect(form.locator('#a-type option[value="json"]')).to_be_disabled()  # JSON is for expectations
    form.get_by_label("Data type").select_option("string")
    form.get_by_label("Value").fill("   ")
    create.click()
    expect(value_error).to_have_text("Enter a value.")

    form.get_by_label("Expectation").check()
    form.get_by_label("Data type").select_option("json")
    form.get_by_label("Value").fill('{"facts": [')
    create.click()
    expect(value_error).to_contain_text("Not valid JSON")
    form.get_by_label("Value").fill("null")
    create.click()
    expect(value_error).to_have_text("Enter a JSON value other than null.")

    # what only the server can refuse: its message is shown
    form.get_by_label("Value").fill(json.dumps("x" * 70_000))
    create.click()
    expect(form.get_by_role("alert").filter(has_text="more than the limit")).to_be_visible()
    assert collector.sql(f"SELECT count(*) AS n FROM assessments WHERE trace_id = '{trace.trace_id}'") == [{"n": 0}]


def test_signing_in_from_the_panel_comes_back_to_the_span(page: Page, collector: Collector) -> None:
    trace = genai_trace(collector)
    page.goto(f"/traces/{trace.trace_id}?span={trace.retriever}")
    expect(page.locator("#a-form")).to_have_count(0)
    page.locator("#assessments").get_by_role("link", name="Say who you are").click()
    page.get_by_label("Name or e-mail").fill("bob@example.com")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"/traces/{trace.trace_id}\?span={trace.retriever}$"))
    expect(page.locator("#assessments h2")).to_contain_text("on span retrieve")
    form = page.locator("#a-form")
    form.get_by_label("Name").fill("relevant")
    form.get_by_label("Data type").select_option("boolean")
    form.get_by_label("Value").select_option("false")
    form.get_by_role("button", name="Create").click()
    expect(item(page, "relevant").locator(".a-value")).to_have_text("false")
    rows = stored(collector, trace.trace_id)
    assert [(r["value"], r["span_id"], r["source_type"], r["source_id"]) for r in rows] == [
        (False, trace.retriever, "HUMAN", "bob@example.com")
    ]
