"""The trace table in a real browser: filters (each kind), sorting, paging, assessment columns
(seed 001: a label logged with the SDK shows as a column), a bad filter, and the export of
selected traces to a labeling session (checked through the SDK and SQL)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

import annotrace
from annotrace.entities.assessment import AssessmentSource, AssessmentSourceType
from annotrace.genai.label_schemas import InputNumeric, create_label_schema
from annotrace.genai.labeling import get_labeling_session, get_labeling_sessions
from tests.collector_process import Collector
from tests.web.traces_data import Seeded, seed


@pytest.fixture(scope="module")
def seeded(collector: Collector) -> Seeded:
    """Read-only for the tests that use it: nobody adds traces or assessments to it."""
    return seed(collector)


@pytest.fixture
def sdk(collector: Collector) -> Iterator[None]:
    annotrace.set_tracking_uri(collector.web)
    yield


def rows(page: Page) -> list[str]:
    """Trace ids of the table's rows, top to bottom."""
    return page.locator("#traces-table tbody input[name=trace_id]").evaluate_all("els => els.map(e => e.value)")


def row_of(page: Page, trace_id: str):  # type: ignore[no-untyped-def]
    return page.locator("#traces-table tbody tr").filter(has=page.locator(f'td.id a[href="/traces/{trace_id}"]'))


