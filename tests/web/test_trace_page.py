"""The trace page (``/traces/{trace_id}``): span tree with timeline, span detail, JSON twin, 404s.

One GenAI trace (``trace_data.genai_trace``: AGENT root, RETRIEVER with three documents, CHAT_MODEL
with a conversation and tokens, a failing TOOL) is exported once for the module over OTLP and
read back in a real browser and over HTTP.
"""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from annotrace.collector.web.pages.trace import SpanPage, TracePage
from annotrace.collector.web.pages.trace_spans import safe_href
from tests.collector_process import Collector
from tests.web.trace_data import GenAITrace, genai_trace


@pytest.fixture(scope="module")
def genai(collector: Collector) -> GenAITrace:
    return genai_trace(collector)


def row(page: Page, span_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#span-tree a[data-span="{span_id}"]')


def test_tree_header_and_switching_spans(page: Page, genai: GenAITrace) -> None:
    page.goto(f"/traces/{genai.trace_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("agent")
    header = page.locator(".trace-head")
    expect(header.get_by_role("link", name=genai.experiment).first).to_have_attribute(
        "href", f"/experiments/{genai.experiment_id}/traces"
    )
    expect(header.locator(".tokens")).to_have_text(re.compile(r"31 in\s*/\s*12 out\s*/\s*43 total"))
    expect(header).to_contain_text("4")  # span count
    # parents before children, siblings by start time; depth drives the indent
    names = page.locator("#span-tree .st-name")
    expect(names).to_have_text(["agent", "retrieve", "chat", "lookup_order"])
    depths = page.locator("#span-tree li").evaluate_all("rows => rows.map(r => r.style.getPropertyValue('--d'))")
    assert depths == ["0", "1", "1", "1"]
    expect(page.locator("#span-tree .pill")).to_have_text(["AGENT", "RETRIEVER", "CHAT_MODEL", "TOOL"])
    expect(page.locator("#span-tree li.err .st-name")).to_have_text(["lookup_order"])
    expect(row(page, genai.root)).to_have_attribute("aria-current", "true")  # the root is selected first
    expect(page.locator("#span-detail h2")).to_contain_text("agent")
    expect(page.locator("#assessments h2")).to_contain_text("on the whole trace")

    # the retriever: documents, with links only for http(s) and relative URIs
    row(page, genai.retriever).click()
    expect(page).to_have_url(re.compile(rf"\?span={genai.retriever}$"))
    docs = page.locator("#span-detail .doc")
    expect(docs).to_have_count(3)
    expect(docs.locator(".doc-content")).to_have_text(
        ["Refunds take 5 business days.", "Annual plans are prorated.", "Do not click me."]
    )
    expect(docs.nth(0).get_by_role("link", name="https://kb.example.com/refunds")).to_have_attribute(
        "href", "https://kb.example.com/refunds"
    )
    expect(docs.nth(0)).to_contain_text("score 0.91")
    expect(docs.nth(2).locator("a")).to_have_count(0)
    expect(docs.nth(2)).to_contain_text("javascript:alert(1)")
    expect(page.locator("#assessments h2")).to_contain_text("on span retrieve")

    # the chat span: a conversation, the model, tokens
    row(page, genai.chat).click()
    messages = page.locator("#span-detail .chat .msg")
    expect(messages.locator(".msg-content")).to_have_text(
        ["You are a support agent.", "Where is my refund for order 42?", "Let me check order 42."]
    )
    expect(messages.nth(1).locator(".msg-role")).to_have_text("user")
    expect(messages.nth(2).locator(".tool-call")).to_contain_text("lookup_order")
    expect(messages.nth(2).locator(".tool-call pre")).to_contain_text('"order_id": 42')
    detail = page.locator("#span-detail")
    expect(detail.locator(".tokens")).to_have_text(re.compile(r"31 in\s*/\s*12 out\s*/\s*43 total"))
    expect(detail).to_contain_text("gpt-4o-mini-2024")
    expect(detail).to_contain_text("openai")

    # the failing tool: marked, its exception event stands out
    row(page, genai.tool).click()
    expect(detail.locator("h2 .st-err")).to_have_text("ERROR")
    expect(detail.locator(".tool-call .tool-name")).to_have_text("lookup_order")
    expect(detail.locator(".event.exception .exc-line")).to_have_text("TimeoutError: order service timed out")
    expect(row(page, genai.tool)).to_have_attribute("aria-current", "true")
    expect(row(page, genai.chat)).not_to_have_attribute("aria-current", "true")

    # back goes to the previous span, a reload keeps the selection
    page.go_back()
    expect(page).to_have_url(re.compile(rf"\?span={genai.chat}$"))
    expect(page.locator("#span-detail .chat")).to_be_visible()
    page.reload()
    expect(page.locator("#span-detail .chat")).to_be_visible()
    expect(row(page, genai.chat)).to_have_attribute("aria-current", "true")


def test_relative_document_link_works(page: Page, genai: GenAITrace) -> None:
    page.goto(f"/traces/{genai.trace_id}?span={genai.retriever}")
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name="/static/app.css").click()
    response = navigation.value
    assert response is not None and response.status == 200
    assert response.url.endswith("/static/app.css")


def test_without_javascript_links_select_spans_and_the_panel_is_read_only(
    browser: Browser, collector: Collector, genai: GenAITrace
) -> None:
    httpx.post(
        f"{collector.web}/api/3.0/mlflow/traces/{genai.trace_id}/assessments",
        json={
            "assessment": {
                "assessment_name": "relevance",
                "span_id": genai.retriever,
                "feedback": {"value": True},
                "source": {"source_type": "LLM_JUDGE", "source_id": "judge-1"},
            }
        },
    ).raise_for_status()
    context = browser.new_context(base_url=collector.web, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"/traces/{genai.trace_id.removeprefix('tr-')}")  # the id without tr- works too
        row(page, genai.retriever).click()
        expect(page).to_have_url(re.compile(rf"\?span={genai.retriever}$"))
        expect(page.locator("#span-detail .doc")).to_have_count(3)
        item = page.locator("#assessments .a-item")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("relevance")
        expect(item).to_contain_text("LLM_JUDGE · judge-1")
        expect(page.locator("#assessments form")).to_have_count(0)  # nobody signed in, and no JS
        expect(page.locator("#assessments .a-signin")).to_be_hidden()
    finally:
        context.close()


def test_json_twin_has_the_page_data(collector: Collector, genai: GenAITrace) -> None:
    body = httpx.get(f"{collector.web}/traces/{genai.trace_id}.json", params={"span": genai.chat}).json()
    assert set(body) == {f.name for f in dataclasses.fields(TracePage)}
    assert body["trace"]["trace_id"] == genai.trace_id
    assert (body["trace"]["input_tokens"], body["trace"]["output_tokens"], body["trace"]["total_tokens"]) == (
        31,
        12,
        43,
    )
    assert [(s["name"], s["depth"]) for s in body["spans"]] == [
        ("agent", 0),
        ("retrieve", 1),
        ("chat", 1),
        ("lookup_order", 1),
    ]
    assert body["spans"][0]["left_pct"] == 0 and body["spans"][0]["width_pct"] == 100
    assert body["selected"]["span_id"] == genai.chat
    assert [m["role"] for m in body["selected"]["input_messages"]] == ["system", "user"]
    assert body["selected"]["output_messages"][0]["tool_calls"] == [
        {"id": "call_7", "name": "lookup_order", "arguments": {"order_id": 42}}
    ]
    span = httpx.get(f"{collector.web}/traces/{genai.trace_id}/spans/{genai.retriever}.json").json()
    assert set(span) == {f.name for f in dataclasses.fields(SpanPage)}
    assert [(d["doc_uri"], d["href"]) for d in span["selected"]["documents"]] == [
        ("https://kb.example.com/refunds", "https://kb.example.com/refunds"),
        ("/static/app.css", "/static/app.css"),
        ("javascript:alert(1)", None),
    ]


def test_unknown_trace_and_span_get_html_404_pages(page: Page, collector: Collector, genai: GenAITrace) -> None:
    response = page.goto(f"/traces/tr-{'0' * 32}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_have_text(f"Trace with ID 'tr-{'0' * 32}' not found.")
    response = page.goto("/traces/not-a-trace-id")
    assert response is not None and response.status == 404
    assert "text/html" in response.headers["content-type"]
    response = page.goto(f"/traces/{genai.trace_id}/spans/{'f' * 16}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("not found")
    # a stale ?span= still shows the trace, with a notice
    response = page.goto(f"/traces/{genai.trace_id}?span=nonsense")
    assert response is not None and response.status == 200
    expect(page.get_by_role("status").first).to_contain_text("This trace has no span 'nonsense'")
    expect(row(page, genai.root)).to_have_attribute("aria-current", "true")
    missing = httpx.get(f"{collector.web}/traces/tr-{'0' * 32}.json")
    assert missing.status_code == 404
    assert missing.json()["message"] == f"Trace with ID 'tr-{'0' * 32}' not found."


@pytest.mark.parametrize(
    ("uri", "href"),
    [
        ("https://kb.example.com/a?b=1", "https://kb.example.com/a?b=1"),
        ("HTTP://kb.example.com", "HTTP://kb.example.com"),
        ("/docs/a.html", "/docs/a.html"),
        ("docs/a.html", "docs/a.html"),
        ("javascript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("file:///etc/passwd", None),
        ("s3://bucket/key", None),
        ("//evil.example/x", None),
        ("https:evil", None),
        ("", None),
        (None, None),
    ],
)
def test_only_http_and_relative_doc_uris_become_links(uri: str | None, href: str | None) -> None:
    assert safe_href(uri) == href
