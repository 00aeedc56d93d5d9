"""Several reviewers per item, enforced by the server (issue 13, item 2), in Chromium.

Three labelers work at once, each in their own browser, on a session with
``reviewers_per_item=2``: the Review App hands each of them an item by lease, never to a third
labeler while two hold or answered it, and every Submit succeeds. In the end every item has
exactly two answers per question, none lost and none extra. Blind review: a labeler's page shows
no other labeler's answer. An answer past the limit through the API is refused with a message.
"""

from __future__ import annotations

import uuid
from collections import Counter

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.collector.api.rest import ingest_trace
from tests.collector_process import Collector
from tests.web.conftest import sign_in

LABELERS = ("ann", "bob", "cy")
ITEMS = 5
QUESTIONS = {"correct": "Is it correct?", "tone": "Is the tone right?"}


def _session(collector: Collector, api: httpx.Client) -> str:
    experiment_id = api.post(
        "/api/2.0/mlflow/experiments/create", json={"name": f"leases-{uuid.uuid4().hex[:8]}"}
    ).json()["experiment_id"]
    for name, title in QUESTIONS.items():
        made = api.post(
            "/api/3.0/mlflow/label-schemas/create",
            json={
                "experiment_id": experiment_id,
                "name": name,
                "type": "FEEDBACK",
                "title": title,
                "input": {"categorical": {"options": ["yes", "no"]}},
            },
        )
        assert made.status_code == 200, made.text
    traces = [ingest_trace(collector, experiment_id).trace_id for _ in range(ITEMS)]
    made = api.post(
        "/api/v1/labeling/sessions",
        json={
            "experiment_id": experiment_id,
            "name": "Two per item",
            "assigned_users": list(LABELERS),
            "label_schemas": list(QUESTIONS),
            "reviewers_per_item": 2,
        },
    )
    assert made.status_code == 200, made.text
    session_id = made.json()["labeling_session"]["labeling_session_id"]
    assert made.json()["labeling_session"]["reviewers_per_item"] == 2
    assert api.post(f"/api/v1/labeling/sessions/{session_id}/traces", json={"trace_ids": traces}).status_code == 200
    return str(session_id)


def _answer(page: Page, value: str) -> None:
    """Answer the item shown and Submit; returns once the page moved on (the Review App's script
    swaps in the next item, or the summary, without a page load)."""
    item = page.locator(".review-item").get_attribute("data-trace-id")
    for title in QUESTIONS.values():
        page.get_by_role("group", name=title).get_by_label(value).check()
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator(f".review-item[data-trace-id='{item}']")).to_have_count(0)


def test_three_labelers_at_once_give_exactly_two_answers_per_item(collector: Collector, browser: Browser) -> None:
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        session_id = _session(collector, api)
    contexts = [browser.new_context(base_url=collector.web) for _ in LABELERS]
    pages = {name: ctx.new_page() for name, ctx in zip(LABELERS, contexts, strict=True)}
    try:
        for name, page in pages.items():  # everyone opens the session before anyone answers
            sign_in(page, name, f"/review/{session_id}")
        held = {name: page.locator(".review-item").get_attribute("data-trace-id") for name, page in pages.items()}
        # two labelers get the first item, the third the next: never three on one item
        assert sorted(Counter(held.values()).values()) == [1, 2]
        done: set[str] = set()
        answered: dict[str, int] = dict.fromkeys(LABELERS, 0)
        while len(done) < len(LABELERS):
            for name, page in pages.items():
                if name in done:
                    continue
                if page.locator(".review-item").count() == 0:  # the summary: nothing left for this labeler
                    done.add(name)
                    continue
                # blind: no other labeler's answer is on my page before I answer, nor a link to the
                # trace page (which shows every answer and judge score)
                expect(page.locator("a.trace-link")).to_have_count(0)
                for title in QUESTIONS.values():
                    expect(page.get_by_role("group", name=title).get_by_role("radio", checked=True)).to_have_count(0)
                _answer(page, "yes" if name != "cy" else "no")
                expect(page.get_by_role("alert")).to_have_count(0)  # every Submit was saved
                answered[name] += 1
        assert sum(answered.values()) == 2 * ITEMS
    finally:
        for ctx in contexts:
            ctx.close()
    rows = collector.sql(
        "SELECT i.trace_id, a.assessment_name, count(*) AS answers, count(DISTINCT a.source_id) AS labelers "
        "FROM labeling_items i JOIN assessments a ON a.trace_id = i.trace_id AND a.source_type = 'HUMAN' "
        f"WHERE i.session_id = '{session_id}' GROUP BY ALL ORDER BY ALL"
    )
    assert len(rows) == ITEMS * len(QUESTIONS)
    assert {(r["answers"], r["labelers"]) for r in rows} == {(2, 2)}

    with httpx.Client(base_url=collector.web, timeout=30) as api:
        item = rows[0]["trace_id"]
        third = next(
            u
            for u in LABELERS
            if not collector.sql(f"SELECT 1 FROM assessments WHERE trace_id = '{item}' AND source_id = '{u}'")
        )
        refused = api.post(
            f"/api/v1/labeling/sessions/{session_id}/items/{item}/answers",
            json={"user": third, "schema": "correct", "value": "yes"},
        )
        assert refused.status_code == 403
        assert "already has the 2 reviews it needs (reviewers_per_item=2)" in refused.json()["message"]
        progress = api.get(f"/api/v1/labeling/sessions/{session_id}/progress").json()
        assert {i["reviews_needed"] for i in progress["items"]} == {0}