def apply(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()


def test_filters_sorting_and_paging(page: Page, seeded: Seeded) -> None:
    page.goto(seeded.url)
    expect(page.locator(".pager .count")).to_contain_text(f"of {seeded.total} traces")
    expect(page.get_by_role("heading", level=1)).to_contain_text(seeded.experiment)
    expect(row_of(page, seeded.bulk[-1]).locator("td").nth(2)).to_have_text("bulk")

    page.get_by_label("ERROR", exact=True).check()  # status, through the form
    apply(page)
    assert "status=ERROR" in page.url
    expect(page.locator("#traces-table tbody tr")).to_have_count(1)
    assert rows(page) == [seeded.ids["err"]]
    expect(row_of(page, seeded.ids["err"])).to_contain_text("3.00 s")

    page.goto(seeded.url)  # time range, through the form (UTC, both ends inclusive)
    page.get_by_label("From (UTC)").fill(seeded.starts["err"].strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("To (UTC)").fill(seeded.starts["search"].replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S"))
    apply(page)
    assert rows(page) == [seeded.ids["err"]]  # "search" starts a fraction of a second after its minute
    page.get_by_label("To (UTC)").fill(seeded.starts["prog"].strftime("%Y-%m-%dT%H:%M:%S"))
    apply(page)
    assert rows(page) == [seeded.ids["search"], seeded.ids["err"]]

    page.goto(seeded.url)  # free text, case-insensitive, in the request preview
    page.get_by_label("Text").fill("REFUND")
    apply(page)
    assert rows(page) == [seeded.ids["old"]]

    page.goto(seeded.url + "?name=search")
    assert rows(page) == [seeded.ids["search"]]
    expect(row_of(page, seeded.ids["search"]).locator("td").nth(8)).to_have_text("12")  # 7 + 5 tokens
    page.goto(seeded.url + "?status=IN_PROGRESS")
    assert rows(page) == [seeded.ids["prog"]]
    page.goto(seeded.url)
    page.get_by_label("Filter expression").fill("execution_time_ms > 400 AND name = 'chat' OR span.name = 'retrieve'")
    apply(page)
    assert rows(page) == [seeded.ids["search"], seeded.ids["err"]]
    page.goto(seeded.url + "?q=no-such-text-anywhere")
    expect(page.locator("#empty-table")).to_contain_text("No traces match these filters.")

    page.goto(seeded.url)  # sorting: a header click sorts, a second click reverses
    header = page.locator("#traces-table thead th").filter(has=page.get_by_role("link", name="Duration", exact=True))
    page.get_by_role("link", name="Duration", exact=True).click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert rows(page)[0] == seeded.ids["err"]
    page.get_by_role("link", name="Duration", exact=True).click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert rows(page)[:2] == [seeded.ids["prog"], seeded.ids["old"]]
    page.get_by_role("link", name="Name", exact=True).click()
    assert "sort=name&dir=asc" in page.url
    assert rows(page)[:30] == sorted(seeded.bulk)  # "bulk" < "chat" < ..., ties by trace id

    page.goto(seeded.url)  # paging: 25 rows a page (the select submits the form itself)
    with page.expect_navigation():
        page.get_by_label("Rows per page").select_option("25")
    expect(page.locator(".pager .count")).to_have_text(f"Traces 1–25 of {seeded.total} traces")
    first_page = rows(page)
    assert first_page == list(reversed(seeded.bulk))[:25]
    page.get_by_role("link", name="Next page").click()
    expect(page.locator(".pager .count")).to_have_text(f"Traces 26–{seeded.total} of {seeded.total} traces")
    assert rows(page) == [*list(reversed(seeded.bulk))[25:], *(seeded.ids[k] for k in ("prog", "search", "err", "old"))]
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="First page").click()
    assert rows(page) == first_page
    page.get_by_role("link", name="Last page").click()
    expect(page.locator("#traces-table tbody tr")).to_have_count(seeded.total - 25)


def test_feedback_logged_with_the_sdk_shows_as_a_column(page: Page, collector: Collector, sdk: None) -> None:
    own = seed(collector, bulk=2)
    search = own.ids["search"]
    page.goto(own.url)
    expect(page.get_by_role("link", name="quality", exact=True)).to_have_count(0)

    annotrace.log_feedback(
        trace_id=search,
        name="quality",
        value=4,
        rationale="Clear and correct",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="ada"),
    )
    annotrace.log_feedback(trace_id=own.ids["old"], name="quality", value=2, rationale="Vague")
    annotrace.log_feedback(trace_id=search, name="relevance", value=True, span_id=own.child_span)  # on a span
    annotrace.log_expectation(trace_id=own.ids["old"], name="expected_response", value="Paris")
    page.reload()
    expect(page.get_by_role("link", name="quality", exact=True)).to_be_visible()
    cell = row_of(page, search).locator('td[data-column="feedback.quality"]')
    expect(cell).to_have_text("4")
    expect(cell).to_have_attribute("title", re.compile("Clear and correct"))
    expect(row_of(page, search).locator('td[data-column="feedback.relevance"]')).to_have_text("true")
    expected = row_of(page, own.ids["old"]).locator('td[data-column="expectation.expected_response"]')
    expect(expected).to_have_text("Paris")
    expect(expected).to_have_class(re.compile("expectation"))

    annotrace.log_feedback(trace_id=search, name="quality", value=5, rationale="Even better on a second look")
    page.reload()  # the latest valid value wins, at once
    expect(cell).to_have_text("5")

    page.get_by_label("Assessment", exact=True).select_option("feedback.quality")  # the simple condition
    page.get_by_label("Operator").select_option(">=")
    page.get_by_label("Value").fill("4")
    apply(page)
    assert rows(page) == [search]
    page.goto(own.url)
    page.get_by_role("link", name="quality", exact=True).click()  # sort by the assessment, best first
    assert rows(page)[:2] == [search, own.ids["old"]]
    page.get_by_role("link", name="quality", exact=True).click()
    assert rows(page)[:2] == [own.ids["old"], search]


def test_a_bad_filter_is_an_inline_message_with_a_400(page: Page, seeded: Seeded) -> None:
    response = page.goto(seeded.url + "?filter=feedback.quality%20%3E%3D")
    assert response is not None and response.status == 400
    expect(page.locator("#filter-error")).to_contain_text("Invalid clause(s) in filter string")
    expect(page.get_by_label("Filter expression")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Filter expression")).to_have_value("feedback.quality >=")
    page.get_by_label("Filter expression").fill("nonsense.key = 1")
    with page.expect_response(lambda r: "/traces?" in r.url) as answer:
        page.get_by_role("button", name="Apply").click()
    assert answer.value.status == 400
    expect(page.locator("#filter-error")).to_contain_text("unknown entity 'nonsense'")
    page.get_by_label("Filter expression").fill("")
    apply(page)
    expect(page.locator("#filter-error")).to_have_count(0)


def test_export_selected_traces_to_a_labeling_session(page: Page, collector: Collector, sdk: None) -> None:
    own = seed(collector, bulk=0, prefix="web-export")
    annotrace.set_experiment(experiment_id=own.experiment_id)
    create_label_schema(name="score", type="feedback", title="Score it", input=InputNumeric(min_value=1, max_value=5))
    chosen = [own.ids["old"], own.ids["search"]]
    session_name = f"round-{uuid.uuid4().hex[:6]}"
    page.goto(own.url)
    # the experiment's default question (MLflow 3.14) is offered first, seeded by the page itself
    schema_boxes = page.locator('input[name="schema"]')
    expect(schema_boxes).to_have_count(2)
    assert [schema_boxes.nth(i).get_attribute("value") for i in range(2)] == ["Feedback", "score"]
    for trace_id in chosen:
        page.get_by_label(f"Select {trace_id}").check()
    expect(page.locator("#selected-count")).to_have_text("2 traces selected")
    page.get_by_label("New session name").fill(session_name)
    page.get_by_label("score").check()
    page.get_by_role("button", name="Export to labeling session").click()
    notice = page.locator("#export-notice")
    expect(notice).to_contain_text(f"Added 2 traces to session {session_name} (0 already there)")

    session = next(s for s in get_labeling_sessions() if s.name == session_name)
    assert get_labeling_session(session.mlflow_run_id).label_schemas == ["score"]
    expect(notice.get_by_role("link")).to_have_attribute("href", f"/review/{session.mlflow_run_id}")
    items = f"SELECT trace_id, source_trace_id FROM labeling_items WHERE session_id = '{session.mlflow_run_id}'"
    assert sorted(r["source_trace_id"] for r in collector.sql(items)) == sorted(chosen)
    for item in collector.sql(items):  # the copies are in the experiment too, marked as copies of their source
        copy = row_of(page, item["trace_id"]).get_by_role("link", name="copy")
        expect(copy).to_have_attribute("href", f"/traces/{item['source_trace_id']}")
    expect(row_of(page, chosen[0]).get_by_role("link", name="copy")).to_have_count(0)

    for trace_id in chosen:  # the same two again, into the existing session: nothing duplicated
        page.get_by_label(f"Select {trace_id}").check()
    page.get_by_label("Existing session").select_option(session.mlflow_run_id)
    expect(page.get_by_label("New session name")).to_be_disabled()
    page.get_by_role("button", name="Export to labeling session").click()
    expect(notice).to_contain_text(f"Added 0 traces to session {session_name} (2 already there)")
    assert sorted(r["source_trace_id"] for r in collector.sql(items)) == sorted(chosen)

    page.get_by_label("Select all on page").check()  # a new name that is taken: inline error, nothing written
    page.get_by_label("New session name").fill(session_name)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Export to labeling session").click()
    assert answer.value.status == 400
    expect(page.locator("#export-error")).to_contain_text(f"named '{session_name}' already exists")
    expect(page.get_by_label("New session name")).to_have_value(session_name)
    assert [s.name for s in get_labeling_sessions()].count(session_name) == 1
    assert len(collector.sql(items)) == 2


def test_the_table_and_the_export_work_without_javascript(browser: Browser, collector: Collector) -> None:
    own = seed(collector, bulk=3, prefix="web-nojs")
    context = browser.new_context(base_url=collector.web, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(own.url)
    page.get_by_label("Rows per page").select_option("25")  # no script: nothing happens until Apply
    page.get_by_label("OK", exact=True).check()
    apply(page)
    assert len(rows(page)) == 5  # 3 bulk + old + search
    page.get_by_label("Select all on page").check()  # the server reads "all on page" itself
    page.get_by_label("New session name").fill("no-js")
    page.get_by_role("button", name="Export to labeling session").click()
    expect(page.locator("#export-notice")).to_contain_text("Added 5 traces to session no-js (0 already there)")
    assert "status=OK" in page.url and "page_size=25" in page.url
    context.close()
